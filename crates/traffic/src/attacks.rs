//! Attack scenarios. Each registers its ground truth (who, which rule family) and plans its
//! records; the truth's times and counts are filled in as the records come out.

use crate::benign::{
    admin_call, fill_user_call, globex_call, globex_exfil_window, globex_ip, plan_user_activity,
    push_num, spike_window, token_at, SEARCH_SHARE, SPIKE_ROUTE,
};
use crate::data;
use crate::gen::{daily_curve, Plan, Stream, TruthEntry, World, FIRST_ORDER_ID, TOKEN_LIFETIME_MS};
use crate::geo::{self, Prefix};
use crate::record::{HttpRecord, Record, Token, PARTNER_GLOBEX};
use crate::rng::Rng;
use crate::write::kong_route_name;
use apiwatch_core::time::{DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS};
use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::Arc;

type PlanFn = fn(&mut World, &mut Rng) -> Plan;

pub(crate) fn add_streams(w: &mut World, streams: &mut Vec<Box<dyn Stream>>) {
    let seed = w.cfg.seed;
    let plans: &[(&str, PlanFn)] = &[
        ("password-guessing", password_guessing),
        ("password-spraying", password_spraying),
        ("credential-stuffing", credential_stuffing),
        ("account-takeover", account_takeover),
        ("scanner", scanner),
        ("sensitive-files", sensitive_files),
        ("forced-browsing", forced_browsing),
        ("injections", injections),
        ("bola", bola),
        ("privilege-escalation", privilege_escalation),
        ("stolen-token", stolen_token),
        ("admin-new-country", admin_new_country),
        ("bulk-exfiltration", bulk_exfiltration),
    ];
    for (name, f) in plans {
        let mut rng = Rng::derive(seed, name);
        let plan = f(w, &mut rng);
        streams.push(Box::new(plan.into_stream(w)));
    }
    streams.push(Box::new(Flood::new(w, Rng::derive(seed, "flood"))));
    let (s, e) = spike_window(w);
    w.register(
        TruthEntry::new(
            "attack/5xx-spike",
            format!(
                "{SPIKE_ROUTE} answers 5xx to about 45% of calls for {} minutes (normally 0.05%)",
                (e - s) / MINUTE_MS
            ),
        )
        // The template (nginx, with apiwatch's id folding) and Kong's route name.
        .actor(
            "http.route",
            vec![SPIKE_ROUTE.into(), kong_route_name("/api/v1/products/1").into()],
        ),
    );
    streams.push(Box::new(SlowPull::new(w, Rng::derive(seed, "slow-exfiltration"))));
}

/// Times of `n` events spread over `[start, start + span)` with jitter, in order.
fn spread(rng: &mut Rng, start: i64, span: i64, n: usize) -> Vec<i64> {
    let mut v: Vec<i64> = (0..n)
        .map(|i| start + (span * i as i64) / n as i64 + rng.range(0, (span / n as i64).max(1) - 1))
        .collect();
    v.sort_unstable();
    v
}

fn random_background_user(w: &World, rng: &mut Rng) -> usize {
    *rng.pick(&w.cast.background) as usize
}

/// The route template of a path, for the routes the shop has (`""` for the rest).
fn route_of(path: &str) -> &'static str {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["api", "v1", "products"] => "/api/v1/products",
        ["api", "v1", "products", "import"] => "/api/v1/products/import",
        ["api", "v1", "products", _] => "/api/v1/products/{id}",
        ["api", "v1", "search"] => "/api/v1/search",
        ["api", "v1", "users"] => "/api/v1/users",
        ["api", "v1", "users", _] => "/api/v1/users/{id}",
        ["api", "v1", "orders"] => "/api/v1/orders",
        ["api", "v1", "orders", _] => "/api/v1/orders/{id}",
        ["api", "v1", "export", "orders"] => "/api/v1/export/orders",
        ["api", "v1", "auth", "login"] => "/api/v1/auth/login",
        ["api", "v1", "admin", "users"] => "/api/v1/admin/users",
        ["api", "v1", "admin", "config"] => "/api/v1/admin/config",
        ["api", "v1", "admin", "roles"] => "/api/v1/admin/roles",
        ["api", "v1", "admin", "audit-log"] => "/api/v1/admin/audit-log",
        ["api", "v1", "admin", "users", _] => "/api/v1/admin/users/{id}",
        ["api", "v1", "admin", "users", _, "roles"] => "/api/v1/admin/users/{id}/roles",
        ["api", "v1", "webhooks", "test"] => "/api/v1/webhooks/test",
        _ => "",
    }
}

/// An unauthenticated call from `(address, country, user agent)`.
fn call(
    (ip, cc, ua): (Ipv4Addr, &'static str, &'static str),
    method: &'static str,
    uri: &str,
    status: u16,
    bytes: u64,
    rng: &mut Rng,
) -> HttpRecord {
    let mut h = HttpRecord {
        client_ip: ip,
        country: cc,
        method,
        status,
        response_bytes: bytes,
        user_agent: ua,
        ..HttpRecord::default()
    };
    h.uri.push_str(uri);
    h.route = route_of(h.path());
    h.upstream_ms = 3 + rng.below(40) as u32;
    h.duration_ms = h.upstream_ms + 1;
    h
}

