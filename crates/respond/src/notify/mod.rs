//! Notifications: routes, channels, templates, retries, rate limits and the dead-letter file.
//!
//! [`Notifier::new`] validates a [`NotifyConfig`] (every problem at once, each at its key path)
//! and starts one tokio task per channel. [`Notifier::send`] never waits: it routes the
//! notification and puts it on each matching channel's bounded queue, counting what a full
//! queue refuses. Each channel's worker applies its rate limit (an excess becomes one summary
//! per period), delivers with retries, and writes what it gives up on to the dead-letter file.
//!
//! Secrets (signing keys, passwords, routing keys, tokens, webhook URLs) are [`Secret`]s: they
//! print as `***`, and error texts are scrubbed of them before they are logged or written.
//! Notifications themselves carry no secret: they hold what the caller gives, built from
//! events already redacted.
//!
//! What this module does not do: decide what deserves a notification (the caller does), read
//! the event store, or retry across restarts (the dead-letter file is for people and scripts).

mod channels;
mod config;
mod dead_letter;
mod error;
mod notification;
mod rate;
mod route;
mod secret;
mod stats;
mod template;
mod worker;

pub use config::{ChannelConfig, NotifyConfig, RateLimitConfig, RouteConfig};
pub use error::{ConfigError, ConfigProblem};
pub use notification::{Notification, NotificationKind};
pub use secret::Secret;
pub use stats::ChannelStats;
pub use template::TemplateError;

use apiwatch_core::time::parse_duration_ms;
use channels::{BuildContext, Channel};
use dead_letter::DeadLetterFile;
use error::Problems;
use rate::{RateLimit, RateWindow};
use route::Route;
use secret::Scrubber;
use stats::{Counters, DeliveryEvent};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use worker::{Delivery, Worker};

/// A thousand notifications: far more than a rate limit lets through in a period, so the queue
/// fills only while a receiver is down and retries hold the worker.
const DEFAULT_QUEUE_MAX: usize = 1000;
/// Past this a queue is a memory problem, not a buffer.
const QUEUE_MAX_LIMIT: usize = 1_000_000;
/// With a 1 s base: retries after ~1, 2, 4, 8, 16 s, so a receiver may be away for half a
/// minute (a deploy, a restart) before anything is dead-lettered.
const DEFAULT_RETRY_MAX: u32 = 5;
const DEFAULT_RETRY_BASE_MS: u64 = 1000;
/// More retries than this wait the capped delay over and over; the dead-letter file is better.
const RETRY_MAX_LIMIT: u32 = 20;
const DEFAULT_TIMEOUT: &str = "10s";
/// After the shutdown deadline, workers get this long to write what is left to the dead-letter
/// file before they are stopped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Sends notifications to channels. Made inside a tokio runtime; its workers run there.
pub struct Notifier {
    channels: Vec<ChannelHandle>,
    routes: Vec<Route>,
    deadline: watch::Sender<Option<Instant>>,
}

struct ChannelHandle {
    name: Arc<str>,
    queue: mpsc::Sender<Arc<Notification>>,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

/// What [`Notifier::send`] did with one notification.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendReport {
    /// Channels it was queued for.
    pub queued: usize,
    /// Channels whose full queue refused it.
    pub dropped: usize,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.channels.iter().map(|c| &*c.name).collect();
        f.debug_struct("Notifier")
            .field("channels", &names)
            .field("routes", &self.routes.len())
            .finish()
    }
}

