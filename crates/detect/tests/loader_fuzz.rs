//! Random YAML-ish text never makes the loader panic, and every error it reports has a place.

use apiwatch_detect::RuleSet;
use proptest::prelude::*;

const VALID: &str = r#"id: fuzz-rule
title: A rule to mutate
severity: high
owasp: API2:2023
kind: threshold
where:
  any:
    - event.outcome: failure
      url.path: {prefix: [/login, /auth], not: {suffix: .css}}
    - http.response.status_code: {gte: 400, lt: 500}
  source.ip: {cidr: [10.0.0.0/8]}
  request: {attack: [sqli]}
group_by: [user.name, source.ip]
window: 5m
min_count: 3
suppress: 1h
response: {action: block, scope: source.ip, duration: 1h}
summary: "{count} for {user.name} in {window}"
tests:
  fire:
    - name: three
      events:
        - {repeat: 3, every: 1s, event: {"@timestamp": "2026-01-01T00:00:00Z", "event.outcome": "failure", "user.name": "a{i}", "source.ip": "10.0.0.1"}}
"#;

/// Pieces that YAML and the rule language give meaning to.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\n".to_string()),
        Just("  ".to_string()),
        Just("- ".to_string()),
        Just(": ".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(", ".to_string()),
        Just("'".to_string()),
        Just("\"".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("<<: ".to_string()),
        Just("---\n".to_string()),
        Just("#".to_string()),
        Just("|\n".to_string()),
        Just("!!str ".to_string()),
        prop::sample::select(vec![
            "id",
            "title",
            "kind",
            "where",
            "any",
            "all",
            "not",
            "request",
            "attack",
            "window",
            "min_count",
            "steps",
            "within",
            "regex",
            "cidr",
            "prefix",
            "gte",
            "exists",
            "tests",
            "fire",
            "quiet",
            "events",
            "repeat",
            "every",
            "event",
            "summary",
            "{count}",
            "{i}",
            "threshold",
            "sequence",
            "baseline",
            "velocity",
            "distinct",
            "ratio",
            "new_value",
            "match",
            "user.name",
            "source.ip",
            "5m",
            "0",
            "-1",
            "1e999",
            "1.5",
            "null",
            "true",
            "API2:2023",
            "high",
            "(?P<",
            "10.0.0.0/99",
            "value",
            "sum",
            "by_hour_of_day",
        ])
        .prop_map(str::to_string),
        "[a-z0-9_.:/ -]{0,8}",
    ]
}

fn check(text: &str) -> Result<(), TestCaseError> {
    let sources = vec![("fuzz.yaml".to_string(), text.to_string())];
    if let Err(e) = RuleSet::from_sources(&sources) {
        for err in &e.0 {
            prop_assert!(err.line >= 1 && err.column >= 1, "{}", err);
            prop_assert!(!err.message.is_empty());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(token(), 0..60)) {
        check(&tokens.concat())?;
    }

    #[test]
    fn mutated_rules_never_panic(edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, token()), 1..6)) {
        let mut text = VALID.to_string();
        for (at, op, tok) in edits {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            match op {
                0 => text.insert_str(i, &tok),
                1 => {
                    let mut end = (i + tok.len()).min(text.len());
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    text.replace_range(i..end, "");
                }
                _ => {
                    let mut end = (i + 1).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    text.replace_range(i..end, &tok);
                }
            }
        }
        check(&text)?;
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        check(&text)?;
    }
}

#[test]
fn the_valid_rule_loads() {
    let set = RuleSet::from_sources(&[("ok.yaml".to_string(), VALID.to_string())]).unwrap();
    assert_eq!(set.len(), 1);
}
