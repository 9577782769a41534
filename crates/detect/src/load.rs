//! Rule files → compiled rules. Every problem of every file is collected, each with its file,
//! line, column and key path; nothing downstream re-checks what this proved.
//!
//! Two steps per rule, as elsewhere in apiwatch: the raw step ([`RawRule`]) sorts a rule's keys
//! into known ones, reporting unknown keys and keys of another kind; the validation step turns
//! each key's located YAML into the types the engine runs on.

use crate::condition::{self, networks, parse_field, string_list, IpRanges, RegexList};
use crate::error::{LoadErrors, RuleError};
use crate::rule::{
    ua_bit, Allow, BaselineSpec, Kind, ResponseSpec, Rule, RuleInfo, Step, TestCase, TestEvents,
    EARTH_HALF_CIRCUMFERENCE_KM, KINDS,
};
use crate::template::Template;
use crate::yaml::{self, Loc, Node, Yaml};
use apiwatch_core::time::{parse_duration_ms, DAY_MS, HOUR_MS};
use apiwatch_core::{Field, ResponseAction, Severity, UaClass};
use std::collections::HashMap;

/// Error collection for one file.
pub(crate) struct Cx<'a> {
    file: &'a str,
    /// Ids of shared field tests, across all files of the load.
    shared: &'a mut HashMap<String, u32>,
    /// Regular expression lists already built in this load, by their combined pattern: the
    /// pack repeats some (the login paths) in several rules, and a build is costly.
    regexes: &'a mut HashMap<String, RegexList>,
    /// `[2].` while loading the third rule of a file holding a list.
    prefix: String,
    errors: Vec<RuleError>,
}

impl Cx<'_> {
    /// Records a problem at `loc`, under `path`.
    pub fn err(&mut self, loc: Loc, path: &str, message: impl Into<String>) {
        self.errors.push(RuleError {
            file: self.file.to_string(),
            line: loc.line,
            column: loc.column,
            path: format!("{}{}", self.prefix, path),
            message: message.into(),
        });
    }

    /// The id of a field test, the same for the same field and matcher anywhere in the load.
    pub fn shared_id(&mut self, field: &Field, matcher: &Node) -> u32 {
        let key = format!("{}\u{0}{}", field.name(), matcher.to_json());
        let next = self.shared.len() as u32;
        *self.shared.entry(key).or_insert(next)
    }

    /// The list built earlier in this load from the same combined pattern, if any.
    pub fn built_regex(&self, alternation: &str) -> Option<RegexList> {
        self.regexes.get(alternation).cloned()
    }

    /// Keeps a built list for reuse, up to `REGEX_REUSE_MAX_LISTS` lists.
    pub fn keep_regex(&mut self, alternation: String, list: &RegexList) {
        if self.regexes.len() < REGEX_REUSE_MAX_LISTS {
            self.regexes.insert(alternation, list.clone());
        }
    }

    fn error_count(&self) -> usize {
        self.errors.len()
    }
}

/// `; did you mean `x`?` for the known names closest to `name`, or nothing.
pub(crate) fn suggest(name: &str, known: &[&str]) -> String {
    let mut scored: Vec<(usize, &str)> = known
        .iter()
        .filter_map(|k| {
            let d = edit_distance(name, k);
            let close = d <= (name.len() / 3).max(2);
            // `status_code` for `http.response.status_code`.
            let tail = k.ends_with(&format!(".{name}")) || name.ends_with(&format!(".{k}"));
            (close || tail).then_some((if tail { 0 } else { d }, *k))
        })
        .collect();
    scored.sort();
    scored.dedup_by_key(|(_, k)| *k);
    let names: Vec<String> = scored.iter().take(3).map(|(_, k)| format!("`{k}`")).collect();
    match names.len() {
        0 => String::new(),
        1 => format!("; did you mean {}?", names[0]),
        _ => format!("; did you mean one of {}?", names.join(", ")),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

const COMMON_KEYS: &[&str] = &[
    "id",
    "title",
    "description",
    "severity",
    "owasp",
    "attack",
    "kind",
    "where",
    "group_by",
    "suppress",
    "allow",
    "response",
    "summary",
    "tests",
    "max_keys",
];

fn kind_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "threshold" => &["window", "min_count"],
        "distinct" => &["field", "window", "min_distinct"],
        "ratio" => &["matching", "window", "min_ratio", "min_events"],
        "sequence" => &["steps", "within"],
        "new_value" => &["field", "learn", "min_key_events", "max_values_per_key", "forget"],
        "velocity" => &["max_speed_kmh", "min_distance_km", "concurrent_window"],
        "baseline" => &[
            "value",
            "bucket",
            "factor",
            "min_value",
            "learn_buckets",
            "sustained_buckets",
            "alpha",
            "by_hour_of_day",
            "forget",
        ],
        _ => &[],
    }
}

/// Regular expression lists one load keeps for reuse by later rules (a pack has a few dozen).
const REGEX_REUSE_MAX_LISTS: usize = 1_024;

