//! `apiwatch search`: events from the store by time range and filter, as a table or JSON
//! Lines, or counted by a field's values. Segments outside the range, or whose summary says
//! they hold none of the actors the filter needs, are not read.

use crate::cli::SearchArgs;
use crate::exit;
use anyhow::Context;
use apiwatch_core::field::Field;
use apiwatch_core::EventData;
use apiwatch_detect::query::{KeyNeed, Query};
use std::collections::HashMap;
use std::io::Write;
use std::ops::ControlFlow;

/// Distinct values `--count-by` tallies at most (the rest are counted as `(other)`).
const COUNT_BY_VALUES_MAX: usize = 100_000;

/// A time bound: RFC 3339, epoch milliseconds, or a duration back from now (`2h`, `7d`).
pub fn parse_time(text: &str, now_ms: i64) -> anyhow::Result<i64> {
    if let Ok(ms) = apiwatch_core::time::parse_rfc3339_ms(text) {
        return Ok(ms);
    }
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    match crate::config::units::parse_duration_ms(text) {
        Ok(d) => Ok(now_ms - d),
        Err(_) => anyhow::bail!("`{text}`: expected an RFC 3339 time, epoch milliseconds or a duration back from now (30m, 2h, 7d)"),
    }
}

/// `[from, to]` from optional `since` and `until` bounds (see [`parse_time`]); an error
/// names the bound (`since_name`/`until_name`: how the caller calls them).
pub fn time_range(
    since: Option<&str>,
    until: Option<&str>,
    now_ms: i64,
    names: (&str, &str),
) -> anyhow::Result<(i64, i64)> {
    let from_ms = since.map(|s| parse_time(s, now_ms).context(names.0.to_string())).transpose()?;
    let to_ms = until.map(|s| parse_time(s, now_ms).context(names.1.to_string())).transpose()?;
    Ok((from_ms.unwrap_or(i64::MIN), to_ms.unwrap_or(i64::MAX)))
}

/// A stored record (ECS JSON, as the live service writes it) read back into event data.
pub fn read_stored(record: &[u8]) -> anyhow::Result<EventData> {
    let v = serde_json::from_slice::<serde_json::Value>(record)?;
    Ok(apiwatch_core::ecs::from_ecs_json(&v)?)
}

/// The values of one field counted over events, bounded: past [`COUNT_BY_VALUES_MAX`]
/// distinct values, new ones are counted together as `(other)`.
#[derive(Default)]
pub struct Tally {
    counts: HashMap<String, u64>,
}

impl Tally {
    pub fn add(&mut self, ev: &EventData, field: &Field) {
        let v = ev.get(field).to_text().unwrap_or_else(|| "(absent)".to_string());
        if self.counts.len() < COUNT_BY_VALUES_MAX || self.counts.contains_key(&v) {
            *self.counts.entry(v).or_default() += 1;
        } else {
            *self.counts.entry("(other)".to_string()).or_default() += 1;
        }
    }

    /// The `n` most frequent values, ties by value.
    pub fn top(self, n: usize) -> Vec<(String, u64)> {
        let mut top: Vec<(String, u64)> = self.counts.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(n);
        top
    }
}

/// The query of several filter arguments (ANDed); an error names the argument.
pub fn parse_filters(filters: &[String]) -> anyhow::Result<Query> {
    let mut parts = Vec::new();
    for (i, f) in filters.iter().enumerate() {
        match Query::parse(f) {
            Ok(q) => parts.push(q),
            Err(e) => anyhow::bail!("filter {} of {}:\n{}", i + 1, filters.len(), e.render(f)),
        }
    }
    Ok(Query::and_all(parts))
}

