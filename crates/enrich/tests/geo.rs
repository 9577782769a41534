//! GeoIP and ASN lookups against MaxMind's test databases, checked against the JSON records
//! the databases were written from.

mod common;

use apiwatch_core::{EventData, Geo};
use apiwatch_enrich::{EnrichConfig, EnrichError};
use common::{data, worker};
use ipnet::IpNet;
use serde_json::Value;
use std::net::IpAddr;

fn city_and_asn(city: &str) -> EnrichConfig {
    EnrichConfig {
        geoip_city: Some(data(city)),
        geoip_asn: Some(data("GeoLite2-ASN-Test.mmdb")),
        ..EnrichConfig::default()
    }
}

fn lookup(w: &mut apiwatch_enrich::EnrichWorker, ip: &str) -> Option<Geo> {
    let mut ev = EventData { source_ip: Some(ip.parse().unwrap()), ..EventData::default() };
    w.enrich(&mut ev);
    ev.geo.map(|g| (*g).clone())
}

/// The ground truth: (network, record) pairs of a `source-data` JSON file.
fn records(file: &str) -> Vec<(IpNet, Value)> {
    let text = std::fs::read_to_string(data(file)).unwrap();
    let list: Vec<serde_json::Map<String, Value>> = serde_json::from_str(&text).unwrap();
    list.into_iter()
        .flat_map(|m| m.into_iter())
        .map(|(net, rec)| (net.parse::<IpNet>().unwrap(), rec))
        .collect()
}

/// The most specific network of the ground truth that holds `ip` (the writer lets a more
/// specific network override a wider one).
fn truth_for(records: &[(IpNet, Value)], ip: IpAddr) -> Option<&Value> {
    records
        .iter()
        .filter(|(net, _)| net.contains(&ip))
        .max_by_key(|(net, _)| net.prefix_len())
        .map(|(_, rec)| rec)
}

fn expected(city: Option<&Value>, asn: Option<&Value>) -> Option<Geo> {
    let s = |v: Option<&Value>, path: &str| {
        v.and_then(|v| v.pointer(path)).and_then(Value::as_str).map(String::from)
    };
    let f = |v: Option<&Value>, path: &str| v.and_then(|v| v.pointer(path)).and_then(Value::as_f64);
    let geo = Geo {
        country_iso_code: s(city, "/country/iso_code"),
        city_name: s(city, "/city/names/en"),
        location: f(city, "/location/latitude").zip(f(city, "/location/longitude")),
        as_number: asn
            .and_then(|v| v.get("autonomous_system_number"))
            .and_then(Value::as_u64)
            .map(|n| n as u32),
        as_organization: s(asn, "/autonomous_system_organization"),
    };
    (geo != Geo::default()).then_some(geo)
}

/// Looks up the first and the last address of every network in the ground truth of a City
/// database (with the ASN database alongside) and compares all five fields.
fn check_against_ground_truth(city_db: &str, city_json: &str) -> usize {
    let city = records(city_json);
    let asn = records("GeoLite2-ASN-Test.json");
    let mut w = worker(&city_and_asn(city_db));
    let mut checked = 0;
    for (net, _) in &city {
        for ip in [net.network(), net.broadcast()] {
            // IPv4 networks written as IPv6 (`::1.2.3.0/120`) share the database's IPv4 subtree;
            // the ground truth cannot say which record wins there, so skip them.
            if let IpAddr::V6(v6) = ip {
                if v6.segments()[..6] == [0; 6] {
                    continue;
                }
            }
            let want = expected(truth_for(&city, ip), truth_for(&asn, ip));
            assert_eq!(lookup(&mut w, &ip.to_string()), want, "{city_db}: {ip} (in {net})");
            checked += 1;
        }
    }
    checked
}

#[test]
fn geolite2_city_matches_its_source_data() {
    let n = check_against_ground_truth("GeoLite2-City-Test.mmdb", "GeoLite2-City-Test.json");
    assert!(n > 400, "only {n} addresses checked");
}

#[test]
fn geoip2_city_matches_its_source_data() {
    let n = check_against_ground_truth("GeoIP2-City-Test.mmdb", "GeoIP2-City-Test.json");
    assert!(n > 400, "only {n} addresses checked");
}

