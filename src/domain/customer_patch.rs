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
    #[error("attribute {0:?} must be a string, number, boolean or null, not an object or array")]
    NotScalar(String),
    #[error("a customer can have at most 300 attributes")]
    TooManyAttributes,
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

    /// Applies the attribute changes to a customer's stored attributes.
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
    if key.is_empty() {
        return Err(PatchError::EmptyKey);
    }
    if key.chars().count() > MAX_ATTRIBUTE_KEY_CHARS {
        return Err(PatchError::KeyTooLong(key.chars().take(40).collect()));
    }
    match value {
        Value::String(text) if text.chars().count() > MAX_STRING_CHARS => {
            Err(PatchError::TooLong(key.to_owned(), MAX_STRING_CHARS))
        }
        Value::Object(_) | Value::Array(_) => Err(PatchError::NotScalar(key.to_owned())),
        _ => Ok(()),
    }
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
    fn nested_values_are_refused_naming_the_key() {
        let err = parse(json!({ "address": { "street": "x" } })).unwrap_err();
        assert_eq!(err, PatchError::NotScalar("address".into()));
        assert!(err.to_string().contains("\"address\""));
        assert!(parse(json!({ "tags": [1] })).is_err());
        assert_eq!(
            parse(json!({ "name": true })),
            Err(PatchError::NotText("name".into()))
        );
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
        assert_eq!(PatchError::NotScalar("a".into()).code(), "invalid_attribute");
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
