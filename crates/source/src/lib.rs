//! Live sources: log files followed across rotation with positions the caller commits, and
//! syslog messages (RFC 5424, RFC 3164 and the variants real senders write) with TCP framing.
//!
//! Invariants:
//! - synchronous std code only: no runtime, no threads, no sockets; the service wires these
//!   pieces to its threads and sockets;
//! - reading never moves the positions a caller persists: [`Positions`] advance only when the
//!   caller says its events are stored, which is what makes a restart lose and repeat nothing;
//! - bounded everything: lines, batches, followed files, remembered positions and syslog frames
//!   have named maxima, and what a limit refused is counted;
//! - bad input is counted or returned as an error, never a panic (syslog parsing and position
//!   decoding are property-tested on arbitrary bytes).
#![forbid(unsafe_code)]

mod error;
pub mod fingerprint;
pub mod follow;
pub mod position;
pub mod syslog;

pub use error::SourceError;
pub use fingerprint::Fingerprint;
pub use follow::{FileBatch, FollowConfig, FollowStats, Follower, Line, ReadFrom};
pub use position::Positions;
