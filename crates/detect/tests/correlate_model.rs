//! Correlation under random alert sequences: risk stays in [0, 100] and matches a plain
//! recomputation, incidents list each alert once, and a replay gives the same observations.

mod correlate_util;

/// Named after the file, so that `cargo test correlate` selects these tests.
mod correlate_model {

    use super::correlate_util::{alert, event_at, MINUTE_MS, T0};
    use apiwatch_core::{ActorId, Alert, Severity};
    use apiwatch_detect::correlate::{CorrelateConfig, Correlator, Observation};
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// One step: a gap in minutes, an alert id from a small pool (so ids repeat: updates), a
    /// severity, the blamed actor and the evidence's actors, and whether to close the incident.
    type Step = (i64, u8, u8, u8, u8, u8, bool);

    fn step() -> impl Strategy<Value = Step> {
        (0i64..90, 0u8..24, 0u8..4, 0u8..6, 0u8..6, 0u8..6, proptest::bool::weighted(0.05))
    }

    fn build(steps: &[Step]) -> Vec<(Alert, bool)> {
        let severities = [Severity::Low, Severity::Medium, Severity::High, Severity::Critical];
        let mut at = T0;
        let mut by_id: BTreeMap<String, Alert> = BTreeMap::new();
        let mut out = Vec::new();
        for &(gap, id, sev, blamed, ip, user, close) in steps {
            at += gap * MINUTE_MS;
            let id = format!("a{id}");
            let mut a = match by_id.get(&id) {
                // A known id grows: later last_seen, same rule and actor.
                Some(known) => Alert { last_seen_ms: at, ..known.clone() },
                None => {
                    let addr = format!("192.0.2.{ip}");
                    let name = format!("u{user}");
                    let (field, value) = match blamed % 3 {
                        0 => ("source.ip", format!("192.0.2.{blamed}")),
                        1 => ("user.name", format!("u{blamed}")),
                        _ => ("token.id", format!("t{blamed}")),
                    };
                    let token = format!("t{}", (ip + user) % 6);
                    alert(
                        &id,
                        &format!("rule{}", blamed % 2),
                        severities[sev as usize],
                        at,
                        &[(field, &value)],
                        vec![event_at(at, &addr, Some(&name), Some(&token))],
                    )
                }
            };
            a.detected_at_ms = a.detected_at_ms.min(a.last_seen_ms);
            by_id.insert(id, a.clone());
            out.push((a, close));
        }
        out
    }

    fn run(config: &CorrelateConfig, alerts: &[(Alert, bool)]) -> (Correlator, Vec<Observation>) {
        let mut c = Correlator::new(config.clone()).unwrap();
        let mut out = Vec::new();
        for (a, close) in alerts {
            let o = c.observe(a);
            if *close {
                if let Some(i) = &o.incident {
                    c.close_incident(&i.incident().id);
                }
            }
            out.push(o);
        }
        (c, out)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn risk_is_bounded_and_incidents_list_each_alert_once(
            steps in proptest::collection::vec(step(), 1..120)
        ) {
            let alerts = build(&steps);
            let config = CorrelateConfig::default();
            let (c, observations) = run(&config, &alerts);

            // Slow model of risk: each new id adds its weight to its blamed actor, decayed
            // since that actor's last alert, capped at 100.
            let mut model: BTreeMap<ActorId, (f64, i64)> = BTreeMap::new();
            // When each id was last seen: an id unseen for `alert_ttl_ms` is new again.
            let mut seen: BTreeMap<String, i64> = BTreeMap::new();
            let half_life = config.half_life_ms as f64;
            for ((a, _), o) in alerts.iter().zip(&observations) {
                let at = a.last_seen_ms;
                let known = seen.insert(a.id.clone(), at).is_some_and(|t| at - t < config.alert_ttl_ms);
                prop_assert_eq!(o.is_new, !known);
                let blamed = ActorId::of_field(&a.actor[0].0, &a.actor[0].1).unwrap();
                let decay = |(r, t): (f64, i64)| r * 0.5f64.powf((at - t) as f64 / half_life);
                if o.is_new {
                    let before = model.get(&blamed).copied().map_or(0.0, decay);
                    model.insert(blamed.clone(), ((before + config.weights.of(a.severity)).min(100.0), at));
                }
                let expected = model.get(&blamed).copied().map_or(0.0, decay);
                let got = o.actors.iter().find(|r| r.actor == blamed).unwrap().risk;
                prop_assert!((got - expected).abs() < 0.011, "{} vs {}", got, expected);
                for r in &o.actors {
                    prop_assert!((0.0..=100.0).contains(&r.risk), "{:?}", r);
                }
                let mut sorted = o.actors.iter().map(|r| r.actor.clone()).collect::<Vec<_>>();
                sorted.dedup();
                prop_assert_eq!(sorted.len(), o.actors.len());
                if let Some(change) = &o.incident {
                    let inc = change.incident();
                    let ids: BTreeSet<&String> = inc.alert_ids.iter().collect();
                    prop_assert_eq!(ids.len(), inc.alert_ids.len(), "{:?}", inc.alert_ids);
                    prop_assert!(inc.alert_ids.contains(&a.id));
                    prop_assert!((0.0..=100.0).contains(&inc.risk));
                    prop_assert!(inc.actors.windows(2).all(|w| w[0] < w[1]));
                    prop_assert!(inc.rules.windows(2).all(|w| w[0] < w[1]));
                    prop_assert!(inc.first_event_ms <= inc.updated_at_ms);
                    prop_assert!(inc.severity >= a.severity);
                }
            }
            for inc in c.incidents() {
                let ids: BTreeSet<&String> = inc.alert_ids.iter().collect();
                prop_assert_eq!(ids.len(), inc.alert_ids.len());
            }
            let s = c.stats();
            prop_assert_eq!(s.alerts_new + s.alerts_updated, alerts.len() as u64);

            // A replay gives the same observations.
            let (again, replayed) = run(&config, &alerts);
            prop_assert_eq!(&observations, &replayed);
            prop_assert_eq!(s, again.stats());
        }

        #[test]
        fn tight_limits_keep_tables_bounded(steps in proptest::collection::vec(step(), 1..120)) {
            let alerts = build(&steps);
            let config = CorrelateConfig {
                actors_max: 4,
                links_max: 5,
                links_per_actor_max: 2,
                alerts_max: 6,
                incidents_max: 3,
                suppress_keys_max: 3,
                ..CorrelateConfig::default()
            };
            let (c, observations) = run(&config, &alerts);
            let sizes = c.sizes();
            prop_assert!(sizes.actors <= 4 && sizes.links <= 5 && sizes.alerts <= 6);
            prop_assert!(sizes.incidents <= 3 && sizes.suppress_keys <= 3);
            for o in &observations {
                for r in &o.actors {
                    prop_assert!((0.0..=100.0).contains(&r.risk));
                }
            }
        }
    }
}
