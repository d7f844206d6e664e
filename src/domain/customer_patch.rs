//! The body of a Track API identify call (`PUT /api/v1/customers/{identifier}`), parsed:
//! the known keys become column changes, every other key an attribute change.

use chrono::{Duration, NaiveDateTime};
use serde_json::{Map, Value};

use super::{AnonymousId, AnonymousIdError, Email, EmailError};

pub const MAX_STRING_CHARS: usize = 1000;
/// The indexed columns are bounded tighter than attributes: every index entry must fit
/// PostgreSQL's 2,704-byte btree limit even in four-byte characters.
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_COUNTRY_CHARS: usize = 64;
pub const MAX_CITY_CHARS: usize = 100;
pub const MAX_PHONE_CHARS: usize = 64;
pub const MAX_ATTRIBUTE_KEY_CHARS: usize = 150;
pub const MAX_ATTRIBUTES: usize = 300;
/// How deep objects and arrays may nest inside one attribute's value (`{"a": {"b": 1}}`
/// under a key is one level).
pub const MAX_ATTRIBUTE_DEPTH: usize = 8;
/// A customer's attributes, serialized, at most: what one profile may hold.
pub const MAX_ATTRIBUTES_BYTES: usize = 100 * 1024;

/// What to do with one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<T> {
    Keep,
    Clear,
    Set(T),
}

