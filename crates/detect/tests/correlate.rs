//! Correlation: alerts into incidents by risk, links, suppression and mutes.

mod correlate_util;

/// Named after the file, so that `cargo test correlate` selects these tests.
mod correlate {

    use super::correlate_util::{alert, event_at, HOUR_MS, MINUTE_MS, T0};
    use apiwatch_core::{ActorId, ScopeKind, Severity};
    use apiwatch_detect::correlate::{
        CorrelateConfig, Correlator, IncidentChange, Mute, Observation, SeverityWeights,
    };
    use Severity::{Critical, High, Low, Medium};

    fn correlator() -> Correlator {
        Correlator::new(CorrelateConfig::default()).unwrap()
    }

    fn ip(v: &str) -> ActorId {
        ActorId::new(ScopeKind::Ip, v)
    }

    fn opened(o: &Observation) -> Option<&apiwatch_core::Incident> {
        match &o.incident {
            Some(IncidentChange::Opened(i)) => Some(i),
            _ => None,
        }
    }

    /// One scenario: alerts about one address (minutes after T0, severity), and what must come
    /// of them.
    struct Case {
        name: &'static str,
        alerts: &'static [(i64, Severity)],
        /// The alert (by position) that opens the incident, if any.
        opens_at: Option<usize>,
    }

    const CASES: &[Case] = &[
        Case { name: "one oddity stays an alert", alerts: &[(0, Low)], opens_at: None },
        Case {
            name: "five medium alerts within an hour cross the threshold",
            alerts: &[(0, Medium), (10, Medium), (20, Medium), (30, Medium), (40, Medium)],
            opens_at: Some(4),
        },
        Case {
            name: "the same alerts spread over a day decay away",
            alerts: &[(0, Medium), (360, Medium), (720, Medium), (1080, Medium), (1440, Medium)],
            opens_at: None,
        },
        Case {
            name: "a critical alert opens at once",
            alerts: &[(0, Critical)],
            opens_at: Some(0),
        },
        Case {
            name: "two high alerts within minutes",
            alerts: &[(0, High), (5, High)],
            opens_at: Some(1),
        },
        Case {
            name: "twelve low alerts within an hour stay alerts",
            alerts: &[
                (0, Low),
                (5, Low),
                (10, Low),
                (15, Low),
                (20, Low),
                (25, Low),
                (30, Low),
                (35, Low),
                (40, Low),
                (45, Low),
                (50, Low),
                (55, Low),
            ],
            opens_at: None,
        },
    ];

    #[test]
    fn risk_opens_incidents_only_when_it_should() {
        for case in CASES {
            let mut c = correlator();
            let mut opened_at = None;
            let mut last = None;
            for (n, (minute, severity)) in case.alerts.iter().enumerate() {
                let a = alert(
                    &format!("a{n}"),
                    &format!("rule-{n}"),
                    *severity,
                    T0 + minute * MINUTE_MS,
                    &[("source.ip", "198.51.100.7")],
                    vec![],
                );
                let o = c.observe(&a);
                assert!(o.is_new, "{}", case.name);
                if opened(&o).is_some() {
                    assert_eq!(opened_at, None, "{}: opened twice", case.name);
                    opened_at = Some(n);
                }
                if opened_at.is_some() && opened_at != Some(n) {
                    assert!(
                        matches!(o.incident, Some(IncidentChange::Updated(_))),
                        "{}: later alerts fold in",
                        case.name
                    );
                }
                last = o.incident.map(|c| c.incident().clone());
            }
            assert_eq!(opened_at, case.opens_at, "{}", case.name);
            if let Some(first) = case.opens_at {
                // The alerts that built the risk are in the incident too, in time order.
                let inc = last.unwrap();
                let ids: Vec<String> = (0..case.alerts.len()).map(|n| format!("a{n}")).collect();
                assert_eq!(inc.alert_ids, ids, "{}", case.name);
                assert_eq!(inc.actors, vec![ip("198.51.100.7")]);
                assert_eq!(inc.first_event_ms, T0 + case.alerts[0].0 * MINUTE_MS - MINUTE_MS);
                assert_eq!(inc.opened_at_ms, T0 + case.alerts[first].0 * MINUTE_MS);
                assert_eq!(inc.title, format!("Title of rule-{first} — ip:198.51.100.7"));
                assert!(inc.id.starts_with("inc-"));
                assert_eq!(inc.rules.len(), case.alerts.len());
                assert!(inc.risk >= 60.0 || inc.severity == Critical, "{}", case.name);
            }
        }
    }