/// Limits on rule parameters, so that one rule cannot make the engine's state unbounded.
const WINDOW_MAX_MS: i64 = 30 * DAY_MS;
const LEARN_MAX_MS: i64 = 365 * DAY_MS;
const MIN_COUNT_MAX: u64 = 100_000;
const MIN_DISTINCT_MAX: u64 = 1_000;
const MAX_VALUES_PER_KEY_MAX: u64 = 1_024;
const STEPS_MAX: usize = 8;
const GROUP_BY_MAX: usize = 4;
const MAX_KEYS_MAX: u64 = 10_000_000;
/// Events in one test case after `repeat` expansion.
pub(crate) const TEST_EVENTS_MAX: u64 = 1_000_000;

/// Loads every source; all errors or all rules.
pub(crate) fn load(sources: &[(String, String)]) -> Result<Vec<Rule>, LoadErrors> {
    let mut errors = Vec::new();
    let mut rules = Vec::new();
    let mut ids: HashMap<String, (String, Loc)> = HashMap::new();
    let mut shared = HashMap::new();
    let mut regexes = HashMap::new();
    for ((file, _), parsed) in sources.iter().zip(parse_all(sources)) {
        let mut cx = Cx {
            file,
            shared: &mut shared,
            regexes: &mut regexes,
            prefix: String::new(),
            errors: Vec::new(),
        };
        match parsed {
            Err(e) => cx.err(e.loc, "yaml", e.message),
            Ok(root) => match &root.value {
                Yaml::Map(_) => load_one(&mut cx, &root, &mut ids, &mut rules),
                Yaml::Seq(items) => {
                    if items.is_empty() {
                        cx.err(root.loc, "rules", "the file holds an empty list of rules");
                    }
                    for (i, item) in items.iter().enumerate() {
                        cx.prefix = format!("[{i}].");
                        load_one(&mut cx, item, &mut ids, &mut rules);
                    }
                }
                Yaml::Null => cx.err(root.loc, "rules", "the file holds no rule"),
                _ => cx.err(
                    root.loc,
                    "rules",
                    format!(
                        "expected a rule (a mapping) or a list of rules, found {}",
                        root.type_name()
                    ),
                ),
            },
        }
        cx.errors.sort_by_key(|e| (e.line, e.column));
        errors.extend(cx.errors);
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(LoadErrors(errors))
    }
}

/// Each source's YAML tree, in source order. Parsing is most of the cost of loading a pack and
/// each file parses alone, so the sources are split over the machine's cores.
fn parse_all(sources: &[(String, String)]) -> Vec<Result<Node, yaml::SyntaxError>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = sources.len().div_ceil(threads.max(1)).max(1);
    if sources.len() <= per_thread {
        return sources.iter().map(|(_, text)| yaml::parse(text)).collect();
    }
    std::thread::scope(|s| {
        let parts: Vec<_> = sources
            .chunks(per_thread)
            .map(|part| {
                s.spawn(move || part.iter().map(|(_, text)| yaml::parse(text)).collect::<Vec<_>>())
            })
            .collect();
        parts.into_iter().flat_map(|p| p.join().expect("parsing YAML does not panic")).collect()
    })
}

fn load_one(
    cx: &mut Cx,
    node: &Node,
    ids: &mut HashMap<String, (String, Loc)>,
    rules: &mut Vec<Rule>,
) {
    let before = cx.error_count();
    let (rule, id) = load_rule(cx, node);
    if let Some((id, loc)) = id {
        match ids.get(&id) {
            Some((file, first)) => cx.err(
                loc,
                "id",
                format!(
                    "duplicate rule id `{id}`: also defined at {file}:{}:{}",
                    first.line, first.column
                ),
            ),
            None => {
                ids.insert(id, (cx.file.to_string(), loc));
            }
        }
    }
    if cx.error_count() == before {
        if let Some(r) = rule {
            rules.push(r);
        }
    }
}

/// A rule's keys, sorted into known ones (the raw form: located YAML, not yet validated).
struct RawRule<'a> {
    loc: Loc,
    keys: Vec<(&'a str, &'a Node)>,
}

