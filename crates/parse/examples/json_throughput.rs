//! Measures the JSON decoders on one core: lines per second for Kong, ECS, API Gateway and a
//! field mapping, over generated lines shaped like the real ones (about 1 KiB for Kong).
//!
//! `cargo run --release -p apiwatch-parse --example json_throughput [FORMAT|all] [SECONDS]`;
//! `… --example json_throughput dump FORMAT` prints the generated lines instead.

use apiwatch_parse::mapping::{JsonMapping, MappedJsonDecoder};
use apiwatch_parse::{builtin, Decoder};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Distinct lines per format, so that branch predictors and caches see varied input.
const LINES: usize = 4096;

const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
const PATHS: [&str; 6] =
    ["/v1/users/1842", "/v1/orders", "/login", "/v1/search", "/health", "/v1/users/77/keys"];
const AGENTS: [&str; 3] = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "python-requests/2.31.0",
    "curl/8.5.0",
];

fn pick<T: Copy>(items: &[T], i: usize) -> T {
    items[i % items.len()]
}

fn ip(i: usize) -> String {
    format!("203.0.{}.{}", (i / 251) % 256, i % 251 + 1)
}

/// A Kong 3.x log line with the members Kong writes (route, service, tries, latencies).
fn kong_line(i: usize) -> String {
    let start = 1_726_783_839_538u64 + i as u64 * 37;
    format!(
        concat!(
            r#"{{"response":{{"size":{rsize},"headers":{{"content-length":"{clen}","date":"Thu, 19 Sep 2024 22:10:39 GMT","content-type":"application/json","via":"1.1 kong/3.8.0.0","connection":"close","x-kong-upstream-latency":"17","x-kong-proxy-latency":"1"}},"status":{status}}},"#,
            r#""route":{{"name":"users_route","id":"0f1a4101-3327-4274-b1e4-484a4ab0c030","paths":["/v1"],"protocols":["http","https"],"strip_path":true}},"#,
            r#""workspace":"f381e34e-5c25-4e65-b91b-3c0a86cfc393","workspace_name":"default","#,
            r#""tries":[{{"balancer_start":{start},"ip":"10.0.3.7","balancer_latency":0,"port":80}}],"#,
            r#""client_ip":"{ip}","request":{{"id":"2f6946328ffc4946b8c9{i:012}","headers":{{"accept":"*/*","user-agent":"{ua}","host":"api.example.com","connection":"keep-alive","accept-encoding":"gzip, deflate"}},"#,
            r#""uri":"{path}?page={page}","size":{qsize},"method":"{method}","querystring":{{"page":"{page}"}},"url":"https://api.example.com:443{path}?page={page}"}},"#,
            r#""upstream_uri":"{path}?page={page}","started_at":{start},"source":"upstream","upstream_status":"{status}","#,
            r#""latencies":{{"kong":1,"proxy":17,"request":{lat},"receive":0}},"#,
            r#""service":{{"host":"users.internal","name":"users","id":"fb4eecf8-dec2-40ef-b779-16de7e2384c7","port":80,"protocol":"http"}}}}"#
        ),
        rsize = 400 + i % 900,
        clen = 200 + i % 900,
        status = pick(&[200, 200, 201, 401, 404], i),
        start = start,
        ip = ip(i),
        i = i,
        ua = pick(&AGENTS, i),
        path = pick(&PATHS, i),
        page = i % 17,
        qsize = 120 + i % 300,
        method = pick(&METHODS, i),
        lat = 3 + i % 200,
    )
}

/// A Filebeat nginx access document.
fn ecs_line(i: usize) -> String {
    format!(
        concat!(
            r#"{{"@timestamp":"2024-05-02T09:{m:02}:{s:02}.123Z","source":{{"address":"{ip}","ip":"{ip}"}},"#,
            r#""http":{{"request":{{"method":"{method}","referrer":"-"}},"response":{{"status_code":{status},"body":{{"bytes":{bytes}}}}},"version":"1.1"}},"#,
            r#""url":{{"original":"{path}?page={page}"}},"user_agent":{{"original":"{ua}"}},"#,
            r#""event":{{"dataset":"nginx.access","module":"nginx","category":["web"],"type":["access"],"outcome":"success"}},"#,
            r#""ecs":{{"version":"1.12.0"}},"host":{{"name":"web-1"}},"agent":{{"type":"filebeat","version":"8.13.0"}},"log":{{"offset":{off},"file":{{"path":"/var/log/nginx/access.log"}}}}}}"#
        ),
        m = i / 60 % 60,
        s = i % 60,
        ip = ip(i),
        method = pick(&METHODS, i),
        status = pick(&[200, 304, 404], i),
        bytes = 100 + i % 5000,
        path = pick(&PATHS, i),
        page = i % 17,
        ua = pick(&AGENTS, i),
        off = i * 180,
    )
}