impl<T> Change<T> {
    pub fn is_keep(&self) -> bool {
        matches!(self, Change::Keep)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CustomerPatch {
    pub email: Change<Email>,
    pub phone: Change<String>,
    pub name: Change<String>,
    pub country: Change<String>,
    pub city: Change<String>,
    pub created_at: Option<NaiveDateTime>,
    /// The device id under which the customer's events were sent before they were
    /// identified: those events become theirs. Not kept as an attribute (see `from_json`).
    pub anonymous_id: Option<AnonymousId>,
    /// Attributes to set; a `null` value removes the key.
    attributes: Map<String, Value>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PatchError {
    #[error("the body must be a JSON object of attributes")]
    NotAnObject,
    #[error("\"email\": {0}")]
    Email(EmailError),
    #[error("{0:?} must be a string, a number or null")]
    NotText(String),
    #[error("{0:?} can be at most {1} characters")]
    TooLong(String, usize),
    #[error("{0:?} cannot contain the NUL character")]
    Nul(String),
    #[error("an attribute name cannot be empty")]
    EmptyKey,
    #[error("attribute names can be at most 150 characters ({0:?}…)")]
    KeyTooLong(String),
    #[error("attribute {0:?} nests objects and arrays more than 8 levels deep")]
    TooDeep(String),
    #[error("a customer can have at most 300 attributes")]
    TooManyAttributes,
    #[error("a customer's attributes can take at most 100 KB, as JSON")]
    AttributesTooLarge,
    #[error("\"created_at\" must be a unix time in seconds, not in the future")]
    CreatedAt,
    #[error(transparent)]
    AnonymousId(#[from] AnonymousIdError),
}

impl PatchError {
    /// The API's error code for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            PatchError::NotAnObject => "invalid_body",
            PatchError::Email(_) => "invalid_email",
            PatchError::CreatedAt => "invalid_timestamp",
            PatchError::AnonymousId(_) => "invalid_anonymous_id",
            _ => "invalid_attribute",
        }
    }
}

/// Keys that name the customer rather than describe them. Customer.io's libraries send
/// the id in the body as well as in the path; storing it as an attribute would keep a
/// second copy of an identifier that erasure has to find.
const IDENTIFYING_KEYS: [&str; 2] = ["id", "cio_id"];

impl CustomerPatch {
    pub fn from_json(body: Value, now: NaiveDateTime) -> Result<CustomerPatch, PatchError> {
        let Value::Object(fields) = body else {
            return Err(PatchError::NotAnObject);
        };
        let mut patch = CustomerPatch {
            email: Change::Keep,
            phone: Change::Keep,
            name: Change::Keep,
            country: Change::Keep,
            city: Change::Keep,
            created_at: None,
            anonymous_id: None,
            attributes: Map::new(),
        };
        for (key, value) in fields {
            match key.as_str() {
                "email" => {
                    patch.email = match text_column(&key, value, MAX_STRING_CHARS)? {
                        Change::Set(raw) => Change::Set(Email::parse(&raw).map_err(PatchError::Email)?),
                        Change::Clear => Change::Clear,
                        Change::Keep => Change::Keep,
                    }
                }
                "phone" => patch.phone = text_column(&key, value, MAX_PHONE_CHARS)?,
                "name" => patch.name = text_column(&key, value, MAX_NAME_CHARS)?,
                "country" => patch.country = text_column(&key, value, MAX_COUNTRY_CHARS)?,
                "city" => patch.city = text_column(&key, value, MAX_CITY_CHARS)?,
                "created_at" => patch.created_at = created_at(&value, now)?,
                // Customer.io uses it to hand the device's anonymous events to the
                // customer. Kept as an attribute it would be one more copy of a device
                // identifier for erasure to find, so it is used and dropped.
                "anonymous_id" => patch.anonymous_id = AnonymousId::from_json(Some(value))?,
                k if IDENTIFYING_KEYS.contains(&k) => {}
                _ => {
                    check_attribute(&key, &value)?;
                    patch.attributes.insert(key, value);
                }
            }
        }
        if patch.attributes.len() > MAX_ATTRIBUTES {
            return Err(PatchError::TooManyAttributes);
        }
        Ok(patch)
    }

    /// Applies the attribute changes to a customer's stored attributes. Refuses a
    /// result past the count or size limit; `existing` is then left half merged, so
    /// the caller writes nothing.
    pub fn merge_attributes(&self, existing: &mut Map<String, Value>) -> Result<(), PatchError> {
        for (key, value) in &self.attributes {
            if value.is_null() {
                existing.remove(key);
            } else {
                existing.insert(key.clone(), value.clone());
            }
        }
        if existing.len() > MAX_ATTRIBUTES {
            return Err(PatchError::TooManyAttributes);
        }
        if serialized_len(existing) > MAX_ATTRIBUTES_BYTES {
            return Err(PatchError::AttributesTooLarge);
        }
        Ok(())
    }

    /// The attributes a brand-new customer starts with.
    pub fn new_attributes(&self) -> Result<Map<String, Value>, PatchError> {
        let mut attributes = Map::new();
        self.merge_attributes(&mut attributes)?;
        Ok(attributes)
    }

    pub fn changes_attributes(&self) -> bool {
        !self.attributes.is_empty()
    }
}

/// A column holding text. Numbers are taken as their text (a phone number sent as a
/// number is still a phone number); an empty string clears the column, as Customer.io does.
fn text_column(key: &str, value: Value, max_chars: usize) -> Result<Change<String>, PatchError> {
    let text = match value {
        Value::Null => return Ok(Change::Clear),
        Value::String(text) => text,
        Value::Number(number) => number.to_string(),
        _ => return Err(PatchError::NotText(key.to_owned())),
    };
    if text.is_empty() {
        return Ok(Change::Clear);
    }
    if text.chars().count() > max_chars {
        return Err(PatchError::TooLong(key.to_owned(), max_chars));
    }
    // PostgreSQL text cannot hold NUL; refused here, on both backends alike, rather
    // than failing in the database. (Attributes are stored as JSON, which escapes it.)
    if text.contains('\0') {
        return Err(PatchError::Nul(key.to_owned()));
    }
    Ok(Change::Set(text))
}

fn check_attribute(key: &str, value: &Value) -> Result<(), PatchError> {
    check_key(key)?;
    if nesting_depth(value) > MAX_ATTRIBUTE_DEPTH {
        return Err(PatchError::TooDeep(key.to_owned()));
    }
    check_nested(key, value)
}

fn check_key(key: &str) -> Result<(), PatchError> {
    if key.is_empty() {
        return Err(PatchError::EmptyKey);
    }
    if key.chars().count() > MAX_ATTRIBUTE_KEY_CHARS {
        return Err(PatchError::KeyTooLong(key.chars().take(40).collect()));
    }
    Ok(())
}

/// The same bounds at every depth: keys of nested objects as attribute names, strings
/// as attribute values. Errors name the top-level attribute, which the sender knows.
/// The depth is checked first, so this recursion is bounded.
fn check_nested(attribute: &str, value: &Value) -> Result<(), PatchError> {
    match value {
        Value::String(text) if text.chars().count() > MAX_STRING_CHARS => {
            Err(PatchError::TooLong(attribute.to_owned(), MAX_STRING_CHARS))
        }
        Value::Array(items) => items.iter().try_for_each(|item| check_nested(attribute, item)),
        Value::Object(map) => map.iter().try_for_each(|(key, item)| {
            check_key(key)?;
            check_nested(attribute, item)
        }),
        _ => Ok(()),
    }
}

/// How many objects and arrays nest in `value`: 0 for a scalar, 1 for `[1, 2]` or
/// `{"a": 1}`, 2 for `{"a": [1]}`. Iterative, so no input can overflow the stack.
pub fn nesting_depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut pending: Vec<(&Value, usize)> = vec![(value, 0)];
    while let Some((value, depth)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        deepest = deepest.max(depth + 1);
        pending.extend(children.map(|child| (child, depth + 1)));
    }
    deepest
}

/// The length of the attributes as stored (compact JSON), without building the text.
fn serialized_len(attributes: &Map<String, Value>) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing to a counter cannot fail.
    let _ = serde_json::to_writer(&mut counter, attributes);
    counter.0
}