fn authed(mut h: HttpRecord, token: &Arc<Token>) -> HttpRecord {
    h.user = Some(token.sub.clone());
    h.token = Some(token.clone());
    h
}

fn ips_text(ips: &[Ipv4Addr]) -> Vec<String> {
    ips.iter().map(|ip| ip.to_string()).collect()
}

/// Adds the actors of application-wide login detections to a login attack's truth: the
/// login action of the application's events and the gateway's login route, which rules that
/// count failures across the whole application (whatever the address) name.
fn login_actors(entry: TruthEntry) -> TruthEntry {
    entry
        .actor("event.action", vec!["user-login".into()])
        .actor("url.path", vec![LOGIN_PATH.into()])
}

const LOGIN_PATH: &str = "/api/v1/auth/login";

/// ~60 failed logins on one account in 10 minutes from two addresses.
fn password_guessing(w: &mut World, rng: &mut Rng) -> Plan {
    let mut plan = Plan::new();
    let u = random_background_user(w, rng);
    let (start, span) = w.place(rng, 10 * MINUTE_MS);
    let ips = [geo::random_addr(rng, "CN"), geo::random_addr(rng, "CN")];
    let user = &w.users[u];
    for ts in spread(rng, start, span, 60) {
        let ip = ips[usize::from(rng.chance(0.4))];
        plan.login_attempt(
            rng,
            ts,
            "attack/password-guessing",
            &user.name,
            &user.name,
            Some(user.id),
            ip,
            "CN",
            data::PYTHON_REQUESTS_UA,
            None,
        );
    }
    let entry = TruthEntry::new(
        "attack/password-guessing",
        format!(
            "60 failed logins for {} in {} minutes from 2 addresses",
            user.name,
            span / MINUTE_MS
        ),
    )
    .actor("user.name", vec![user.name.to_string()])
    .actor("source.ip", ips_text(&ips));
    w.register(login_actors(entry));
    plan
}

/// One address, one attempt for each of 80 accounts, all failing.
fn password_spraying(w: &mut World, rng: &mut Rng) -> Plan {
    let mut plan = Plan::new();
    let (start, span) = w.place(rng, 40 * MINUTE_MS);
    let ip = geo::random_addr(rng, "RU");
    let actor = ip.to_string();
    let mut targets: Vec<u32> = w.cast.background.clone();
    rng.shuffle(&mut targets);
    targets.truncate(80);
    let times = spread(rng, start, span, targets.len());
    for (ts, u) in times.into_iter().zip(&targets) {
        let user = &w.users[*u as usize];
        plan.login_attempt(
            rng,
            ts,
            "attack/password-spraying",
            &actor,
            &user.name,
            Some(user.id),
            ip,
            "RU",
            data::BROWSER_UAS[0],
            None,
        );
    }
    w.register(login_actors(
        TruthEntry::new(
            "attack/password-spraying",
            format!("one failed login for each of {} accounts from one address", targets.len()),
        )
        .actor("source.ip", vec![actor]),
    ));
    plan
}

