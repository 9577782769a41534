//! The configuration: the documented example validates, every problem is reported at once at
//! its key path, routes take the union of channels, and no secret reaches Debug output or an
//! error.

mod common;

use apiwatch_core::Severity;
use apiwatch_respond::notify::{NotificationKind, Notifier};
use common::{alert, config, incident};

const SECRETS: [&str; 6] = [
    "whsec-example-signing-key",
    "https://hooks.slack.com/services/T000/B000/SLACKSECRETPART",
    "R0UT1NGKEYEXAMPLE0000000000000000",
    "smtp-password-example",
    "00000000-splunk-token-example",
    "Basic dHdpbGlvLXNpZDp0d2lsaW8tdG9rZW4=",
];

fn example(dir: &std::path::Path) -> String {
    format!(
        r#"
dead_letter_file: {dir}/notify-dead-letter.jsonl
channels:
  - name: soc-webhook
    type: webhook
    url: https://soar.example/hooks/apiwatch
    secret: {s0}
    timeout: 5s
    retry_max: 4
    retry_base_ms: 500
  - name: sms
    type: webhook
    url: https://api.twilio.example/2010-04-01/Accounts/ACxxx/Messages.json
    content_type: application/x-www-form-urlencoded
    headers:
      Authorization: "{s5}"
    template: "To=%2B15550100&From=%2B15550199&Body={{severity|upper}}: {{title|url}}"
    rate_limit: {{max: 5, per: 1h}}
  - name: chat
    type: slack
    url: {s1}
    rate_limit: {{max: 10, per: 1m}}
  - name: teams
    type: teams
    url: https://example.webhook.office.com/workflows/abc
  - name: oncall
    type: pagerduty
    routing_key: {s2}
  - name: mail
    type: email
    host: smtp.example.org
    port: 587
    starttls: required
    username: apiwatch
    password: {s3}
    from: "apiwatch <apiwatch@example.org>"
    to: [secops@example.org]
    subject: "[apiwatch] {{severity|upper}} {{title}}"
    queue_max: 200
  - name: siem
    type: syslog
    host: 127.0.0.1
    port: 514
    protocol: tcp
    facility: local4
  - name: splunk
    type: splunk_hec
    url: https://splunk.example:8088
    token: {s4}
  - name: ocsf
    type: ocsf_file
    path: {dir}/findings.ocsf.jsonl
routes:
  - name: everything to the SIEM
    channels: [siem, splunk, ocsf]
  - name: high and up to people
    severity_at_least: high
    channels: [chat, mail]
  - name: pages
    severity_at_least: critical
    kinds: [alert, incident_opened, incident_resolved]
    channels: [oncall, sms]
  - name: auth rules to the SOAR
    rules: ["auth-*"]
    tags: [auth]
    channels: [soc-webhook, chat]
"#,
        dir = dir.display(),
        s0 = SECRETS[0],
        s1 = SECRETS[1],
        s2 = SECRETS[2],
        s3 = SECRETS[3],
        s4 = SECRETS[4],
        s5 = SECRETS[5],
    )
}

#[tokio::test]
async fn the_example_validates_and_routes_to_the_union_of_channels() {
    let dir = tempfile::tempdir().unwrap();
    let raw = config(&example(dir.path()));
    let debug = format!("{raw:?}");
    for secret in SECRETS {
        assert!(!debug.contains(secret), "Debug of the config shows a secret: {debug}");
    }
    let n = Notifier::new(raw).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(!format!("{n:?}").contains("whsec"));

    let low = alert("a-1", Severity::Low, "api-enumeration");
    assert_eq!(n.channels_for(&low), ["siem", "splunk", "ocsf"]);
    let guessing = alert("a-2", Severity::High, "auth-password-guessing-user");
    assert_eq!(
        n.channels_for(&guessing),
        ["soc-webhook", "chat", "mail", "siem", "splunk", "ocsf"]
    );
    let untagged = {
        let mut a = alert("a-3", Severity::Medium, "auth-token-reuse");
        a.tags.clear();
        a
    };
    assert_eq!(
        n.channels_for(&untagged),
        ["siem", "splunk", "ocsf"],
        "rules and tags must both match"
    );
    let opened = incident(NotificationKind::IncidentOpened, "inc-1");
    assert_eq!(
        n.channels_for(&opened),
        ["sms", "chat", "oncall", "mail", "siem", "splunk", "ocsf"]
    );
    let updated = incident(NotificationKind::IncidentUpdated, "inc-1");
    assert!(!n.channels_for(&updated).contains(&"oncall"));
    n.shutdown(std::time::Duration::from_millis(100)).await;
}

