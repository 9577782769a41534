//! Commands over the service's API, in the style of `cscli`: `apiwatch decisions
//! list|add|delete|approve|reject`, `apiwatch alerts list|inspect`, `apiwatch incidents
//! list|show|ack|resolve`, `apiwatch tokens create|list|revoke`. Output is a table (`-o human`)
//! or the API's JSON (`-o json`). The address and token come from flags or `APIWATCH_URL` and
//! `APIWATCH_TOKEN`.

mod commands;
mod table;

pub use commands::{
    alerts, decisions, incidents, tokens, AlertsCommand, DecisionsCommand, IncidentsCommand,
    TokensCommand,
};

use anyhow::Context;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// How long one API request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Human,
    Json,
}

/// Where the API is and who is asking.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// The service's address.
    #[arg(long, env = "APIWATCH_URL", default_value = "http://127.0.0.1:8080", global = true)]
    pub url: String,
    /// An API token (`apiwatch tokens create` makes one).
    #[arg(long, env = "APIWATCH_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// A CA certificate (PEM) to trust for the service's HTTPS certificate.
    #[arg(long, value_name = "FILE", global = true)]
    pub ca_file: Option<PathBuf>,
    /// human (tables) or json (the API's answer).
    #[arg(long, short = 'o', value_enum, default_value = "human", global = true)]
    pub output: Output,
}

/// A blocking client over the async one, for one command's few requests.
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    runtime: tokio::runtime::Runtime,
    pub output: Output,
}

impl Client {
    pub fn new(args: &ApiArgs) -> anyhow::Result<Client> {
        let Some(token) = args.token.clone().filter(|t| !t.is_empty()) else {
            anyhow::bail!("an API token is needed: --token or APIWATCH_TOKEN");
        };
        let mut builder = reqwest::Client::builder().timeout(REQUEST_TIMEOUT);
        if let Some(ca) = &args.ca_file {
            let pem = std::fs::read(ca).with_context(|| format!("cannot read {}", ca.display()))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .with_context(|| format!("{} is not a PEM certificate", ca.display()))?;
            builder = builder.add_root_certificate(cert);
        }
        Ok(Client {
            http: builder.build().context("HTTP client")?,
            base: args.url.trim_end_matches('/').to_string(),
            token,
            runtime: tokio::runtime::Builder::new_current_thread().enable_all().build()?,
            output: args.output,
        })
    }

    /// Sends a request and returns the JSON answer; an error status becomes an error with
    /// the API's message.
    pub fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<serde_json::Value> {
        let url = format!("{}{path}", self.base);
        self.runtime.block_on(async {
            let mut req =
                self.http.request(method.clone(), &url).bearer_auth(&self.token).query(query);
            if let Some(b) = &body {
                req = req.header("content-type", "application/json").body(b.to_string());
            }
            let resp = req.send().await.with_context(|| format!("{method} {url}"))?;
            let status = resp.status();
            let text =
                resp.text().await.with_context(|| format!("{method} {url}: reading the answer"))?;
            let value: serde_json::Value =
                serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
            if !status.is_success() {
                let msg = value
                    .get("error")
                    .and_then(|e| e.as_str())
                    .map(str::to_string)
                    .unwrap_or_else(|| value.to_string());
                anyhow::bail!("{method} {path}: {status}: {msg}");
            }
            Ok(value)
        })
    }

    pub fn get(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<serde_json::Value> {
        self.call(reqwest::Method::GET, path, query, None)
    }

    /// Prints `value` as JSON, or through `human` as a table.
    pub fn print(
        &self,
        value: &serde_json::Value,
        human: impl FnOnce(&serde_json::Value) -> String,
    ) {
        match self.output {
            Output::Json => println!("{}", serde_json::to_string_pretty(value).unwrap_or_default()),
            Output::Human => print!("{}", human(value)),
        }
    }
}