/// 400 addresses, 1–2 attempts each over 2 hours, ~600 user names (most not ours), 1% succeed.
fn credential_stuffing(w: &mut World, rng: &mut Rng) -> Plan {
    const COUNTRIES: &[&str] =
        &["US", "BR", "IN", "VN", "ID", "RU", "CN", "UA", "MX", "PL", "DE", "FR"];
    let mut plan = Plan::new();
    let (start, span) = w.place(rng, 2 * HOUR_MS);
    let mut seen = HashSet::new();
    let mut ips: Vec<(Ipv4Addr, &'static str)> = Vec::new();
    while ips.len() < 400 {
        let cc = *rng.pick(COUNTRIES);
        let ip = geo::random_addr(rng, cc);
        if seen.insert(ip) {
            ips.push((ip, cc));
        }
    }
    // Attempts: 200 addresses try twice, 200 once.
    let mut attempts: Vec<usize> = (0..400).chain(0..200).collect();
    rng.shuffle(&mut attempts);
    // Names from a leaked list: ~40% are our users, the rest are not.
    let mut known: Vec<u32> = w.cast.background.clone();
    rng.shuffle(&mut known);
    known.truncate(240.min(known.len()));
    let mut names: Vec<(Arc<str>, Option<u64>)> = known
        .iter()
        .map(|&u| (w.users[u as usize].name.clone(), Some(w.users[u as usize].id)))
        .collect();
    let mut made = HashSet::new();
    while names.len() < attempts.len() {
        let n = format!(
            "{}_{}{}",
            rng.pick(data::FIRST_NAMES),
            rng.pick(data::LAST_NAMES),
            rng.range(10, 99)
        );
        if made.insert(n.clone()) {
            names.push((Arc::from(n), None));
        }
    }
    rng.shuffle(&mut names);
    let times = spread(rng, start, span, attempts.len());
    // 1% succeed: the first six known names in attempt order.
    let mut successes = Vec::new();
    for ((ts, ip_i), (name, id)) in times.into_iter().zip(attempts).zip(names) {
        let (ip, cc) = ips[ip_i];
        let ua = *rng.pick(data::BROWSER_UAS);
        let token = match id {
            Some(id) if successes.len() < 6 && rng.chance(0.05) => {
                successes.push(name.to_string());
                Some(Arc::new(Token::issue(
                    rng,
                    &name,
                    id,
                    crate::gen::USER_ROLES,
                    &crate::record::SHOP_WEB,
                    ts,
                    TOKEN_LIFETIME_MS,
                )))
            }
            _ => None,
        };
        plan.login_attempt(
            rng,
            ts,
            "attack/credential-stuffing",
            &ip.to_string(),
            &name,
            id,
            ip,
            cc,
            ua,
            token,
        );
    }
    let all: Vec<Ipv4Addr> = ips.iter().map(|(ip, _)| *ip).collect();
    let mut entry = TruthEntry::new(
        "attack/credential-stuffing",
        format!(
            "600 logins with leaked names from 400 addresses in {} minutes; succeeded for {}",
            span / MINUTE_MS,
            if successes.is_empty() { "none".to_string() } else { successes.join(", ") }
        ),
    )
    .actor("source.ip", ips_text(&all));
    if !successes.is_empty() {
        // The accounts taken over: now in the attacker's hands.
        entry = entry.actor("user.name", successes);
    }
    w.register(login_actors(entry));
    plan
}

/// 25 failures then a success on one account, and the intruder looking around.
fn account_takeover(w: &mut World, rng: &mut Rng) -> Plan {
    let mut plan = Plan::new();
    let u = random_background_user(w, rng);
    let (start, span) = w.place(rng, 8 * MINUTE_MS);
    let ip = geo::random_addr(rng, "VN");
    let ua = data::BROWSER_UAS[5];
    let user = &w.users[u];
    let name = user.name.clone();
    let times = spread(rng, start, span * 2 / 3, 26);
    for ts in &times[..25] {
        plan.login_attempt(
            rng,
            *ts,
            "attack/account-takeover",
            &name,
            &name,
            Some(user.id),
            ip,
            "VN",
            ua,
            None,
        );
    }
    let token = w.new_token(u, times[25], rng, TOKEN_LIFETIME_MS);
    let user = &w.users[u];
    plan.login_attempt(
        rng,
        times[25],
        "attack/account-takeover",
        &name,
        &name,
        Some(user.id),
        ip,
        "VN",
        ua,
        Some(token.clone()),
    );
    let id = user.id;
    let after = spread(rng, times[25] + SECOND_MS, span / 3, 5);
    let calls: [(&str, String, u16, u64); 5] = [
        ("GET", format!("/api/v1/users/{id}"), 200, 640),
        ("GET", "/api/v1/orders?page=1".into(), 200, 2_300),
        ("PUT", format!("/api/v1/users/{id}"), 200, 610),
        ("GET", format!("/api/v1/users/{id}"), 200, 650),
        ("POST", "/api/v1/orders".into(), 201, 1_240),
    ];
    for (ts, (m, uri, st, b)) in after.into_iter().zip(calls) {
        let mut h = authed(call((ip, "VN", ua), m, &uri, st, b, rng), &token);
        if m != "GET" {
            h.request_bytes = 120 + rng.below(200) as u32;
        }
        plan.http(ts, "attack/account-takeover", &name, h);
    }
    w.register(login_actors(
        TruthEntry::new(
            "attack/account-takeover",
            format!("25 failed logins then a success for {name}, then profile change and an order"),
        )
        .actor("user.name", vec![name.to_string()])
        .actor("source.ip", vec![ip.to_string()]),
    ));
    plan
}

/// Nikto: its user agent, its files, odd methods.
fn scanner(w: &mut World, rng: &mut Rng) -> Plan {
    let mut plan = Plan::new();
    let (start, span) = w.place(rng, 5 * MINUTE_MS);
    let ip = geo::random_addr(rng, "DE");
    let actor = ip.to_string();
    let n = 250;
    for (i, ts) in spread(rng, start, span, n).into_iter().enumerate() {
        let ua = if i == 0 { data::NIKTO_UAS[0] } else { *rng.pick(data::NIKTO_UAS) };
        let (method, uri, status) = match rng.below(10) {
            0 => (*rng.pick(&["OPTIONS", "TRACE", "PROPFIND", "HEAD"]), "/".to_string(), 405),
            1..=4 => (*rng.pick(&["GET", "HEAD"]), (*rng.pick(data::NIKTO_PATHS)).to_string(), 404),
            5 => ("GET", rng.pick(data::SENSITIVE_PATHS).0.to_string(), 404),
            _ => {
                let word = rng.pick(data::DIR_WORDS);
                let ext = rng.pick(&[".php", ".asp", ".cgi", ".jsp", ".bak", ".inc", ".pl"]);
                ("GET", format!("/{word}{ext}"), 404)
            }
        };
        let status = if uri == "/" && method == "HEAD" { 200 } else { status };
        plan.http(
            ts,
            "attack/scanner",
            &actor,
            call((ip, "DE", ua), method, &uri, status, 150 + rng.below(400), rng),
        );
    }
    w.register(
        TruthEntry::new(
            "attack/scanner",
            format!("Nikto: {n} requests in {} minutes", span / MINUTE_MS),
        )
        .actor("source.ip", vec![actor]),
    );
    plan
}

/// Probes for secrets left on the web root.
fn sensitive_files(w: &mut World, rng: &mut Rng) -> Plan {
    let mut plan = Plan::new();
    let (start, span) = w.place(rng, 3 * MINUTE_MS);
    let ip = geo::random_addr(rng, "US");
    let actor = ip.to_string();
    let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    let mut probes: Vec<(&str, u16)> = data::SENSITIVE_PATHS.to_vec();
    probes.extend_from_slice(data::SENSITIVE_PATHS);
    rng.shuffle(&mut probes);
    for (ts, (path, status)) in spread(rng, start, span, probes.len()).into_iter().zip(&probes) {
        plan.http(
            ts,
            "attack/sensitive-files",
            &actor,
            call((ip, "US", ua), "GET", path, *status, 150 + rng.below(50), rng),
        );
    }
    // Two probes whose user agent is a script payload, at the start of the sweep. They draw
    // from a generator of their own: the other probes do not depend on them.
    let mut agent_rng = Rng::derive(w.cfg.seed, "sensitive-files-agent");
    for (i, path) in ["/.env", "/.git/config"].into_iter().enumerate() {
        let h = call((ip, "US", data::XSS_USER_AGENT), "GET", path, 404, 150, &mut agent_rng);
        plan.http(start + i as i64 * SECOND_MS, "attack/sensitive-files", &actor, h);
    }
    w.register(
        TruthEntry::new(
            "attack/sensitive-files",
            format!(
                "{} probes for .env, .git/config, backups, actuator, wp-admin, phpmyadmin (two with a script payload as user agent)",
                probes.len() + 2
            ),
        )
        .actor("source.ip", vec![actor]),
    );
    plan
}

/// 300 made-up paths, most answering 404.
fn forced_browsing(w: &mut World, rng: &mut Rng) -> Plan {
    let mut plan = Plan::new();
    let (start, span) = w.place(rng, 6 * MINUTE_MS);
    let ip = geo::random_addr(rng, "UA");
    let actor = ip.to_string();
    let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    let mut paths = Vec::new();
    let mut seen = HashSet::new();
    while paths.len() < 300 {
        let a = rng.pick(data::DIR_WORDS);
        let b = rng.pick(data::DIR_WORDS);
        let ext = rng.pick(data::DIR_EXTS);
        let p = match rng.below(5) {
            0 => format!("/{a}{ext}"),
            1 => format!("/api/v1/{a}"),
            2 => format!("/api/v2/{a}/{b}"),
            3 => format!("/api/internal/{a}"),
            _ => format!("/{a}/{b}{ext}"),
        };
        if seen.insert(p.clone()) {
            paths.push(p);
        }
    }
    for (ts, p) in spread(rng, start, span, paths.len()).into_iter().zip(&paths) {
        let status = match rng.below(100) {
            0..90 => 404,
            90..95 => 403,
            95..98 => 401,
            _ => 200,
        };
        plan.http(
            ts,
            "attack/forced-browsing",
            &actor,
            call((ip, "UA", ua), "GET", p, status, 120 + rng.below(200), rng),
        );
    }
    w.register(
        TruthEntry::new(
            "attack/forced-browsing",
            "300 guessed paths, about 90% answering 404".into(),
        )
        .actor("source.ip", vec![actor]),
    );
    plan
}

/// Injection attempts, one address per kind: in the query, the user agent, Referer and
/// other headers.
fn injections(w: &mut World, rng: &mut Rng) -> Plan {
    struct Kind {
        scenario: &'static str,
        payloads: &'static [&'static str],
        ua: &'static str,
        cc: &'static str,
        what: &'static str,
    }
    let kinds = [
        Kind {
            scenario: "attack/sqli",
            payloads: data::SQLI,
            ua: data::SQLMAP_UA,
            cc: "CN",
            what: "SQL injection (sqlmap)",
        },
        Kind {
            scenario: "attack/xss",
            payloads: data::XSS,
            ua: data::BROWSER_UAS[4],
            cc: "BR",
            what: "cross-site scripting",
        },
        Kind {
            scenario: "attack/command-injection",
            payloads: data::CMDI,
            ua: data::CURL_UA,
            cc: "RU",
            what: "OS command injection",
        },
        Kind {
            scenario: "attack/path-traversal",
            payloads: data::TRAVERSAL,
            ua: data::PYTHON_REQUESTS_UA,
            cc: "IN",
            what: "path traversal",
        },
        Kind {
            scenario: "attack/ssti",
            payloads: data::SSTI,
            ua: data::PYTHON_REQUESTS_UA,
            cc: "VN",
            what: "template injection",
        },
        Kind {
            scenario: "attack/nosql-injection",
            payloads: data::NOSQL,
            ua: data::GO_HTTP_UA,
            cc: "ID",
            what: "NoSQL operator injection",
        },
        Kind {
            scenario: "attack/ssrf",
            payloads: data::SSRF,
            ua: data::CURL_UA,
            cc: "NL",
            what: "SSRF to cloud metadata and loopback",
        },
        Kind {
            scenario: "attack/jndi",
            payloads: &[data::JNDI_QUERY],
            ua: data::JNDI_UAS[0],
            cc: "NG",
            what: "Log4Shell JNDI lookups in the user agent, a header and the query",
        },
    ];
    let mut plan = Plan::new();
    for k in &kinds {
        let (start, span) = w.place(rng, 8 * MINUTE_MS);
        let ip = geo::random_addr(rng, k.cc);
        let actor = ip.to_string();
        let mut reqs: Vec<HttpRecord> = Vec::new();
        for _round in 0..3 {
            for p in k.payloads {
                let status = match rng.below(10) {
                    0..5 => 400,
                    5..7 => 200,
                    7..9 => 404,
                    _ => 500,
                };
                reqs.push(call((ip, k.cc, k.ua), "GET", p, status, 60 + rng.below(900), rng));
            }
        }
        match k.scenario {
            "attack/sqli" => {
                let mut h =
                    call((ip, k.cc, k.ua), "GET", "/api/v1/products?page=1", 200, 9_000, rng);
                h.referrer = data::SQLI_REFERER;
                reqs.push(h);
                let mut h =
                    call((ip, k.cc, k.ua), "GET", "/api/v1/products?page=2", 200, 9_000, rng);
                h.extra_headers.push(data::SQLI_HEADER);
                reqs.push(h);
            }
            "attack/xss" => {
                let mut h =
                    call((ip, k.cc, k.ua), "GET", "/api/v1/products?page=1", 200, 9_000, rng);
                h.referrer = data::XSS_REFERER;
                reqs.push(h);
            }
            "attack/jndi" => {
                for ua in data::JNDI_UAS {
                    reqs.push(call((ip, k.cc, ua), "GET", "/", 200, 5_400, rng));
                    reqs.push(call(
                        (ip, k.cc, ua),
                        "GET",
                        "/api/v1/products?page=1",
                        200,
                        9_000,
                        rng,
                    ));
                }
                let curl = (ip, k.cc, data::CURL_UA);
                let mut h = call(curl, "GET", "/api/v1/search?q=shoes", 200, 6_000, rng);
                h.extra_headers.push(("x-api-version", data::JNDI_HEADER));
                reqs.push(h);
            }
            _ => {}
        }
        rng.shuffle(&mut reqs);
        let n = reqs.len();
        for (ts, h) in spread(rng, start, span, n).into_iter().zip(reqs) {
            plan.http(ts, k.scenario, &actor, h);
        }
        w.register(
            TruthEntry::new(k.scenario, format!("{n} requests with {}", k.what))
                .actor("source.ip", vec![actor]),
        );
    }
    plan
}

