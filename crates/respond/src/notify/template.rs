//! Message templates: `{field}` and `{field|filter}` placeholders in literal text.
//!
//! A substitution this small is enough for what channels need (a subject, a chat line, an SMS
//! body, a JSON or form body for a provider's API), adds no dependency, and fails at validation
//! for an unknown field or filter. A general engine (loops, conditions) would make templates a
//! program to debug at 3 a.m., for no message this needs.
//!
//! Syntax: `{` followed by a field name starts a placeholder; any other `{` is literal, so a
//! JSON body is written as it is (`{"body": {title|json}}`); `{{` writes a literal `{` before a
//! name. Fields: `kind`, `severity`, `rule`, `tags`, `title`, `summary`, `actors`, `id`,
//! `incident_id`, `at` (RFC 3339), `at_ms`, `link`, `details.<key>`. Filters: `json` (a quoted
//! JSON string), `url` (form/URL encoding), `upper`.

use super::notification::Notification;
use apiwatch_core::time::format_rfc3339_ms;
use std::fmt::Write;
use thiserror::Error;

/// A parsed template.
#[derive(Clone, Debug)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

#[derive(Clone, Debug)]
enum Part {
    Literal(String),
    Field { field: Field, filter: Filter },
}

#[derive(Clone, Debug, PartialEq)]
enum Field {
    Kind,
    Severity,
    Rule,
    Tags,
    Title,
    Summary,
    Actors,
    Id,
    IncidentId,
    At,
    AtMs,
    Link,
    Detail(String),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Filter {
    None,
    Json,
    Url,
    Upper,
}

/// Why a template does not parse, at a byte offset.
#[derive(Debug, Error, PartialEq)]
#[error("at byte {offset}: {message}")]
pub struct TemplateError {
    pub offset: usize,
    pub message: String,
}

impl Template {
    pub(crate) fn parse(text: &str) -> Result<Template, TemplateError> {
        let bytes = text.as_bytes();
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut i = 0;
        while i < bytes.len() {
            let starts_name =
                |j: usize| bytes.get(j).is_some_and(|b| b.is_ascii_lowercase() || *b == b'_');
            if bytes[i] == b'{' && bytes.get(i + 1) == Some(&b'{') && starts_name(i + 2) {
                literal.push('{');
                i += 2;
                continue;
            }
            if bytes[i] == b'{' && starts_name(i + 1) {
                let close = text[i..].find('}').map(|c| i + c).ok_or_else(|| TemplateError {
                    offset: i,
                    message: "placeholder not closed with `}`".into(),
                })?;
                let inner = &text[i + 1..close];
                let (name, filter) = match inner.split_once('|') {
                    Some((n, f)) => (n.trim(), Some(f.trim())),
                    None => (inner.trim(), None),
                };
                let field = parse_field(name).ok_or_else(|| TemplateError {
                    offset: i,
                    message: format!("unknown field {name:?}"),
                })?;
                let filter = match filter {
                    None => Filter::None,
                    Some("json") => Filter::Json,
                    Some("url") => Filter::Url,
                    Some("upper") => Filter::Upper,
                    Some(f) => {
                        return Err(TemplateError {
                            offset: i,
                            message: format!("unknown filter {f:?} (json, url, upper)"),
                        })
                    }
                };
                if !literal.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                parts.push(Part::Field { field, filter });
                i = close + 1;
                continue;
            }
            // Copy up to the next `{` (a char boundary, as `{` is ASCII).
            let next = text[i + 1..].find('{').map_or(bytes.len(), |n| i + 1 + n);
            literal.push_str(&text[i..next]);
            i = next;
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template { parts })
    }

    /// Renders with `escape` applied to each substituted value (Slack's `&<>`), before its
    /// filter; literal text is the operator's and is left as written.
    pub(crate) fn render(&self, n: &Notification, escape: fn(&str) -> String) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Field { field, filter } => {
                    let value = escape(&field_text(field, n));
                    match filter {
                        Filter::None => out.push_str(&value),
                        Filter::Upper => out.push_str(&value.to_uppercase()),
                        Filter::Json => out.push_str(&serde_json::Value::String(value).to_string()),
                        Filter::Url => url_encode(&value, &mut out),
                    }
                }
            }
        }
        out
    }
}

