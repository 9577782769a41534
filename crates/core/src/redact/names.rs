//! The secret-name rule: which query parameter, header, cookie, label and `name=value` /
//! `"name": value` names hold secrets, and what kind of secret.
//!
//! A name is cut into words at every byte that is not an ASCII letter or digit and where a
//! lower-case letter is followed by an upper-case one (`accessToken` → `access`, `token`).
//! The name is secret when one of its words
//! - is a secret word (`password`, `pwd`, `pass`, `token`, `jwt`, `auth`, `key`, `apikey`,
//!   `secret`, `session`, `sid`, `signature`, `sig`, `otp`, `credential`, `cvv`, …), or
//! - is a run-together compound ending with a long secret stem (`refreshtoken`,
//!   `clientsecret`, `jsessionid`, `phpsessid`, `xapikey`, `newpassword`) or one of a few
//!   listed `…key` compounds (`accesskey`, `privatekey`).
//!
//! Words are never looked for inside other words: `monkey`, `keyboard`, `author`, `passenger`,
//! `design`, `tokenizer`, `possession` are not secret names. `code` is secret alone (OAuth's
//! `?code=`) or next to a word that makes it a one-time code (`auth_code`, `otp_code`,
//! `verification_code`, `resetcode`), so that `country_code` and `status_code` stay readable.
//!
//! The rule errs on the side of hiding: `sort_key` or `token_type` are pseudonymised too. A
//! pseudonym costs a reader little; a leaked secret cannot be taken back.

/// What a secret is, which decides the pseudonym's prefix. Ordered by precedence: a name with
/// several secret words takes the first (`session_token` is a token, `secret_key` a key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Secret {
    Password,
    Key,
    Card,
    Code,
    Token,
    Session,
    Signature,
    Other,
}

impl Secret {
    /// The pseudonym prefix for this kind of secret.
    pub(super) fn kind(self) -> &'static str {
        match self {
            Secret::Password => "pwd",
            Secret::Key => "key",
            Secret::Card => "card",
            Secret::Code => "code",
            Secret::Token => "tok",
            Secret::Session => "ses",
            Secret::Signature => "sig",
            Secret::Other => "sec",
        }
    }
}

/// Longest word compared with the lists; longer words are never secret words (the longest
/// listed is 16 bytes, and a compound stem is at most 11).
const WORD_BYTES_MAX: usize = 40;

/// Calls `f` with each word of `name`, lower-cased.
fn for_each_word(name: &[u8], mut f: impl FnMut(&[u8])) {
    let mut buf = [0u8; WORD_BYTES_MAX];
    let mut len = 0usize;
    let mut too_long = false;
    let mut prev_lower = false;
    for &c in name {
        let alnum = c.is_ascii_alphanumeric();
        if !alnum || (prev_lower && c.is_ascii_uppercase()) {
            if len > 0 && !too_long {
                f(&buf[..len]);
            }
            len = 0;
            too_long = false;
        }
        if alnum {
            if len < WORD_BYTES_MAX {
                buf[len] = c.to_ascii_lowercase();
                len += 1;
            } else {
                too_long = true;
            }
        }
        prev_lower = c.is_ascii_lowercase();
    }
    if len > 0 && !too_long {
        f(&buf[..len]);
    }
}

/// Whether `name` has `word` (lower-case) among its words.
pub(super) fn has_word(name: &[u8], word: &[u8]) -> bool {
    has_word_where(name, |w| w == word)
}

