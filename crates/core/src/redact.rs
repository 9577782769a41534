//! Redaction: the only way to make an [`Event`]. Secrets become keyed pseudonyms before
//! anything is stored, detected on, sent or shown.
//!
//! # Pseudonyms, and why they are keyed
//!
//! A secret is replaced by `<kind>_<16 hex>`, the kind saying what it was and the hex being the
//! first 64 bits of HMAC-SHA256(installation key, kind ‖ 0 ‖ secret). The same secret under
//! the same key always gives the same pseudonym, so detections still group by it ("the same
//! token from two countries", "one API key, forty addresses"). The key is what makes it safe:
//! a plain hash of a token or a password could be tested offline against guesses by anyone who
//! reads apiwatch's output (an alert in a chat channel, an exported log segment); without the
//! key, a pseudonym tells nothing about the secret and no guess can be checked.
//!
//! Kinds: `tok` (bearer and other tokens), `pwd` (passwords, Basic credentials), `key` (API
//! keys, well-known key shapes), `jwt` (a JWT found with no name around it), `card` (card
//! numbers and card security codes), `ses` (session cookies and ids), `sig` (signatures),
//! `code` (one-time and authorization codes), `ck` (other cookie values), `cred` (other
//! `Authorization` schemes), `sec` (other secrets).
//!
//! # What is redacted
//!
//! 1. **Request headers**, by name (lower-case):
//!    - `authorization`, `proxy-authorization` (any header with the word `authorization`):
//!      `Bearer x` → `Bearer tok_…` (also `Token x`), filling `token.id` when it is empty (the
//!      enrich stage has put a JWT's `jti` there when it had one); `Basic x` → `Basic pwd_…`
//!      (the whole credential); any other scheme is kept and its credentials become `cred_…`;
//!      a value without a scheme is a token.
//!    - `cookie`: every `name=value` keeps its name; the value becomes a pseudonym (`ses_` for
//!      session cookies — `session`, `sessionid`, `sid`, `jsessionid`, `phpsessid`,
//!      `connect.sid`, `_session`, any name containing `session` — which also fill
//!      `session.id` when it is empty; the name rule's kind for secret names such as
//!      `access_token`; `ck_` otherwise). `set-cookie`: the first value likewise, attributes
//!      kept.
//!    - API key headers (`x-api-key`, `api-key`, `apikey`, `x-auth-token`, `x-access-token`,
//!      `x-api-token`, `x-goog-api-key`, `ocp-apim-subscription-key`, `x-functions-key`, any
//!      name ending in `apikey`): the value becomes `key_…` and fills `api_key.id`.
//!    - Any other header whose name is secret by the name rule (below: `x-csrf-token`,
//!      `x-amz-security-token`, `x-hub-signature`, `x-session-id`, …): the whole value.
//!    - URL headers (`referer`, `location`, `x-original-uri`, …) as URLs (2), all others as
//!      free text (3).
//! 2. **Query strings**: `url.query`, the query and fragment of `http.request.referrer`, of a
//!    `url.path` that still holds a `?`, and of URL headers and labels. A parameter whose
//!    percent-decoded name is secret keeps its name and `&`/`=` structure; its value becomes
//!    the pseudonym of its percent-decoded value. In the request's own query, `api_key`,
//!    `apikey`, `key` fill `api_key.id` and `access_token`, `token`, `auth_token` fill
//!    `token.id` when empty. A value that holds an encoded `=`, `:`, `"` or `@` is decoded
//!    (twice at most) and redacted as a URL, and put back re-encoded if anything changed.
//! 3. **Every string field** (`url.path`, `url.query`, referrer, user agent, user name and id,
//!    roles, consumer, domain, route, action, ids, header names and values, label values, …),
//!    by shape, wherever it appears in the string:
//!    - JSON Web Tokens: `eyJ` + base64url (≥ 16 in all) `.` base64url (≥ 3) `.` optional
//!      base64url (JWE's five segments too; a token cut after a JSON payload too) → `jwt_…`;
//!    - payment card numbers: 13–19 digits, optionally grouped by single spaces or single
//!      dashes, not glued to letters, digits or `_`, starting with 2–6 (the card industries;
//!      this keeps epoch timestamps, which start with 1, out) and Luhn-valid → `card_…`;
//!    - well-known key shapes → `key_…`: `AKIA`/`ASIA` + 16 `[0-9A-Z]`, `sk_live_`,
//!      `sk_test_`, `rk_live_`, `rk_test_`, `whsec_` + ≥ 16, `ghp_`, `gho_`, `ghs_`, `ghu_`,
//!      `ghr_` + ≥ 20, `github_pat_` + ≥ 22, `glpat-` + ≥ 20, `xox[abprs]-` + ≥ 11, `npm_` +
//!      ≥ 36, `AIza` + 35, and
//!      `-----BEGIN … PRIVATE KEY-----` blocks (to their `-----END …-----`, or to the end of a
//!      cut-off string);
//!    - values under a secret name in text: `password=x`, `token: x`, `"token": "x"`,
//!      `\"token\":\"x\"`, `Authorization: Bearer x` (scheme kept) → the name's kind. A
//!      quoted value runs to its closing quote; an unquoted one to a space, `&`, `,`, `;`,
//!      `|`, a quote or a closing bracket (so `password=a,b` shows `,b`: the price of reading
//!      logfmt and JSON-ish text);
//!    - the password in `scheme://user:password@host` → `pwd_…`.
//! 4. **Labels** whose name is secret by the name rule: the whole value; labels named like
//!    `cookie`, `authorization` or a URL are treated as such headers (without filling ids).
//!
//! The name rule (see `names.rs`) matches whole words of a name (`api_key`, `x-api-key`,
//! `clientSecret`, `refresh_token`, `password_confirmation`), never a word inside another word
//! (`monkey`, `keyboard`, `author` are ordinary). It errs towards hiding (`sort_key`,
//! `token_type` are pseudonymised).
//!
//! One secret, one pseudonym wherever it is seen: a bearer token in `Authorization`, in
//! `?access_token=` and in an `access_token` cookie all become the same `tok_…` (query values
//! are percent-decoded first). A JWT found by its shape alone becomes `jwt_…`, a different
//! pseudonym of the same token.
//!
//! Values already masked (`****`, `[FILTERED]`), JSON literals (`null`, `true`) and
//! pseudonyms are left as they are, so redacting redacted text changes nothing.
//!
//! Not redacted: addresses and geo data (detection needs them; they are not credentials),
//! e-mail addresses and other personal data that is no credential, and secrets of no known
//! shape under no secret name (a reset token as a bare path segment).
//!
//! Redaction is a pure function of the key and the event; [`Redactor::redact_counted`] also
//! says what it found, for the pipeline's metrics.
//!
//! # Cost
//!
//! Every event passes here, so the common case — no secret — is kept cheap: strings shorter
//! than the shortest secret are not looked at; one pass over a byte table says which finders
//! can find anything (no `=` or `:`, no named values; no `J`, `_`, `-` or `A` in the right
//! place, no key shapes); a SWAR pass eight bytes at a time rules out card numbers unless 13
//! digits, spaces or dashes stand in a row; and a string is copied only when something in it
//! is replaced. Common header and label names have their rules looked up in a table built once
//! (`names.rs`); the user agent, the domain and the referrer are not scanned again when they
//! repeat a header that was; and each redactor remembers the pseudonyms of recent secrets
//! (`memo.rs`), as the same bearer token comes back on request after request.
//! `examples/redact_throughput.rs` measures it (about 300 ns for a typical nginx
//! event with a user agent and a referrer, on a busy two-core machine).