impl Notifier {
    /// Validates `config` and starts a worker per channel. Must be called inside a tokio
    /// runtime. Opens the dead-letter and OCSF files (creating them), reads CA files.
    pub fn new(config: NotifyConfig) -> Result<Notifier, Vec<ConfigError>> {
        let mut problems = Problems::default();
        let http = match reqwest::Client::builder()
            // A redirect would carry a signed body, or a credential in a header, elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .build()
        {
            Ok(client) => Some(client),
            Err(e) => {
                problems.add(
                    "notify",
                    ConfigProblem::Invalid(format!("cannot start the HTTP client: {e}")),
                );
                None
            }
        };
        let dead_letter = match (&config.dead_letter_file, config.channels.is_empty()) {
            (Some(path), _) => match DeadLetterFile::open(path) {
                Ok(file) => Some(Arc::new(file)),
                Err(error) => {
                    problems.add(
                        "notify.dead_letter_file",
                        ConfigProblem::File { path: path.display().to_string(), error },
                    );
                    None
                }
            },
            (None, false) => {
                problems.add("notify.dead_letter_file", ConfigProblem::Required);
                None
            }
            (None, true) => None,
        };

        let mut built = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for (i, raw) in config.channels.iter().enumerate() {
            let path = format!("notify.channels[{i}]");
            if raw.name.is_empty() {
                problems.add(format!("{path}.name"), ConfigProblem::Required);
            } else if names.contains(&raw.name.as_str()) {
                problems
                    .add(format!("{path}.name"), ConfigProblem::DuplicateName(raw.name.clone()));
            }
            names.push(&raw.name);
            let common = common_settings(raw, &path, &mut problems);
            let channel = match &http {
                Some(http) => {
                    Channel::build(&mut BuildContext { raw, path, problems: &mut problems, http })
                }
                None => None,
            };
            if let (Some((queue_max, delivery, rate)), Some(channel)) = (common, channel) {
                let scrubber = Scrubber::new(
                    raw.url
                        .iter()
                        .chain(&raw.secret)
                        .chain(&raw.routing_key)
                        .chain(&raw.token)
                        .chain(&raw.password)
                        .chain(raw.headers.iter().flat_map(|h| h.values())),
                );
                built.push((raw.name.clone(), channel, queue_max, delivery, rate, scrubber));
            }
        }
        let mut routes = Vec::new();
        for (i, raw) in config.routes.iter().enumerate() {
            if let Some(route) =
                Route::build(raw, &format!("notify.routes[{i}]"), &names, &mut problems)
            {
                routes.push(route);
            }
        }
        if !problems.errors.is_empty() {
            return Err(problems.errors);
        }

        let (deadline, deadline_rx) = watch::channel(None);
        let channels = built
            .into_iter()
            .map(|(name, channel, queue_max, delivery, rate, scrubber)| {
                let name: Arc<str> = name.into();
                let (queue, queue_rx) = mpsc::channel(queue_max);
                let counters = Arc::new(Counters::default());
                let worker = Worker {
                    name: name.clone(),
                    channel,
                    queue: queue_rx,
                    delivery,
                    rate: rate.map(RateWindow::new),
                    counters: counters.clone(),
                    dead_letter: dead_letter
                        .clone()
                        .expect("validation requires a dead-letter file when there are channels"),
                    scrubber,
                    deadline: deadline_rx.clone(),
                };
                let task = tokio::spawn(worker.run());
                ChannelHandle { name, queue, counters, task }
            })
            .collect();
        Ok(Notifier { channels, routes, deadline })
    }

    /// The channels the routes send `n` to, in configuration order.
    pub fn channels_for(&self, n: &Notification) -> Vec<&str> {
        self.matching(n).map(|i| &*self.channels[i].name).collect()
    }

    fn matching<'a>(&'a self, n: &'a Notification) -> impl Iterator<Item = usize> + 'a {
        (0..self.channels.len())
            .filter(move |i| self.routes.iter().any(|r| r.channels.contains(i) && r.matches(n)))
    }