    #[test]
    fn risk_decays_by_half_life_and_is_capped() {
        let mut c = correlator();
        let a = alert("a", "r", High, T0, &[("user.name", "alice")], vec![]);
        let o = c.observe(&a);
        assert_eq!(o.actors[0].actor.to_string(), "user:alice");
        assert_eq!(o.actors[0].risk, 35.0);
        let alice = ActorId::new(ScopeKind::User, "alice");
        assert!((c.risk(&alice, T0 + HOUR_MS) - 17.5).abs() < 1e-9);
        assert!((c.risk(&alice, T0 + 2 * HOUR_MS) - 8.75).abs() < 1e-9);
        for n in 0..5 {
            c.observe(&alert(
                &format!("c{n}"),
                "r",
                Critical,
                T0 + n,
                &[("user.name", "alice")],
                vec![],
            ));
        }
        assert_eq!(c.risk(&alice, T0 + 4), 100.0);
    }

    #[test]
    fn a_re_emitted_alert_updates_and_never_counts_twice() {
        let mut c = correlator();
        let mut a = alert("same", "r", Medium, T0, &[("source.ip", "203.0.113.9")], vec![]);
        let first = c.observe(&a);
        assert!(first.is_new && first.notify);
        for n in 1..10 {
            a.last_seen_ms = T0 + n * MINUTE_MS;
            a.count += 1;
            let o = c.observe(&a);
            assert!(!o.is_new);
            assert!(!o.notify, "an update does not notify by itself");
            assert!(o.incident.is_none(), "risk did not grow: {:?}", o.actors);
            assert!(o.actors[0].risk <= 15.0);
        }
        let s = c.stats();
        assert_eq!((s.alerts_new, s.alerts_updated, s.incidents_opened), (1, 9, 0));
    }

    #[test]
    fn an_update_folds_into_its_incident_without_repeating_its_id() {
        let mut c = correlator();
        let mut a = alert("crit", "r", Critical, T0, &[("source.ip", "203.0.113.9")], vec![]);
        let id = opened(&c.observe(&a)).unwrap().id.clone();
        a.last_seen_ms = T0 + 5 * MINUTE_MS;
        a.evidence = vec![event_at(T0 + 5 * MINUTE_MS, "203.0.113.9", Some("mallory"), None)];
        let o = c.observe(&a);
        let Some(IncidentChange::Updated(inc)) = &o.incident else { panic!("{o:?}") };
        assert_eq!(inc.id, id);
        assert_eq!(inc.alert_ids, vec!["crit"]);
        assert_eq!(inc.updated_at_ms, T0 + 5 * MINUTE_MS);
        assert_eq!(inc.actors.len(), 2, "the update's evidence adds its user");
        assert!(!o.notify);
    }

    #[test]
    fn a_stolen_token_pulls_the_address_it_came_from_into_its_incident() {
        let mut c = correlator();
        let token_alert = alert(
            "tok",
            "token-reuse",
            Critical,
            T0,
            &[("token.id", "tk_9f2")],
            vec![event_at(T0, "192.0.2.44", Some("alice"), Some("tk_9f2"))],
        );
        let o = c.observe(&token_alert);
        let inc = opened(&o).unwrap().clone();
        assert_eq!(inc.title, "Title of token-reuse — token:tk_9f2");
        assert_eq!(o.links_added.len(), 3, "address, user and token are linked pairwise");
        assert!(c.linked(&ip("192.0.2.44")).contains(&ActorId::new(ScopeKind::Token, "tk_9f2")));

        let ip_alert =
            alert("ip", "scan", Low, T0 + HOUR_MS, &[("source.ip", "192.0.2.44")], vec![]);
        let o = c.observe(&ip_alert);
        let Some(IncidentChange::Updated(after)) = &o.incident else { panic!("{o:?}") };
        assert_eq!(after.id, inc.id);
        assert_eq!(after.title, inc.title, "the title stays");
        assert_eq!(after.alert_ids, vec!["tok", "ip"]);
        assert_eq!(after.rules, vec!["scan", "token-reuse"]);
        assert_eq!(after.severity, Critical);

        // An address nobody linked stays apart.
        let other =
            alert("other", "scan", Low, T0 + HOUR_MS, &[("source.ip", "192.0.2.45")], vec![]);
        assert!(c.observe(&other).incident.is_none());
    }

