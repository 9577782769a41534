//! Counters a worker keeps: what enrichment found, what it could not use, and its caches.

/// Counters of one per-worker cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    /// Entries dropped because the cache reached its `*_entries_max`.
    pub evictions: u64,
    /// Times the cache was emptied for being full.
    pub clears: u64,
    /// Values computed but not remembered because their key was longer than
    /// `cache_key_bytes_max`.
    pub uncacheable: u64,
    /// Entries held now.
    pub entries: u64,
}

impl CacheStats {
    fn add(&mut self, o: &CacheStats) {
        self.hits += o.hits;
        self.misses += o.misses;
        self.evictions += o.evictions;
        self.clears += o.clears;
        self.uncacheable += o.uncacheable;
        self.entries += o.entries;
    }
}

/// What a worker did since it was made; add several workers' with [`EnrichStats::add`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EnrichStats {
    /// Events enriched.
    pub events: u64,
    /// Events whose `source.ip` was replaced by the client named in forwarding headers.
    pub client_from_forwarded: u64,
    /// Events with forwarding headers from a peer that is not a trusted proxy (headers ignored:
    /// anyone can send them).
    pub forwarded_untrusted_peer: u64,
    /// Forwarding entries that were not addresses (`unknown`, obfuscated, garbage); the walk
    /// stops at the first one.
    pub forwarded_unparsable: u64,
    /// Events whose forwarding chain was longer than `forwarded_hops_max`.
    pub forwarded_hops_truncated: u64,
    pub geo_cache: CacheStats,
    /// Addresses none of the databases has a record for.
    pub geo_not_found: u64,
    /// Lookups that failed on a damaged database record.
    pub geo_lookups_failed: u64,
    pub identity_cache: CacheStats,
    /// Bearer JWTs whose claims were read (from the token or the identity cache).
    pub jwt_decoded: u64,
    /// Bearer tokens shaped like a JWT whose payload was not a JSON object.
    pub jwt_malformed: u64,
    /// Basic credentials whose user name was read.
    pub basic_decoded: u64,
    /// Basic credentials that were not base64 of `user:password`.
    pub basic_malformed: u64,
    /// `authorization` headers longer than `identity_header_bytes_max`, not decoded.
    pub identity_headers_oversized: u64,
    pub route_cache: CacheStats,
    /// Events whose path matched the OpenAPI document.
    pub routes_documented: u64,
    /// Events whose path is not in the OpenAPI document (label `openapi.undocumented`).
    pub routes_undocumented: u64,
    /// Events on a documented path with a method the document does not list.
    pub methods_undocumented: u64,
    pub ua_cache: CacheStats,
}

impl EnrichStats {
    /// Adds another worker's counters to these.
    pub fn add(&mut self, o: &EnrichStats) {
        self.events += o.events;
        self.client_from_forwarded += o.client_from_forwarded;
        self.forwarded_untrusted_peer += o.forwarded_untrusted_peer;
        self.forwarded_unparsable += o.forwarded_unparsable;
        self.forwarded_hops_truncated += o.forwarded_hops_truncated;
        self.geo_cache.add(&o.geo_cache);
        self.geo_not_found += o.geo_not_found;
        self.geo_lookups_failed += o.geo_lookups_failed;
        self.identity_cache.add(&o.identity_cache);
        self.jwt_decoded += o.jwt_decoded;
        self.jwt_malformed += o.jwt_malformed;
        self.basic_decoded += o.basic_decoded;
        self.basic_malformed += o.basic_malformed;
        self.identity_headers_oversized += o.identity_headers_oversized;
        self.route_cache.add(&o.route_cache);
        self.routes_documented += o.routes_documented;
        self.routes_undocumented += o.routes_undocumented;
        self.methods_undocumented += o.methods_undocumented;
        self.ua_cache.add(&o.ua_cache);
    }
}