/// One signed-in user walking other people's orders: 300 ids in 15 minutes.
fn bola(w: &mut World, rng: &mut Rng) -> Plan {
    let mut plan = Plan::new();
    let u = w.cast.bola as usize;
    let (start, span) = w.place(rng, 15 * MINUTE_MS);
    let (ip, cc) = (w.users[u].ips[0], w.users[u].country);
    plan_user_activity(
        w,
        rng,
        &mut plan,
        u,
        w.start_ms,
        start - 10 * MINUTE_MS,
        ip,
        cc,
        6.0,
        "benign/users",
    );
    let token = w.new_token(u, start - 2 * MINUTE_MS, rng, TOKEN_LIFETIME_MS);
    let user = &w.users[u];
    let name = user.name.clone();
    plan.login_attempt(
        rng,
        start - 2 * MINUTE_MS,
        "benign/users",
        &name,
        &name,
        Some(user.id),
        ip,
        cc,
        user.ua,
        Some(token.clone()),
    );
    let first =
        FIRST_ORDER_ID + rng.below(w.orders_end.saturating_sub(FIRST_ORDER_ID + 300).max(1));
    let own = user.first_order..user.first_order + u64::from(user.orders);
    for (i, ts) in spread(rng, start, span, 300).into_iter().enumerate() {
        let id = first + i as u64;
        let (status, bytes) = if own.contains(&id) || rng.chance(0.1) {
            (200, 900 + rng.below(1_100))
        } else if id < w.orders_end && rng.chance(0.8) {
            (403, 74)
        } else {
            (404, 52)
        };
        let mut uri = String::from("/api/v1/orders/");
        push_num(&mut uri, id);
        let h = authed(
            call((ip, cc, data::PYTHON_REQUESTS_UA), "GET", &uri, status, bytes, rng),
            &token,
        );
        plan.http(ts, "attack/bola", &name, h);
    }
    w.register(
        TruthEntry::new(
            "attack/bola",
            format!(
                "{name} requests 300 consecutive order ids in {} minutes, ~90% 403/404",
                span / MINUTE_MS
            ),
        )
        .actor("user.name", vec![name.to_string()])
        .actor("token.id", vec![token.jti.clone()])
        .actor("source.ip", vec![ip.to_string()]),
    );
    plan
}