    #[test]
    fn links_expire_after_their_ttl() {
        let config = CorrelateConfig { link_ttl_ms: HOUR_MS, ..CorrelateConfig::default() };
        let mut c = Correlator::new(config).unwrap();
        c.observe(&alert(
            "tok",
            "token-reuse",
            Critical,
            T0,
            &[("token.id", "tk_9f2")],
            vec![event_at(T0, "192.0.2.44", None, Some("tk_9f2"))],
        ));
        let late =
            alert("ip", "scan", Low, T0 + 2 * HOUR_MS, &[("source.ip", "192.0.2.44")], vec![]);
        assert!(c.observe(&late).incident.is_none());
        assert_eq!(c.stats().links_expired, 1);
    }

    #[test]
    fn an_office_nat_does_not_fold_forty_users_together() {
        let nat = "203.0.113.1";
        let mut c = correlator();
        // The address itself misbehaves first and gets an incident.
        let scan = alert("nat-scan", "scan", Critical, T0, &[("source.ip", nat)], vec![]);
        let nat_incident = opened(&c.observe(&scan)).unwrap().id.clone();
        // Forty people behind it each trip a critical rule on their own account.
        let mut incidents = std::collections::BTreeSet::new();
        for n in 0..40 {
            let user = format!("user{n:02}");
            let at = T0 + (n + 1) * MINUTE_MS;
            let a = alert(
                &format!("u{n}"),
                "account-takeover",
                Critical,
                at,
                &[("user.name", &user)],
                vec![event_at(at, nat, Some(&user), None)],
            );
            let o = c.observe(&a);
            incidents.insert(o.incident.unwrap().incident().id.clone());
        }
        let limit = c.config().links_per_actor_max;
        let folded = c.incident(&nat_incident).unwrap();
        let users_in_nat = folded.actors.iter().filter(|a| a.kind == ScopeKind::User).count();
        assert_eq!(users_in_nat, limit, "only the first {limit} links are made");
        assert_eq!(incidents.len(), 1 + 40 - limit, "the others have their own incidents");
        for id in &incidents {
            let users = c.incident(id).unwrap().actors.iter().filter(|a| a.kind == ScopeKind::User);
            assert!(users.count() <= limit);
        }
        assert_eq!(c.stats().links_refused_per_actor, (40 - limit) as u64);
    }

    #[test]
    fn users_behind_one_address_keep_separate_incidents_when_the_address_is_not_blamed() {
        let nat = "203.0.113.1";
        let mut c = correlator();
        let mut ids = std::collections::BTreeSet::new();
        for n in 0..40 {
            let user = format!("user{n:02}");
            let at = T0 + n * MINUTE_MS;
            let a = alert(
                &format!("u{n}"),
                "account-takeover",
                Critical,
                at,
                &[("user.name", &user)],
                vec![event_at(at, nat, Some(&user), None)],
            );
            let o = c.observe(&a);
            assert!(opened(&o).is_some(), "user {n} gets an incident of their own");
            ids.insert(o.incident.unwrap().incident().id.clone());
        }
        assert_eq!(ids.len(), 40);
        assert_eq!(c.risk(&ip(nat), T0 + 40 * MINUTE_MS), 0.0, "risk goes to who was blamed");
    }

