//! Traffic by minute of event time, for the dashboard's charts and map: requests, statuses by
//! class, login outcomes, response-time percentiles and requests per country. The processing
//! thread counts each event once, as it is stored; the API reads. Kept in memory for the last
//! day of event time; the minutes counted are saved to the state database as they change and
//! read back at start (`traffic_saved.rs`), so a restart keeps the charts.

use super::minutes::{Minutes, MINUTES_KEPT};
use apiwatch_core::event::{EventData, Outcome};
use apiwatch_core::time::MINUTE_MS;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

/// Countries counted per minute; requests from more are counted under `other`.
pub const COUNTRIES_PER_MINUTE_MAX: usize = 64;
/// Points one query answers at most.
pub const POINTS_MAX: usize = MINUTES_KEPT;
/// Response-time buckets: bucket `i` holds durations under `LATENCY_BASE_US * 2^((i+1)/4)`,
/// a quarter-octave apart (19% wide), from 50 µs up to about 52 s; the last takes the rest.
const LATENCY_BUCKETS: usize = 80;
const LATENCY_BASE_US: f64 = 50.0;

#[derive(Clone)]
struct Minute {
    requests: u64,
    /// 1xx to 5xx; statuses outside 100..=599 are counted in `requests` only.
    by_class: [u64; 5],
    logins_ok: u64,
    logins_failed: u64,
    latency: [u32; LATENCY_BUCKETS],
    /// Requests whose duration is known.
    timed: u64,
    countries: Vec<([u8; 2], u64)>,
    other_countries: u64,
}

impl Default for Minute {
    fn default() -> Self {
        Minute {
            requests: 0,
            by_class: [0; 5],
            logins_ok: 0,
            logins_failed: 0,
            latency: [0; LATENCY_BUCKETS],
            timed: 0,
            countries: Vec::new(),
            other_countries: 0,
        }
    }
}

/// The minutes kept, oldest first.
#[derive(Default)]
pub struct Rollup {
    minutes: Minutes<Minute>,
    /// Events older than the minutes kept when they arrived: stored, not charted.
    too_old: u64,
}

/// One minute as saved in the state database.
#[derive(Serialize, Deserialize)]
struct SavedMinute {
    requests: u64,
    by_class: [u64; 5],
    logins_ok: u64,
    logins_failed: u64,
    latency: Vec<u32>,
    timed: u64,
    countries: Vec<(String, u64)>,
    other_countries: u64,
}

/// A `Rollup` shared by the processing thread and the API.
pub type SharedRollup = Arc<Mutex<Rollup>>;

/// One step of a series.
#[derive(Debug, Serialize, PartialEq)]
pub struct Point {
    /// Start of the step, ms since the epoch.
    pub t_ms: i64,
    pub requests: u64,
    pub status_1xx: u64,
    pub status_2xx: u64,
    pub status_3xx: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
    pub logins_ok: u64,
    pub logins_failed: u64,
    /// Response-time percentiles, ms (a bucket's upper bound: at most 19% high); none
    /// without timed requests.
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
}

/// Requests from one country over a query's period.
#[derive(Debug, Serialize, PartialEq)]
pub struct Country {
    /// ISO 3166 code, or `other` for countries past the per-minute limit.
    pub country: String,
    pub requests: u64,
}

impl Rollup {
    /// Counts one stored event.
    pub fn observe(&mut self, ev: &EventData) {
        let Some(m) = self.minutes.get_mut_noting(ev.timestamp_ms.div_euclid(MINUTE_MS)) else {
            self.too_old += 1;
            return;
        };
        m.requests += 1;
        if let Some(class) =
            ev.status_code.map(|s| usize::from(s / 100)).filter(|c| (1..=5).contains(c))
        {
            m.by_class[class - 1] += 1;
        }
        if ev.event_action.as_deref() == Some("user-login") {
            match ev.event_outcome {
                Some(Outcome::Success) => m.logins_ok += 1,
                Some(Outcome::Failure) => m.logins_failed += 1,
                _ => {}
            }
        }
        if let Some(ns) = ev.duration_ns {
            m.latency[latency_bucket(ns / 1_000)] += 1;
            m.timed += 1;
        }
        let code = ev.geo.as_ref().and_then(|g| g.country_iso_code.as_deref());
        if let Some(&[a, b]) = code.map(str::as_bytes) {
            let code = [a.to_ascii_uppercase(), b.to_ascii_uppercase()];
            if let Some((_, n)) = m.countries.iter_mut().find(|(c, _)| *c == code) {
                *n += 1;
            } else if m.countries.len() < COUNTRIES_PER_MINUTE_MAX {
                m.countries.push((code, 1));
            } else {
                m.other_countries += 1;
            }
        }
    }

