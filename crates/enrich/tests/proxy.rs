//! The client address behind proxies: X-Forwarded-For chains (with spoofed entries),
//! `Forwarded`, X-Real-IP, untrusted peers.

mod common;

use apiwatch_core::EventData;
use apiwatch_enrich::EnrichConfig;
use common::{with_headers, worker};

fn resolve(peer: Option<&str>, xff: Option<&str>, headers: &[(&str, &str)]) -> EventData {
    let mut w = worker(&EnrichConfig::default());
    let mut ev = with_headers(headers);
    ev.source_ip = peer.map(|p| p.parse().unwrap());
    ev.source_port = peer.map(|_| 44321);
    ev.forwarded_for = xff.map(String::from).map(Into::into);
    w.enrich(&mut ev);
    ev
}

fn ip(ev: &EventData) -> String {
    ev.source_ip.map(|i| i.to_string()).unwrap_or_default()
}

#[test]
fn xff_chains_resolve_to_the_right_most_untrusted_entry() {
    // (peer, X-Forwarded-For, expected client)
    let cases = [
        // One proxy in front.
        ("10.0.0.2", "203.0.113.7", "203.0.113.7"),
        // Client forged entries on the left; the proxy appended the real peer on the right.
        ("10.0.0.2", "1.1.1.1, 203.0.113.7", "203.0.113.7"),
        ("10.0.0.2", "127.0.0.1, 10.9.9.9, 203.0.113.7", "203.0.113.7"),
        ("10.0.0.2", "8.8.8.8,203.0.113.7, 10.0.0.9, 192.168.1.4", "203.0.113.7"),
        // Ports, quotes, IPv6, brackets.
        ("127.0.0.1", "\"203.0.113.7:51000\"", "203.0.113.7"),
        ("::1", "2001:db8::7", "2001:db8::7"),
        ("fd00::1", "[2001:db8::8]:443, fd00::2", "2001:db8::8"),
        ("10.0.0.2", "::ffff:198.51.100.9", "198.51.100.9"),
        // Every hop internal: the left-most is the client (an office behind two balancers).
        ("10.0.0.2", "192.168.5.20, 10.0.0.3", "192.168.5.20"),
        // `unknown` stops the walk; the nearest known hop is the best answer.
        ("10.0.0.2", "198.51.100.1, unknown, 10.0.0.3", "10.0.0.3"),
        ("10.0.0.2", "unknown", "10.0.0.2"),
        // Empty entries are skipped.
        ("10.0.0.2", "203.0.113.7,, ", "203.0.113.7"),
    ];
    for (peer, xff, want) in cases {
        let ev = resolve(Some(peer), Some(xff), &[]);
        assert_eq!(ip(&ev), want, "peer {peer}, XFF {xff:?}");
        if want != peer {
            assert_eq!(ev.label("source.peer_ip"), Some(peer), "{xff:?}");
        } else {
            assert_eq!(ev.label("source.peer_ip"), None, "{xff:?}");
        }
    }
}

#[test]
fn an_untrusted_peer_cannot_choose_its_address() {
    let ev = resolve(Some("198.51.100.66"), Some("203.0.113.7"), &[]);
    assert_eq!(ip(&ev), "198.51.100.66");
    assert_eq!(ev.label("source.peer_ip"), None);
    let ev = resolve(Some("198.51.100.66"), None, &[("x-forwarded-for", "10.0.0.1")]);
    assert_eq!(ip(&ev), "198.51.100.66");
}

#[test]
fn the_peer_port_moves_to_a_label_and_the_clients_port_is_kept_if_known() {
    let ev = resolve(Some("10.0.0.2"), Some("203.0.113.7:51000"), &[]);
    assert_eq!(ev.source_port, Some(51000));
    assert_eq!(ev.label("source.peer_port"), Some("44321"));
    let ev = resolve(Some("10.0.0.2"), Some("203.0.113.7"), &[]);
    assert_eq!(ev.source_port, None);
}

#[test]
fn request_headers_are_used_when_the_log_has_no_forwarded_field() {
    let ev = resolve(Some("10.0.0.2"), None, &[("x-forwarded-for", "9.9.9.9, 203.0.113.7")]);
    assert_eq!(ip(&ev), "203.0.113.7");
    // Two X-Forwarded-For lines are one list, in order.
    let ev = resolve(
        Some("10.0.0.2"),
        None,
        &[("x-forwarded-for", "203.0.113.7"), ("x-forwarded-for", "10.0.0.5")],
    );
    assert_eq!(ip(&ev), "203.0.113.7");
    let ev = resolve(
        Some("10.0.0.2"),
        None,
        &[(
            "forwarded",
            "for=192.0.2.43;proto=https, for=\"[2001:db8:cafe::17]:4711\";by=10.0.0.2",
        )],
    );
    assert_eq!(ip(&ev), "2001:db8:cafe::17");
    assert_eq!(ev.source_port, Some(4711));
    let ev = resolve(Some("10.0.0.2"), None, &[("forwarded", "for=unknown")]);
    assert_eq!(ip(&ev), "10.0.0.2");
    let ev = resolve(Some("10.0.0.2"), None, &[("x-real-ip", "203.0.113.9")]);
    assert_eq!(ip(&ev), "203.0.113.9");
    // The logged field wins over headers.
    let ev = resolve(Some("10.0.0.2"), Some("198.51.100.1"), &[("x-real-ip", "203.0.113.9")]);
    assert_eq!(ip(&ev), "198.51.100.1");
}

#[test]
fn a_forwarded_header_in_the_logged_field_is_understood() {
    let ev = resolve(Some("10.0.0.2"), Some("for=198.51.100.17;proto=https"), &[]);
    assert_eq!(ip(&ev), "198.51.100.17");
}

#[test]
fn without_a_peer_the_chain_gives_the_address() {
    let ev = resolve(None, Some("1.2.3.4, 203.0.113.7, 10.0.0.1"), &[]);
    assert_eq!(ip(&ev), "203.0.113.7");
    assert_eq!(ev.label("source.peer_ip"), None);
    let ev = resolve(None, Some("-"), &[]);
    assert_eq!(ev.source_ip, None);
}

#[test]
fn custom_trusted_proxies_replace_the_defaults() {
    let cfg = EnrichConfig {
        trusted_proxies: vec!["198.51.100.0/24".parse().unwrap()],
        ..EnrichConfig::default()
    };
    let mut w = worker(&cfg);
    let mut ev = EventData {
        source_ip: Some("198.51.100.10".parse().unwrap()),
        forwarded_for: Some("10.1.1.1, 198.51.100.11".into()),
        ..EventData::default()
    };
    w.enrich(&mut ev);
    // 10.1.1.1 is not trusted under this configuration, so it is the client.
    assert_eq!(ip(&ev), "10.1.1.1");
    let mut ev = EventData {
        source_ip: Some("10.0.0.2".parse().unwrap()),
        forwarded_for: Some("203.0.113.7".into()),
        ..EventData::default()
    };
    w.enrich(&mut ev);
    assert_eq!(ip(&ev), "10.0.0.2");
    let s = w.stats();
    assert_eq!((s.client_from_forwarded, s.forwarded_untrusted_peer), (1, 1));
}
