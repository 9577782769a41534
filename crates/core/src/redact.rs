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
//! repeat a header that was; each redactor remembers the pseudonyms of recent secrets
//! (`memo.rs`), as the same bearer token comes back on request after request; and it
//! remembers the values recently found clean, by the scan that judged them (`clean.rs`), so
//! that a user agent, a header value or a route seen before costs a hash and a comparison
//! instead of a scan; a value not found there is first tried by the scans' prefilters alone
//! (`text::finds_nothing`), and only when they cannot prove it clean is it scanned. Values too
//! short for any scan to find anything in (a method, a version) are not looked up at all.
//! `examples/redact_throughput.rs` measures it (about 300 ns for a typical nginx
//! event with a user agent and a referrer, on a busy two-core machine).

mod clean;
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
use std::sync::MutexGuard;

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
    /// Values seen lately that held nothing to redact (see `clean.rs`).
    clean: clean::CleanMemo,
}

impl Clone for Redactor {
    /// The same key; the clone remembers no secrets and no values of its own yet.
    fn clone(&self) -> Redactor {
        Redactor {
            mac: self.mac.clone(),
            memo: memo::PseudonymCache::default(),
            clean: clean::CleanMemo::default(),
        }
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
        Redactor { mac, memo: memo::PseudonymCache::default(), clean: clean::CleanMemo::default() }
    }

    /// A stable pseudonym for a secret of a kind (`tok`, `key`, `pwd`, …): the same secret
    /// under the same key always gives the same pseudonym; without the key it reveals nothing.
    pub fn pseudonym(&self, kind: &str, secret: &str) -> String {
        self.pseudonym_bytes(kind, secret.as_bytes())
    }

    fn pseudonym_bytes(&self, kind: &str, secret: &[u8]) -> String {
        let mut out = String::with_capacity(kind.len() + 1 + PSEUDONYM_HEX_DIGITS);
        self.push_pseudonym(kind, secret, &mut out);
        out
    }

    /// Appends the pseudonym of `secret` to `out`, which saves a string where the pseudonym
    /// goes straight into a longer value.
    fn push_pseudonym(&self, kind: &str, secret: &[u8], out: &mut String) {
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
        out.reserve(kind.len() + 1 + PSEUDONYM_HEX_DIGITS);
        out.push_str(kind);
        out.push('_');
        for &byte in &digest {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 15)]));
        }
    }

    /// Redacts an event and seals it.
    pub fn redact(&self, data: EventData) -> Event {
        self.redact_counted(data).0
    }

    /// Redacts an event and seals it, saying what was replaced.
    pub fn redact_counted(&self, mut d: EventData) -> (Event, RedactionCounts) {
        let counts = self.redact_fields(&mut d);
        (Event::sealed(d), counts)
    }

    /// Redacts an event and appends it, sealed, to `out`. The event is redacted where it lies
    /// and moved once: an `EventData` is about a kilobyte, and each move of it is a copy.
    #[inline]
    pub fn redact_into(&self, mut d: EventData, out: &mut Vec<Event>) {
        self.redact_fields(&mut d);
        out.push(Event::sealed(d));
    }

    fn redact_fields(&self, d: &mut EventData) -> RedactionCounts {
        let mut pass = Pass::new(
            self,
            Ids {
                token_id: d.token_id.take(),
                api_key_id: d.api_key_id.take(),
                session_id: d.session_id.take(),
                fill_attempts: 0,
            },
        );
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
        // The user id mostly repeats the user name (both are a JWT's `sub`): when the scan left
        // the name as it was, it leaves the same text as it is again (scans are pure functions
        // of the text, and the free-text scan fills no id).
        let id_repeats_name = d.user_id.is_some() && d.user_id == d.user_name;
        let name_kept =
            d.user_name.as_mut().is_none_or(|name| !pass.replace(name, |p, s| p.text(s)));
        let user_id = if id_repeats_name && name_kept { None } else { d.user_id.as_mut() };
        let free_text = [
            d.forwarded_for.as_mut(),
            user_id,
            d.token_id.as_mut(),
            d.token_issuer.as_mut(),
            d.api_key_id.as_mut(),
            d.consumer.as_mut(),
            d.session_id.as_mut(),
            d.http_method.as_mut(),
            d.http_version.as_mut(),
            d.http_route.as_mut(),
            d.operation_id.as_mut(),
            d.service_name.as_mut(),
            d.event_action.as_mut(),
        ];
        for field in free_text.into_iter().flatten() {
            pass.replace(field, |p, s| p.text(s));
        }
        for role in &mut d.user_roles {
            pass.replace(role, |p, s| p.text(s));
        }
        pass.counts
    }

    /// Redacts free text (an error message, a summary, a sample line) with the free-text scan:
    /// JWTs, card numbers, key shapes, and values under secret names. Borrows when nothing
    /// was found.
    pub fn redact_text<'a>(&self, s: &'a str) -> Cow<'a, str> {
        Pass::new(self, Ids::default()).text(s)
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
    token_id: Option<crate::Text>,
    api_key_id: Option<crate::Text>,
    session_id: Option<crate::Text>,
    /// Calls to [`Ids::fill`], filling or not: a scan that made none depended on no id.
    fill_attempts: u32,
}

