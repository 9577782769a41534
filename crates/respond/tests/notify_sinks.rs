//! Syslog (RFC 5424 with CEF, over UDP and TCP) to real listeners on 127.0.0.1, and the OCSF
//! JSON Lines file.

mod common;

use apiwatch_core::Severity;
use apiwatch_respond::notify::{Notification, NotificationKind};
use common::{alert, incident, json_lines, notifier, wait_until};
use std::time::Duration;
use tokio::io::AsyncReadExt;

const WAIT: Duration = Duration::from_secs(10);

/// A title and summary with every character CEF escapes.
fn awkward() -> Notification {
    let mut a = alert("a-1", Severity::High, "auth-password-guessing-user");
    a.title = "Login | admin=root\\x\nnext".to_string();
    a.summary = "user=alice|bob\\ tried\r\nagain".to_string();
    a
}

const CEF_HEADER: &str =
    r"CEF:0|apiwatch|apiwatch|0.1.0|auth-password-guessing-user|Login \| admin=root\\x next|8|";

/// Checks one RFC 5424 message and returns its CEF payload.
fn check_rfc5424(message: &str, pri: u16, msgid: &str) -> String {
    let fields: Vec<&str> = message.splitn(8, ' ').collect();
    assert_eq!(fields.len(), 8, "{message}");
    assert_eq!(fields[0], format!("<{pri}>1"), "PRI and VERSION");
    assert_eq!(fields[1], "2025-11-23T12:13:20.000Z", "TIMESTAMP");
    assert_eq!(fields[2], "sensor-1", "HOSTNAME");
    assert_eq!(fields[3], "apiwatch", "APP-NAME");
    assert_eq!(fields[4], std::process::id().to_string(), "PROCID");
    assert_eq!(fields[5], msgid, "MSGID");
    assert_eq!(fields[6], "-", "STRUCTURED-DATA");
    assert!(
        !message.contains('\n') && !message.contains('\r'),
        "a line break escaped CEF: {message:?}"
    );
    fields[7].to_string()
}

