//! The configuration as written (the service embeds it under `notify:`): plain structs that
//! only deserialize. [`crate::notify::Notifier::new`] validates them into the running channels
//! and routes.
//!
//! A channel is one flat struct rather than an enum tagged by `type`: serde cannot combine a
//! tagged enum's shared fields with `deny_unknown_fields`, and validation can then name the
//! exact key that does not belong to a channel's type (`notify.channels[2].routing_key`).

use super::secret::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `notify:`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    #[serde(default)]
    pub channels: Vec<ChannelConfig>,
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    /// Where notifications that could not be delivered are written (JSON Lines). Required when
    /// there is a channel: a notification given up on must land somewhere a person can read.
    pub dead_letter_file: Option<PathBuf>,
}

/// One channel: its name, type, delivery settings and the settings of its type.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    pub name: String,
    /// `webhook`, `slack`, `teams`, `pagerduty`, `email`, `syslog`, `splunk_hec`, `ocsf_file`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The message (webhook body, Slack/Teams text, PagerDuty summary, e-mail body).
    pub template: Option<String>,
    pub rate_limit: Option<RateLimitConfig>,
    /// Notifications waiting for this channel; past it they are dropped and counted.
    pub queue_max: Option<usize>,
    /// Tries after the first before a notification goes to the dead-letter file.
    pub retry_max: Option<u32>,
    /// The first retry's delay; each next one doubles it (with jitter).
    pub retry_base_ms: Option<u64>,
    /// How long one attempt may take (`10s`).
    pub timeout: Option<String>,

    /// HTTP channels: where to POST. Kept secret: Slack's and Teams' URLs carry their
    /// credential, and a webhook's may in its query.
    pub url: Option<Secret>,
    /// webhook: the HMAC-SHA256 signing key.
    pub secret: Option<Secret>,
    /// webhook: the body's media type (default `application/json`).
    pub content_type: Option<String>,
    /// webhook: extra headers (`Authorization` for an SMS provider); values are secret.
    pub headers: Option<BTreeMap<String, Secret>>,
    /// pagerduty: the Events API v2 integration key.
    pub routing_key: Option<Secret>,
    /// pagerduty `payload.source`, splunk_hec `source` (default `apiwatch`).
    pub source: Option<String>,
    /// splunk_hec: the HEC token.
    pub token: Option<Secret>,
    /// splunk_hec: the index (default: the token's).
    pub index: Option<String>,

    /// email, syslog: the server.
    pub host: Option<String>,
    pub port: Option<u16>,
    /// email: `required` (default), `opportunistic` or `none`.
    pub starttls: Option<String>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: Option<String>,
    pub to: Option<Vec<String>>,
    /// email: the subject's template.
    pub subject: Option<String>,
    /// email: a PEM file of the CA to trust instead of the public roots (a private relay).
    pub ca_file: Option<PathBuf>,

    /// syslog: `udp` (default) or `tcp`.
    pub protocol: Option<String>,
    /// syslog: `user`, `auth`, `authpriv`, `daemon`, `local0`…`local7` (default `local0`).
    pub facility: Option<String>,
    /// syslog: the HOSTNAME field (default: this machine's name).
    pub hostname: Option<String>,

    /// ocsf_file: the JSON Lines file appended to.
    pub path: Option<PathBuf>,
}

/// `rate_limit: {max: 10, per: 1m}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    pub max: u32,
    pub per: String,
}

/// Which notifications go to which channels. Every criterion given must hold; within a list,
/// any item may match. A notification goes to the union of its matching routes' channels.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// For people and errors only.
    pub name: Option<String>,
    /// `low`, `medium`, `high`, `critical`.
    pub severity_at_least: Option<String>,
    /// Rule ids; `*` matches any run of characters (`auth-*`).
    pub rules: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    /// `alert`, `incident_opened`, `incident_updated`, `incident_resolved`, `decision`,
    /// `summary`.
    pub kinds: Option<Vec<String>>,
    pub channels: Vec<String>,
}

impl ChannelConfig {
    /// The type-specific settings present, by their key, so validation can refuse those that
    /// do not belong to the channel's type.
    pub(crate) fn present_settings(&self) -> Vec<&'static str> {
        let present = [
            ("template", self.template.is_some()),
            ("url", self.url.is_some()),
            ("secret", self.secret.is_some()),
            ("content_type", self.content_type.is_some()),
            ("headers", self.headers.is_some()),
            ("routing_key", self.routing_key.is_some()),
            ("source", self.source.is_some()),
            ("token", self.token.is_some()),
            ("index", self.index.is_some()),
            ("host", self.host.is_some()),
            ("port", self.port.is_some()),
            ("starttls", self.starttls.is_some()),
            ("username", self.username.is_some()),
            ("password", self.password.is_some()),
            ("from", self.from.is_some()),
            ("to", self.to.is_some()),
            ("subject", self.subject.is_some()),
            ("ca_file", self.ca_file.is_some()),
            ("protocol", self.protocol.is_some()),
            ("facility", self.facility.is_some()),
            ("hostname", self.hostname.is_some()),
            ("path", self.path.is_some()),
        ];
        present.into_iter().filter(|(_, p)| *p).map(|(k, _)| k).collect()
    }
}
