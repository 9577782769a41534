//! `splunk_hec`: Splunk's HTTP Event Collector, one event per notification.

use super::{http, BuildContext};
use crate::notify::error::DeliveryError;
use crate::notify::secret::Secret;
use crate::notify::Notification;
use serde_json::{json, Value};
use std::time::Duration;

pub(crate) struct SplunkHec {
    http: reqwest::Client,
    /// `<url>/services/collector/event`.
    endpoint: reqwest::Url,
    token: Secret,
    source: String,
    index: Option<String>,
}

impl SplunkHec {
    pub(crate) fn build(ctx: &mut BuildContext<'_>) -> Option<SplunkHec> {
        let url = ctx.http_url("splunk_hec", None);
        let token = ctx.required("splunk_hec", "token", ctx.raw.token.clone());
        let endpoint = url.map(|u| super::append_path(u, "/services/collector/event"));
        Some(SplunkHec {
            http: ctx.http.clone(),
            endpoint: endpoint?,
            token: token?,
            source: ctx.raw.source.clone().unwrap_or_else(|| "apiwatch".into()),
            index: ctx.raw.index.clone(),
        })
    }

    pub(crate) async fn deliver(
        &mut self,
        n: &Notification,
        timeout: Duration,
    ) -> Result<(), DeliveryError> {
        let body = event(n, &self.source, self.index.as_deref());
        let mut authorization =
            reqwest::header::HeaderValue::from_str(&format!("Splunk {}", self.token.expose()))
                .map_err(|_| DeliveryError::permanent("the token is not a valid header value"))?;
        authorization.set_sensitive(true);
        let request = self
            .http
            .post(self.endpoint.clone())
            .header(reqwest::header::AUTHORIZATION, authorization);
        let request = http::json(request, &body);
        http::post(request, timeout).await
    }
}

pub(crate) fn event(n: &Notification, source: &str, index: Option<&str>) -> Value {
    let mut event = json!({
        // HEC's time is seconds, with the milliseconds as a fraction.
        "time": n.at_ms as f64 / 1000.0,
        "sourcetype": "apiwatch",
        "source": source,
        "event": n,
    });
    if let Some(index) = index {
        event["index"] = json!(index);
    }
    event
}
