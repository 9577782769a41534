//! The dead-letter file: notifications given up on, one JSON line each (channel, error without
//! secrets, attempts, the notification), for a person to read or a script to resend.

use super::notification::Notification;
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;

/// The open file, shared by every channel's worker.
pub(crate) struct DeadLetterFile {
    file: Mutex<File>,
}

#[derive(Serialize)]
struct Line<'a> {
    /// Wall-clock time it was given up on.
    at_ms: i64,
    channel: &'a str,
    error: &'a str,
    attempts: u32,
    notification: &'a Notification,
}

impl DeadLetterFile {
    pub(crate) fn open(path: &Path) -> io::Result<DeadLetterFile> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(DeadLetterFile { file: Mutex::new(file) })
    }

    /// Appends one line. A blocking write from the async worker: a line is a few KiB, written
    /// rarely (only after every retry failed), so a blocking-pool hop is not worth its code.
    pub(crate) fn write(
        &self,
        at_ms: i64,
        channel: &str,
        error: &str,
        attempts: u32,
        n: &Notification,
    ) -> io::Result<()> {
        let mut line =
            serde_json::to_vec(&Line { at_ms, channel, error, attempts, notification: n })?;
        line.push(b'\n');
        // One write_all per line under the lock: lines from different channels never interleave.
        let mut file = self.file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        file.write_all(&line)?;
        file.flush()
    }
}
