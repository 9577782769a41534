//! Writers: one record in, one log line out (with its `\n`), in the formats the gateway and
//! the application write. A writer writes nothing for a record its source would not log
//! (nginx and Kong log API calls, the application logs logins).
//!
//! The nginx writer is on the benchmark path: no allocation, no `fmt`, digits by hand, and
//! the time stamp reused while the second does not change.

use crate::record::{Consumer, HttpRecord, LoginRecord, Record, RecordKind};
use apiwatch_core::time::{civil_from_days, DAY_MS};
use std::cell::Cell;
use std::net::Ipv4Addr;

/// Appends a decimal number.
#[inline]
pub fn push_u64(out: &mut Vec<u8>, v: u64) {
    let mut buf = [0u8; 20];
    out.extend_from_slice(format_u64(&mut buf, v));
}

/// Formats a decimal number into `buf`, returning its digits.
#[inline]
pub(crate) fn format_u64(buf: &mut [u8; 20], mut v: u64) -> &[u8] {
    let mut i = buf.len();
    while v >= 100 {
        let d = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGITS2[d..d + 2]);
    }
    if v >= 10 {
        let d = v as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGITS2[d..d + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    &buf[i..]
}

#[inline]
fn push_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push_u64(out, v.unsigned_abs());
}

const DIGITS2: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

#[inline]
fn push_2(out: &mut Vec<u8>, v: u32) {
    let d = v as usize * 2;
    out.extend_from_slice(&DIGITS2[d..d + 2]);
}

#[inline]
fn push_ipv4(out: &mut Vec<u8>, ip: Ipv4Addr) {
    let o = ip.octets();
    for (i, b) in o.iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        let b = *b as u32;
        if b >= 100 {
            out.push(b'0' + (b / 100) as u8);
            push_2(out, b % 100);
        } else if b >= 10 {
            push_2(out, b);
        } else {
            out.push(b'0' + b as u8);
        }
    }
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// `23/Nov/2026:20:31:00 +0000` — nginx's `$time_local` on a UTC host.
fn nginx_time(ts_ms: i64) -> [u8; 26] {
    let secs = ts_ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    let (y, m, d) = civil_from_days(days);
    let mut v = Vec::with_capacity(26);
    push_2(&mut v, d);
    v.push(b'/');
    v.extend_from_slice(MONTHS[(m - 1) as usize]);
    v.push(b'/');
    push_u64(&mut v, y.clamp(0, 9999) as u64);
    v.push(b':');
    push_2(&mut v, rem / 3600);
    v.push(b':');
    push_2(&mut v, rem / 60 % 60);
    v.push(b':');
    push_2(&mut v, rem % 60);
    v.extend_from_slice(b" +0000");
    let mut a = [b' '; 26];
    let n = v.len().min(26);
    a[..n].copy_from_slice(&v[..n]);
    a
}

thread_local! {
    /// The last second formatted, and its text: traffic comes in time order, so consecutive
    /// lines mostly share it.
    static NGINX_TIME: Cell<(i64, [u8; 26])> = const { Cell::new((i64::MIN, [0; 26])) };
}

#[inline]
fn push_nginx_time(out: &mut Vec<u8>, ts_ms: i64) {
    let sec = ts_ms.div_euclid(1000);
    let (cached, text) = NGINX_TIME.get();
    if cached == sec {
        out.extend_from_slice(&text);
    } else {
        let text = nginx_time(ts_ms);
        NGINX_TIME.set((sec, text));
        out.extend_from_slice(&text);
    }
}

