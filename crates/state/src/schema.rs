//! The schema, as numbered migration steps. Step N brings a database from `user_version`
//! N-1 to N; a released step is never edited, only followed by a new one.

/// Migration steps in order; `MIGRATIONS[i]` brings the schema to version `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

// Severities are stored as their rank (low 0 .. critical 3) so "at least" is a comparison.
// Actors are stored as `kind:value` text, the form `ActorId` displays and parses.
// Alert and incident ids are the deterministic ids of `apiwatch-core`; alerts name their
// incident without a foreign key, since correlation may store an alert before its incident.
const V1: &str = r#"
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    severity INTEGER NOT NULL CHECK (severity BETWEEN 0 AND 3),
    detected_at_ms INTEGER NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    primary_actor TEXT,
    incident_id TEXT,
    json TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX alerts_by_time ON alerts (detected_at_ms, id);
CREATE INDEX alerts_by_rule ON alerts (rule, detected_at_ms);
CREATE INDEX alerts_by_severity ON alerts (severity, detected_at_ms);
CREATE INDEX alerts_by_incident ON alerts (incident_id) WHERE incident_id IS NOT NULL;

CREATE TABLE alert_actors (
    alert_id TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    actor TEXT NOT NULL,
    PRIMARY KEY (alert_id, actor)
) WITHOUT ROWID;
CREATE INDEX alert_actors_by_actor ON alert_actors (actor, alert_id);

CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    -- Correlation's part, replaced by every upsert.
    title TEXT NOT NULL,
    severity INTEGER NOT NULL CHECK (severity BETWEEN 0 AND 3),
    risk REAL NOT NULL,
    first_event_ms INTEGER NOT NULL,
    opened_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    actors_json TEXT NOT NULL,
    alert_ids_json TEXT NOT NULL,
    rules_json TEXT NOT NULL,
    -- The analyst's part, which upserts never touch.
    status TEXT NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'acknowledged', 'resolved', 'false_positive')),
    status_by TEXT,
    assignee TEXT,
    verdict TEXT,
    acknowledged_at_ms INTEGER,
    resolved_at_ms INTEGER
) WITHOUT ROWID;
CREATE INDEX incidents_by_opened ON incidents (opened_at_ms);
CREATE INDEX incidents_by_status ON incidents (status, opened_at_ms);
CREATE INDEX incidents_by_assignee ON incidents (assignee, opened_at_ms)
    WHERE assignee IS NOT NULL;

CREATE TABLE incident_actors (
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    actor TEXT NOT NULL,
    PRIMARY KEY (incident_id, actor)
) WITHOUT ROWID;
CREATE INDEX incident_actors_by_actor ON incident_actors (actor, incident_id);

CREATE TABLE incident_rules (
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    rule TEXT NOT NULL,
    PRIMARY KEY (incident_id, rule)
) WITHOUT ROWID;
CREATE INDEX incident_rules_by_rule ON incident_rules (rule, incident_id);

CREATE TABLE incident_notes (
    id INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    author TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX incident_notes_by_incident ON incident_notes (incident_id, at_ms);

-- One row: the last change sequence number handed out. Every change of a decision's status
-- takes the next number, so bouncers can ask for what changed since the number they hold.
CREATE TABLE decision_sequence (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    seq INTEGER NOT NULL
);
INSERT INTO decision_sequence (only, seq) VALUES (1, 0);

CREATE TABLE decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    action TEXT NOT NULL,
    scope TEXT NOT NULL,
    value TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    origin_kind TEXT NOT NULL CHECK (origin_kind IN ('rule', 'person')),
    origin_name TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('proposed', 'active', 'rejected', 'lifted', 'expired')),
    status_by TEXT,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    alert_id TEXT,
    incident_id TEXT,
    outcome TEXT,
    change_seq INTEGER NOT NULL UNIQUE
);
CREATE INDEX decisions_by_target ON decisions (scope, value, status);
CREATE INDEX decisions_by_status ON decisions (status, expires_at_ms);
CREATE INDEX decisions_by_alert ON decisions (alert_id) WHERE alert_id IS NOT NULL;
CREATE INDEX decisions_by_incident ON decisions (incident_id) WHERE incident_id IS NOT NULL;

CREATE TABLE mutes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    -- NULL: until deleted.
    expires_at_ms INTEGER
);
CREATE INDEX mutes_by_rule ON mutes (rule, actor);
CREATE INDEX mutes_by_expiry ON mutes (expires_at_ms);

CREATE TABLE allow_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scope TEXT NOT NULL,
    value TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    UNIQUE (scope, value)
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL
        CHECK (role IN ('admin', 'analyst', 'viewer', 'agent', 'bouncer')),
    secret_sha256 BLOB NOT NULL UNIQUE CHECK (length(secret_sha256) = 32),
    created_at_ms INTEGER NOT NULL,
    last_used_ms INTEGER
);

-- Append-only: the triggers below refuse every UPDATE and DELETE, and each entry's hash
-- covers the previous entry's hash, so an edit made with the triggers dropped still shows.
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    who TEXT NOT NULL,
    role TEXT,
    client TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail_json TEXT NOT NULL,
    hash BLOB NOT NULL CHECK (length(hash) = 32)
);
CREATE INDEX audit_by_time ON audit (at_ms);
CREATE INDEX audit_by_who ON audit (who, at_ms);
CREATE INDEX audit_by_action ON audit (action, at_ms);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
"#;

// Traffic counts by minute of event time, one row per kind of count (the roll-up, the threat
// map) and minute, kept for the last day so a restart keeps the dashboard's charts. `data` is
// the service's own JSON: the database does not read it.
const V2: &str = r#"
CREATE TABLE traffic_minutes (
    kind TEXT NOT NULL,
    minute INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, minute)
) WITHOUT ROWID;
"#;
