//! `run_rule_tests`: a rule file's own fire and quiet cases, with `repeat`, `every` and `{i}`.

use apiwatch_core::redact::Redactor;
use apiwatch_detect::{run_rule_tests, RuleSet};

const RULES: &str = r#"
- id: burst
  title: Five failures from one address in a minute
  severity: medium
  owasp: API2:2023
  kind: threshold
  where: {event.outcome: failure}
  window: 1m
  min_count: 5
  tests:
    fire:
      - name: five failures ten seconds apart
        events:
          - repeat: 5
            every: 10s
            event: {"@timestamp": "2026-03-01T10:00:00Z", "event.outcome": "failure", "source.ip": "192.0.2.1", "user.name": "user{i}"}
      - name: wrongly expected to fire (one failure a minute)
        events:
          - {repeat: 5, every: 1m, event: {"@timestamp": "2026-03-01T10:00:00Z", "event.outcome": "failure", "source.ip": "192.0.2.1"}}
    quiet:
      - name: five addresses, one failure each
        events:
          - {repeat: 5, every: 1s, event: {"@timestamp": "2026-03-01T10:00:00Z", "event.outcome": "failure", "source.ip": "192.0.2.{i}"}}
      - name: wrongly expected to be quiet
        events:
          - {"@timestamp": "2026-03-01T10:00:00Z", "event.outcome": "success", "source.ip": "192.0.2.1"}
          - repeat: 6
            every: 500ms
            event: {"@timestamp": "2026-03-01T10:00:01Z", "event.outcome": "failure", "source.ip": "192.0.2.1"}
- id: untested
  title: No cases
  severity: low
  owasp: API9:2023
  kind: match
"#;

#[test]
fn cases_pass_and_fail_with_reasons() {
    let set = RuleSet::from_sources(&[("r.yaml".to_string(), RULES.to_string())]).unwrap();
    assert_eq!((set.rules()[0].fire_cases, set.rules()[0].quiet_cases), (2, 2));
    let report = run_rule_tests(&set, &Redactor::new([7; 32]));
    assert_eq!((report.passed(), report.failed()), (2, 2));
    assert!(!report.all_passed());
    assert_eq!(report.untested(), vec!["untested"]);
    let cases = &report.rules[0].cases;
    let by_name = |n: &str| cases.iter().find(|c| c.name.starts_with(n)).unwrap();
    let ok = by_name("five failures");
    assert!(ok.passed && ok.expect == "fire");
    assert!(
        ok.detail.starts_with("fired: 1 alert(s), the first detected at 2026-03-01T10:00:40.000Z"),
        "{}",
        ok.detail
    );
    let missed = by_name("wrongly expected to fire");
    assert!(!missed.passed);
    assert_eq!(
        missed.detail,
        "did not fire: 5 events fed, 5 passed the allow-lists, `where` and group_by"
    );
    assert!(by_name("five addresses").passed);
    let noisy = by_name("wrongly expected to be quiet");
    assert!(
        !noisy.passed
            && noisy
                .detail
                .starts_with("fired: 1 alert(s), the first detected at 2026-03-01T10:00:03.000Z"),
        "{}",
        noisy.detail
    );

    let text = report.to_string();
    assert!(text.contains("FAIL burst [fire] wrongly expected to fire"), "{text}");
    assert!(text.ends_with("rule cases: 2 passed, 2 failed\n"), "{text}");
    let json = report.to_json();
    assert_eq!(json["failed"], 2);
    assert_eq!(json["rules"][0]["cases"][0]["expect"], "fire");
}

#[test]
fn test_events_go_through_redaction() {
    let rules = r#"
id: bearer
title: A given bearer token
severity: low
owasp: API2:2023
kind: match
where: {http.request.headers.authorization: {contains: s3cr3t}}
tests:
  quiet:
    - name: the secret is gone by the time the rule sees the header
      events:
        - {"@timestamp": "2026-03-01T10:00:00Z", "source.ip": "192.0.2.1", "http.request.headers.authorization": "Bearer s3cr3t-VALUE"}
"#;
    let set = RuleSet::from_sources(&[("r.yaml".to_string(), rules.to_string())]).unwrap();
    assert!(run_rule_tests(&set, &Redactor::new([7; 32])).all_passed());
}
