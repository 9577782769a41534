//! Signs of data exposure: true positives for each kind, and the look-alikes that must not
//! count (order ids, phone numbers, timestamps, UUIDs, prices, versions, asset names).

use apiwatch_enrich::inspect::{
    ExposureKind, InspectConfig, Inspection, Inspector, NationalIdConfig, RequestView, ResponseView,
};

fn inspect_with(cfg: &InspectConfig, ct: Option<&str>, body: &str) -> Inspection {
    let req = RequestView { method: "GET", path: "/api/customers", ..Default::default() };
    let resp =
        ResponseView { status: 200, content_type: ct, body: body.as_bytes(), ..Default::default() };
    Inspector::build(cfg).unwrap().inspect(&req, &resp)
}

fn counts(body: &str) -> Vec<(String, u32)> {
    let out = inspect_with(&InspectConfig::default(), Some("application/json"), body);
    out.exposure.iter().map(|(k, n)| (k.name().to_string(), *n)).collect()
}

fn kinds(list: &[(&str, u32)]) -> Vec<(String, u32)> {
    list.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

#[test]
fn true_positives() {
    let cases: &[(&str, &[(&str, u32)])] = &[
        (r#"{"card":"4111 1111 1111 1111"}"#, &[("card_number", 1)]),
        (
            r#"{"pan":"4111111111111111","pan2":"5555-5555-5555-4444","amex":"378282246310005"}"#,
            &[("card_number", 3)],
        ),
        (r#"{"ssn":"536-22-1458","other":"401-38-2214"}"#, &[("us_ssn", 2)]),
        (r#"{"iban":"GB82 WEST 1234 5698 7654 32","de":"DE89370400440532013000"}"#, &[("iban", 2)]),
        (r#"{"email":"jane@example.com","cc":"bob.smith@mail.example.org"}"#, &[("email", 2)]),
        (
            r#"[{"name":"J","email":"j@x.io","card":"4111111111111111","ssn":"536-22-1458","iban":"FR1420041010050500013M02606"}]"#,
            &[("card_number", 1), ("us_ssn", 1), ("iban", 1), ("email", 1)],
        ),
    ];
    for (body, want) in cases {
        assert_eq!(counts(body), kinds(want), "{body}");
    }
}

#[test]
fn look_alikes_do_not_count() {
    for body in [
        // Order ids and other long ids: not Luhn-valid, no issuer prefix, or joined to text.
        r#"{"order_id": 4111111111111112, "ref": "ORD-4111111111111111", "sku": "id_5555555555554444"}"#,
        r#"{"id": 9234567890123456, "snowflake": 1234567890123456789, "gid": "gid://shop/Order/4111111111111111x"}"#,
        // Phone numbers.
        r#"{"phone": "+1 415 555 2671", "mobile": "+44 7911 123456", "fax": "+4915123456789", "tel": "(555) 123-4567"}"#,
        // Timestamps: epoch seconds, milliseconds, microseconds, ISO 8601.
        r#"{"ts": 1700000000, "ms": 1700000000000, "us": 1700000000000000, "at": "2024-01-15T10:30:00.123456Z"}"#,
        // UUIDs, including all-digit groups.
        r#"{"id": "550e8400-e29b-41d4-a716-446655440000", "n": "12345678-1234-4234-8234-123456789012"}"#,
        // Prices and amounts, versions, IP addresses, dates.
        r#"{"price": 4111111111111111.50, "total": "1,234.56", "v": "4.111.1111.1111", "ip": "10.0.0.1", "d": "2023-12-31"}"#,
        // SSN look-alikes: never-issued ranges, specimen numbers, other shapes.
        r#"{"a":"000-12-3456","b":"666-12-3456","c":"900-12-3456","d":"123-45-6789","e":"536-22-14580","f":"x-536-22-1458"}"#,
        // IBAN look-alikes: bad check digits, wrong length, unknown country, lower case.
        r#"{"a":"GB83WEST12345698765432","b":"GB82WEST123456987654","c":"QQ82WEST12345698765432","d":"gb82west12345698765432"}"#,
        // Not addresses.
        r#"{"img":"logo@2x.png","handle":"@jane","decorator":"@Override","scope":"a@b","ver":"pkg@1.2.3"}"#,
    ] {
        assert_eq!(counts(body), kinds(&[]), "{body}");
    }
}

#[test]
fn many_emails_counts_distinct_addresses() {
    let list = |n: usize| {
        format!(
            "[{}]",
            (0..n)
                .map(|i| format!(r#"{{"email":"user{i}@example.com"}}"#))
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    let out = inspect_with(&InspectConfig::default(), Some("application/json"), &list(19));
    assert_eq!((out.exposure, out.many_emails), (vec![(ExposureKind::Email, 19)], false));
    let out = inspect_with(&InspectConfig::default(), Some("application/json"), &list(20));
    assert!(out.many_emails);
    // The same address repeated (a shop's support address on every order) is one address.
    let same = format!("[{}]", vec![r#"{"contact":"Support@Shop.example"}"#; 50].join(","));
    let out = inspect_with(&InspectConfig::default(), Some("application/json"), &same);
    assert_eq!((out.exposure, out.many_emails), (vec![(ExposureKind::Email, 50)], false));
    let mut cfg = InspectConfig::default();
    cfg.exposure.many_emails_min = 3;
    assert!(inspect_with(&cfg, Some("application/json"), &list(3)).many_emails);
}

#[test]
fn national_id_patterns_text_bodies_and_binary_ones() {
    let mut cfg = InspectConfig::default();
    cfg.exposure.national_ids = vec![NationalIdConfig {
        name: "uk_nino".into(),
        pattern: r"\b[A-CEGHJ-PR-TW-Z]{2}\d{6}[A-D]\b".into(),
    }];
    let out =
        inspect_with(&cfg, Some("text/csv"), "name,nino\nA,AB123456C\nB,CE654321A\nC,QQ123456C\n");
    assert_eq!(out.exposure, vec![(ExposureKind::NationalId("uk_nino".into()), 2)]);
    let out = inspect_with(&cfg, Some("text/html"), "<td>4111 1111 1111 1111</td>");
    assert_eq!(out.exposure, vec![(ExposureKind::CardNumber, 1)]);
    let out = inspect_with(&cfg, Some("image/png"), "4111 1111 1111 1111");
    assert!(out.exposure.is_empty() && out.skipped.response_not_text);
    let req = RequestView::default();
    let resp = ResponseView {
        status: 200,
        content_type: Some("application/json"),
        body: b"\"4111111111111111\"",
        compressed: true,
        ..Default::default()
    };
    let out = Inspector::build(&cfg).unwrap().inspect(&req, &resp);
    assert!(out.exposure.is_empty() && out.skipped.response_compressed);
    cfg.exposure.card_numbers = false;
    assert!(inspect_with(&cfg, None, "4111 1111 1111 1111").exposure.is_empty());
}

#[test]
fn values_never_appear_in_the_result() {
    let body = r#"{"card":"4111111111111111","ssn":"536-22-1458","email":"jane@example.com","iban":"DE89370400440532013000"}"#;
    let out = format!("{:?}", inspect_with(&InspectConfig::default(), None, body));
    for value in ["4111", "536-22", "jane", "DE89"] {
        assert!(!out.contains(value), "{out}");
    }
}
