//! `slack`: an incoming webhook. Block Kit (header, text, fields, a button to the dashboard),
//! or, with a template, a `text` message.

use super::{http, truncate_chars, BuildContext};
use crate::notify::error::DeliveryError;
use crate::notify::template::Template;
use crate::notify::Notification;
use apiwatch_core::time::format_rfc3339_ms;
use serde_json::{json, Value};
use std::time::Duration;

pub(crate) struct Slack {
    http: reqwest::Client,
    url: reqwest::Url,
    template: Option<Template>,
}

impl Slack {
    pub(crate) fn build(ctx: &mut BuildContext<'_>) -> Option<Slack> {
        let url = ctx.http_url("slack", None);
        let template = ctx.template("template", ctx.raw.template.as_ref());
        Some(Slack { http: ctx.http.clone(), url: url?, template: template.ok()? })
    }

    pub(crate) async fn deliver(
        &mut self,
        n: &Notification,
        timeout: Duration,
    ) -> Result<(), DeliveryError> {
        let body = match &self.template {
            Some(t) => json!({ "text": t.render(n, escape) }),
            None => payload(n),
        };
        http::post(http::json(self.http.post(self.url.clone()), &body), timeout).await
    }
}

/// Slack's mrkdwn treats `&`, `<` and `>` as markup (`<url|text>` is a link); attacker-chosen
/// text (a user name, a path) must not become one.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

pub(crate) fn payload(n: &Notification) -> Value {
    let mut fields = vec![
        json!({"type": "mrkdwn", "text": format!("*Severity*\n{}", n.severity.as_str())}),
        json!({"type": "mrkdwn", "text": format!("*Kind*\n{}", n.kind.as_str())}),
    ];
    if let Some(rule) = &n.rule {
        fields.push(json!({"type": "mrkdwn", "text": format!("*Rule*\n{}", escape(rule))}));
    }
    if !n.actors.is_empty() {
        fields.push(json!({"type": "mrkdwn", "text": truncate_chars(&format!("*Actors*\n{}", escape(&n.actors.join(", "))), 2000)}));
    }
    if !n.tags.is_empty() {
        fields.push(json!({"type": "mrkdwn", "text": truncate_chars(&format!("*Tags*\n{}", escape(&n.tags.join(", "))), 2000)}));
    }
    let mut context = format!("{} · {}", escape(&n.id), format_rfc3339_ms(n.at_ms));
    if let Some(incident) = &n.incident_id {
        context.push_str(&format!(" · incident {}", escape(incident)));
    }
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": truncate_chars(&n.title, 150)}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate_chars(&escape(&n.summary), 3000)}, "fields": fields}),
        json!({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]}),
    ];
    if let Some(link) = &n.link {
        blocks.push(json!({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open in apiwatch"}, "url": link}
        ]}));
    }
    json!({
        // The fallback shown in notifications and by clients that do not render blocks.
        "text": format!("[{}] {}", n.severity.as_str().to_uppercase(), escape(&n.title)),
        "blocks": blocks,
    })
}