    /// The minutes counted into since the last call, kept ones only, as (minute number,
    /// JSON) to save; and the first minute kept (older saved minutes may go).
    pub fn take_changed(&mut self) -> (Vec<(i64, String)>, i64) {
        self.minutes.save_changed(|m| SavedMinute {
            requests: m.requests,
            by_class: m.by_class,
            logins_ok: m.logins_ok,
            logins_failed: m.logins_failed,
            latency: m.latency.to_vec(),
            timed: m.timed,
            countries: m
                .countries
                .iter()
                .map(|(c, n)| (String::from_utf8_lossy(c).into_owned(), *n))
                .collect(),
            other_countries: m.other_countries,
        })
    }

    /// Puts back minutes saved before (oldest first); returns how many could not be read.
    pub fn restore(&mut self, saved: &[(i64, String)]) -> usize {
        self.minutes.restore(saved, |s: SavedMinute| {
            let mut latency = [0u32; LATENCY_BUCKETS];
            for (slot, n) in latency.iter_mut().zip(s.latency) {
                *slot = n;
            }
            let countries = s
                .countries
                .iter()
                .filter_map(|(c, n)| match c.as_bytes() {
                    &[a, b] => Some(([a, b], *n)),
                    _ => None,
                })
                .take(COUNTRIES_PER_MINUTE_MAX)
                .collect();
            Minute {
                requests: s.requests,
                by_class: s.by_class,
                logins_ok: s.logins_ok,
                logins_failed: s.logins_failed,
                latency,
                timed: s.timed,
                countries,
                other_countries: s.other_countries,
            }
        })
    }

    /// Events that came too late to be charted.
    pub fn too_old(&self) -> u64 {
        self.too_old
    }

    /// The minutes in `[since_ms, until_ms)` summed into steps of `step_ms` (rounded to whole
    /// minutes, at least one); steps start at multiples of the step.
    pub fn series(&self, since_ms: i64, until_ms: i64, step_ms: i64) -> Vec<Point> {
        let step = (step_ms / MINUTE_MS).max(1);
        let (first, last) = self.range(since_ms, until_ms);
        let mut points: Vec<Point> = Vec::new();
        let mut minute = first;
        while minute < last && points.len() < POINTS_MAX {
            let start = minute.div_euclid(step) * step;
            let end = (start + step).min(last);
            let mut sum = Minute::default();
            for m in minute..end {
                if let Some(one) = self.minutes.get(m) {
                    add(&mut sum, one);
                }
            }
            points.push(point(start * MINUTE_MS, &sum));
            minute = end;
        }
        points
    }

    /// Requests per country in `[since_ms, until_ms)`, most first.
    pub fn countries(&self, since_ms: i64, until_ms: i64) -> Vec<Country> {
        let (first, last) = self.range(since_ms, until_ms);
        let mut sum = Minute::default();
        for m in first..last {
            if let Some(one) = self.minutes.get(m) {
                add(&mut sum, one);
            }
        }
        let mut out: Vec<Country> = sum
            .countries
            .iter()
            .map(|(c, n)| Country {
                country: String::from_utf8_lossy(c).into_owned(),
                requests: *n,
            })
            .collect();
        if sum.other_countries > 0 {
            out.push(Country { country: "other".into(), requests: sum.other_countries });
        }
        out.sort_by(|a, b| b.requests.cmp(&a.requests).then_with(|| a.country.cmp(&b.country)));
        out
    }

    /// Requests in `[since_ms, until_ms)`, with a country or not.
    pub fn requests(&self, since_ms: i64, until_ms: i64) -> u64 {
        let (first, last) = self.range(since_ms, until_ms);
        (first..last).filter_map(|m| self.minutes.get(m)).map(|m| m.requests).sum()
    }

    /// The minutes kept that `[since_ms, until_ms)` covers, as minute numbers `[first, last)`.
    fn range(&self, since_ms: i64, until_ms: i64) -> (i64, i64) {
        let first = since_ms.div_euclid(MINUTE_MS).max(self.minutes.first_minute());
        let last = until_ms
            .saturating_add(MINUTE_MS - 1)
            .div_euclid(MINUTE_MS)
            .min(self.minutes.end_minute());
        (first, last.max(first))
    }
}