    #[test]
    fn an_alert_touching_two_incidents_joins_the_older() {
        let mut c = correlator();
        let first =
            c.observe(&alert("a", "r", Critical, T0, &[("source.ip", "192.0.2.1")], vec![]));
        let second = c.observe(&alert(
            "b",
            "r",
            Critical,
            T0 + MINUTE_MS,
            &[("source.ip", "192.0.2.2")],
            vec![],
        ));
        let (first, second) =
            (opened(&first).unwrap().id.clone(), opened(&second).unwrap().id.clone());
        let both = alert(
            "c",
            "r2",
            Low,
            T0 + 2 * MINUTE_MS,
            &[("source.ip", "192.0.2.2"), ("source.ip", "192.0.2.1")],
            vec![],
        );
        let o = c.observe(&both);
        assert_eq!(o.incident.unwrap().incident().id, first);
        assert_eq!(c.incident(&second).unwrap().alert_ids, vec!["b"], "incidents are not merged");
    }

    #[test]
    fn an_idle_incident_is_not_folded_into() {
        let mut c = correlator();
        let a = alert("a", "r", Critical, T0, &[("source.ip", "192.0.2.1")], vec![]);
        let first = opened(&c.observe(&a)).unwrap().id.clone();
        let b = alert("b", "r", Critical, T0 + 25 * HOUR_MS, &[("source.ip", "192.0.2.1")], vec![]);
        let o = c.observe(&b);
        assert_ne!(opened(&o).unwrap().id, first);
        assert_eq!(c.stats().incidents_expired, 1);
    }

    #[test]
    fn a_closed_incident_makes_way_for_a_new_one_and_reopens() {
        let mut c = correlator();
        let at = |n: i64| T0 + n * MINUTE_MS;
        let on =
            |id: &str, n: i64| alert(id, "r", Critical, at(n), &[("user.name", "bob")], vec![]);
        let first = opened(&c.observe(&on("a", 0))).unwrap().id.clone();
        assert!(c.close_incident(&first));
        assert!(!c.close_incident(&first), "already closed");
        assert_eq!(c.is_closed(&first), Some(true));
        let o = c.observe(&on("b", 1));
        let second = opened(&o).expect("a new incident").id.clone();
        assert_ne!(second, first);
        assert_eq!(c.incident(&second).unwrap().alert_ids, vec!["b"]);
        assert!(o.notify);
        // Reopened, the older one takes the next alert.
        assert!(c.reopen_incident(&first));
        assert!(!c.reopen_incident(&first));
        let o = c.observe(&on("c", 2));
        assert_eq!(o.incident.unwrap().incident().id, first);
        assert!(!c.close_incident("inc-unknown"));
    }

    #[test]
    fn an_update_of_an_alert_in_a_closed_incident_opens_a_new_one() {
        let mut c = correlator();
        let mut a = alert("a", "r", Critical, T0, &[("user.name", "bob")], vec![]);
        let first = opened(&c.observe(&a)).unwrap().id.clone();
        c.close_incident(&first);
        a.last_seen_ms += MINUTE_MS;
        let o = c.observe(&a);
        assert!(!o.is_new);
        let second = opened(&o).expect("the attack goes on").id.clone();
        assert_ne!(second, first, "ids stay unique when one alert opens twice");
        assert!(o.notify, "an opening is reported");
    }

    #[test]
    fn suppression_holds_notifications_within_the_window() {
        let mut config = CorrelateConfig::default();
        config.suppress_ms_by_rule.insert("chatty".into(), 10 * MINUTE_MS);
        let mut c = Correlator::new(config).unwrap();
        let on = |id: &str, rule: &str, minute: i64| {
            alert(id, rule, Low, T0 + minute * MINUTE_MS, &[("source.ip", "192.0.2.9")], vec![])
        };
        // (alert, rule, minute, notifies)
        let steps = [
            ("a1", "r", 0, true),
            ("a2", "r", 30, false),
            ("a3", "r", 59, false),
            ("a4", "other", 59, true),
            ("a5", "r", 60, true),
            ("b1", "chatty", 100, true),
            ("b2", "chatty", 105, false),
            ("b3", "chatty", 110, true),
        ];
        for (id, rule, minute, notifies) in steps {
            let o = c.observe(&on(id, rule, minute));
            assert_eq!(o.notify, notifies, "{id}");
            assert_eq!(o.suppressed, !notifies, "{id}");
        }
        assert_eq!(c.stats().suppressed, 3);
        let other_actor =
            alert("x", "r", Low, T0 + 111 * MINUTE_MS, &[("source.ip", "192.0.2.10")], vec![]);
        assert!(c.observe(&other_actor).notify, "per actor");
    }