#[tokio::test]
async fn every_problem_is_reported_at_its_key_path_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let raw = config(&format!(
        r#"
channels:
  - name: a
    type: webhook
    url: "ftp://{s0}@example.org/"
    template: "{{nope}}"
    rate_limit: {{max: 0, per: soon}}
  - name: a
    type: slack
    routing_key: {s2}
  - name: pd
    type: pagerduty
    timeout: 0s
    queue_max: 0
  - name: mail
    type: email
    host: smtp.example.org
    starttls: opportunistic
    username: u
    password: {s3}
    from: "not a mailbox"
    to: []
    ca_file: {dir}/missing-ca.pem
  - name: pager
    type: carrier-pigeon
  - name: syslog
    type: syslog
    host: 127.0.0.1
    protocol: sctp
    facility: local9
routes:
  - severity_at_least: severe
    kinds: [alert, page]
    channels: [a, nowhere]
  - channels: []
"#,
        dir = dir.path().display(),
        s0 = SECRETS[0],
        s2 = SECRETS[2],
        s3 = SECRETS[3],
    ));
    let errors = Notifier::new(raw).expect_err("an invalid config");
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let all = text.join("\n");
    for expected in [
        "notify.dead_letter_file: required",
        "notify.channels[0].url: not an http(s) URL with a host",
        "notify.channels[0].template: template: at byte 0: unknown field \"nope\"",
        "notify.channels[0].rate_limit.max: must be at least 1",
        "notify.channels[0].rate_limit.per: \"soon\" is not a duration",
        "notify.channels[1].name: another channel is already named \"a\"",
        "notify.channels[1].routing_key: not a setting of type slack",
        "notify.channels[1].url: required for type slack",
        "notify.channels[2].timeout: must be more than 0",
        "notify.channels[2].queue_max: must be 1",
        "notify.channels[2].routing_key: required for type pagerduty",
        "notify.channels[3].to: required for type email",
        "notify.channels[3].from: not a mailbox",
        "notify.channels[3].starttls: must be `required` when a password is set",
        "notify.channels[3].ca_file: ",
        "notify.channels[4].type: unknown channel type \"carrier-pigeon\"",
        "notify.channels[5].port: required for type syslog",
        "notify.channels[5].protocol: \"sctp\" is not udp or tcp",
        "notify.channels[5].facility: not one of",
        "notify.routes[0].severity_at_least: unknown severity \"severe\"",
        "notify.routes[0].kinds[1]: unknown kind \"page\"",
        "notify.routes[0].channels[1]: no channel is named \"nowhere\"",
        "notify.routes[1].channels: required",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
    }
    let debug = format!("{errors:?}");
    for secret in SECRETS {
        assert!(
            !all.contains(secret) && !debug.contains(secret),
            "an error shows a secret:\n{all}"
        );
    }
}

#[test]
fn unknown_keys_are_refused_when_parsing() {
    let e = serde_saphyr::from_str::<apiwatch_respond::notify::NotifyConfig>(
        "channels:\n  - name: a\n    type: slack\n    url: https://x.example\n    colour: red\n",
    )
    .expect_err("an unknown key");
    assert!(e.to_string().contains("colour"), "{e}");
}
