//! Values in configuration text: `${ENV}` references, durations (`90s`, `15m`, `1h`, `30d`)
//! and sizes (`512MiB`, `10GB`, a bare number of bytes).

/// Expands `${NAME}` from the environment; `$${` is a literal `${`. The error names the
/// variable, never a value (values are often secrets).
pub fn expand_env(text: &str) -> Result<String, String> {
    expand_with(text, |name| std::env::var(name).ok())
}

/// [`expand_env`] with the variables looked up by `lookup` (tests pass their own).
pub fn expand_with(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let Some(end) = after.find('}') else {
                return Err("`${` without its closing `}`".to_string());
            };
            let name = &after[..end];
            let valid = !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !name.as_bytes()[0].is_ascii_digit();
            if !valid {
                return Err(format!("`${{{name}}}` is not an environment variable name"));
            }
            match lookup(name) {
                Some(v) => out.push_str(&v),
                None => return Err(format!("environment variable `{name}` is not set")),
            }
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Parses `250ms`, `90s`, `15m`, `1h`, `30d`, `2w` into milliseconds.
pub fn parse_duration_ms(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let (n, unit) = t.split_at(digits);
    let n: i64 = n
        .parse()
        .map_err(|_| format!("expected a duration such as `30s`, `1h` or `7d`, found `{t}`"))?;
    let ms_per: i64 = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        "" => return Err(format!("`{t}`: give a unit (ms, s, m, h, d or w)")),
        u => return Err(format!("`{u}` is not a duration unit (ms, s, m, h, d or w)")),
    };
    n.checked_mul(ms_per).ok_or_else(|| format!("`{t}` is too long"))
}

/// Parses `4096`, `64KiB`, `512MiB`, `10GiB`, `10GB` (powers of ten for kB/MB/GB/TB).
pub fn parse_size_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let (n, unit) = t.split_at(digits);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("expected a size such as `512MiB` or `10GB`, found `{t}`"))?;
    let per: u64 = match unit.trim() {
        "" | "B" => 1,
        "kB" | "KB" => 1_000,
        "KiB" => 1 << 10,
        "MB" => 1_000_000,
        "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "GiB" => 1 << 30,
        "TB" => 1_000_000_000_000,
        "TiB" => 1 << 40,
        u => {
            return Err(format!("`{u}` is not a size unit (B, KiB, MiB, GiB, TiB, kB, MB, GB, TB)"))
        }
    };
    n.checked_mul(per).ok_or_else(|| format!("`{t}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cr3t".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_references_and_keeps_the_rest() {
        assert_eq!(expand_with("a ${TOKEN} b", env).unwrap(), "a s3cr3t b");
        assert_eq!(expand_with("${TOKEN}${EMPTY}${TOKEN}", env).unwrap(), "s3cr3ts3cr3t");
        assert_eq!(expand_with("cost $5, $${TOKEN}", env).unwrap(), "cost $5, ${TOKEN}");
        assert_eq!(expand_with("no refs", env).unwrap(), "no refs");
    }

    #[test]
    fn reference_errors_name_the_variable_not_a_value() {
        assert_eq!(
            expand_with("${MISSING}", env).unwrap_err(),
            "environment variable `MISSING` is not set"
        );
        assert!(expand_with("${TOKEN", env).unwrap_err().contains("closing"));
        assert!(expand_with("${1X}", env)
            .unwrap_err()
            .contains("not an environment variable name"));
        assert!(!expand_with("${TOKEN}${MISSING}", env).unwrap_err().contains("s3cr3t"));
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration_ms("250ms"), Ok(250));
        assert_eq!(parse_duration_ms("90s"), Ok(90_000));
        assert_eq!(parse_duration_ms("1h"), Ok(3_600_000));
        assert_eq!(parse_duration_ms("30d"), Ok(30 * 86_400_000));
        assert!(parse_duration_ms("30").unwrap_err().contains("unit"));
        assert!(parse_duration_ms("1y").unwrap_err().contains("not a duration unit"));
        assert!(parse_duration_ms("h").is_err());
        assert_eq!(parse_size_bytes("4096"), Ok(4096));
        assert_eq!(parse_size_bytes("64KiB"), Ok(65_536));
        assert_eq!(parse_size_bytes("10GB"), Ok(10_000_000_000));
        assert_eq!(parse_size_bytes("512 MiB"), Ok(512 << 20));
        assert!(parse_size_bytes("5XB").is_err());
        assert!(parse_size_bytes("99999999999999TiB").unwrap_err().contains("too large"));
    }
}
