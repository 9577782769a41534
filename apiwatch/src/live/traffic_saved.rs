//! The dashboard's counts by minute (the traffic roll-up and the threat map) saved to the
//! state database, so that a restart keeps the last day of charts: the processing thread saves
//! the minutes that changed every few seconds and when it stops, and the service reads them
//! back before it starts counting. Losing the last few seconds in a crash costs a dent in a
//! chart, never an event (those are in the store), so the save is not tied to store commits.

use super::geo_map::SharedGeoMap;
use super::minutes::MINUTES_KEPT;
use super::rollup::SharedRollup;
use apiwatch_core::time::MINUTE_MS;
use apiwatch_state::State;

/// The `kind` of the roll-up's rows.
const ROLLUP: &str = "rollup";
/// The `kind` of the threat map's rows.
const GEO: &str = "geo";

/// Reads back the minutes of the last day (wall time) into `rollup` and `geo`.
pub fn restore(state: &State, rollup: &SharedRollup, geo: &SharedGeoMap, now_ms: i64) {
    let from = now_ms.div_euclid(MINUTE_MS) - MINUTES_KEPT as i64;
    let read = |kind: &str| match state.traffic_minutes(kind, from) {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, kind, "cannot read the saved traffic; the charts start afresh");
            Vec::new()
        }
    };
    let (rows, map_rows) = (read(ROLLUP), read(GEO));
    let unreadable = super::lock(rollup).restore(&rows) + super::lock(geo).restore(&map_rows);
    if unreadable > 0 {
        tracing::warn!(unreadable, "saved traffic minutes could not be read; skipped");
    }
    tracing::debug!(minutes = rows.len(), "traffic restored");
}

/// Saves the minutes counted into since the last save, and forgets those no longer kept.
pub fn save(state: &State, rollup: &SharedRollup, geo: &SharedGeoMap) {
    // Taken under each lock, written after: the API is not held up by the disk.
    let (rows, keep_from) = super::lock(rollup).take_changed();
    let (map_rows, map_keep_from) = super::lock(geo).take_changed();
    for (kind, rows, keep_from) in [(ROLLUP, rows, keep_from), (GEO, map_rows, map_keep_from)] {
        if rows.is_empty() {
            continue;
        }
        if let Err(e) = state.save_traffic_minutes(kind, &rows, keep_from) {
            tracing::warn!(error = %e, kind, "cannot save traffic minutes; they are counted on");
        }
    }
}