/// A non-admin trying admin endpoints 30 times, all refused.
fn privilege_escalation(w: &mut World, rng: &mut Rng) -> Plan {
    let mut plan = Plan::new();
    let u = w.cast.privesc as usize;
    let (start, span) = w.place(rng, 8 * MINUTE_MS);
    let (ip, cc) = (w.users[u].ips[0], w.users[u].country);
    let tokens =
        plan_user_activity(w, rng, &mut plan, u, w.start_ms, w.end_ms, ip, cc, 6.0, "benign/users");
    let user = &w.users[u];
    let name = user.name.clone();
    for (i, ts) in spread(rng, start, span, 30).into_iter().enumerate() {
        let token =
            token_at(&tokens, ts).unwrap_or_else(|| w.new_token(u, ts, rng, TOKEN_LIFETIME_MS));
        let (method, uri) = match i % 9 {
            7 => ("DELETE", format!("/api/v1/admin/users/{}", 10_000 + rng.below(500))),
            8 => ("PUT", format!("/api/v1/admin/users/{}/roles", user.id)),
            k => {
                let (m, p) = data::ADMIN_PROBES[k % data::ADMIN_PROBES.len()];
                (m, p.to_string())
            }
        };
        let mut h = authed(call((ip, cc, user.ua), method, &uri, 403, 89, rng), &token);
        if method != "GET" && method != "DELETE" {
            h.request_bytes = 60 + rng.below(100) as u32;
        }
        plan.http(ts, "attack/privilege-escalation", &name, h);
    }
    w.register(
        TruthEntry::new(
            "attack/privilege-escalation",
            format!("{name} (role user) calls admin endpoints 30 times, all 403"),
        )
        .actor("user.name", vec![name.to_string()])
        .actor("source.ip", vec![ip.to_string()]),
    );
    plan
}

