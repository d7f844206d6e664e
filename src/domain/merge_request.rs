//! The body of a Track API merge (`POST /api/v1/merge_customers`), parsed:
//! `{"primary": {"id"|"email"|"cio_id": value}, "secondary": {…}}`.

use serde_json::{Map, Value};

use super::identifiers_object::{parse_identifiers, IdentifiersError};
use super::{Identifier, IdentifierMode};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRequest {
    /// The customer who remains.
    pub primary: Identifier,
    /// The customer merged into the primary, then deleted.
    pub secondary: Identifier,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MergeRequestError {
    #[error("the body must be a JSON object with \"primary\" and \"secondary\"")]
    NotAnObject,
    #[error("{0:?} must be an object with exactly one of \"id\", \"email\" or \"cio_id\"")]
    Side(&'static str),
    #[error("{0:?}: {1}")]
    Value(&'static str, String),
    #[error("{0:?}: this workspace identifies customers by id only; use \"id\" or \"cio_id\"")]
    EmailNotAnIdentifier(&'static str),
}

impl MergeRequestError {
    /// The API's error code for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            MergeRequestError::NotAnObject => "invalid_body",
            _ => "invalid_identifier",
        }
    }
}

impl MergeRequest {
    pub fn from_json(body: Value, mode: IdentifierMode) -> Result<MergeRequest, MergeRequestError> {
        let Value::Object(mut fields) = body else {
            return Err(MergeRequestError::NotAnObject);
        };
        let primary = side(&mut fields, "primary", mode)?;
        let secondary = side(&mut fields, "secondary", mode)?;
        Ok(MergeRequest { primary, secondary })
    }
}

fn side(
    fields: &mut Map<String, Value>,
    which: &'static str,
    mode: IdentifierMode,
) -> Result<Identifier, MergeRequestError> {
    parse_identifiers(fields.remove(which), mode).map_err(|err| match err {
        IdentifiersError::Shape => MergeRequestError::Side(which),
        IdentifiersError::Value(message) => MergeRequestError::Value(which, message),
        IdentifiersError::EmailNotAnIdentifier => MergeRequestError::EmailNotAnIdentifier(which),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Email;
    use serde_json::json;
    use IdentifierMode::*;

    fn parse(body: Value, mode: IdentifierMode) -> Result<MergeRequest, MergeRequestError> {
        MergeRequest::from_json(body, mode)
    }

    #[test]
    fn each_side_is_named_by_id_email_or_cio_id() {
        let merge = parse(
            json!({ "primary": { "id": "a@b.example" }, "secondary": { "email": "Ada@Example.com" } }),
            IdOrEmail,
        )
        .unwrap();
        assert_eq!(merge.primary, Identifier::ExternalId("a@b.example".into()));
        assert_eq!(
            merge.secondary,
            Identifier::Email(Email::parse("ada@example.com").unwrap())
        );
        let merge = parse(
            json!({ "primary": { "cio_id": "42" }, "secondary": { "id": 7 } }),
            Id,
        )
        .unwrap();
        assert_eq!(merge.primary, Identifier::InternalId(42));
        assert_eq!(merge.secondary, Identifier::ExternalId("7".into()));
        assert_eq!(
            parse(
                json!({ "primary": { "cio_id": 42 }, "secondary": { "cio_id": "cio_3" } }),
                Id
            )
            .unwrap()
            .secondary,
            Identifier::InternalId(3)
        );
    }

    #[test]
    fn an_email_names_nobody_in_an_id_only_workspace() {
        let err = parse(
            json!({ "primary": { "id": "1" }, "secondary": { "email": "ada@example.com" } }),
            Id,
        )
        .unwrap_err();
        assert_eq!(err, MergeRequestError::EmailNotAnIdentifier("secondary"));
        assert_eq!(err.code(), "invalid_identifier");
    }

    #[test]
    fn malformed_sides_are_refused() {
        for body in [
            json!({ "primary": { "id": "1" } }),
            json!({ "primary": "1", "secondary": { "id": "2" } }),
            json!({ "primary": {}, "secondary": { "id": "2" } }),
            json!({ "primary": { "id": "1", "email": "a@b.example" }, "secondary": { "id": "2" } }),
            json!({ "primary": { "phone": "1" }, "secondary": { "id": "2" } }),
            json!({ "primary": { "id": "" }, "secondary": { "id": "2" } }),
            json!({ "primary": { "id": null }, "secondary": { "id": "2" } }),
            json!({ "primary": { "cio_id": "abc" }, "secondary": { "id": "2" } }),
            json!({ "primary": { "email": "not-an-address" }, "secondary": { "id": "2" } }),
        ] {
            let err = parse(body.clone(), IdOrEmail).unwrap_err();
            assert_eq!(err.code(), "invalid_identifier", "{body}");
        }
        assert_eq!(parse(json!([]), Id).unwrap_err().code(), "invalid_body");
    }
}