/// nginx's default log escaping: `"`, `\`, control bytes and bytes ≥ 0x7f become `\xHH`.
#[inline]
fn push_nginx_escaped(out: &mut Vec<u8>, s: &[u8]) {
    // No early exit: this form vectorises, and escaping is rare.
    if !s.iter().fold(false, |dirty, &b| dirty | needs_nginx_escape(b)) {
        out.extend_from_slice(s);
        return;
    }
    for &b in s {
        if !needs_nginx_escape(b) {
            out.push(b);
        } else {
            out.extend_from_slice(b"\\x");
            out.push(HEX_UPPER[(b >> 4) as usize]);
            out.push(HEX_UPPER[(b & 15) as usize]);
        }
    }
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

#[inline]
fn needs_nginx_escape(b: u8) -> bool {
    b.wrapping_sub(0x20) >= 0x5f || b == b'"' || b == b'\\'
}

/// One nginx `combined` line followed by ` $request_time`:
///
/// `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
/// "$http_referer" "$http_user_agent" $request_time`
///
/// `$remote_user` carries the authenticated principal (a JWT's `sub` or a consumer name).
pub fn write_nginx(rec: &Record, out: &mut Vec<u8>) {
    let RecordKind::Http(h) = &rec.kind else {
        return;
    };
    out.reserve(96 + h.uri.len() + h.user_agent.len() + h.referrer.len());
    push_ipv4(out, h.client_ip);
    out.extend_from_slice(b" - ");
    match &h.user {
        Some(u) => push_nginx_escaped(out, u.as_bytes()),
        None => out.push(b'-'),
    }
    out.extend_from_slice(b" [");
    push_nginx_time(out, rec.ts_ms);
    out.extend_from_slice(b"] \"");
    out.extend_from_slice(h.method.as_bytes());
    out.push(b' ');
    push_nginx_escaped(out, h.uri.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\" ");
    push_u64(out, u64::from(h.status));
    out.push(b' ');
    push_u64(out, h.response_bytes);
    out.extend_from_slice(b" \"");
    if h.referrer.is_empty() {
        out.push(b'-');
    } else {
        push_nginx_escaped(out, h.referrer.as_bytes());
    }
    out.extend_from_slice(b"\" \"");
    if h.user_agent.is_empty() {
        out.push(b'-');
    } else {
        push_nginx_escaped(out, h.user_agent.as_bytes());
    }
    out.extend_from_slice(b"\" ");
    push_u64(out, u64::from(h.duration_ms / 1000));
    out.push(b'.');
    let ms = h.duration_ms % 1000;
    out.push(b'0' + (ms / 100) as u8);
    push_2(out, ms % 100);
    out.push(b'\n');
}

/// Appends a JSON string literal.
pub(crate) fn push_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let b = s.as_bytes();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                out.extend_from_slice(&b[start..i]);
                out.extend_from_slice(b"\\u00");
                out.push(HEX_LOWER[(c >> 4) as usize]);
                out.push(HEX_LOWER[(c & 15) as usize]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&b[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

fn push_key(out: &mut Vec<u8>, k: &str) {
    push_json_str(out, k);
    out.push(b':');
}

/// A Kong route and service, as Kong's log serializer describes them.
struct KongRoute {
    id: &'static str,
    name: &'static str,
    path: &'static str,
    service: &'static KongService,
}

struct KongService {
    id: &'static str,
    name: &'static str,
    host: &'static str,
    upstream_ip: &'static str,
}

const SHOP_API: KongService = KongService {
    id: "0b2f4a6c-8e1d-4b3a-9c5e-7f0a2b4c6d01",
    name: "shop-api",
    host: "shop-api.shop.svc.cluster.local",
    upstream_ip: "10.0.4.17",
};
const SHOP_FRONTEND: KongService = KongService {
    id: "1c3a5b7d-9f2e-4c4b-8d6f-8a1b3c5d7e02",
    name: "shop-frontend",
    host: "shop-frontend.shop.svc.cluster.local",
    upstream_ip: "10.0.4.23",
};

const ROUTES: &[KongRoute] = &[
    KongRoute {
        id: "2d4b6c8e-0a3f-4d5c-9e7a-9b2c4d6e8f03",
        name: "api-products",
        path: "/api/v1/products",
        service: &SHOP_API,
    },
    KongRoute {
        id: "3e5c7d9f-1b4a-4e6d-8f8b-0c3d5e7f9a04",
        name: "api-orders",
        path: "/api/v1/orders",
        service: &SHOP_API,
    },
    KongRoute {
        id: "4f6d8e0a-2c5b-4f7e-9a9c-1d4e6f8a0b05",
        name: "api-users",
        path: "/api/v1/users",
        service: &SHOP_API,
    },
    KongRoute {
        id: "5a7e9f1b-3d6c-4a8f-8b0d-2e5f7a9b1c06",
        name: "api-auth",
        path: "/api/v1/auth",
        service: &SHOP_API,
    },
    KongRoute {
        id: "6b8f0a2c-4e7d-4b9a-9c1e-3f6a8b0c2d07",
        name: "api-search",
        path: "/api/v1/search",
        service: &SHOP_API,
    },
    KongRoute {
        id: "7c9a1b3d-5f8e-4cab-8d2f-4a7b9c1d3e08",
        name: "api-admin",
        path: "/api/v1/admin",
        service: &SHOP_API,
    },
    KongRoute {
        id: "8dab2c4e-6a9f-4dbc-9e3a-5b8c0d2e4f09",
        name: "api-export",
        path: "/api/v1/export",
        service: &SHOP_API,
    },
    KongRoute {
        id: "9ebc3d5f-7bab-4ecd-8f4b-6c9d1e3f5a10",
        name: "api-customers",
        path: "/api/v1/customers",
        service: &SHOP_API,
    },
    KongRoute {
        id: "afcd4e6a-8cbc-4fde-9a5c-7dae2f4a6b11",
        name: "api",
        path: "/api",
        service: &SHOP_API,
    },
    KongRoute {
        id: "b0de5f7b-9dcd-4aef-8b6d-8ebf3a5b7c12",
        name: "healthz",
        path: "/healthz",
        service: &SHOP_API,
    },
    KongRoute {
        id: "c1ef6a8c-aede-4bfa-9c7e-9fca4b6c8d13",
        name: "web",
        path: "/",
        service: &SHOP_FRONTEND,
    },
];

fn kong_route(path: &str) -> &'static KongRoute {
    ROUTES
        .iter()
        .find(|r| {
            path.starts_with(r.path)
                && (r.path == "/" || matches!(path.as_bytes().get(r.path.len()), None | Some(b'/')))
        })
        .unwrap_or(&ROUTES[ROUTES.len() - 1])
}

/// The name of the Kong route a path goes through: what apiwatch reads as `http.route` from
/// Kong's log (the truth names it beside the route template).
pub(crate) fn kong_route_name(path: &str) -> &'static str {
    kong_route(path).name
}

const KONG_WORKSPACE: &str = "d2fa7b9d-bfef-4c0b-8d8f-a0db5c7d9e14";
const KONG_ROUTES_CREATED_S: i64 = 1_735_689_600;
const API_HOST: &str = "api.shop.example";

/// Percent-decodes a query component as Kong (ngx.req.get_uri_args) does: `+` is a space.
fn query_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len()
                && hex_val(b[i + 1]).is_some()
                && hex_val(b[i + 2]).is_some() =>
            {
                out.push(hex_val(b[i + 1]).unwrap_or(0) * 16 + hex_val(b[i + 2]).unwrap_or(0));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Kong's `request.querystring`: decoded keys to a decoded value, `true` for a bare key, an
/// array for a repeated key.
fn push_querystring(out: &mut Vec<u8>, query: Option<&str>) {
    out.push(b'{');
    let mut args: Vec<(String, Vec<Option<String>>)> = Vec::new();
    for part in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = match part.split_once('=') {
            Some((k, v)) => (query_decode(k), Some(query_decode(v))),
            None => (query_decode(part), None),
        };
        match args.iter_mut().find(|(n, _)| *n == k) {
            Some((_, vs)) => vs.push(v),
            None => args.push((k, vec![v])),
        }
    }
    for (i, (k, vs)) in args.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_key(out, k);
        let one = |out: &mut Vec<u8>, v: &Option<String>| match v {
            Some(v) => push_json_str(out, v),
            None => out.extend_from_slice(b"true"),
        };
        if vs.len() == 1 {
            one(out, &vs[0]);
        } else {
            out.push(b'[');
            for (j, v) in vs.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                one(out, v);
            }
            out.push(b']');
        }
    }
    out.push(b'}');
}

