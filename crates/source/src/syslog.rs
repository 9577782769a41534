//! Syslog.
