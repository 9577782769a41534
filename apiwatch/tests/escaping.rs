//! Attacker-controlled fields cannot forge, recolour or hide lines in an analyst's terminal.

mod common;

use common::{apiwatch, scratch, OutputText};

const BY_USER_AGENT_RULE: &str = r#"
id: by-user-agent
title: Any request, by user agent
severity: low
owasp: API8:2023
kind: match
group_by: [user_agent.original]
suppress: 1h
tests:
  fire:
    - name: any agent
      events: [{"@timestamp": "2026-03-02T10:00:00Z", "user_agent.original": "curl/8"}]
  quiet:
    - name: no agent
      events: [{"@timestamp": "2026-03-02T10:00:00Z", "source.ip": "192.0.2.1"}]
"#;

#[test]
fn control_characters_in_fields_are_escaped_in_the_text_summary() {
    let dir = scratch("escaping");
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("r.yaml"), BY_USER_AGENT_RULE).unwrap();
    // nginx writes control bytes as \xHH; the decoder turns them back into bytes, so the
    // event really carries an escape sequence, a carriage return and a line break.
    let log = dir.join("access.log");
    std::fs::write(
        &log,
        "203.0.113.5 - - [02/Mar/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"evil\\x1B[2J\\x1B[31m\\x0DAlerts: 0 (all clear)\\x0Aforged\"\n",
    )
    .unwrap();
    let out =
        apiwatch(&dir, &["replay", log.to_str().unwrap(), "--rules", rules.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let text = out.stdout_text();
    assert!(text.contains("by-user-agent"), "{text}");
    assert!(
        !text.bytes().any(|b| b == 0x1b || b == b'\r'),
        "raw control bytes reached the terminal:\n{text:?}"
    );
    assert!(!text.lines().any(|l| l.starts_with("forged")), "a line was forged:\n{text}");
    assert!(text.contains("\\x1b[2J"), "the escape is shown, visibly: {text}");
}
