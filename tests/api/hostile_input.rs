//! Hostile input at every door: whatever arrives, the answer is a clean 4xx (or the
//! ordinary success), never a 5xx, never internals in the body, and a refused request
//! changes nothing.

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::api::*;
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    hostile_customer_list_filters_get_a_page_or_a_400,
    hostile_audit_and_anonymized_filters_get_a_page_or_a_400,
    hostile_bulk_forms_change_nothing,
    hostile_suppression_and_legal_hold_forms_are_refused_or_harmless,
    hostile_delete_all_names_send_no_code,
    hostile_sign_in_forms_are_refused_cleanly,
    hostile_setup_forms_create_nothing,
    hostile_track_api_bodies_are_refused_or_stored_safely,
    hostile_identifiers_in_api_paths_are_refused_or_harmless,
    hostile_api_credentials_are_401,
    oversized_bodies_are_413_and_change_nothing,
    unknown_routes_and_wrong_methods_get_clean_errors,
    a_formula_typed_into_a_filter_is_not_a_formula_in_the_audit_export,
    a_customer_with_the_longest_name_does_not_break_paging,
);

const WS: &str = "/w/acme-shop";
const XSS_SCRIPT: &str = "<script>alert(1)</script>";
const XSS_ATTRIBUTE: &str = "\"><img src=x onerror=alert(1)>";

/// What no response may show: panics, SQL, the ORM, source paths, traces.
const LEAKS: &[&str] = &[
    "panicked",
    "SELECT",
    "diesel",
    "src/",
    "stack backtrace",
    "RUST_BACKTRACE",
];

/// What no HTML page may show: hostile markup that came back unescaped. (JSON answers
/// may quote what was sent: they are served as JSON with `nosniff`.)
const MARKUP: &[&str] = &[XSS_SCRIPT, "<img src=x"];

/// The table of hostile values every field gets. None contains a `LEAKS` marker; the
/// markup ones must come back escaped.
fn hostile_values() -> Vec<(&'static str, String)> {
    vec![
        ("empty", String::new()),
        ("blank", "   ".into()),
        ("10 KB", "a".repeat(10 * 1024)),
        ("NUL inside", "a\0b".into()),
        ("only NUL", "\0".into()),
        ("control characters", "\u{1b}[31m\u{7}\u{8}".into()),
        ("CRLF header injection", "x\r\nSet-Cookie: stolen=1".into()),
        ("SQL quote", "' OR 1=1 --".into()),
        ("SQL stacked", "'; DROP TABLE customers; --".into()),
        ("SQL double quote", "\" OR \"\"=\"".into()),
        ("LIKE wildcards", "%_%\\".into()),
        ("HTML script", XSS_SCRIPT.into()),
        ("HTML attribute", XSS_ATTRIBUTE.into()),
        ("CSV formula", "=HYPERLINK(\"http://x\")".into()),
        ("CSV plus", "+1+1".into()),
        ("CSV at", "@SUM(1+1)".into()),
        ("emoji", "👩‍👩‍👧‍👦🔥".into()),
        ("RTL override", "\u{202E}gnp.exe".into()),
        ("RTL text", "\u{200F}שלום עולם".into()),
        ("zero width", "\u{200B}\u{FEFF}".into()),
        ("replacement character", "\u{FFFD}".into()),
        ("negative", "-1".into()),
        ("zero", "0".into()),
        ("below i64", "-9223372036854775809".into()),
        ("i64 max", "9223372036854775807".into()),
        ("huge number", "99999999999999999999999999".into()),
        ("float overflow", "1e309".into()),
        ("NaN", "NaN".into()),
        ("hex", "0x10".into()),
        ("wrong type: array", "[1,2]".into()),
        ("wrong type: object", "{\"a\":1}".into()),
        ("wrong type: bool", "true".into()),
        ("path traversal", "../../etc/passwd".into()),
        ("template", "{{7*7}}${7*7}".into()),
        ("percent", "%".into()),
        ("bad escape", "%zz%".into()),
        ("address", "Ada@Example.com".into()),
        ("internal id", "cio_1".into()),
        ("bad internal id", "cio_99999999999999999999".into()),
        ("far date", "99999-12-31".into()),
        ("impossible date", "2026-02-30".into()),
        ("1001 characters", "é".repeat(1001)),
    ]
}

/// Query values written as they stand in a URL: bytes that are not UTF-8, truncated
/// and malformed escapes, separators.
const RAW_QUERY_VALUES: &[&str] = &[
    "%FF%FE",
    "%C3",
    "%00",
    "%E2%80%AE",
    "%ED%A0%80",
    "a%2",
    "%%%",
    "&&&",
    "==",
    "+++",
    "%2B%26%3D",
];

fn encode_query(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn encode_segment(value: &str) -> String {
    utf8_percent_encode(value, NON_ALPHANUMERIC).to_string()
}

fn excerpt(body: &str) -> String {
    body.chars().take(300).collect()
}

/// Asserts what every answer owes: no 5xx, a status from `allowed`, no leak in the body
/// and no header injected. Returns the status and the body.
async fn checked(response: Response, what: &str, allowed: &[u16]) -> (u16, String) {
    let status = response.status().as_u16();
    let injected = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().map_or(true, |v| v.contains("stolen")));
    let is_html = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let body = String::from_utf8_lossy(&response.bytes().await.unwrap_or_default()).into_owned();
    assert!(status < 500, "{what}: answered {status}: {}", excerpt(&body));
    assert!(
        allowed.contains(&status),
        "{what}: answered {status}, expected one of {allowed:?}: {}",
        excerpt(&body)
    );
    assert!(!injected, "{what}: a header was injected");
    for leak in LEAKS.iter().chain(if is_html { MARKUP } else { &[] }) {
        assert!(
            !body.contains(leak),
            "{what}: the body shows {leak:?}: {}",
            excerpt(&body)
        );
    }
    (status, body)
}

/// customers, events, suppressions, jobs.
fn counts(app: &TestApp) -> [i64; 5] {
    ["customers", "events", "suppressions", "jobs", "devices"].map(|table| app.count(table))
}

