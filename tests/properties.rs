//! Properties of the parsers at the edge: whatever arrives, they answer with a value or
//! an error and never panic, and what they accept is normalized and reads back the same.
//!
//! They live here, in their own test binary, and use only the crate's public API.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, NaiveDateTime};
use erasure::domain::{
    ApiKeyName, Change, Cursor, CursorError, CustomerFilter, CustomerPatch, CustomerSort, Email, Identifier,
    IdentifierMode, OtpCode, QueryMap, RoleName, SortDirection, TrackEvent, WorkspaceName,
};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// Values that have broken other programs' parsers, or that a careless one would pass
/// on to SQL, HTML, a spreadsheet or a terminal.
const HOSTILE: &[&str] = &[
    "",
    " ",
    "\0",
    "a\0b",
    "' OR 1=1 --",
    "'; DROP TABLE customers; --",
    "\" OR \"\"=\"",
    "1 UNION SELECT password_hash FROM users",
    "%' OR '%'='",
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "=HYPERLINK(\"http://x\")",
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "\u{202E}evil\u{202C}",
    "\u{200F}שלום",
    "👩‍👩‍👧‍👦",
    "\u{FEFF}",
    "\u{85}",
    "%00",
    "%FF%FE",
    "%E2%80",
    "%",
    "%%",
    "%zz",
    "+",
    "&",
    "=",
    "==",
    "a=b=c",
    "../../etc/passwd",
    "${jndi:ldap://x}",
    "{{7*7}}",
    "cio_",
    "cio_0",
    "cio_-1",
    "cio_+5",
    "cio_9223372036854775807",
    "cio_9223372036854775808",
    "a@b.c",
    "A@B.CO",
    "@",
    "@@",
    "a@@b.co",
    "İ@x.co",
    "ß",
    "ǅ",
    "\r\n",
    "-1",
    "0",
    "-9223372036854775808",
    "9223372036854775807",
    "18446744073709551616",
    "1e308",
    "NaN",
    "null",
    "true",
    "[]",
    "{}",
    "2026-02-30",
    "2026-13-01",
    "0000-01-01",
    "9999-12-31",
    "+10000-01-01",
    "-0001-01-01",
];

fn hostile_constant() -> impl Strategy<Value = String> {
    prop::sample::select(HOSTILE).prop_map(str::to_owned)
}

/// Text of every kind: any characters (controls, NUL, RTL marks, emoji), the hostile
/// constants, and long runs that cross every length bound.
fn hostile_text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => ".{0,40}",
        2 => "\\PC{0,40}",
        2 => prop::collection::vec(any::<char>(), 0..24).prop_map(|v| v.into_iter().collect()),
        3 => hostile_constant(),
        2 => (hostile_constant(), hostile_constant(), "\\PC{0,8}").prop_map(|(a, b, c)| format!("{a}{c}{b}")),
        1 => (any::<char>(), prop::sample::select(vec![59usize, 60, 61, 64, 65, 79, 80, 81, 149, 150, 151, 199, 200, 201, 254, 255, 256, 999, 1000, 1001, 10_000]))
            .prop_map(|(c, n)| c.to_string().repeat(n)),
        1 => (" {0,3}", "\\PC{0,12}", " {0,3}").prop_map(|(a, b, c)| format!("{a}{b}{c}")),
    ]
    .boxed()
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn naive(seconds: i64, nanos: u32) -> Option<NaiveDateTime> {
    DateTime::from_timestamp(seconds, nanos).map(|at| at.naive_utc())
}

/// The first and the last second of years 1 to 9999, the moments a database holds.
const YEAR_1: i64 = -62_135_596_800;
const YEAR_9999_END: i64 = 253_402_300_799;

/// A moment a customer row can hold, many of them near today; leap seconds included.
fn stored_moment() -> impl Strategy<Value = NaiveDateTime> {
    prop_oneof![
        (0i64..4_000_000_000, 0u32..1_000_000_000),
        (YEAR_1..=YEAR_9999_END, 0u32..2_000_000_000),
    ]
    .prop_filter_map("a valid moment", |(s, n)| naive(s, n))
}