/// The victim keeps using the token at home while a thief replays it from abroad.
fn stolen_token(w: &mut World, rng: &mut Rng) -> Plan {
    let mut plan = Plan::new();
    let u = w.cast.token_victim as usize;
    let (start, span) = w.place(rng, 30 * MINUTE_MS);
    let (ip, cc) = (w.users[u].ips[0], w.users[u].country);
    let login_at = start - 20 * MINUTE_MS;
    plan_user_activity(
        w,
        rng,
        &mut plan,
        u,
        w.start_ms,
        login_at - MINUTE_MS,
        ip,
        cc,
        6.0,
        "benign/users",
    );
    let token = w.new_token(u, login_at, rng, TOKEN_LIFETIME_MS);
    let user = &w.users[u];
    let name = user.name.clone();
    plan.login_attempt(
        rng,
        login_at,
        "benign/users",
        &name,
        &name,
        Some(user.id),
        ip,
        cc,
        user.ua,
        Some(token.clone()),
    );
    // The victim, at home, every few minutes until well after the theft.
    let resume = start + span + 30 * MINUTE_MS;
    let mut t = login_at as f64;
    loop {
        t += rng.exp1() * 3.0 * MINUTE_MS as f64;
        if t as i64 >= resume {
            break;
        }
        let mut h = HttpRecord::default();
        fill_user_call(rng, user, Some(token.clone()), ip, cc, &mut h, false);
        plan.http(t as i64, "benign/users", &name, h);
    }
    plan_user_activity(w, rng, &mut plan, u, resume, w.end_ms, ip, cc, 6.0, "benign/users");
    // The thief.
    let thief_cc = if cc == "NG" { "RU" } else { "NG" };
    let thief = geo::random_addr(rng, thief_cc);
    let id = user.id;
    for (i, ts) in spread(rng, start, span, 40).into_iter().enumerate() {
        let (m, uri, bytes) = match i % 6 {
            0 => ("GET", format!("/api/v1/users/{id}"), 640),
            1 => ("GET", "/api/v1/orders?page=1".to_string(), 2_400),
            2 if user.orders > 0 => (
                "GET",
                format!("/api/v1/orders/{}", user.first_order + rng.below(u64::from(user.orders))),
                1_500,
            ),
            3 => ("GET", format!("/api/v1/users/{id}/payment-methods"), 820),
            4 if i > 20 => ("PUT", format!("/api/v1/users/{id}"), 600),
            _ => ("GET", format!("/api/v1/products/{}", 1 + rng.below(5_000)), 2_100),
        };
        let mut h =
            authed(call((thief, thief_cc, data::BROWSER_UAS[6]), m, &uri, 200, bytes, rng), &token);
        if m == "PUT" {
            h.request_bytes = 140;
        }
        plan.http(ts, "attack/stolen-token", &name, h);
    }
    w.register(
        TruthEntry::new(
            "attack/stolen-token",
            format!("{name}'s token (jti {}) used from {thief_cc} while the owner keeps using it from {cc}", token.jti),
        )
        .actor("token.id", vec![token.jti.clone()])
        .actor("user.name", vec![name.to_string()])
        .actor("source.ip", vec![thief.to_string()]),
    );
    plan
}