async fn owner_app(backend: Backend) -> (TestApp, String) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let token = app.csrf_token().await;
    (app, token)
}

/// Three customers with events, straight into the database.
fn arrange_customers(app: &TestApp) {
    for (n, (external_id, email, name, country)) in [
        ("c-ada", "ada@example.com", "Ada", "GB"),
        ("c-bob", "bob@example.com", "Bob", "DE"),
        ("c-cyd", "cyd@example.com", "Cyd", "FR"),
    ]
    .into_iter()
    .enumerate()
    {
        app.sql(&format!(
            "INSERT INTO customers (workspace_id, external_id, email, name, country, city, attributes, created_at, last_seen_at) \
             VALUES (1, '{external_id}', '{email}', '{name}', '{country}', 'Town', '{{\"plan\":\"pro\"}}', '2026-01-01 00:00:00', '2026-0{}-01 00:00:00')",
            n + 1
        ));
    }
    app.sql(
        "INSERT INTO events (workspace_id, customer_id, name, properties, occurred_at) \
         SELECT workspace_id, id, 'order', '{}', '2026-01-02 00:00:00' FROM customers",
    );
}

/// Posts a url-encoded form with the session's token.
async fn post_form_with_token(app: &TestApp, token: &str, path: &str, fields: &[(&str, &str)]) -> Response {
    let mut all = vec![("csrf_token", token)];
    all.extend_from_slice(fields);
    app.client
        .post(app.url(path))
        .form(&all)
        .send()
        .await
        .expect("POST")
}

/// Posts bytes as a url-encoded form, the token in its header.
async fn post_form_bytes(app: &TestApp, token: &str, path: &str, body: Vec<u8>) -> Response {
    app.client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-csrf-token", token)
        .body(body)
        .send()
        .await
        .expect("POST")
}

/// `key=` followed by bytes that are not UTF-8 (and a NUL), then another field.
fn invalid_utf8_form(key: &str, rest: &str) -> Vec<u8> {
    let mut body = format!("{key}=").into_bytes();
    body.extend_from_slice(&[0xFF, 0xFE, 0x00, b'a', 0xC3]);
    body.extend_from_slice(format!("&{rest}").as_bytes());
    body
}

/// Sends raw bytes as a request line, which no URL type would let through, and reads
/// the status.
async fn raw_request_status(app: &TestApp, head: &[u8]) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
    stream.write_all(head).await.ok()?;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    if read.is_err() && answer.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(&answer);
    text.split(' ').nth(1).and_then(|s| s.parse().ok())
}