/// A moment no row holds: outside years 1 to 9999, as far as chrono goes.
fn impossible_moment() -> impl Strategy<Value = NaiveDateTime> {
    prop_oneof![
        (-8_210_298_412_800i64..YEAR_1, 0u32..1_000_000_000),
        (YEAR_9999_END + 1..8_210_298_412_799, 0u32..1_000_000_000),
    ]
    .prop_filter_map("in chrono's range", |(s, n)| naive(s, n))
}

/// A cursor of every shape the list can make from a stored customer.
fn any_cursor() -> impl Strategy<Value = Cursor> {
    prop_oneof![
        (stored_moment(), 1i64..).prop_map(|(at, id)| Cursor::LastSeen { at, id }),
        (stored_moment(), 1i64..).prop_map(|(at, id)| Cursor::Created { at, id }),
        (1i64..).prop_map(|id| Cursor::Name { id }),
    ]
}

/// A cursor no stored customer can make: a moment out of range.
fn impossible_cursor() -> impl Strategy<Value = Cursor> {
    prop_oneof![
        (impossible_moment(), 1i64..).prop_map(|(at, id)| Cursor::LastSeen { at, id }),
        (impossible_moment(), 1i64..).prop_map(|(at, id)| Cursor::Created { at, id }),
    ]
}

fn any_sort() -> impl Strategy<Value = CustomerSort> {
    prop::sample::select(CustomerSort::ALL.to_vec())
}

fn any_direction() -> impl Strategy<Value = SortDirection> {
    prop::sample::select(SortDirection::ALL.to_vec())
}

/// One value as it stands in a query string (already encoded, or deliberately not).
fn query_value() -> BoxedStrategy<String> {
    prop_oneof![
        4 => hostile_text().prop_map(|v| encode(&v)),
        2 => hostile_text(),
        2 => prop::collection::vec(any::<u8>(), 0..12)
            .prop_map(|bytes| bytes.iter().map(|b| format!("%{b:02X}")).collect::<String>()),
        2 => prop::sample::select(vec!["active", "inactive", "anonymous", "Active", " active ", "last_seen", "created", "name", "NAME"])
            .prop_map(str::to_owned),
        2 => prop::sample::select(vec!["asc", "desc", "ASC", "up", "25", "50", "100", "250", "10", "0", "-1", "1e2", " 25"])
            .prop_map(str::to_owned),
        2 => (0u32..100_000, 0u32..15, 0u32..35).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        2 => ("[a-zA-Z0-9_.-]{0,70}", hostile_text()).prop_map(|(k, v)| encode(&format!("{k}={v}"))),
        2 => (any_cursor(), any_direction()).prop_map(|(c, d)| c.encode(d)),
        1 => (any_cursor(), any_direction()).prop_map(|(c, d)| format!("{}==", c.encode(d))),
        1 => prop::sample::select(vec![1024usize, 1025, 10_000, 100_000]).prop_map(|n| "a".repeat(n)),
    ]
    .boxed()
}

fn query_key() -> BoxedStrategy<String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "q", "country", "city", "status", "seen_from", "seen_to", "attr", "sort", "dir", "per_page", "cursor", "before",
        ])
            .prop_map(str::to_owned),
        1 => "[a-z_%0-9]{0,8}",
        1 => hostile_text().prop_map(|k| encode(&k)),
    ]
    .boxed()
}

