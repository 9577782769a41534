//! `ocsf_file`: OCSF 1.1 Detection Findings (class 2004), one JSON line each, appended to a
//! file a SIEM's collector tails.

use super::BuildContext;
use crate::notify::error::{ConfigProblem, DeliveryError};
use crate::notify::{Notification, NotificationKind};
use apiwatch_core::Severity;
use serde_json::{json, Value};
use std::fs::{File, OpenOptions};
use std::io::Write;

pub(crate) struct OcsfFile {
    file: File,
}

impl OcsfFile {
    pub(crate) fn build(ctx: &mut BuildContext<'_>) -> Option<OcsfFile> {
        let path = ctx.required("ocsf_file", "path", ctx.raw.path.clone())?;
        match OpenOptions::new().create(true).append(true).open(&path) {
            Ok(file) => Some(OcsfFile { file }),
            Err(error) => {
                let key = ctx.key("path");
                ctx.problems
                    .add(key, ConfigProblem::File { path: path.display().to_string(), error });
                None
            }
        }
    }

    /// A blocking append from the async worker: one line of a few KiB to a local file, after the
    /// rate limit, is cheaper than a hop to the blocking pool.
    pub(crate) fn deliver(&mut self, n: &Notification) -> Result<(), DeliveryError> {
        let mut line = finding(n).to_string().into_bytes();
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.flush())
            .map_err(|e| DeliveryError::retry(e.to_string()))
    }
}

/// The Detection Finding for a notification.
pub(crate) fn finding(n: &Notification) -> Value {
    let (activity_id, activity, status_id, status) = match n.kind {
        NotificationKind::IncidentUpdated => (2, "Update", 2, "In Progress"),
        NotificationKind::IncidentResolved => (3, "Close", 4, "Resolved"),
        _ => (1, "Create", 1, "New"),
    };
    let (severity_id, severity) = match n.severity {
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    };
    let observables: Vec<Value> = n.actors.iter().map(|a| observable(a)).collect();
    let mut finding = json!({
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": activity_id,
        "activity_name": activity,
        "type_uid": 2004 * 100 + activity_id,
        "type_name": format!("Detection Finding: {activity}"),
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status,
        "time": n.at_ms,
        "message": n.summary,
        "finding_info": {
            "uid": n.id,
            "title": n.title,
            "desc": n.summary,
            "types": [n.rule_or_kind()],
        },
        "metadata": {
            "product": {"name": "apiwatch", "vendor_name": "apiwatch", "version": env!("CARGO_PKG_VERSION")},
            "version": "1.1.0",
        },
        "observables": observables,
        "unmapped": {"kind": n.kind.as_str(), "tags": n.tags, "details": n.details},
    });
    if let Some(incident) = &n.incident_id {
        finding["metadata"]["correlation_uid"] = json!(incident);
    }
    if let Some(link) = &n.link {
        finding["finding_info"]["src_url"] = json!(link);
    }
    finding
}

/// `kind:value` as an OCSF observable: an address is an IP Address (2), a user a User Name (4),
/// anything else (a token pseudonym, a session, a network) Other (99).
fn observable(actor: &str) -> Value {
    let (kind, value) = actor.split_once(':').unwrap_or(("other", actor));
    let (name, type_id, type_name) = match kind {
        "ip" => ("src_endpoint.ip".to_string(), 2, "IP Address"),
        "user" => ("actor.user.name".to_string(), 4, "User Name"),
        other => (format!("actor.{other}"), 99, "Other"),
    };
    json!({"name": name, "type_id": type_id, "type": type_name, "value": value})
}
