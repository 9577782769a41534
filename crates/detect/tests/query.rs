//! The search filter language: every operator on every kind of field, precedence, quoting,
//! errors placed at their column, and the segment-skipping analyses (actor keys, time bounds)
//! checked for soundness against the matcher itself.

// One module, so that `cargo test query` selects these tests by their path.
mod query {
    use apiwatch_core::{EventData, Field, Geo, Outcome, UaClass};
    use apiwatch_detect::query::{KeyNeed, Query, TimeBounds, QUERY_BYTES_MAX, QUERY_DEPTH_MAX};
    use std::sync::Arc;

    fn q(text: &str) -> Query {
        Query::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn hit(text: &str, ev: &EventData) -> bool {
        q(text).matches(ev)
    }

    /// 2026-11-23T20:31:00.250Z
    const EVENT_MS: i64 = 1_795_465_860_250;

    /// An event with most fields set.
    fn full() -> EventData {
        EventData {
            timestamp_ms: EVENT_MS,
            dataset: "kong",
            source_ip: Some("203.0.113.7".parse().unwrap()),
            source_port: Some(51_234),
            geo: Some(Arc::new(Geo {
                country_iso_code: Some("RU".into()),
                city_name: Some("Saint Petersburg".into()),
                location: None,
                as_number: Some(64_500),
                as_organization: Some("Example Net".into()),
            })),
            user_name: Some("bob smith".into()),
            user_id: Some("u-42".into()),
            user_roles: vec!["reader".into(), "admin".into()],
            token_id: Some("tok-1".into()),
            api_key_id: Some("key-9".into()),
            http_method: Some("POST".into()),
            url_path: Some("/api/v1/users/42".into()),
            status_code: Some(503),
            request_bytes: Some(120),
            response_bytes: Some(4_096),
            response_records: Some(7),
            duration_ns: Some(1_500_000_000),
            user_agent: Some("sqlmap/1.7 (https://sqlmap.org)".into()),
            user_agent_class: Some(UaClass::Scanner),
            event_outcome: Some(Outcome::Failure),
            headers: vec![
                ("user-agent".into(), "SQLMap/1.7".into()),
                ("content-length".into(), "120".into()),
            ],
            labels: vec![("tenant".into(), "acme".into()), ("latency_ms".into(), "950".into())],
            ..Default::default()
        }
    }

    /// An event with nothing but its time.
    fn bare() -> EventData {
        EventData { timestamp_ms: EVENT_MS, ..Default::default() }
    }

    // ---- operators by field kind ----------------------------------------------------------

    #[test]
    fn text_equality_is_exact_and_case_sensitive() {
        let ev = full();
        assert!(hit("http.request.method=POST", &ev));
        assert!(!hit("http.request.method=post", &ev));
        assert!(!hit("http.request.method=POS", &ev));
        assert!(hit("http.request.method!=GET", &ev));
        assert!(!hit("http.request.method!=POST", &ev));
        assert!(hit(r#"user.name="bob smith""#, &ev));
        assert!(!hit("user.name=bob", &ev));
        assert!(hit("source.geo.city_name=\"Saint Petersburg\"", &ev));
        assert!(hit("source.as.organization.name=\"Example Net\"", &ev));
        assert!(hit("event.dataset=kong", &ev));
    }

    #[test]
    fn text_wildcards_match_the_whole_value() {
        let ev = full();
        assert!(hit("url.path=/api/v1/users/*", &ev));
        assert!(!hit("url.path=/api/v1/*/99", &ev));
        assert!(hit("url.path=/api/*/users/??", &ev));
        assert!(!hit("url.path=/api/*/users/?", &ev));
        assert!(hit("url.path=*", &ev));
        assert!(hit("url.path=*42", &ev));
        assert!(!hit("url.path=*4", &ev), "a pattern must reach the end of the value");
        assert!(hit("url.path=/*p*/*s*", &ev), "a*b*c style with backtracking");
        assert!(hit("user.name=b?b*", &ev));
        assert!(hit("user.name!=svc-*", &ev));
        let svc = EventData { user_name: Some("svc-backup".into()), ..bare() };
        assert!(!hit("user.name!=svc-*", &svc));
        assert!(hit("user.name=svc-*", &svc));
        let star = EventData { user_name: Some("a*".into()), ..bare() };
        assert!(hit(r"user.name=a\*", &star));
        assert!(!hit(r"user.name=a\*", &svc));
    }

    #[test]
    fn addresses_match_exactly_or_by_network() {
        let ev = full();
        assert!(hit("source.ip=203.0.113.7", &ev));
        assert!(!hit("source.ip=203.0.113.8", &ev));
        assert!(hit("source.ip=203.0.113.0/24", &ev));
        assert!(hit("source.ip=203.0.113.7/32", &ev));
        assert!(hit("source.ip=203.0.113.9/24", &ev), "host bits of a network are ignored");
        assert!(!hit("source.ip=10.0.0.0/8", &ev));
        assert!(hit("source.ip!=10.0.0.0/8", &ev));
        assert!(hit("source.ip=::ffff:203.0.113.7", &ev), "mapped form of the same client");
        assert!(hit("source.ip=0.0.0.0/0", &ev));
        assert!(!hit("source.ip=::/0", &ev), "an IPv4 client is not in the IPv6 space");

        let v6 = EventData { source_ip: Some("2001:db8:1:2::5".parse().unwrap()), ..bare() };
        assert!(hit("source.ip=2001:db8::/32", &v6));
        assert!(hit("source.ip=2001:db8:1:2::5", &v6));
        assert!(!hit("source.ip=2001:db8:2::/48", &v6));
        assert!(!hit("source.ip=203.0.113.0/24", &v6));

        let mapped = EventData { source_ip: Some("::ffff:10.1.2.3".parse().unwrap()), ..bare() };
        assert!(hit("source.ip=10.0.0.0/8", &mapped));
        assert!(hit("source.ip=10.1.2.3", &mapped));
    }

    #[test]
    fn networks_match_when_they_overlap() {
        let ev = full(); // source.network is 203.0.113.0/24
        assert!(hit("source.network=203.0.113.0/24", &ev));
        assert!(hit("source.network=203.0.0.0/16", &ev), "a wider network holds it");
        assert!(hit("source.network=203.0.113.200", &ev), "its own /24 holds the address");
        assert!(hit("source.network=203.0.113.128/25", &ev));
        assert!(!hit("source.network=203.0.114.0/24", &ev));
        assert!(hit("source.network!=198.51.100.0/24", &ev));
        let v6 = EventData { source_ip: Some("2001:db8:1:2::5".parse().unwrap()), ..bare() };
        assert!(hit("source.network=2001:db8:1::/48", &v6));
        assert!(hit("source.network=2001:db8::/32", &v6));
        assert!(!hit("source.network=2001:db8:2::/48", &v6));
    }

    #[test]
    fn integers_compare_numerically() {
        let ev = full();
        for (query, expected) in [
            ("http.response.status_code=503", true),
            ("http.response.status_code=0503", true),
            ("http.response.status_code!=503", false),
            ("http.response.status_code>=500", true),
            ("http.response.status_code>503", false),
            ("http.response.status_code<=503", true),
            ("http.response.status_code<600", true),
            ("http.response.status_code<503", false),
            ("http.response.status_code=5??", true),
            ("http.response.status_code=4*", false),
            ("source.port>50000", true),
            ("source.port<1024", false),
            ("http.request.body.bytes=120", true),
            ("http.response.body.bytes>=4096", true),
            ("http.response.body.bytes>4096", false),
            ("http.response.records<10", true),
            ("source.as.number=64500", true),
            ("http.response.status_code>-1", true),
        ] {
            assert_eq!(hit(query, &ev), expected, "{query}");
        }
    }

    #[test]
    fn durations_are_nanoseconds_or_carry_a_unit() {
        let ev = full(); // 1.5 s
        assert!(hit("event.duration=1500000000", &ev));
        assert!(hit("event.duration=1500ms", &ev));
        assert!(hit("event.duration>1s", &ev));
        assert!(hit("event.duration<2s", &ev));
        assert!(!hit("event.duration>=2s", &ev));
        assert!(hit("event.duration>999999999", &ev));
    }

    #[test]
    fn timestamps_take_rfc3339_or_epoch_milliseconds() {
        let ev = full();
        assert!(hit("@timestamp=2026-11-23T20:31:00.250Z", &ev));
        assert!(hit(&format!("@timestamp={EVENT_MS}"), &ev));
        assert!(hit("@timestamp>=2026-11-23T20:31:00Z", &ev));
        assert!(hit("@timestamp>2026-11-23T21:31:00+01:00", &ev), "same instant, offset");
        assert!(!hit("@timestamp>2026-11-23T20:31:00.250Z", &ev));
        assert!(hit("@timestamp<2026-11-24T00:00:00Z", &ev));
        assert!(hit("@timestamp<=2026-11-23T20:31:00.250Z", &ev));
        assert!(!hit("@timestamp<2026-11-23T20:31:00.250Z", &ev));
        assert!(hit("@timestamp!=2026-11-23T20:31:00Z", &ev));
        assert!(hit(r#"@timestamp>="2026-11-23 20:00:00""#, &ev), "quoted, with a space");
    }

    #[test]
    fn headers_and_labels_are_text_that_may_hold_numbers() {
        let ev = full();
        assert!(hit("labels.tenant=acme", &ev));
        assert!(!hit("labels.tenant=acme2", &ev));
        assert!(hit("labels.latency_ms>=900", &ev));
        assert!(!hit("labels.latency_ms>950", &ev));
        assert!(!hit("labels.tenant>5", &ev), "text that is not a number never compares");
        assert!(hit("http.request.headers.content-length=120", &ev));
        assert!(hit("http.request.headers.content-length<=120", &ev));
        assert!(hit("http.request.headers.User-Agent=SQLMap*", &ev), "header names in any case");
        assert!(!hit("http.request.headers.x-missing EXISTS", &ev));
        assert!(hit("labels.zone!=eu", &ev), "absent label");
    }

    #[test]
    fn vocabulary_fields_match_their_words() {
        let ev = full();
        assert!(hit("event.outcome=failure", &ev));
        assert!(!hit("event.outcome=success", &ev));
        assert!(hit("event.outcome!=success", &ev));
        assert!(hit("user_agent.class=scanner", &ev));
        assert!(hit("user_agent.class=s*", &ev));
        assert!(!hit("user_agent.class=browser", &ev));
    }

    #[test]
    fn lists_match_when_any_element_does() {
        let ev = full(); // roles reader, admin
        assert!(hit("user.roles=admin", &ev));
        assert!(hit("user.roles=reader", &ev));
        assert!(!hit("user.roles=owner", &ev));
        assert!(hit("user.roles=adm*", &ev));
        assert!(hit("user.roles~=^read", &ev));
        assert!(!hit("user.roles!=admin", &ev), "!= holds when no element equals");
        assert!(hit("user.roles!=owner", &ev));
        assert!(hit("user.roles EXISTS", &ev));
        let none = bare(); // no roles: absent
        assert!(!hit("user.roles=*", &none));
        assert!(!hit("user.roles EXISTS", &none));
        assert!(hit("user.roles!=admin", &none));
    }

    #[test]
    fn regexes_search_the_text() {
        let ev = full();
        assert!(hit("http.request.headers.user-agent~=(?i)sqlmap", &ev));
        assert!(!hit("http.request.headers.user-agent~=sqlmap", &ev), "case-sensitive by default");
        assert!(hit("user_agent.original~=sqlmap/\\d+", &ev));
        assert!(hit(r#"user_agent.original~="^sqlmap/\d+\.\d+ \(""#, &ev), "quoted, spaces, \\d");
        assert!(!hit("url.path~=^/users", &ev));
        assert!(hit("url.path~=/users/[0-9]+$", &ev));
        assert!(hit("http.response.status_code~=^5", &ev), "numbers as their text");
        assert!(hit("source.ip~=^203\\.", &ev), "addresses as their text");
        assert!(hit("(user.name~=(?i)BOB)", &ev), "a regex group inside parentheses");
        assert!(!hit("user.id~=x", &bare()));
    }

    #[test]
    fn exists_and_presence() {
        let ev = full();
        assert!(hit("user.name EXISTS", &ev));
        assert!(hit("user.name exists", &ev));
        assert!(hit("user.name=*", &ev));
        assert!(!hit("NOT user.name EXISTS", &ev));
        assert!(!hit("session.id EXISTS", &ev));
        assert!(hit("NOT session.id EXISTS", &ev));
        assert!(hit("@timestamp EXISTS", &bare()), "every event has a time");
        let empty = EventData { user_name: Some("".into()), ..bare() };
        assert!(hit("user.name EXISTS", &empty), "an empty value is present");
        assert!(hit("user.name=*", &empty));
        assert!(hit(r#"user.name="""#, &empty));
    }

    #[test]
    fn absent_fields_fail_everything_but_not_equal() {
        let ev = bare();
        for query in [
            "user.name=alice",
            "user.name=*",
            "user.name~=.*",
            "user.name EXISTS",
            "source.ip=0.0.0.0/0",
            "source.network=0.0.0.0/0",
            "http.response.status_code>=0",
            "http.response.status_code<=0",
            "http.response.status_code=5*",
            "event.duration<1s",
            "event.outcome=failure",
            "labels.tenant=acme",
            "http.request.headers.x EXISTS",
        ] {
            assert!(!hit(query, &ev), "{query}");
        }
        for query in [
            "user.name!=alice",
            "source.ip!=10.0.0.0/8",
            "http.response.status_code!=200",
            "event.outcome!=failure",
            "labels.tenant!=acme",
        ] {
            assert!(hit(query, &ev), "{query}");
        }
    }

    // ---- structure --------------------------------------------------------------------------

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let ev = full();
        // a OR b AND c is a OR (b AND c): true here because a holds although c does not.
        assert!(hit("user.id=u-42 OR http.request.method=GET AND event.outcome=success", &ev));
        assert!(!hit("(user.id=u-42 OR http.request.method=GET) AND event.outcome=success", &ev));
        // a AND b OR c is (a AND b) OR c.
        assert!(hit("http.request.method=GET AND user.id=nobody OR event.outcome=failure", &ev));
        assert!(!hit("http.request.method=GET AND (user.id=nobody OR event.outcome=failure)", &ev));
        // NOT binds to one condition.
        assert!(!hit("NOT user.id=u-42 AND event.outcome=failure", &ev));
        assert!(hit("NOT user.id=u-42 OR event.outcome=failure", &ev));
        assert!(hit("NOT (user.id=u-42 AND event.outcome=success)", &ev));
        assert!(hit("NOT NOT user.id=u-42", &ev));
        assert!(hit("not user.id=x and user.id=u-42 or user.id=y", &ev), "keywords in any case");
        assert!(hit("((source.geo.country_iso_code=RU OR source.geo.country_iso_code=CN)) AND event.outcome=failure", &ev));
        assert!(hit("NOT(user.id=x)", &ev));
        assert!(hit("(user.id=x)OR(user.id=u-42)", &ev));
    }

    #[test]
    fn quoting_and_escapes() {
        let ev = EventData {
            user_name: Some(r#"say "hi" \o/"#.into()),
            url_path: Some("/a(b)c".into()),
            http_method: Some("AND".into()),
            ..bare()
        };
        assert!(hit(r#"user.name="say \"hi\" \\o/""#, &ev));
        assert!(hit(r#"user.name="say \"hi\" \o/""#, &ev), "an unknown escape keeps its backslash");
        assert!(hit("url.path=/a(b)c", &ev), "balanced parentheses stay in a bare value");
        assert!(hit("(url.path=/a(b)c)", &ev));
        assert!(hit(r#"url.path="/a(b)c""#, &ev));
        assert!(hit(r#"http.request.method="AND""#, &ev));
        assert!(
            hit("http.request.method=AND", &ev),
            "a keyword right after the operator is a value"
        );
        assert!(hit("user.name = \"say \\\"hi\\\" \\\\o/\"", &ev), "spaces around the operator");
        assert!(Query::parse("http.request.method= AND").is_err());
    }

    #[test]
    fn several_filters_are_anded() {
        let ev = full();
        let both = Query::and_all(vec![q("user.id=u-42"), q("event.outcome=failure OR user.id=x")]);
        assert!(both.matches(&ev));
        let one_fails = Query::and_all(vec![q("user.id=u-42"), q("event.outcome=success")]);
        assert!(!one_fails.matches(&ev));
        let none = Query::and_all(vec![]);
        assert!(none.is_match_all() && none.matches(&ev) && none.matches(&bare()));
        assert_eq!(none.required_actor_keys(), None);
        assert!(none.time_bounds().is_unbounded());
        assert_eq!(both.to_string(), "user.id=u-42 AND (event.outcome=failure OR user.id=x)");
    }

    #[test]
    fn display_is_canonical_and_reads_back() {
        for (input, canonical) in [
            ("user.name = alice", "user.name=alice"),
            (
                "(user.name=a OR user.name=b) AND NOT (user.id=c AND user.id=d)",
                "(user.name=a OR user.name=b) AND NOT (user.id=c AND user.id=d)",
            ),
            (
                "user.name=a OR (user.name=b AND user.id=c)",
                "user.name=a OR user.name=b AND user.id=c",
            ),
            ("((user.name=a))", "user.name=a"),
            (
                "user.name=a and (user.id=b and user.id=c)",
                "user.name=a AND user.id=b AND user.id=c",
            ),
            (r#"user.name="bob smith""#, r#"user.name="bob smith""#),
            (r#"user.name="and""#, r#"user.name="and""#),
            (r#"user.name="""#, r#"user.name="""#),
            (r#"user.name="q\"\\""#, r#"user.name="q\"\\""#),
            ("url.path=/a(b)", "url.path=/a(b)"),
            ("url.path=\"/a)b\"", "url.path=\"/a)b\""),
            ("url.path=\"a b(\"", "url.path=\"a b(\""),
            ("user.name=\"x\\y\"", "user.name=\"x\\\\y\""),
            ("http.request.headers.User-Agent~=(?i)x", "http.request.headers.user-agent~=(?i)x"),
            ("user.name exists", "user.name EXISTS"),
            ("NOT NOT user.name=a", "NOT NOT user.name=a"),
        ] {
            let query = q(input);
            assert_eq!(query.to_string(), canonical, "{input}");
            let again = q(&query.to_string());
            assert_eq!(again.to_string(), canonical, "{input}");
        }
    }

    // ---- errors -----------------------------------------------------------------------------

    #[track_caller]
    fn error_at(text: &str, column: usize, message: &str) {
        let err = Query::parse(text).expect_err(text);
        assert_eq!(err.column, column, "{text}: {err}");
        assert!(err.message.contains(message), "{text}: {err}");
    }

    #[test]
    fn errors_name_their_column() {
        error_at("(user.name=alice", 1, "unclosed '('");
        error_at("user.name=alice AND (source.ip=1.2.3.4", 21, "unclosed '('");
        error_at("(user.name=a OR user.name=b user.id=c)", 29, "expected AND, OR or ')'");
        error_at("http.response.status_code>=", 28, "expected a value after '>='");
        error_at("http.response.status_code>= AND user.name=a", 29, "expected a value after '>='");
        error_at("(user.name=)", 12, "expected a value after '='");
        error_at("usr.name=alice", 1, "unknown field `usr.name`; did you mean `user.name`?");
        error_at("status_code>=500", 1, "`http.response.status_code`");
        error_at("zzzzzzzzzzzz=1", 1, "known fields are @timestamp, ");
        error_at("source.ip=10.0.0.0/33", 11, "not an address or a CIDR network");
        error_at("source.ip=10.0.*", 11, "not an address or a CIDR network");
        error_at("user.name=a AND source.ip=\"fe80::1/129\"", 27, "not an address");
        error_at("user.name~=(unclosed", 12, "invalid regular expression");
        error_at("user.name~=\"a{99999}{99999}\"", 12, "invalid regular expression");
        error_at("user.name=alice bob", 17, "expected AND, OR or the end of the query");
        error_at("user.name=\"alice\"bob", 18, "expected AND, OR or the end of the query");
        error_at("user.name=alice)", 16, "unmatched ')'");
        error_at("url.path=/a)b", 12, "unmatched ')'");
        error_at("user.name>=alice", 10, "`>=` compares numbers, and user.name holds text");
        error_at("source.ip<10.0.0.1", 10, "holds addresses");
        error_at("user.roles>1", 11, "holds text");
        error_at("", 1, "the query is empty");
        error_at("   ", 1, "the query is empty");
        error_at("user.name=\"alice", 11, "unclosed quote");
        error_at("NOT", 4, "expected a condition after 'NOT'");
        error_at("user.name=a AND", 16, "expected a condition after 'AND'");
        error_at("user.name=a OR ", 16, "expected a condition after 'OR'");
        error_at("()", 2, "expected a condition after '('");
        error_at("=alice", 1, "expected a field name, found '='");
        error_at("user.name alice", 11, "expected an operator");
        error_at("user.name !alice", 11, "expected an operator");
        error_at("http.response.status_code=abc", 27, "`abc` is not an integer");
        error_at("http.response.status_code>5xx", 27, "is not an integer");
        error_at("labels.latency_ms>=fast", 20, "is not an integer");
        error_at("event.duration>soon", 16, "is not a duration");
        error_at("@timestamp>=yesterday", 13, "is not a time");
        error_at("event.outcome=failed", 15, "`failed` never matches: event.outcome is one of");
        error_at("user_agent.class=bot", 18, "never matches");
        error_at("source.geo.location=1", 1, "unknown field");
        // Columns count characters, not bytes.
        error_at("user.name=ünïcödé bob", 19, "expected AND, OR");
    }

    #[test]
    fn limits_are_enforced_at_their_edge() {
        let deep = |n: usize| format!("{}user.name=a{}", "(".repeat(n), ")".repeat(n));
        q(&deep(QUERY_DEPTH_MAX));
        error_at(&deep(QUERY_DEPTH_MAX + 1), QUERY_DEPTH_MAX + 1, "nested deeper than 32");
        q(&format!("{}user.name=a", "NOT ".repeat(QUERY_DEPTH_MAX)));
        error_at(&format!("{}user.name=a", "NOT ".repeat(QUERY_DEPTH_MAX + 1)), 129, "nested");

        let long = |n: usize| format!("user.name={}", "a".repeat(n - "user.name=".len()));
        q(&long(QUERY_BYTES_MAX));
        error_at(&long(QUERY_BYTES_MAX + 1), QUERY_BYTES_MAX + 1, "longer than 4096 bytes");
        // A long chain of ANDs is flat, not deep.
        let chain = vec!["user.name=a"; 200].join(" AND ");
        assert!(chain.len() <= QUERY_BYTES_MAX);
        q(&chain);
    }

    #[test]
    fn errors_render_with_a_caret() {
        let text = "user.name=a AND\tuser.nme=1";
        let err = Query::parse(text).unwrap_err();
        let message = "column 17: unknown field `user.nme`; did you mean `user.name`?";
        assert_eq!(err.to_string(), message);
        assert_eq!(
            err.render(text),
            format!("user.name=a AND user.nme=1\n{}^\n{message}", " ".repeat(16))
        );
    }

    // ---- actor keys and time bounds ---------------------------------------------------------

    fn any_of(keys: &[(Field, &str)]) -> Option<KeyNeed> {
        Some(KeyNeed::AnyOf(keys.iter().map(|(f, v)| (f.clone(), v.to_string())).collect()))
    }

    #[test]
    fn required_actor_keys_of_typical_queries() {
        use Field::*;
        let ip = |v: &str| (SourceIp, v.to_string());
        let user = |v: &str| (UserName, v.to_string());
        let cases: Vec<(&str, Option<KeyNeed>)> = vec![
            (
                "source.ip=1.2.3.4 AND http.response.status_code>=500",
                any_of(&[(SourceIp, "1.2.3.4"), (SourceIp, "::ffff:1.2.3.4")]),
            ),
            (
                "source.ip=1.2.3.4/32",
                any_of(&[(SourceIp, "1.2.3.4"), (SourceIp, "::ffff:1.2.3.4")]),
            ),
            (
                "source.ip=::ffff:1.2.3.4",
                any_of(&[(SourceIp, "1.2.3.4"), (SourceIp, "::ffff:1.2.3.4")]),
            ),
            ("source.ip=2001:DB8::1", any_of(&[(SourceIp, "2001:db8::1")])),
            (
                "source.ip=1.2.3.4 OR source.ip=5.6.7.8",
                any_of(&[
                    (SourceIp, "1.2.3.4"),
                    (SourceIp, "5.6.7.8"),
                    (SourceIp, "::ffff:1.2.3.4"),
                    (SourceIp, "::ffff:5.6.7.8"),
                ]),
            ),
            ("source.ip=10.0.0.0/8", None),
            ("source.network=1.2.3.4", None),
            ("user.name=alice OR http.response.status_code=500", None),
            ("user.name=alice OR user.name=ali*", None),
            ("NOT user.name=alice", None),
            ("user.name!=alice", None),
            ("NOT user.name!=alice", None),
            ("NOT NOT user.name=alice", any_of(&[(UserName, "alice")])),
            ("user.name=ali*", None),
            (r"user.name=ali\*", any_of(&[(UserName, "ali*")])),
            (r#"user.name="""#, None),
            ("user.name EXISTS", None),
            ("user.name~=^alice$", None),
            ("user.roles=admin", None),
            ("consumer.name=acme", None),
            ("token.id=t1", any_of(&[(TokenId, "t1")])),
            ("api_key.id=k1", any_of(&[(ApiKeyId, "k1")])),
            ("user.id=u1 OR token.id=t1", any_of(&[(UserId, "u1"), (TokenId, "t1")])),
            ("user.name=alice OR user.name=alice", any_of(&[(UserName, "alice")])),
            (
                "user.name=alice AND (user.name=alice OR user.name=bob)",
                any_of(&[(UserName, "alice")]),
            ),
            (
                "user.name=alice AND user.id=u1",
                Some(KeyNeed::AllOf(vec![
                    vec![(UserName, "alice".into())],
                    vec![(UserId, "u1".into())],
                ])),
            ),
            (
                "(user.name=alice AND source.ip=1.2.3.4) OR user.name=bob",
                Some(KeyNeed::AllOf(vec![
                    vec![user("alice"), user("bob")],
                    vec![ip("1.2.3.4"), ip("::ffff:1.2.3.4"), user("bob")],
                ])),
            ),
            (
                "(user.name=alice AND http.request.method=GET) OR user.name=bob",
                any_of(&[(UserName, "alice"), (UserName, "bob")]),
            ),
            ("(user.name=alice OR url.path=/x) AND user.id=u1", any_of(&[(UserId, "u1")])),
            ("@timestamp>=0", None),
        ];
        for (text, expected) in cases {
            assert_eq!(q(text).required_actor_keys(), expected, "{text}");
        }
    }

    #[test]
    fn required_actor_keys_stay_small_and_true_when_ors_multiply() {
        // Five ORed pairs would multiply into 32 clauses; each part keeps its first clause.
        let text = (0..5)
            .map(|i| format!("(user.name=u{i} AND user.id=i{i})"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let need = q(&text).required_actor_keys();
        let names: Vec<(Field, &str)> =
            ["u0", "u1", "u2", "u3", "u4"].iter().map(|n| (Field::UserName, *n)).collect();
        assert_eq!(need, any_of(&names));
        // Four pairs make 16 clauses, which fit.
        let text = (0..4)
            .map(|i| format!("(user.name=u{i} AND user.id=i{i})"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let Some(KeyNeed::AllOf(clauses)) = q(&text).required_actor_keys() else { panic!() };
        assert_eq!(clauses.len(), 16);
        // Several filters: the needs of each.
        let both =
            Query::and_all(vec![q("source.ip=2001:db8::1"), q("user.name=a OR user.name=b")]);
        assert_eq!(
            both.required_actor_keys(),
            Some(KeyNeed::AllOf(vec![
                vec![(Field::SourceIp, "2001:db8::1".into())],
                vec![(Field::UserName, "a".into()), (Field::UserName, "b".into())],
            ]))
        );
    }

    #[test]
    fn key_needs_answer_for_a_segment() {
        let need = q("(user.name=alice AND source.ip=1.2.3.4) OR user.name=bob")
            .required_actor_keys()
            .unwrap();
        let segment = |keys: &'static [(&str, &str)]| {
            move |f: &Field, v: &str| keys.iter().any(|(n, k)| f.name() == *n && v == *k)
        };
        assert!(need.may_match(segment(&[("user.name", "bob")])));
        assert!(need.may_match(segment(&[("user.name", "alice"), ("source.ip", "::ffff:1.2.3.4")])));
        assert!(!need.may_match(segment(&[("user.name", "alice")])));
        assert!(!need.may_match(segment(&[("source.ip", "1.2.3.4")])));
        assert!(!need.may_match(segment(&[])));
    }

    #[test]
    fn time_bounds_of_typical_queries() {
        let day = 86_400_000;
        let start = 1_798_761_600_000; // 2027-01-01
        let tb = |from_ms, to_ms| TimeBounds { from_ms, to_ms };
        for (text, expected) in [
            (
                "@timestamp>=2027-01-01T00:00:00Z AND @timestamp<2027-01-02T00:00:00Z".to_string(),
                tb(start, start + day - 1),
            ),
            ("@timestamp>1000 AND @timestamp<=2000".into(), tb(1001, 2000)),
            ("@timestamp=5".into(), tb(5, 5)),
            ("@timestamp>=1000 AND user.name=a".into(), tb(1000, i64::MAX)),
            ("@timestamp>=1000 OR user.name=a".into(), TimeBounds::ALL),
            ("@timestamp>=1000 OR @timestamp<=10".into(), TimeBounds::ALL),
            (
                "(@timestamp>=100 AND @timestamp<=200) OR (@timestamp>=300 AND @timestamp<=400)"
                    .into(),
                tb(100, 400),
            ),
            ("NOT @timestamp<100".into(), tb(100, i64::MAX)),
            ("NOT @timestamp>=100".into(), tb(i64::MIN, 99)),
            ("NOT @timestamp>100".into(), tb(i64::MIN, 100)),
            ("NOT @timestamp<=100".into(), tb(101, i64::MAX)),
            ("@timestamp!=100".into(), TimeBounds::ALL),
            ("NOT @timestamp!=100".into(), tb(100, 100)),
            ("NOT (@timestamp>=100 AND @timestamp<=200)".into(), TimeBounds::ALL),
            ("@timestamp>200 AND @timestamp<100".into(), TimeBounds::NONE),
            ("(@timestamp>200 AND @timestamp<100) OR @timestamp=7".into(), tb(7, 7)),
            ("@timestamp>9223372036854775807".into(), TimeBounds::NONE),
            ("@timestamp<-9223372036854775808".into(), TimeBounds::NONE),
            ("user.name=a".into(), TimeBounds::ALL),
            ("@timestamp~=^1".into(), TimeBounds::ALL),
        ] {
            assert_eq!(q(&text).time_bounds(), expected, "{text}");
        }
        assert!(TimeBounds::NONE.is_empty() && !TimeBounds::NONE.overlaps(i64::MIN, i64::MAX));
        assert!(tb(10, 20).overlaps(20, 30) && !tb(10, 20).overlaps(21, 30));
    }

    // ---- properties -------------------------------------------------------------------------

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// Any text either parses or is refused with a column inside it (or just past it).
            #[test]
            fn arbitrary_text_never_panics(text in "\\PC{0,80}") {
                check_text(&text)?;
            }

            /// Text made of the language's own pieces reaches deeper into the parser.
            #[test]
            fn near_miss_queries_never_panic(parts in prop::collection::vec(piece(), 0..12)) {
                check_text(&parts.concat())?;
            }
        }

        fn check_text(text: &str) -> Result<(), TestCaseError> {
            match Query::parse(text) {
                Ok(query) => {
                    // The canonical form reads back to itself.
                    let shown = query.to_string();
                    let again = Query::parse(&shown)
                        .map_err(|e| TestCaseError::fail(format!("{shown:?}: {e}")))?;
                    prop_assert_eq!(again.to_string(), shown);
                    let _ =
                        (query.matches(&full()), query.required_actor_keys(), query.time_bounds());
                }
                Err(e) => {
                    prop_assert!(e.column >= 1 && e.column <= text.chars().count() + 1, "{e}");
                    let _ = e.render(text);
                }
            }
            Ok(())
        }

        fn piece() -> impl Strategy<Value = String> {
            prop::sample::select(vec![
                "user.name",
                "source.ip",
                "http.response.status_code",
                "@timestamp",
                "labels.x",
                "user.roles",
                "event.outcome",
                "event.duration",
                "http.request.headers.a-b",
                "=",
                "!=",
                ">",
                ">=",
                "<",
                "<=",
                "~=",
                " EXISTS",
                " AND ",
                " OR ",
                "NOT ",
                " and ",
                "(",
                ")",
                "\"",
                "\\",
                " ",
                "*",
                "?",
                "alice",
                "10.0.0.0/8",
                "::1",
                "500",
                "5??",
                "2026-11-23T20:31:00Z",
                "(?i)x",
                "[",
                "failure",
                "1s",
                "-",
                "é",
                "\t",
            ])
            .prop_map(str::to_string)
        }

        /// A generated event: each actor field from a few values (or absent).
        #[derive(Clone, Debug)]
        struct Gen {
            ip: Option<&'static str>,
            name: Option<&'static str>,
            id: Option<&'static str>,
            token: Option<&'static str>,
            status: Option<u16>,
            ts: i64,
            admin: bool,
        }

        fn gen_event() -> impl Strategy<Value = Gen> {
            (
                prop::option::of(prop::sample::select(vec![
                    "10.1.2.3",
                    "192.0.2.7",
                    "::ffff:192.0.2.7",
                    "2001:db8::1",
                ])),
                prop::option::of(prop::sample::select(vec!["alice", "bob", "", "svc-x"])),
                prop::option::of(prop::sample::select(vec!["u1", "u2"])),
                prop::option::of(prop::sample::select(vec!["t1", "t2"])),
                prop::option::of(prop::sample::select(vec![200u16, 404, 500, 503])),
                prop::sample::select(vec![0i64, 1000, 2000, 3000]),
                any::<bool>(),
            )
                .prop_map(|(ip, name, id, token, status, ts, admin)| Gen {
                    ip,
                    name,
                    id,
                    token,
                    status,
                    ts,
                    admin,
                })
        }

        impl Gen {
            fn event(&self) -> EventData {
                EventData {
                    timestamp_ms: self.ts,
                    source_ip: self.ip.map(|s| s.parse().unwrap()),
                    user_name: self.name.map(Into::into),
                    user_id: self.id.map(Into::into),
                    token_id: self.token.map(Into::into),
                    status_code: self.status,
                    user_roles: if self.admin { vec!["admin".into()] } else { vec![] },
                    ..Default::default()
                }
            }

            /// The keys a store would index for this event: each actor field's text.
            fn keys(&self) -> Vec<(Field, String)> {
                let ev = self.event();
                apiwatch_detect::query::ACTOR_KEY_FIELDS
                    .iter()
                    .filter_map(|f| ev.get(f).to_text().map(|t| (f.clone(), t)))
                    .collect()
            }
        }

        /// Conditions with their meaning written out plainly.
        /// A condition and its meaning on a generated event.
        type Atom = (&'static str, fn(&Gen) -> bool);

        const ATOMS: &[Atom] = &[
            ("source.ip=10.1.2.3", |g| g.ip == Some("10.1.2.3")),
            ("source.ip=192.0.2.7", |g| matches!(g.ip, Some("192.0.2.7" | "::ffff:192.0.2.7"))),
            ("source.ip=::ffff:192.0.2.7", |g| {
                matches!(g.ip, Some("192.0.2.7" | "::ffff:192.0.2.7"))
            }),
            ("source.ip=10.0.0.0/8", |g| g.ip == Some("10.1.2.3")),
            ("source.ip=2001:db8::1", |g| g.ip == Some("2001:db8::1")),
            ("user.name=alice", |g| g.name == Some("alice")),
            ("user.name=bob", |g| g.name == Some("bob")),
            ("user.name=svc-*", |g| g.name == Some("svc-x")),
            ("user.name=\"\"", |g| g.name == Some("")),
            ("user.name EXISTS", |g| g.name.is_some()),
            ("user.name!=alice", |g| g.name != Some("alice")),
            ("user.id=u1", |g| g.id == Some("u1")),
            ("token.id=t1", |g| g.token == Some("t1")),
            ("http.response.status_code>=500", |g| g.status.is_some_and(|s| s >= 500)),
            ("http.response.status_code=404", |g| g.status == Some(404)),
            ("http.response.status_code!=200", |g| g.status != Some(200)),
            ("@timestamp>=2000", |g| g.ts >= 2000),
            ("@timestamp<1000", |g| g.ts < 1000),
            ("@timestamp=3000", |g| g.ts == 3000),
            ("@timestamp>1000", |g| g.ts > 1000),
            ("@timestamp<=2000", |g| g.ts <= 2000),
            ("user.roles=admin", |g| g.admin),
        ];

        #[derive(Clone, Debug)]
        enum Tree {
            Atom(usize),
            Not(Box<Tree>),
            And(Vec<Tree>, bool),
            Or(Vec<Tree>, bool),
        }

        fn tree() -> impl Strategy<Value = Tree> {
            let leaf = (0..ATOMS.len()).prop_map(Tree::Atom);
            leaf.prop_recursive(4, 24, 3, |inner| {
                prop_oneof![
                    inner.clone().prop_map(|t| Tree::Not(Box::new(t))),
                    (prop::collection::vec(inner.clone(), 2..4), any::<bool>())
                        .prop_map(|(v, p)| Tree::And(v, p)),
                    (prop::collection::vec(inner, 2..4), any::<bool>())
                        .prop_map(|(v, p)| Tree::Or(v, p)),
                ]
            })
        }

        impl Tree {
            fn eval(&self, g: &Gen) -> bool {
                match self {
                    Tree::Atom(i) => (ATOMS[*i].1)(g),
                    Tree::Not(t) => !t.eval(g),
                    Tree::And(v, _) => v.iter().all(|t| t.eval(g)),
                    Tree::Or(v, _) => v.iter().any(|t| t.eval(g)),
                }
            }

            /// Written with the parentheses precedence needs, plus more where `extra` says so.
            fn render(&self) -> String {
                let child = |t: &Tree, needs: bool| {
                    let text = t.render();
                    let extra = matches!(t, Tree::And(_, true) | Tree::Or(_, true));
                    if needs || extra {
                        format!("({text})")
                    } else {
                        text
                    }
                };
                match self {
                    Tree::Atom(i) => ATOMS[*i].0.to_string(),
                    Tree::Not(t) => {
                        format!("NOT {}", child(t, matches!(**t, Tree::And(..) | Tree::Or(..))))
                    }
                    Tree::And(v, _) => v
                        .iter()
                        .map(|t| child(t, matches!(t, Tree::Or(..))))
                        .collect::<Vec<_>>()
                        .join(" AND "),
                    Tree::Or(v, _) => {
                        v.iter().map(|t| child(t, false)).collect::<Vec<_>>().join(" or ")
                    }
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            /// The matcher agrees with the plain meaning; the actor keys and time bounds of the
            /// query hold for every event it matches (else a search would skip that event).
            #[test]
            fn queries_agree_with_a_model_and_their_needs_are_sound(
                t in tree(),
                events in prop::collection::vec(gen_event(), 1..12),
            ) {
                let text = t.render();
                let query = Query::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
                let shown = Query::parse(&query.to_string()).unwrap();
                let need = query.required_actor_keys();
                let bounds = query.time_bounds();
                for g in &events {
                    let ev = g.event();
                    let matched = query.matches(&ev);
                    prop_assert_eq!(matched, t.eval(g), "{} on {:?}", text, g);
                    prop_assert_eq!(shown.matches(&ev), matched, "canonical form {}", shown);
                    if matched {
                        let keys = g.keys();
                        if let Some(need) = &need {
                            let held = need.may_match(|f, v| keys.iter().any(|(kf, kv)| kf == f && kv == v));
                            prop_assert!(held, "{} matched {:?} but needs {:?}", text, g, need);
                        }
                        prop_assert!(bounds.contains(g.ts), "{} matched at {} outside {:?}", text, g.ts, bounds);
                    }
                }
            }
        }
    }
}
