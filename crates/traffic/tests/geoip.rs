//! The address table against the real GeoLite2-City database of the PyPI package
//! `maxminddb-geolite2` (July 2018). Skipped, saying why, when the package is not installed
//! (`pip install maxminddb-geolite2`); `APIWATCH_GEOLITE2_CITY` may name the file instead.

mod common;

use apiwatch_traffic::geo::{
    prefixes, BINGBOT, COUNTRY_PREFIXES, CRAWLER_COUNTRY, GOOGLEBOT, TRAVEL,
};
use apiwatch_traffic::{Generator, TrafficConfig};
use maxminddb::{path, Reader};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::Command;

fn python(code: &str) -> Option<String> {
    let out = Command::new("python3").args(["-c", code]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Where the database is, or why it is not there.
fn database() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("APIWATCH_GEOLITE2_CITY") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("APIWATCH_GEOLITE2_CITY={} is not a file", p.display()))
        };
    }
    // The package keeps the file beside a helper module; ask it, then look where it lives.
    if let Some(p) =
        python("from _maxminddb_geolite2 import geolite2_database; print(geolite2_database())")
    {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
    }
    let dir = python("import geolite2,os;print(os.path.dirname(geolite2.__file__))").ok_or(
        "the PyPI package maxminddb-geolite2 is not installed (pip install maxminddb-geolite2)",
    )?;
    ["geolite2/GeoLite2-City.mmdb", "_maxminddb_geolite2/GeoLite2-City.mmdb", "GeoLite2-City.mmdb"]
        .iter()
        .map(|f| PathBuf::from(&dir).join(f))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("no GeoLite2-City.mmdb under {dir}"))
}

fn open() -> Option<Reader<Vec<u8>>> {
    match database() {
        Ok(p) => Some(Reader::open_readfile(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))),
        Err(why) => {
            println!("skipped: {why}");
            None
        }
    }
}

fn country(db: &Reader<Vec<u8>>, ip: Ipv4Addr) -> Option<String> {
    db.lookup(IpAddr::V4(ip))
        .expect("lookup")
        .decode_path(&path!["country", "iso_code"])
        .expect("decode")
}

#[test]
fn every_prefix_answers_its_country() {
    let Some(db) = open() else { return };
    let mut checked = 0;
    let mut wrong = Vec::new();
    let all = COUNTRY_PREFIXES.iter().flat_map(|(cc, ps)| ps.iter().map(move |p| (*cc, *p)));
    for (cc, p) in all.chain([(CRAWLER_COUNTRY, GOOGLEBOT), (CRAWLER_COUNTRY, BINGBOT)]) {
        // Four addresses in every /24 of the prefix.
        for block in 0..(p.size() / 256).max(1) {
            for host in [1u32, 77, 150, 254] {
                let ip = Ipv4Addr::from(p.base() + block * 256 + host);
                let got = country(&db, ip);
                if got.as_deref() != Some(cc) {
                    wrong.push(format!("{ip} in {p}: {got:?}, not {cc}"));
                }
                checked += 1;
            }
        }
    }
    println!("{checked} addresses checked");
    assert!(wrong.is_empty(), "{} wrong, e.g. {:?}", wrong.len(), &wrong[..wrong.len().min(5)]);
}

#[test]
fn generated_addresses_answer_the_intended_country() {
    let Some(db) = open() else { return };
    let mut seen: HashMap<Ipv4Addr, &'static str> = HashMap::new();
    for cfg in [TrafficConfig::demo(2), common::three_days(2)] {
        for r in Generator::new(&cfg) {
            let (ip, cc) = match (r.http(), r.login()) {
                (Some(h), _) => (h.client_ip, h.country),
                (_, Some(l)) => (l.source_ip, l.country),
                _ => unreachable!(),
            };
            if let Some(prev) = seen.insert(ip, cc) {
                assert_eq!(prev, cc, "{ip} given two countries");
            }
        }
    }
    let mut private = 0;
    for (ip, cc) in &seen {
        if cc.is_empty() {
            assert!(ip.is_private(), "{ip} has no country but is public");
            assert_eq!(country(&db, *ip), None);
            private += 1;
        } else {
            assert_eq!(country(&db, *ip).as_deref(), Some(*cc), "{ip}");
        }
    }
    println!("{} addresses checked ({private} private)", seen.len());
    assert!(seen.len() > 1_000);
}

/// Where GeoLite2 places four addresses in every /24 of a country's prefixes (deduplicated).
fn locations(db: &Reader<Vec<u8>>, cc: &str) -> Vec<(f64, f64)> {
    let mut seen = std::collections::BTreeSet::new();
    for p in prefixes(cc) {
        for block in 0..(p.size() / 256).max(1) {
            for host in [1u32, 77, 150, 254] {
                let ip = IpAddr::V4(Ipv4Addr::from(p.base() + block * 256 + host));
                let res = db.lookup(ip).expect("lookup");
                let lat: Option<f64> =
                    res.decode_path(&path!["location", "latitude"]).expect("lat");
                let lon: Option<f64> =
                    res.decode_path(&path!["location", "longitude"]).expect("lon");
                if let (Some(lat), Some(lon)) = (lat, lon) {
                    seen.insert((lat.to_bits(), lon.to_bits()));
                }
            }
        }
    }
    seen.into_iter().map(|(a, b)| (f64::from_bits(a), f64::from_bits(b))).collect()
}

fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) =
        (a.0.to_radians(), a.1.to_radians(), b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6_371.008_8 * h.sqrt().min(1.0).asin()
}

#[test]
fn travel_distances_cover_the_farthest_places_geoip_gives() {
    let Some(db) = open() else { return };
    let mut short = Vec::new();
    for (home, dest, km) in TRAVEL {
        let (a, b) = (locations(&db, home), locations(&db, dest));
        let farthest =
            a.iter().flat_map(|x| b.iter().map(move |y| haversine_km(*x, *y))).fold(0.0, f64::max);
        if farthest > f64::from(*km) {
            short.push(format!("{home} to {dest}: {farthest:.0} km, table says {km}"));
        }
    }
    assert!(short.is_empty(), "update geo::TRAVEL: {short:?}");
}