impl<'a> RawRule<'a> {
    /// Reads a rule mapping, reporting keys that are unknown or belong to another kind.
    /// Returns the rule and its kind (when `kind` is valid).
    fn read(cx: &mut Cx, node: &'a Node) -> Option<(RawRule<'a>, Option<&'static str>)> {
        let Yaml::Map(entries) = &node.value else {
            cx.err(
                node.loc,
                "rule",
                format!("expected a rule (a mapping), found {}", node.type_name()),
            );
            return None;
        };
        let mut keys = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            match k.as_str() {
                Some(name) => keys.push((name, k, v)),
                None => {
                    cx.err(k.loc, "rule", format!("expected a key name, found {}", k.type_name()))
                }
            }
        }
        let kind = match keys.iter().find(|(n, _, _)| *n == "kind") {
            None => {
                cx.err(
                    node.loc,
                    "kind",
                    format!("missing required key `kind` (one of {})", KINDS.join(", ")),
                );
                None
            }
            Some((_, _, v)) => match v.as_str() {
                Some(s) => match KINDS.iter().find(|k| **k == s) {
                    Some(k) => Some(*k),
                    None => {
                        cx.err(
                            v.loc,
                            "kind",
                            format!("unknown kind `{s}`; one of {}", KINDS.join(", ")),
                        );
                        None
                    }
                },
                None => {
                    cx.err(
                        v.loc,
                        "kind",
                        format!("expected one of {}, found {}", KINDS.join(", "), v.type_name()),
                    );
                    None
                }
            },
        };
        let mut known: Vec<&str> = COMMON_KEYS.to_vec();
        if let Some(k) = kind {
            known.extend(kind_keys(k));
        }
        let mut out = Vec::with_capacity(keys.len());
        for (name, k, v) in keys {
            if known.contains(&name) {
                out.push((name, v));
                continue;
            }
            let owners: Vec<&str> =
                KINDS.iter().copied().filter(|kd| kind_keys(kd).contains(&name)).collect();
            match (owners.is_empty(), kind) {
                (false, Some(kind)) => cx.err(
                    k.loc,
                    name,
                    format!(
                        "`{name}` does not apply to a {kind} rule (it is a key of {})",
                        owners.join(", ")
                    ),
                ),
                // With an unknown kind, a kind-specific key is not the problem to report.
                (false, None) => {}
                (true, _) => {
                    cx.err(k.loc, name, format!("unknown key `{name}`{}", suggest(name, &known)))
                }
            }
        }
        Some((RawRule { loc: node.loc, keys: out }, kind))
    }

    fn get(&self, name: &str) -> Option<&'a Node> {
        self.keys.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    fn required(&self, cx: &mut Cx, name: &str) -> Option<&'a Node> {
        let v = self.get(name);
        if v.is_none() {
            cx.err(self.loc, name, format!("missing required key `{name}`"));
        }
        v
    }
}

fn string(cx: &mut Cx, v: &Node, path: &str) -> Option<String> {
    match &v.value {
        Yaml::Str(s) => Some(s.clone()),
        _ => {
            cx.err(v.loc, path, format!("expected a string, found {}", v.type_name()));
            None
        }
    }
}

fn duration(cx: &mut Cx, v: &Node, path: &str, min_ms: i64, max_ms: i64) -> Option<i64> {
    let Some(s) = v.as_str() else {
        cx.err(
            v.loc,
            path,
            format!("expected a duration like 30s, 5m, 1h or 7d, found {}", v.type_name()),
        );
        return None;
    };
    match parse_duration_ms(s) {
        Err(_) => {
            cx.err(v.loc, path, format!("`{s}` is not a duration: use a whole number and ms, s, m, h or d, like 30s, 5m, 1h or 7d"));
            None
        }
        Ok(ms) if ms < min_ms => {
            cx.err(v.loc, path, format!("`{s}` is too short: at least {}", fmt_ms(min_ms)));
            None
        }
        Ok(ms) if ms > max_ms => {
            cx.err(v.loc, path, format!("`{s}` is too long: at most {}", fmt_ms(max_ms)));
            None
        }
        Ok(ms) => Some(ms),
    }
}

fn fmt_ms(ms: i64) -> String {
    apiwatch_core::time::format_duration_ms(ms)
}

fn uint(cx: &mut Cx, v: &Node, path: &str, min: u64, max: u64) -> Option<u64> {
    match v.value {
        Yaml::Int(i) if i >= 0 && (i as u64) >= min && (i as u64) <= max => Some(i as u64),
        Yaml::Int(i) => {
            cx.err(v.loc, path, format!("{i} is out of range: expected {min} to {max}"));
            None
        }
        _ => {
            cx.err(
                v.loc,
                path,
                format!("expected a whole number from {min} to {max}, found {}", v.type_name()),
            );
            None
        }
    }
}

fn number(cx: &mut Cx, v: &Node, path: &str) -> Option<f64> {
    match v.value {
        Yaml::Int(i) => Some(i as f64),
        Yaml::Float(f) if f.is_finite() => Some(f),
        _ => {
            cx.err(v.loc, path, format!("expected a number, found {}", v.type_name()));
            None
        }
    }
}

fn boolean(cx: &mut Cx, v: &Node, path: &str) -> Option<bool> {
    match v.value {
        Yaml::Bool(b) => Some(b),
        _ => {
            cx.err(v.loc, path, format!("expected true or false, found {}", v.type_name()));
            None
        }
    }
}

/// `[a-z0-9-]+`, starting with a letter or digit.
fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

fn valid_owasp(s: &str) -> bool {
    let Some(n) = s.strip_prefix("API").and_then(|r| r.strip_suffix(":2023")) else {
        return false;
    };
    matches!(n.parse::<u8>(), Ok(1..=10)) && !n.starts_with('0')
}

/// `T1110` or `T1110.001`.
fn valid_attack(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
    match b.len() {
        5 => b[0] == b'T' && digits(&b[1..]),
        9 => b[0] == b'T' && digits(&b[1..5]) && b[5] == b'.' && digits(&b[6..]),
        _ => false,
    }
}

type RuleAndId = (Option<Rule>, Option<(String, Loc)>);

