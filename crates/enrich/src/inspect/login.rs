//! Login attempts: which account a login request names, and whether the response says it
//! worked. The request's other fields (the password above all) are skipped unread.

use super::config::{FailureFieldConfig, LoginConfig};
use super::content::BodyKind;
use super::error::Problems;
use super::field::{self, FieldPath};
use super::json::{self, Members, Scalar, Scan};
use super::route::RoutePattern;
use super::{form, LoginAttempt, LoginOutcome, RequestView, ResponseView};

/// Account fields allowed: which are still wanted is kept in a 64-bit mask.
pub(super) const ACCOUNT_FIELDS_MAX: usize = 32;
/// Login routes allowed; each is matched against every request.
pub(super) const LOGIN_ROUTES_MAX: usize = 256;
/// Failure rules allowed.
pub(super) const FAILURE_RULES_MAX: usize = 16;
/// Object depth searched for a plain account name: login bodies nest one or two levels
/// (`{"user": {"email": …}}`, GraphQL `variables`), and the walk recurses once per level.
pub(super) const ACCOUNT_DEPTH_MAX: usize = 4;
/// Largest `account_bytes_max` and `body_bytes_max` accepted.
pub(super) const LOGIN_BYTES_MAX_LIMIT: usize = 1024 * 1024;

/// Parts of field names that hold secrets: such a field is refused as an account field, so
/// that no configuration can make inspection return a password.
const SECRET_NAME_PARTS: &[&str] = &["pass", "pwd", "secret", "token", "otp", "pin", "code"];

/// A validated login configuration.
#[derive(Debug)]
pub(super) struct LoginRules {
    routes: Vec<RoutePattern>,
    fields: Vec<FieldPath>,
    failure_when: Vec<(FieldPath, Expected)>,
    body_bytes_max: usize,
    account_bytes_max: usize,
}

/// A value meaning failure.
#[derive(Debug, PartialEq)]
enum Expected {
    Str(String),
    Bool(bool),
    Null,
    Number(f64),
}

impl LoginRules {
    /// Validates `cfg`, reporting problems under `login.`.
    pub(super) fn build(cfg: &LoginConfig, problems: &mut Problems) -> LoginRules {
        if cfg.routes.len() > LOGIN_ROUTES_MAX {
            problems.push("login.routes", format!("more than {LOGIN_ROUTES_MAX} routes"));
        }
        let routes = cfg
            .routes
            .iter()
            .enumerate()
            .filter_map(|(n, r)| {
                RoutePattern::compile(&r.method, &r.path, &format!("login.routes[{n}]"), problems)
            })
            .collect();
        if cfg.account_fields.len() > ACCOUNT_FIELDS_MAX {
            problems.push("login.account_fields", format!("more than {ACCOUNT_FIELDS_MAX} fields"));
        }
        let fields = cfg
            .account_fields
            .iter()
            .enumerate()
            .filter_map(|(n, text)| {
                let at = format!("login.account_fields[{n}]");
                let path = FieldPath::parse(text, &at, problems)?;
                let leaf = path.leaf().to_ascii_lowercase();
                if let Some(part) = SECRET_NAME_PARTS.iter().find(|p| leaf.contains(*p)) {
                    problems
                        .push(at, format!("{text:?} names a secret ({part:?}), not an account"));
                    return None;
                }
                Some(path)
            })
            .take(ACCOUNT_FIELDS_MAX)
            .collect();
        if cfg.failure_when.len() > FAILURE_RULES_MAX {
            problems.push("login.failure_when", format!("more than {FAILURE_RULES_MAX} rules"));
        }
        let failure_when = cfg
            .failure_when
            .iter()
            .enumerate()
            .filter_map(|(n, rule)| {
                failure_rule(rule, &format!("login.failure_when[{n}]"), problems)
            })
            .collect();
        for (key, value) in [
            ("login.body_bytes_max", cfg.body_bytes_max),
            ("login.account_bytes_max", cfg.account_bytes_max),
        ] {
            if value == 0 || value > LOGIN_BYTES_MAX_LIMIT {
                problems.push(key, format!("must be between 1 and {LOGIN_BYTES_MAX_LIMIT}"));
            }
        }
        LoginRules {
            routes,
            fields,
            failure_when,
            body_bytes_max: cfg.body_bytes_max,
            account_bytes_max: cfg.account_bytes_max,
        }
    }

    /// Whether the request is on a login route.
    pub(super) fn is_login(&self, req: &RequestView<'_>) -> bool {
        self.routes.iter().any(|r| r.matches(req.method, req.path))
    }

    /// The attempt a login request and its response show; `None` when no account is found.
    pub(super) fn attempt(
        &self,
        req: &RequestView<'_>,
        req_body: &[u8],
        req_truncated: bool,
        resp: &ResponseView<'_>,
        resp_json: Option<&[u8]>,
    ) -> Option<LoginAttempt> {
        if req.compressed || req_body.len() > self.body_bytes_max {
            return None;
        }
        let kind = super::content::classify(req.content_type, req_body);
        let account = match kind {
            BodyKind::Json => self.account_in_json(req_body),
            // An untyped body that is not JSON is read as a form, which is what clients that
            // forget the header send.
            BodyKind::Form => self.account_in_form(req_body, req_truncated),
            BodyKind::Text if req.content_type.is_none() => {
                self.account_in_form(req_body, req_truncated)
            }
            BodyKind::Text | BodyKind::Binary => None,
        }?;
        let outcome = match resp.status {
            200..=299 if resp_json.is_some_and(|body| self.says_failure(body)) => {
                LoginOutcome::Failure
            }
            200..=299 => LoginOutcome::Success,
            401 | 403 => LoginOutcome::Failure,
            _ => LoginOutcome::Unknown,
        };
        Some(LoginAttempt { account, outcome })
    }

