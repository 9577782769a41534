//! The marker substrings that classify user agents, by kind. The CRS scanner list is embedded
//! as published; everything else is ours.

/// What a marker says about the agent that contains it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Marker {
    Scanner,
    Monitor,
    SearchBot,
    /// Components only native apps send (`Dalvik/`, `CFNetwork/`, `Alamofire`).
    MobileApp,
    Library,
    /// A crawler convention (`bot/`, `crawler`, a URL in the agent) without a known name.
    GenericBot,
    /// A rendering engine token a browser sends (`AppleWebKit/`, `Gecko/`, `Trident/`).
    BrowserEngine,
    /// A mobile platform name (`iPhone`, `Android`): an app when nothing says browser.
    MobileHint,
}

impl Marker {
    pub(crate) fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// OWASP CRS `scanners-user-agents.data` (see `data/SOURCES.md`).
const CRS_SCANNERS: &str = include_str!("../../data/scanners-user-agents.data");

/// Scanners and attack tools the CRS list leaves out or names differently, and Log4Shell-style
/// lookup probes, which only attackers put in a user agent (plain `${` is not here: unexpanded
/// build variables such as `MyApp/${version}` are common in real apps).
const EXTRA_SCANNERS: &[&str] = &[
    "sqlmap",
    "nikto",
    "nuclei",
    "masscan",
    "zgrab",
    "wpscan",
    "gobuster",
    "dirbuster",
    "feroxbuster",
    "ffuf",
    "wfuzz",
    "acunetix",
    "netsparker",
    "nessus",
    "openvas",
    "nmap",
    "hydra",
    "burp",
    "zap",
    "dirsearch",
    "jaeles",
    "xray",
    "arachni",
    "commix",
    "${jndi",
    "${${",
    "${::-",
    "${lower:",
    "${upper:",
    "${env:",
];

const MONITORS: &[&str] = &[
    "kube-probe/",
    "ELB-HealthChecker",
    "GoogleHC/",
    "Pingdom",
    "UptimeRobot",
    "Datadog",
    "StatusCake",
    "Consul Health Check",
    "Blackbox Exporter",
    "Prometheus/",
    "nagios",
    "check_http/",
    "Zabbix",
    "Site24x7",
    "NewRelicPinger",
    "Uptime-Kuma",
    "Better Uptime",
    "Amazon-Route53-Health-Check-Service",
    "GoogleStackdriverMonitoring",
    "Envoy/HC",
    "Checkly",
    "Icinga",
    "Catchpoint",
    "ThousandEyes",
];

const SEARCH_BOTS: &[&str] = &[
    "Googlebot",
    "Google-InspectionTool",
    "AdsBot-Google",
    "Mediapartners-Google",
    "Storebot-Google",
    "APIs-Google",
    "bingbot",
    "BingPreview",
    "msnbot",
    "DuckDuckBot",
    "DuckAssistBot",
    "Baiduspider",
    "YandexBot",
    "YandexImages",
    "YandexMobileBot",
    "Applebot",
    "facebookexternalhit",
    "meta-externalagent",
    "Slurp",
    "AhrefsBot",
    "SemrushBot",
    "MJ12bot",
    "DotBot",
    "PetalBot",
    "Sogou",
    "Exabot",
    "SeznamBot",
    "Qwantify",
    "coccocbot",
    "archive.org_bot",
    "ia_archiver",
    "Twitterbot",
    "LinkedInBot",
    "Slackbot",
    "Discordbot",
    "TelegramBot",
    "Pinterestbot",
    "redditbot",
    "GPTBot",
    "ChatGPT-User",
    "OAI-SearchBot",
    "ClaudeBot",
    "PerplexityBot",
    "CCBot",
    "Bytespider",
    "Amazonbot",
    "DataForSeoBot",
    "BLEXBot",
    "serpstatbot",
];

const MOBILE_APPS: &[&str] = &["Dalvik/", "CFNetwork/", "Alamofire", "Scale/", "okhttp-android"];

const LIBRARIES: &[&str] = &[
    "curl/",
    "libcurl",
    "PycURL",
    "Wget/",
    "python-requests",
    "Python-urllib",
    "aiohttp",
    "httpx/",
    "urllib3",
    "Go-http-client",
    "okhttp",
    "Java/",
    "Apache-HttpClient",
    "Jakarta Commons-HttpClient",
    "axios/",
    "node-fetch",
    "undici",
    "got (",
    "PostmanRuntime",
    "insomnia/",
    "HTTPie/",
    "libwww-perl",
    "LWP::Simple",
    "Ruby",
    "Faraday",
    "GuzzleHttp",
    "reqwest",
    "hyper/",
    "Dart/",
    "RestSharp",
    "Typhoeus",
    "Scrapy",
    "Deno/",
    "Bun/",
    "k6/",
    "HeadlessChrome",
    "PhantomJS",
    "Wget",
    "WinHttp",
    "Microsoft-CryptoAPI",
];

const GENERIC_BOTS: &[&str] = &["bot/", "crawler", "spider", "+http", "http://", "https://"];

/// `MSIE ` covers Internet Explorer before version 8, which sent no `Trident/` token.
const BROWSER_ENGINES: &[&str] =
    &["AppleWebKit/", "Gecko/", "Trident/", "Presto/", "EdgeHTML/", "Goanna/", "KHTML", "MSIE "];

const MOBILE_HINTS: &[&str] = &["iPhone", "iPad", "iOS", "Android"];

/// Markers shorter than this must stand alone (no letter or digit on either side) so that
/// `zap` does not match `Zapier` nor `vega` match `Vegas`.
const WHOLE_WORD_BYTES_MAX: usize = 5;

/// One marker: its text, its kind, and whether it must stand alone.
pub(crate) struct Entry {
    pub text: String,
    pub marker: Marker,
    pub whole_word: bool,
}

/// All markers, deduplicated (case-insensitively) with the first kind listed kept; scanners
/// come first so a name on two lists counts as a scanner.
pub(crate) fn entries() -> Vec<Entry> {
    let crs = CRS_SCANNERS.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
    let lists: [(Marker, Box<dyn Iterator<Item = &str>>); 9] = [
        (Marker::Scanner, Box::new(crs)),
        (Marker::Scanner, Box::new(EXTRA_SCANNERS.iter().copied())),
        (Marker::Monitor, Box::new(MONITORS.iter().copied())),
        (Marker::SearchBot, Box::new(SEARCH_BOTS.iter().copied())),
        (Marker::MobileApp, Box::new(MOBILE_APPS.iter().copied())),
        (Marker::Library, Box::new(LIBRARIES.iter().copied())),
        (Marker::GenericBot, Box::new(GENERIC_BOTS.iter().copied())),
        (Marker::BrowserEngine, Box::new(BROWSER_ENGINES.iter().copied())),
        (Marker::MobileHint, Box::new(MOBILE_HINTS.iter().copied())),
    ];
    let mut out: Vec<Entry> = Vec::new();
    for (marker, texts) in lists {
        for text in texts {
            if out.iter().any(|e| e.text.eq_ignore_ascii_case(text)) {
                continue;
            }
            let whole_word = text.len() <= WHOLE_WORD_BYTES_MAX
                && text.bytes().all(|b| b.is_ascii_alphanumeric());
            out.push(Entry { text: text.to_string(), marker, whole_word });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crs_list_is_embedded_and_read() {
        let e = entries();
        let scanners: Vec<&str> =
            e.iter().filter(|e| e.marker == Marker::Scanner).map(|e| e.text.as_str()).collect();
        for name in [
            "arachni",
            "Mozilla/4.0 (Hydra)",
            "TsunamiSecurityScanner",
            "Mozilla/5.0 (compatible; AppScan;",
        ] {
            assert!(scanners.contains(&name), "{name}");
        }
        assert!(scanners.len() > 80, "{}", scanners.len());
        assert!(!scanners.iter().any(|s| s.starts_with('#')));
    }

    #[test]
    fn short_alphanumeric_markers_must_stand_alone() {
        let e = entries();
        let find = |t: &str| e.iter().find(|e| e.text == t).unwrap();
        assert!(find("zap").whole_word);
        assert!(find("vega").whole_word);
        assert!(!find("sqlmap").whole_word);
        assert!(!find("Java/").whole_word);
    }
}