/// A query string a form could have made, each field present or not, mostly valid.
fn form_query() -> BoxedStrategy<String> {
    let text = || prop::option::of(prop_oneof![3 => "\\PC{0,30}", 1 => hostile_text()]);
    let date = || {
        prop::option::of(prop_oneof![
            3 => (1970u32..2100, 1u32..13, 1u32..29).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
            1 => hostile_text(),
        ])
    };
    (
        (
            text(),
            prop::option::of(prop_oneof!["[a-zA-Z]{2}", "\\PC{0,70}"]),
            text(),
        ),
        prop::option::of(prop::sample::select(vec![
            "active",
            "inactive",
            "anonymous",
            "",
            "gone",
        ])),
        (date(), date()),
        prop::option::of(
            (
                "[a-zA-Z0-9_.-]{1,10}",
                " ?",
                prop_oneof![3 => "\\PC{0,30}", 1 => hostile_text()],
            )
                .prop_map(|(k, sp, v)| format!("{k}{sp}={v}")),
        ),
        (
            any_cursor(),
            any_direction(),
            prop::option::of(prop::sample::select(vec![25, 50, 100, 250])),
        ),
        prop::sample::select(vec![None, Some("cursor"), Some("before")]),
    )
        .prop_map(
            |((q, country, city), status, (from, to), attr, (cursor, direction, per_page), page)| {
                let sort = cursor.sort().key();
                let mut pairs: Vec<(&str, String)> =
                    vec![("sort", sort.to_owned()), ("dir", direction.key().to_owned())];
                if let Some(per_page) = per_page {
                    pairs.push(("per_page", per_page.to_string()));
                }
                for (key, value) in [
                    ("q", q),
                    ("country", country),
                    ("city", city),
                    ("seen_from", from),
                    ("seen_to", to),
                    ("attr", attr),
                ] {
                    if let Some(value) = value {
                        pairs.push((key, value));
                    }
                }
                if let Some(status) = status {
                    pairs.push(("status", status.to_owned()));
                }
                if let Some(key) = page {
                    pairs.push((key, cursor.encode(direction)));
                }
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs)
                    .finish()
            },
        )
        .boxed()
}

/// A whole query string: repeated keys, stray separators, raw and encoded values.
fn query_string() -> BoxedStrategy<String> {
    prop_oneof![
        6 => form_query(),
        6 => prop::collection::vec((query_key(), query_value(), prop::bool::ANY), 0..12).prop_map(|pairs| {
            pairs
                .into_iter()
                .map(|(k, v, with_eq)| if with_eq || v.is_empty() { format!("{k}={v}") } else { k })
                .collect::<Vec<_>>()
                .join("&")
        }),
        1 => hostile_text(),
        1 => ".{0,200}",
    ]
    .boxed()
}

/// A JSON scalar of every kind, numbers at their extremes included.
fn json_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-2_000_000_000i64..5_000_000_000).prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        (-1e16f64..1e16).prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        hostile_text().prop_map(Value::String),
        "[0-9]{0,20}".prop_map(Value::String),
    ]
    .boxed()
}

fn json_key() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "email", "phone", "name", "country", "city", "created_at", "id", "cio_id", "data", "timestamp", "type",
        ])
        .prop_map(str::to_owned),
        2 => hostile_text(),
    ]
    .boxed()
}

/// Any JSON tree, nested a few levels deep.
fn json_value() -> BoxedStrategy<Value> {
    json_leaf()
        .prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec((json_key(), inner), 0..8)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
            ]
        })
        .boxed()
}

/// A JSON object with the keys a body is meant to have, bound to anything.
fn json_body() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => prop::collection::vec((json_key(), json_value()), 0..10)
            .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
        1 => json_value(),
        1 => (290usize..310, json_leaf()).prop_map(|(n, value)| {
            Value::Object((0..n).map(|i| (format!("attr_{i}"), value.clone())).collect())
        }),
        3 => (
            prop_oneof![3 => "\\PC{1,40}", 1 => hostile_text()],
            prop_oneof![
                3 => prop::collection::vec((json_key(), json_value()), 0..8)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
                1 => json_value(),
            ],
            prop_oneof![3 => Just(Value::Null), 3 => (946_684_800i64..1_780_086_400).prop_map(Value::from), 2 => json_leaf()],
        )
            .prop_map(|(name, data, timestamp)| serde_json::json!({ "name": name, "data": data, "timestamp": timestamp })),
    ]
    .boxed()
}

