//! Alert summaries: `"{count} failed logins for {user.name} in {window}"`, parsed and checked
//! when the rule loads, filled in when the alert closes.
//!
//! Field placeholders name group_by fields or other fields of the event that opened the alert;
//! request headers and the query string (where secrets live) are refused, and event values
//! are cut to [`FIELD_TEXT_MAX`] characters.

use apiwatch_core::time::format_duration_ms;
use apiwatch_core::Field;

/// The most characters of one event value a summary carries.
pub(crate) const FIELD_TEXT_MAX: usize = 100;

/// A placeholder.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Var {
    Count,
    Window,
    Actor,
    Distinct,
    Total,
    Matching,
    Ratio,
    Value,
    Mean,
    Threshold,
    DistanceKm,
    SpeedKmh,
    FromCountry,
    ToCountry,
    /// A group_by field, by position.
    GroupBy(usize),
    /// Another field, read from the event that opened the alert (index into its captures).
    Event(usize, Field),
}

#[derive(Clone, Debug)]
enum Part {
    Lit(String),
    Var(Var),
}

/// A parsed summary template.
#[derive(Clone, Debug)]
pub(crate) struct Template {
    parts: Vec<Part>,
    /// Fields to capture from the opening event, in `Var::Event` index order.
    pub captures: Vec<Field>,
}

/// Kind-specific numbers a summary may show, fixed when the alert opens.
#[derive(Clone, Debug, Default)]
pub(crate) struct Facts {
    pub distinct: u64,
    pub total: u64,
    pub matching: u64,
    pub value: Option<String>,
    pub mean: f64,
    pub threshold: f64,
    pub distance_km: f64,
    pub speed_kmh: f64,
    pub from_country: Option<String>,
    pub to_country: Option<String>,
}

/// What the renderer reads.
pub(crate) struct RenderInput<'a> {
    pub count: u64,
    pub window_ms: Option<i64>,
    pub actor: &'a [(String, String)],
    pub facts: &'a Facts,
    pub captured: &'a [Option<String>],
}

/// Placeholders a kind offers beyond the common ones.
pub(crate) fn kind_vars(kind: &str) -> &'static [&'static str] {
    match kind {
        "distinct" => &["distinct"],
        "ratio" => &["total", "matching", "ratio"],
        "new_value" => &["value"],
        "velocity" => &["distance_km", "speed_kmh", "from_country", "to_country"],
        "baseline" => &["value", "mean", "threshold"],
        _ => &[],
    }
}

