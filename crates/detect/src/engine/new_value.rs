//! The new_value kind: fires on a value never seen for the actor, once the actor has been known
//! for `learn` (from its first event) and has at least `min_key_events` earlier events.
//!
//! Values are kept as 64-bit hashes in least-recently-seen order, at most `max_values_per_key`;
//! when full, the value seen least recently is forgotten. A fired value is learnt, so it fires
//! once.

use super::alerts::{Fire, Outcome};
use crate::keytable::{Key, KeyTable};
use crate::template::{capture_text, Facts};
use apiwatch_core::Value;

/// new_value state of one actor.
#[derive(Default)]
pub(crate) struct NewValueState {
    first_ms: i64,
    events: u32,
    /// Least recently seen first.
    values: Vec<u64>,
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn new_value(
    table: &mut KeyTable<NewValueState>,
    key: Key<'_>,
    t: i64,
    value: Value<'_>,
    value_hash: u64,
    learn_ms: i64,
    min_key_events: u32,
    max_values: u32,
    show_value: bool,
) -> Outcome {
    let (i, new_key) = table.touch_or_insert(key, t);
    let st = &mut table.slot_mut(i).state;
    if new_key {
        st.first_ms = t;
    }
    st.first_ms = st.first_ms.min(t);
    let earlier_events = st.events;
    st.events = st.events.saturating_add(1);
    if let Some(j) = st.values.iter().position(|h| *h == value_hash) {
        // Seen before: now the most recently seen.
        let h = st.values.remove(j);
        st.values.push(h);
        return Outcome::None;
    }
    let learnt = t - st.first_ms >= learn_ms && earlier_events >= min_key_events;
    if st.values.len() >= max_values as usize {
        st.values.remove(0);
    }
    st.values.push(value_hash);
    if !learnt {
        return Outcome::None;
    }
    let facts = Facts {
        value: if show_value { capture_text(value) } else { None },
        distinct: st.values.len() as u64 - 1,
        ..Facts::default()
    };
    Outcome::Fire(Box::new(Fire { facts, ..Fire::at(t) }))
}