    #[test]
    fn an_opening_notifies_even_within_the_suppression_window() {
        let mut c = correlator();
        let on = |id: &str, minute: i64| {
            alert(id, "r", High, T0 + minute * MINUTE_MS, &[("source.ip", "192.0.2.9")], vec![])
        };
        assert!(c.observe(&on("a", 0)).notify);
        let o = c.observe(&on("b", 1));
        assert!(opened(&o).is_some());
        assert!(o.notify && !o.suppressed);
        let o = c.observe(&on("c", 2));
        assert!(!o.notify && o.suppressed, "folded and suppressed");
    }

    #[test]
    fn a_mute_silences_until_it_ends_and_can_be_removed() {
        let mut c = correlator();
        let mallory = ActorId::new(ScopeKind::User, "mallory");
        assert!(c.add_mute(Mute {
            id: "m1".into(),
            rule: "r".into(),
            actor: mallory.clone(),
            until_ms: T0 + HOUR_MS,
        }));
        // The mute's actor is in the evidence, not the rule's actor: it still matches.
        let on = |id: &str, rule: &str, at: i64| {
            alert(
                id,
                rule,
                Low,
                at,
                &[("source.ip", "192.0.2.9")],
                vec![event_at(at, "192.0.2.9", Some("mallory"), None)],
            )
        };
        let o = c.observe(&on("a", "r", T0));
        assert!(o.muted && !o.notify);
        assert_eq!(o.mute_id.as_deref(), Some("m1"));
        assert!(!c.observe(&on("b", "other", T0 + MINUTE_MS)).muted, "another rule");
        let o = c.observe(&on("c", "r", T0 + HOUR_MS));
        assert!(!o.muted && o.notify, "ended");
        assert_eq!(c.stats().mutes_expired, 1);

        assert!(c.add_mute(Mute {
            id: "m2".into(),
            rule: "r".into(),
            actor: mallory,
            until_ms: i64::MAX
        }));
        assert!(c.observe(&on("d", "r", T0 + 3 * HOUR_MS)).muted);
        assert!(c.remove_mute("m2"));
        assert!(!c.remove_mute("m2"));
        assert!(!c.observe(&on("e", "r", T0 + 5 * HOUR_MS)).muted);
        assert_eq!(c.stats().muted, 2);
    }

    #[test]
    fn muted_alerts_still_raise_risk_and_open_incidents_silently() {
        let mut c = correlator();
        c.add_mute(Mute {
            id: "m".into(),
            rule: "r".into(),
            actor: ip("192.0.2.9"),
            until_ms: i64::MAX,
        });
        let o = c.observe(&alert("a", "r", Critical, T0, &[("source.ip", "192.0.2.9")], vec![]));
        assert!(opened(&o).is_some());
        assert!(!o.notify);
    }

    /// A mixed day: tokens, users, addresses, re-emits, closes.
    fn mixed_run() -> (Vec<Observation>, apiwatch_detect::correlate::CorrelateStats) {
        let mut c = correlator();
        let mut out = Vec::new();
        let ips = ["192.0.2.1", "192.0.2.2", "198.51.100.3"];
        let users = ["alice", "bob", "carol", "dave"];
        let sevs = [Low, Medium, High, Critical, Medium, Low, Medium];
        for n in 0..300i64 {
            let at = T0 + n * 7 * MINUTE_MS;
            let ip = ips[(n % 3) as usize];
            let user = users[((n * 7) % 4) as usize];
            let token = format!("tk{}", n % 5);
            let (field, value) = match n % 3 {
                0 => ("source.ip", ip.to_string()),
                1 => ("user.name", user.to_string()),
                _ => ("token.id", token.clone()),
            };
            // Every fourth alert re-emits the one before.
            let id = if n % 4 == 3 { format!("a{}", n - 1) } else { format!("a{n}") };
            let a = alert(
                &id,
                &format!("rule{}", n % 4),
                sevs[(n % 7) as usize],
                at,
                &[(field, &value)],
                vec![event_at(at, ip, Some(user), Some(&token))],
            );
            let o = c.observe(&a);
            if n % 50 == 49 {
                if let Some(i) = &o.incident {
                    c.close_incident(&i.incident().id);
                }
            }
            out.push(o);
        }
        (out, c.stats())
    }

