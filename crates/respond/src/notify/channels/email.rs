//! `email`: SMTP with STARTTLS (rustls), subject and body from templates, plain text.

use super::BuildContext;
use crate::notify::error::{ConfigProblem, DeliveryError};
use crate::notify::template::{verbatim, Template};
use crate::notify::Notification;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// Port 587 (submission), where STARTTLS is the norm.
const DEFAULT_PORT: u16 = 587;
const DEFAULT_SUBJECT: &str = "[apiwatch] {severity|upper}: {title}";
const DEFAULT_BODY: &str = "{title}\n\n{summary}\n\nSeverity: {severity}\nKind: {kind}\nRule: {rule}\nActors: {actors}\nTags: {tags}\nId: {id}\nIncident: {incident_id}\nTime: {at}\nLink: {link}\n";

pub(crate) struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
    subject: Template,
    body: Template,
}

impl Email {
    pub(crate) fn build(ctx: &mut BuildContext<'_>) -> Option<Email> {
        let raw = ctx.raw;
        let host = ctx.required("email", "host", raw.host.clone());
        let from = ctx.required("email", "from", raw.from.as_ref()).and_then(|f| {
            match f.parse::<Mailbox>() {
                Ok(m) => Some(m),
                Err(e) => {
                    ctx.invalid("from", format!("not a mailbox ({e})"));
                    None
                }
            }
        });
        let mut to = Vec::new();
        match raw.to.as_deref() {
            None | Some([]) => {
                ctx.required::<()>("email", "to", None);
            }
            Some(list) => {
                for (i, address) in list.iter().enumerate() {
                    match address.parse::<Mailbox>() {
                        Ok(m) => to.push(m),
                        Err(e) => ctx.invalid(&format!("to[{i}]"), format!("not a mailbox ({e})")),
                    }
                }
            }
        }
        let subject = ctx.template(
            "subject",
            Some(&raw.subject.clone().unwrap_or_else(|| DEFAULT_SUBJECT.into())),
        );
        let body = ctx.template(
            "template",
            Some(&raw.template.clone().unwrap_or_else(|| DEFAULT_BODY.into())),
        );
        let credentials = match (&raw.username, &raw.password) {
            (Some(u), Some(p)) => Some(Credentials::new(u.clone(), p.expose().to_string())),
            (None, None) => None,
            (Some(_), None) => {
                ctx.invalid("password", "required with a username");
                None
            }
            (None, Some(_)) => {
                ctx.invalid("username", "required with a password");
                None
            }
        };
        let starttls = raw.starttls.as_deref().unwrap_or("required");
        if !matches!(starttls, "required" | "opportunistic" | "none") {
            ctx.invalid("starttls", format!("{starttls:?} is not required, opportunistic or none"));
        }
        if raw.password.is_some() && starttls != "required" {
            // Opportunistic STARTTLS falls back to plain text if the server does not offer it
            // (or an attacker strips the offer): the password would cross the network readable.
            ctx.invalid("starttls", "must be `required` when a password is set");
        }
        let host = host?;
        let mut tls = TlsParameters::builder(host.clone());
        if let Some(ca_file) = &raw.ca_file {
            let pem = match std::fs::read(ca_file) {
                Ok(pem) => pem,
                Err(error) => {
                    let key = ctx.key("ca_file");
                    ctx.problems.add(
                        key,
                        ConfigProblem::File { path: ca_file.display().to_string(), error },
                    );
                    return None;
                }
            };
            match Certificate::from_pem(&pem) {
                // A private CA replaces the public roots: the relay is ours, and no public CA
                // should be able to impersonate it.
                Ok(cert) => {
                    tls = tls.certificate_store(CertificateStore::None).add_root_certificate(cert)
                }
                Err(e) => {
                    ctx.invalid("ca_file", format!("not PEM certificates ({e})"));
                    return None;
                }
            }
        }
        let tls = match tls.build_rustls() {
            Ok(params) => match starttls {
                "required" => Tls::Required(params),
                "opportunistic" => Tls::Opportunistic(params),
                _ => Tls::None,
            },
            Err(e) => {
                ctx.invalid("host", format!("TLS settings for this host ({e})"));
                return None;
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(raw.port.unwrap_or(DEFAULT_PORT))
            .tls(tls)
            // The worker bounds each attempt; lettre's own limit would only be a second clock.
            .timeout(None);
        if let Some(c) = credentials {
            builder = builder.credentials(c);
        }
        Some(Email {
            transport: builder.build(),
            from: from?,
            to,
            subject: subject.ok()??,
            body: body.ok()??,
        })
    }

    pub(crate) async fn deliver(
        &mut self,
        n: &Notification,
        timeout: Duration,
    ) -> Result<(), DeliveryError> {
        // A line break in a subject would start a header of the attacker's choosing.
        let subject: String = self
            .subject
            .render(n, verbatim)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let mut message = Message::builder().from(self.from.clone()).subject(subject);
        for to in &self.to {
            message = message.to(to.clone());
        }
        let message =
            message
                .header(ContentType::TEXT_PLAIN)
                .body(self.body.render(n, verbatim))
                .map_err(|e| DeliveryError::permanent(format!("building the message: {e}")))?;
        match tokio::time::timeout(timeout, self.transport.send(message)).await {
            Err(_) => Err(DeliveryError::retry(format!(
                "no answer from the SMTP server within {timeout:?}"
            ))),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                let mut text = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    text.push_str(": ");
                    text.push_str(&s.to_string());
                    source = s.source();
                }
                // 5xx replies (unknown recipient, message refused) will not change on a retry.
                Err(DeliveryError { retry: !e.is_permanent(), message: text })
            }
        }
    }
}
