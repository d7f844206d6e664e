//! How a merge and a Track API v2 operation name a person: an object with exactly one
//! of `"id"`, `"email"` or `"cio_id"`, e.g. `{"email": "ada@example.com"}`.

use serde_json::Value;

use super::{Email, Identifier, IdentifierMode};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdentifiersError {
    #[error("must be an object with exactly one of \"id\", \"email\" or \"cio_id\"")]
    Shape,
    #[error("{0}")]
    Value(String),
    #[error("this workspace identifies customers by id only; use \"id\" or \"cio_id\"")]
    EmailNotAnIdentifier,
}

/// Parses `{"id"|"email"|"cio_id": value}`; `None` (the key was absent) is a shape error.
pub fn parse_identifiers(value: Option<Value>, mode: IdentifierMode) -> Result<Identifier, IdentifiersError> {
    let Some(Value::Object(object)) = value else {
        return Err(IdentifiersError::Shape);
    };
    let mut keys = object.into_iter();
    let (Some((key, value)), None) = (keys.next(), keys.next()) else {
        return Err(IdentifiersError::Shape);
    };
    let invalid = |message: String| IdentifiersError::Value(message);
    let text = match value {
        Value::String(text) => text,
        // Customer.io's libraries send numeric ids as numbers.
        Value::Number(number) if key != "email" => number.to_string(),
        _ => return Err(invalid(format!("{key} must be a string"))),
    };
    match key.as_str() {
        // An id is an id even when it looks like an address.
        "id" => Identifier::parse(&text, IdentifierMode::Id).map_err(|e| invalid(e.to_string())),
        "email" => {
            if mode != IdentifierMode::IdOrEmail {
                return Err(IdentifiersError::EmailNotAnIdentifier);
            }
            Email::parse(&text)
                .map(Identifier::Email)
                .map_err(|e| invalid(e.to_string()))
        }
        // Erasure's internal id, which the paths of the API spell `cio_{id}`.
        "cio_id" => {
            let number = text.strip_prefix("cio_").unwrap_or(&text);
            match Identifier::parse(&format!("cio_{number}"), IdentifierMode::Id) {
                Ok(id @ Identifier::InternalId(_)) => Ok(id),
                _ => Err(invalid("cio_id must be a customer's internal id, e.g. 42".into())),
            }
        }
        _ => Err(IdentifiersError::Shape),
    }
}