fn word_class(w: &[u8]) -> Option<Secret> {
    let class = match w {
        b"password" | b"passwd" | b"pwd" | b"pw" | b"pass" | b"passphrase" | b"passcode" => {
            Secret::Password
        }
        b"key" | b"apikey" | b"accesskey" | b"secretkey" | b"privatekey" | b"authkey"
        | b"appkey" | b"clientkey" | b"sessionkey" | b"signingkey" | b"masterkey"
        | b"subscriptionkey" | b"licensekey" | b"encryptionkey" => Secret::Key,
        b"cvv" | b"cvc" | b"cvv2" | b"cvc2" | b"csc" | b"cardnumber" | b"ccnumber" | b"ccnum"
        | b"creditcard" | b"creditcardnumber" => Secret::Card,
        b"otp" | b"totp" | b"hotp" | b"verifier" => Secret::Code,
        b"token" | b"jwt" | b"auth" | b"authorization" | b"authentication" | b"bearer" => {
            Secret::Token
        }
        b"session" | b"sid" | b"sessionid" | b"sessid" => Secret::Session,
        b"signature" | b"sig" => Secret::Signature,
        b"secret" | b"credential" | b"credentials" => Secret::Other,
        _ => return compound_class(w),
    };
    Some(class)
}

/// Run-together names (`refreshtoken`, `clientsecret`): only long stems that no ordinary
/// English word ends with, so that `monkey` or `possession` stay ordinary.
fn compound_class(w: &[u8]) -> Option<Secret> {
    let ends = |stems: &[&[u8]]| stems.iter().any(|s| w.ends_with(s));
    if w.starts_with(b"password") || w.starts_with(b"passwd") {
        return Some(Secret::Password);
    }
    // Dispatch on the last byte: this runs for every ordinary word of every name.
    let class = match w.last()? {
        b'd' if ends(&[b"password", b"passwd", b"pwd"]) => Secret::Password,
        b'd' if ends(&[b"sessionid", b"sessid"]) => Secret::Session,
        b'e' if ends(&[b"passphrase", b"passcode"]) => Secret::Password,
        b'e' if w.strip_suffix(b"code").is_some_and(is_code_qualifier) => Secret::Code,
        b'e' if ends(&[b"signature"]) => Secret::Signature,
        b'y' if ends(&[b"apikey"]) => Secret::Key,
        b'n' if ends(&[b"token"]) => Secret::Token,
        b't' if ends(&[b"jwt"]) => Secret::Token,
        b't' if ends(&[b"secret"]) => Secret::Other,
        b'l' | b's' if ends(&[b"credential", b"credentials"]) => Secret::Other,
        _ => return None,
    };
    Some(class)
}

/// Words that make a neighbouring `code` a one-time secret (`auth_code`, `sms_code`).
fn is_code_qualifier(w: &[u8]) -> bool {
    matches!(
        w,
        b"auth"
            | b"authorization"
            | b"otp"
            | b"mfa"
            | b"totp"
            | b"2fa"
            | b"twofactor"
            | b"verification"
            | b"verify"
            | b"reset"
            | b"recovery"
            | b"activation"
            | b"confirmation"
            | b"confirm"
            | b"login"
            | b"device"
            | b"sms"
            | b"security"
            | b"access"
            | b"backup"
            | b"magic"
    )
}

/// The kind of secret a name holds, or `None` for an ordinary name (see the module doc).
pub(super) fn classify(name: &[u8]) -> Option<Secret> {
    // Most names are one lower-case word (`page`, `limit`, `q`): no splitting, no copy.
    if name.iter().all(u8::is_ascii_lowercase) {
        return match name {
            b"code" => Some(Secret::Code),
            b"" => None,
            word => word_class(word),
        };
    }
    let mut best: Option<Secret> = None;
    let mut words = 0u32;
    let mut has_code = false;
    // The previous word, for pairs: `card_number`, `cc_num`, `credit_card`.
    let (mut prev_card, mut prev_credit) = (false, false);
    for_each_word(name, |w| {
        words += 1;
        let mut class = word_class(w);
        if (prev_card && matches!(w, b"number" | b"num" | b"no")) || (prev_credit && w == b"card") {
            class = Some(Secret::Card);
        }
        has_code |= w == b"code";
        if let Some(c) = class {
            best = Some(best.map_or(c, |b| b.min(c)));
        }
        prev_card = matches!(w, b"card" | b"cc");
        prev_credit = w == b"credit";
    });
    // Rare enough (a name with the word `code`) to look at the words once more.
    if has_code && (words == 1 || has_word_where(name, is_code_qualifier)) {
        best = Some(best.map_or(Secret::Code, |b| b.min(Secret::Code)));
    }
    best
}