async fn hostile_customer_list_filters_get_a_page_or_a_400(backend: Backend) {
    let (app, _) = owner_app(backend).await;
    arrange_customers(&app);
    let before = counts(&app);
    let keys = [
        "q",
        "country",
        "city",
        "status",
        "seen_from",
        "seen_to",
        "attr",
        "sort",
        "cursor",
        "unknown",
    ];

    for key in keys {
        for (label, value) in hostile_values() {
            let path = format!("{WS}/customers?{key}={}", encode_query(&value));
            checked(app.get(&path).await, &format!("list {key}={label}"), &[200, 400]).await;
        }
        for raw in RAW_QUERY_VALUES {
            let path = format!("{WS}/customers?{key}={raw}");
            checked(app.get(&path).await, &format!("list {key}={raw}"), &[200, 400]).await;
        }
        let repeated = format!(
            "{WS}/customers?{key}=a&{key}=%00&{key}={}",
            encode_query(XSS_SCRIPT)
        );
        checked(
            app.get(&repeated).await,
            &format!("list repeated {key}"),
            &[200, 400],
        )
        .await;
    }
    // Shaped like the real thing but not: attribute pairs and cursors.
    let cursor = |json: &str| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    };
    for query in [
        format!("attr={}", encode_query("plan=' OR 1=1 --")),
        format!("attr={}", encode_query("' OR 1=1 --=x")),
        format!("attr={}", encode_query("plan=%")),
        format!("attr={}", encode_query(&format!("plan={XSS_SCRIPT}"))),
        format!(
            "sort=name&cursor={}",
            cursor(r#"{"s":"name","name":"a\u0000b","id":1}"#)
        ),
        format!(
            "sort=name&cursor={}",
            cursor(r#"{"s":"name","name":"' OR 1=1 --","id":1}"#)
        ),
        format!(
            "sort=name&cursor={}",
            cursor(r#"{"s":"name","name":null,"id":9223372036854775807}"#)
        ),
        format!(
            "cursor={}",
            cursor(r#"{"s":"last_seen","at":"+262142-12-31T23:59:59.999999999","id":1}"#)
        ),
        format!(
            "cursor={}",
            cursor(r#"{"s":"last_seen","at":"-262143-01-01T00:00:00","id":1}"#)
        ),
        format!(
            "sort=created&cursor={}",
            cursor(r#"{"s":"created","at":"2026-01-01T23:59:60","id":1}"#)
        ),
        format!(
            "cursor={}",
            cursor(r#"{"s":"last_seen","at":"2026-01-01T00:00:00","id":1,"extra":[1,2,3]}"#)
        ),
        format!("cursor={}", "A".repeat(20_000)),
        "seen_from=2026-01-01&seen_to=2025-01-01".to_owned(),
        "seen_from=0001-01-01&seen_to=9999-12-31".to_owned(),
        "seen_to=+262142-12-31".to_owned(),
    ] {
        let path = format!("{WS}/customers?{query}");
        checked(app.get(&path).await, &format!("list {query}"), &[200, 400]).await;
    }

    // A query string far over any limit: refused before or at the handler.
    let huge = format!("{WS}/customers?q={}", "x".repeat(300 * 1024));
    match app.client.get(app.url(&huge)).send().await {
        Ok(response) => {
            checked(response, "list 300 KB query", &[400, 413, 414, 431]).await;
        }
        // actix-web answers 431 and stops reading, so the client may see its write cut.
        Err(err) => assert!(!err.is_timeout(), "a 300 KB query string hung: {err}"),
    }
    // Bytes that are not UTF-8 in the request line itself.
    let status = raw_request_status(
        &app,
        b"GET /w/acme-shop/customers?q=\xFF\xFE\x80 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        status.is_none_or(|s| s < 500),
        "raw bytes in the query: {status:?}"
    );

    checked(
        app.get(&format!("{WS}/customers")).await,
        "the list afterwards",
        &[200],
    )
    .await;
    assert_eq!(counts(&app), before, "looking changes nothing");
}

async fn hostile_audit_and_anonymized_filters_get_a_page_or_a_400(backend: Backend) {
    let (app, _) = owner_app(backend).await;
    for key in ["actor", "action", "from", "to", "before", "unknown"] {
        let mut values: Vec<(String, String)> = hostile_values()
            .into_iter()
            .map(|(label, value)| (label.to_owned(), encode_query(&value)))
            .collect();
        values.extend(
            RAW_QUERY_VALUES
                .iter()
                .map(|raw| (raw.to_string(), raw.to_string())),
        );
        for (label, value) in values {
            for page in ["audit", "audit/export.csv", "audit/export.jsonl"] {
                let path = format!("{WS}/{page}?{key}={value}");
                checked(
                    app.get(&path).await,
                    &format!("{page} {key}={label}"),
                    &[200, 400],
                )
                .await;
            }
        }
    }
    for query in [
        "from=2026-02-01&to=2026-01-01",
        "from=0001-01-01&to=9999-12-31",
        "to=+262142-12-31",
        "from=-262143-01-01",
        "from=-5000-01-01&to=-4000-01-01",
        "to=-5000-01-01",
        "from=+200000-01-01",
        "before=-9223372036854775808",
        "actor=-1&action=sign_in.failed&before=0",
    ] {
        let path = format!("{WS}/audit?{query}");
        checked(app.get(&path).await, &format!("audit {query}"), &[200, 400]).await;
    }
    // The anonymized list's page position: `{microseconds}_{id}`.
    let mut positions: Vec<(String, String)> = hostile_values()
        .into_iter()
        .map(|(label, value)| (label.to_owned(), encode_query(&value)))
        .collect();
    positions.extend(
        [
            "1_1",
            "-1_-1",
            "_",
            "1_",
            "_1",
            "-300000000000000000_1",
            "300000000000000000_1",
            "-9223372036854775808_9223372036854775807",
            "9223372036854775807_1",
            "1767225600000000_1_2",
            "%FF_%FE",
        ]
        .iter()
        .map(|raw| (raw.to_string(), raw.to_string())),
    );
    for (label, value) in positions {
        let path = format!("{WS}/anonymized?after={value}");
        checked(
            app.get(&path).await,
            &format!("anonymized after={label}"),
            &[200, 400],
        )
        .await;
    }
}

/// Posts the list's bulk form; a preview may be made, nothing is erased, and a refused
/// form makes nothing at all. A refusal is sent back to the list it came from (303 to
/// the list, with the reason in a message) or, for a body that is no form, a 400; both
/// are answered here as 400, and 303 means a preview was made.
async fn bulk_attempt(app: &TestApp, token: &str, fields: Vec<(String, String)>, what: String) -> u16 {
    let before = counts(app);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let response = post_form_with_token(app, token, &format!("{WS}/customers/bulk"), &fields).await;
    let to = location(&response);
    let (mut status, _) = checked(response, &what, &[303, 400]).await;
    if status == 303 && !to.contains("/jobs/") {
        assert!(to.starts_with(&format!("{WS}/customers")), "{what}: sent to {to}");
        status = 400;
    }
    let after = counts(app);
    assert_eq!(after[..3], before[..3], "{what}: a preview erases nothing");
    if status == 400 {
        assert_eq!(after, before, "{what}: refused, yet something changed");
    }
    status
}

async fn hostile_bulk_forms_change_nothing(backend: Backend) {
    let (app, token) = owner_app(backend).await;
    arrange_customers(&app);
    let bulk = format!("{WS}/customers/bulk");
    let mut accepted = 0;
    let attempt = |fields: Vec<(String, String)>, what: String| bulk_attempt(&app, &token, fields, what);

    for (label, value) in hostile_values() {
        let owned = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let v = value.as_str();
        let cases: Vec<(String, Vec<(String, String)>)> = vec![
            (format!("intent={label}"), owned(&[("intent", v), ("ids", "1")])),
            (
                format!("ids={label}"),
                owned(&[("intent", "delete_selected"), ("ids", v)]),
            ),
            (
                format!("page_ids={label}"),
                owned(&[("intent", "archive_selected"), ("page_ids", &format!("1,{v},2"))]),
            ),
            (
                format!("all_matching={label}"),
                owned(&[
                    ("intent", "delete_selected"),
                    ("all_matching", v),
                    ("q", "nobody-matches-this"),
                ]),
            ),
        ]
        .into_iter()
        .chain(
            [
                "q",
                "country",
                "city",
                "status",
                "seen_from",
                "seen_to",
                "attr",
                "sort",
                "cursor",
            ]
            .into_iter()
            .map(|key| {
                (
                    format!("filtered {key}={label}"),
                    owned(&[("intent", "delete_filtered"), (key, v)]),
                )
            }),
        )
        .collect();
        for (what, fields) in cases {
            if attempt(fields, format!("bulk {what}")).await == 303 {
                accepted += 1;
            }
        }
    }
    // Ten thousand and one ids, and ids far outside the workspace.
    let many: String = (1..=10_001).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let status = attempt(
        vec![
            ("intent".into(), "delete_selected".into()),
            ("page_ids".into(), many),
        ],
        "bulk 10,001 ids".into(),
    )
    .await;
    assert_eq!(status, 400);
    let status = attempt(
        vec![
            ("intent".into(), "delete_selected".into()),
            ("ids".into(), i64::MAX.to_string()),
            ("ids".into(), i64::MIN.to_string()),
        ],
        "bulk extreme ids".into(),
    )
    .await;
    assert_eq!(status, 400, "no such customers: nothing to preview");

    // Bytes that are not UTF-8, as a form.
    let before = counts(&app);
    let response = post_form_bytes(&app, &token, &bulk, invalid_utf8_form("intent", "ids=1")).await;
    checked(response, "bulk invalid UTF-8 intent", &[400]).await;
    let response = post_form_bytes(
        &app,
        &token,
        &bulk,
        invalid_utf8_form("q", "intent=delete_filtered"),
    )
    .await;
    checked(response, "bulk invalid UTF-8 filter", &[303, 400]).await;
    assert_eq!(counts(&app)[..3], before[..3]);
    // Some hostile-looking values are ordinary filters (a blank search, an address)
    // and make a preview; whatever previews were made, the customers are all there.
    assert!(accepted > 0, "no bulk form reached a preview");
    assert_eq!(app.count("customers"), 3, "{accepted} previews, no erasure");
}

async fn hostile_suppression_and_legal_hold_forms_are_refused_or_harmless(backend: Backend) {
    let (app, token) = owner_app(backend).await;
    arrange_customers(&app);

    for (label, value) in hostile_values() {
        let v = value.as_str();
        for (what, fields) in [
            ("identifier", vec![("identifier", v)]),
            ("identifier as email", vec![("identifier", v), ("kind", "email")]),
            ("identifier as id", vec![("identifier", v), ("kind", "id")]),
            ("kind", vec![("identifier", "someone"), ("kind", v)]),
        ] {
            let before = counts(&app);
            let response =
                post_form_with_token(&app, &token, &format!("{WS}/suppressions/lookup"), &fields).await;
            checked(response, &format!("lookup {what}={label}"), &[200, 422]).await;
            assert_eq!(
                counts(&app),
                before,
                "lookup {what}={label}: a lookup changes nothing"
            );
        }
        for (what, fields) in [
            ("identifier", vec![("identifier", v), ("reason", "manual")]),
            ("identifier as email", vec![("identifier", v), ("kind", "email")]),
            ("kind", vec![("identifier", "kind-test"), ("kind", v)]),
            ("reason", vec![("identifier", "reason-test"), ("reason", v)]),
        ] {
            let before = counts(&app);
            let response =
                post_form_with_token(&app, &token, &format!("{WS}/suppressions/add"), &fields).await;
            let (status, _) = checked(response, &format!("add {what}={label}"), &[303, 400, 422]).await;
            let after = counts(&app);
            assert_eq!(
                after[..2],
                before[..2],
                "add {what}={label}: no customer is touched"
            );
            if status != 303 {
                assert_eq!(
                    after, before,
                    "add {what}={label}: refused, yet something changed"
                );
            }
        }
        let before = counts(&app);
        let response = post_form_with_token(
            &app,
            &token,
            &format!("{WS}/customers/1/legal-hold"),
            &[("reason", v)],
        )
        .await;
        checked(response, &format!("legal hold reason={label}"), &[303, 400]).await;
        assert_eq!(counts(&app), before);
    }
    for raw in [
        invalid_utf8_form("identifier", "kind=id"),
        invalid_utf8_form("kind", "identifier=x"),
        invalid_utf8_form("reason", "identifier=x"),
    ] {
        for page in ["lookup", "add"] {
            let response =
                post_form_bytes(&app, &token, &format!("{WS}/suppressions/{page}"), raw.clone()).await;
            checked(
                response,
                &format!("{page} with invalid UTF-8"),
                &[200, 303, 400, 422],
            )
            .await;
        }
    }
    // The list and its export still render whatever was added.
    checked(
        app.get(&format!("{WS}/suppressions")).await,
        "suppressions page",
        &[200],
    )
    .await;
    checked(
        app.get(&format!("{WS}/suppressions/export.csv")).await,
        "suppressions export",
        &[200],
    )
    .await;
    checked(
        app.get(&format!("{WS}/customers/1")).await,
        "held customer",
        &[200],
    )
    .await;
}

async fn hostile_delete_all_names_send_no_code(backend: Backend) {
    let (app, token) = owner_app(backend).await;
    arrange_customers(&app);
    let path = format!("{WS}/customers/delete-all");
    let before = (counts(&app), app.count("otp_challenges"));

    let mut values = hostile_values();
    values.extend([
        ("other case", "acme shop".to_owned()),
        ("with NUL", "Acme Shop\0".to_owned()),
        ("zero width", "Acme\u{200B} Shop".to_owned()),
        ("slug", "acme-shop".to_owned()),
    ]);
    for (label, value) in values {
        let response = post_form_with_token(&app, &token, &path, &[("workspace_name", &value)]).await;
        checked(response, &format!("delete all name={label}"), &[422]).await;
    }
    let response = post_form_bytes(&app, &token, &path, invalid_utf8_form("workspace_name", "x=1")).await;
    checked(response, "delete all name with invalid UTF-8", &[400, 422]).await;
    for (label, code) in [
        ("letters", "abcdef"),
        ("NUL", "\0\0\0\0\0\0"),
        ("long", "1".repeat(10_000).as_str()),
    ] {
        let response =
            post_form_with_token(&app, &token, &format!("{path}/confirm"), &[("code", code)]).await;
        checked(
            response,
            &format!("delete all code={label}"),
            &[303, 400, 403, 422, 429],
        )
        .await;
    }

    assert_eq!(
        (counts(&app), app.count("otp_challenges")),
        before,
        "no code was made, nothing deleted"
    );
}

async fn hostile_sign_in_forms_are_refused_cleanly(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let client = new_client();
    let token = app.csrf_token_for(&client).await;
    let login = app.url("/login");

    for (label, value) in hostile_values() {
        for (what, fields) in [
            (
                "email",
                [("email", value.as_str()), ("password", "not the password")],
            ),
            (
                "password",
                [("email", "someone@example.com"), ("password", value.as_str())],
            ),
            (
                "owner's password",
                [("email", OWNER_EMAIL), ("password", value.as_str())],
            ),
        ] {
            let mut all = vec![("csrf_token", token.as_str())];
            all.extend_from_slice(&fields);
            let response = client.post(&login).form(&all).send().await.expect("POST");
            checked(response, &format!("login {what}={label}"), &[401, 429]).await;
        }
    }
    let response = client
        .post(&login)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-csrf-token", &token)
        .body(invalid_utf8_form("email", "password=x"))
        .send()
        .await
        .unwrap();
    checked(response, "login with invalid UTF-8", &[400, 401, 429]).await;
    for (label, code) in [
        ("letters", "abcdef"),
        ("NUL", "\0"),
        ("long", "9".repeat(10_000).as_str()),
    ] {
        let response = client
            .post(app.url("/login/totp"))
            .form(&[("csrf_token", token.as_str()), ("code", code)])
            .send()
            .await
            .unwrap();
        checked(
            response,
            &format!("totp code={label}"),
            &[303, 400, 401, 403, 429],
        )
        .await;
    }
    let response = app.get_with(&client, "/w/acme-shop/customers").await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "none of it signed anyone in"
    );
}

async fn hostile_setup_forms_create_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.csrf_token().await;
    let good = [
        ("name", "Olivia"),
        ("email", "olivia@example.com"),
        ("password", OWNER_PASSWORD),
        ("password_confirm", OWNER_PASSWORD),
        ("workspace", "Acme"),
    ];
    for (label, value) in hostile_values() {
        for field in ["name", "email", "password", "password_confirm", "workspace"] {
            // One other field is always wrong, so that no attempt can succeed.
            let mut fields: Vec<(&str, &str)> = good.to_vec();
            for f in fields.iter_mut() {
                if f.0 == field {
                    f.1 = value.as_str();
                }
            }
            let spoiled = if field == "email" { "name" } else { "email" };
            for f in fields.iter_mut() {
                if f.0 == spoiled {
                    f.1 = "";
                }
            }
            if field == "password" {
                // Typed twice, as the form asks.
                fields.retain(|f| f.0 != "password_confirm");
                fields.push(("password_confirm", value.as_str()));
            }
            let response = post_form_with_token(&app, &token, "/setup", &fields).await;
            checked(response, &format!("setup {field}={label}"), &[422]).await;
        }
    }
    let response = post_form_bytes(&app, &token, "/setup", invalid_utf8_form("name", "email=x")).await;
    checked(response, "setup with invalid UTF-8", &[400, 422]).await;
    assert_eq!(app.count("users"), 0);
    assert_eq!(app.count("workspaces"), 0);
}

/// A thousand distinct CJK characters: 3,000 bytes that do not compress.
fn incompressible_text(chars: usize) -> String {
    let mut seed: u32 = 0x2545_F491;
    (0..chars)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            char::from_u32(0x4E00 + seed % 0x5000).unwrap()
        })
        .collect()
}

/// Every hostile string as a JSON string, plus values of every other JSON type.
fn hostile_json() -> Vec<(String, Value)> {
    let mut deep = json!(1);
    for _ in 0..100 {
        deep = json!({ "a": [deep] });
    }
    let mut values: Vec<(String, Value)> = hostile_values()
        .into_iter()
        .map(|(label, value)| (format!("string {label}"), Value::String(value)))
        .collect();
    values.extend([
        ("1000 emoji".to_owned(), Value::String("🔥".repeat(1000))),
        ("null".to_owned(), Value::Null),
        ("true".to_owned(), json!(true)),
        ("false".to_owned(), json!(false)),
        ("number -1".to_owned(), json!(-1)),
        ("number 0".to_owned(), json!(0)),
        ("i64 min".to_owned(), json!(i64::MIN)),
        ("i64 max".to_owned(), json!(i64::MAX)),
        ("u64 max".to_owned(), json!(u64::MAX)),
        ("float".to_owned(), json!(1.5)),
        ("huge float".to_owned(), json!(1e308)),
        ("negative huge float".to_owned(), json!(-1e308)),
        ("tiny float".to_owned(), json!(5e-324)),
        ("negative zero".to_owned(), json!(-0.0)),
        ("array".to_owned(), json!([1, "a", null])),
        ("empty array".to_owned(), json!([])),
        ("object".to_owned(), json!({ "a": { "b": [1] } })),
        ("empty object".to_owned(), json!({})),
        ("100 levels deep".to_owned(), deep),
    ]);
    values
}

async fn hostile_track_api_bodies_are_refused_or_stored_safely(backend: Backend) {
    let (app, auth) = api_app_with(backend, Box::new(|s| s.api_rate_per_second = 1_000_000)).await;
    // A customer the events below belong to.
    let response = call(
        &app,
        &auth,
        Method::PUT,
        "/customers/hostile-body",
        Some(json!({ "name": "Target" })),
    )
    .await;
    checked(response, "arrange", &[200]).await;

    let identify_fields = [
        "email",
        "phone",
        "name",
        "country",
        "city",
        "created_at",
        "id",
        "cio_id",
        "plan",
        "",
        "EMAIL",
        "email ",
        XSS_SCRIPT,
        "a\0b",
    ];
    let long_key = "k".repeat(151);
    for (label, value) in hostile_json() {
        for field in identify_fields.iter().copied().chain([long_key.as_str()]) {
            let what = format!("PUT {{{:?}: {label}}}", excerpt(field));
            let before = counts(&app);
            let body = json!({ field: value.clone() });
            let response = call(&app, &auth, Method::PUT, "/customers/hostile-body", Some(body)).await;
            let (status, _) = checked(response, &what, &[200, 400]).await;
            if status != 200 {
                assert_eq!(counts(&app), before, "{what}: refused, yet something changed");
            }
        }
        for field in ["name", "data", "timestamp", "type", "id"] {
            let what = format!("POST events {{{field}: {label}}}");
            let mut body = json!({ "name": "hostile_test" });
            body[field] = value.clone();
            let before = counts(&app);
            let response = call(
                &app,
                &auth,
                Method::POST,
                "/customers/hostile-body/events",
                Some(body),
            )
            .await;
            let (status, _) = checked(response, &what, &[200, 400]).await;
            if status != 200 {
                assert_eq!(counts(&app), before, "{what}: refused, yet something changed");
            }
        }
        // The whole body of the wrong shape.
        for (verb, path) in [
            (Method::PUT, "/customers/hostile-body"),
            (Method::POST, "/customers/hostile-body/events"),
        ] {
            if value.is_object() {
                continue;
            }
            let before = counts(&app);
            let response = call(&app, &auth, verb.clone(), path, Some(value.clone())).await;
            checked(response, &format!("{verb} {path} body {label}"), &[400]).await;
            assert_eq!(counts(&app), before);
        }
    }

    // Bodies that are not JSON at all, or not UTF-8, or say they are something else.
    let bodies: Vec<(&str, &str, Vec<u8>)> = vec![
        ("empty", "application/json", Vec::new()),
        ("truncated", "application/json", b"{\"name\": \"a".to_vec()),
        (
            "not UTF-8",
            "application/json",
            vec![b'{', b'"', 0xFF, 0xFE, b'"', b':', b'1', b'}'],
        ),
        ("NUL byte", "application/json", b"{\"name\":\"a\0\"}".to_vec()),
        (
            "duplicate keys",
            "application/json",
            br#"{"name":"a","name":{"x":1}}"#.to_vec(),
        ),
        (
            "trailing garbage",
            "application/json",
            br#"{"name":"a"} <script>"#.to_vec(),
        ),
        (
            "lone surrogate",
            "application/json",
            br#"{"name":"\ud800"}"#.to_vec(),
        ),
        (
            "1000 levels deep",
            "application/json",
            format!("{}{}", "[".repeat(1000), "]".repeat(1000)).into_bytes(),
        ),
        ("a form", "application/x-www-form-urlencoded", b"name=a".to_vec()),
        ("text", "text/plain", br#"{"name":"a"}"#.to_vec()),
        ("no type", "", br#"{"name":"a"}"#.to_vec()),
    ];
    for (label, content_type, body) in bodies {
        for path in [
            "/customers/hostile-body",
            "/customers/hostile-body/events",
            "/customers/hostile-body/devices",
        ] {
            let method = if path.ends_with("events") {
                Method::POST
            } else {
                Method::PUT
            };
            let before = counts(&app);
            let mut request = app
                .client
                .request(method.clone(), app.url(&format!("/api/v1{path}")))
                .basic_auth(&auth.site_id, Some(&auth.key))
                .body(body.clone());
            if !content_type.is_empty() {
                request = request.header("content-type", content_type);
            }
            let response = request.send().await.unwrap();
            let (status, text) =
                checked(response, &format!("{method} {path} {label}"), &[200, 400, 415]).await;
            let parsed: Value =
                serde_json::from_str(&text).unwrap_or_else(|_| panic!("{label}: not JSON: {text}"));
            if status != 200 {
                assert!(parsed["code"].is_string(), "{label}: {text}");
                assert_eq!(counts(&app), before, "{method} {path} {label}");
            }
        }
    }

    // Whatever was stored renders, escaped.
    checked(
        app.get(&format!("{WS}/customers")).await,
        "the list after hostile writes",
        &[200],
    )
    .await;
    checked(
        app.get(&format!("{WS}/customers?q=hostile")).await,
        "search after hostile writes",
        &[200],
    )
    .await;
    checked(
        app.get(&format!("{WS}/customers?sort=name")).await,
        "by name after hostile writes",
        &[200],
    )
    .await;
    let id: i64 = {
        use diesel::prelude::*;
        use erasure::db::schema::customers;
        customers::table
            .filter(customers::external_id.eq("hostile-body"))
            .select(customers::id)
            .first(&mut **app.db())
            .unwrap()
    };
    checked(
        app.get(&format!("{WS}/customers/{id}")).await,
        "the profile after hostile writes",
        &[200],
    )
    .await;
}

async fn hostile_identifiers_in_api_paths_are_refused_or_harmless(backend: Backend) {
    let (app, auth) = api_app_with(backend, Box::new(|s| s.api_rate_per_second = 1_000_000)).await;
    let mut segments: Vec<(String, String)> = hostile_values()
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(label, value)| (label.to_owned(), encode_segment(&value)))
        .collect();
    segments.extend(
        [
            "%FF%FE", "%C3", "%00", "a%2Fb", "%2E%2E", "%25", "cio_%2B5", "cio_0", "cio_-1", "%20",
        ]
        .iter()
        .map(|raw| (raw.to_string(), raw.to_string())),
    );
    for (label, segment) in segments {
        for (method, path, body) in [
            (
                Method::PUT,
                format!("/customers/{segment}"),
                Some(json!({ "name": "Path test" })),
            ),
            (
                Method::POST,
                format!("/customers/{segment}/events"),
                Some(json!({ "name": "path_test" })),
            ),
            (Method::DELETE, format!("/customers/{segment}"), None),
        ] {
            let what = format!("{method} identifier {label}");
            let before = counts(&app);
            let response = call(&app, &auth, method.clone(), &path, body).await;
            let is_json = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json"));
            let (status, body) = checked(response, &what, &[200, 400, 403, 404, 409]).await;
            assert!(
                is_json,
                "{what}: the API answered {status} without JSON: {}",
                excerpt(&body)
            );
            if status != 200 {
                assert_eq!(counts(&app), before, "{what}: refused, yet something changed");
            }
        }
    }
}

async fn hostile_api_credentials_are_401(backend: Backend) {
    use base64::Engine;
    let (app, auth) = api_app(backend).await;
    let url = app.url("/api/v1/customers/someone");
    let before = counts(&app);
    for (label, value) in hostile_values() {
        for (user, password) in [
            (value.as_str(), auth.key.as_str()),
            (auth.site_id.as_str(), value.as_str()),
        ] {
            let response = app
                .client
                .put(&url)
                .basic_auth(user, Some(password))
                .json(&json!({ "name": "x" }))
                .send()
                .await
                .unwrap();
            checked(response, &format!("credentials with {label}"), &[401]).await;
        }
    }
    let encoded = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut headers: Vec<Vec<u8>> = vec![
        b"Basic".to_vec(),
        b"Basic ".to_vec(),
        b"Basic !!!".to_vec(),
        b"Bearer abc".to_vec(),
        format!("Basic {}", encoded(b"no-colon")).into_bytes(),
        format!("Basic {}", encoded(b":")).into_bytes(),
        format!("Basic {}", encoded(&[0xFF, 0xFE, b':', 0xFF])).into_bytes(),
        format!(
            "Basic {}",
            encoded(format!("{}\0:{}", auth.site_id, auth.key).as_bytes())
        )
        .into_bytes(),
        format!(
            "Basic {}",
            encoded(format!("{}:{}\0", auth.site_id, auth.key).as_bytes())
        )
        .into_bytes(),
        format!("basic {}", "A".repeat(8 * 1024)).into_bytes(),
    ];
    headers.push([b"Basic ".as_slice(), &[0xC3, 0xA9, 0xFF]].concat());
    for header in headers {
        let what = format!("Authorization: {}", excerpt(&String::from_utf8_lossy(&header)));
        let value = reqwest::header::HeaderValue::from_bytes(&header).unwrap();
        let response = app
            .client
            .put(&url)
            .header("authorization", value)
            .json(&json!({ "name": "x" }))
            .send()
            .await
            .unwrap();
        checked(response, &what, &[401]).await;
    }
    assert_eq!(counts(&app), before);
}

async fn oversized_bodies_are_413_and_change_nothing(backend: Backend) {
    let (app, token) = owner_app(backend).await;
    arrange_customers(&app);
    let (_, auth) = issue_key(&app, "Oversized");
    let before = counts(&app);
    let over_form = "x".repeat(70 * 1024);
    let over_everything = "x".repeat(300 * 1024);

    for (path, field) in [
        ("/login".to_owned(), "email"),
        (format!("{WS}/suppressions/add"), "identifier"),
        (format!("{WS}/suppressions/lookup"), "identifier"),
        (format!("{WS}/customers/delete-all"), "workspace_name"),
        (format!("{WS}/customers/1/legal-hold"), "reason"),
    ] {
        for (size, value) in [("70 KB", &over_form), ("300 KB", &over_everything)] {
            let response = post_form_with_token(&app, &token, &path, &[(field, value)]).await;
            let (_, body) = checked(response, &format!("{path} {size}"), &[413]).await;
            assert!(body.contains("too large"), "{path} {size}: the error page");
            let response =
                post_form_bytes(&app, &token, &path, format!("{field}={value}").into_bytes()).await;
            checked(response, &format!("{path} {size}, token in the header"), &[413]).await;
        }
    }
    let response = post_form_with_token(
        &app,
        &token,
        &format!("{WS}/customers/bulk"),
        &[("intent", "delete_selected"), ("ids", &over_everything)],
    )
    .await;
    checked(response, "bulk 300 KB", &[413]).await;
    let response = post_form_bytes(
        &app,
        &token,
        &format!("{WS}/customers/bulk"),
        format!("intent=delete_selected&ids={over_everything}").into_bytes(),
    )
    .await;
    checked(response, "bulk 300 KB, token in the header", &[413]).await;

    for (method, path) in [
        (Method::PUT, "/customers/big"),
        (Method::POST, "/customers/big/events"),
    ] {
        let body = json!({ "name": "big", "data": { "blob": over_everything } });
        let response = call(&app, &auth, method.clone(), path, Some(body)).await;
        let (_, text) = checked(response, &format!("{method} {path} 300 KB"), &[413]).await;
        assert!(text.contains("payload_too_large"), "{text}");
    }
    let response = call(
        &app,
        &auth,
        Method::POST,
        "/customers/big/events",
        Some(json!({ "name": "big", "data": { "blob": "x".repeat(100 * 1024) } })),
    )
    .await;
    let (_, text) = checked(response, "event data over 64 KB", &[400]).await;
    assert!(text.contains("invalid_event_data"), "{text}");

    assert_eq!(counts(&app), before);
}

async fn unknown_routes_and_wrong_methods_get_clean_errors(backend: Backend) {
    let (app, _) = owner_app(backend).await;
    let (_, auth) = issue_key(&app, "Routes");

    for path in [
        "/no/such/page",
        "/w/acme-shop/nope",
        "/w/acme-shop/customers/not-a-number",
        "/w/acme-shop/customers/99999999999999999999",
        "/w/acme-shop/customers/-1",
        "/w/acme-shop/jobs/%FF",
        "/w/%FF%FE/customers",
        "/w/acme-shop/receipts/..%2F..%2Fetc%2Fpasswd",
        "/static/..%2F..%2FCargo.toml",
        "/w/a%00b/customers",
        "/w/%27%20OR%201%3D1%20--/customers",
        "/w/acme-shop/receipts/a%00b",
        "/w/acme-shop/receipts/a%00b.json",
        "/w/acme-shop/receipts/%27%20OR%201%3D1%20--",
        "/w/acme-shop/receipts/%FF%FE.json",
        // An invitation link that is not (or no longer) valid is "gone": 410.
        "/invitations/a%00b",
        "/invitations/%FF%FE",
        // As is a password reset link.
        "/password/reset/a%00b",
        "/password/reset/%FF%FE",
        "/w/acme-shop/settings/roles/a%00b",
        "/w/acme-shop/settings/roles/99999999999999999999",
    ] {
        let response = app.get(path).await;
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        let (_, body) = checked(response, &format!("GET {path}"), &[404, 410]).await;
        assert!(content_type.starts_with("text/html"), "{path}: {content_type}");
        assert!(
            body.contains("/static/app.css"),
            "{path}: the 404 page is in the layout"
        );
    }
    for path in ["/api/nope", "/api/v1/nope", "/api/v1/customers/a/b/c"] {
        let response = app
            .client
            .get(app.url(path))
            .basic_auth(&auth.site_id, Some(&auth.key))
            .send()
            .await
            .unwrap();
        let (_, body) = checked(response, &format!("GET {path}"), &[404, 405]).await;
        let parsed: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path}: {body}"));
        assert!(parsed["code"].is_string(), "{path}: {body}");
    }

    for (method, path) in [
        (Method::DELETE, "/login"),
        (Method::PUT, "/w/acme-shop/customers"),
        (Method::PATCH, "/w/acme-shop/suppressions/lookup"),
        (Method::GET, "/w/acme-shop/customers/bulk"),
        (Method::GET, "/w/acme-shop/suppressions/add"),
        (Method::GET, "/logout"),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        let (_, body) = checked(response, &format!("{method} {path}"), &[405]).await;
        assert!(
            body.contains("/static/app.css"),
            "{method} {path}: the page is in the layout"
        );
    }
    for (method, path) in [
        (Method::PATCH, "/api/v1/customers/someone"),
        (Method::GET, "/api/v1/customers/someone"),
        (Method::GET, "/api/v1/customers/someone/events"),
        (Method::PUT, "/api/v1/customers/someone/suppress"),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .basic_auth(&auth.site_id, Some(&auth.key))
            .send()
            .await
            .unwrap();
        let (_, body) = checked(response, &format!("{method} {path}"), &[405]).await;
        let parsed: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path}: {body}"));
        assert_eq!(parsed["code"], "method_not_allowed", "{method} {path}");
    }
}

async fn a_formula_typed_into_a_filter_is_not_a_formula_in_the_audit_export(backend: Backend) {
    // User-typed text reaches the audit log only inside the selection of a bulk job
    // ("customers in <city>" or "every customer of workspace <name>"; a typed search or
    // attribute value is left out), never at the start of a cell; the export must keep
    // it that way.
    let (app, auth) = api_app_with(backend, Box::new(|_| {})).await;
    let formula = "=HYPERLINK(\"http://x\")";
    // Someone else, so that the archive is not of everyone (which waits for a code).
    call(
        &app,
        &auth,
        Method::PUT,
        "/customers/f0",
        Some(json!({ "city": "Elsewhere" })),
    )
    .await;
    let response = call(
        &app,
        &auth,
        Method::PUT,
        "/customers/f1",
        Some(json!({ "city": formula, "name": formula })),
    )
    .await;
    checked(response, "arrange", &[200]).await;

    let response = app
        .post_form(
            &format!("{WS}/customers/bulk"),
            &[("intent", "archive_filtered"), ("city", formula)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let job = location(&response);
    let confirmed = app.post_form(&format!("{job}/confirm"), &[]).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);

    let response = app.get(&format!("{WS}/audit/export.csv")).await;
    let (_, body) = checked(response, "audit export", &[200]).await;
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let started = rows
        .iter()
        .find(|r| &r[4] == "job.started")
        .expect("the job is in the log");
    assert!(
        started[6].contains("HYPERLINK"),
        "the typed city is in the selection: {:?}",
        &started[6]
    );
    for row in &rows {
        for cell in row.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a cell a spreadsheet would run: {cell:?}"
            );
        }
    }
    let response = app.get(&format!("{WS}/audit")).await;
    checked(response, "audit page with the formula", &[200]).await;
}

