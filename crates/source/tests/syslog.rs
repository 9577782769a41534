//! Syslog parsing on the RFCs' own examples, real rsyslog and nginx output and malformed
//! input (with exact columns); framing split at every byte boundary; arbitrary bytes.

use std::borrow::Cow;

use apiwatch_core::time::{format_rfc3339_ms, parse_rfc3339_ms};
use apiwatch_source::syslog::{
    self, datagram_message, Framer, FramerStats, Framing, FramingError, ReceiveContext, SdElement,
    SdParam, SyslogError, SyslogFormat, SyslogMessage,
};
use proptest::prelude::*;

fn context() -> ReceiveContext {
    ReceiveContext::utc(parse_rfc3339_ms("2026-11-24T10:00:05Z").unwrap())
}

fn parse(input: &[u8]) -> SyslogMessage<'_> {
    syslog::parse(input, &context())
        .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(input)))
}

fn time(message: &SyslogMessage<'_>) -> String {
    format_rfc3339_ms(message.timestamp_ms.expect("a timestamp"))
}

fn error(input: &[u8]) -> SyslogError {
    syslog::parse(input, &context()).unwrap_err()
}

fn param<'a>(name: &'a str, value: &'a str) -> SdParam<'a> {
    SdParam { name, value: Cow::Borrowed(value) }
}

// RFC 5424 section 6.5.

