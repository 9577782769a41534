//! Signs of excessive data exposure in response bodies (OWASP API3:2023): how many card
//! numbers, SSNs, IBANs, e-mail addresses and configured identity numbers a body holds.
//! Only kinds and counts leave this module; the values are looked at and forgotten.

mod digits;
mod email;
mod iban;

use super::config::ExposureConfig;
use super::error::Problems;
use super::ExposureKind;
use regex::bytes::{Regex, RegexBuilder};
use std::hash::BuildHasher;
use std::sync::Arc;

/// Identity-number patterns allowed; each is a pass over the body.
pub(super) const NATIONAL_ID_PATTERNS_MAX: usize = 32;
/// Compiled size allowed per pattern, in bytes: enough for any identity-number pattern, and
/// it stops a pattern like `\w{1000}{1000}` from taking memory and build time.
pub(super) const REGEX_COMPILED_BYTES_MAX: usize = 1024 * 1024;
/// Largest `many_emails_min`: distinct addresses are remembered up to it.
pub(super) const MANY_EMAILS_MIN_LIMIT: u32 = 10_000;

/// A validated exposure configuration.
#[derive(Debug)]
pub(super) struct ExposureRules {
    cards: bool,
    ssn: bool,
    iban: bool,
    emails: bool,
    many_emails_min: u32,
    national_ids: Vec<(Arc<str>, Regex)>,
}

/// What one body shows.
pub(super) struct Exposure {
    pub(super) counts: Vec<(ExposureKind, u32)>,
    pub(super) many_emails: bool,
}

impl ExposureRules {
    /// Validates `cfg`, reporting problems under `exposure.`.
    pub(super) fn build(cfg: &ExposureConfig, problems: &mut Problems) -> ExposureRules {
        if cfg.many_emails_min == 0 || cfg.many_emails_min > MANY_EMAILS_MIN_LIMIT {
            problems.push(
                "exposure.many_emails_min",
                format!("must be between 1 and {MANY_EMAILS_MIN_LIMIT}"),
            );
        }
        if cfg.national_ids.len() > NATIONAL_ID_PATTERNS_MAX {
            problems.push(
                "exposure.national_ids",
                format!("more than {NATIONAL_ID_PATTERNS_MAX} patterns"),
            );
        }
        let builtin = ["card_number", "us_ssn", "iban", "email"];
        let mut national_ids: Vec<(Arc<str>, Regex)> = Vec::new();
        for (n, id) in cfg.national_ids.iter().enumerate() {
            let at = format!("exposure.national_ids[{n}]");
            let name = id.name.as_str();
            let name_ok = !name.is_empty()
                && name.len() <= 64
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !name_ok {
                problems.push(
                    format!("{at}.name"),
                    format!("{name:?} must be 1–64 letters, digits, `_` or `-`"),
                );
            } else if builtin.contains(&name) || national_ids.iter().any(|(k, _)| &**k == name) {
                problems.push(format!("{at}.name"), format!("{name:?} is already used"));
            }
            let regex = RegexBuilder::new(&id.pattern)
                .size_limit(REGEX_COMPILED_BYTES_MAX)
                .build()
                .map_err(|e| problems.push(format!("{at}.pattern"), e.to_string()))
                .ok();
            if let (Some(regex), true) = (regex, name_ok) {
                national_ids.push((Arc::from(name), regex));
            }
        }
        ExposureRules {
            cards: cfg.card_numbers,
            ssn: cfg.us_ssn,
            iban: cfg.iban,
            emails: cfg.emails,
            many_emails_min: cfg.many_emails_min,
            national_ids,
        }
    }

    /// Counts what `body` shows, in one pass for numbers and IBANs, one for addresses and one
    /// per configured pattern.
    pub(super) fn scan(&self, body: &[u8]) -> Exposure {
        let (mut cards, mut ssns, mut ibans) = (0u32, 0u32, 0u32);
        if self.cards || self.ssn || self.iban {
            let mut i = 0;
            while i < body.len() {
                let b = body[i];
                if !b.is_ascii_alphanumeric() {
                    i += 1;
                    continue;
                }
                let alone = i == 0 || !digits::joins(body[i - 1]);
                if alone && b.is_ascii_digit() && (self.cards || self.ssn) {
                    let (run, end) = digits::judge_run(body, i);
                    match run {
                        digits::Run::Card if self.cards => cards += 1,
                        digits::Run::Ssn if self.ssn => ssns += 1,
                        _ => {}
                    }
                    i = end;
                    continue;
                }
                if alone && b.is_ascii_uppercase() && self.iban {
                    if let Some(end) = iban::match_at(body, i) {
                        ibans += 1;
                        i = end;
                        continue;
                    }
                }
                // The rest of this word cannot start anything.
                i += 1;
                while i < body.len() && (body[i].is_ascii_alphanumeric() || body[i] == b'_') {
                    i += 1;
                }
            }
        }
        let (mut emails, mut many_emails) = (0u32, false);
        if self.emails {
            // Distinct addresses, by hash: a page of orders all naming the shop's support
            // address is not a list of customers. Remembered only up to the threshold.
            let hasher = foldhash::fast::FixedState::with_seed(0x6170_6977_6174_6368);
            let mut distinct = hashbrown::HashSet::new();
            email::for_each(body, |address| {
                emails = emails.saturating_add(1);
                if distinct.len() < self.many_emails_min as usize {
                    distinct.insert(hasher.hash_one(address.to_ascii_lowercase()));
                }
            });
            many_emails = distinct.len() >= self.many_emails_min as usize;
        }
        let mut counts = Vec::new();
        for (kind, count) in [
            (ExposureKind::CardNumber, cards),
            (ExposureKind::UsSsn, ssns),
            (ExposureKind::Iban, ibans),
            (ExposureKind::Email, emails),
        ] {
            if count > 0 {
                counts.push((kind, count));
            }
        }
        for (name, regex) in &self.national_ids {
            let count = regex.find_iter(body).count();
            if count > 0 {
                let count = u32::try_from(count).unwrap_or(u32::MAX);
                counts.push((ExposureKind::NationalId(Arc::clone(name)), count));
            }
        }
        Exposure { counts, many_emails }
    }
}