    #[test]
    fn the_same_alerts_give_the_same_observations() {
        let (first, first_stats) = mixed_run();
        let (second, second_stats) = mixed_run();
        assert_eq!(first, second);
        assert_eq!(first_stats, second_stats);
        assert!(first_stats.incidents_opened > 0 && first_stats.alerts_updated > 0);
    }

    #[test]
    fn every_limit_evicts_and_counts() {
        let config = CorrelateConfig {
            actors_max: 3,
            links_max: 2,
            alerts_max: 4,
            incidents_max: 2,
            incident_alert_ids_max: 2,
            incident_actors_max: 2,
            recent_alerts_per_actor_max: 2,
            suppress_keys_max: 2,
            mutes_max: 1,
            ..CorrelateConfig::default()
        };
        let mut c = Correlator::new(config).unwrap();
        for n in 0..10i64 {
            let at = T0 + n * MINUTE_MS;
            let addr = format!("192.0.2.{n}");
            let user = format!("u{n}");
            c.observe(&alert(
                &format!("a{n}"),
                "r",
                Critical,
                at,
                &[("source.ip", &addr)],
                vec![event_at(at, &addr, Some(&user), None)],
            ));
        }
        // One address, many alerts: its recent list and its incident's lists overflow.
        for n in 0..5i64 {
            let at = T0 + (20 + n) * MINUTE_MS;
            c.observe(&alert(
                &format!("b{n}"),
                &format!("r{n}"),
                Low,
                at,
                &[("source.ip", "192.0.2.9")],
                vec![event_at(at, "192.0.2.9", Some(&format!("v{n}")), None)],
            ));
        }
        assert!(c.add_mute(Mute {
            id: "m1".into(),
            rule: "r".into(),
            actor: ip("x"),
            until_ms: i64::MAX
        }));
        assert!(!c.add_mute(Mute {
            id: "m2".into(),
            rule: "r".into(),
            actor: ip("y"),
            until_ms: i64::MAX
        }));
        let s = c.stats();
        assert!(s.actors_evicted > 0, "{s:?}");
        assert!(s.links_evicted > 0, "{s:?}");
        assert!(s.alerts_evicted > 0, "{s:?}");
        assert!(s.incidents_evicted > 0, "{s:?}");
        assert!(s.incident_alert_ids_dropped > 0, "{s:?}");
        assert!(s.incident_actors_dropped > 0, "{s:?}");
        assert!(s.recent_alerts_dropped > 0, "{s:?}");
        assert!(s.suppress_keys_evicted > 0, "{s:?}");
        assert_eq!(s.mutes_refused, 1);
        let sizes = c.sizes();
        assert!(sizes.actors <= 3 && sizes.links <= 2 && sizes.alerts <= 4 && sizes.incidents <= 2);
        assert!(sizes.suppress_keys <= 2 && sizes.mutes <= 1);
    }

    #[test]
    fn settings_report_every_problem() {
        let config = CorrelateConfig {
            weights: SeverityWeights { low: -1.0, ..SeverityWeights::default() },
            half_life_ms: 0,
            risk_threshold: 0.0,
            links_per_actor_max: 0,
            ..CorrelateConfig::default()
        };
        let err = Correlator::new(config).err().unwrap();
        assert_eq!(err.problems.len(), 4, "{err}");
        assert!(err.to_string().contains("half_life_ms"));
    }

    #[test]
    fn an_alert_grouped_by_no_actor_blames_its_evidence() {
        let mut c = correlator();
        let a = alert(
            "route",
            "admin-probe",
            Critical,
            T0,
            &[("url.path", "/admin")],
            vec![event_at(T0, "192.0.2.77", None, None)],
        );
        let o = c.observe(&a);
        assert_eq!(opened(&o).unwrap().title, "Title of admin-probe — ip:192.0.2.77");
        assert_eq!(c.risk(&ip("192.0.2.77"), T0), 100.0);
    }
}
