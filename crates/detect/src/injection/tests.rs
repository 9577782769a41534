//! Tests of the whole detector: one value through decoding, prefilter and precise checks;
//! requests through `scan_request`; arbitrary input never panicking.

use super::*;
use apiwatch_core::EventData;
use proptest::prelude::*;
use std::sync::OnceLock;

fn detector() -> &'static InjectionDetector {
    static DETECTOR: OnceLock<InjectionDetector> = OnceLock::new();
    DETECTOR.get_or_init(InjectionDetector::new)
}

fn classes(raw: &str) -> AttackSet {
    detector().scan_value(raw, AttackSet::ALL)
}

#[track_caller]
fn assert_class(class: AttackClass, raw: &str) {
    let found = classes(raw);
    assert!(found.contains(class), "{raw:?}: expected {class}, found {found:?}");
    assert!(detector().scan_value(raw, AttackSet::of(class)).contains(class), "{raw:?} alone");
}

#[track_caller]
fn assert_clean(raw: &str) {
    let found = classes(raw);
    assert!(found.is_empty(), "{raw:?}: expected nothing, found {found:?}");
}

#[test]
fn detector_is_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<InjectionDetector>();
}

#[test]
fn one_positive_per_class_encoded() {
    assert_class(AttackClass::Sqli, "1%27%20OR%20%271%27%3D%271");
    assert_class(AttackClass::Sqli, "-1945+/*!%55NiOn*/%20/*!%53eLEct*/+1,2,3");
    assert_class(AttackClass::Xss, "%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    assert_class(AttackClass::Xss, "%253Csvg%252Fonload%253Dalert(1)%253E");
    assert_class(AttackClass::Cmdi, "%3Bcat%20%2Fetc%2Fpasswd");
    assert_class(AttackClass::PathTraversal, "..%252f..%252f..%252fetc%252fpasswd");
    assert_class(AttackClass::Ssti, "%7B%7B7*7%7D%7D");
    assert_class(AttackClass::Nosql, "user%5B%24ne%5D");
    assert_class(AttackClass::Ssrf, "http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data");
    assert_class(AttackClass::Jndi, "%24%7Bjndi%3Aldap%3A%2F%2Fx%2Fa%7D");
    assert_class(AttackClass::Jndi, "\\u0024{jndi:ldap://x/a}");
    assert_class(AttackClass::Crlf, "%0d%0aSet-Cookie:%20a=b");
}

#[test]
fn ordinary_api_values() {
    for raw in [
        "/api/v1/users/123/orders",
        "page=2",
        "desc",
        "q=rock+%26+roll",
        "O'Brien",
        "O%27Brien",
        "john.doe+tag@example.com",
        "{\"name\":\"Ann\",\"tags\":[\"a\",\"b\"],\"age\":42}",
        "/docs/{{version}}/getting-started",
        "docs/guide/../intro.md",
        "https://www.example.com/callback?state=abc&code=123",
        "2015-05-17T10:05:03+00:00",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "en-US,en;q=0.9",
        "W/\"33a64df551425fcc55e4d42a148795d9f25f89d4\"",
        "max-age=0",
        "100%",
        "50% off & free shipping!",
        "C:\\Users\\Public\\Documents",
        "The Senora found herself a heroine; more than that, she became aware",
        "I'm afraid so. You're entirely bonkers.",
        "SELECT your seat",
    ] {
        assert_clean(raw);
    }
}

#[test]
fn wanted_limits_what_is_computed() {
    let raw = "1' OR '1'='1";
    assert_eq!(detector().scan_value(raw, AttackSet::of(AttackClass::Xss)), AttackSet::EMPTY);
    assert_eq!(detector().scan_value(raw, AttackSet::EMPTY), AttackSet::EMPTY);
    assert!(detector()
        .scan_value(raw, AttackSet::of(AttackClass::Sqli))
        .contains(AttackClass::Sqli));
}

#[test]
fn long_values_are_capped_and_counted() {
    let detector = InjectionDetector::new().with_scan_bytes_max(1024);
    let padding = "a".repeat(100_000);
    // A payload after the padding is still seen (the tail window) …
    let tail = format!("{padding}<script>alert(1)</script>");
    assert!(detector.scan_value(&tail, AttackSet::ALL).contains(AttackClass::Xss));
    // … and one before it (the head window).
    let head = format!("<script>alert(1)</script>{padding}");
    assert!(detector.scan_value(&head, AttackSet::ALL).contains(AttackClass::Xss));
    assert_eq!(detector.stats().values_truncated, 2);
    assert_eq!(
        InjectionDetector::new().with_scan_bytes_max(1).scan_bytes_max(),
        SCAN_BYTES_MAX_MIN
    );
}

fn request(path: &str, query: Option<&str>) -> EventData {
    EventData {
        url_path: Some(path.into()),
        url_query: query.map(str::to_string).map(Into::into),
        user_agent: Some(
            "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0".into(),
        ),
        referrer: Some("http://localhost:3000/dashboard?tab=1".into()),
        headers: vec![
            ("accept".into(), "application/json".into()),
            ("authorization".into(), "hdr_0011223344556677".into()),
        ],
        ..EventData::default()
    }
}

#[test]
fn request_parts() {
    let d = detector();
    let clean = request("/api/v1/users/123/orders", Some("page=2&sort=desc"));
    assert_eq!(d.scan_request(&clean, AttackSet::ALL), AttackSet::EMPTY);

    let in_query = request("/search", Some("q=1%27%20or%201%3D1--&page=2"));
    assert_eq!(d.scan_request(&in_query, AttackSet::ALL), AttackSet::of(AttackClass::Sqli));

    let in_name = request("/login", Some("user%5B%24ne%5D=x&password%5B%24ne%5D=y"));
    assert!(d.scan_request(&in_name, AttackSet::ALL).contains(AttackClass::Nosql));

    let in_path = request("/files/..%2f..%2f..%2fetc%2fpasswd", None);
    assert!(d.scan_request(&in_path, AttackSet::ALL).contains(AttackClass::PathTraversal));

    let mut in_agent = request("/", None);
    in_agent.user_agent = Some("${jndi:ldap://x.example/a}".into());
    assert_eq!(d.scan_request(&in_agent, AttackSet::ALL), AttackSet::of(AttackClass::Jndi));

    let mut in_header = request("/", None);
    in_header.headers.push(("x-api-version".into(), "() { :;}; /bin/bash -c id".into()));
    assert!(d.scan_request(&in_header, AttackSet::ALL).contains(AttackClass::Cmdi));

    // The localhost referrer is not SSRF; a localhost URL in a parameter is.
    let ssrf = request("/fetch", Some("url=http%3A%2F%2Flocalhost%3A8080%2Fadmin"));
    assert_eq!(d.scan_request(&ssrf, AttackSet::ALL), AttackSet::of(AttackClass::Ssrf));

    // A user agent known only as a header is scanned as a header.
    let mut header_agent = request("/", None);
    header_agent.user_agent = None;
    header_agent.headers.push(("user-agent".into(), "${jndi:ldap://x/a}".into()));
    assert_eq!(d.scan_request(&header_agent, AttackSet::ALL), AttackSet::of(AttackClass::Jndi));

    // Pseudonymised secrets are not scanned, whatever they look like.
    let mut secret = request("/", None);
    secret.headers.push(("cookie".into(), "<script>alert(1)</script>".into()));
    assert_eq!(d.scan_request(&secret, AttackSet::ALL), AttackSet::EMPTY);
}

#[test]
fn request_values_are_capped() {
    let detector = InjectionDetector::new();
    let query: Vec<String> = (0..REQUEST_VALUES_MAX).map(|i| format!("p{i}=v")).collect();
    let query = format!("{}&late=%3Cscript%3Ealert(1)%3C/script%3E", query.join("&"));
    let ev = request("/", Some(&query));
    assert_eq!(detector.scan_request(&ev, AttackSet::ALL), AttackSet::EMPTY);
    assert!(detector.stats().request_values_skipped > 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(s in ".{0,300}") {
        let _ = classes(&s);
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = detector().scan_bytes(&b, AttackSet::ALL);
    }

    #[test]
    fn payload_alphabet_never_panics(s in "[%0-9a-fA-FuxX\\\\.$/{}<>'\";|&`()=:\\[\\] \n\r#*@!-]{0,200}") {
        // Dense in the bytes the decoders and checks branch on.
        let _ = classes(&s);
    }
}
