//! The velocity kind: consecutive locations of an actor that imply an impossible speed, or
//! (with `concurrent_window`) two countries within that window.

use super::alerts::{Fire, Outcome};
use crate::keytable::{Key, KeyTable};
use crate::template::Facts;
use apiwatch_core::Event;

/// Mean Earth radius (IUGG).
const EARTH_RADIUS_KM: f64 = 6_371.008_8;

/// Great-circle distance between two (latitude, longitude) points in degrees.
pub(crate) fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1) = (a.0.to_radians(), a.1.to_radians());
    let (la2, lo2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// A country code kept inline (ISO codes are two letters; longer text is cut).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Country {
    bytes: [u8; 7],
    len: u8,
}

impl Country {
    fn new(s: &str) -> Country {
        if let [a, b] = *s.as_bytes() {
            // The usual two letters, set directly (a copy of a run-time length is a library
            // call).
            return Country { bytes: [a, b, 0, 0, 0, 0, 0], len: 2 };
        }
        let mut end = s.len().min(7);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0; 7];
        bytes[..end].copy_from_slice(&s.as_bytes()[..end]);
        Country { bytes, len: end as u8 }
    }
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("")
    }
}

/// Velocity state of one actor: its last location and country, with their times.
#[derive(Default)]
pub(crate) struct VelocityState {
    location: Option<(f32, f32)>,
    location_ms: i64,
    country: Option<Country>,
    country_ms: i64,
}

pub(crate) fn velocity(
    table: &mut KeyTable<VelocityState>,
    key: Key<'_>,
    ev: &Event,
    max_speed_kmh: f64,
    min_distance_km: f64,
    concurrent_window_ms: Option<i64>,
) -> Outcome {
    let t = ev.timestamp_ms;
    let Some(geo) = ev.geo.as_deref() else { return Outcome::None };
    let location = geo.location;
    let country = geo.country_iso_code.as_deref().map(Country::new);
    if location.is_none() && country.is_none() {
        return Outcome::None;
    }
    let (i, _) = table.touch_or_insert(key, t);
    let st = &mut table.slot_mut(i).state;
    let mut fire: Option<Fire> = None;
    let moved = match (location, st.location) {
        (Some(cur), Some(prev)) => (cur.0 as f32, cur.1 as f32) != prev,
        _ => false,
    };
    // Only moves across a border count: within a country GeoIP places one subscriber in
    // cities far apart from one request to the next (mobile carriers' and clouds' egress
    // points), which is not travel. Without countries, distance alone decides.
    let crossed_border = match (country, st.country) {
        (Some(c), Some(p)) => c != p,
        _ => true,
    };
    if let (true, true, Some(cur), Some(prev)) = (moved, crossed_border, location, st.location) {
        let prev = (f64::from(prev.0), f64::from(prev.1));
        let d = haversine_km(prev, cur);
        if d >= min_distance_km && d > 0.0 {
            let dt_ms = (t - st.location_ms).abs();
            let speed = if dt_ms == 0 { f64::INFINITY } else { d / (dt_ms as f64 / 3_600_000.0) };
            if speed > max_speed_kmh {
                fire = Some(Fire {
                    first_seen_ms: st.location_ms.min(t),
                    last_seen_ms: st.location_ms.max(t),
                    facts: Facts {
                        distance_km: d,
                        speed_kmh: speed,
                        from_country: st.country.map(|c| c.as_str().to_string()),
                        to_country: country.map(|c| c.as_str().to_string()),
                        ..Facts::default()
                    },
                    ..Fire::at(t)
                });
            }
        }
    }
    if let (None, Some(window), Some(c), Some(pc)) =
        (&fire, concurrent_window_ms, country, st.country)
    {
        if c != pc && (t - st.country_ms).abs() < window {
            let distance = match (location, st.location) {
                (Some(a), Some(b)) => haversine_km(a, (f64::from(b.0), f64::from(b.1))),
                _ => 0.0,
            };
            let dt_ms = (t - st.country_ms).abs();
            fire = Some(Fire {
                first_seen_ms: st.country_ms.min(t),
                last_seen_ms: st.country_ms.max(t),
                facts: Facts {
                    distance_km: distance,
                    speed_kmh: if dt_ms == 0 {
                        f64::INFINITY
                    } else {
                        distance / (dt_ms as f64 / 3_600_000.0)
                    },
                    from_country: Some(pc.as_str().to_string()),
                    to_country: Some(c.as_str().to_string()),
                    ..Facts::default()
                },
                ..Fire::at(t)
            });
        }
    }
    if let Some(loc) = location {
        if st.location.is_none() || t >= st.location_ms {
            st.location = Some((loc.0 as f32, loc.1 as f32));
            st.location_ms = t;
        }
    }
    if let Some(c) = country {
        if st.country.is_none() || t >= st.country_ms {
            st.country = Some(c);
            st.country_ms = t;
        }
    }
    match fire {
        Some(f) => Outcome::Fire(Box::new(f)),
        None => Outcome::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two-letter codes, set directly, equal the general path's (and other lengths are cut at
    /// a character boundary within seven bytes).
    #[test]
    fn country_codes_kept_inline() {
        for (s, kept) in [
            ("US", "US"),
            ("é", "é"),
            ("", ""),
            ("X", "X"),
            ("GBR", "GBR"),
            ("ABCDEFGHI", "ABCDEFG"),
            ("ABCDEFé", "ABCDEF"),
        ] {
            let c = Country::new(s);
            assert_eq!(c.as_str(), kept);
            assert!(c.bytes[c.len as usize..].iter().all(|&b| b == 0), "{s}");
        }
        assert!(Country::new("US") != Country::new("UK"));
        assert!(Country::new("US") == Country::new(&String::from("US")));
    }

    #[test]
    fn paris_to_new_york() {
        let d = haversine_km((48.8566, 2.3522), (40.7128, -74.0060));
        assert!((d - 5837.0).abs() < 10.0, "{d}");
    }
}