#[tokio::test]
async fn syslog_over_udp_carries_escaped_cef() {
    let listener = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let n = notifier(&format!(
        r#"
dead_letter_file: {dir}/dead.jsonl
channels:
  - name: siem
    type: syslog
    host: 127.0.0.1
    port: {port}
    protocol: udp
    facility: local4
    hostname: sensor-1
routes:
  - channels: [siem]
"#,
        dir = dir.path().display(),
    ));
    n.send(awkward());
    let mut buf = vec![0u8; 65536];
    let len =
        tokio::time::timeout(WAIT, listener.recv(&mut buf)).await.expect("a datagram").unwrap();
    let message = std::str::from_utf8(&buf[..len]).unwrap();
    // local4 (20) · 8 + err (3, for high)
    let cef = check_rfc5424(message, 163, "alert");
    assert!(cef.starts_with(CEF_HEADER), "{cef}");
    let extension = &cef[CEF_HEADER.len()..];
    assert!(extension.contains(r"msg=user\=alice|bob\\ tried\r\nagain"), "{extension}");
    assert!(extension.contains("externalId=a-1"));
    assert!(extension.contains("rt=1763900000000"));
    assert!(extension.contains("cs2Label=actors cs2=user:alice,ip:198.51.100.7"));
    n.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn syslog_over_tcp_is_octet_counted() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let n = notifier(&format!(
        r#"
dead_letter_file: {dir}/dead.jsonl
channels:
  - name: siem
    type: syslog
    host: 127.0.0.1
    port: {port}
    protocol: tcp
    hostname: sensor-1
routes:
  - channels: [siem]
"#,
        dir = dir.path().display(),
    ));
    n.send(awkward());
    let mut resolved = incident(NotificationKind::IncidentResolved, "inc-1");
    resolved.at_ms = 1_763_900_000_000;
    n.send(resolved);
    let (mut stream, _) = tokio::time::timeout(WAIT, listener.accept()).await.unwrap().unwrap();
    let mut frames: Vec<String> = Vec::new();
    let mut data = Vec::new();
    while frames.len() < 2 {
        let mut buf = [0u8; 4096];
        let read =
            tokio::time::timeout(WAIT, stream.read(&mut buf)).await.expect("more frames").unwrap();
        assert!(read > 0, "connection closed after {} frames", frames.len());
        data.extend_from_slice(&buf[..read]);
        // Frames: MSG-LEN SP SYSLOG-MSG, back to back on one connection.
        while let Some(space) = data.iter().position(|b| *b == b' ') {
            let len: usize =
                std::str::from_utf8(&data[..space]).unwrap().parse().expect("a decimal length");
            if data.len() < space + 1 + len {
                break;
            }
            frames.push(String::from_utf8(data[space + 1..space + 1 + len].to_vec()).unwrap());
            data.drain(..space + 1 + len);
        }
    }
    assert!(data.is_empty());
    // local0 (16) · 8 + err (3); then crit (2) for the critical incident.
    let cef = check_rfc5424(&frames[0], 131, "alert");
    assert!(cef.starts_with(CEF_HEADER), "{cef}");
    let cef = check_rfc5424(&frames[1], 130, "incident_resolved");
    assert!(cef.starts_with("CEF:0|apiwatch|apiwatch|0.1.0|incident_resolved|Incident inc-1: credential stuffing|10|"), "{cef}");
    assert!(cef.contains("cs1Label=incidentId cs1=inc-1"));
    n.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn ocsf_file_holds_detection_findings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("findings.ocsf.jsonl");
    let n = notifier(&format!(
        r#"
dead_letter_file: {dir}/dead.jsonl
channels:
  - name: ocsf
    type: ocsf_file
    path: {path}
routes:
  - channels: [ocsf]
"#,
        dir = dir.path().display(),
        path = path.display(),
    ));
    n.send(alert("a-1", Severity::High, "auth-password-guessing-user"));
    n.send(incident(NotificationKind::IncidentUpdated, "inc-1"));
    n.send(incident(NotificationKind::IncidentResolved, "inc-1"));
    wait_until(WAIT, "three findings", || json_lines(&path).len() == 3).await;
    let lines = json_lines(&path);
    for (line, activity) in lines.iter().zip([1, 2, 3]) {
        assert_eq!(line["class_uid"], 2004);
        assert_eq!(line["category_uid"], 2);
        assert_eq!(line["activity_id"], activity);
        assert_eq!(line["type_uid"], 200400 + activity);
        assert_eq!(line["metadata"]["product"]["name"], "apiwatch");
        assert_eq!(line["metadata"]["product"]["vendor_name"], "apiwatch");
        assert_eq!(line["metadata"]["version"], "1.1.0");
        for key in ["uid", "title", "desc", "types"] {
            assert!(!line["finding_info"][key].is_null(), "finding_info.{key} in {line}");
        }
        assert!(line["time"].is_i64());
        assert!(line["severity_id"].is_u64());
    }
    assert_eq!(lines[0]["severity_id"], 4);
    assert_eq!(lines[0]["time"], 1_763_900_000_000i64);
    assert_eq!(lines[0]["finding_info"]["uid"], "a-1");
    assert_eq!(lines[0]["finding_info"]["types"][0], "auth-password-guessing-user");
    assert_eq!(lines[0]["observables"][0]["type_id"], 4);
    assert_eq!(lines[0]["observables"][0]["value"], "alice");
    assert_eq!(lines[0]["observables"][1]["type_id"], 2);
    assert_eq!(lines[0]["observables"][1]["value"], "198.51.100.7");
    assert_eq!(lines[2]["severity_id"], 5);
    assert_eq!(lines[2]["status_id"], 4);
    assert_eq!(lines[2]["metadata"]["correlation_uid"], "inc-1");
    n.shutdown(Duration::from_secs(2)).await;
}
