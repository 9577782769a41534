//! `pagerduty`: Events API v2. `trigger` for everything but `incident_resolved`, which sends
//! `resolve`; the dedup key is the incident's id when there is one, so an incident's opening,
//! updates and resolution are one PagerDuty alert.

use super::{http, truncate_chars, BuildContext};
use crate::notify::error::DeliveryError;
use crate::notify::secret::Secret;
use crate::notify::template::{verbatim, Template};
use crate::notify::{Notification, NotificationKind};
use apiwatch_core::time::format_rfc3339_ms;
use apiwatch_core::Severity;
use serde_json::{json, Value};
use std::time::Duration;

const DEFAULT_URL: &str = "https://events.pagerduty.com";

pub(crate) struct PagerDuty {
    http: reqwest::Client,
    /// `<url>/v2/enqueue`.
    enqueue: reqwest::Url,
    routing_key: Secret,
    source: String,
    template: Option<Template>,
}

impl PagerDuty {
    pub(crate) fn build(ctx: &mut BuildContext<'_>) -> Option<PagerDuty> {
        let url = ctx.http_url("pagerduty", Some(DEFAULT_URL));
        let routing_key = ctx.required("pagerduty", "routing_key", ctx.raw.routing_key.clone());
        let template = ctx.template("template", ctx.raw.template.as_ref());
        let enqueue = url.map(|u| super::append_path(u, "/v2/enqueue"));
        Some(PagerDuty {
            http: ctx.http.clone(),
            enqueue: enqueue?,
            routing_key: routing_key?,
            source: ctx.raw.source.clone().unwrap_or_else(|| "apiwatch".into()),
            template: template.ok()?,
        })
    }

    pub(crate) async fn deliver(
        &mut self,
        n: &Notification,
        timeout: Duration,
    ) -> Result<(), DeliveryError> {
        let summary = self.template.as_ref().map(|t| t.render(n, verbatim));
        let body = event(n, self.routing_key.expose(), &self.source, summary);
        http::post(http::json(self.http.post(self.enqueue.clone()), &body), timeout).await
    }
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "info",
    }
}

pub(crate) fn event(
    n: &Notification,
    routing_key: &str,
    source: &str,
    summary: Option<String>,
) -> Value {
    if n.kind == NotificationKind::IncidentResolved {
        return json!({"routing_key": routing_key, "event_action": "resolve", "dedup_key": n.dedup_key()});
    }
    let summary = summary.unwrap_or_else(|| format!("{}: {}", n.title, n.summary));
    let mut event = json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": n.dedup_key(),
        "payload": {
            // PagerDuty refuses a summary over 1024 characters.
            "summary": truncate_chars(&summary, 1024),
            "source": source,
            "severity": severity(n.severity),
            "timestamp": format_rfc3339_ms(n.at_ms),
            "class": n.rule_or_kind(),
            "group": n.kind.as_str(),
            "custom_details": {
                "id": n.id,
                "incident_id": n.incident_id,
                "actors": n.actors,
                "tags": n.tags,
                "summary": n.summary,
                "details": n.details,
            },
        },
        "client": "apiwatch",
    });
    if let Some(link) = &n.link {
        event["client_url"] = json!(link);
        event["links"] = json!([{"href": link, "text": "Open in apiwatch"}]);
    }
    event
}