impl Ids {
    fn fill(&mut self, slot: IdSlot, pseudonym: &str) {
        self.fill_attempts = self.fill_attempts.wrapping_add(1);
        let id = match slot {
            IdSlot::Token => &mut self.token_id,
            IdSlot::ApiKey => &mut self.api_key_id,
            IdSlot::Session => &mut self.session_id,
        };
        if id.is_none() {
            *id = Some(pseudonym.into());
        }
    }
}

/// One redaction: the redactor, what it found so far, and the ids it may fill.
struct Pass<'r> {
    r: &'r Redactor,
    counts: RedactionCounts,
    ids: Ids,
    /// The redactor's clean values, held for the whole redaction (one lock per event).
    clean: Option<MutexGuard<'r, clean::CleanValues>>,
}

impl<'r> Pass<'r> {
    fn new(r: &'r Redactor, ids: Ids) -> Pass<'r> {
        Pass { r, counts: RedactionCounts::default(), ids, clean: r.clean.lock() }
    }

    /// `pass(s)`, skipped when `scan` already found `s` clean. A scan's result is remembered
    /// only when it changed, counted and filled nothing: then it is a pure function of `s`
    /// (and the key), and skipping it next time changes nothing.
    fn memoized<'a>(
        &mut self,
        scan: clean::Scan,
        s: &'a str,
        pass: impl FnOnce(&mut Self, &'a str) -> Cow<'a, str>,
    ) -> Cow<'a, str> {
        if text::holds_nothing_to_scan(s.as_bytes()) {
            return Cow::Borrowed(s);
        }
        let miss = match self.clean.as_ref().map(|c| c.look_up(scan, s)) {
            Some(Ok(())) => return Cow::Borrowed(s),
            Some(Err(miss)) => miss,
            None => None,
        };
        // A value not seen lately is mostly clean: proved so by the scans' own prefilters, it
        // is remembered without the scans' work.
        if text::finds_nothing(s.as_bytes(), scan) {
            if let (Some(miss), Some(clean)) = (miss, self.clean.as_mut()) {
                clean.remember(miss, scan, s);
            }
            return Cow::Borrowed(s);
        }
        let (counts, fill_attempts) = (self.counts, self.ids.fill_attempts);
        let out = pass(self, s);
        if let (Some(miss), Some(clean), Cow::Borrowed(_)) = (miss, self.clean.as_mut(), &out) {
            if self.counts == counts && self.ids.fill_attempts == fill_attempts {
                clean.remember(miss, scan, s);
            }
        }
        out
    }

