//! Calls the application's webhook for decisions only it can carry out (lock an account,
//! revoke a token or session): a signed JSON POST, retried with backoff, whose outcome is
//! recorded on the decision and published. Runs on the service's runtime, never on the
//! response thread.

use apiwatch_core::Decision;
use apiwatch_respond::decide::ApplicationConfig;
use apiwatch_state::State;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;

/// How long one call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// The first retry's wait; each next one doubles.
const RETRY_BASE: Duration = Duration::from_millis(500);
const ATTEMPTS_DEFAULT: u32 = 4;

pub struct ApplicationHook {
    url: String,
    secret: String,
    attempts: u32,
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

/// `X-Apiwatch-Signature`: `sha256=` and the hex HMAC of `timestamp.body`, as the
/// notification webhooks sign (the application checks the time to refuse replays).
pub fn signature(secret: &str, timestamp_s: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{timestamp_s}.{body}").as_bytes());
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

impl ApplicationHook {
    pub fn new(c: &ApplicationConfig, runtime: tokio::runtime::Handle) -> anyhow::Result<Self> {
        Ok(ApplicationHook {
            url: c.url.clone(),
            secret: c.secret.clone(),
            attempts: c.attempts.unwrap_or(ATTEMPTS_DEFAULT),
            http: reqwest::Client::builder().timeout(CALL_TIMEOUT).build()?,
            runtime,
        })
    }

    /// Sends `d` in the background; `done` receives the outcome text once it is known.
    pub fn call(
        self: &Arc<Self>,
        d: Decision,
        state: Arc<State>,
        done: impl FnOnce(Decision) + Send + 'static,
    ) {
        let hook = Arc::clone(self);
        self.runtime.spawn(async move {
            let outcome = hook.deliver(&d).await;
            let st = Arc::clone(&state);
            let id = d.id;
            let text = outcome.clone();
            let stored =
                tokio::task::spawn_blocking(move || st.set_decision_outcome(id, &text)).await;
            if !matches!(stored, Ok(Ok(_))) {
                tracing::error!(decision = id, "cannot record the application's answer");
            }
            let mut d = d;
            d.outcome = Some(outcome);
            done(d);
        });
    }

    async fn deliver(&self, d: &Decision) -> String {
        let body = serde_json::json!({
            "id": d.id,
            "action": d.action,
            "scope": d.scope,
            "value": d.value,
            "reason": d.reason,
            "expires_at_ms": d.expires_at_ms,
            "incident_id": d.incident_id,
        })
        .to_string();
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            let ts = crate::live::now_ms() / 1000;
            let sent = self
                .http
                .post(&self.url)
                .header("content-type", "application/json")
                .header("x-apiwatch-timestamp", ts.to_string())
                .header("x-apiwatch-signature", signature(&self.secret, ts, &body))
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {
                    return format!("done: the application answered {}", r.status().as_u16())
                }
                Ok(r) => {
                    last = format!("the application answered {}", r.status().as_u16());
                    // A refusal (4xx other than 429) will not change by asking again.
                    if r.status().is_client_error() && r.status().as_u16() != 429 {
                        return format!("refused: {last}");
                    }
                }
                // reqwest's error text names the host, never the signing secret.
                Err(e) => last = format!("cannot reach the application: {}", without_url(&e)),
            }
            if attempt < self.attempts {
                tokio::time::sleep(RETRY_BASE * 2u32.pow(attempt - 1)).await;
            }
        }
        format!("failed after {} attempts: {last}", self.attempts)
    }
}

/// The error's kind without the URL (which may carry a key in its query).
fn without_url(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A server answering each request with the next status of `statuses`, then 200.
    fn server(statuses: Vec<u16>) -> (String, Arc<std::sync::Mutex<u32>>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let calls = Arc::new(std::sync::Mutex::new(0u32));
        let seen = Arc::clone(&calls);
        std::thread::spawn(move || {
            let mut statuses = statuses.into_iter();
            for conn in listener.incoming() {
                let mut conn = conn.unwrap();
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                *seen.lock().unwrap() += 1;
                let status = statuses.next().unwrap_or(200);
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
        (url, calls)
    }

    fn hook(url: String, attempts: u32, rt: &tokio::runtime::Runtime) -> ApplicationHook {
        let config =
            ApplicationConfig { url, secret: "0123456789abcdef".into(), attempts: Some(attempts) };
        ApplicationHook::new(&config, rt.handle().clone()).unwrap()
    }

    fn decision() -> Decision {
        Decision {
            id: 9,
            action: apiwatch_core::Action::Lock,
            scope: apiwatch_core::ScopeKind::User,
            value: "mallory".into(),
            duration_ms: 1000,
            origin: apiwatch_core::DecisionOrigin::Person("admin".into()),
            reason: "test".into(),
            status: apiwatch_core::DecisionStatus::Active,
            created_at_ms: 0,
            expires_at_ms: 1000,
            alert_id: None,
            incident_id: None,
            outcome: None,
        }
    }

    #[test]
    fn failures_are_retried_and_refusals_are_not() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (url, calls) = server(vec![503, 500]);
        let outcome = rt.block_on(hook(url, 4, &rt).deliver(&decision()));
        assert_eq!(outcome, "done: the application answered 200");
        assert_eq!(*calls.lock().unwrap(), 3);

        let (url, calls) = server(vec![403]);
        let outcome = rt.block_on(hook(url, 4, &rt).deliver(&decision()));
        assert_eq!(outcome, "refused: the application answered 403");
        assert_eq!(*calls.lock().unwrap(), 1);

        let (url, calls) = server(vec![500, 500]);
        let outcome = rt.block_on(hook(url, 2, &rt).deliver(&decision()));
        assert_eq!(outcome, "failed after 2 attempts: the application answered 500");
        assert_eq!(*calls.lock().unwrap(), 2);
    }

    #[test]
    fn signatures_are_hmac_sha256_of_time_and_body() {
        // Checked against: printf '1700000000.{}' | openssl dgst -sha256 -hmac 0123456789abcdef
        assert_eq!(
            super::signature("0123456789abcdef", 1_700_000_000, "{}"),
            "sha256=e4f8e2ecae2295b2ddb2f0b5584c8275e226c0ebe9b3b819e70156bb67122e3e"
        );
    }
}