fn created_at(value: &Value, now: NaiveDateTime) -> Result<Option<NaiveDateTime>, PatchError> {
    if value.is_null() {
        return Ok(None);
    }
    let at = unix_seconds(value).ok_or(PatchError::CreatedAt)?;
    if at.and_utc().timestamp() < 0 || at > now + Duration::days(1) {
        return Err(PatchError::CreatedAt);
    }
    Ok(Some(at))
}

/// A unix time in seconds: a number, or a string of digits (some clients send those).
/// Fractions of a second are dropped.
pub(crate) fn unix_seconds(value: &Value) -> Option<NaiveDateTime> {
    let seconds = match value {
        Value::Number(n) => match n.as_i64() {
            Some(s) => s,
            None => {
                let f = n.as_f64().filter(|f| f.is_finite())?;
                if f.abs() > 1e15 {
                    return None;
                }
                f.trunc() as i64
            }
        },
        Value::String(s) if !s.is_empty() && s.len() <= 15 && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()?
        }
        _ => return None,
    };
    chrono::DateTime::from_timestamp(seconds, 0).map(|at| at.naive_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap()
            .naive_utc()
    }

    fn parse(body: Value) -> Result<CustomerPatch, PatchError> {
        CustomerPatch::from_json(body, now())
    }

    #[test]
    fn known_keys_become_columns_and_the_rest_attributes() {
        let patch = parse(json!({
            "email": "Ada@Example.com", "phone": 5551234, "name": "Ada", "country": "",
            "city": null, "created_at": 1_600_000_000, "plan": "pro", "seats": 3, "id": "42",
        }))
        .unwrap();
        assert_eq!(patch.email, Change::Set(Email::parse("ada@example.com").unwrap()));
        assert_eq!(patch.phone, Change::Set("5551234".into()));
        assert_eq!(patch.name, Change::Set("Ada".into()));
        assert_eq!(patch.country, Change::Clear);
        assert_eq!(patch.city, Change::Clear);
        assert_eq!(patch.created_at.unwrap().and_utc().timestamp(), 1_600_000_000);
        let attributes = patch.new_attributes().unwrap();
        assert_eq!(Value::Object(attributes), json!({ "plan": "pro", "seats": 3 }));
    }

    #[test]
    fn attributes_merge_and_null_removes_a_key() {
        let mut stored = json!({ "plan": "free", "seats": 1 }).as_object().unwrap().clone();
        let patch = parse(json!({ "plan": "pro", "seats": null, "beta": true })).unwrap();
        patch.merge_attributes(&mut stored).unwrap();
        assert_eq!(Value::Object(stored), json!({ "plan": "pro", "beta": true }));
    }

    #[test]
    fn only_objects_are_bodies() {
        for body in [json!([]), json!("x"), json!(1), Value::Null] {
            assert_eq!(parse(body), Err(PatchError::NotAnObject));
        }
    }

    #[test]
    fn nested_objects_and_arrays_are_attributes_too() {
        let patch = parse(json!({
            "address": { "street": "x", "geo": { "lat": 1.5 } },
            "tags": [1, "two", { "three": [3] }],
        }))
        .unwrap();
        assert_eq!(
            Value::Object(patch.new_attributes().unwrap()),
            json!({ "address": { "street": "x", "geo": { "lat": 1.5 } }, "tags": [1, "two", { "three": [3] }] })
        );
        assert_eq!(
            parse(json!({ "name": true })),
            Err(PatchError::NotText("name".into()))
        );
    }

    /// `levels` objects nested one in another, the innermost holding `1`.
    fn nested(levels: usize) -> Value {
        (0..levels).fold(json!(1), |inner, _| json!({ "k": inner }))
    }

    #[test]
    fn nesting_is_at_most_eight_levels_deep_naming_the_attribute() {
        assert_eq!(nesting_depth(&json!(1)), 0);
        assert_eq!(nesting_depth(&json!([])), 1);
        assert_eq!(nesting_depth(&json!({ "a": [1, { "b": {} }] })), 4);
        assert_eq!(nesting_depth(&nested(8)), 8);
        assert!(parse(json!({ "deep": nested(8) })).is_ok());
        let err = parse(json!({ "deep": nested(9) })).unwrap_err();
        assert_eq!(err, PatchError::TooDeep("deep".into()));
        assert!(err.to_string().contains("\"deep\"") && err.to_string().contains('8'));
        assert_eq!(err.code(), "invalid_attribute");
        let arrays = (0..9).fold(json!(1), |inner, _| json!([inner]));
        assert_eq!(
            parse(json!({ "a": arrays })),
            Err(PatchError::TooDeep("a".into()))
        );
    }

    #[test]
    fn nested_keys_and_strings_have_the_top_level_bounds() {
        assert_eq!(
            parse(json!({ "a": { "b": "x".repeat(1001) } })),
            Err(PatchError::TooLong("a".into(), 1000))
        );
        assert_eq!(parse(json!({ "a": [{ "": 1 }] })), Err(PatchError::EmptyKey));
        assert!(matches!(
            parse(json!({ "a": { "k".repeat(151): 1 } })),
            Err(PatchError::KeyTooLong(_))
        ));
    }

    #[test]
    fn a_customers_attributes_take_at_most_100_kb() {
        // 99 strings of 1,000 characters: under the limit, as one body.
        let big: Map<String, Value> = (0..99)
            .map(|i| (format!("a{i}"), json!("x".repeat(1000))))
            .collect();
        let patch = parse(Value::Object(big.clone())).unwrap();
        assert!(patch.new_attributes().is_ok());
        // Three more, merged into what is stored, cross it.
        let mut stored = big;
        let more =
            parse(json!({ "b1": "y".repeat(1000), "b2": "y".repeat(1000), "b3": "y".repeat(1000) })).unwrap();
        let err = more.merge_attributes(&mut stored).unwrap_err();
        assert_eq!(err, PatchError::AttributesTooLarge);
        assert!(err.to_string().contains("100 KB"));
        assert_eq!(err.code(), "invalid_attribute");
        // The same in one nested value.
        let wide: Vec<Value> = (0..110).map(|_| json!("z".repeat(1000))).collect();
        let patch = parse(json!({ "list": wide })).unwrap();
        assert_eq!(patch.new_attributes(), Err(PatchError::AttributesTooLarge));
    }

    #[test]
    fn lengths_and_counts_are_bounded() {
        assert!(parse(json!({ "note": "x".repeat(1000) })).is_ok());
        assert!(matches!(
            parse(json!({ "note": "x".repeat(1001) })),
            Err(PatchError::TooLong(_, 1000))
        ));
        assert!(matches!(
            parse(json!({ "name": "x".repeat(201) })),
            Err(PatchError::TooLong(_, 200))
        ));
        assert!(parse(
            json!({ "name": "名".repeat(200), "country": "国".repeat(64), "city": "市".repeat(100) })
        )
        .is_ok());
        assert!(matches!(
            parse(json!({ "k".repeat(151): 1 })),
            Err(PatchError::KeyTooLong(_))
        ));
        assert_eq!(parse(json!({ "": 1 })), Err(PatchError::EmptyKey));
        let many: Map<String, Value> = (0..301).map(|i| (format!("a{i}"), json!(i))).collect();
        assert_eq!(parse(Value::Object(many)), Err(PatchError::TooManyAttributes));
    }

    #[test]
    fn merging_past_the_attribute_limit_is_refused() {
        let mut stored: Map<String, Value> = (0..300).map(|i| (format!("a{i}"), json!(i))).collect();
        let patch = parse(json!({ "one_more": 1 })).unwrap();
        assert_eq!(
            patch.merge_attributes(&mut stored),
            Err(PatchError::TooManyAttributes)
        );
    }

    #[test]
    fn bad_emails_and_timestamps_are_refused() {
        assert!(matches!(
            parse(json!({ "email": "not-an-address" })),
            Err(PatchError::Email(_))
        ));
        assert!(matches!(parse(json!({ "email": 5 })), Err(PatchError::Email(_))));
        assert_eq!(
            parse(json!({ "email": [] })),
            Err(PatchError::NotText("email".into()))
        );
        // Milliseconds by mistake land far in the future.
        for bad in [json!(1_700_000_000_000i64), json!(-5), json!("soon"), json!(true)] {
            assert_eq!(parse(json!({ "created_at": bad })), Err(PatchError::CreatedAt));
        }
        assert!(parse(json!({ "created_at": "1600000000" }))
            .unwrap()
            .created_at
            .is_some());
        assert!(parse(json!({ "created_at": 1_600_000_000.7 }))
            .unwrap()
            .created_at
            .is_some());
    }

    #[test]
    fn every_refusal_has_an_api_code() {
        assert_eq!(PatchError::NotAnObject.code(), "invalid_body");
        assert_eq!(PatchError::Email(EmailError::Malformed).code(), "invalid_email");
        assert_eq!(PatchError::CreatedAt.code(), "invalid_timestamp");
        assert_eq!(PatchError::TooDeep("a".into()).code(), "invalid_attribute");
    }

    #[test]
    fn an_anonymous_id_is_taken_aside_not_kept_as_an_attribute() {
        let patch = parse(json!({ "anonymous_id": "device-9", "plan": "pro" })).unwrap();
        assert_eq!(patch.anonymous_id.as_ref().map(|a| a.as_str()), Some("device-9"));
        let attributes = patch.new_attributes().unwrap();
        assert_eq!(Value::Object(attributes), json!({ "plan": "pro" }));
        assert_eq!(
            parse(json!({ "anonymous_id": ["x"] })).unwrap_err().code(),
            "invalid_anonymous_id"
        );
        assert_eq!(parse(json!({ "anonymous_id": null })).unwrap().anonymous_id, None);
    }
}
