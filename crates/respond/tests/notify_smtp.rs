//! E-mail over SMTP with STARTTLS, to a real SMTP server on 127.0.0.1.
//!
//! Needs: `python3` with the PyPI package `aiosmtpd` (`pip install aiosmtpd`); the server is
//! `tests/smtp_receiver.py`. Without it this test FAILS, saying so, unless `APIWATCH_SKIP_SMTP=1`
//! is set, in which case it prints why it skipped and passes.

mod common;

use apiwatch_core::Severity;
use common::{alert, json_lines, notifier, wait_until};
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PASSWORD: &str = "smtp-test-password-7d1e";

/// Kills the SMTP server when the test ends, passed or not.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether the test can run; panics with what to install when it cannot and was not told to
/// skip.
fn aiosmtpd_available() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return true;
    }
    if std::env::var("APIWATCH_SKIP_SMTP").as_deref() == Ok("1") {
        eprintln!("skipped: python3 cannot import aiosmtpd, and APIWATCH_SKIP_SMTP=1 is set");
        return false;
    }
    panic!("the SMTP test needs python3 with aiosmtpd: run `pip install aiosmtpd` (or set APIWATCH_SKIP_SMTP=1 to skip it)");
}

/// A private CA and a certificate it signed for 127.0.0.1, written as PEM files; returns the
/// CA's path, the server certificate's and its key's.
fn private_ca(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.distinguished_name.push(DnType::CommonName, "apiwatch test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().unwrap();
    let mut server_params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    server_params.distinguished_name.push(DnType::CommonName, "127.0.0.1");
    let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();

    let paths = (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(&paths.0, ca_cert.pem()).unwrap();
    std::fs::write(&paths.1, server_cert.pem()).unwrap();
    std::fs::write(&paths.2, server_key.serialize_pem()).unwrap();
    paths
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_server(dir: &Path, cert: &Path, key: &Path, out: &Path) -> (Server, u16) {
    let port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_receiver.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .arg(cert)
        .arg(key)
        .arg(out)
        .args(["apiwatch", PASSWORD])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(20)).expect("the SMTP server says it is ready");
    assert_eq!(line.trim(), "ready", "the SMTP server did not start");
    (server, port)
}

#[tokio::test]
async fn email_arrives_over_starttls_trusting_a_private_ca() {
    if !aiosmtpd_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("received");
    std::fs::create_dir(&out).unwrap();
    let (ca, cert, key) = private_ca(dir.path());
    let (_server, port) = start_server(dir.path(), &cert, &key, &out);
    let dead = dir.path().join("dead.jsonl");
    let n = notifier(&format!(
        r#"
dead_letter_file: {dead}
channels:
  - name: mail
    type: email
    host: 127.0.0.1
    port: {port}
    starttls: required
    ca_file: {ca}
    username: apiwatch
    password: {PASSWORD}
    from: "apiwatch <apiwatch@example.org>"
    to: [secops@example.org, oncall@example.org]
    subject: "[apiwatch] {{severity|upper}}: {{title}}"
    template: "Rule {{rule}} fired for {{actors}}.\n{{summary}}\nSee {{link}}\n"
  # The same server without the private CA: the public roots do not know it, so no mail (and
  # so no password) may go.
  - name: mail-untrusted
    type: email
    host: 127.0.0.1
    port: {port}
    username: apiwatch
    password: {PASSWORD}
    from: apiwatch@example.org
    to: [secops@example.org]
    retry_max: 0
routes:
  - rules: [auth-password-guessing-user]
    channels: [mail]
  - rules: [untrusted]
    channels: [mail-untrusted]
"#,
        dead = dead.display(),
        ca = ca.display(),
    ));
    let mut a = alert("a-1", Severity::High, "auth-password-guessing-user");
    // A line break in a title must not start a header of its own.
    a.title = "Password guessing on alice\r\nBcc: attacker@example.net".to_string();
    n.send(a);
    let first = out.join("msg-1.json");
    wait_until(Duration::from_secs(20), "the e-mail", || first.exists()).await;
    let got: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&first).unwrap()).unwrap();
    assert_eq!(got["tls"], true, "STARTTLS was used");
    assert_eq!(got["authenticated"], true);
    assert_eq!(got["mail_from"], "apiwatch@example.org");
    assert_eq!(got["rcpt_tos"], serde_json::json!(["secops@example.org", "oncall@example.org"]));
    assert_eq!(
        got["subject"],
        "[apiwatch] HIGH: Password guessing on alice  Bcc: attacker@example.net"
    );
    // The message's line ends are CRLF, and its end gains one (SMTP's data ends with a line).
    let body = got["body"].as_str().unwrap().replace("\r\n", "\n");
    assert_eq!(
        body.trim_end(),
        "Rule auth-password-guessing-user fired for user:alice, ip:198.51.100.7.\n40 failed logins in 5m\nSee https://apiwatch.example/alerts/a-1"
    );

    n.send(alert("a-2", Severity::High, "untrusted"));
    wait_until(Duration::from_secs(20), "the refused delivery", || !json_lines(&dead).is_empty())
        .await;
    let lines = json_lines(&dead);
    assert_eq!(lines[0]["channel"], "mail-untrusted");
    let error = lines[0]["error"].as_str().unwrap();
    assert!(error.to_lowercase().contains("certificate"), "{error}");
    assert!(!std::fs::read_to_string(&dead).unwrap().contains(PASSWORD));
    assert!(!out.join("msg-2.json").exists());

    let stats = n.shutdown(Duration::from_secs(2)).await;
    assert_eq!((stats[0].sent, stats[1].sent, stats[1].dead_lettered), (1, 0, 1));
}