/// Reads the matching events in `[from_ms, to_ms]`, calling `each` until it breaks.
pub fn scan_events(
    reader: &mut apiwatch_store::Reader,
    query: &Query,
    from_ms: i64,
    to_ms: i64,
    mut each: impl FnMut(EventData) -> ControlFlow<()>,
) -> anyhow::Result<apiwatch_store::ScanStats> {
    let bounds = query.time_bounds();
    let (from_ms, to_ms) = (from_ms.max(bounds.from_ms), to_ms.min(bounds.to_ms));
    let need: Option<KeyNeed> = query.required_actor_keys();
    let test = |holds: &dyn Fn(&[u8]) -> bool| {
        need.as_ref().is_none_or(|n| n.may_match(|_, v| holds(v.as_bytes())))
    };
    let mut failed: Option<anyhow::Error> = None;
    let stats =
        reader.scan_filtered(from_ms, to_ms, need.as_ref().map(|_| &test as _), |_, record| {
            match read_stored(record) {
                Ok(ev) if query.matches(&ev) => each(ev),
                Ok(_) => ControlFlow::Continue(()),
                Err(e) => {
                    failed = Some(e.context("a stored event is not readable ECS JSON"));
                    ControlFlow::Break(())
                }
            }
        });
    if let Some(e) = failed {
        return Err(e);
    }
    stats.map_err(|e| anyhow::anyhow!("{e}"))
}

const TABLE_COLUMNS: [(&str, Field); 7] = [
    ("@timestamp", Field::Timestamp),
    ("source.ip", Field::SourceIp),
    ("country", Field::CountryIsoCode),
    ("user.name", Field::UserName),
    ("method", Field::HttpMethod),
    ("url.path", Field::UrlPath),
    ("status", Field::StatusCode),
];

fn cell(ev: &EventData, f: &Field) -> String {
    if *f == Field::Timestamp {
        return apiwatch_core::time::format_rfc3339_ms(ev.timestamp_ms);
    }
    let text = ev.get(f).to_text().unwrap_or_else(|| "-".to_string());
    apiwatch_core::escape::for_terminal(&text).into_owned()
}

pub fn run(args: SearchArgs) -> anyhow::Result<u8> {
    let now = crate::live::now_ms();
    let (from_ms, to_ms) =
        time_range(args.since.as_deref(), args.until.as_deref(), now, ("--since", "--until"))?;
    let query = parse_filters(&args.filters)?;
    let count_by = match &args.count_by {
        Some(name) => Some(
            Field::parse(name)
                .ok_or_else(|| anyhow::anyhow!("--count-by: `{name}` is not a field"))?,
        ),
        None => None,
    };
    let (data_dir, key) =
        crate::live::store_location(args.data_dir.as_deref(), args.config.as_deref())?;
    let mut reader = apiwatch_store::Reader::open(&data_dir, key)
        .map_err(|e| anyhow::anyhow!("event store in {}: {e}", data_dir.display()))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut shown = 0u64;
    let mut tally = Tally::default();
    let mut write_err: Option<std::io::Error> = None;
    let limit = args.limit.unwrap_or(u64::MAX);
    if count_by.is_none() && !args.json {
        let header: Vec<&str> = TABLE_COLUMNS.iter().map(|(n, _)| *n).collect();
        writeln!(out, "{}", header.join("\t"))?;
    }
    let stats = scan_events(&mut reader, &query, from_ms, to_ms, |ev| {
        if let Some(f) = &count_by {
            tally.add(&ev, f);
            return ControlFlow::Continue(());
        }
        let line = if args.json {
            apiwatch_core::ecs::to_ecs_json(&ev).to_string()
        } else {
            TABLE_COLUMNS.iter().map(|(_, f)| cell(&ev, f)).collect::<Vec<_>>().join("\t")
        };
        if let Err(e) = writeln!(out, "{line}") {
            write_err = Some(e);
            return ControlFlow::Break(());
        }
        shown += 1;
        if shown >= limit {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    if let Some(e) = write_err {
        // A closed pipe (`| head`) ends the listing quietly.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
        return Ok(exit::OK);
    }
    if count_by.is_some() {
        for (v, n) in tally.top(args.limit.map_or(20, |l| l as usize)) {
            if args.json {
                writeln!(out, "{}", serde_json::json!({"value": v, "count": n}))?;
            } else {
                writeln!(out, "{n}\t{}", apiwatch_core::escape::for_terminal(&v))?;
            }
        }
    }
    out.flush()?;
    eprintln!(
        "{} segment(s): {} read, {} skipped by time, {} skipped by actor; {} block(s) read",
        stats.segments_total,
        stats.segments_read,
        stats.segments_skipped_by_time,
        stats.segments_skipped_by_key,
        stats.blocks_read
    );
    Ok(exit::OK)
}