/// An admin's account signs in from a country never seen for it and changes things.
fn admin_new_country(w: &mut World, rng: &mut Rng) -> Plan {
    let mut plan = Plan::new();
    let u = w.cast.admins[0] as usize;
    let (start, span) = w.place(rng, 10 * MINUTE_MS);
    let home = w.users[u].country;
    let cc = *rng.pick(&["RU", "NG", "VN", "UA", "ID", "CN"]);
    debug_assert_ne!(cc, home);
    let ip = geo::random_addr(rng, cc);
    let ua = data::BROWSER_UAS[6];
    let token = w.new_token(u, start, rng, TOKEN_LIFETIME_MS);
    let user = &w.users[u];
    let name = user.name.clone();
    plan.login_attempt(
        rng,
        start,
        "attack/admin-new-country",
        &name,
        &name,
        Some(user.id),
        ip,
        cc,
        ua,
        Some(token.clone()),
    );
    let times = spread(rng, start + 20 * SECOND_MS, span - 20 * SECOND_MS, 6);
    let acts: [(&str, &str, &str, u16); 6] = [
        ("GET", "/api/v1/admin/users?page=1", "/api/v1/admin/users", 200),
        ("POST", "/api/v1/admin/users", "/api/v1/admin/users", 201),
        ("PUT", "/api/v1/admin/users/{new}/roles", "/api/v1/admin/users/{id}/roles", 200),
        ("POST", "/api/v1/admin/api-keys", "/api/v1/admin/api-keys", 201),
        ("GET", "/api/v1/admin/config", "/api/v1/admin/config", 200),
        ("POST", "/api/v1/admin/users", "/api/v1/admin/users", 201),
    ];
    let new_id = 10_000 + u64::from(w.cfg.users.max(crate::gen::USERS_MIN)) + 1;
    for (ts, (m, uri, route, status)) in times.into_iter().zip(acts) {
        let mut h = admin_call(rng, ip, cc, ua);
        h.method = m;
        h.uri.clear();
        h.uri.push_str(&uri.replace("{new}", &new_id.to_string()));
        h.route = route;
        h.status = status;
        h.request_bytes = if m == "GET" { 0 } else { 90 + rng.below(150) as u32 };
        plan.http(ts, "attack/admin-new-country", &name, authed(h, &token));
    }
    w.register(
        TruthEntry::new("attack/admin-new-country", format!("admin {name} (home {home}) signs in from {cc} and creates users, roles and API keys"))
            .actor("user.name", vec![name.to_string()])
            .actor("source.ip", vec![ip.to_string()])
            .actor("source.geo.country_iso_code", vec![cc.to_string()]),
    );
    plan
}

/// partner-globex pulls 50 times its usual night's volume.
fn bulk_exfiltration(w: &mut World, rng: &mut Rng) -> Plan {
    let mut plan = Plan::new();
    let (start, span) = globex_exfil_window(w);
    let ip = globex_ip(w);
    let user: Arc<str> = Arc::from(PARTNER_GLOBEX.name);
    for (i, ts) in spread(rng, start, span, 500).into_iter().enumerate() {
        plan.http(
            ts,
            "attack/bulk-exfiltration",
            PARTNER_GLOBEX.name,
            globex_call(rng, ip, &user, i as u64 + 1),
        );
    }
    w.register(
        TruthEntry::new(
            "attack/bulk-exfiltration",
            "partner-globex pulls 500 export pages (~50 MB) in one night; usually 10 (~1 MB) a day"
                .into(),
        )
        .actor("consumer.name", vec![PARTNER_GLOBEX.name.into()])
        // Gateways that log the consumer as the authenticated user (nginx's $remote_user).
        .actor("user.name", vec![PARTNER_GLOBEX.name.into()])
        .actor("source.ip", vec![ip.to_string()]),
    );
    plan
}

/// Fewest searches per second in the flood: a flood is the attacker's rate, whatever the size
/// of the service (twenty times a small shop's usual searches would be a trickle).
const FLOOD_MIN_PER_S: f64 = 15.0;

/// Searches from one /24 at 20 times the route's usual rate (at least [`FLOOD_MIN_PER_S`])
/// for 15 minutes, in the last quarter of the run (judged against the route's learnt normal).
struct Flood {
    rng: Rng,
    next_ms: f64,
    end: i64,
    rate_per_ms: f64,
    ips: Vec<Ipv4Addr>,
    net: String,
    cc: &'static str,
}