/// No escaping: for plain text and for bodies whose template filters do it.
pub(crate) fn verbatim(s: &str) -> String {
    s.to_string()
}

fn parse_field(name: &str) -> Option<Field> {
    Some(match name {
        "kind" => Field::Kind,
        "severity" => Field::Severity,
        "rule" => Field::Rule,
        "tags" => Field::Tags,
        "title" => Field::Title,
        "summary" => Field::Summary,
        "actors" => Field::Actors,
        "id" => Field::Id,
        "incident_id" => Field::IncidentId,
        "at" => Field::At,
        "at_ms" => Field::AtMs,
        "link" => Field::Link,
        _ => {
            let key = name.strip_prefix("details.")?;
            if key.is_empty() {
                return None;
            }
            Field::Detail(key.to_string())
        }
    })
}

fn field_text(field: &Field, n: &Notification) -> String {
    match field {
        Field::Kind => n.kind.as_str().to_string(),
        Field::Severity => n.severity.as_str().to_string(),
        Field::Rule => n.rule.clone().unwrap_or_default(),
        Field::Tags => n.tags.join(", "),
        Field::Title => n.title.clone(),
        Field::Summary => n.summary.clone(),
        Field::Actors => n.actors.join(", "),
        Field::Id => n.id.clone(),
        Field::IncidentId => n.incident_id.clone().unwrap_or_default(),
        Field::At => format_rfc3339_ms(n.at_ms),
        Field::AtMs => n.at_ms.to_string(),
        Field::Link => n.link.clone().unwrap_or_default(),
        Field::Detail(key) => match n.details.get(key) {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        },
    }
}

/// `application/x-www-form-urlencoded` encoding of one value (space as `%20`, which forms and
/// URLs both accept).
fn url_encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::NotificationKind;
    use apiwatch_core::Severity;

    fn note() -> Notification {
        Notification {
            kind: NotificationKind::Alert,
            severity: Severity::High,
            rule: Some("auth-password-guessing-user".into()),
            tags: vec!["auth".into(), "owasp".into()],
            title: "Password guessing on \"alice\"".into(),
            summary: "42 failed logins & counting".into(),
            actors: vec!["user:alice".into(), "ip:198.51.100.7".into()],
            id: "a-1".into(),
            incident_id: None,
            at_ms: 0,
            link: None,
            details: serde_json::json!({"count": 42, "route": "/login"}),
        }
    }

    #[test]
    fn substitutes_fields_and_filters() {
        let t =
            Template::parse("[{severity|upper}] {title} ({details.count}, {details.route}) {at}")
                .unwrap();
        assert_eq!(
            t.render(&note(), verbatim),
            "[HIGH] Password guessing on \"alice\" (42, /login) 1970-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn json_bodies_are_written_as_they_are() {
        let t = Template::parse(r#"{"text": {title|json}, "n": {details.count}}"#).unwrap();
        let v: serde_json::Value = serde_json::from_str(&t.render(&note(), verbatim)).unwrap();
        assert_eq!(v["text"], "Password guessing on \"alice\"");
        assert_eq!(v["n"], 42);
    }

    #[test]
    fn url_filter_encodes_a_form_value() {
        let t = Template::parse("To=%2B15550100&Body={summary|url}").unwrap();
        assert_eq!(
            t.render(&note(), verbatim),
            "To=%2B15550100&Body=42%20failed%20logins%20%26%20counting"
        );
    }

    #[test]
    fn double_brace_is_a_literal_brace() {
        let t = Template::parse("{{id} is {id}").unwrap();
        assert_eq!(t.render(&note(), verbatim), "{id} is a-1");
    }

    #[test]
    fn errors_name_the_place() {
        assert_eq!(Template::parse("x {nope}").unwrap_err().offset, 2);
        assert!(Template::parse("{title|shout}").unwrap_err().message.contains("unknown filter"));
        assert!(Template::parse("{title").unwrap_err().message.contains("not closed"));
        assert!(Template::parse("{details.}").is_err());
    }
}