/// A REST API access log from AWS's JSON template.
fn apigw_line(i: usize) -> String {
    format!(
        concat!(
            r#"{{"requestId":"c6af9ac6-7b61-11e6-9a41-{i:012}","ip":"{ip}","caller":"-","user":"-","#,
            r#""requestTime":"09/Apr/2015:12:{m:02}:{s:02} +0000","httpMethod":"{method}","resourcePath":"/v1/users/{{id}}","#,
            r#""status":"{status}","protocol":"HTTP/1.1","responseLength":"{len}"}}"#
        ),
        i = i,
        ip = ip(i),
        m = i / 60 % 60,
        s = i % 60,
        method = pick(&METHODS, i),
        status = pick(&[200, 403], i),
        len = i % 3000,
    )
}

fn mapped_line(i: usize) -> String {
    format!(
        r#"{{"ts":{ts},"client":{{"addr":"{ip}"}},"actor":{{"login":"user{u}"}},"res":{{"code":{status}}},"req":{{"path":"{path}","ua":"{ua}"}},"msg":"request served"}}"#,
        ts = 1_700_000_000_000u64 + i as u64,
        ip = ip(i),
        u = i % 50,
        status = pick(&[200, 401], i),
        path = pick(&PATHS, i),
        ua = pick(&AGENTS, i),
    )
}

fn mapped_decoder() -> MappedJsonDecoder {
    let mapping: JsonMapping = serde_json::from_str(
        r#"{"timestamp":{"path":"ts","format":"unix_ms"},"fields":{"source.ip":"client.addr","user.name":"actor.login","http.response.status_code":"res.code","url.path":"req.path","user_agent.original":"req.ua"}}"#,
    )
    .expect("the example mapping is valid");
    MappedJsonDecoder::new("myapp", mapping).expect("the example mapping validates")
}

/// Makes the `i`th generated line of a format.
type MakeLine = fn(usize) -> String;

fn measure(name: &str, decoder: &dyn Decoder, make: MakeLine, seconds: f64) {
    let lines: Vec<String> = (0..LINES).map(make).collect();
    let bytes: usize = lines.iter().map(String::len).sum();
    for line in &lines {
        if let Err(e) = decoder.decode(line.as_bytes()) {
            panic!("{name}: a generated line does not decode: {e}");
        }
    }
    let budget = Duration::from_secs_f64(seconds);
    let cpu_start = thread_cpu_secs();
    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < budget {
        for line in &lines {
            black_box(decoder.decode(black_box(line.as_bytes())).ok());
        }
        rounds += 1;
    }
    let wall = start.elapsed().as_secs_f64();
    let decoded = rounds as f64 * LINES as f64;
    let line_bytes = bytes as f64 / LINES as f64;
    print!(
        "{name:<10} {:>5.0} B/line  wall: {:>9.0} lines/s {:>6.1} MB/s",
        line_bytes,
        decoded / wall,
        decoded * line_bytes / wall / 1e6
    );
    // On a shared machine wall time counts other processes' turns; CPU time does not.
    match (cpu_start, thread_cpu_secs()) {
        (Some(a), Some(b)) if b > a => println!(
            "  cpu: {:>9.0} lines/s {:>6.1} MB/s",
            decoded / (b - a),
            decoded * line_bytes / (b - a) / 1e6
        ),
        _ => println!(),
    }
}

/// CPU time used by this thread (Linux `/proc`, 10 ms resolution); `None` elsewhere.
fn thread_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // The command name may hold spaces; the fields after it start past the last ')'.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    // utime and stime are fields 14 and 15 of the line: 12th and 13th after the name.
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ, the unit of these fields, is 100 on Linux.
    Some(ticks / 100.0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let only = args.next().filter(|a| a != "all");
    if only.as_deref() == Some("dump") {
        let format = args.next().unwrap_or_default();
        let make: MakeLine = match format.as_str() {
            "kong" => kong_line,
            "ecs" => ecs_line,
            "aws-apigw" => apigw_line,
            "mapping" => mapped_line,
            _ => panic!("dump one of: kong, ecs, aws-apigw, mapping"),
        };
        (0..LINES).for_each(|i| println!("{}", make(i)));
        return;
    }
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let builtin = |n: &str| builtin(n).expect("a built-in format");
    let cases: [(&str, Box<dyn Decoder>, MakeLine); 4] = [
        ("kong", builtin("kong"), kong_line),
        ("ecs", builtin("ecs"), ecs_line),
        ("aws-apigw", builtin("aws-apigw"), apigw_line),
        ("mapping", Box::new(mapped_decoder()), mapped_line),
    ];
    for (name, decoder, make) in &cases {
        if only.as_deref().is_none_or(|o| o == *name) {
            measure(name, decoder.as_ref(), *make, seconds);
        }
    }
}