mod edits;
mod memo;
mod names;
mod text;
mod url;

use crate::event::{Event, EventData};
use edits::{Edit, Found, PRIORITY_NAMED, PSEUDONYM_HEX_DIGITS};
use hmac::{Hmac, Mac};
use names::{IdSlot, NameRule, Secret};
use sha2::Sha256;
use std::borrow::Cow;

/// Extra passes over a changed value before redaction gives up settling it (each pass
/// only runs when the previous one changed something).
const SETTLE_PASSES_MAX: usize = 3;
/// Holds the per-installation key that pseudonyms are derived from.
pub struct Redactor {
    /// HMAC-SHA256 with the key already absorbed; cloned per pseudonym, which skips the key
    /// schedule on the hot path.
    mac: Hmac<Sha256>,
    /// Pseudonyms of the secrets seen lately (see `memo.rs`).
    memo: memo::PseudonymCache,
}

impl Clone for Redactor {
    /// The same key; the clone remembers no secrets of its own yet.
    fn clone(&self) -> Redactor {
        Redactor { mac: self.mac.clone(), memo: memo::PseudonymCache::default() }
    }
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor { key: <hidden> }")
    }
}

/// What one redaction replaced, by how it was found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RedactionCounts {
    /// Values under a secret name: headers, cookies, query parameters, labels, `name=value`.
    pub named: u32,
    /// JSON Web Tokens found by shape.
    pub jwt: u32,
    /// Payment card numbers.
    pub card: u32,
    /// Secret keys of a well-known shape.
    pub key_shape: u32,
}