impl Template {
    /// Parses a template. `has_window`: whether `{window}` means something for the rule.
    pub fn parse(
        text: &str,
        kind: &str,
        has_window: bool,
        group_by: &[Field],
    ) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut captures: Vec<Field> = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(i) = rest.find(['{', '}']) {
            lit.push_str(&rest[..i]);
            let c = rest.as_bytes()[i];
            let after = &rest[i + 1..];
            if after.as_bytes().first() == Some(&c) {
                // `{{` and `}}` are literal braces.
                lit.push(c as char);
                rest = &after[1..];
                continue;
            }
            if c == b'}' {
                return Err("unmatched `}` (write `}}` for a literal brace)".into());
            }
            let Some(end) = after.find('}') else {
                return Err("unclosed `{` (write `{{` for a literal brace)".into());
            };
            let name = after[..end].trim();
            let var = match name {
                "count" => Var::Count,
                "actor" => Var::Actor,
                "window" if has_window => Var::Window,
                "window" => return Err(format!("`{{window}}`: a {kind} rule has no window")),
                "distinct" | "total" | "matching" | "ratio" | "value" | "mean" | "threshold"
                | "distance_km" | "speed_kmh" | "from_country" | "to_country" => {
                    if !kind_vars(kind).contains(&name) {
                        return Err(format!("`{{{name}}}` is not available in a {kind} rule"));
                    }
                    match name {
                        "distinct" => Var::Distinct,
                        "total" => Var::Total,
                        "matching" => Var::Matching,
                        "ratio" => Var::Ratio,
                        "value" => Var::Value,
                        "mean" => Var::Mean,
                        "threshold" => Var::Threshold,
                        "distance_km" => Var::DistanceKm,
                        "speed_kmh" => Var::SpeedKmh,
                        "from_country" => Var::FromCountry,
                        _ => Var::ToCountry,
                    }
                }
                field_name => {
                    let Some(field) = Field::parse(field_name) else {
                        let mut known = vec!["count", "actor"];
                        if has_window {
                            known.push("window");
                        }
                        known.extend(kind_vars(kind));
                        return Err(format!(
                            "unknown placeholder `{{{field_name}}}`; use a field name or one of {}",
                            known.iter().map(|k| format!("{{{k}}}")).collect::<Vec<_>>().join(", ")
                        ));
                    };
                    if let Some(i) = group_by.iter().position(|g| *g == field) {
                        Var::GroupBy(i)
                    } else if matches!(field, Field::Header(_) | Field::UrlQuery) {
                        return Err(format!(
                            "`{{{field_name}}}`: request headers and the query string may carry secrets and cannot appear in a summary"
                        ));
                    } else {
                        let idx = match captures.iter().position(|c| *c == field) {
                            Some(i) => i,
                            None => {
                                captures.push(field.clone());
                                captures.len() - 1
                            }
                        };
                        Var::Event(idx, field)
                    }
                }
            };
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(&mut lit)));
            }
            parts.push(Part::Var(var));
            rest = &after[end + 1..];
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template { parts, captures })
    }

    /// The default summary of a kind.
    pub fn default_for(kind: &str, has_window: bool, group_by: &[Field]) -> Template {
        let text = match kind {
            "match" => "{count} matching events from {actor}",
            "threshold" => "{count} matching events from {actor} within {window}",
            "distinct" => "{distinct} distinct values from {actor} within {window}",
            "ratio" => {
                "{matching} of {total} events from {actor} matched ({ratio}) within {window}"
            }
            "sequence" => "the sequence completed for {actor} within {window}",
            "new_value" => "{count} new values for {actor}",
            "velocity" => "{actor} moved {distance_km} km at {speed_kmh} km/h",
            "baseline" => "{value} in {window} for {actor}, usual level {mean}",
            _ => "{count} events from {actor}",
        };
        let text = if kind == "velocity" && has_window {
            "{actor} moved {distance_km} km at {speed_kmh} km/h ({from_country} to {to_country})"
        } else {
            text
        };
        Template::parse(text, kind, has_window, group_by).expect("default templates are valid")
    }

    /// Fills the template in.
    pub fn render(&self, input: &RenderInput<'_>) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let facts = input.facts;
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Var(v) => {
                    let _ = match v {
                        Var::Count => write!(out, "{}", input.count),
                        Var::Window => {
                            write!(out, "{}", format_duration_ms(input.window_ms.unwrap_or(0)))
                        }
                        Var::Actor => {
                            for (i, (k, val)) in input.actor.iter().enumerate() {
                                if i > 0 {
                                    out.push_str(", ");
                                }
                                let _ = write!(out, "{k} {val}");
                            }
                            Ok(())
                        }
                        Var::Distinct => write!(out, "{}", facts.distinct),
                        Var::Total => write!(out, "{}", facts.total),
                        Var::Matching => write!(out, "{}", facts.matching),
                        Var::Ratio => {
                            let r = if facts.total == 0 {
                                0.0
                            } else {
                                facts.matching as f64 * 100.0 / facts.total as f64
                            };
                            write!(out, "{r:.0}%")
                        }
                        Var::Value => write!(out, "{}", facts.value.as_deref().unwrap_or("-")),
                        Var::Mean => write!(out, "{}", round_text(facts.mean)),
                        Var::Threshold => write!(out, "{}", round_text(facts.threshold)),
                        Var::DistanceKm => write!(out, "{:.0}", facts.distance_km),
                        Var::SpeedKmh => {
                            if facts.speed_kmh.is_finite() {
                                write!(out, "{:.0}", facts.speed_kmh)
                            } else {
                                write!(out, "unbounded")
                            }
                        }
                        Var::FromCountry => {
                            write!(out, "{}", facts.from_country.as_deref().unwrap_or("-"))
                        }
                        Var::ToCountry => {
                            write!(out, "{}", facts.to_country.as_deref().unwrap_or("-"))
                        }
                        Var::GroupBy(i) => {
                            write!(out, "{}", input.actor.get(*i).map_or("-", |(_, v)| v.as_str()))
                        }
                        Var::Event(i, _) => write!(
                            out,
                            "{}",
                            input.captured.get(*i).and_then(|c| c.as_deref()).unwrap_or("-")
                        ),
                    };
                }
            }
        }
        out
    }
}

/// A number as a person reads it: integral values without a fraction, others with one digit.
fn round_text(x: f64) -> String {
    if (x - x.round()).abs() < 0.05 {
        format!("{:.0}", x)
    } else {
        format!("{x:.1}")
    }
}

/// An event value cut to [`FIELD_TEXT_MAX`] characters.
pub(crate) fn capture_text(v: apiwatch_core::Value<'_>) -> Option<String> {
    let s = v.to_text()?;
    Some(if s.chars().count() > FIELD_TEXT_MAX {
        let mut t: String = s.chars().take(FIELD_TEXT_MAX).collect();
        t.push('…');
        t
    } else {
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders() {
        let gb = [Field::UserName];
        let t = Template::parse(
            "{count} for {user.name} in {window} on {url.path} {{x}}",
            "threshold",
            true,
            &gb,
        )
        .unwrap();
        let actor = vec![("user.name".to_string(), "alice".to_string())];
        let s = t.render(&RenderInput {
            count: 12,
            window_ms: Some(600_000),
            actor: &actor,
            facts: &Facts::default(),
            captured: &[Some("/login".into())],
        });
        assert_eq!(s, "12 for alice in 10m on /login {x}");
    }

    #[test]
    fn refuses_secrets_and_unknowns() {
        let gb = [Field::SourceIp];
        assert!(
            Template::parse("{http.request.headers.authorization}", "match", false, &gb).is_err()
        );
        assert!(Template::parse("{window}", "match", false, &gb).is_err());
        assert!(Template::parse("{distinct}", "threshold", true, &gb).is_err());
        assert!(Template::parse("{nope}", "threshold", true, &gb).is_err());
        assert!(Template::parse("{count", "threshold", true, &gb).is_err());
    }
}