fn now() -> NaiveDateTime {
    naive(1_780_000_000, 0).unwrap()
}

fn any_mode() -> impl Strategy<Value = IdentifierMode> {
    prop::sample::select(vec![IdentifierMode::Id, IdentifierMode::IdOrEmail])
}

/// Address-shaped text: mostly almost right.
fn email_like() -> BoxedStrategy<String> {
    prop_oneof![
        2 => hostile_text(),
        3 => ("\\s{0,2}", "[a-zA-Z0-9._%+İßǅ -]{0,70}", "@{0,3}", "[a-zA-Z0-9.-]{0,20}", "(\\.[a-zA-Z]{0,4})?", "\\s{0,2}")
            .prop_map(|(a, local, at, domain, tld, b)| format!("{a}{local}{at}{domain}{tld}{b}")),
        1 => (".{0,10}", ".{0,10}").prop_map(|(l, d)| format!("{l}@{d}")),
        3 => ("\\s{0,2}", "[a-zA-Z0-9._%+-]{1,20}", "[a-zA-Z0-9-]{1,15}", "[a-zA-Z]{2,6}", "\\s{0,2}")
            .prop_map(|(a, local, domain, tld, b)| format!("{a}{local}@{domain}.{tld}{b}")),
        1 => ("\\PC{1,10}", "\\PC{1,10}", "\\PC{1,4}").prop_map(|(l, d, t)| format!("{l}@{d}.{t}")),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_filter_from_any_query_string_reads_back_the_same(query in query_string()) {
        let parsed = CustomerFilter::from_query_string(&query);
        if let Ok(filter) = parsed {
            let _ = filter.describe();
            let again = CustomerFilter::from_query_string(&filter.to_query_string());
            prop_assert_eq!(again.as_ref(), Ok(&filter), "query {:?} made {:?}", query, filter.to_query_string());
            for text in [filter.q(), filter.country(), filter.city()].into_iter().flatten() {
                prop_assert_eq!(text, text.trim());
                prop_assert!(!text.is_empty() && text.chars().count() <= 200);
                prop_assert!(!text.chars().any(char::is_control));
            }
            if let (Some(from), Some(to)) = (filter.seen_from(), filter.seen_to()) {
                prop_assert!(from <= to);
            }
            if let Some(start) = filter.start() {
                prop_assert_eq!(start.cursor().sort(), filter.sort());
                prop_assert!(start.cursor().id() > 0);
            }
            prop_assert!(filter.first_page().start().is_none());
            prop_assert!([25, 50, 100, 250].contains(&filter.per_page().get()));
        }
    }

    #[test]
    fn a_filter_from_any_pairs_never_panics(pairs in prop::collection::vec((hostile_text(), hostile_text()), 0..12)) {
        let query: QueryMap = pairs.into_iter().collect();
        if let Ok(filter) = CustomerFilter::from_query(&query) {
            let _ = filter.describe();
            prop_assert_eq!(CustomerFilter::from_query_string(&filter.to_query_string()), Ok(filter));
        }
    }

    #[test]
    fn a_filter_keeps_the_first_of_a_repeated_key(first in "[a-z]{1,10}", second in "[a-z]{1,10}") {
        let filter = CustomerFilter::from_query_string(&format!("city={first}&city={second}")).unwrap();
        prop_assert_eq!(filter.city(), Some(first.as_str()));
    }

    #[test]
    fn decoding_any_text_as_a_cursor_never_panics(raw in prop_oneof![
        hostile_text(),
        "[A-Za-z0-9_=-]{0,200}",
        prop::collection::vec(any::<u8>(), 0..200).prop_map(|b| URL_SAFE_NO_PAD.encode(b)),
        json_value().prop_map(|v| URL_SAFE_NO_PAD.encode(v.to_string())),
        (prop::sample::select(vec!["last_seen", "created", "name", "other"]), json_leaf(), json_leaf())
            .prop_map(|(s, at, id)| URL_SAFE_NO_PAD.encode(serde_json::json!({ "s": s, "at": at, "name": at, "id": id }).to_string())),
    ], sort in any_sort(), direction in any_direction()) {
        if let Ok(cursor) = Cursor::decode(&raw, sort, direction) {
            prop_assert_eq!(cursor.sort(), sort);
            prop_assert!(cursor.id() > 0);
        }
    }

    #[test]
    fn every_cursor_the_list_can_make_decodes_back(cursor in any_cursor(), direction in any_direction()) {
        let encoded = cursor.encode(direction);
        prop_assert!(encoded.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        prop_assert_eq!(Cursor::decode(&encoded, cursor.sort(), direction), Ok(cursor.clone()));
        let other = CustomerSort::ALL.into_iter().find(|s| *s != cursor.sort()).unwrap();
        prop_assert_eq!(Cursor::decode(&encoded, other, direction), Err(CursorError::OtherSort));
        prop_assert_eq!(
            Cursor::decode(&encoded, cursor.sort(), direction.reversed()),
            Err(CursorError::OtherSort)
        );
    }

    #[test]
    fn a_cursor_no_stored_customer_can_make_is_refused(cursor in impossible_cursor()) {
        let direction = cursor.sort().default_direction();
        prop_assert_eq!(Cursor::decode(&cursor.encode(direction), cursor.sort(), direction), Err(CursorError::Malformed));
    }

    #[test]
    fn an_identifier_parses_to_itself_or_is_refused(raw in prop_oneof![hostile_text(), email_like()], mode in any_mode()) {
        if let Ok(identifier) = Identifier::parse(&raw, mode) {
            match &identifier {
                Identifier::ExternalId(id) => {
                    prop_assert_eq!(id, &raw);
                    prop_assert!(!id.starts_with("cio_"));
                }
                Identifier::InternalId(n) => {
                    prop_assert!(*n > 0);
                    prop_assert_eq!(format!("cio_{n}"), raw.clone());
                }
                Identifier::Email(_) => prop_assert_eq!(mode, IdentifierMode::IdOrEmail),
            }
            prop_assert!(!raw.is_empty() && raw.chars().count() <= 150);
            prop_assert!(!raw.chars().any(char::is_control));
            prop_assert_eq!(Identifier::parse(&identifier.to_string(), mode), Ok(identifier.clone()));
            if let Some(external) = identifier.external_id_for_new() {
                prop_assert!(!external.is_empty());
            }
        }
    }

    #[test]
    fn an_accepted_email_is_trimmed_lower_case_and_has_one_at(raw in email_like()) {
        if let Ok(email) = Email::parse(&raw) {
            let value = email.as_str();
            prop_assert_eq!(value, value.trim());
            prop_assert_eq!(value.to_lowercase(), value);
            prop_assert_eq!(value.matches('@').count(), 1);
            prop_assert!(value.len() <= 254);
            prop_assert!(!value.chars().any(|c| c.is_control() || c.is_whitespace()));
            let (local, domain) = value.split_once('@').unwrap();
            prop_assert!(!local.is_empty() && domain.contains('.'));
            prop_assert_eq!(Email::parse(value), Ok(email.clone()));
        }
    }

    #[test]
    fn a_customer_patch_from_any_json_never_panics(body in json_body()) {
        if let Ok(patch) = CustomerPatch::from_json(body, now()) {
            for text in [&patch.phone, &patch.name, &patch.country, &patch.city] {
                if let Change::Set(text) = text {
                    prop_assert!(!text.is_empty() && text.chars().count() <= 1000);
                    prop_assert!(!text.contains('\0'), "PostgreSQL cannot store NUL");
                }
            }
            if let Change::Set(email) = &patch.email {
                prop_assert_eq!(Email::parse(email.as_str()), Ok(email.clone()));
            }
            if let Some(created) = patch.created_at {
                prop_assert!(created.and_utc().timestamp() >= 0);
                prop_assert!(created <= now() + chrono::Duration::days(1));
            }
            if let Ok(attributes) = patch.new_attributes() {
                prop_assert!(attributes.len() <= 300);
                // Nested values are taken, at most 8 levels deep; a null removes a key,
                // so none is stored, at any depth.
                fn depth(v: &Value) -> usize {
                    match v {
                        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
                        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
                        _ => 0,
                    }
                }
                prop_assert!(attributes.values().all(|v| !v.is_null() && depth(v) <= 8));
            }
            let mut existing = Map::new();
            existing.insert("kept".into(), Value::from(1));
            let _ = patch.merge_attributes(&mut existing);
        }
    }

    #[test]
    fn a_track_event_from_any_json_never_panics(body in json_body()) {
        if let Ok(event) = TrackEvent::from_json(body, now()) {
            prop_assert!(!event.name.trim().is_empty() && event.name.chars().count() <= 255);
            prop_assert!(!event.name.chars().any(char::is_control));
            prop_assert!(event.properties.len() <= 64 * 1024);
            let properties: Value = serde_json::from_str(&event.properties).unwrap();
            prop_assert!(properties.is_object());
            prop_assert!(event.occurred_at <= now() + chrono::Duration::days(1));
            prop_assert!(event.occurred_at.and_utc().timestamp() >= 946_684_800);
        }
    }

    #[test]
    fn an_otp_code_is_six_digits_or_nothing(typed in prop_oneof![
        hostile_text(),
        "[0-9 -]{0,12}",
        "[0-9０-９٠-٩]{6}",
        ("[0-9]{6}", " {0,3}", "-{0,2}").prop_map(|(d, s, h)| format!("{s}{}{h}{}{s}", &d[..3], &d[3..])),
    ]) {
        match OtpCode::parse(&typed) {
            Some(code) => {
                prop_assert_eq!(code.as_str().len(), 6);
                prop_assert!(code.as_str().bytes().all(|b| b.is_ascii_digit()));
                let digits: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
                prop_assert_eq!(code.as_str(), digits.as_str());
                let shown = format!("{code:?}");
                prop_assert!(!shown.contains(code.as_str()));
            }
            None => {
                let digits: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
                prop_assert!(digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()));
            }
        }
    }

    #[test]
    fn a_workspace_name_is_trimmed_printable_and_has_a_slug(raw in hostile_text()) {
        if let Ok(name) = WorkspaceName::parse(&raw) {
            let value = name.as_str();
            prop_assert_eq!(value, raw.trim());
            prop_assert!(!value.is_empty() && value.chars().count() <= 80);
            prop_assert!(!value.chars().any(char::is_control));
            let slug = name.slug();
            prop_assert!(!slug.is_empty() && slug.len() <= 48);
            prop_assert!(slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            prop_assert!(!slug.starts_with('-') && !slug.ends_with('-') && !slug.contains("--"));
            prop_assert_eq!(WorkspaceName::parse(value), Ok(name.clone()));
        }
    }

    #[test]
    fn key_and_role_names_are_trimmed_and_printable(raw in hostile_text()) {
        if let Ok(name) = ApiKeyName::parse(&raw) {
            prop_assert_eq!(name.as_str(), raw.trim());
            prop_assert!(!name.as_str().is_empty() && name.as_str().chars().count() <= 80);
            prop_assert!(!name.as_str().chars().any(char::is_control));
        }
        if let Ok(name) = RoleName::parse(&raw) {
            prop_assert_eq!(name.as_str(), raw.trim());
            prop_assert!(!name.as_str().is_empty() && name.as_str().chars().count() <= 60);
            prop_assert!(!name.as_str().chars().any(char::is_control));
            let padded = format!("  {}  ", name.as_str());
            prop_assert!(name.same_as(&padded));
        }
    }
}