impl RedactionCounts {
    /// All replacements.
    pub fn total(&self) -> u32 {
        self.named + self.jwt + self.card + self.key_shape
    }
}

impl Redactor {
    /// A redactor for an installation's 32-byte secret key.
    pub fn new(key: [u8; 32]) -> Redactor {
        let mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
        Redactor { mac, memo: memo::PseudonymCache::default() }
    }

    /// A stable pseudonym for a secret of a kind (`tok`, `key`, `pwd`, …): the same secret
    /// under the same key always gives the same pseudonym; without the key it reveals nothing.
    pub fn pseudonym(&self, kind: &str, secret: &str) -> String {
        self.pseudonym_bytes(kind, secret.as_bytes())
    }

    fn pseudonym_bytes(&self, kind: &str, secret: &[u8]) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = self.memo.get_or_compute(kind, secret, |message| {
            let mut mac = self.mac.clone();
            for part in message {
                mac.update(part);
            }
            let mut digest = [0u8; PSEUDONYM_HEX_DIGITS / 2];
            digest.copy_from_slice(&mac.finalize().into_bytes()[..PSEUDONYM_HEX_DIGITS / 2]);
            digest
        });
        let mut out = String::with_capacity(kind.len() + 1 + PSEUDONYM_HEX_DIGITS);
        out.push_str(kind);
        out.push('_');
        for &byte in &digest {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 15)]));
        }
        out
    }

    /// Redacts an event and seals it.
    pub fn redact(&self, data: EventData) -> Event {
        self.redact_counted(data).0
    }

    /// Redacts an event and seals it, saying what was replaced.
    pub fn redact_counted(&self, mut d: EventData) -> (Event, RedactionCounts) {
        let mut pass = Pass {
            r: self,
            counts: RedactionCounts::default(),
            ids: Ids {
                token_id: d.token_id.take(),
                api_key_id: d.api_key_id.take(),
                session_id: d.session_id.take(),
            },
        };
        let mut repeated = RepeatedHeaders::default();
        for (i, (name, value)) in d.headers.iter_mut().enumerate() {
            let (rule, scan_name) = names::header_rule_and_scan(name.as_bytes());
            if !pass.by_rule(rule, value, true) {
                repeated.note(name, rule, i);
            }
            if scan_name {
                pass.replace(name, |p, s| p.text(s));
            }
        }
        if let Some(query) = &mut d.url_query {
            pass.replace(query, |p, s| p.query(s));
        }
        if let Some(path) = &mut d.url_path {
            pass.replace(path, |p, s| p.url(s, true, 0));
        }
        if let Some(referrer) = &mut d.referrer {
            if !repeated.holds(&d.headers, repeated.referer, referrer) {
                pass.replace(referrer, |p, s| p.url(s, false, 0));
            }
        }
        for (name, value) in &mut d.labels {
            pass.by_rule(names::label_rule(name.as_bytes()), value, false);
        }
        d.token_id = pass.ids.token_id.take();
        d.api_key_id = pass.ids.api_key_id.take();
        d.session_id = pass.ids.session_id.take();
        // The user agent and the domain mostly repeat a header that was just scanned.
        for (field, header) in
            [(&mut d.user_agent, repeated.user_agent), (&mut d.url_domain, repeated.host)]
        {
            if let Some(value) = field.as_mut().filter(|v| !repeated.holds(&d.headers, header, v)) {
                pass.replace(value, |p, s| p.text(s));
            }
        }
        let free_text = [
            &mut d.forwarded_for,
            &mut d.user_name,
            &mut d.user_id,
            &mut d.token_id,
            &mut d.token_issuer,
            &mut d.api_key_id,
            &mut d.consumer,
            &mut d.session_id,
            &mut d.http_method,
            &mut d.http_version,
            &mut d.http_route,
            &mut d.operation_id,
            &mut d.service_name,
            &mut d.event_action,
        ];
        for field in free_text.into_iter().flatten() {
            pass.replace(field, |p, s| p.text(s));
        }
        for role in &mut d.user_roles {
            pass.replace(role, |p, s| p.text(s));
        }
        (Event::sealed(d), pass.counts)
    }

    /// Redacts free text (an error message, a summary, a sample line) with the free-text scan:
    /// JWTs, card numbers, key shapes, and values under secret names. Borrows when nothing
    /// was found.
    pub fn redact_text<'a>(&self, s: &'a str) -> Cow<'a, str> {
        Pass { r: self, counts: RedactionCounts::default(), ids: Ids::default() }.text(s)
    }
}

