//! The channels: one module per `type`, each built from its [`ChannelConfig`] and delivering
//! one notification per call. Adding a channel is one module, one line in [`TYPES`] and one arm
//! in [`Channel`].

mod email;
mod http;
mod ocsf;
mod pagerduty;
mod slack;
mod splunk;
mod syslog;
mod teams;
mod webhook;

pub(crate) mod cef;

use super::config::ChannelConfig;
use super::error::{ConfigProblem, DeliveryError, Problems};
use super::notification::Notification;
use super::template::Template;
use std::time::Duration;

/// Each type and the settings it takes beyond the common ones (name, type, rate_limit,
/// queue_max, retry_max, retry_base_ms, timeout).
const TYPES: &[(&str, &[&str])] = &[
    ("webhook", &["url", "secret", "content_type", "headers", "template"]),
    ("slack", &["url", "template"]),
    ("teams", &["url", "template"]),
    ("pagerduty", &["url", "routing_key", "source", "template"]),
    (
        "email",
        &[
            "host", "port", "starttls", "username", "password", "from", "to", "subject",
            "template", "ca_file",
        ],
    ),
    ("syslog", &["host", "port", "protocol", "facility", "hostname"]),
    ("splunk_hec", &["url", "token", "source", "index"]),
    ("ocsf_file", &["path"]),
];

/// A built channel.
pub(crate) enum Channel {
    Webhook(webhook::Webhook),
    Slack(slack::Slack),
    Teams(teams::Teams),
    PagerDuty(pagerduty::PagerDuty),
    Email(Box<email::Email>),
    Syslog(syslog::Syslog),
    SplunkHec(splunk::SplunkHec),
    OcsfFile(ocsf::OcsfFile),
}

impl Channel {
    /// Builds a channel from its settings, adding every problem found to `ctx.problems`.
    pub(crate) fn build(ctx: &mut BuildContext<'_>) -> Option<Channel> {
        let Some(&(kind, allowed)) = TYPES.iter().find(|(k, _)| *k == ctx.raw.kind) else {
            let key = ctx.key("type");
            ctx.problems.add(key, ConfigProblem::UnknownType(ctx.raw.kind.clone()));
            return None;
        };
        for setting in ctx.raw.present_settings() {
            if !allowed.contains(&setting) {
                let key = ctx.key(setting);
                ctx.problems.add(key, ConfigProblem::NotAllowed(kind));
            }
        }
        match kind {
            "webhook" => webhook::Webhook::build(ctx).map(Channel::Webhook),
            "slack" => slack::Slack::build(ctx).map(Channel::Slack),
            "teams" => teams::Teams::build(ctx).map(Channel::Teams),
            "pagerduty" => pagerduty::PagerDuty::build(ctx).map(Channel::PagerDuty),
            "email" => email::Email::build(ctx).map(|e| Channel::Email(Box::new(e))),
            "syslog" => syslog::Syslog::build(ctx).map(Channel::Syslog),
            "splunk_hec" => splunk::SplunkHec::build(ctx).map(Channel::SplunkHec),
            "ocsf_file" => ocsf::OcsfFile::build(ctx).map(Channel::OcsfFile),
            _ => unreachable!("every entry of TYPES has an arm"),
        }
    }

    /// One attempt, bounded by `timeout`.
    pub(crate) async fn deliver(
        &mut self,
        n: &Notification,
        timeout: Duration,
    ) -> Result<(), DeliveryError> {
        match self {
            Channel::Webhook(c) => c.deliver(n, timeout).await,
            Channel::Slack(c) => c.deliver(n, timeout).await,
            Channel::Teams(c) => c.deliver(n, timeout).await,
            Channel::PagerDuty(c) => c.deliver(n, timeout).await,
            Channel::Email(c) => c.deliver(n, timeout).await,
            Channel::Syslog(c) => c.deliver(n, timeout).await,
            Channel::SplunkHec(c) => c.deliver(n, timeout).await,
            Channel::OcsfFile(c) => c.deliver(n),
        }
    }
}

/// What a channel's builder reads and where it reports.
pub(crate) struct BuildContext<'a> {
    pub(crate) raw: &'a ChannelConfig,
    /// `notify.channels[2]`.
    pub(crate) path: String,
    pub(crate) problems: &'a mut Problems,
    /// Shared by the HTTP channels: one connection pool.
    pub(crate) http: &'a reqwest::Client,
}

impl BuildContext<'_> {
    pub(crate) fn key(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    pub(crate) fn invalid(&mut self, key: &str, message: impl Into<String>) {
        let key = self.key(key);
        self.problems.add(key, ConfigProblem::Invalid(message.into()));
    }

    /// `value`, or a "required" problem at `key`.
    pub(crate) fn required<T>(
        &mut self,
        kind: &'static str,
        key: &str,
        value: Option<T>,
    ) -> Option<T> {
        if value.is_none() {
            let key = self.key(key);
            self.problems.add(key, ConfigProblem::RequiredFor(kind));
        }
        value
    }

    /// The channel's `url` (or `default`), checked to be http(s). The value is never quoted in
    /// a problem: it may hold a credential.
    pub(crate) fn http_url(
        &mut self,
        kind: &'static str,
        default: Option<&str>,
    ) -> Option<reqwest::Url> {
        let text = match (&self.raw.url, default) {
            (Some(url), _) => url.expose().to_string(),
            (None, Some(d)) => d.to_string(),
            (None, None) => {
                self.required::<()>(kind, "url", None);
                return None;
            }
        };
        match reqwest::Url::parse(&text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                Some(url)
            }
            Ok(_) => {
                self.invalid("url", "not an http(s) URL with a host");
                None
            }
            Err(e) => {
                self.invalid("url", format!("not a URL ({e})"));
                None
            }
        }
    }

    /// Parses the template at `key`, if given.
    pub(crate) fn template(
        &mut self,
        key: &str,
        text: Option<&String>,
    ) -> Result<Option<Template>, ()> {
        match text.map(|t| Template::parse(t)) {
            None => Ok(None),
            Some(Ok(t)) => Ok(Some(t)),
            Some(Err(e)) => {
                let key = self.key(key);
                self.problems.add(key, ConfigProblem::Template(e));
                Err(())
            }
        }
    }
}

/// `url` with `suffix` after its path, so a base behind a proxy prefix keeps the prefix
/// (`https://proxy/pd` + `/v2/enqueue`).
pub(crate) fn append_path(mut url: reqwest::Url, suffix: &str) -> reqwest::Url {
    let path = format!("{}{suffix}", url.path().trim_end_matches('/'));
    url.set_path(&path);
    url
}

/// Cuts `s` to at most `max_chars` characters, marking the cut: receivers reject or truncate
/// oversized fields (Slack's header: 150; PagerDuty's summary: 1024).
pub(crate) fn truncate_chars(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars.saturating_sub(1)) {
        Some((cut, _)) if s[cut..].chars().nth(1).is_some() => format!("{}…", &s[..cut]),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::truncate_chars;

    #[test]
    fn truncation_keeps_short_text_and_marks_a_cut() {
        assert_eq!(truncate_chars("abc", 3), "abc");
        assert_eq!(truncate_chars("abcd", 3), "ab…");
        assert_eq!(truncate_chars("ééééé", 4).chars().count(), 4);
    }
}
