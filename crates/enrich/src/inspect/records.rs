//! Records returned by a JSON response: the length of its top-level array, or of the first
//! configured array found in its top-level object, counted in one pass without building the
//! document. A cut body gives the complete elements seen, flagged as a lower bound.

use super::config::RecordsConfig;
use super::error::Problems;
use super::field::FieldPath;
use super::json::{self, Members, Scalar, Scan, Stop};
use super::route::RoutePattern;
use super::RecordCount;

/// Places tried per response (route ones and defaults together): which are still open is
/// kept in a 64-bit mask.
pub(super) const RECORD_PLACES_MAX: usize = 32;
/// Per-route record rules allowed.
pub(super) const RECORD_ROUTES_MAX: usize = 256;

/// Where records may be: an array, or an integer field counting them.
#[derive(Clone, Debug)]
struct Place {
    path: FieldPath,
    count_field: bool,
}

/// A validated records configuration.
#[derive(Debug)]
pub(super) struct RecordRules {
    /// Defaults: arrays, then count fields.
    defaults: Vec<Place>,
    /// Per route: its places, then the defaults.
    routes: Vec<(RoutePattern, Vec<Place>)>,
}

impl RecordRules {
    /// Validates `cfg`, reporting problems under `records.`.
    pub(super) fn build(cfg: &RecordsConfig, problems: &mut Problems) -> RecordRules {
        let mut defaults = Vec::new();
        for (n, text) in cfg.array_paths.iter().enumerate() {
            let at = format!("records.array_paths[{n}]");
            if let Some(path) = FieldPath::parse(text, &at, problems) {
                defaults.push(Place { path, count_field: false });
            }
        }
        for (n, text) in cfg.count_fields.iter().enumerate() {
            let at = format!("records.count_fields[{n}]");
            if let Some(path) = FieldPath::parse(text, &at, problems) {
                defaults.push(Place { path, count_field: true });
            }
        }
        if cfg.routes.len() > RECORD_ROUTES_MAX {
            problems.push("records.routes", format!("more than {RECORD_ROUTES_MAX} routes"));
        }
        let mut routes = Vec::new();
        for (n, r) in cfg.routes.iter().enumerate() {
            let at = format!("records.routes[{n}]");
            let pattern = RoutePattern::compile(&r.method, &r.path, &at, problems);
            let mut places = Vec::new();
            if let Some(text) = &r.array_path {
                let path = FieldPath::parse(text, &format!("{at}.array_path"), problems);
                places.extend(path.map(|path| Place { path, count_field: false }));
            }
            if let Some(text) = &r.count_field {
                let path = FieldPath::parse(text, &format!("{at}.count_field"), problems);
                places.extend(path.map(|path| Place { path, count_field: true }));
            }
            if r.array_path.is_none() && r.count_field.is_none() {
                problems.push(at.clone(), "needs `array_path` or `count_field`");
            }
            places.extend(defaults.iter().cloned());
            if places.len() > RECORD_PLACES_MAX {
                problems
                    .push(at, format!("more than {RECORD_PLACES_MAX} places with the defaults"));
            }
            routes.extend(pattern.map(|p| (p, places)));
        }
        if defaults.len() > RECORD_PLACES_MAX {
            problems.push(
                "records",
                format!("more than {RECORD_PLACES_MAX} array paths and count fields"),
            );
        }
        RecordRules { defaults, routes }
    }

    /// The records in a JSON response body to a request with this method and path.
    pub(super) fn count(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        truncated: bool,
    ) -> Option<RecordCount> {
        match json::first_byte(body)? {
            b'[' => {
                let seen = json::count_elements(body, 0).ok()??;
                finish(seen, truncated)
            }
            b'{' => {
                let places = self
                    .routes
                    .iter()
                    .find(|(r, _)| r.matches(method, path))
                    .map_or(&self.defaults, |(_, places)| places);
                let mut found: Vec<Option<RecordCount>> = vec![None; places.len()];
                let open = (0..places.len()).fold(0u64, |m, n| m | 1 << n);
                let members = Members::open(body, 0).ok()??;
                // A body cut or broken after a place was counted still gives that count.
                let _ = walk(places, body, members, 0, open, truncated, &mut found);
                found.into_iter().flatten().next()
            }
            _ => None,
        }
    }
}

fn finish(seen: json::ElementCount, truncated: bool) -> Option<RecordCount> {
    // An array the body ends inside is a lower bound only if the gateway cut the body;
    // otherwise the body is broken and its count means nothing.
    (seen.closed || truncated)
        .then_some(RecordCount { count: seen.count, lower_bound: !seen.closed })
}

/// Walks one object, counting at each place whose names match the keys so far. Stops once the
/// first place is counted, since nothing after it can win.
fn walk(
    places: &[Place],
    buf: &[u8],
    mut members: Members<'_>,
    depth: usize,
    open: u64,
    truncated: bool,
    found: &mut [Option<RecordCount>],
) -> Scan<usize> {
    while let Some((key, value)) = members.next_key()? {
        let mut here = None;
        let mut deeper = 0u64;
        for (n, place) in places.iter().enumerate() {
            let bit = 1u64 << n;
            if open & bit == 0 || found[n].is_some() || place.path.segments[depth] != key {
                continue;
            }
            if depth + 1 == place.path.segments.len() {
                here.get_or_insert(n);
            } else {
                deeper |= bit;
            }
        }
        // A place that is not an array here may still lead to a deeper one of the same name.
        let here = here.filter(|&n| places[n].count_field || buf[value] == b'[');
        if let Some(n) = here {
            let place = &places[n];
            if place.count_field {
                let (scalar, end) = json::read_scalar(buf, value)?;
                members.consumed(end);
                if let Some(Scalar::Bare(text)) = scalar {
                    if let Ok(count) = text.parse::<u64>() {
                        found[n] = Some(RecordCount { count, lower_bound: false });
                    }
                }
            } else if let Some(seen) = json::count_elements(buf, value)? {
                found[n] = finish(seen, truncated);
                if !seen.closed {
                    return Err(Stop::End);
                }
                members.consumed(seen.end);
            }
            if found.first().is_some_and(Option::is_some) {
                return Ok(buf.len());
            }
        } else if deeper != 0 {
            if let Some(inner) = Members::open(buf, value)? {
                let end = walk(places, buf, inner, depth + 1, deeper, truncated, found)?;
                members.consumed(end);
                if found.first().is_some_and(Option::is_some) {
                    return Ok(buf.len());
                }
            }
        }
    }
    Ok(members.end())
}