fn has_word_where(name: &[u8], f: impl Fn(&[u8]) -> bool) -> bool {
    let mut found = false;
    for_each_word(name, |w| found |= f(w));
    found
}

/// Like [`classify`], for a name as it appears in a query string (percent-encoded, `+` for
/// space).
pub(super) fn classify_encoded(name: &[u8]) -> Option<Secret> {
    if !name.iter().any(|&c| c == b'%' || c == b'+') {
        return classify(name);
    }
    classify(&super::url::percent_decode(name, true))
}

/// Longest name whose letters and digits are compared as one run (`x-api-key` → `xapikey`).
const JOINED_BYTES_MAX: usize = 48;

/// The ASCII letters and digits of `name`, lower-cased, or `None` when there are too many.
fn joined_lower(name: &[u8], buf: &mut [u8; JOINED_BYTES_MAX]) -> Option<usize> {
    let mut n = 0;
    for &c in name.iter().filter(|c| c.is_ascii_alphanumeric()) {
        *buf.get_mut(n)? = c.to_ascii_lowercase();
        n += 1;
    }
    Some(n)
}

/// Which event id a query parameter identifies, besides being a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum IdSlot {
    /// `token.id`.
    Token,
    /// `api_key.id`.
    ApiKey,
    /// `session.id`.
    Session,
}

/// `api_key`, `apikey`, `key` name the request's API key; `access_token`, `token`,
/// `auth_token` its bearer token (OAuth 2.0 allows `access_token` in the query, RFC 6750).
pub(super) fn query_id_slot(decoded_name: &[u8]) -> Option<IdSlot> {
    let mut buf = [0u8; JOINED_BYTES_MAX];
    let n = joined_lower(decoded_name, &mut buf)?;
    match &buf[..n] {
        b"apikey" | b"key" | b"xapikey" => Some(IdSlot::ApiKey),
        b"accesstoken" | b"token" | b"authtoken" => Some(IdSlot::Token),
        _ => None,
    }
}

/// How a header's (or a label's) value is redacted, decided by its name alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NameRule {
    /// `scheme credentials`: the scheme is kept, the credentials become a pseudonym.
    Authorization,
    /// `name=value; name=value`: names kept, every value a pseudonym.
    Cookie,
    /// `name=value; attributes`: the first value a pseudonym, attributes kept.
    SetCookie,
    /// An API key header: the whole value is the key.
    ApiKey,
    /// A secret by the name rule: the whole value becomes a pseudonym.
    Secret(Secret),
    /// A URL: secret query parameters, then the free-text scan.
    Url,
    /// Anything else: the free-text scan.
    Plain,
}

/// API key headers that the name rule alone would call tokens (`x-auth-token`) or not see.
const API_KEY_HEADERS: &[&[u8]] = &[
    b"xapikey",
    b"apikey",
    b"xauthtoken",
    b"xaccesstoken",
    b"xapitoken",
    b"ocpapimsubscriptionkey",
    b"xfunctionskey",
];

/// The rule for a request header, by its (lower-case) name.
#[cfg(test)]
pub(super) fn header_rule(name: &[u8]) -> NameRule {
    header_rule_and_scan(name).0
}

