//! Notification channels over HTTP against a real receiver on 127.0.0.1: webhook signatures,
//! the Slack, Teams, PagerDuty and Splunk HEC payloads, retries, the dead-letter file, the rate
//! limit's summary, queue drops and shutdown.

mod common;

use apiwatch_core::Severity;
use apiwatch_respond::notify::{NotificationKind, Notifier};
use common::receiver::{signature_valid, Receiver};
use common::{alert, incident, json_lines, notifier, wait_until};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn stats_of(n: &Notifier, channel: &str) -> apiwatch_respond::notify::ChannelStats {
    n.stats().into_iter().find(|s| s.channel == channel).unwrap()
}

#[tokio::test]
async fn webhook_is_signed_and_a_receiver_can_verify_it() {
    let rx = Receiver::start().await;
    rx.require_signature("/hook", "whsec-test-signing-key");
    let dir = tempfile::tempdir().unwrap();
    let n = notifier(&format!(
        r#"
dead_letter_file: {dir}/dead.jsonl
channels:
  - name: hook
    type: webhook
    url: "{url}"
    secret: whsec-test-signing-key
routes:
  - channels: [hook]
"#,
        dir = dir.path().display(),
        url = rx.url("/hook"),
    ));
    let sent = alert("a-1", Severity::High, "auth-password-guessing-user");
    assert_eq!(n.send(sent.clone()).queued, 1);
    wait_until(WAIT, "the webhook", || !rx.received("/hook").is_empty()).await;
    let got = &rx.received("/hook")[0];
    assert_eq!(got.status, 200, "the receiver refused the signature");
    assert_eq!(got.header("content-type"), Some("application/json"));
    let body: apiwatch_respond::notify::Notification = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(body, sent);

    // The receiver's check refuses a changed body, another key and a replayed old timestamp.
    assert!(signature_valid("whsec-test-signing-key", &got.headers, &got.body));
    let mut tampered = got.body.clone();
    tampered[10] ^= 1;
    assert!(!signature_valid("whsec-test-signing-key", &got.headers, &tampered));
    assert!(!signature_valid("another-key", &got.headers, &got.body));
    let mut old = got.headers.clone();
    let ts: i64 = got.header("x-apiwatch-timestamp").unwrap().parse().unwrap();
    old.insert("x-apiwatch-timestamp", (ts - 3600).to_string().parse().unwrap());
    assert!(!signature_valid("whsec-test-signing-key", &old, &got.body));

    let stats = n.shutdown(Duration::from_secs(2)).await;
    assert_eq!(stats[0].sent, 1);
}

