//! Location and network of an address from MaxMind databases (City or Country, and ASN).
//!
//! Databases are read whole into memory when the enricher is built (`open_readfile`, not a
//! memory map: no `unsafe`, and a database replaced on disk cannot change under a running
//! reader). Lookups are pure reads of that buffer.

use crate::error::EnrichError;
use apiwatch_core::Geo;
use maxminddb::{geoip2, MaxMindDbError, Reader};
use serde::Deserialize;
use std::net::IpAddr;
use std::path::Path;

/// The opened databases; either may be absent.
pub(crate) struct GeoDatabases {
    city: Option<Database>,
    asn: Option<Database>,
}

struct Database {
    reader: Reader<Vec<u8>>,
    ipv4_only: bool,
    database_type: String,
}

impl std::fmt::Debug for GeoDatabases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoDatabases")
            .field("city", &self.city.as_ref().map(|d| &d.database_type))
            .field("asn", &self.asn.as_ref().map(|d| &d.database_type))
            .finish()
    }
}

/// Which kinds of database may serve as the location and as the network database. Kinds are
/// read from the file's metadata (`GeoLite2-City`, `GeoIP2-Enterprise`, `DBIP-ASN-Lite`, …).
const LOCATION_KINDS: &[&str] = &["City", "Country", "Enterprise"];
const NETWORK_KINDS: &[&str] = &["ASN", "ISP"];

impl GeoDatabases {
    pub(crate) fn open(city: Option<&Path>, asn: Option<&Path>) -> Result<Self, EnrichError> {
        Ok(GeoDatabases {
            city: city
                .map(|p| Database::open(p, LOCATION_KINDS, "a City or Country database"))
                .transpose()?,
            asn: asn.map(|p| Database::open(p, NETWORK_KINDS, "an ASN database")).transpose()?,
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.city.is_none() && self.asn.is_none()
    }

    /// What the databases know about an address; `None` when neither has a record.
    pub(crate) fn lookup(&self, ip: IpAddr) -> Result<Option<Geo>, MaxMindDbError> {
        let mut geo = Geo::default();
        if let Some(db) = self.city.as_ref().filter(|db| db.serves(ip)) {
            // City, Country and Enterprise records share these fields; those a kind lacks stay
            // empty.
            if let Some(rec) = db.reader.lookup(ip)?.decode::<LocationRecord<'_>>()? {
                geo.country_iso_code = rec.country.iso_code.map(str::to_string);
                geo.city_name = rec.city.names.en.map(str::to_string);
                geo.location = rec.location.latitude.zip(rec.location.longitude);
            }
        }
        if let Some(db) = self.asn.as_ref().filter(|db| db.serves(ip)) {
            if let Some(rec) = db.reader.lookup(ip)?.decode::<geoip2::Asn>()? {
                geo.as_number = rec.autonomous_system_number;
                geo.as_organization = rec.autonomous_system_organization.map(str::to_string);
            }
        }
        Ok((geo != Geo::default()).then_some(geo))
    }
}

/// The fields of a location record that enrichment keeps, with the layout of `geoip2::City`.
/// The decoder skips everything else without reading it; `geoip2::City` builds every name in
/// eight languages, the continent and the subdivisions, which made a lookup cost several times
/// more.
#[derive(Deserialize)]
struct LocationRecord<'a> {
    #[serde(borrow, default)]
    city: CityPart<'a>,
    #[serde(borrow, default)]
    country: CountryPart<'a>,
    #[serde(default)]
    location: Coordinates,
}

#[derive(Deserialize, Default)]
struct CityPart<'a> {
    #[serde(borrow, default)]
    names: EnglishName<'a>,
}

#[derive(Deserialize, Default)]
struct EnglishName<'a> {
    #[serde(borrow, default)]
    en: Option<&'a str>,
}

#[derive(Deserialize, Default)]
struct CountryPart<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize, Default)]
struct Coordinates {
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
}

impl Database {
    fn open(path: &Path, kinds: &[&str], expected: &'static str) -> Result<Self, EnrichError> {
        let reader = Reader::open_readfile(path)
            .map_err(|reason| EnrichError::GeoOpen { path: path.to_path_buf(), reason })?;
        let database_type = reader.metadata().database_type.clone();
        if !kinds.iter().any(|k| database_type.contains(k)) {
            return Err(EnrichError::GeoKind {
                path: path.to_path_buf(),
                found: database_type,
                expected,
            });
        }
        let ipv4_only = reader.metadata().ip_version == 4;
        Ok(Database { reader, ipv4_only, database_type })
    }

    /// An IPv4-only database has no answer for IPv6 (the reader would report an error).
    fn serves(&self, ip: IpAddr) -> bool {
        !(self.ipv4_only && ip.is_ipv6())
    }
}