/// Request headers whose values redaction left as they were, by the index of the header, for
/// the event fields that repeat them (the `User-Agent`, `Host` and `Referer` headers and
/// `user_agent.original`, `url.domain` and `http.request.referrer`). A field equal to such a
/// header's value, redacted the same way, is left as it is without scanning it again: the
/// scans are pure functions of the text, and one that finds nothing changes nothing.
#[derive(Default)]
struct RepeatedHeaders {
    user_agent: Option<usize>,
    host: Option<usize>,
    referer: Option<usize>,
}

impl RepeatedHeaders {
    /// Notes header `i`, which redaction by `rule` left as it was.
    fn note(&mut self, name: &str, rule: NameRule, i: usize) {
        let slot = match (name, rule) {
            ("user-agent", NameRule::Plain) => &mut self.user_agent,
            ("host", NameRule::Plain) => &mut self.host,
            ("referer", NameRule::Url) => &mut self.referer,
            _ => return,
        };
        slot.get_or_insert(i);
    }

    /// Whether `value` is the value of the noted header `header`.
    fn holds(&self, headers: &[(String, String)], header: Option<usize>, value: &str) -> bool {
        header.is_some_and(|i| headers[i].1 == value)
    }
}

/// The ids an event's secrets may fill: each only while it is empty.
#[derive(Default)]
struct Ids {
    token_id: Option<String>,
    api_key_id: Option<String>,
    session_id: Option<String>,
}

impl Ids {
    fn fill(&mut self, slot: IdSlot, pseudonym: &str) {
        let id = match slot {
            IdSlot::Token => &mut self.token_id,
            IdSlot::ApiKey => &mut self.api_key_id,
            IdSlot::Session => &mut self.session_id,
        };
        if id.is_none() {
            *id = Some(pseudonym.to_owned());
        }
    }
}

/// One redaction: the redactor, what it found so far, and the ids it may fill.
struct Pass<'r> {
    r: &'r Redactor,
    counts: RedactionCounts,
    ids: Ids,
}