async fn a_customer_with_the_longest_name_does_not_break_paging(backend: Backend) {
    // Sorted by name, the last customer of the first page has the longest name the API
    // accepts, in four-byte characters: the next page's link carries that name (over
    // 1,000 characters of cursor) and must still be taken.
    let (app, auth) = api_app_with(backend, Box::new(|s| s.api_rate_per_second = 1_000_000)).await;
    let long_name = format!("n049{}", "🔥".repeat(196));
    for i in 0..55 {
        let name = if i == 49 {
            long_name.clone()
        } else {
            format!("n{i:03}")
        };
        let response = call(
            &app,
            &auth,
            Method::PUT,
            &format!("/customers/p{i}"),
            Some(json!({ "name": name })),
        )
        .await;
        checked(response, "arrange", &[200]).await;
    }
    let (_, first) = checked(
        app.get(&format!("{WS}/customers?sort=name")).await,
        "first page",
        &[200],
    )
    .await;
    let doc = scraper::Html::parse_document(&first);
    let next = doc
        .select(&scraper::Selector::parse("a").unwrap())
        .find(|a| a.text().collect::<String>().contains("Next page"))
        .and_then(|a| a.value().attr("href"))
        .expect("a next page link")
        .to_owned();
    let (_, second) = checked(app.get(&next).await, "the page after the longest name", &[200]).await;
    assert!(second.contains("n054"), "the second page lists the rest");
}

