//! The subcommands over the API and what each prints.

use super::table::{render, text, time};
use super::{ApiArgs, Client};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Value};

/// `--ip`, `--range` or `--scope` with `--value`: what a decision is about.
#[derive(Debug, Args)]
pub struct Target {
    /// An address.
    #[arg(long, conflicts_with_all = ["range", "scope"])]
    pub ip: Option<String>,
    /// A CIDR network.
    #[arg(long, conflicts_with = "scope")]
    pub range: Option<String>,
    /// ip, range, user, token, session, consumer or country (with --value).
    #[arg(long, requires = "value")]
    pub scope: Option<String>,
    #[arg(long)]
    pub value: Option<String>,
}

impl Target {
    fn pair(&self) -> Option<(String, String)> {
        if let Some(ip) = &self.ip {
            return Some(("ip".into(), ip.clone()));
        }
        if let Some(r) = &self.range {
            return Some(("range".into(), r.clone()));
        }
        Some((self.scope.clone()?, self.value.clone()?))
    }
}

#[derive(Debug, Subcommand)]
pub enum DecisionsCommand {
    /// Decisions, active ones first by default.
    List {
        #[command(flatten)]
        target: Target,
        /// proposed, active, rejected, lifted or expired (default: active).
        #[arg(long)]
        status: Option<String>,
        /// Every status.
        #[arg(long, short = 'a')]
        all: bool,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Add a decision (an administrator's is active at once; an analyst's waits for approval).
    Add {
        #[command(flatten)]
        target: Target,
        /// block, throttle, lock, revoke or step_up.
        #[arg(long = "type", default_value = "block")]
        action: String,
        #[arg(long, short = 'd', default_value = "4h")]
        duration: String,
        #[arg(long, short = 'R', default_value = "manual")]
        reason: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Lift decisions: one by id, or every active one on a target.
    Delete {
        #[arg(long)]
        id: Option<i64>,
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Approve a proposed decision.
    Approve {
        id: i64,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Reject a proposed decision.
    Reject {
        id: i64,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Make a decision end later.
    Extend {
        id: i64,
        /// How much later (2h, 1d).
        #[arg(long)]
        by: String,
        #[command(flatten)]
        api: ApiArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Alerts, newest first.
    List {
        #[arg(long)]
        rule: Option<String>,
        /// At least this severity.
        #[arg(long)]
        severity: Option<String>,
        /// kind:value (ip:203.0.113.5, user:alice).
        #[arg(long)]
        actor: Option<String>,
        /// RFC 3339, epoch ms or a duration back from now (24h).
        #[arg(long)]
        since: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// One alert with its evidence.
    Inspect {
        id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum IncidentsCommand {
    /// Incidents, newest first (open and acknowledged by default).
    List {
        /// open, acknowledged, resolved or false_positive.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        actor: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// One incident with its timeline.
    Show {
        id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Acknowledge an incident (someone is on it).
    Ack {
        id: String,
        #[arg(long)]
        assignee: Option<String>,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Resolve an incident, with a verdict.
    Resolve {
        id: String,
        /// It was not an attack.
        #[arg(long)]
        false_positive: bool,
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        api: ApiArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token in the state database directly (no running service needed); prints
    /// the secret once.
    Create {
        #[arg(long, short = 'c', value_name = "FILE")]
        config: std::path::PathBuf,
        #[arg(long)]
        name: String,
        /// admin, analyst, viewer, agent or bouncer.
        #[arg(long)]
        role: String,
        #[arg(long, short = 'o', value_enum, default_value = "human")]
        output: super::Output,
    },
    /// Tokens (names and roles; never secrets).
    List {
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Revoke a token.
    Revoke {
        id: i64,
        #[command(flatten)]
        api: ApiArgs,
    },
}

fn items(v: &Value) -> &[Value] {
    v.get("items").and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn decision_rows(list: &[Value]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|d| {
            vec![
                text(&d["id"]),
                text(&d["status"]),
                text(&d["action"]),
                format!("{}:{}", text(&d["scope"]), text(&d["value"])),
                format!("{} {}", text(&d["origin"]["kind"]), text(&d["origin"]["name"])),
                time(&d["expires_at_ms"]),
                text(&d["reason"]),
            ]
        })
        .collect();
    render(&["ID", "STATUS", "ACTION", "TARGET", "ORIGIN", "EXPIRES", "REASON"], &rows)
}

pub fn decisions(cmd: DecisionsCommand) -> anyhow::Result<u8> {
    match cmd {
        DecisionsCommand::List { target, status, all, limit, api } => {
            let c = Client::new(&api)?;
            let mut q = vec![("limit", limit.to_string())];
            if !all {
                q.push(("status", status.unwrap_or_else(|| "active".into())));
            }
            if let Some((s, v)) = target.pair() {
                q.push(("scope", s));
                q.push(("value", v));
            }
            let v = c.get("/v1/decisions", &q)?;
            c.print(&v, |v| decision_rows(items(v)));
        }
        DecisionsCommand::Add { target, action, duration, reason, api } => {
            let c = Client::new(&api)?;
            let Some((scope, value)) = target.pair() else {
                anyhow::bail!("give --ip, --range, or --scope with --value");
            };
            let body = json!({"action": action, "scope": scope, "value": value, "duration": duration, "reason": reason});
            let v = c.call(Method::POST, "/v1/decisions", &[], Some(body))?;
            c.print(&v, |v| decision_rows(std::slice::from_ref(v)));
        }
        DecisionsCommand::Delete { id, target, api } => {
            let c = Client::new(&api)?;
            let lifted: Vec<Value> = match (id, target.pair()) {
                (Some(id), _) => {
                    vec![c.call(Method::DELETE, &format!("/v1/decisions/{id}"), &[], None)?]
                }
                (None, Some((scope, value))) => {
                    let q = [
                        ("status", "active".to_string()),
                        ("scope", scope),
                        ("value", value),
                        ("limit", "1000".into()),
                    ];
                    let found = c.get("/v1/decisions", &q)?;
                    let mut out = Vec::new();
                    for d in items(&found) {
                        let id = d["id"].as_i64().unwrap_or_default();
                        out.push(c.call(
                            Method::DELETE,
                            &format!("/v1/decisions/{id}"),
                            &[],
                            None,
                        )?);
                    }
                    out
                }
                (None, None) => anyhow::bail!("give --id, --ip, --range, or --scope with --value"),
            };
            let v = Value::Array(lifted);
            c.print(&v, |v| decision_rows(v.as_array().map_or(&[], Vec::as_slice)));
        }
        DecisionsCommand::Approve { id, api } => {
            let c = Client::new(&api)?;
            let v = c.call(Method::POST, &format!("/v1/decisions/{id}/approve"), &[], None)?;
            c.print(&v, |v| decision_rows(std::slice::from_ref(v)));
        }
        DecisionsCommand::Extend { id, by, api } => {
            let c = Client::new(&api)?;
            let body = json!({"by": by});
            let v = c.call(Method::POST, &format!("/v1/decisions/{id}/extend"), &[], Some(body))?;
            c.print(&v, |v| decision_rows(std::slice::from_ref(v)));
        }
        DecisionsCommand::Reject { id, api } => {
            let c = Client::new(&api)?;
            let v = c.call(Method::POST, &format!("/v1/decisions/{id}/reject"), &[], None)?;
            c.print(&v, |v| decision_rows(std::slice::from_ref(v)));
        }
    }
    Ok(crate::exit::OK)
}

fn actor_text(a: &Value) -> String {
    a.as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{k}={}", text(v))).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| text(a))
}

fn alert_rows(list: &[Value]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|a| {
            vec![
                text(&a["id"]),
                text(&a["detected_at"]),
                text(&a["severity"]),
                text(&a["rule"]),
                actor_text(&a["actor"]),
                text(&a["count"]),
                text(&a["summary"]),
            ]
        })
        .collect();
    render(&["ID", "DETECTED", "SEVERITY", "RULE", "ACTOR", "COUNT", "SUMMARY"], &rows)
}

pub fn alerts(cmd: AlertsCommand) -> anyhow::Result<u8> {
    match cmd {
        AlertsCommand::List { rule, severity, actor, since, limit, api } => {
            let c = Client::new(&api)?;
            let mut q = vec![("limit", limit.to_string())];
            for (k, v) in
                [("rule", rule), ("severity", severity), ("actor", actor), ("since", since)]
            {
                if let Some(v) = v {
                    q.push((k, v));
                }
            }
            let v = c.get("/v1/alerts", &q)?;
            c.print(&v, |v| alert_rows(items(v)));
        }
        AlertsCommand::Inspect { id, api } => {
            let c = Client::new(&api)?;
            let v = c.get(&format!("/v1/alerts/{id}"), &[])?;
            c.print(&v, |a| {
                let mut out = alert_rows(std::slice::from_ref(a));
                out += &format!("\n{}\n\nevidence:\n", text(&a["title"]));
                for e in a["evidence"].as_array().map_or(&[][..], Vec::as_slice) {
                    out += &format!("  {}\n", apiwatch_core::escape::for_terminal(&e.to_string()));
                }
                out
            });
        }
    }
    Ok(crate::exit::OK)
}

fn incident_rows(list: &[Value]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|i| {
            let actors: Vec<String> =
                i["actors"].as_array().map_or(vec![], |a| a.iter().map(text).collect());
            vec![
                text(&i["id"]),
                text(&i["status"]),
                text(&i["severity"]),
                format!("{:.0}", i["risk"].as_f64().unwrap_or(0.0)),
                time(&i["opened_at_ms"]),
                actors.join(" "),
                text(&i["title"]),
            ]
        })
        .collect();
    render(&["ID", "STATUS", "SEVERITY", "RISK", "OPENED", "ACTORS", "TITLE"], &rows)
}

pub fn incidents(cmd: IncidentsCommand) -> anyhow::Result<u8> {
    match cmd {
        IncidentsCommand::List { status, actor, limit, api } => {
            let c = Client::new(&api)?;
            let mut q = vec![("limit", limit.to_string())];
            if let Some(s) = status {
                q.push(("status", s));
            }
            if let Some(a) = actor {
                q.push(("actor", a));
            }
            let v = c.get("/v1/incidents", &q)?;
            c.print(&v, |v| incident_rows(items(v)));
        }
        IncidentsCommand::Show { id, api } => {
            let c = Client::new(&api)?;
            let v = c.get(&format!("/v1/incidents/{id}"), &[])?;
            c.print(&v, |i| {
                let mut out = incident_rows(std::slice::from_ref(i));
                out += "\ntimeline:\n";
                out += &alert_rows(i["timeline"].as_array().map_or(&[], Vec::as_slice));
                out += "\ndecisions:\n";
                out += &decision_rows(i["decisions"].as_array().map_or(&[], Vec::as_slice));
                out
            });
        }
        IncidentsCommand::Ack { id, assignee, api } => {
            let c = Client::new(&api)?;
            let body = json!({"status": "acknowledged", "assignee": assignee});
            let v = c.call(Method::PATCH, &format!("/v1/incidents/{id}"), &[], Some(body))?;
            c.print(&v, |i| incident_rows(std::slice::from_ref(i)));
        }
        IncidentsCommand::Resolve { id, false_positive, note, api } => {
            let c = Client::new(&api)?;
            let (status, verdict) = if false_positive {
                ("false_positive", "false_positive")
            } else {
                ("resolved", "true_positive")
            };
            let body = json!({"status": status, "verdict": verdict, "note": note});
            let v = c.call(Method::PATCH, &format!("/v1/incidents/{id}"), &[], Some(body))?;
            c.print(&v, |i| incident_rows(std::slice::from_ref(i)));
        }
    }
    Ok(crate::exit::OK)
}

pub fn tokens(cmd: TokensCommand) -> anyhow::Result<u8> {
    match cmd {
        TokensCommand::Create { config, name, role, output } => {
            let Some(role) = apiwatch_state::Role::parse(&role) else {
                anyhow::bail!("--role: admin, analyst, viewer, agent or bouncer");
            };
            let (cfg, data_dir) = crate::live::check(&config)?;
            let path = crate::live::state_path(&cfg.live, &data_dir);
            std::fs::create_dir_all(&data_dir)?;
            let state = apiwatch_state::State::open(&path)
                .map_err(|e| anyhow::anyhow!("state database {}: {e}", path.display()))?;
            let now = crate::live::now_ms();
            let (id, secret) =
                state.create_token(&name, role, now).map_err(|e| anyhow::anyhow!("{e}"))?;
            state
                .audit(&apiwatch_state::AuditEntry {
                    at_ms: now,
                    who: "local".into(),
                    role: Some(apiwatch_state::Role::Admin),
                    from: None,
                    action: "token.create".into(),
                    target: id.to_string(),
                    detail: json!({"name": name, "role": role.as_str()}),
                })
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            match output {
                super::Output::Json => println!(
                    "{}",
                    json!({"id": id, "name": name, "role": role.as_str(), "token": secret.expose()})
                ),
                super::Output::Human => println!(
                    "token {id} `{name}` ({}) created. Its secret, shown this once:\n\n    {}\n",
                    role.as_str(),
                    secret.expose()
                ),
            }
        }
        TokensCommand::List { api } => {
            let c = Client::new(&api)?;
            let v = c.get("/v1/tokens", &[])?;
            c.print(&v, |v| {
                let rows: Vec<Vec<String>> = items(v)
                    .iter()
                    .map(|t| {
                        vec![
                            text(&t["id"]),
                            text(&t["name"]),
                            text(&t["role"]),
                            time(&t["created_at_ms"]),
                            time(&t["last_used_ms"]),
                            text(&t["revoked"]),
                        ]
                    })
                    .collect();
                render(&["ID", "NAME", "ROLE", "CREATED", "LAST USED", "REVOKED"], &rows)
            });
        }
        TokensCommand::Revoke { id, api } => {
            let c = Client::new(&api)?;
            let v = c.call(Method::DELETE, &format!("/v1/tokens/{id}"), &[], None)?;
            c.print(&v, |_| format!("token {id} revoked\n"));
        }
    }
    Ok(crate::exit::OK)
}