    fn account_in_form(&self, body: &[u8], truncated: bool) -> Option<String> {
        self.fields.iter().filter(|f| f.segments.len() == 1).find_map(|f| {
            let value = form::field(body, &f.segments[0], truncated)?;
            self.clean(&value)
        })
    }

    fn account_in_json(&self, body: &[u8]) -> Option<String> {
        let mut found: Vec<Option<(usize, String)>> = vec![None; self.fields.len()];
        let dotted = self
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.segments.len() > 1)
            .fold(0u64, |mask, (n, _)| mask | 1 << n);
        if let Ok(Some(members)) = Members::open(body, 0) {
            // A body cut or broken part-way still yields the fields read before the break.
            let _ = self.walk(body, members, 0, dotted, &mut found);
        }
        found.into_iter().flatten().map(|(_, account)| account).next()
    }

    /// Walks one object. `dotted` holds the dotted paths whose names so far match the keys
    /// above; plain names match at any depth, the shallowest occurrence winning.
    fn walk(
        &self,
        buf: &[u8],
        mut members: Members<'_>,
        depth: usize,
        dotted: u64,
        found: &mut [Option<(usize, String)>],
    ) -> Scan<usize> {
        while let Some((key, value)) = members.next_key()? {
            let mut wanted = 0u64;
            let mut deeper = 0u64;
            for (n, f) in self.fields.iter().enumerate() {
                let bit = 1u64 << n;
                if f.segments.len() == 1 {
                    let better = found[n].as_ref().is_none_or(|(d, _)| *d > depth);
                    if better && f.segments[0] == key {
                        wanted |= bit;
                    }
                } else if dotted & bit != 0 && f.segments[depth] == key {
                    if depth + 1 == f.segments.len() {
                        wanted |= bit;
                    } else {
                        deeper |= bit;
                    }
                }
            }
            if buf[value] == b'{' {
                if depth + 1 < ACCOUNT_DEPTH_MAX {
                    let Some(inner) = Members::open(buf, value)? else { continue };
                    let end = self.walk(buf, inner, depth + 1, deeper, found)?;
                    members.consumed(end);
                }
                continue;
            }
            if wanted == 0 {
                continue;
            }
            let (scalar, end) = json::read_scalar(buf, value)?;
            members.consumed(end);
            let text = match &scalar {
                Some(Scalar::Str(s)) => s.as_ref(),
                Some(Scalar::Bare(b))
                    if b.starts_with(|c: char| c == '-' || c.is_ascii_digit()) =>
                {
                    b
                }
                _ => continue,
            };
            let Some(account) = self.clean(text) else { continue };
            for (n, slot) in found.iter_mut().enumerate() {
                if wanted & (1u64 << n) != 0 {
                    *slot = Some((depth, account.clone()));
                }
            }
        }
        Ok(members.end())
    }

    /// Trims the name, refuses an empty one and cuts a long one at a character boundary.
    fn clean(&self, raw: &str) -> Option<String> {
        let name = raw.trim();
        if name.is_empty() {
            return None;
        }
        let mut cut = name.len().min(self.account_bytes_max);
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        Some(name[..cut].to_string())
    }

    fn says_failure(&self, body: &[u8]) -> bool {
        self.failure_when.iter().any(|(path, expected)| {
            let Ok(Some(at)) = field::find(body, 0, path) else { return false };
            let Ok((Some(scalar), _)) = json::read_scalar(body, at) else { return false };
            match (scalar, expected) {
                (Scalar::Str(s), Expected::Str(e)) => s == e.as_str(),
                (Scalar::Bare("true"), Expected::Bool(true)) => true,
                (Scalar::Bare("false"), Expected::Bool(false)) => true,
                (Scalar::Bare("null"), Expected::Null) => true,
                (Scalar::Bare(n), Expected::Number(e)) => n.parse::<f64>().is_ok_and(|n| n == *e),
                _ => false,
            }
        })
    }
}

fn failure_rule(
    rule: &FailureFieldConfig,
    at: &str,
    problems: &mut Problems,
) -> Option<(FieldPath, Expected)> {
    let path = FieldPath::parse(&rule.field, &format!("{at}.field"), problems);
    let expected = match &rule.equals {
        serde_json::Value::String(s) => Some(Expected::Str(s.clone())),
        serde_json::Value::Bool(b) => Some(Expected::Bool(*b)),
        serde_json::Value::Null => Some(Expected::Null),
        serde_json::Value::Number(n) => n.as_f64().map(Expected::Number),
        _ => None,
    };
    if expected.is_none() {
        problems.push(format!("{at}.equals"), "must be a string, number, boolean or null");
    }
    Some((path?, expected?))
}