fn load_rule(cx: &mut Cx, node: &Node) -> RuleAndId {
    let Some((raw, kind)) = RawRule::read(cx, node) else {
        return (None, None);
    };

    let mut id_out = None;
    let id = raw.required(cx, "id").and_then(|v| {
        let s = string(cx, v, "id")?;
        if valid_id(&s) {
            id_out = Some((s.clone(), v.loc));
            Some(s)
        } else {
            cx.err(
                v.loc,
                "id",
                format!("`{s}` is not a valid id: use lower-case letters, digits and `-`"),
            );
            None
        }
    });
    let title = raw.required(cx, "title").and_then(|v| {
        let s = string(cx, v, "title")?;
        if s.trim().is_empty() {
            cx.err(v.loc, "title", "the title is empty");
            return None;
        }
        Some(s)
    });
    let description = raw.get("description").and_then(|v| string(cx, v, "description"));
    let severity = raw.required(cx, "severity").and_then(|v| {
        let s = string(cx, v, "severity")?;
        let sev = Severity::parse(&s);
        if sev.is_none() {
            cx.err(
                v.loc,
                "severity",
                format!("unknown severity `{s}`; one of low, medium, high, critical"),
            );
        }
        sev
    });
    let owasp = raw.required(cx, "owasp").and_then(|v| {
        let s = string(cx, v, "owasp")?;
        if valid_owasp(&s) {
            Some(s)
        } else {
            cx.err(v.loc, "owasp", format!("`{s}` is not an OWASP API Security Top 10 2023 category: API1:2023 to API10:2023"));
            None
        }
    });
    let attack = raw.get("attack").and_then(|v| {
        let s = string(cx, v, "attack")?;
        if valid_attack(&s) {
            Some(s)
        } else {
            cx.err(
                v.loc,
                "attack",
                format!("`{s}` is not an ATT&CK technique id like T1110 or T1110.001"),
            );
            None
        }
    });
    let attack_ok = raw.get("attack").is_none() || attack.is_some();

    let group_by = match raw.get("group_by") {
        None => Some(vec![Field::SourceIp]),
        Some(v) => group_by(cx, v),
    };
    let filter = match raw.get("where") {
        None => Some(condition::Cond::True),
        Some(v) => condition::compile(cx, v, "where"),
    };
    let suppress_ms = match raw.get("suppress") {
        None => Some(HOUR_MS),
        Some(v) => duration(cx, v, "suppress", 1, WINDOW_MAX_MS),
    };
    let allow = raw.get("allow").map_or(Some(Allow::default()), |v| allow(cx, v));
    let response = match (raw.get("response"), &group_by) {
        (None, _) => Some(None),
        (Some(v), Some(gb)) => response(cx, v, gb).map(Some),
        (Some(_), None) => None,
    };
    let max_keys = match raw.get("max_keys") {
        None => Some(None),
        Some(v) => uint(cx, v, "max_keys", 1, MAX_KEYS_MAX).map(|n| Some(n as usize)),
    };
    let kind_spec = kind.and_then(|k| kind_spec(cx, &raw, k));
    let summary = match (kind, &group_by, &kind_spec) {
        (Some(k), Some(gb), Some(spec)) => {
            let has_window = spec.window_ms().is_some();
            match raw.get("summary") {
                None => Some(Template::default_for(k, has_window, gb)),
                Some(v) => string(cx, v, "summary").and_then(|s| {
                    Template::parse(&s, k, has_window, gb)
                        .map_err(|e| cx.err(v.loc, "summary", e))
                        .ok()
                }),
            }
        }
        _ => None,
    };
    let tests = raw.get("tests").map_or(Some(Vec::new()), |v| tests(cx, v));

    let rule = (|| {
        let group_by = group_by?;
        let kind_name = kind?;
        let info = RuleInfo {
            id: id?,
            title: title?,
            description,
            severity: severity?,
            owasp: owasp?,
            attack: if attack_ok { attack } else { return None },
            kind: kind_name,
            group_by: group_by.iter().map(Field::name).collect(),
            file: cx.file.to_string(),
            line: raw.loc.line,
            fire_cases: 0,
            quiet_cases: 0,
        };
        let tests = tests?;
        let info = RuleInfo {
            fire_cases: tests.iter().filter(|t| t.fire).count(),
            quiet_cases: tests.iter().filter(|t| !t.fire).count(),
            ..info
        };
        Some(Rule {
            info,
            filter: filter?,
            allow: allow?,
            group_by,
            suppress_ms: suppress_ms?,
            response: response?,
            summary: summary?,
            max_keys: max_keys?,
            kind: kind_spec?,
            tests,
        })
    })();
    (rule, id_out)
}