fn header_rule_by_words(name: &[u8]) -> NameRule {
    let mut buf = [0u8; JOINED_BYTES_MAX];
    if let Some(n) = joined_lower(name, &mut buf) {
        let joined = &buf[..n];
        match joined {
            b"cookie" | b"cookie2" => return NameRule::Cookie,
            b"setcookie" | b"setcookie2" => return NameRule::SetCookie,
            _ => {}
        }
        if has_word(name, b"authorization") {
            return NameRule::Authorization;
        }
        if API_KEY_HEADERS.contains(&joined) || joined.ends_with(b"apikey") {
            return NameRule::ApiKey;
        }
    }
    if has_word(name, b"authorization") {
        return NameRule::Authorization;
    }
    if let Some(class) = classify(name) {
        return NameRule::Secret(class);
    }
    if is_url_name(name) {
        return NameRule::Url;
    }
    NameRule::Plain
}

/// The rule for a label: as for a header of that name, except that a label is never taken
/// for the request's own API key.
pub(super) fn label_rule(name: &[u8]) -> NameRule {
    match common(name) {
        Some(known) => known.label_rule,
        None => label_rule_of(name, header_rule_by_words(name)),
    }
}

fn label_rule_of(name: &[u8], header_rule: NameRule) -> NameRule {
    match header_rule {
        NameRule::ApiKey => NameRule::Secret(classify(name).unwrap_or(Secret::Key)),
        rule => rule,
    }
}

/// The rule for a request header, by its (lower-case) name, and whether the free-text scan may
/// find a secret in the name itself: only the common names are known to hold none.
pub(super) fn header_rule_and_scan(name: &[u8]) -> (NameRule, bool) {
    match common(name) {
        Some(known) => (known.header_rule, known.name_holds_secret),
        None => (header_rule_by_words(name), true),
    }
}

/// Header and label names found on most events. Their rules are worked out once, by the same
/// functions as for any other name, and then looked up: splitting a name into words costs more
/// than the rest of a header's redaction, and a Kong request carries half a dozen headers.
const COMMON_NAMES: &[&str] = &[
    // Request headers.
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "authorization",
    "cache-control",
    "connection",
    "content-encoding",
    "content-length",
    "content-type",
    "cookie",
    "dnt",
    "forwarded",
    "host",
    "if-modified-since",
    "if-none-match",
    "origin",
    "pragma",
    "priority",
    "proxy-authorization",
    "referer",
    "sec-ch-ua",
    "sec-ch-ua-mobile",
    "sec-ch-ua-platform",
    "sec-fetch-dest",
    "sec-fetch-mode",
    "sec-fetch-site",
    "sec-fetch-user",
    "te",
    "traceparent",
    "tracestate",
    "upgrade-insecure-requests",
    "user-agent",
    "via",
    "x-amzn-trace-id",
    "x-api-key",
    "x-correlation-id",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-proto",
    "x-real-ip",
    "x-request-id",
    "x-requested-with",
    // Labels the decoders and enrichment write.
    "client.address",
    "exposure_card_number",
    "exposure_email",
    "exposure_iban",
    "exposure_many_emails",
    "exposure_us_ssn",
    "gateway_outcome",
    "kong.authenticated_entity",
    "kong.consumer_id",
    "kong.request_id",
    "kong.route",
    "kong.workspace",
    "openapi.undocumented",
    "openapi.undocumented_method",
    "request_id",
    "source.peer_ip",
    "source.peer_port",
    "upstream_response_time",
];

/// What is known of a common name.
#[derive(Clone, Copy, Debug)]
struct Common {
    header_rule: NameRule,
    label_rule: NameRule,
    name_holds_secret: bool,
}

/// Slots of the open-addressing table over [`COMMON_NAMES`] (a power of two, a few times
/// their number, so that a look-up seldom probes twice).
const COMMON_SLOTS: usize = 256;

struct CommonTable {
    /// Index into `entries` plus one; 0 for an empty slot.
    slots: [u8; COMMON_SLOTS],
    entries: Vec<Common>,
}