fn add(sum: &mut Minute, one: &Minute) {
    sum.requests += one.requests;
    for (s, o) in sum.by_class.iter_mut().zip(one.by_class) {
        *s += o;
    }
    sum.logins_ok += one.logins_ok;
    sum.logins_failed += one.logins_failed;
    for (s, o) in sum.latency.iter_mut().zip(one.latency) {
        *s = s.saturating_add(o);
    }
    sum.timed += one.timed;
    for (code, n) in &one.countries {
        match sum.countries.iter_mut().find(|(c, _)| c == code) {
            Some((_, total)) => *total += n,
            None => sum.countries.push((*code, *n)),
        }
    }
    sum.other_countries += one.other_countries;
}

fn point(t_ms: i64, m: &Minute) -> Point {
    let [s1, s2, s3, s4, s5] = m.by_class;
    Point {
        t_ms,
        requests: m.requests,
        status_1xx: s1,
        status_2xx: s2,
        status_3xx: s3,
        status_4xx: s4,
        status_5xx: s5,
        logins_ok: m.logins_ok,
        logins_failed: m.logins_failed,
        latency_p50_ms: percentile(m, 0.50),
        latency_p95_ms: percentile(m, 0.95),
        latency_p99_ms: percentile(m, 0.99),
    }
}

fn latency_bucket(us: u64) -> usize {
    if (us as f64) < LATENCY_BASE_US * 2f64.powf(0.25) {
        return 0;
    }
    let i = (4.0 * (us as f64 / LATENCY_BASE_US).log2()).floor() as usize;
    i.min(LATENCY_BUCKETS - 1)
}

/// The upper bound of bucket `i`, in ms.
fn bucket_upper_ms(i: usize) -> f64 {
    LATENCY_BASE_US * 2f64.powf((i + 1) as f64 / 4.0) / 1_000.0
}