impl Pass<'_> {
    /// Replaces `field` with `f`'s result when that is a new string; says whether it was.
    fn replace(
        &mut self,
        field: &mut String,
        f: impl for<'s> FnOnce(&mut Self, &'s str) -> Cow<'s, str>,
    ) -> bool {
        match f(self, field) {
            Cow::Owned(new) => {
                *field = new;
                true
            }
            Cow::Borrowed(_) => false,
        }
    }

    fn finish<'a>(&mut self, s: &'a str, edits: Vec<Edit>) -> Cow<'a, str> {
        if edits.is_empty() {
            return Cow::Borrowed(s);
        }
        let (out, kept) = edits::apply(s, edits, |kind, b| self.r.pseudonym_bytes(kind, b));
        for e in &kept {
            match e.found {
                Found::Named => self.counts.named += 1,
                Found::Jwt => self.counts.jwt += 1,
                Found::Card => self.counts.card += 1,
                Found::KeyShape => self.counts.key_shape += 1,
                Found::Nested => {}
            }
        }
        Cow::Owned(out)
    }

    fn text<'a>(&mut self, s: &'a str) -> Cow<'a, str> {
        let first = self.text_once(s);
        self.settle(first, |p, t| p.text_once(t))
    }

    fn text_once<'a>(&mut self, s: &'a str) -> Cow<'a, str> {
        let mut edits = Vec::new();
        text::scan(self.r, s, &mut edits);
        self.finish(s, edits)
    }

    /// Redacts the output of a pass again until nothing changes (at most
    /// `SETTLE_PASSES_MAX` more times): one replacement can reveal another pattern that the
    /// overlapping one hid (a PEM marker inside `scheme://user:pass@`), and redacting redacted
    /// text must change nothing.
    fn settle<'a>(
        &mut self,
        mut out: Cow<'a, str>,
        mut pass: impl for<'b> FnMut(&mut Self, &'b str) -> Cow<'b, str>,
    ) -> Cow<'a, str> {
        for _ in 0..SETTLE_PASSES_MAX {
            let next = match &out {
                Cow::Borrowed(_) => None,
                Cow::Owned(prev) => match pass(self, prev) {
                    Cow::Owned(n) => Some(n),
                    Cow::Borrowed(_) => None,
                },
            };
            match next {
                Some(n) => out = Cow::Owned(n),
                None => break,
            }
        }
        out
    }

    /// `url.query`: the request's own query string, without `?`.
    fn query<'a>(&mut self, s: &'a str) -> Cow<'a, str> {
        let first = self.query_once(s);
        self.settle(first, |p, t| p.query_once(t))
    }

    fn query_once<'a>(&mut self, s: &'a str) -> Cow<'a, str> {
        let mut edits = Vec::new();
        let mut handled = url::Handled::new();
        url::query_edits(self, s, 0..s.len(), true, 0, &mut handled, &mut edits);
        text::scan_skipping(self.r, s, handled.as_slice(), &mut edits);
        self.finish(s, edits)
    }

    /// A URL (or a request line, or a path with its query).
    fn url<'a>(&mut self, s: &'a str, set_ids: bool, depth: u8) -> Cow<'a, str> {
        let first = self.url_once(s, set_ids, depth);
        self.settle(first, |p, t| p.url_once(t, set_ids, depth))
    }

    fn url_once<'a>(&mut self, s: &'a str, set_ids: bool, depth: u8) -> Cow<'a, str> {
        let mut edits = Vec::new();
        let mut handled = url::Handled::new();
        url::url_edits(self, s, set_ids, depth, &mut handled, &mut edits);
        text::scan_skipping(self.r, s, handled.as_slice(), &mut edits);
        self.finish(s, edits)
    }

    /// The whole value is the secret: its pseudonym, or `None` when there is nothing to hide.
    fn whole(&mut self, value: &str, class: Secret, slot: Option<IdSlot>) -> Option<String> {
        let b = value.as_bytes();
        if b.is_empty() || edits::is_masked(b) {
            return None;
        }
        if edits::is_pseudonym(b) {
            if let Some(slot) = slot {
                self.ids.fill(slot, value);
            }
            return None;
        }
        let p = self.r.pseudonym_bytes(class.kind(), b);
        if let Some(slot) = slot {
            self.ids.fill(slot, &p);
        }
        self.counts.named += 1;
        Some(p)
    }

    /// A header or label value, by the rule its name gives. Says whether the value was
    /// replaced: for the scans (`Url`, `Plain`), `false` means they found nothing at all.
    fn by_rule(&mut self, rule: NameRule, value: &mut String, set_ids: bool) -> bool {
        match rule {
            NameRule::Authorization => self.replace(value, |p, s| p.authorization(s, set_ids)),
            NameRule::Cookie => self.replace(value, |p, s| p.cookie(s, false, set_ids)),
            NameRule::SetCookie => self.replace(value, |p, s| p.cookie(s, true, set_ids)),
            NameRule::ApiKey | NameRule::Secret(_) => {
                let (class, slot) = match rule {
                    NameRule::Secret(class) => (class, None),
                    _ => (Secret::Key, set_ids.then_some(IdSlot::ApiKey)),
                };
                let found = self.whole(value, class, slot);
                let replaced = found.is_some();
                if let Some(p) = found {
                    *value = p;
                }
                replaced
            }
            NameRule::Url => self.replace(value, |p, s| p.url(s, false, 0)),
            NameRule::Plain => self.replace(value, |p, s| p.text(s)),
        }
    }

    /// `scheme credentials`: the scheme stays, the credentials become one pseudonym.
    fn authorization<'a>(&mut self, s: &'a str, set_ids: bool) -> Cow<'a, str> {
        let b = s.as_bytes();
        let lead = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
        let scheme_end =
            lead + b[lead..].iter().position(|c| c.is_ascii_whitespace()).unwrap_or(b.len() - lead);
        let (kind, cred_start) = if scheme_end == b.len() {
            let word = &b[lead..];
            if [&b"bearer"[..], b"basic", b"token", b"digest"]
                .iter()
                .any(|w| word.eq_ignore_ascii_case(w))
            {
                // A scheme with no credentials: nothing to hide, and no token to name.
                return Cow::Borrowed(s);
            }
            // No scheme: the whole value is a token.
            ("tok", lead)
        } else {
            let scheme = &b[lead..scheme_end];
            let cred =
                scheme_end + b[scheme_end..].iter().take_while(|c| c.is_ascii_whitespace()).count();
            let kind = if scheme.eq_ignore_ascii_case(b"bearer")
                || scheme.eq_ignore_ascii_case(b"token")
            {
                "tok"
            } else if scheme.eq_ignore_ascii_case(b"basic") {
                "pwd"
            } else {
                "cred"
            };
            (kind, cred)
        };
        let cred_end = cred_start
            + b[cred_start..].iter().rposition(|c| !c.is_ascii_whitespace()).map_or(0, |k| k + 1);
        let cred = &b[cred_start..cred_end];
        if cred.is_empty() || edits::is_masked(cred) {
            return Cow::Borrowed(s);
        }
        let fills_token_id = set_ids && kind == "tok";
        if edits::is_pseudonym(cred) {
            if fills_token_id {
                self.ids.fill(IdSlot::Token, &s[cred_start..cred_end]);
            }
            return Cow::Borrowed(s);
        }
        let replacement = self.r.pseudonym_bytes(kind, cred);
        if fills_token_id {
            self.ids.fill(IdSlot::Token, &replacement);
        }
        let edit = Edit {
            start: cred_start,
            end: cred_end,
            priority: PRIORITY_NAMED,
            found: Found::Named,
            kind: Some(kind),
            replacement,
        };
        self.finish(s, vec![edit])
    }

    /// `name=value; name=value` (or, for `Set-Cookie`, `name=value; attributes`).
    fn cookie<'a>(&mut self, s: &'a str, set_cookie: bool, set_ids: bool) -> Cow<'a, str> {
        let b = s.as_bytes();
        let mut edits = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let seg_end = memchr::memchr(b';', &b[i..]).map_or(b.len(), |k| i + k);
            let start = i + b[i..seg_end].iter().take_while(|c| c.is_ascii_whitespace()).count();
            let (name, value_start) = match memchr::memchr(b'=', &b[start..seg_end]) {
                Some(k) => (&b[start..start + k], start + k + 1),
                None => (&b[start..start], start),
            };
            let value_end = value_start
                + b[value_start..seg_end]
                    .iter()
                    .rposition(|c| !c.is_ascii_whitespace())
                    .map_or(0, |k| k + 1);
            let value = &b[value_start..value_end];
            if !value.is_empty() && !edits::is_masked(value) {
                let session = names::is_session_cookie(name);
                let kind = if session {
                    Secret::Session.kind()
                } else {
                    names::classify(name).map_or("ck", Secret::kind)
                };
                let pseudonym = if edits::is_pseudonym(value) {
                    s[value_start..value_end].to_owned()
                } else {
                    let replacement = self.r.pseudonym_bytes(kind, value);
                    edits.push(Edit {
                        start: value_start,
                        end: value_end,
                        priority: PRIORITY_NAMED,
                        found: Found::Named,
                        kind: Some(kind),
                        replacement: replacement.clone(),
                    });
                    replacement
                };
                if session && set_ids {
                    self.ids.fill(IdSlot::Session, &pseudonym);
                }
            }
            if set_cookie {
                break;
            }
            i = seg_end + 1;
        }
        self.finish(s, edits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl";

    fn kong_like(user_agent: &str, host: &str, referer: &str) -> EventData {
        let mut ev = EventData {
            user_agent: Some(user_agent.into()),
            url_domain: Some(host.into()),
            referrer: Some(referer.into()),
            ..EventData::default()
        };
        for (name, value) in [("host", host), ("user-agent", user_agent), ("referer", referer)] {
            ev.headers.push((name.into(), value.into()));
        }
        ev
    }

    #[test]
    fn fields_repeating_a_header_are_redacted_like_it() {
        let r = Redactor::new([3; 32]);
        // Clean values: skipped the second time, and left as they are.
        let clean = kong_like("curl/8.5.0 (x86_64)", "api.example.com", "https://a.example/p?q=1");
        let (ev, counts) = r.redact_counted(clean.clone());
        assert_eq!(ev.data(), &clean);
        assert_eq!(counts.total(), 0);
        // Secrets in the header and in its repeat: both hidden, both counted.
        let ua = format!("agent token={JWT}");
        let referer = format!("https://a.example/cb?access_token={JWT}");
        let secret = kong_like(&ua, "api.example.com", &referer);
        let (ev, counts) = r.redact_counted(secret);
        let d = ev.data();
        for text in [d.header("user-agent"), d.user_agent.as_deref(), d.referrer.as_deref()] {
            assert!(!text.unwrap().contains(JWT), "{text:?}");
        }
        assert_eq!(d.header("user-agent"), d.user_agent.as_deref());
        assert_eq!(d.header("referer"), d.referrer.as_deref());
        assert_eq!(counts.named, 4);
        // A field that differs from its header is scanned on its own.
        let mut differs = kong_like("curl/8.5.0", "api.example.com", "-");
        differs.user_agent = Some(format!("curl password={JWT}"));
        let (ev, _) = r.redact_counted(differs);
        assert!(!ev.data().user_agent.as_deref().unwrap().contains(JWT));
    }

    #[test]
    fn remembered_pseudonyms_are_the_computed_ones() {
        let r = Redactor::new([5; 32]);
        let first = r.pseudonym("tok", JWT);
        assert_eq!(r.pseudonym("tok", JWT), first);
        assert_eq!(r.clone().pseudonym("tok", JWT), first);
        assert_eq!(Redactor::new([5; 32]).pseudonym("tok", JWT), first);
        assert_ne!(r.pseudonym("key", JWT), first);
        let long = "x".repeat(10_000);
        assert_eq!(r.pseudonym("tok", &long), Redactor::new([5; 32]).pseudonym("tok", &long));
    }
}
