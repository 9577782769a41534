//! The threshold and distinct kinds against a slow, obviously correct model that recomputes
//! each window from the full list of events, alert lifecycle included.

mod engine_util;

use apiwatch_core::Alert;
use engine_util::*;
use proptest::prelude::*;
use serde_json::json;
use std::collections::BTreeMap;

/// One generated event: time step since the previous event (ms, at least 1), actor, whether
/// it passes `where`, and a value for `distinct`.
#[derive(Clone, Debug)]
struct Gen {
    step_ms: i64,
    actor: u8,
    matches: bool,
    value: u8,
}

fn gen_events() -> impl Strategy<Value = Vec<Gen>> {
    prop::collection::vec(
        // Mostly multiples of 250ms, so that events exactly a window apart are common.
        (
            prop_oneof![3 => (1i64..8).prop_map(|k| k * 250), 1 => 1i64..4_000],
            0u8..3,
            prop::bool::weighted(0.8),
            0u8..6,
        )
            .prop_map(|(step_ms, actor, matches, value)| Gen {
                step_ms,
                actor,
                matches,
                value,
            }),
        1..80,
    )
}

/// (actor, detected_at, first_seen or -1 when not compared, last_seen, count)
type Summary = (String, i64, i64, i64, u64);

fn summarise(alerts: &[Alert], with_first: bool) -> Vec<Summary> {
    let mut v: Vec<Summary> = alerts
        .iter()
        .map(|a| {
            let first = if with_first { a.first_seen_ms - t0() } else { -1 };
            (a.actor[0].1.clone(), a.detected_at_ms - t0(), first, a.last_seen_ms - t0(), a.count)
        })
        .collect();
    v.sort();
    v
}

#[derive(Clone, Debug)]
struct ModelAlert {
    detected: i64,
    first: i64,
    last: i64,
    count: u64,
}

/// The alert lifecycle shared by both models: `decide(i)` says, for matching event `i`,
/// whether the rule holds at it (`Some(first_seen, count)`), and whether it is a hit.
fn lifecycle(
    times: &[i64],
    actors: &[String],
    matching: &[bool],
    suppress_ms: i64,
    mut decide: impl FnMut(usize) -> (Option<(i64, u64)>, bool),
) -> Vec<Summary> {
    let mut open: BTreeMap<String, ModelAlert> = BTreeMap::new();
    let mut done: Vec<(String, ModelAlert)> = Vec::new();
    for i in 0..times.len() {
        let t = times[i];
        let closing: Vec<String> = open
            .iter()
            .filter(|(_, a)| a.detected + suppress_ms <= t)
            .map(|(k, _)| k.clone())
            .collect();
        for k in closing {
            let a = open.remove(&k).unwrap();
            done.push((k, a));
        }
        if !matching[i] {
            continue;
        }
        let (holds, hit) = decide(i);
        match open.get_mut(&actors[i]) {
            Some(a) => {
                if hit || holds.is_some() {
                    a.count += 1;
                    a.last = a.last.max(t);
                }
            }
            None => {
                if let Some((first, count)) = holds {
                    open.insert(
                        actors[i].clone(),
                        ModelAlert { detected: t, first, last: t, count },
                    );
                }
            }
        }
    }
    done.extend(open);
    let mut v: Vec<Summary> =
        done.into_iter().map(|(k, a)| (k, a.detected, a.first, a.last, a.count)).collect();
    v.sort();
    v
}

fn expand(gens: &[Gen]) -> (Vec<i64>, Vec<String>, Vec<bool>, Vec<u8>) {
    let mut t = 0;
    let mut times = Vec::new();
    for g in gens {
        t += g.step_ms;
        times.push(t);
    }
    let actors = gens.iter().map(|g| format!("user{}", g.actor)).collect();
    let matching = gens.iter().map(|g| g.matches).collect();
    let values = gens.iter().map(|g| g.value).collect();
    (times, actors, matching, values)
}

fn events(gens: &[Gen]) -> Vec<apiwatch_core::Event> {
    let (times, actors, matching, values) = expand(gens);
    (0..gens.len())
        .map(|i| {
            ev(
                times[i],
                json!({"user.name": actors[i], "event.outcome": if matching[i] { "failure" } else { "success" },
                       "url.path": format!("/p{}", values[i])}),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn threshold_matches_the_model(
        gens in gen_events(),
        window_s in 1i64..20,
        min_count in 1u32..6,
        suppress_s in 1i64..30,
    ) {
        let yaml = header("model", "threshold")
            + &format!("where: {{event.outcome: failure}}\ngroup_by: [user.name]\nwindow: {window_s}s\nmin_count: {min_count}\nsuppress: {suppress_s}s\n");
        let set = rules(&yaml);
        let got = summarise(&run(&set, &events(&gens)), true);

        let (times, actors, matching, _) = expand(&gens);
        let window = window_s * S;
        let want = lifecycle(&times, &actors, &matching, suppress_s * S, |i| {
            let mut in_window: Vec<i64> = (0..=i)
                .filter(|&j| matching[j] && actors[j] == actors[i] && times[i] - times[j] < window)
                .map(|j| times[j])
                .collect();
            in_window.sort();
            let n = in_window.len();
            if n >= min_count as usize {
                (Some((in_window[n - min_count as usize], u64::from(min_count))), true)
            } else {
                (None, true)
            }
        });
        prop_assert_eq!(got, want);
    }

    #[test]
    fn distinct_matches_the_model(
        gens in gen_events(),
        window_s in 1i64..20,
        min_distinct in 1u32..5,
        suppress_s in 1i64..30,
    ) {
        let yaml = header("model", "distinct")
            + &format!("where: {{event.outcome: failure}}\ngroup_by: [user.name]\nfield: url.path\nwindow: {window_s}s\nmin_distinct: {min_distinct}\nsuppress: {suppress_s}s\n");
        let set = rules(&yaml);
        let got = summarise(&run(&set, &events(&gens)), false);

        let (times, actors, matching, values) = expand(&gens);
        let window = window_s * S;
        let m = min_distinct as usize;
        let want = lifecycle(&times, &actors, &matching, suppress_s * S, |i| {
            // Distinct values of the actor's earlier matching events in the window, most
            // recently seen first.
            let mut last_seen: BTreeMap<u8, i64> = BTreeMap::new();
            for j in 0..i {
                if matching[j] && actors[j] == actors[i] && times[i] - times[j] < window {
                    last_seen.insert(values[j], times[j]);
                }
            }
            let mut recent: Vec<(i64, u8)> = last_seen.iter().map(|(v, t)| (*t, *v)).collect();
            recent.sort_by(|a, b| b.cmp(a));
            let retained: Vec<u8> = recent.iter().take(m).map(|(_, v)| *v).collect();
            if retained.contains(&values[i]) {
                return (None, false);
            }
            let distinct = (last_seen.len() + usize::from(!last_seen.contains_key(&values[i]))).min(m);
            if distinct >= m {
                (Some((-1, m as u64)), true)
            } else {
                (None, true)
            }
        });
        let want: Vec<Summary> = want.into_iter().map(|(k, d, _, l, c)| (k, d, -1, l, c)).collect();
        prop_assert_eq!(got, want);
    }
}