static COMMON: std::sync::LazyLock<CommonTable> = std::sync::LazyLock::new(|| {
    // The scan's finds do not depend on the key: any redactor tells whether it finds any.
    let redactor = super::Redactor::new([0; 32]);
    let mut table = CommonTable { slots: [0; COMMON_SLOTS], entries: Vec::new() };
    for name in COMMON_NAMES {
        let b = name.as_bytes();
        let header_rule = header_rule_by_words(b);
        let mut found = Vec::new();
        super::text::scan(&redactor, name, &mut found);
        table.entries.push(Common {
            header_rule,
            label_rule: label_rule_of(b, header_rule),
            name_holds_secret: !found.is_empty(),
        });
        let mut slot = common_slot(b);
        while table.slots[slot] != 0 {
            slot = (slot + 1) % COMMON_SLOTS;
        }
        table.slots[slot] = u8::try_from(table.entries.len()).expect("fewer than 255 names");
    }
    table
});

fn common_slot(name: &[u8]) -> usize {
    let (Some(&first), Some(&last)) = (name.first(), name.last()) else { return 0 };
    let middle = name[name.len() / 2];
    (name.len() * 97 + usize::from(first) * 31 + usize::from(middle) * 7 + usize::from(last))
        % COMMON_SLOTS
}

fn common(name: &[u8]) -> Option<Common> {
    let table = &*COMMON;
    let mut slot = common_slot(name);
    loop {
        let index = usize::from(table.slots[slot].checked_sub(1)?);
        if COMMON_NAMES[index].as_bytes() == name {
            return Some(table.entries[index]);
        }
        slot = (slot + 1) % COMMON_SLOTS;
    }
}

/// Names whose values are URLs or request lines (`referer`, `request_uri`, `location`).
fn is_url_name(name: &[u8]) -> bool {
    let mut url = false;
    for_each_word(name, |w| {
        url |= matches!(
            w,
            b"url"
                | b"uri"
                | b"referer"
                | b"referrer"
                | b"location"
                | b"href"
                | b"redirect"
                | b"request"
                | b"path"
                | b"link"
        ) || w.ends_with(b"url")
            || w.ends_with(b"uri");
    });
    url
}