    /// Replaces `field` with `f`'s result when that is a new string; says whether it was.
    fn replace<T: std::ops::Deref<Target = str> + From<String>>(
        &mut self,
        field: &mut T,
        f: impl for<'s> FnOnce(&mut Self, &'s str) -> Cow<'s, str>,
    ) -> bool {
        match f(self, field) {
            Cow::Owned(new) => {
                *field = new.into();
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

    /// The free-text scan of `s`. Short values without `=` or `:` (a method, a version, a
    /// status) are answered here, inlined where the fields are walked, without a call.
    #[inline]
    fn text<'a>(&mut self, s: &'a str) -> Cow<'a, str> {
        if text::holds_nothing_to_scan(s.as_bytes()) {
            return Cow::Borrowed(s);
        }
        self.text_memoized(s)
    }

    #[inline(never)]
    fn text_memoized<'a>(&mut self, s: &'a str) -> Cow<'a, str> {
        self.memoized(clean::Scan::Text, s, |p, s| {
            let first = p.text_once(s);
            p.settle(first, |p, t| p.text_once(t))
        })
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
        self.memoized(clean::Scan::Query, s, |p, s| {
            let first = p.query_once(s);
            p.settle(first, |p, t| p.query_once(t))
        })
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
        let settled = |p: &mut Self, s: &'a str| {
            let first = p.url_once(s, set_ids, depth);
            p.settle(first, |p, t| p.url_once(t, set_ids, depth))
        };
        // A nested URL (a decoded query value) is judged under a depth limit: not the same
        // scan as a URL of its own.
        match (depth, set_ids) {
            (0, false) => self.memoized(clean::Scan::Url, s, settled),
            (0, true) => self.memoized(clean::Scan::UrlFillingIds, s, settled),
            _ => settled(self, s),
        }
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
        // One replacement, which nothing can overlap: built directly, as `finish` would.
        let mut out =
            String::with_capacity(s.len() - cred.len() + kind.len() + 1 + PSEUDONYM_HEX_DIGITS);
        out.push_str(&s[..cred_start]);
        self.r.push_pseudonym(kind, cred, &mut out);
        if fills_token_id {
            self.ids.fill(IdSlot::Token, &out[cred_start..]);
        }
        self.counts.named += 1;
        out.push_str(&s[cred_end..]);
        Cow::Owned(out)
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
        differs.user_agent = Some(format!("curl password={JWT}").into());
        let (ev, _) = r.redact_counted(differs);
        assert!(!ev.data().user_agent.as_deref().unwrap().contains(JWT));
    }

    /// Values of every kind the scans meet: clean ones, secrets of each shape and name,
    /// pseudonyms (which fill ids in a query but not in text), masked values, nested URLs.
    fn value_pool() -> Vec<String> {
        let alnum = |n: usize| "aB3dE6gH9k".repeat(n / 10 + 1)[..n].to_owned();
        let mut pool: Vec<String> = [
            "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
            "ShopApp/4.12.1 (com.shop.app; build:41201; Android 14) okhttp/4.12.0",
            "application/json",
            "application/json; charset=utf-8",
            "api.example.com",
            "/api/v1/users/{id}",
            "GET",
            "HTTP/1.1",
            "1.1",
            "https",
            "a:b",
            "k=v",
            "",
            "-",
            "https://shop.example/",
            "https://shop.example/p?q=1&page=2",
            "/search?q=%3D%22x%22&page=3",
            "/p?next=%2Fcb%3Ftoken%3Dabc123",
            "ts 1795392000000 and 1795392000001",
            "password=hunter2",
            "user password=hunter2 ok",
            "{\"token\": \"abc123\"}",
            "Authorization: Bearer abcdef123",
            "Bearer abcdef123",
            "Basic dXNlcjpwYXNz",
            "Digest",
            "https://user:pass@host.example/x",
            "4111 1111 1111 1111",
            "card 4111111111111111 ok",
            "AKIAIOSFODNN7EXAMPLE",
            "-----BEGIN PRIVATE KEY-----abc-----END PRIVATE KEY-----",
            "xoxb-12345678901-abc",
            "?access_token=secret123",
            "access_token=secret123&page=2",
            "https://a.example/cb?code=xyz#access_token=abc",
            "****",
            "[FILTERED]",
            "tok_0123456789abcdef",
            "access_token=tok_0123456789abcdef",
            "/cb?access_token=tok_0123456789abcdef",
            "api_key=key_0123456789abcdef&x=1",
            "sid=ses_0123456789abcdef; theme=dark",
            "session=abc; theme=dark",
            "key_0123456789abcdef",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        pool.extend([
            JWT.to_owned(),
            format!("token={JWT}"),
            format!("https://a.example/cb?id_token={JWT}&state=1"),
            format!("sk_live_{}", alnum(24)),
            format!("ghp_{}", alnum(36)),
            format!("glpat-{}", alnum(20)),
            format!("npm_{}", alnum(36)),
            format!("AIza{}", alnum(35)),
        ]);
        pool
    }

    /// A small deterministic generator (xorshift), so that a failure can be replayed.
    struct Picks(u64);

    impl Picks {
        fn next(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            usize::try_from(self.0 % u64::try_from(n).unwrap()).unwrap()
        }
    }

    fn varied_event(pool: &[String], picks: &mut Picks, i: usize) -> EventData {
        let mut pick = |unique: String| {
            // Mostly the pool, which repeats; now and then a value never seen before, so that
            // the memo fills and starts over.
            match picks.next(pool.len() + 4) {
                k if k < pool.len() => pool[k].clone(),
                k if k == pool.len() => {
                    format!("{unique}?access_token=tok_0123456789abcde{}", i % 10)
                }
                _ => unique,
            }
        };
        let mut ev = EventData::default();
        for name in ["user-agent", "host", "referer", "authorization", "cookie", "x-api-key"] {
            ev.headers.push((name.into(), pick(format!("{name}-{i}"))));
        }
        for name in ["accept", "x-custom", "location", "x-password"] {
            ev.headers.push((name.into(), pick(format!("https://h.example/{i}"))));
        }
        ev.labels.push(("note".into(), pick(format!("note {i}"))));
        ev.labels.push(("callback_url".into(), pick(format!("/cb/{i}?state={i}"))));
        ev.labels.push(("password".into(), pick(format!("pw{i}"))));
        // Fields that repeat a header, or not.
        ev.user_agent = Some(if i.is_multiple_of(3) {
            (pick(format!("ua {i}"))).into()
        } else {
            (ev.headers[0].1.clone()).into()
        });
        ev.url_domain = Some(if i % 3 == 1 {
            (pick(format!("d{i}.example"))).into()
        } else {
            (ev.headers[1].1.clone()).into()
        });
        ev.referrer = Some(if i % 3 == 2 {
            (pick(format!("/r/{i}"))).into()
        } else {
            (ev.headers[2].1.clone()).into()
        });
        ev.url_path = Some((pick(format!("/api/v1/items/{i}"))).into());
        ev.url_query = Some((pick(format!("page={i}"))).into());
        for field in [
            &mut ev.forwarded_for,
            &mut ev.user_name,
            &mut ev.user_id,
            &mut ev.token_issuer,
            &mut ev.consumer,
            &mut ev.http_method,
            &mut ev.http_version,
            &mut ev.http_route,
            &mut ev.operation_id,
            &mut ev.service_name,
            &mut ev.event_action,
        ] {
            *field = Some((pick(format!("{i}.{i}.0.1"))).into());
        }
        // Ids set before redaction (by enrichment) now and then: secrets fill only empty ones.
        if i.is_multiple_of(5) {
            ev.token_id = Some((pick(format!("jti-{i}"))).into());
        }
        if i.is_multiple_of(7) {
            ev.session_id = Some((pick(format!("sess-{i}"))).into());
        }
        ev.user_roles = vec![pick(format!("role-{i}")), pick(format!("role {i}"))];
        ev
    }

    #[test]
    fn remembered_clean_values_redact_as_fresh_redactors_do() {
        const KEY: [u8; 32] = [9; 32];
        let pool = value_pool();
        let mut picks = Picks(0x9E37_79B9_7F4A_7C15);
        let remembering = Redactor::new(KEY);
        let mut found = RedactionCounts::default();
        // Enough values never seen before to fill the memo several times over.
        for i in 0..12_000 {
            let ev = varied_event(&pool, &mut picks, i);
            let (expected, expected_counts) = Redactor::new(KEY).redact_counted(ev.clone());
            let (got, counts) = remembering.redact_counted(ev.clone());
            assert_eq!(got.data(), expected.data(), "event {i}: {ev:?}");
            assert_eq!(counts, expected_counts, "event {i}: {ev:?}");
            found.named += counts.named;
            found.jwt += counts.jwt;
            found.card += counts.card;
            found.key_shape += counts.key_shape;
            for value in [&pool[i % pool.len()], &format!("{i}.{i}.0.1")] {
                assert_eq!(remembering.redact_text(value), Redactor::new(KEY).redact_text(value));
            }
        }
        // Every kind of find was met, and the memo was in use.
        assert!(found.named > 0 && found.jwt > 0 && found.card > 0 && found.key_shape > 0);
        assert!(remembering.clean.lock().is_some_and(|c| c.len() > 0));
    }

    #[test]
    fn values_too_short_to_scan_hold_nothing() {
        let r = Redactor::new([4; 32]);
        for value in ["", "GET", "1.1", "HTTP/1.1", "shop-api", "https", "12345678901a"] {
            assert!(text::holds_nothing_to_scan(value.as_bytes()), "{value}");
        }
        for value in ["a=b", "k:v", "4111111111111111", "pwd=x", "a?token=x"] {
            assert!(!text::holds_nothing_to_scan(value.as_bytes()), "{value}");
        }
        // Whatever it lets through, no scan finds anything in.
        let mut picks = Picks(7);
        let alphabet = b"aZ09 -_./?#%&@\\\"'4";
        for _ in 0..20_000 {
            let len = picks.next(13);
            let value: String =
                (0..len).map(|_| char::from(alphabet[picks.next(alphabet.len())])).collect();
            if !text::holds_nothing_to_scan(value.as_bytes()) {
                continue;
            }
            let mut pass = Pass::new(&r, Ids::default());
            assert!(matches!(pass.text_once(&value), Cow::Borrowed(_)), "{value}");
            assert!(matches!(pass.url_once(&value, true, 0), Cow::Borrowed(_)), "{value}");
            assert!(matches!(pass.query_once(&value), Cow::Borrowed(_)), "{value}");
            assert_eq!(pass.counts.total() + pass.ids.fill_attempts, 0);
        }
    }

    /// Near misses of every finder: secrets in the places the fast proof looks past (cards
    /// with separators, JWTs in paths, queries and referrers, keys in query strings, Basic
    /// credentials, userinfo), and clean text that holds a finder's trigger byte.
    fn near_misses() -> Vec<String> {
        [
            "4111-1111-1111-1111",
            "4111 1111 1111 1111",
            "4111.1111.1111.1111",
            "/pay/4111111111111111/ok",
            "/orders/1795392000000",
            "378282246310005",
            "/p/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln/x",
            "https://shop.example/cb#id_token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
            "https://shop.example/products",
            "https://shop.example/",
            "https://user:hunter2@shop.example/",
            "ftp://anonymous@files.example/",
            "barbara.miller@shop.example",
            "/search?api_key=abc123",
            "/search?q=1&apikey=abc123",
            "/search?q=running+shoes",
            "/search?q",
            "key=abc123",
            "Basic dXNlcjpwYXNz",
            "Authorization: Basic dXNlcjpwYXNz",
            "authorization:Bearer abc",
            "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
            "ShopApp/4.12.1 (com.shop.app; build:41201; Android 14) okhttp/4.12.0",
            "kube-probe/1.29",
            "/api/v1/products/{id}",
            "/api/v1/products/12345",
            "/static/js/app.3f2c9a1e.js",
            "password:hunter2",
            "Password : hunter2",
            "x_token=1",
            "a.password=1",
            "tok_0123456789abcdef:x",
            "xtok_0123456789abcdef_secret=1",
            "note: ok",
            "ghp_0123456789abcdefghij0123456789ab",
            "glpat-0123456789abcdefghij",
            "AKIAIOSFODNN7EXAMPLE and more",
            "-----BEGIN RSA PRIVATE KEY-----abc",
            "next=%2Fcb%3Ftoken%3Dabc",
            "/cb?redirect=https%3A%2F%2Fa.example%2F%3Fcode%3Dxyz",
            "page=2",
            "a:b",
            "a=b",
        ]
        .into_iter()
        .map(String::from)
        .collect()
    }

    #[test]
    fn values_proved_clean_are_left_alone_by_the_full_scans() {
        let r = Redactor::new([8; 32]);
        let mut values = value_pool();
        values.extend(near_misses());
        // Joined two and three at a time, with the separators text and URLs put between them.
        let base = values.clone();
        let mut picks = Picks(0xD1B5_4A32_D192_ED03);
        for _ in 0..6_000 {
            let glue = [" ", "", "/", "?", "&", "=", ":", "; ", "@", "-", "_"];
            let parts = 2 + picks.next(2);
            let mut value = base[picks.next(base.len())].clone();
            for _ in 1..parts {
                value.push_str(glue[picks.next(glue.len())]);
                value.push_str(&base[picks.next(base.len())]);
            }
            values.push(value);
        }
        let scans =
            [clean::Scan::Text, clean::Scan::Url, clean::Scan::UrlFillingIds, clean::Scan::Query];
        let (mut proved, mut not_proved) = (0, 0);
        for value in &values {
            for scan in scans {
                if !text::finds_nothing(value.as_bytes(), scan) {
                    not_proved += 1;
                    continue;
                }
                proved += 1;
                let mut pass = Pass::new(&r, Ids::default());
                let out = match scan {
                    clean::Scan::Text => pass.text_once(value),
                    clean::Scan::Url => pass.url_once(value, false, 0),
                    clean::Scan::UrlFillingIds => pass.url_once(value, true, 0),
                    clean::Scan::Query => pass.query_once(value),
                };
                assert!(matches!(out, Cow::Borrowed(_)), "{scan:?} {value:?} -> {out:?}");
                assert_eq!(pass.counts.total() + pass.ids.fill_attempts, 0, "{scan:?} {value:?}");
            }
        }
        // Both answers were given often: the proof is no blanket yes or no.
        assert!(proved > 1_000 && not_proved > 1_000, "{proved} {not_proved}");
        // And secrets are never proved clean, whatever the scan.
        for secret in ["4111 1111 1111 1111", JWT, "password:hunter2", "https://u:p@h/", "a?key=x"]
        {
            for scan in scans {
                assert!(!text::finds_nothing(secret.as_bytes(), scan), "{scan:?} {secret}");
            }
        }
    }

    #[test]
    fn a_repeated_field_redacts_as_when_scanned_on_its_own() {
        let r = Redactor::new([3; 32]);
        let mut values = value_pool();
        values.extend(near_misses());
        values.push(format!("sid {}", r.pseudonym("ses", "abc")));
        for v in &values {
            let alone = EventData { user_name: Some(v.clone().into()), ..EventData::default() };
            let (alone, alone_counts) = Redactor::new([3; 32]).redact_counted(alone);
            let both = EventData {
                user_name: Some(v.clone().into()),
                user_id: Some(v.clone().into()),
                ..EventData::default()
            };
            for redactor in [&r, &Redactor::new([3; 32])] {
                let (got, counts) = redactor.redact_counted(both.clone());
                let got = got.data();
                assert_eq!(got.user_name, alone.data().user_name, "{v:?}");
                assert_eq!(got.user_id, alone.data().user_name, "{v:?}");
                assert_eq!(counts.total(), 2 * alone_counts.total(), "{v:?}");
                assert_eq!(
                    (&got.token_id, &got.api_key_id, &got.session_id),
                    (&alone.data().token_id, &alone.data().api_key_id, &alone.data().session_id),
                    "{v:?}"
                );
            }
        }
    }

    #[test]
    fn redactor_debug_hides_remembered_values() {
        let r = Redactor::new([6; 32]);
        let ev = kong_like("curl/8.5.0 (x86_64)", "api.example.com", "https://a.example/p?q=1");
        r.redact(ev);
        assert!(r.clean.lock().is_some_and(|c| c.len() > 0));
        let shown = format!("{r:?}");
        assert_eq!(shown, "Redactor { key: <hidden> }");
    }

    #[test]
    fn authorization_keeps_the_scheme_and_hides_the_credentials() {
        let r = Redactor::new([7; 32]);
        let tok = r.pseudonym("tok", "abc.def");
        let raw = r.pseudonym("tok", "rawtoken");
        let kept = "tok_0123456789abcdef";
        // (value, redacted, named finds, the token id it fills)
        let cases = [
            ("Bearer abc.def", format!("Bearer {tok}"), 1, Some(&tok)),
            ("  token  abc.def \t", format!("  token  {tok} \t"), 1, Some(&tok)),
            (
                "Basic dXNlcjpwYXNz",
                format!("Basic {}", r.pseudonym("pwd", "dXNlcjpwYXNz")),
                1,
                None,
            ),
            ("Digest a=b, c=d ", format!("Digest {} ", r.pseudonym("cred", "a=b, c=d")), 1, None),
            (" rawtoken", format!(" {raw}"), 1, Some(&raw)),
            ("Bearer", "Bearer".to_owned(), 0, None),
            ("Bearer ****", "Bearer ****".to_owned(), 0, None),
            ("Bearer tok_0123456789abcdef", format!("Bearer {kept}"), 0, Some(&kept.to_owned())),
        ];
        for (value, expected, named, token_id) in &cases {
            for set_ids in [false, true] {
                let mut pass = Pass::new(&r, Ids::default());
                let out = pass.authorization(value, set_ids);
                assert_eq!(out, *expected, "{value:?}");
                assert_eq!(matches!(out, Cow::Owned(_)), *named == 1, "{value:?}");
                assert_eq!(pass.counts, RedactionCounts { named: *named, ..Default::default() });
                let filled = pass.ids.token_id.as_deref();
                assert_eq!(
                    filled,
                    token_id.as_ref().map(|t| t.as_str()).filter(|_| set_ids),
                    "{value:?}"
                );
            }
        }
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