fn push_header(out: &mut Vec<u8>, first: &mut bool, k: &str, v: &str) {
    if !*first {
        out.push(b',');
    }
    *first = false;
    push_key(out, k);
    push_json_str(out, v);
}

fn accept_for(h: &HttpRecord) -> &'static str {
    if h.uri.starts_with("/api/") {
        "application/json"
    } else if h.user_agent.starts_with("Mozilla/5.0 (") {
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    } else {
        "*/*"
    }
}

fn content_type_for(h: &HttpRecord) -> &'static str {
    let path = h.path();
    if path.starts_with("/api/") || path == "/healthz" {
        "application/json; charset=utf-8"
    } else if path.ends_with(".js") {
        "application/javascript"
    } else if path.ends_with(".css") {
        "text/css"
    } else if path.ends_with(".svg") {
        "image/svg+xml"
    } else if path.ends_with(".ico") {
        "image/x-icon"
    } else if path.ends_with(".woff2") {
        "font/woff2"
    } else {
        "text/html; charset=utf-8"
    }
}

/// One Kong log line (the JSON of the file-log / http-log plugins, Kong 3.8).
pub fn write_kong(rec: &Record, out: &mut Vec<u8>) {
    write_kong_styled(rec, out, KongStyle::Full);
}

/// One Kong log line as deployments commonly trim it with the plugins'
/// `custom_fields_by_lua` (route and service reduced to id and name; TLS, tries and most
/// response headers removed): about 1.5 KB a line on average instead of 2.5 KB, with the
/// same calls and actors.
pub fn write_kong_compact(rec: &Record, out: &mut Vec<u8>) {
    write_kong_styled(rec, out, KongStyle::Compact);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KongStyle {
    Full,
    Compact,
}

fn write_kong_styled(rec: &Record, out: &mut Vec<u8>, style: KongStyle) {
    let full = style == KongStyle::Full;
    let RecordKind::Http(h) = &rec.kind else {
        return;
    };
    let route = kong_route(h.path());
    let svc = route.service;
    let consumer: Option<&Consumer> = h.consumer.or(h.token.as_ref().map(|t| t.client));
    let kong_ms = h.duration_ms.saturating_sub(h.upstream_ms);

    out.extend_from_slice(b"{\"request\":{\"method\":");
    push_json_str(out, h.method);
    out.extend_from_slice(b",\"uri\":");
    push_json_str(out, &h.uri);
    out.extend_from_slice(b",\"url\":\"https://");
    out.extend_from_slice(API_HOST.as_bytes());
    out.extend_from_slice(b":443");
    // The URI is escaped as a JSON string body: write it through the escaper without quotes.
    let mut tmp = Vec::with_capacity(h.uri.len() + 2);
    push_json_str(&mut tmp, &h.uri);
    out.extend_from_slice(&tmp[1..tmp.len() - 1]);
    out.extend_from_slice(b"\",\"size\":");
    push_u64(out, (h.uri.len() + request_headers_len(h)) as u64 + u64::from(h.request_bytes));
    out.extend_from_slice(b",\"querystring\":");
    push_querystring(out, h.query());
    out.extend_from_slice(b",\"headers\":{");
    let mut first = true;
    push_header(out, &mut first, "host", API_HOST);
    if !h.user_agent.is_empty() {
        push_header(out, &mut first, "user-agent", h.user_agent);
    }
    push_header(out, &mut first, "accept", accept_for(h));
    if !h.referrer.is_empty() {
        push_header(out, &mut first, "referer", h.referrer);
    }
    if let Some(t) = &h.token {
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(b"\"authorization\":\"Bearer ");
        out.extend_from_slice(t.jwt.as_bytes());
        out.push(b'"');
    }
    if let Some(c) = h.consumer {
        push_header(out, &mut first, "apikey", c.key);
    }
    if h.request_bytes > 0 {
        push_header(out, &mut first, "content-type", "application/json");
        if !first {
            out.push(b',');
        }
        out.extend_from_slice(b"\"content-length\":\"");
        push_u64(out, u64::from(h.request_bytes));
        out.push(b'"');
    }
    push_header(out, &mut first, "x-forwarded-proto", "https");
    for (k, v) in &h.extra_headers {
        push_header(out, &mut first, k, v);
    }
    out.push(b'}');
    if full {
        out.extend_from_slice(b",\"tls\":{\"version\":\"TLSv1.3\",\"cipher\":\"TLS_AES_256_GCM_SHA384\",\"client_verify\":\"NONE\"}");
    }
    out.push(b'}');

    out.extend_from_slice(b",\"upstream_uri\":");
    push_json_str(out, &h.uri);
    out.extend_from_slice(b",\"upstream_status\":\"");
    push_u64(out, u64::from(h.status));
    out.extend_from_slice(b"\",\"response\":{\"status\":");
    push_u64(out, u64::from(h.status));
    out.extend_from_slice(b",\"size\":");
    push_u64(out, h.response_bytes + 320);
    out.extend_from_slice(b",\"headers\":{\"content-type\":");
    push_json_str(out, content_type_for(h));
    out.extend_from_slice(b",\"content-length\":\"");
    push_u64(out, h.response_bytes);
    if !full {
        out.extend_from_slice(b"\"}},\"route\":{\"id\":\"");
        out.extend_from_slice(route.id.as_bytes());
        out.extend_from_slice(b"\",\"name\":\"");
        out.extend_from_slice(route.name.as_bytes());
        out.extend_from_slice(b"\"},\"service\":{\"id\":\"");
        out.extend_from_slice(svc.id.as_bytes());
        out.extend_from_slice(b"\",\"name\":\"");
        out.extend_from_slice(svc.name.as_bytes());
        out.extend_from_slice(b"\"}");
    } else {
        write_kong_full_tail(out, h, route, kong_ms);
    }
    write_kong_consumer(out, consumer);
    out.extend_from_slice(b",\"latencies\":{\"request\":");
    push_u64(out, u64::from(h.duration_ms));
    out.extend_from_slice(b",\"kong\":");
    push_u64(out, u64::from(kong_ms));
    out.extend_from_slice(b",\"proxy\":");
    push_u64(out, u64::from(h.upstream_ms));
    out.extend_from_slice(b",\"receive\":0}");
    if full {
        out.extend_from_slice(b",\"tries\":[{\"balancer_start\":");
        push_i64(out, rec.ts_ms + i64::from(kong_ms.min(2)));
        out.extend_from_slice(b",\"balancer_latency\":0,\"ip\":\"");
        out.extend_from_slice(svc.upstream_ip.as_bytes());
        out.extend_from_slice(b"\",\"port\":8080}]");
    }
    out.extend_from_slice(b",\"client_ip\":\"");
    push_ipv4(out, h.client_ip);
    out.extend_from_slice(b"\",\"started_at\":");
    push_i64(out, rec.ts_ms);
    if full {
        out.extend_from_slice(b",\"source\":\"upstream\",\"workspace\":\"");
        out.extend_from_slice(KONG_WORKSPACE.as_bytes());
        out.extend_from_slice(b"\",\"workspace_name\":\"default\"");
    }
    out.extend_from_slice(b"}\n");
}

/// The rest of the response headers, and the route and service as Kong serializes them.
fn write_kong_full_tail(out: &mut Vec<u8>, h: &HttpRecord, route: &KongRoute, kong_ms: u32) {
    let svc = route.service;
    out.extend_from_slice(b"\",\"connection\":\"keep-alive\",\"x-kong-upstream-latency\":\"");
    push_u64(out, u64::from(h.upstream_ms));
    out.extend_from_slice(b"\",\"x-kong-proxy-latency\":\"");
    push_u64(out, u64::from(kong_ms));
    out.extend_from_slice(b"\",\"via\":\"1.1 kong/3.8.0\"}}");

    out.extend_from_slice(b",\"route\":{\"id\":\"");
    out.extend_from_slice(route.id.as_bytes());
    out.extend_from_slice(b"\",\"name\":\"");
    out.extend_from_slice(route.name.as_bytes());
    out.extend_from_slice(b"\",\"paths\":[\"");
    out.extend_from_slice(route.path.as_bytes());
    out.extend_from_slice(b"\"],\"protocols\":[\"http\",\"https\"],\"strip_path\":false,\"preserve_host\":false,\"https_redirect_status_code\":426,\"regex_priority\":0,\"request_buffering\":true,\"response_buffering\":true,\"service\":{\"id\":\"");
    out.extend_from_slice(svc.id.as_bytes());
    out.extend_from_slice(b"\"},\"ws_id\":\"");
    out.extend_from_slice(KONG_WORKSPACE.as_bytes());
    out.extend_from_slice(b"\",\"created_at\":");
    push_i64(out, KONG_ROUTES_CREATED_S);
    out.extend_from_slice(b",\"updated_at\":");
    push_i64(out, KONG_ROUTES_CREATED_S);
    out.extend_from_slice(b"},\"service\":{\"id\":\"");
    out.extend_from_slice(svc.id.as_bytes());
    out.extend_from_slice(b"\",\"name\":\"");
    out.extend_from_slice(svc.name.as_bytes());
    out.extend_from_slice(b"\",\"host\":\"");
    out.extend_from_slice(svc.host.as_bytes());
    out.extend_from_slice(b"\",\"port\":8080,\"protocol\":\"http\",\"path\":\"/\",\"retries\":5,\"connect_timeout\":60000,\"read_timeout\":60000,\"write_timeout\":60000,\"enabled\":true,\"ws_id\":\"");
    out.extend_from_slice(KONG_WORKSPACE.as_bytes());
    out.extend_from_slice(b"\",\"created_at\":");
    push_i64(out, KONG_ROUTES_CREATED_S);
    out.extend_from_slice(b",\"updated_at\":");
    push_i64(out, KONG_ROUTES_CREATED_S);
    out.push(b'}');
}

fn write_kong_consumer(out: &mut Vec<u8>, consumer: Option<&Consumer>) {
    if let Some(c) = consumer {
        out.extend_from_slice(b",\"consumer\":{\"id\":\"");
        out.extend_from_slice(c.id.as_bytes());
        out.extend_from_slice(b"\",\"username\":");
        push_json_str(out, c.name);
        out.extend_from_slice(b",\"custom_id\":null,\"created_at\":");
        push_i64(out, c.created_at_s);
        out.extend_from_slice(b"},\"authenticated_entity\":{\"id\":\"");
        out.extend_from_slice(c.credential_id.as_bytes());
        out.extend_from_slice(b"\"}");
    }
}

/// The bytes of the request's headers, for Kong's `request.size`.
fn request_headers_len(h: &HttpRecord) -> usize {
    120 + h.user_agent.len()
        + h.referrer.len()
        + h.token.as_ref().map_or(0, |t| t.jwt.len() + 22)
        + h.consumer.map_or(0, |c| c.key.len() + 10)
        + h.extra_headers.iter().map(|(k, v)| k.len() + v.len() + 4).sum::<usize>()
}

/// RFC 3339 with milliseconds, no allocation.
fn push_rfc3339_ms(out: &mut Vec<u8>, ts_ms: i64) {
    let days = ts_ms.div_euclid(DAY_MS);
    let rem = ts_ms.rem_euclid(DAY_MS);
    let (y, m, d) = civil_from_days(days);
    push_u64(out, y.clamp(0, 9999) as u64);
    out.push(b'-');
    push_2(out, m);
    out.push(b'-');
    push_2(out, d);
    out.push(b'T');
    let secs = (rem / 1000) as u32;
    push_2(out, secs / 3600);
    out.push(b':');
    push_2(out, secs / 60 % 60);
    out.push(b':');
    push_2(out, secs % 60);
    out.push(b'.');
    let ms = (rem % 1000) as u32;
    out.push(b'0' + (ms / 100) as u8);
    push_2(out, ms % 100);
    out.push(b'Z');
}

/// One ECS login event from the application (nested ECS JSON, `event.action: user-login`).
pub fn write_ecs(rec: &Record, out: &mut Vec<u8>) {
    let RecordKind::Login(l) = &rec.kind else {
        return;
    };
    write_ecs_login(rec.ts_ms, l, out);
}

fn write_ecs_login(ts_ms: i64, l: &LoginRecord, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"@timestamp\":\"");
    push_rfc3339_ms(out, ts_ms);
    out.extend_from_slice(b"\",\"ecs\":{\"version\":\"8.11.0\"},\"log\":{\"level\":\"");
    out.extend_from_slice(if l.outcome == apiwatch_core::Outcome::Success {
        b"info"
    } else {
        b"warn"
    });
    out.extend_from_slice(b"\",\"logger\":\"shop.auth\"},\"service\":{\"name\":\"shop-api\",\"environment\":\"production\"},\"event\":{\"kind\":\"event\",\"category\":[\"authentication\"],\"type\":[\"start\"],\"action\":\"user-login\",\"dataset\":\"shop.auth\",\"outcome\":\"");
    out.extend_from_slice(l.outcome.as_str().as_bytes());
    out.push(b'"');
    if let Some(r) = l.reason {
        out.extend_from_slice(b",\"reason\":");
        push_json_str(out, r);
    }
    out.extend_from_slice(b"},\"user\":{\"name\":");
    push_json_str(out, &l.user);
    if let Some(id) = l.user_id {
        out.extend_from_slice(b",\"id\":\"");
        push_u64(out, id);
        out.push(b'"');
    }
    if let Some(t) = &l.token {
        out.extend_from_slice(b",\"roles\":[");
        for (i, r) in t.roles.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_json_str(out, r);
        }
        out.push(b']');
    }
    out.extend_from_slice(b"},\"source\":{\"ip\":\"");
    push_ipv4(out, l.source_ip);
    out.extend_from_slice(b"\"},\"user_agent\":{\"original\":");
    push_json_str(out, l.user_agent);
    out.extend_from_slice(
        b"},\"http\":{\"request\":{\"method\":\"POST\"},\"response\":{\"status_code\":",
    );
    out.extend_from_slice(if l.outcome == apiwatch_core::Outcome::Success {
        b"200"
    } else {
        b"401"
    });
    out.extend_from_slice(b"}},\"url\":{\"path\":\"/api/v1/auth/login\"}");
    if let Some(t) = &l.token {
        out.extend_from_slice(b",\"token\":{\"id\":");
        push_json_str(out, &t.jti);
        out.push(b'}');
    }
    out.extend_from_slice(b",\"message\":");
    let msg = match (l.outcome, l.reason) {
        (apiwatch_core::Outcome::Success, _) => format!("login succeeded for {}", l.user),
        (_, Some(r)) => format!("login failed for {}: {r}", l.user),
        _ => format!("login failed for {}", l.user),
    };
    push_json_str(out, &msg);
    out.extend_from_slice(b"}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_times() {
        let mut v = Vec::new();
        for n in [0u64, 7, 10, 99, 100, 12345, u64::MAX] {
            v.clear();
            push_u64(&mut v, n);
            assert_eq!(String::from_utf8(v.clone()).unwrap(), n.to_string());
        }
        let ts = apiwatch_core::time::parse_rfc3339_ms("2026-11-23T20:31:05.042Z").unwrap();
        assert_eq!(&nginx_time(ts), b"23/Nov/2026:20:31:05 +0000");
        v.clear();
        push_rfc3339_ms(&mut v, ts);
        assert_eq!(v, b"2026-11-23T20:31:05.042Z");
        v.clear();
        push_ipv4(&mut v, Ipv4Addr::new(10, 0, 255, 9));
        assert_eq!(v, b"10.0.255.9");
    }

    #[test]
    fn escaping() {
        let mut v = Vec::new();
        push_nginx_escaped(&mut v, "a\"b\\c\n\u{e9}".as_bytes());
        assert_eq!(v, b"a\\x22b\\x5Cc\\x0A\\xC3\\xA9");
        v.clear();
        push_json_str(&mut v, "q\"\\\u{1}x");
        assert_eq!(serde_json::from_slice::<String>(&v).unwrap(), "q\"\\\u{1}x");
    }

    #[test]
    fn kong_querystring_is_decoded() {
        let mut v = Vec::new();
        push_querystring(
            &mut v,
            Some("id=1%27%20OR%20%271%27%3D%271&a=1&a=2&flag&q=x+y&user[$ne]=x"),
        );
        let j: serde_json::Value = serde_json::from_slice(&v).unwrap();
        assert_eq!(j["id"], "1' OR '1'='1");
        assert_eq!(j["a"], serde_json::json!(["1", "2"]));
        assert_eq!(j["flag"], true);
        assert_eq!(j["q"], "x y");
        assert_eq!(j["user[$ne]"], "x");
    }

    #[test]
    fn routes() {
        assert_eq!(kong_route("/api/v1/products/12").name, "api-products");
        assert_eq!(kong_route("/api/v1/productsX").name, "api");
        assert_eq!(kong_route("/.env").name, "web");
        assert_eq!(kong_route("/healthz").name, "healthz");
    }
}
