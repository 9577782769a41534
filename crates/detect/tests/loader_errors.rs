//! Broken rules and the exact errors they give (`FILE:LINE:COLUMN: key.path: message`).
//!
//! The expectations live in `tests/loader_errors/expected.txt`; `UPDATE_EXPECT=1 cargo test`
//! rewrites it from what the loader says now — review the diff.

use apiwatch_detect::RuleSet;

const HEAD: &str = "id: r\ntitle: T\nseverity: high\nowasp: API2:2023\n";

/// (case name, files as (name, text)).
fn cases() -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let one = |text: String| vec![("rule.yaml", text)];
    vec![
        ("unknown field lists close names", one(format!("{HEAD}kind: match\nwhere:\n  user.nmae: alice\n  status_code: 401\n"))),
        ("bad duration", one(format!("{HEAD}kind: threshold\nwindow: 5 minutes\nmin_count: 3\nsuppress: 0s\n"))),
        ("bad cidr in a matcher and an allow-list", one(format!("{HEAD}kind: match\nwhere:\n  source.ip: {{cidr: [10.0.0.0/33, 192.0.2.1]}}\nallow:\n  networks: [not-an-ip]\n"))),
        ("regex that does not compile", one(format!("{HEAD}kind: match\nwhere:\n  url.path: {{regex: ['^/ok$', '(unclosed']}}\n"))),
        ("regex too large on its own", one(format!("{HEAD}kind: match\nwhere:\n  url.path: {{regex: ['^/ok$', '(?:\\w{{100}}){{100}}']}}\n"))),
        ("scope not in group_by", one(format!("{HEAD}kind: match\ngroup_by: [user.name]\nresponse:\n  action: block\n  scope: source.ip\n  duration: 1h\n"))),
        ("required keys of a kind", one(format!("{HEAD}kind: distinct\nwindow: 10m\n"))),
        ("min_ratio outside 0..1", one(format!("{HEAD}kind: ratio\nmatching: {{http.response.status_code: 401}}\nwindow: 10m\nmin_ratio: 1.5\n"))),
        ("unknown severity and owasp", one("id: r\ntitle: T\nseverity: severe\nowasp: API11:2023\nkind: match\n".to_string())),
        ("missing common keys", one("kind: match\n".to_string())),
        ("duplicate ids across files", vec![("a.yaml", format!("{HEAD}kind: match\n")), ("b.yaml", format!("\n{HEAD}kind: match\n"))]),
        ("unknown key and key of another kind", one(format!("{HEAD}kind: match\nwindoow: 5m\nmin_count: 3\n"))),
        ("unknown kind", one(format!("{HEAD}kind: treshold\nwindow: 5m\n"))),
        ("yaml syntax error", one("id: r\ntitle: [unclosed\nkind: match\n".to_string())),
        ("a list of rules, errors in two", one(format!("- {}\n  kind: match\n- id: OK\n  title: T\n  severity: high\n  owasp: API2:2023\n  kind: match\n- {}\n  kind: threshold\n  window: 1h\n  min_count: 0\n", HEAD.replace('\n', "\n  ").trim_end(), HEAD.replace("id: r", "id: r2").replace('\n', "\n  ").trim_end()))),
        ("values checked against the field", one(format!("{HEAD}kind: match\nwhere:\n  http.response.status_code: [401, abc]\n  event.outcome: failed\n  source.ip: 10.0.0.0/8\n  user.name: {{gte: 3, regx: x}}\n"))),
        ("attack classes", one(format!("{HEAD}kind: match\nwhere:\n  request: {{attack: [sqli, sqlinjection]}}\n  url.query: {{attack: []}}\n"))),
        ("summary placeholders", one(format!("{HEAD}kind: threshold\nwindow: 1m\nmin_count: 2\nsummary: \"{{count}} from {{http.request.headers.authorization}}\"\n"))),
        ("summary unknown placeholder", one(format!("{HEAD}kind: match\nsummary: \"{{count}} in {{window}}\"\n"))),
        ("sequence steps", one(format!("{HEAD}kind: sequence\nwithin: 10m\nsteps:\n  - where: {{event.outcome: failure}}\n    min_count: 0\n  - min_count: 1\n"))),
        ("baseline by hour of day", one(format!("{HEAD}kind: baseline\nvalue: {{sum: http.response.body.byte}}\nbucket: 7m\nfactor: 5\nmin_value: 10\nalpha: 0\nby_hour_of_day: true\n"))),
        ("baseline sums a number", one(format!("{HEAD}kind: baseline\nvalue: {{sum: url.path}}\nbucket: 1h\nfactor: 5\nmin_value: 10\n"))),
        ("new value forget before learn", one(format!("{HEAD}kind: new_value\nfield: source.geo.country_iso_code\nlearn: 30d\nforget: 7d\n"))),
        ("test cases", one(format!("{HEAD}kind: match\ntests:\n  fire:\n    - name: bad field\n      events:\n        - {{\"@timestamp\": \"2026-01-01T00:00:00Z\", \"source.adress\": \"x\"}}\n    - name: bad repeat\n      events:\n        - {{repeat: 300, every: 1s, event: {{\"source.ip\": \"203.0.113.{{i}}\"}}}}\n  later:\n    - name: x\n"))),
        ("empty file", one(String::new())),
        ("not a rule", one("just text\n".to_string())),
    ]
}

fn render() -> String {
    let mut out = String::new();
    for (name, files) in cases() {
        let sources: Vec<(String, String)> =
            files.iter().map(|(n, t)| (n.to_string(), t.clone())).collect();
        out.push_str(&format!("== {name}\n"));
        match RuleSet::from_sources(&sources) {
            Ok(set) => out.push_str(&format!("(loaded {} rules)\n", set.len())),
            Err(e) => {
                out.push_str(&e.to_string());
                out.push('\n');
            }
        }
    }
    out
}

#[test]
fn broken_rules_give_exact_errors() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/loader_errors/expected.txt");
    let got = render();
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(path).unwrap_or_default();
    if got != want {
        let diff: Vec<String> = got
            .lines()
            .zip(want.lines().chain(std::iter::repeat("<missing>")))
            .filter(|(g, w)| g != w)
            .take(10)
            .map(|(g, w)| format!("  got:  {g}\n  want: {w}"))
            .collect();
        panic!("loader errors changed (UPDATE_EXPECT=1 to accept):\n{}", diff.join("\n"));
    }
}

#[test]
fn every_error_has_a_place_and_a_path() {
    for (name, files) in cases() {
        let sources: Vec<(String, String)> =
            files.iter().map(|(n, t)| (n.to_string(), t.clone())).collect();
        if let Err(e) = RuleSet::from_sources(&sources) {
            for err in &e.0 {
                assert!(err.line >= 1 && err.column >= 1, "{name}: {err}");
                assert!(!err.path.is_empty() && !err.message.is_empty(), "{name}: {err}");
            }
        }
    }
}