#[test]
fn known_addresses_ipv4_and_ipv6() {
    let mut w = worker(&city_and_asn("GeoLite2-City-Test.mmdb"));
    let london = lookup(&mut w, "81.2.69.142").unwrap();
    assert_eq!(london.country_iso_code.as_deref(), Some("GB"));
    assert_eq!(london.city_name.as_deref(), Some("London"));
    assert_eq!(london.location, Some((51.5142, -0.0931)));

    let linkoping = lookup(&mut w, "89.160.20.130").unwrap();
    assert_eq!(linkoping.city_name.as_deref(), Some("Linköping"));
    assert_eq!(linkoping.as_number, Some(29518));
    assert_eq!(linkoping.as_organization.as_deref(), Some("Bredband2 AB"));

    let tokyo = lookup(&mut w, "2001:218::1").unwrap();
    assert_eq!(tokyo.country_iso_code.as_deref(), Some("JP"));
    assert_eq!(tokyo.city_name, None);
    assert_eq!(tokyo.location, Some((35.68536, 139.75309)));

    // An IPv4-mapped IPv6 address is the IPv4 address.
    assert_eq!(lookup(&mut w, "::ffff:81.2.69.142").unwrap(), london);
}

#[test]
fn address_not_in_the_databases_has_no_geo() {
    let mut w = worker(&city_and_asn("GeoLite2-City-Test.mmdb"));
    assert_eq!(lookup(&mut w, "192.0.2.1"), None);
    assert_eq!(lookup(&mut w, "10.1.2.3"), None);
    assert_eq!(lookup(&mut w, "2001:db8::1"), None);
    let s = w.stats();
    assert_eq!(s.geo_not_found, 3);
    assert_eq!(s.geo_lookups_failed, 0);
}

#[test]
fn asn_only_configuration_gives_network_without_location() {
    let cfg =
        EnrichConfig { geoip_asn: Some(data("GeoLite2-ASN-Test.mmdb")), ..EnrichConfig::default() };
    let mut w = worker(&cfg);
    let g = lookup(&mut w, "1.0.0.1").unwrap();
    assert_eq!((g.as_number, g.as_organization.as_deref()), (Some(15169), Some("Google Inc.")));
    assert_eq!((g.country_iso_code, g.location), (None, None));
}

#[test]
fn repeated_addresses_are_served_from_the_cache_and_a_full_cache_is_cleared() {
    let mut cfg = city_and_asn("GeoLite2-City-Test.mmdb");
    cfg.limits.geo_cache_entries_max = 4;
    let mut w = worker(&cfg);
    for _ in 0..3 {
        assert!(lookup(&mut w, "81.2.69.142").is_some());
    }
    let s = w.stats().geo_cache;
    assert_eq!((s.hits, s.misses, s.evictions), (2, 1, 0));
    for i in 0..10 {
        lookup(&mut w, &format!("192.0.2.{i}"));
    }
    let s = w.stats().geo_cache;
    assert!(s.entries <= 4, "{s:?}");
    assert!(s.clears >= 2 && s.evictions >= 8, "{s:?}");
    // Cached results stay right after a clear.
    assert_eq!(lookup(&mut w, "81.2.69.142").unwrap().city_name.as_deref(), Some("London"));
}

#[test]
fn a_decoder_supplied_geo_is_kept() {
    let mut w = worker(&city_and_asn("GeoLite2-City-Test.mmdb"));
    let given = std::sync::Arc::new(Geo { country_iso_code: Some("FR".into()), ..Geo::default() });
    let mut ev = EventData {
        source_ip: Some("81.2.69.142".parse().unwrap()),
        geo: Some(given.clone()),
        ..EventData::default()
    };
    w.enrich(&mut ev);
    assert_eq!(ev.geo, Some(given));
}

#[test]
fn loading_errors_name_the_file() {
    let missing = data("no-such-file.mmdb");
    let cfg = EnrichConfig { geoip_city: Some(missing.clone()), ..EnrichConfig::default() };
    let err = apiwatch_enrich::Enricher::build(&cfg).unwrap_err();
    assert!(matches!(err, EnrichError::GeoOpen { .. }));
    assert!(err.to_string().starts_with(&missing.display().to_string()), "{err}");

    let not_mmdb = data("LICENSE-MIT");
    let cfg = EnrichConfig { geoip_asn: Some(not_mmdb.clone()), ..EnrichConfig::default() };
    let err = apiwatch_enrich::Enricher::build(&cfg).unwrap_err().to_string();
    assert!(err.starts_with(&not_mmdb.display().to_string()), "{err}");

    let cfg = EnrichConfig {
        geoip_city: Some(data("GeoLite2-ASN-Test.mmdb")),
        ..EnrichConfig::default()
    };
    let err = apiwatch_enrich::Enricher::build(&cfg).unwrap_err().to_string();
    assert!(err.contains("GeoLite2-ASN-Test.mmdb: is a GeoLite2-ASN database"), "{err}");
}