/// Cookie names that carry a session: `session`, `sessionid`, `sid`, `jsessionid`,
/// `phpsessid`, `connect.sid`, `_session`, and any name containing `session`.
pub(super) fn is_session_cookie(name: &[u8]) -> bool {
    if name.windows(7).any(|w| w.eq_ignore_ascii_case(b"session")) {
        return true;
    }
    let mut found = false;
    for_each_word(name, |w| found |= w == b"sid" || w.ends_with(b"sessid"));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_as_words_not_substrings() {
        let secret = [
            ("password", Secret::Password),
            ("user[password]", Secret::Password),
            ("password_confirmation", Secret::Password),
            ("newPassword", Secret::Password),
            ("pwd", Secret::Password),
            ("api_key", Secret::Key),
            ("x-api-key", Secret::Key),
            ("apiKey", Secret::Key),
            ("APIKEY", Secret::Key),
            ("secret_key", Secret::Key),
            ("key", Secret::Key),
            ("client_secret", Secret::Other),
            ("clientSecret", Secret::Other),
            ("refresh_token", Secret::Token),
            ("id_token", Secret::Token),
            ("accesstoken", Secret::Token),
            ("csrftoken", Secret::Token),
            ("auth", Secret::Token),
            ("jsessionid", Secret::Session),
            ("PHPSESSID", Secret::Session),
            ("connect.sid", Secret::Session),
            ("session_token", Secret::Token),
            ("X-Amz-Signature", Secret::Signature),
            ("sig", Secret::Signature),
            ("code", Secret::Code),
            ("auth_code", Secret::Code),
            ("verificationCode", Secret::Code),
            ("code_verifier", Secret::Code),
            ("otp", Secret::Code),
            ("card_number", Secret::Card),
            ("cvv", Secret::Card),
            ("X-Amz-Credential", Secret::Other),
        ];
        for (name, want) in secret {
            assert_eq!(classify(name.as_bytes()), Some(want), "{name}");
        }
        let ordinary = [
            "monkey",
            "keyboard",
            "author",
            "authority",
            "passenger",
            "compass",
            "design",
            "signal",
            "tokenizer",
            "possession",
            "country_code",
            "status_code",
            "zipcode",
            "code_challenge",
            "secretary",
            "page",
            "q",
            "side",
            "",
        ];
        for name in ordinary {
            assert_eq!(classify(name.as_bytes()), None, "{name}");
        }
    }

    #[test]
    fn query_names_are_percent_decoded() {
        assert_eq!(classify_encoded(b"api%5Fkey"), Some(Secret::Key));
        assert_eq!(classify_encoded(b"user%5Bpassword%5D"), Some(Secret::Password));
        assert_eq!(classify_encoded(b"mon%6Bey"), None);
    }

    #[test]
    fn header_rules() {
        assert_eq!(header_rule(b"authorization"), NameRule::Authorization);
        assert_eq!(header_rule(b"proxy-authorization"), NameRule::Authorization);
        assert_eq!(header_rule(b"cookie"), NameRule::Cookie);
        assert_eq!(header_rule(b"set-cookie"), NameRule::SetCookie);
        assert_eq!(header_rule(b"x-api-key"), NameRule::ApiKey);
        assert_eq!(header_rule(b"x-auth-token"), NameRule::ApiKey);
        assert_eq!(header_rule(b"x-goog-api-key"), NameRule::ApiKey);
        assert_eq!(header_rule(b"x-csrf-token"), NameRule::Secret(Secret::Token));
        assert_eq!(header_rule(b"x-hub-signature-256"), NameRule::Secret(Secret::Signature));
        assert_eq!(header_rule(b"referer"), NameRule::Url);
        assert_eq!(header_rule(b"x-original-uri"), NameRule::Url);
        assert_eq!(header_rule(b":authority"), NameRule::Plain);
        assert_eq!(header_rule(b"user-agent"), NameRule::Plain);
        assert_eq!(header_rule(b"keep-alive"), NameRule::Plain);
        assert_eq!(label_rule(b"x-api-key"), NameRule::Secret(Secret::Key));
    }

    #[test]
    fn common_names_are_found_with_the_rules_their_words_give() {
        assert!(COMMON_NAMES.len() < COMMON_SLOTS / 2);
        for name in COMMON_NAMES {
            let b = name.as_bytes();
            let known = common(b).unwrap_or_else(|| panic!("{name} is not found"));
            assert_eq!(known.header_rule, header_rule_by_words(b), "{name}");
            assert_eq!(header_rule(b), header_rule_by_words(b), "{name}");
            assert_eq!(label_rule(b), label_rule_of(b, header_rule_by_words(b)), "{name}");
        }
        assert_eq!(header_rule(b"authorization"), NameRule::Authorization);
        assert_eq!(header_rule(b"referer"), NameRule::Url);
        assert_eq!(label_rule(b"x-api-key"), NameRule::Secret(Secret::Key));
        for other in ["hosts", "Host", "x-api-keys", "", "a", "kong.routes", "user-agen"] {
            assert!(common(other.as_bytes()).is_none(), "{other}");
        }
        assert_eq!(header_rule_and_scan(b"user-agent"), (NameRule::Plain, false));
        assert!(header_rule_and_scan(b"x-token=abcdef").1);
    }

    #[test]
    fn session_cookies() {
        for name in ["session", "sessionid", "sid", "JSESSIONID", "PHPSESSID", "connect.sid"] {
            assert!(is_session_cookie(name.as_bytes()), "{name}");
        }
        for name in ["_session", "laravel_session", "ASP.NET_SessionId", "__Host-session"] {
            assert!(is_session_cookie(name.as_bytes()), "{name}");
        }
        for name in ["theme", "lang", "side", "_ga"] {
            assert!(!is_session_cookie(name.as_bytes()), "{name}");
        }
    }
}