/// A name, country or city of 1000 characters the API accepts, each one an index key.
async fn index_sized_text_is_stored_or_refused_never_a_500(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    let text = incompressible_text(1000);
    for field in ["name", "country", "city"] {
        let before = counts(&app);
        let body = json!({ field: text.clone() });
        let response = call(
            &app,
            &auth,
            Method::PUT,
            &format!("/customers/index-{field}"),
            Some(body),
        )
        .await;
        let (status, _) = checked(
            response,
            &format!("PUT {field} of 3,000 incompressible bytes"),
            &[200, 400],
        )
        .await;
        if status != 200 {
            assert_eq!(counts(&app), before);
        }
    }
    checked(
        app.get(&format!("{WS}/customers?sort=name")).await,
        "the list",
        &[200],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_sized_text_is_stored_or_refused_never_a_500_on_sqlite() {
    index_sized_text_is_stored_or_refused_never_a_500(Backend::Sqlite).await
}

// PostgreSQL refuses a btree entry over 2,704 bytes ("index row size exceeds btree
// version 4 maximum"); the API bounds the indexed columns so that none can get there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_sized_text_is_stored_or_refused_never_a_500_on_postgres() {
    if let Some(backend) = Backend::postgres() {
        index_sized_text_is_stored_or_refused_never_a_500(backend).await
    }
}