#[test]
fn rfc5424_example_1_no_structured_data_and_a_bom() {
    let m = parse(b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8");
    assert_eq!(m.format, SyslogFormat::Rfc5424);
    assert_eq!((m.facility, m.severity), (4, 2));
    assert_eq!(time(&m), "2003-10-11T22:14:15.003Z");
    assert_eq!(m.hostname, Some("mymachine.example.com"));
    assert_eq!((m.app_name, m.proc_id, m.msg_id), (Some("su"), None, Some("ID47")));
    assert!(m.structured_data.is_empty());
    assert_eq!(m.msg, b"'su root' failed for lonvick on /dev/pts/8");
}

#[test]
fn rfc5424_example_2_microseconds_and_an_offset() {
    let m = parse(b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.");
    assert_eq!((m.facility, m.severity), (20, 5));
    assert_eq!(time(&m), "2003-08-24T12:14:15.000Z");
    assert_eq!(
        (m.hostname, m.app_name, m.proc_id, m.msg_id),
        (Some("192.0.2.1"), Some("myproc"), Some("8710"), None)
    );
    assert_eq!(m.msg, b"%% It's time to make the do-nuts.");
}

#[test]
fn rfc5424_example_3_structured_data_and_a_message() {
    let m = parse(b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] \xEF\xBB\xBFAn application event log entry...");
    assert_eq!(
        m.structured_data,
        [SdElement {
            id: "exampleSDID@32473",
            params: vec![
                param("iut", "3"),
                param("eventSource", "Application"),
                param("eventID", "1011")
            ],
        }]
    );
    assert_eq!(m.msg, b"An application event log entry...");
}

#[test]
fn rfc5424_example_4_two_elements_and_no_message() {
    let m = parse(b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"]");
    assert_eq!(m.structured_data.len(), 2);
    assert_eq!(
        m.structured_data[1],
        SdElement { id: "examplePriority@32473", params: vec![param("class", "high")] }
    );
    assert_eq!(m.msg, b"");
}

#[test]
fn rfc5424_escapes_in_parameter_values() {
    let input = [
        br#"<13>1 - - - - - [x@1 a="q\"b\\s\]e" path="C:\dir" empty="" "#.as_slice(),
        "utf=\"café\"] m".as_bytes(),
    ]
    .concat();
    let m = parse(&input);
    let params = &m.structured_data[0].params;
    assert_eq!(params[0].value, r#"q"b\s]e"#);
    assert!(matches!(params[0].value, Cow::Owned(_)));
    assert_eq!(params[1].value, r"C:\dir", "an unknown escape keeps its backslash");
    assert!(matches!(params[1].value, Cow::Borrowed(_)));
    assert_eq!(params[2].value, "");
    assert_eq!(params[3].value, "café");
    assert_eq!((m.timestamp_ms, m.hostname, m.app_name), (None, None, None));
}

// RFC 3164 section 5.4.

#[test]
fn rfc3164_examples() {
    let m = parse(b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8");
    assert_eq!(m.format, SyslogFormat::Rfc3164);
    assert_eq!((m.facility, m.severity), (4, 2));
    assert_eq!(time(&m), "2026-10-11T22:14:15.000Z");
    assert_eq!((m.hostname, m.app_name, m.proc_id), (Some("mymachine"), Some("su"), None));
    assert_eq!(m.msg, b"'su root' failed for lonvick on /dev/pts/8");

    let m = parse(b"Use the BFG!");
    assert_eq!((m.facility, m.severity, m.timestamp_ms, m.hostname), (1, 5, None, None));
    assert_eq!((m.app_name, m.msg), (None, &b"Use the BFG!"[..]));

    let m = parse(b"<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!");
    assert_eq!(time(&m), "2026-02-05T17:32:18.000Z");
    assert_eq!((m.hostname, m.app_name, m.msg), (Some("10.0.0.99"), None, &b"Use the BFG!"[..]));

    // A time zone and year after the time are not in the grammar: they read as a hostname and
    // the start of the message, as RFC 3164 says a relay would take them.
    let m = parse(b"<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nuts.  %%  Ingredients: Mix=OK, Jump=OK, Water=OK, Pump=OK");
    assert_eq!((m.hostname, m.app_name), (Some("CST"), None));
    assert!(m.msg.starts_with(b"1987 mymachine myproc[10]: %%"));

    let m = parse(b"<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!");
    assert_eq!((m.facility, m.severity, m.timestamp_ms), (0, 0, None));
    assert_eq!(
        m.msg,
        b"1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!"
    );

    let m = parse(b"<0>Oct 22 10:52:12 scapegoat 1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!");
    assert_eq!((m.hostname, m.app_name), (Some("scapegoat"), None));
    assert!(m.msg.starts_with(b"1990 Oct 22"));
}

// nginx: `access_log syslog:server=127.0.0.1:5514,facility=local7,tag=nginx,severity=info`.

#[test]
fn nginx_access_log_over_syslog_gives_the_log_line_exactly() {
    let line: &[u8] = br#"203.0.113.7 - - [24/Nov/2026:10:00:00 +0000] "GET /api/users/42?x=1 HTTP/1.1" 200 512 "-" "curl/8.5.0""#;
    let mut input = b"<190>Nov 24 10:00:00 web1 nginx: ".to_vec();
    input.extend_from_slice(line);
    let m = parse(&input);
    assert_eq!((m.facility, m.severity), (23, 6));
    assert_eq!(time(&m), "2026-11-24T10:00:00.000Z");
    assert_eq!((m.hostname, m.app_name, m.proc_id), (Some("web1"), Some("nginx"), None));
    assert_eq!(m.msg, line);

    // `nohostname`, and a JSON `log_format` with `escape=json`.
    let json: &[u8] = br#"{"time":"2026-11-24T10:00:00+00:00","remote_addr":"203.0.113.7","request":"POST /login HTTP/1.1","status":401}"#;
    let mut input = b"<190>Nov 24 10:00:00 nginx: ".to_vec();
    input.extend_from_slice(json);
    let m = parse(&input);
    assert_eq!((m.hostname, m.app_name, m.msg), (None, Some("nginx"), json));

    // A message starting with a space keeps it: the payload is given as sent.
    let m = parse(b"<190>Nov 24 10:00:00 web1 api_gw:  two spaces");
    assert_eq!((m.app_name, m.msg), (Some("api_gw"), &b" two spaces"[..]));
}

// rsyslog's templates.

#[test]
fn rsyslog_formats() {
    // RSYSLOG_ForwardFormat: RFC 3339 time in a BSD message.
    let m = parse(
        b"<30>2026-11-24T10:00:00.123456+01:00 web1 systemd[1]: Started Session 42 of User admin.",
    );
    assert_eq!((m.format, m.facility, m.severity), (SyslogFormat::Rfc3164, 3, 6));
    assert_eq!(time(&m), "2026-11-24T09:00:00.123Z");
    assert_eq!((m.hostname, m.app_name, m.proc_id), (Some("web1"), Some("systemd"), Some("1")));
    assert_eq!(m.msg, b"Started Session 42 of User admin.");

    // RSYSLOG_TraditionalForwardFormat.
    let m = parse(b"<38>Nov 24 09:59:58 web1 sshd[811]: Accepted publickey for admin from 198.51.100.4 port 50022 ssh2");
    assert_eq!((m.facility, m.severity), (4, 6));
    assert_eq!((m.app_name, m.proc_id), (Some("sshd"), Some("811")));

    // RSYSLOG_FileFormat and RSYSLOG_TraditionalFileFormat: no PRI.
    let m = parse(b"2026-11-24T10:00:00.000001+00:00 web1 sshd[811]: Failed password for root");
    assert_eq!((m.facility, m.severity), (1, 5));
    assert_eq!(
        (m.hostname, m.app_name, m.msg),
        (Some("web1"), Some("sshd"), &b"Failed password for root"[..])
    );
    let m = parse(b"Nov 24 10:00:00 web1 kernel: [12345.678] eth0: link up");
    assert_eq!(
        (m.hostname, m.app_name, m.msg),
        (Some("web1"), Some("kernel"), &b"[12345.678] eth0: link up"[..])
    );

    // RSYSLOG_SyslogProtocol23Format.
    let m = parse(b"<30>1 2026-11-24T10:00:00.123456+01:00 web1 sshd 811 - - Accepted publickey");
    assert_eq!(
        (m.format, m.app_name, m.proc_id),
        (SyslogFormat::Rfc5424, Some("sshd"), Some("811"))
    );

    // util-linux `logger --rfc5424`.
    let m = parse(b"<13>1 2026-11-24T10:00:00.654321+00:00 web1 admin - - [timeQuality tzKnown=\"1\" isSynced=\"1\" syncAccuracy=\"117000\"] hello");
    assert_eq!(m.structured_data[0].id, "timeQuality");
    assert_eq!(m.structured_data[0].params[2], param("syncAccuracy", "117000"));
    assert_eq!(m.msg, b"hello");

    // A local socket message: no hostname.
    let m = parse(b"<86>Nov 24 10:00:00 sudo[2211]: admin : TTY=pts/0 ; COMMAND=/bin/ls");
    assert_eq!((m.hostname, m.app_name, m.proc_id), (None, Some("sudo"), Some("2211")));
    assert_eq!(m.msg, b"admin : TTY=pts/0 ; COMMAND=/bin/ls");
}

#[test]
fn malformed_messages_name_the_column_and_what_was_expected() {
    let cases: &[(&[u8], usize, &str)] = &[
        (b"<", 2, "a priority number"),
        (b"<>", 2, "a priority number"),
        (b"<34", 4, "'>' after the priority"),
        (b"<1234>", 5, "'>' after at most 3 priority digits"),
        (b"<192>1 - - - - - -", 2, "a priority of at most 191"),
        (b"<34>1 2003-10-11T22:14:15.003Z", 31, "a space after the timestamp"),
        (b"<34>1 2003-13-11T22:14:15Z h a - - -", 12, "a month from 01 to 12"),
        (b"<34>1 2003-10-11 22:14:15Z h a - - -", 17, "'T' between date and time"),
        (b"<34>1 2003-10-11T22:14:15.Z h a - - -", 27, "fraction digits after '.'"),
        (b"<34>1 2003-10-11T22:14:15+1:00 h a - - -", 27, "a two-digit offset hour"),
        (b"<34>1 -  a - - -", 9, "a hostname or '-'"),
        (b"<34>1 - h a - - x", 17, "'[' or '-' for structured data"),
        (b"<34>1 - h a - - [id a=\"b\"", 26, "' ' or ']' after a structured data element"),
        (b"<34>1 - h a - - [id a=\"b]", 26, "'\"' closing the parameter value"),
        (b"<34>1 - h a - - [id a=b]", 23, "'\"' starting the parameter value"),
        (b"<34>1 - h a - - [id =\"b\"]", 21, "a parameter name"),
        (b"<34>1 - h a - - [] m", 18, "a structured data id"),
        (b"<34>1 - h a - - -m", 18, "a space before the message"),
        (b"<34>1 - h a - - [id a=\"\xff\"] m", 24, "UTF-8 in the parameter value"),
        (b"<13>Nov 31 10:00:00 host x: y", 9, "a day that exists in a year near the receive time"),
        (b"<13>Nov 24 25:00:00 host x: y", 12, "an hour of at most 23"),
        (b"<13>Nov 24 10:00:00host", 20, "a space after the timestamp"),
        (b"<13>2026-11-24T10:00:00 host x: y", 24, "'Z' or an offset like +01:00"),
        (b"<13>Nov 24 10:00:00 h\xffst x: y", 22, "UTF-8 in the hostname"),
    ];
    for &(input, column, expected) in cases {
        assert_eq!(
            error(input),
            SyslogError { column, expected },
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    let long_app = format!("<34>1 - h {} - - -", "a".repeat(49));
    assert_eq!(error(long_app.as_bytes()).column, 59, "the 49th character");
    assert_eq!(
        error(b"<34>1 - h a - - -m").to_string(),
        "column 18: expected a space before the message"
    );
}

// Framing.

fn frames(
    framing: Framing,
    max: usize,
    pieces: &[&[u8]],
) -> (Vec<Vec<u8>>, FramerStats, Result<(), FramingError>) {
    let mut framer = Framer::new(framing, max);
    let mut out = Vec::new();
    let mut result = Ok(());
    for piece in pieces {
        result = framer.feed(piece, |f| out.push(f.to_vec()));
        if result.is_err() {
            break;
        }
    }
    framer.finish(|f| out.push(f.to_vec()));
    (out, framer.stats(), result)
}

#[test]
fn octet_counting_is_detected_and_cut() {
    let mut framer = Framer::new(Framing::Auto, 1024);
    let mut out = Vec::new();
    framer.feed(b"15 <13>1 - - -", |f| out.push(f.to_vec())).unwrap();
    assert_eq!(framer.framing(), Framing::OctetCounting);
    assert!(out.is_empty());
    framer.feed(b" - -\n5 a\nb c", |f| out.push(f.to_vec())).unwrap();
    framer.feed(b"\n", |f| out.push(f.to_vec())).unwrap();
    assert_eq!(out, [b"<13>1 - - - - -".to_vec(), b"a\nb c".to_vec()]);
    assert_eq!(framer.stats().frames, 2);
}

#[test]
fn non_transparent_framing_is_detected_and_cut() {
    let (out, stats, result) = frames(Framing::Auto, 1024, &[b"<13>a\r\n\n<13>b\n<1", b"3>c"]);
    result.unwrap();
    assert_eq!(out, [b"<13>a".to_vec(), b"<13>b".to_vec(), b"<13>c".to_vec()]);
    assert_eq!(stats.frames, 3);
}

#[test]
fn oversize_frames_are_counted_and_skipped() {
    let (out, stats, _) = frames(Framing::OctetCounting, 4, &[b"5 abcde4 ab", b"cd6 abcdef1 x"]);
    assert_eq!(out, [b"abcd".to_vec(), b"x".to_vec()]);
    assert_eq!(stats.oversize_frames, 2);

    let (out, stats, _) =
        frames(Framing::NonTransparent, 4, &[b"abcd\nabcde\nab", b"cdefgh\nxy\r\n"]);
    assert_eq!(out, [b"abcd".to_vec(), b"xy".to_vec()]);
    assert_eq!(stats.oversize_frames, 2);
}

#[test]
fn a_broken_octet_count_stops_the_stream() {
    let (out, _, result) = frames(Framing::Auto, 100, &[b"3 abc4x"]);
    assert_eq!(out, [b"abc".to_vec()]);
    assert_eq!(
        result,
        Err(FramingError { offset: 6, expected: "a digit or a space after the message length" })
    );
    let mut framer = Framer::new(Framing::OctetCounting, 100);
    assert!(framer.feed(b"<13>", |_| {}).is_err());
    assert!(framer.feed(b"3 abc", |_| panic!("no frame after an error")).is_err());
    let (_, stats, _) = frames(Framing::OctetCounting, 100, &[b"10 abc"]);
    assert_eq!(stats.truncated_frames, 1);
}

#[test]
fn a_datagram_is_one_message() {
    assert_eq!(datagram_message(b"<13>hello\n"), b"<13>hello");
    assert_eq!(datagram_message(b"<13>hello\r\n\0"), b"<13>hello");
    assert_eq!(datagram_message(b"<13>a\nb"), b"<13>a\nb");
    assert_eq!(datagram_message(b"\n"), b"");
}

/// Messages framed both ways, cut at every byte boundary and one byte at a time.
#[test]
fn framing_does_not_depend_on_where_the_stream_is_cut() {
    let messages: Vec<&[u8]> = vec![b"<13>Nov 24 10:00:00 h a: x", b"<190>1 - - - - - - y", b"z"];
    let counted: Vec<u8> =
        messages.iter().flat_map(|m| [format!("{} ", m.len()).as_bytes(), m].concat()).collect();
    let lines: Vec<u8> = messages.iter().flat_map(|m| [*m, b"\n"].concat()).collect();
    for stream in [&counted, &lines] {
        let expected: Vec<Vec<u8>> = messages.iter().map(|m| m.to_vec()).collect();
        for cut in 0..=stream.len() {
            let (out, _, result) = frames(Framing::Auto, 64, &[&stream[..cut], &stream[cut..]]);
            result.unwrap();
            assert_eq!(out, expected, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(frames(Framing::Auto, 64, &bytes).0, expected);
    }
}

fn split<'a>(stream: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    cuts.sort();
    let mut pieces = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain([stream.len()]) {
        pieces.push(&stream[start..cut]);
        start = cut;
    }
    pieces
}

proptest! {
    #[test]
    fn any_split_of_an_octet_counted_stream_gives_the_same_messages(
        messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..40), 0..8),
        cuts in prop::collection::vec(any::<usize>(), 0..10),
    ) {
        let stream: Vec<u8> = messages.iter().flat_map(|m| [format!("{} ", m.len()).into_bytes(), m.clone()].concat()).collect();
        let (out, stats, result) = frames(Framing::Auto, 32, &split(&stream, &cuts));
        prop_assert!(result.is_ok());
        let expected: Vec<Vec<u8>> = messages.iter().filter(|m| m.len() <= 32).cloned().collect();
        prop_assert_eq!(out, expected);
        prop_assert_eq!(stats.oversize_frames as usize, messages.iter().filter(|m| m.len() > 32).count());
    }

    #[test]
    fn any_split_of_a_line_stream_gives_the_same_messages(
        messages in prop::collection::vec("<[0-9]{1,3}>[ -~]{0,40}", 0..8),
        cuts in prop::collection::vec(any::<usize>(), 0..10),
    ) {
        let stream: Vec<u8> = messages.iter().flat_map(|m| format!("{m}\n").into_bytes()).collect();
        let (out, stats, result) = frames(Framing::Auto, 32, &split(&stream, &cuts));
        prop_assert!(result.is_ok());
        let expected: Vec<Vec<u8>> = messages.iter().filter(|m| m.len() <= 32).map(|m| m.clone().into_bytes()).collect();
        prop_assert_eq!(out, expected);
        prop_assert_eq!(stats.oversize_frames as usize, messages.iter().filter(|m| m.len() > 32).count());
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        prefix in prop::sample::select(vec![&b""[..], b"<13>1 ", b"<13>1 - h a p m [", b"<13>Nov 24 10:00:00 ", b"<13>2026-", b"<13>Feb 29 "]),
        now_ms in any::<i64>().prop_map(|t| t % (400 * 365 * 86_400_000)),
        local_offset_s in -86_400i32..86_400,
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let input = [prefix, &bytes[..]].concat();
        let context = ReceiveContext { now_ms, local_offset_s };
        if let Ok(m) = syslog::parse(&input, &context) {
            prop_assert!(m.facility <= 23 && m.severity <= 7);
        }
        let _ = syslog::parse(&bytes, &context);
        let _ = frames(Framing::Auto, 16, &split(&input, &cuts));
        let _ = frames(Framing::NonTransparent, 16, &split(&bytes, &cuts));
    }
}
