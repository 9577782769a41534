//! `teams`: a Microsoft Teams incoming webhook (Workflows), posted an Adaptive Card message.

use super::{http, BuildContext};
use crate::notify::error::DeliveryError;
use crate::notify::template::{verbatim, Template};
use crate::notify::Notification;
use apiwatch_core::time::format_rfc3339_ms;
use serde_json::{json, Value};
use std::time::Duration;

pub(crate) struct Teams {
    http: reqwest::Client,
    url: reqwest::Url,
    template: Option<Template>,
}

impl Teams {
    pub(crate) fn build(ctx: &mut BuildContext<'_>) -> Option<Teams> {
        let url = ctx.http_url("teams", None);
        let template = ctx.template("template", ctx.raw.template.as_ref());
        Some(Teams { http: ctx.http.clone(), url: url?, template: template.ok()? })
    }

    pub(crate) async fn deliver(
        &mut self,
        n: &Notification,
        timeout: Duration,
    ) -> Result<(), DeliveryError> {
        let text = self.template.as_ref().map(|t| t.render(n, verbatim));
        let body = payload(n, text);
        http::post(http::json(self.http.post(self.url.clone()), &body), timeout).await
    }
}

/// The message: one Adaptive Card (title, summary or the rendered template, facts, a button).
pub(crate) fn payload(n: &Notification, text: Option<String>) -> Value {
    let mut facts = vec![
        json!({"title": "Severity", "value": n.severity.as_str()}),
        json!({"title": "Kind", "value": n.kind.as_str()}),
    ];
    if let Some(rule) = &n.rule {
        facts.push(json!({"title": "Rule", "value": rule}));
    }
    if !n.actors.is_empty() {
        facts.push(json!({"title": "Actors", "value": n.actors.join(", ")}));
    }
    if !n.tags.is_empty() {
        facts.push(json!({"title": "Tags", "value": n.tags.join(", ")}));
    }
    facts.push(json!({"title": "Id", "value": n.id}));
    if let Some(incident) = &n.incident_id {
        facts.push(json!({"title": "Incident", "value": incident}));
    }
    facts.push(json!({"title": "Time", "value": format_rfc3339_ms(n.at_ms)}));
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": n.title, "size": "Large", "weight": "Bolder", "wrap": true},
            {"type": "TextBlock", "text": text.unwrap_or_else(|| n.summary.clone()), "wrap": true},
            {"type": "FactSet", "facts": facts},
        ],
    });
    if let Some(link) = &n.link {
        card["actions"] =
            json!([{"type": "Action.OpenUrl", "title": "Open in apiwatch", "url": link}]);
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}