fn group_by(cx: &mut Cx, v: &Node) -> Option<Vec<Field>> {
    let items: Vec<&Node> = match &v.value {
        Yaml::Seq(items) => items.iter().collect(),
        Yaml::Str(_) => vec![v],
        _ => {
            cx.err(
                v.loc,
                "group_by",
                format!("expected a list of field names, found {}", v.type_name()),
            );
            return None;
        }
    };
    if items.is_empty() {
        cx.err(v.loc, "group_by", "expected at least one field");
        return None;
    }
    if items.len() > GROUP_BY_MAX {
        cx.err(v.loc, "group_by", format!("at most {GROUP_BY_MAX} fields"));
        return None;
    }
    let mut out: Vec<Field> = Vec::new();
    let mut ok = true;
    for (i, it) in items.iter().enumerate() {
        let path = format!("group_by[{i}]");
        match parse_field(cx, it, &path) {
            Some(f) if out.contains(&f) => {
                cx.err(it.loc, &path, format!("{} is listed twice", f.name()));
                ok = false;
            }
            Some(f) => out.push(f),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// The entries of a nested mapping whose key is in `known`; other keys are reported (and the
/// rule is then dropped by `load_one`, which counts errors) while the known ones are still
/// checked, so that one unknown key does not hide the next problem.
fn sub_keys<'a>(
    cx: &mut Cx,
    v: &'a Node,
    path: &str,
    known: &[&str],
) -> Option<Vec<(&'a str, &'a Node, &'a Node)>> {
    let Yaml::Map(entries) = &v.value else {
        cx.err(v.loc, path, format!("expected a mapping, found {}", v.type_name()));
        return None;
    };
    let mut out = Vec::new();
    for (k, val) in entries {
        match k.as_str() {
            Some(name) if known.contains(&name) => out.push((name, k, val)),
            Some(name) => {
                cx.err(
                    k.loc,
                    &format!("{path}.{name}"),
                    format!("unknown key `{name}`{}", suggest(name, known)),
                );
            }
            None => cx.err(k.loc, path, format!("expected a key name, found {}", k.type_name())),
        }
    }
    Some(out)
}

fn allow(cx: &mut Cx, v: &Node) -> Option<Allow> {
    let keys = sub_keys(cx, v, "allow", &["networks", "users", "user_agent_classes"])?;
    let mut a = Allow::default();
    let mut ok = true;
    for (name, _, val) in keys {
        let path = format!("allow.{name}");
        match name {
            "networks" => match networks(cx, val, &path) {
                Some(n) => a.networks = IpRanges::new(&n),
                None => ok = false,
            },
            "users" => match string_list(cx, val, &path) {
                Some(items) => {
                    a.users = items.into_iter().map(|(s, _)| s.into_boxed_str()).collect()
                }
                None => ok = false,
            },
            _ => match string_list(cx, val, &path) {
                Some(items) => {
                    for (s, loc) in items {
                        match UaClass::parse(&s) {
                            Some(c) => a.ua_classes |= ua_bit(c),
                            None => {
                                let names: Vec<&str> =
                                    UaClass::ALL.iter().map(|c| c.as_str()).collect();
                                cx.err(
                                    loc,
                                    &path,
                                    format!(
                                        "unknown user-agent class `{s}`; one of {}",
                                        names.join(", ")
                                    ),
                                );
                                ok = false;
                            }
                        }
                    }
                }
                None => ok = false,
            },
        }
    }
    ok.then_some(a)
}

fn response(cx: &mut Cx, v: &Node, group_by: &[Field]) -> Option<ResponseSpec> {
    let keys = sub_keys(cx, v, "response", &["action", "scope", "duration"])?;
    let get = |n: &str| keys.iter().find(|(k, _, _)| *k == n).map(|(_, _, v)| *v);
    let mut ok = true;
    let mut missing = |cx: &mut Cx, n: &str| {
        cx.err(v.loc, &format!("response.{n}"), format!("missing required key `{n}`"));
        ok = false;
    };
    let action = match get("action") {
        None => {
            missing(cx, "action");
            None
        }
        Some(a) => string(cx, a, "response.action").and_then(|s| {
            let r = ResponseAction::parse(&s);
            if r.is_none() {
                cx.err(
                    a.loc,
                    "response.action",
                    format!("unknown action `{s}`; one of block, throttle, lock"),
                );
            }
            r
        }),
    };
    let scope = match get("scope") {
        None => {
            missing(cx, "scope");
            None
        }
        Some(s) => parse_field(cx, s, "response.scope").and_then(|f| {
            let i = group_by.iter().position(|g| *g == f);
            if i.is_none() {
                let gb: Vec<String> = group_by.iter().map(Field::name).collect();
                cx.err(
                    s.loc,
                    "response.scope",
                    format!("{} is not in group_by ({})", f.name(), gb.join(", ")),
                );
            }
            i
        }),
    };
    let duration_ms = match get("duration") {
        None => {
            missing(cx, "duration");
            None
        }
        Some(d) => duration(cx, d, "response.duration", 1000, 365 * DAY_MS),
    };
    if !ok {
        return None;
    }
    Some(ResponseSpec { action: action?, scope_index: scope?, duration_ms: duration_ms? })
}

fn kind_spec(cx: &mut Cx, raw: &RawRule, kind: &str) -> Option<Kind> {
    match kind {
        "match" => Some(Kind::Match),
        "threshold" => {
            let window = raw
                .required(cx, "window")
                .and_then(|v| duration(cx, v, "window", 1, WINDOW_MAX_MS));
            let min = raw
                .required(cx, "min_count")
                .and_then(|v| uint(cx, v, "min_count", 1, MIN_COUNT_MAX));
            Some(Kind::Threshold { window_ms: window?, min_count: min? as u32 })
        }
        "distinct" => {
            let field = raw.required(cx, "field").and_then(|v| parse_field(cx, v, "field"));
            let window = raw
                .required(cx, "window")
                .and_then(|v| duration(cx, v, "window", 1, WINDOW_MAX_MS));
            let min = raw
                .required(cx, "min_distinct")
                .and_then(|v| uint(cx, v, "min_distinct", 1, MIN_DISTINCT_MAX));
            Some(Kind::Distinct { field: field?, window_ms: window?, min_distinct: min? as u32 })
        }
        "ratio" => {
            let matching =
                raw.required(cx, "matching").and_then(|v| condition::compile(cx, v, "matching"));
            let window = raw.required(cx, "window").and_then(|v| {
                let w = duration(cx, v, "window", 10, WINDOW_MAX_MS)?;
                if w % 10 != 0 {
                    cx.err(
                        v.loc,
                        "window",
                        "a ratio window is counted in tenths: use a multiple of 10ms",
                    );
                    return None;
                }
                Some(w)
            });
            let ratio = raw.required(cx, "min_ratio").and_then(|v| {
                let r = number(cx, v, "min_ratio")?;
                if r > 0.0 && r <= 1.0 {
                    Some(r)
                } else {
                    cx.err(
                        v.loc,
                        "min_ratio",
                        format!("{r} is outside 0..1: a share like 0.8 (above 0, at most 1)"),
                    );
                    None
                }
            });
            let min_events = match raw.get("min_events") {
                None => Some(1),
                Some(v) => uint(cx, v, "min_events", 1, u64::from(u32::MAX)),
            };
            Some(Kind::Ratio {
                matching: matching?,
                window_ms: window?,
                min_ratio: ratio?,
                min_events: min_events? as u32,
            })
        }
        "sequence" => {
            let within = raw
                .required(cx, "within")
                .and_then(|v| duration(cx, v, "within", 1, WINDOW_MAX_MS));
            let steps = raw.required(cx, "steps").and_then(|v| steps(cx, v));
            Some(Kind::Sequence { steps: steps?, within_ms: within? })
        }
        "new_value" => {
            let field = raw.required(cx, "field").and_then(|v| parse_field(cx, v, "field"));
            let learn =
                raw.required(cx, "learn").and_then(|v| duration(cx, v, "learn", 0, LEARN_MAX_MS));
            let min_key_events = match raw.get("min_key_events") {
                None => Some(1),
                Some(v) => uint(cx, v, "min_key_events", 0, u64::from(u32::MAX)),
            };
            let max_values = match raw.get("max_values_per_key") {
                None => Some(64),
                Some(v) => uint(cx, v, "max_values_per_key", 1, MAX_VALUES_PER_KEY_MAX),
            };
            let forget = match raw.get("forget") {
                None => Some((30 * DAY_MS).max(learn.unwrap_or(0).saturating_mul(2))),
                Some(v) => duration(cx, v, "forget", 1, LEARN_MAX_MS).and_then(|f| match learn {
                    Some(l) if f <= l => {
                        cx.err(v.loc, "forget", "must be longer than `learn`, or actors are forgotten before they are learnt");
                        None
                    }
                    _ => Some(f),
                }),
            };
            Some(Kind::NewValue {
                field: field?,
                learn_ms: learn?,
                min_key_events: min_key_events? as u32,
                max_values_per_key: max_values? as u32,
                forget_ms: forget?,
            })
        }
        "velocity" => {
            let speed = raw.required(cx, "max_speed_kmh").and_then(|v| {
                let s = number(cx, v, "max_speed_kmh")?;
                if s > 0.0 && s <= 100_000.0 {
                    Some(s)
                } else {
                    cx.err(
                        v.loc,
                        "max_speed_kmh",
                        format!("{s} is out of range: above 0, at most 100000"),
                    );
                    None
                }
            });
            let distance = raw.required(cx, "min_distance_km").and_then(|v| {
                let d = number(cx, v, "min_distance_km")?;
                if (0.0..=EARTH_HALF_CIRCUMFERENCE_KM).contains(&d) {
                    Some(d)
                } else {
                    cx.err(
                        v.loc,
                        "min_distance_km",
                        format!("{d} is out of range: 0 to {EARTH_HALF_CIRCUMFERENCE_KM}"),
                    );
                    None
                }
            });
            let concurrent = match raw.get("concurrent_window") {
                None => Some(None),
                Some(v) => duration(cx, v, "concurrent_window", 1, DAY_MS).map(Some),
            };
            Some(Kind::Velocity {
                max_speed_kmh: speed?,
                min_distance_km: distance?,
                concurrent_window_ms: concurrent?,
            })
        }
        "baseline" => baseline(cx, raw).map(|b| Kind::Baseline(Box::new(b))),
        _ => None,
    }
}

fn steps(cx: &mut Cx, v: &Node) -> Option<Vec<Step>> {
    let Yaml::Seq(items) = &v.value else {
        cx.err(v.loc, "steps", format!("expected a list of steps, found {}", v.type_name()));
        return None;
    };
    if items.len() < 2 || items.len() > STEPS_MAX {
        cx.err(v.loc, "steps", format!("expected 2 to {STEPS_MAX} steps, found {}", items.len()));
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (i, it) in items.iter().enumerate() {
        let path = format!("steps[{i}]");
        let Some(keys) = sub_keys(cx, it, &path, &["where", "min_count"]) else {
            ok = false;
            continue;
        };
        let get = |n: &str| keys.iter().find(|(k, _, _)| *k == n).map(|(_, _, v)| *v);
        let cond = match get("where") {
            None => {
                cx.err(it.loc, &format!("{path}.where"), "missing required key `where`");
                None
            }
            Some(w) => condition::compile(cx, w, &format!("{path}.where")),
        };
        let min = match get("min_count") {
            None => Some(1),
            Some(m) => uint(cx, m, &format!("{path}.min_count"), 1, MIN_COUNT_MAX),
        };
        match (cond, min) {
            (Some(cond), Some(min)) => out.push(Step { cond, min_count: min as u32 }),
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

fn baseline(cx: &mut Cx, raw: &RawRule) -> Option<BaselineSpec> {
    let sum = match raw.get("value") {
        None => Some(None),
        Some(v) => match &v.value {
            Yaml::Str(s) if s == "count" => Some(None),
            Yaml::Map(_) => {
                let keys = sub_keys(cx, v, "value", &["sum"])?;
                match keys.first() {
                    None => {
                        cx.err(v.loc, "value.sum", "missing required key `sum`");
                        None
                    }
                    Some((_, _, f)) => parse_field(cx, f, "value.sum").and_then(|field| {
                        if condition::is_numeric_field(&field) {
                            Some(Some(field))
                        } else {
                            cx.err(
                                f.loc,
                                "value.sum",
                                format!("{} does not hold numbers", field.name()),
                            );
                            None
                        }
                    }),
                }
            }
            _ => {
                cx.err(v.loc, "value", "expected `count` or {sum: <numeric field>}");
                None
            }
        },
    };
    let bucket =
        raw.required(cx, "bucket").and_then(|v| duration(cx, v, "bucket", 1000, 7 * DAY_MS));
    let factor = raw.required(cx, "factor").and_then(|v| {
        let f = number(cx, v, "factor")?;
        if f > 0.0 && f <= 1000.0 {
            Some(f)
        } else {
            cx.err(v.loc, "factor", format!("{f} is out of range: above 0, at most 1000"));
            None
        }
    });
    let min_value = raw.required(cx, "min_value").and_then(|v| {
        let m = number(cx, v, "min_value")?;
        if m >= 0.0 {
            Some(m)
        } else {
            cx.err(v.loc, "min_value", "must not be negative");
            None
        }
    });
    let learn_buckets = match raw.get("learn_buckets") {
        None => Some(24),
        Some(v) => uint(cx, v, "learn_buckets", 1, 1_000_000),
    };
    let sustained = match raw.get("sustained_buckets") {
        None => Some(1),
        Some(v) => uint(cx, v, "sustained_buckets", 1, 1_000),
    };
    let alpha = match raw.get("alpha") {
        None => Some(0.1),
        Some(v) => number(cx, v, "alpha").and_then(|a| {
            if a > 0.0 && a <= 1.0 {
                Some(a)
            } else {
                cx.err(
                    v.loc,
                    "alpha",
                    format!("{a} is outside 0..1: a weight like 0.1 (above 0, at most 1)"),
                );
                None
            }
        }),
    };
    let by_hour = match raw.get("by_hour_of_day") {
        None => Some(false),
        Some(v) => boolean(cx, v, "by_hour_of_day").and_then(|b| {
            if b && bucket.is_some_and(|bk| HOUR_MS % bk != 0) {
                cx.err(
                    v.loc,
                    "by_hour_of_day",
                    "needs a bucket that divides one hour (1m, 5m, 15m, 1h, …)",
                );
                return None;
            }
            Some(b)
        }),
    };
    let forget = match raw.get("forget") {
        None => Some((30 * DAY_MS).max(bucket.unwrap_or(0).saturating_mul(4))),
        Some(v) => duration(cx, v, "forget", 1, LEARN_MAX_MS).and_then(|f| match bucket {
            Some(b) if f < 2 * b => {
                cx.err(v.loc, "forget", "must be at least two buckets");
                None
            }
            _ => Some(f),
        }),
    };
    Some(BaselineSpec {
        sum: sum?,
        bucket_ms: bucket?,
        factor: factor?,
        min_value: min_value?,
        learn_buckets: learn_buckets? as u32,
        sustained_buckets: sustained? as u32,
        alpha: alpha?,
        by_hour_of_day: by_hour?,
        forget_ms: forget?,
    })
}

fn tests(cx: &mut Cx, v: &Node) -> Option<Vec<TestCase>> {
    let keys = sub_keys(cx, v, "tests", &["fire", "quiet"])?;
    let mut out = Vec::new();
    let mut ok = true;
    for (name, _, list) in keys {
        let fire = name == "fire";
        let Yaml::Seq(cases) = &list.value else {
            cx.err(
                list.loc,
                &format!("tests.{name}"),
                format!("expected a list of cases, found {}", list.type_name()),
            );
            ok = false;
            continue;
        };
        for (i, case) in cases.iter().enumerate() {
            match test_case(cx, case, &format!("tests.{name}[{i}]"), fire) {
                Some(c) => out.push(c),
                None => ok = false,
            }
        }
    }
    ok.then_some(out)
}

fn test_case(cx: &mut Cx, v: &Node, path: &str, fire: bool) -> Option<TestCase> {
    let keys = sub_keys(cx, v, path, &["name", "events"])?;
    let get = |n: &str| keys.iter().find(|(k, _, _)| *k == n).map(|(_, _, v)| *v);
    let name = match get("name") {
        None => {
            cx.err(v.loc, &format!("{path}.name"), "missing required key `name`");
            None
        }
        Some(n) => string(cx, n, &format!("{path}.name")),
    };
    let events_path = format!("{path}.events");
    let events = match get("events") {
        None => {
            cx.err(v.loc, &events_path, "missing required key `events`");
            None
        }
        Some(e) => match &e.value {
            Yaml::Seq(items) => {
                let mut out = Vec::new();
                let mut ok = true;
                let mut total: u64 = 0;
                for (i, it) in items.iter().enumerate() {
                    match test_events(cx, it, &format!("{events_path}[{i}]")) {
                        Some(ev) => {
                            total += match &ev {
                                TestEvents::One(_) => 1,
                                TestEvents::Repeat { count, .. } => u64::from(*count),
                            };
                            out.push(ev);
                        }
                        None => ok = false,
                    }
                }
                if ok && total > TEST_EVENTS_MAX {
                    cx.err(
                        e.loc,
                        &events_path,
                        format!("{total} events: at most {TEST_EVENTS_MAX} per case"),
                    );
                    ok = false;
                }
                ok.then_some(out)
            }
            _ => {
                cx.err(
                    e.loc,
                    &events_path,
                    format!("expected a list of events, found {}", e.type_name()),
                );
                None
            }
        },
    };
    Some(TestCase { name: name?, fire, events: events? })
}

fn test_events(cx: &mut Cx, v: &Node, path: &str) -> Option<TestEvents> {
    let Yaml::Map(entries) = &v.value else {
        cx.err(v.loc, path, format!("expected an event (a mapping), found {}", v.type_name()));
        return None;
    };
    if !entries.iter().any(|(k, _)| k.as_str() == Some("repeat")) {
        let json = v.to_json();
        return match apiwatch_core::ecs::from_ecs_json(&json) {
            Ok(ev) => Some(TestEvents::One(Box::new(ev))),
            Err(e) => {
                cx.err(v.loc, path, format!("not an event: {e}"));
                None
            }
        };
    }
    let keys = sub_keys(cx, v, path, &["repeat", "every", "event"])?;
    let get = |n: &str| keys.iter().find(|(k, _, _)| *k == n).map(|(_, _, v)| *v);
    let count =
        get("repeat").and_then(|r| uint(cx, r, &format!("{path}.repeat"), 1, TEST_EVENTS_MAX));
    let every = match get("every") {
        None => Some(0),
        Some(e) => duration(cx, e, &format!("{path}.every"), 0, WINDOW_MAX_MS),
    };
    let event = match get("event") {
        None => {
            cx.err(v.loc, &format!("{path}.event"), "missing required key `event`");
            None
        }
        Some(e) => {
            let json = e.to_json();
            if !json.is_object() {
                cx.err(
                    e.loc,
                    &format!("{path}.event"),
                    format!("expected an event (a mapping), found {}", e.type_name()),
                );
                None
            } else {
                Some((json, e.loc))
            }
        }
    };
    let (count, every_ms, (event, loc)) = (count?, every?, event?);
    let has_index = json_has_index(&event);
    // Check the first and the last copy, so that `203.0.113.{i}` with 300 copies is caught.
    for i in [0, count - 1] {
        let copy = if has_index { substitute_index(&event, i) } else { event.clone() };
        if let Err(e) = apiwatch_core::ecs::from_ecs_json(&copy) {
            cx.err(loc, &format!("{path}.event"), format!("copy {i} is not an event: {e}"));
            return None;
        }
    }
    Some(TestEvents::Repeat { count: count as u32, every_ms, event, has_index })
}

/// Whether any string in the JSON holds `{i}`.
fn json_has_index(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains("{i}"),
        serde_json::Value::Array(a) => a.iter().any(json_has_index),
        serde_json::Value::Object(m) => m.values().any(json_has_index),
        _ => false,
    }
}

/// Replaces `{i}` by `i` in every string of the JSON.
pub(crate) fn substitute_index(v: &serde_json::Value, i: u64) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        J::String(s) if s.contains("{i}") => J::String(s.replace("{i}", &i.to_string())),
        J::Array(a) => J::Array(a.iter().map(|x| substitute_index(x, i)).collect()),
        J::Object(m) => {
            J::Object(m.iter().map(|(k, x)| (k.clone(), substitute_index(x, i))).collect())
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("user.nmae", &["user.name", "user.id", "url.path"]),
            "; did you mean `user.name`?"
        );
        assert_eq!(
            suggest("status_code", &["http.response.status_code"]),
            "; did you mean `http.response.status_code`?"
        );
        assert_eq!(suggest("zzzzzz", &["user.name"]), "");
    }

    #[test]
    fn ids_and_categories() {
        assert!(valid_id("auth-brute-force-1"));
        assert!(!valid_id("Auth"));
        assert!(!valid_id("-x"));
        assert!(valid_owasp("API1:2023") && valid_owasp("API10:2023"));
        assert!(
            !valid_owasp("API11:2023") && !valid_owasp("API0:2023") && !valid_owasp("API01:2023")
        );
        assert!(valid_attack("T1110") && valid_attack("T1110.001"));
        assert!(!valid_attack("T111") && !valid_attack("t1110"));
    }
}