#[tokio::test]
async fn webhook_template_targets_an_sms_providers_form_api() {
    let rx = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let n = notifier(&format!(
        r#"
dead_letter_file: {dir}/dead.jsonl
channels:
  - name: sms
    type: webhook
    url: "{url}"
    content_type: application/x-www-form-urlencoded
    headers:
      Authorization: "Basic QUN4eHg6c2VjcmV0"
    template: "To=%2B15550100&From=%2B15550199&Body=[{{severity|upper}}] {{title|url}}"
routes:
  - severity_at_least: high
    channels: [sms]
"#,
        dir = dir.path().display(),
        url = rx.url("/2010-04-01/Accounts/ACxxx/Messages.json"),
    ));
    assert_eq!(n.send(alert("low-1", Severity::Low, "x")).queued, 0, "below the route's severity");
    n.send(alert("a 1&2", Severity::Critical, "x"));
    wait_until(WAIT, "the SMS request", || {
        !rx.received("/2010-04-01/Accounts/ACxxx/Messages.json").is_empty()
    })
    .await;
    let got = &rx.received("/2010-04-01/Accounts/ACxxx/Messages.json")[0];
    assert_eq!(got.header("content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(got.header("authorization"), Some("Basic QUN4eHg6c2VjcmV0"));
    assert_eq!(
        String::from_utf8_lossy(&got.body),
        "To=%2B15550100&From=%2B15550199&Body=[CRITICAL] Password%20guessing%20against%20a%201%262"
    );
    assert!(got.header("x-apiwatch-signature").is_none(), "no secret, no signature");
    n.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn slack_teams_pagerduty_and_splunk_payloads() {
    let rx = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let n = notifier(&format!(
        r#"
dead_letter_file: {dir}/dead.jsonl
channels:
  - name: slack
    type: slack
    url: "{slack}"
  - name: teams
    type: teams
    url: "{teams}"
  - name: pd
    type: pagerduty
    url: "{pd}"
    routing_key: R0UT1NGKEY0000000000000000000000
  - name: splunk
    type: splunk_hec
    url: "{splunk}"
    token: 11111111-2222-3333-4444-555555555555
    index: security
routes:
  - kinds: [alert]
    channels: [slack, teams, splunk]
  - severity_at_least: high
    channels: [pd]
"#,
        dir = dir.path().display(),
        slack = rx.url("/services/T000/B000/XXXXXXXX"),
        teams = rx.url("/workflows/teams"),
        pd = rx.url(""),
        splunk = rx.url("/"),
    ));
    let a = alert("a-7", Severity::High, "auth-password-guessing-user");
    assert_eq!(n.channels_for(&a), vec!["slack", "teams", "pd", "splunk"]);
    n.send(a.clone());
    let opened = incident(NotificationKind::IncidentOpened, "inc-9");
    let resolved = incident(NotificationKind::IncidentResolved, "inc-9");
    assert_eq!(n.channels_for(&opened), vec!["pd"]);
    n.send(opened);
    n.send(resolved);
    wait_until(WAIT, "every channel", || {
        rx.received("/services/T000/B000/XXXXXXXX").len() == 1
            && rx.received("/workflows/teams").len() == 1
            && rx.received("/v2/enqueue").len() == 3
            && rx.received("/services/collector/event").len() == 1
    })
    .await;

    let slack = rx.received("/services/T000/B000/XXXXXXXX")[0].json();
    assert_eq!(slack["text"], "[HIGH] Password guessing against a-7");
    assert_eq!(slack["blocks"][0]["type"], "header");
    assert_eq!(slack["blocks"][0]["text"]["type"], "plain_text");
    assert_eq!(slack["blocks"][1]["type"], "section");
    assert_eq!(slack["blocks"][1]["fields"][0]["text"], "*Severity*\nhigh");
    assert_eq!(slack["blocks"][3]["elements"][0]["url"], "https://apiwatch.example/alerts/a-7");

    let teams = rx.received("/workflows/teams")[0].json();
    assert_eq!(teams["type"], "message");
    let attachment = &teams["attachments"][0];
    assert_eq!(attachment["contentType"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(attachment["content"]["type"], "AdaptiveCard");
    assert_eq!(attachment["content"]["body"][0]["text"], "Password guessing against a-7");
    assert_eq!(attachment["content"]["body"][2]["type"], "FactSet");
    assert_eq!(attachment["content"]["actions"][0]["type"], "Action.OpenUrl");

    let pd: Vec<serde_json::Value> = rx.received("/v2/enqueue").iter().map(|r| r.json()).collect();
    assert_eq!(pd[0]["event_action"], "trigger");
    assert_eq!(pd[0]["routing_key"], "R0UT1NGKEY0000000000000000000000");
    assert_eq!(pd[0]["dedup_key"], "a-7");
    assert_eq!(pd[0]["payload"]["severity"], "error");
    assert_eq!(pd[0]["payload"]["source"], "apiwatch");
    assert_eq!(
        pd[0]["payload"]["summary"],
        "Password guessing against a-7: 40 failed logins in 5m"
    );
    assert_eq!(pd[0]["payload"]["timestamp"], "2025-11-23T12:13:20.000Z");
    assert_eq!(pd[1]["event_action"], "trigger");
    assert_eq!(pd[1]["payload"]["severity"], "critical");
    assert_eq!(pd[2]["event_action"], "resolve");
    assert_eq!(pd[1]["dedup_key"], "inc-9");
    assert_eq!(pd[2]["dedup_key"], "inc-9", "resolve names the page its trigger opened");

    let hec = &rx.received("/services/collector/event")[0];
    assert_eq!(hec.header("authorization"), Some("Splunk 11111111-2222-3333-4444-555555555555"));
    let hec = hec.json();
    assert_eq!(hec["time"], 1_763_900_000.0);
    assert_eq!(hec["sourcetype"], "apiwatch");
    assert_eq!(hec["index"], "security");
    assert_eq!(hec["event"]["id"], "a-7");
    assert_eq!(hec["event"]["severity"], "high");
    n.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn server_errors_are_retried_until_delivered() {
    let rx = Receiver::start().await;
    rx.fail("/flaky", 3);
    let dir = tempfile::tempdir().unwrap();
    let n = notifier(&format!(
        r#"
dead_letter_file: {dir}/dead.jsonl
channels:
  - name: flaky
    type: webhook
    url: "{url}"
    retry_max: 5
    retry_base_ms: 20
routes:
  - channels: [flaky]
"#,
        dir = dir.path().display(),
        url = rx.url("/flaky"),
    ));
    n.send(alert("a-1", Severity::Medium, "r"));
    wait_until(WAIT, "delivery after three 500s", || rx.accepted("/flaky").len() == 1).await;
    assert_eq!(rx.received("/flaky").len(), 4);
    let s = n.shutdown(Duration::from_secs(2)).await.remove(0);
    assert_eq!((s.sent, s.failed, s.retried, s.dead_lettered), (1, 3, 3, 0));
    assert!(json_lines(&dir.path().join("dead.jsonl")).is_empty());
}

const DEAD_SECRETS: [&str; 3] =
    ["whsec-dead-letter-signing-key", "url-query-secret-token", "Bearer header-secret-value"];

#[tokio::test]
async fn a_receiver_that_stays_down_sends_the_notification_to_the_dead_letter_file_without_secrets()
{
    let rx = Receiver::start().await;
    rx.fail("/down", u32::MAX);
    let dir = tempfile::tempdir().unwrap();
    let dead = dir.path().join("dead.jsonl");
    let n = notifier(&format!(
        r#"
dead_letter_file: {dead}
channels:
  - name: down
    type: webhook
    url: "{url}?token={q}"
    secret: {s}
    headers:
      Authorization: "{h}"
    retry_max: 2
    retry_base_ms: 10
routes:
  - channels: [down]
"#,
        dead = dead.display(),
        url = rx.url("/down"),
        s = DEAD_SECRETS[0],
        q = DEAD_SECRETS[1],
        h = DEAD_SECRETS[2],
    ));
    n.send(alert("a-dead", Severity::Critical, "r"));
    wait_until(WAIT, "the dead letter", || stats_of(&n, "down").dead_lettered == 1).await;
    assert_eq!(rx.received("/down").len(), 3, "the first try and two retries");
    let lines = json_lines(&dead);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["channel"], "down");
    assert_eq!(lines[0]["attempts"], 3);
    assert_eq!(lines[0]["notification"]["id"], "a-dead");
    assert!(lines[0]["error"].as_str().unwrap().contains("500"), "{}", lines[0]["error"]);
    let text = std::fs::read_to_string(&dead).unwrap();
    for secret in DEAD_SECRETS {
        assert!(!text.contains(secret), "the dead-letter file holds a secret: {text}");
    }
    let s = n.shutdown(Duration::from_secs(2)).await.remove(0);
    assert_eq!((s.sent, s.failed, s.retried, s.dead_lettered), (0, 3, 2, 1));
}

#[tokio::test]
async fn a_refusal_is_not_retried() {
    let rx = Receiver::start().await;
    // A receiver expecting another key answers 401: retrying cannot help.
    rx.require_signature("/strict", "the-receivers-key");
    let dir = tempfile::tempdir().unwrap();
    let n = notifier(&format!(
        r#"
dead_letter_file: {dir}/dead.jsonl
channels:
  - name: strict
    type: webhook
    url: "{url}"
    secret: a-stale-key
    retry_base_ms: 10
routes:
  - channels: [strict]
"#,
        dir = dir.path().display(),
        url = rx.url("/strict"),
    ));
    n.send(alert("a-1", Severity::Low, "r"));
    wait_until(WAIT, "the dead letter", || stats_of(&n, "strict").dead_lettered == 1).await;
    assert_eq!(rx.received("/strict").len(), 1);
    let lines = json_lines(&dir.path().join("dead.jsonl"));
    assert_eq!(lines[0]["attempts"], 1);
    assert!(lines[0]["error"].as_str().unwrap().contains("401"));
    n.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn an_alert_storm_becomes_five_messages_and_one_summary() {
    let rx = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let n = notifier(&format!(
        r#"
dead_letter_file: {dir}/dead.jsonl
channels:
  - name: chat
    type: webhook
    url: "{url}"
    rate_limit: {{max: 5, per: 2s}}
routes:
  - rules: ["auth-*", "api-enumeration"]
    channels: [chat]
"#,
        dir = dir.path().display(),
        url = rx.url("/storm"),
    ));
    let started = std::time::Instant::now();
    for i in 0..50 {
        let a = if i < 35 {
            alert(&format!("a-{i}"), Severity::High, "auth-password-guessing-user")
        } else {
            alert(&format!("a-{i}"), Severity::Medium, "api-enumeration")
        };
        assert_eq!(n.send(a).queued, 1);
    }
    wait_until(WAIT, "the summary", || rx.accepted("/storm").len() == 6).await;
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "the summary waits for the period's end"
    );
    // Nothing more comes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got: Vec<serde_json::Value> = rx.accepted("/storm").iter().map(|r| r.json()).collect();
    assert_eq!(got.len(), 6);
    let ids: Vec<&str> = got[..5].iter().map(|g| g["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a-0", "a-1", "a-2", "a-3", "a-4"]);
    let summary = &got[5];
    assert_eq!(summary["kind"], "summary");
    assert_eq!(summary["severity"], "high");
    assert_eq!(
        summary["summary"],
        "45 more notifications: 30 high auth-password-guessing-user, 15 medium api-enumeration"
    );
    assert_eq!(summary["details"]["held"], 45);
    let s = n.shutdown(Duration::from_secs(2)).await.remove(0);
    assert_eq!((s.sent, s.summaries_sent, s.rate_limited), (6, 1, 45));
}

#[tokio::test]
async fn a_full_queue_drops_and_shutdown_keeps_its_deadline() {
    let rx = Receiver::start().await;
    rx.fail("/slow", u32::MAX);
    let dir = tempfile::tempdir().unwrap();
    let dead = dir.path().join("dead.jsonl");
    let n = notifier(&format!(
        r#"
dead_letter_file: {dead}
channels:
  - name: slow
    type: webhook
    url: "{url}"
    queue_max: 2
    retry_max: 10
    retry_base_ms: 60000
routes:
  - channels: [slow]
"#,
        dead = dead.display(),
        url = rx.url("/slow"),
    ));
    n.send(alert("first", Severity::High, "r"));
    // The worker takes the first and waits a minute before its retry; two more fit the queue.
    wait_until(WAIT, "the first attempt", || rx.received("/slow").len() == 1).await;
    let reports: Vec<_> =
        (0..5).map(|i| n.send(alert(&format!("n-{i}"), Severity::High, "r"))).collect();
    assert_eq!(reports.iter().map(|r| r.dropped).sum::<usize>(), 3);
    assert_eq!(stats_of(&n, "slow").queued, 2);

    let started = std::time::Instant::now();
    let s = n.shutdown(Duration::from_millis(300)).await.remove(0);
    assert!(started.elapsed() < Duration::from_secs(2), "shutdown took {:?}", started.elapsed());
    assert_eq!((s.dropped, s.dead_lettered, s.sent), (3, 3, 0));
    let lines = json_lines(&dead);
    let ids: Vec<&str> = lines.iter().map(|l| l["notification"]["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["first", "n-0", "n-1"]);
    assert!(lines[1]["error"].as_str().unwrap().contains("shutdown deadline"));
}

#[tokio::test]
async fn shutdown_delivers_what_is_queued() {
    let rx = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let n = notifier(&format!(
        r#"
dead_letter_file: {dir}/dead.jsonl
channels:
  - name: hook
    type: webhook
    url: "{url}"
    rate_limit: {{max: 2, per: 1h}}
routes:
  - channels: [hook]
"#,
        dir = dir.path().display(),
        url = rx.url("/drain"),
    ));
    for i in 0..5 {
        n.send(alert(&format!("a-{i}"), Severity::High, "r"));
    }
    let s = n.shutdown(Duration::from_secs(5)).await.remove(0);
    // Two within the limit, and the summary of the other three now rather than in an hour.
    assert_eq!((s.sent, s.summaries_sent, s.rate_limited), (3, 1, 3));
    let got = rx.accepted("/drain");
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].json()["summary"], "3 more notifications: 3 high r");
}
