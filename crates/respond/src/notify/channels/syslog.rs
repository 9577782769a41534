//! `syslog`: RFC 5424 messages carrying CEF, over UDP (one datagram each) or TCP (octet-counted
//! framing, RFC 6587 §3.4.1, so a message may hold any byte).

use super::{cef, truncate_chars, BuildContext};
use crate::notify::error::DeliveryError;
use crate::notify::Notification;
use apiwatch_core::time::format_rfc3339_ms;
use apiwatch_core::Severity;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};

/// Longer UDP messages are cut: rsyslog's default `maxMessageSize` is 8 KiB, and a datagram
/// past the path's MTU is fragmented, which many networks drop.
const UDP_MESSAGE_BYTES_MAX: usize = 8 * 1024;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Protocol {
    Udp,
    Tcp,
}

pub(crate) struct Syslog {
    /// `host:port`.
    target: String,
    protocol: Protocol,
    facility: u8,
    hostname: String,
    /// Kept open between messages; dropped on an error and opened again on the next try.
    tcp: Option<TcpStream>,
}

impl Syslog {
    pub(crate) fn build(ctx: &mut BuildContext<'_>) -> Option<Syslog> {
        let host = ctx.required("syslog", "host", ctx.raw.host.clone());
        let port = ctx.required("syslog", "port", ctx.raw.port);
        let protocol = match ctx.raw.protocol.as_deref() {
            None | Some("udp") => Some(Protocol::Udp),
            Some("tcp") => Some(Protocol::Tcp),
            Some(other) => {
                ctx.invalid("protocol", format!("{other:?} is not udp or tcp"));
                None
            }
        };
        let facility = match facility_code(ctx.raw.facility.as_deref().unwrap_or("local0")) {
            Some(f) => Some(f),
            None => {
                ctx.invalid("facility", "not one of user, daemon, auth, authpriv, local0 … local7");
                None
            }
        };
        let hostname = match &ctx.raw.hostname {
            Some(h) => h.clone(),
            None => std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_default(),
        };
        let (host, port) = (host?, port?);
        // An IPv6 literal needs brackets in host:port.
        let target =
            if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        Some(Syslog {
            target,
            protocol: protocol?,
            facility: facility?,
            hostname: header_field(&hostname, 255),
            tcp: None,
        })
    }

    pub(crate) async fn deliver(
        &mut self,
        n: &Notification,
        timeout: Duration,
    ) -> Result<(), DeliveryError> {
        let message = rfc5424(n, self.facility, &self.hostname, std::process::id());
        match tokio::time::timeout(timeout, self.send(message)).await {
            Ok(result) => result,
            Err(_) => {
                self.tcp = None;
                Err(DeliveryError::retry(format!(
                    "no answer from {} within {timeout:?}",
                    self.target
                )))
            }
        }
    }

    async fn send(&mut self, mut message: String) -> Result<(), DeliveryError> {
        let io_error = |e: std::io::Error| DeliveryError::retry(e.to_string());
        match self.protocol {
            Protocol::Udp => {
                if message.len() > UDP_MESSAGE_BYTES_MAX {
                    let mut cut = UDP_MESSAGE_BYTES_MAX;
                    while !message.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    message.truncate(cut);
                }
                let address = tokio::net::lookup_host(&self.target)
                    .await
                    .map_err(io_error)?
                    .next()
                    .ok_or_else(|| {
                        DeliveryError::retry(format!("{} resolves to no address", self.target))
                    })?;
                let local = if address.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
                let socket = UdpSocket::bind(local).await.map_err(io_error)?;
                socket.send_to(message.as_bytes(), address).await.map_err(io_error)?;
                Ok(())
            }
            Protocol::Tcp => {
                let mut stream = match self.tcp.take() {
                    Some(s) => s,
                    None => TcpStream::connect(&self.target).await.map_err(io_error)?,
                };
                let frame = format!("{} {message}", message.len());
                stream.write_all(frame.as_bytes()).await.map_err(io_error)?;
                self.tcp = Some(stream);
                Ok(())
            }
        }
    }
}

fn facility_code(name: &str) -> Option<u8> {
    Some(match name {
        "user" => 1,
        "daemon" => 3,
        "auth" => 4,
        "authpriv" => 10,
        _ => {
            let n: u8 = name.strip_prefix("local")?.parse().ok()?;
            if n > 7 {
                return None;
            }
            16 + n
        }
    })
}

fn syslog_severity(s: Severity) -> u8 {
    match s {
        Severity::Critical => 2,
        Severity::High => 3,
        Severity::Medium => 4,
        Severity::Low => 5,
    }
}

/// An RFC 5424 header field: printable US-ASCII without spaces, at most `max` characters, `-`
/// when empty.
fn header_field(s: &str, max: usize) -> String {
    let cleaned: String = s.chars().filter(|c| c.is_ascii_graphic()).collect();
    if cleaned.is_empty() {
        "-".into()
    } else {
        truncate_chars(&cleaned, max).trim_end_matches('…').to_string()
    }
}

/// `<PRI>1 TIMESTAMP HOSTNAME apiwatch PROCID MSGID - CEF:…`; the timestamp is the event's.
pub(crate) fn rfc5424(n: &Notification, facility: u8, hostname: &str, pid: u32) -> String {
    let pri = u16::from(facility) * 8 + u16::from(syslog_severity(n.severity));
    format!(
        "<{pri}>1 {} {hostname} apiwatch {pid} {} - {}",
        format_rfc3339_ms(n.at_ms),
        header_field(n.kind.as_str(), 32),
        cef::format(n)
    )
}