impl Flood {
    fn new(w: &mut World, mut rng: Rng) -> Flood {
        let (start, span) = w.place_late(&mut rng, 15 * MINUTE_MS);
        let cc = "RU";
        let net: Prefix = geo::random_net24(&mut rng, cc);
        let mut hosts: Vec<u32> = (1..255).collect();
        rng.shuffle(&mut hosts);
        let ips: Vec<Ipv4Addr> =
            hosts[..40].iter().map(|&h| Ipv4Addr::from(net.base() + h)).collect();
        let usual_per_s = w.cfg.requests_per_s * SEARCH_SHARE * daily_curve(start);
        let per_s = (20.0 * usual_per_s).max(FLOOD_MIN_PER_S);
        let net_text = net.to_string();
        w.register(
            TruthEntry::new(
                "attack/flood",
                format!("{per_s:.1} searches/s (20x usual, at least {FLOOD_MIN_PER_S}) from 40 addresses of {net_text} for {} minutes", span / MINUTE_MS),
            )
            .actor("source.network", vec![net_text.clone()])
            .actor("http.route", vec!["/api/v1/search".into(), kong_route_name("/api/v1/search").into()])
            .actor("source.ip", ips_text(&ips)),
        );
        Flood {
            rng,
            next_ms: start as f64,
            end: start + span,
            rate_per_ms: per_s / 1000.0,
            ips,
            net: net_text,
            cc,
        }
    }
}

impl Stream for Flood {
    fn peek(&self) -> Option<i64> {
        (self.next_ms < self.end as f64).then_some(self.next_ms as i64)
    }
    fn emit(&mut self, _w: &mut World, rec: &mut Record) {
        let rng = &mut self.rng;
        rec.ts_ms = self.next_ms as i64;
        self.next_ms += rng.exp1() / self.rate_per_ms;
        rec.scenario = "attack/flood";
        rec.actor.clear();
        rec.actor.push_str(&self.net);
        let h = rec.begin_http();
        h.client_ip = *rng.pick(&self.ips);
        h.country = self.cc;
        h.uri.push_str("/api/v1/search?q=");
        let term = *rng.pick(data::SEARCH_TERMS);
        h.uri.push_str(term);
        h.uri.push_str("&page=");
        push_num(&mut h.uri, 1 + rng.below(20));
        h.route = "/api/v1/search";
        h.user_agent =
            *rng.pick(&[data::GO_HTTP_UA, data::PYTHON_REQUESTS_UA, data::BROWSER_UAS[1]]);
        if rng.chance(0.02) {
            h.status = 503;
            h.response_bytes = 150;
        } else {
            h.response_bytes = 4_000 + rng.below(12_000);
        }
        h.upstream_ms = 150 + rng.below(600) as u32;
        h.duration_ms = h.upstream_ms + 2;
    }
}

/// One token reading a customer record a minute, for the whole run.
struct SlowPull {
    rng: Rng,
    n: u64,
    t0: i64,
    end_ms: i64,
    ip: Ipv4Addr,
    cc: &'static str,
    name: Arc<str>,
    token: Arc<Token>,
}

impl SlowPull {
    fn new(w: &mut World, mut rng: Rng) -> SlowPull {
        let u = w.cast.slow_pull as usize;
        // A long-lived ("remember me") token issued three days before the run.
        let token = w.new_token(u, w.start_ms - 3 * DAY_MS, &mut rng, 90 * DAY_MS);
        let user = &w.users[u];
        let (ip, cc, name) = (user.ips[0], user.country, user.name.clone());
        w.register(
            TruthEntry::new("attack/slow-exfiltration", format!("{name}'s token reads /api/v1/customers/{{id}} once a minute, id after id, for the whole run"))
                .actor("user.name", vec![name.to_string()])
                .actor("token.id", vec![token.jti.clone()])
                .actor("source.ip", vec![ip.to_string()]),
        );
        let t0 = w.start_ms + rng.range(0, MINUTE_MS - 3 * SECOND_MS);
        SlowPull { rng, n: 0, t0, end_ms: w.end_ms, ip, cc, name, token }
    }
    fn ts(&self) -> i64 {
        // ±2 s of jitter on a 60 s period keeps the order.
        let j = (self.n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 60) as i64 * 250 - 2_000;
        self.t0 + self.n as i64 * MINUTE_MS + j.clamp(-2_000, 2_000) + 2_000
    }
}

impl Stream for SlowPull {
    fn peek(&self) -> Option<i64> {
        let ts = self.ts();
        (ts < self.end_ms).then_some(ts)
    }
    fn emit(&mut self, _w: &mut World, rec: &mut Record) {
        rec.ts_ms = self.ts();
        let id = 200_000 + self.n;
        self.n += 1;
        rec.scenario = "attack/slow-exfiltration";
        rec.actor.clear();
        rec.actor.push_str(&self.name);
        let h = rec.begin_http();
        h.client_ip = self.ip;
        h.country = self.cc;
        h.uri.push_str("/api/v1/customers/");
        push_num(&mut h.uri, id);
        h.route = "/api/v1/customers/{id}";
        h.response_bytes = 1_800 + self.rng.below(800);
        h.upstream_ms = 9 + self.rng.below(20) as u32;
        h.duration_ms = h.upstream_ms + 1;
        h.user_agent = data::PYTHON_REQUESTS_UA;
        h.user = Some(self.name.clone());
        h.token = Some(self.token.clone());
    }
}