fn percentile(m: &Minute, q: f64) -> Option<f64> {
    if m.timed == 0 {
        return None;
    }
    let wanted = ((m.timed as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0u64;
    for (i, n) in m.latency.iter().enumerate() {
        seen += u64::from(*n);
        if seen >= wanted {
            // Three significant decimals are all a bucket 19% wide can say.
            return Some((bucket_upper_ms(i) * 1_000.0).round() / 1_000.0);
        }
    }
    Some(bucket_upper_ms(LATENCY_BUCKETS - 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiwatch_core::event::Geo;

    fn event(ts_ms: i64, status: u16, duration_ms: u64, country: Option<&str>) -> EventData {
        EventData {
            timestamp_ms: ts_ms,
            status_code: Some(status),
            duration_ns: Some(duration_ms * 1_000_000),
            geo: country
                .map(|c| Arc::new(Geo { country_iso_code: Some(c.into()), ..Default::default() })),
            ..Default::default()
        }
    }

    #[test]
    fn minutes_count_statuses_logins_countries_and_percentiles() {
        let mut r = Rollup::default();
        let t0 = 1_000 * MINUTE_MS;
        for i in 0..100 {
            let status = if i < 90 { 200 } else { 503 };
            r.observe(&event(
                t0 + i,
                status,
                1 + i as u64,
                Some(if i % 2 == 0 { "DE" } else { "br" }),
            ));
        }
        let mut login = event(t0 + MINUTE_MS, 401, 5, None);
        login.event_action = Some("user-login".into());
        login.event_outcome = Some(Outcome::Failure);
        r.observe(&login);
        r.observe(&event(t0 + MINUTE_MS, 999, 5, None));

        let points = r.series(t0, t0 + 2 * MINUTE_MS, MINUTE_MS);
        assert_eq!(points.len(), 2);
        let p = &points[0];
        assert_eq!((p.t_ms, p.requests, p.status_2xx, p.status_5xx), (t0, 100, 90, 10));
        // Durations 1..=100 ms: the percentile is its bucket's upper bound, at most 19% high.
        for (got, want) in
            [(p.latency_p50_ms, 50.0), (p.latency_p95_ms, 95.0), (p.latency_p99_ms, 99.0)]
        {
            let got = got.unwrap();
            assert!(got >= want && got <= want * 1.19, "{got} for {want}");
        }
        let q = &points[1];
        assert_eq!((q.requests, q.status_4xx, q.logins_failed, q.logins_ok), (2, 1, 1, 0));

        let both = r.series(t0, t0 + 2 * MINUTE_MS, 2 * MINUTE_MS);
        assert_eq!(both.len(), 1);
        assert_eq!(both[0].requests, 102);
        assert_eq!(
            r.countries(t0, t0 + MINUTE_MS),
            [
                Country { country: "BR".into(), requests: 50 },
                Country { country: "DE".into(), requests: 50 }
            ]
        );
        assert!(r.series(t0 + 10 * MINUTE_MS, t0 + 20 * MINUTE_MS, MINUTE_MS).is_empty());
        assert_eq!(
            (r.requests(t0, t0 + MINUTE_MS), r.requests(t0, t0 + 2 * MINUTE_MS)),
            (100, 102)
        );
    }

    #[test]
    fn only_the_last_day_is_kept_and_late_events_are_counted() {
        let mut r = Rollup::default();
        let t0 = 5_000 * MINUTE_MS;
        r.observe(&event(t0, 200, 1, None));
        r.observe(&event(t0 + MINUTES_KEPT as i64 * MINUTE_MS, 200, 1, None));
        assert_eq!(
            (r.minutes.first_minute(), r.minutes.end_minute()),
            (5_001, 5_001 + MINUTES_KEPT as i64)
        );
        r.observe(&event(t0, 200, 1, None));
        assert_eq!(r.too_old(), 1);
        // A jump past twice the window starts afresh instead of filling empty minutes.
        r.observe(&event(t0 + 10 * MINUTES_KEPT as i64 * MINUTE_MS, 200, 1, None));
        assert_eq!(r.minutes.end_minute() - r.minutes.first_minute(), 1);
    }

    #[test]
    fn countries_past_the_limit_are_other() {
        let mut r = Rollup::default();
        for i in 0..COUNTRIES_PER_MINUTE_MAX + 3 {
            let code =
                format!("{}{}", (b'A' + (i / 26) as u8) as char, (b'A' + (i % 26) as u8) as char);
            r.observe(&event(0, 200, 1, Some(&code)));
        }
        let c = r.countries(0, MINUTE_MS);
        assert_eq!(c.len(), COUNTRIES_PER_MINUTE_MAX + 1);
        assert_eq!(c.iter().find(|c| c.country == "other").unwrap().requests, 3);
    }

    #[test]
    fn latency_buckets_are_a_quarter_octave_apart() {
        assert_eq!(latency_bucket(0), 0);
        assert_eq!(latency_bucket(u64::MAX), LATENCY_BUCKETS - 1);
        for us in [60u64, 100, 1_000, 12_345, 1_000_000, 30_000_000] {
            let i = latency_bucket(us);
            assert!(bucket_upper_ms(i) * 1_000.0 > us as f64, "{us} µs in bucket {i}");
            assert!(i == 0 || bucket_upper_ms(i - 1) * 1_000.0 <= us as f64 + 1e-6, "{us}");
        }
    }

    #[test]
    fn saved_minutes_restore_the_same_series() {
        let mut r = Rollup::default();
        let t0 = 2_000 * MINUTE_MS;
        for i in 0..50 {
            r.observe(&event(t0 + i * 2_000, 200 + (i % 3) as u16 * 100, 1 + i as u64, Some("SE")));
        }
        let (saved, keep_from) = r.take_changed();
        assert_eq!((saved.len(), keep_from), (2, 2_000));
        assert!(r.take_changed().0.is_empty(), "taken once");
        // A late event changes a saved minute again.
        r.observe(&event(t0, 404, 5, None));
        assert_eq!(r.take_changed().0.iter().map(|(m, _)| *m).collect::<Vec<_>>(), [2_000]);
        let (again, _) = {
            let mut all = Rollup::default();
            all.restore(&saved);
            all.observe(&event(t0, 404, 5, None));
            let series = all.series(t0, t0 + 2 * MINUTE_MS, MINUTE_MS);
            assert_eq!(series, r.series(t0, t0 + 2 * MINUTE_MS, MINUTE_MS));
            assert_eq!(all.countries(t0, t0 + 2 * MINUTE_MS), r.countries(t0, t0 + 2 * MINUTE_MS));
            all.take_changed()
        };
        assert!(!again.is_empty());
        let mut bad = Rollup::default();
        assert_eq!(bad.restore(&[(1, "not json".into())]), 1);
    }
}