    /// Queues `n` for every channel its routes name. Never waits: a full queue drops it (and
    /// counts the drop).
    pub fn send(&self, n: Notification) -> SendReport {
        let n = Arc::new(n);
        let mut report = SendReport::default();
        for i in self.matching(&n) {
            let channel = &self.channels[i];
            match channel.queue.try_send(n.clone()) {
                Ok(()) => report.queued += 1,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    channel
                        .counters
                        .record(&channel.name, DeliveryEvent::Dropped { reason: "queue full" });
                    report.dropped += 1;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    channel
                        .counters
                        .record(&channel.name, DeliveryEvent::Dropped { reason: "worker stopped" });
                    report.dropped += 1;
                }
            }
        }
        report
    }

    /// Every channel's counters now.
    pub fn stats(&self) -> Vec<ChannelStats> {
        self.channels.iter().map(ChannelHandle::stats).collect()
    }

    /// Stops taking notifications and lets the workers deliver what is queued (and the rate
    /// limits' summaries) until `deadline` from now; what is still undelivered then goes to the
    /// dead-letter file. Returns the final counters.
    pub async fn shutdown(self, deadline: Duration) -> Vec<ChannelStats> {
        let at = Instant::now() + deadline;
        self.deadline.send_replace(Some(at));
        let mut stats = Vec::new();
        let mut tasks = Vec::new();
        for channel in self.channels {
            // Closing the queue: the worker drains it and stops.
            let ChannelHandle { name, queue, counters, task } = channel;
            drop(queue);
            tasks.push((name, counters, task));
        }
        for (name, counters, mut task) in tasks {
            if tokio::time::timeout_at(at + SHUTDOWN_GRACE, &mut task).await.is_err() {
                tracing::error!(
                    channel = &*name,
                    "notification worker still busy after the shutdown deadline; stopped"
                );
                task.abort();
            }
            stats.push(counters.snapshot(&name, 0));
        }
        stats
    }
}

impl ChannelHandle {
    fn stats(&self) -> ChannelStats {
        let queued = self.queue.max_capacity() - self.queue.capacity();
        self.counters.snapshot(&self.name, queued)
    }
}

/// Validates the settings every channel has: queue, retries, timeout, rate limit.
fn common_settings(
    raw: &ChannelConfig,
    path: &str,
    problems: &mut Problems,
) -> Option<(usize, Delivery, Option<RateLimit>)> {
    let before = problems.errors.len();
    let queue_max = raw.queue_max.unwrap_or(DEFAULT_QUEUE_MAX);
    if queue_max == 0 || queue_max > QUEUE_MAX_LIMIT {
        problems.add(
            format!("{path}.queue_max"),
            ConfigProblem::Invalid(format!("must be 1 … {QUEUE_MAX_LIMIT}")),
        );
    }
    let retry_max = raw.retry_max.unwrap_or(DEFAULT_RETRY_MAX);
    if retry_max > RETRY_MAX_LIMIT {
        problems.add(
            format!("{path}.retry_max"),
            ConfigProblem::Invalid(format!("at most {RETRY_MAX_LIMIT}")),
        );
    }
    let retry_base_ms = raw.retry_base_ms.unwrap_or(DEFAULT_RETRY_BASE_MS);
    if retry_base_ms == 0 {
        problems.add(
            format!("{path}.retry_base_ms"),
            ConfigProblem::Invalid("must be at least 1".into()),
        );
    }
    let timeout = positive_duration(
        raw.timeout.as_deref().unwrap_or(DEFAULT_TIMEOUT),
        &format!("{path}.timeout"),
        problems,
    );
    let rate = raw.rate_limit.as_ref().and_then(|r| {
        if r.max == 0 {
            problems.add(
                format!("{path}.rate_limit.max"),
                ConfigProblem::Invalid("must be at least 1".into()),
            );
        }
        let per = positive_duration(&r.per, &format!("{path}.rate_limit.per"), problems)?;
        Some(RateLimit { max: r.max, per })
    });
    if problems.errors.len() != before {
        return None;
    }
    let delivery =
        Delivery { retry_max, retry_base: Duration::from_millis(retry_base_ms), timeout: timeout? };
    Some((queue_max, delivery, rate))
}

fn positive_duration(text: &str, path: &str, problems: &mut Problems) -> Option<Duration> {
    match parse_duration_ms(text) {
        Ok(ms) if ms > 0 => Some(Duration::from_millis(ms.unsigned_abs())),
        Ok(_) => {
            problems.add(path, ConfigProblem::Invalid("must be more than 0".into()));
            None
        }
        Err(_) => {
            problems.add(
                path,
                ConfigProblem::Invalid(format!("{text:?} is not a duration (30s, 5m, 1h)")),
            );
            None
        }
    }
}

/// Wall-clock milliseconds: only for what receivers need as "now" (a webhook's signing
/// timestamp, when a notification was dead-lettered), never for event time.
pub(crate) fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
