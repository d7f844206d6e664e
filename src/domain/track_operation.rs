//! One operation of the Track API v2, parsed: the body of `POST /api/v2/entity`, and
//! each element of `POST /api/v2/batch`'s `"batch"` array. Customer.io's shape:
//! `{"type": "person", "identifiers": {"id": "42"}, "action": "identify",
//! "attributes": {…}}`, and per action its own keys (`name` and `timestamp` for an
//! event, `device` for devices, `primary` and `secondary` for a merge).
//!
//! Each action becomes the same value the matching v1 call parses, through the same
//! parser, so a v2 call is held to exactly the bounds of its v1 twin.

use chrono::NaiveDateTime;
use serde_json::{json, Map, Value};

use super::identifiers_object::{parse_identifiers, IdentifiersError};
use super::{
    CustomerPatch, DeviceError, DeviceToken, DeviceUpdate, EventError, Identifier, IdentifierMode,
    MergeRequest, MergeRequestError, PatchError, TrackEvent,
};

/// The most operations one batch may carry, as Customer.io allows.
pub const MAX_BATCH_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
pub enum TrackOperation {
    Identify {
        identifier: Identifier,
        patch: CustomerPatch,
    },
    Delete {
        identifier: Identifier,
    },
    /// An `event`, a `page` view or a mobile `screen` view: all stored as events.
    Event {
        identifier: Identifier,
        event: TrackEvent,
    },
    AddDevice {
        identifier: Identifier,
        device: DeviceUpdate,
    },
    DeleteDevice {
        identifier: Identifier,
        token: DeviceToken,
    },
    Suppress {
        identifier: Identifier,
    },
    Unsuppress {
        identifier: Identifier,
    },
    Merge(MergeRequest),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OperationError {
    #[error("an operation must be a JSON object")]
    NotAnObject,
    #[error("\"type\" must be \"person\"")]
    Type,
    /// Customer.io's objects and deliveries: Erasure keeps people only, and would hold
    /// data it cannot find to erase if it kept these.
    #[error("\"type\": {0:?} is not kept by Erasure, which stores people and their activity only; nothing was written")]
    UnsupportedType(String),
    #[error("\"action\" is required, e.g. \"identify\", \"event\" or \"delete\"")]
    Action,
    #[error("\"action\": {0:?} is not supported for a person; Erasure supports identify, delete, event, page, screen, add_device, delete_device, suppress, unsuppress and merge")]
    UnsupportedAction(String),
    #[error("\"cio_relationships\" relate people to objects, which Erasure does not keep; send the identify without them")]
    Relationships,
    #[error("\"identifiers\" {0}")]
    Identifiers(IdentifiersError),
    #[error("\"attributes\" must be a JSON object")]
    AttributesNotObject,
    #[error("\"device\" must be an object with a \"token\"")]
    DeviceShape,
    #[error(transparent)]
    Attributes(#[from] PatchError),
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error(transparent)]
    Merge(#[from] MergeRequestError),
}

impl OperationError {
    /// The API's error code for this refusal (Customer.io's `reason`).
    pub fn code(&self) -> &'static str {
        match self {
            OperationError::NotAnObject | OperationError::Type | OperationError::Action => {
                "invalid_operation"
            }
            OperationError::UnsupportedType(_)
            | OperationError::UnsupportedAction(_)
            | OperationError::Relationships => "not_supported",
            OperationError::Identifiers(_) => "invalid_identifier",
            OperationError::AttributesNotObject => "invalid_body",
            OperationError::DeviceShape => "invalid_device",
            OperationError::Attributes(err) => err.code(),
            OperationError::Event(err) => err.code(),
            OperationError::Device(err) => err.code(),
            OperationError::Merge(err) => err.code(),
        }
    }

    /// The key of the operation the refusal is about.
    pub fn field(&self) -> &'static str {
        match self {
            OperationError::NotAnObject => "",
            OperationError::Type | OperationError::UnsupportedType(_) => "type",
            OperationError::Action | OperationError::UnsupportedAction(_) => "action",
            OperationError::Relationships => "cio_relationships",
            OperationError::Identifiers(_) => "identifiers",
            OperationError::AttributesNotObject | OperationError::Attributes(_) => "attributes",
            OperationError::Event(EventError::Name) => "name",
            OperationError::Event(EventError::Timestamp) => "timestamp",
            OperationError::Event(_) => "attributes",
            OperationError::DeviceShape | OperationError::Device(_) => "device",
            OperationError::Merge(
                MergeRequestError::Side(side)
                | MergeRequestError::Value(side, _)
                | MergeRequestError::EmailNotAnIdentifier(side),
            ) => side,
            OperationError::Merge(MergeRequestError::NotAnObject) => "",
        }
    }
}

impl TrackOperation {
    pub fn from_json(
        body: Value,
        mode: IdentifierMode,
        now: NaiveDateTime,
    ) -> Result<TrackOperation, OperationError> {
        let Value::Object(mut fields) = body else {
            return Err(OperationError::NotAnObject);
        };
        match fields.remove("type") {
            Some(Value::String(entity)) if entity == "person" => {}
            Some(Value::String(entity)) if entity == "object" || entity == "delivery" => {
                return Err(OperationError::UnsupportedType(entity));
            }
            _ => return Err(OperationError::Type),
        }
        let action = match fields.remove("action") {
            Some(Value::String(action)) => action,
            _ => return Err(OperationError::Action),
        };
        if action == "merge" {
            let request =
                json!({ "primary": fields.remove("primary"), "secondary": fields.remove("secondary") });
            return Ok(TrackOperation::Merge(MergeRequest::from_json(request, mode)?));
        }
        if !matches!(
            action.as_str(),
            "identify"
                | "delete"
                | "event"
                | "page"
                | "screen"
                | "add_device"
                | "delete_device"
                | "suppress"
                | "unsuppress"
        ) {
            return Err(OperationError::UnsupportedAction(action));
        }
        let identifier =
            parse_identifiers(fields.remove("identifiers"), mode).map_err(OperationError::Identifiers)?;
        let operation = match action.as_str() {
            "identify" => {
                if matches!(fields.get("cio_relationships"), Some(Value::Array(r)) if !r.is_empty()) {
                    return Err(OperationError::Relationships);
                }
                let attributes = attributes(&mut fields)?;
                TrackOperation::Identify {
                    identifier,
                    patch: CustomerPatch::from_json(Value::Object(attributes), now)?,
                }
            }
            "event" | "page" | "screen" => {
                let data = attributes(&mut fields)?;
                let body = json!({
                    "name": fields.remove("name"),
                    "timestamp": fields.remove("timestamp"),
                    "data": data,
                });
                TrackOperation::Event {
                    identifier,
                    event: TrackEvent::from_json(body, now)?,
                }
            }
            "add_device" => {
                let mut device = device(&mut fields)?;
                // v2 names the token `token` where v1 names it `id`.
                let token = device.remove("token").ok_or(OperationError::DeviceShape)?;
                device.insert("id".into(), token);
                TrackOperation::AddDevice {
                    identifier,
                    device: DeviceUpdate::from_json(json!({ "device": device }), now)?,
                }
            }
            "delete_device" => {
                let token = match device(&mut fields)?.remove("token") {
                    Some(Value::String(token)) => DeviceToken::parse(&token)?,
                    _ => return Err(OperationError::DeviceShape),
                };
                TrackOperation::DeleteDevice { identifier, token }
            }
            "delete" => TrackOperation::Delete { identifier },
            "suppress" => TrackOperation::Suppress { identifier },
            _ => TrackOperation::Unsuppress { identifier },
        };
        Ok(operation)
    }

    /// What the operation does, for logs: never a value it carries.
    pub fn action(&self) -> &'static str {
        match self {
            TrackOperation::Identify { .. } => "identify",
            TrackOperation::Delete { .. } => "delete",
            TrackOperation::Event { .. } => "event",
            TrackOperation::AddDevice { .. } => "add_device",
            TrackOperation::DeleteDevice { .. } => "delete_device",
            TrackOperation::Suppress { .. } => "suppress",
            TrackOperation::Unsuppress { .. } => "unsuppress",
            TrackOperation::Merge(_) => "merge",
        }
    }
}

/// `attributes`, absent or null meaning none.
fn attributes(fields: &mut Map<String, Value>) -> Result<Map<String, Value>, OperationError> {
    match fields.remove("attributes") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(attributes)) => Ok(attributes),
        Some(_) => Err(OperationError::AttributesNotObject),
    }
}

fn device(fields: &mut Map<String, Value>) -> Result<Map<String, Value>, OperationError> {
    match fields.remove("device") {
        Some(Value::Object(device)) => Ok(device),
        _ => Err(OperationError::DeviceShape),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Change, DevicePlatform, Email};

    fn now() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap()
            .naive_utc()
    }

    fn parse(body: Value) -> Result<TrackOperation, OperationError> {
        TrackOperation::from_json(body, IdentifierMode::IdOrEmail, now())
    }

    #[test]
    fn an_identify_carries_its_attributes_as_a_v1_identify_would() {
        let op = parse(json!({
            "type": "person", "action": "identify", "identifiers": { "id": 42 },
            "attributes": { "email": "Ada@Example.com", "plan": { "tier": "pro" } },
        }))
        .unwrap();
        let TrackOperation::Identify { identifier, patch } = op else {
            panic!("{op:?}")
        };
        assert_eq!(identifier, Identifier::ExternalId("42".into()));
        assert_eq!(patch.email, Change::Set(Email::parse("ada@example.com").unwrap()));
        assert_eq!(patch.new_attributes().unwrap()["plan"], json!({ "tier": "pro" }));
        // No attributes is a plain "this person exists".
        assert!(parse(
            json!({ "type": "person", "action": "identify", "identifiers": { "email": "a@b.example" } })
        )
        .is_ok());
    }

    #[test]
    fn events_pages_and_screens_are_events_with_a_name() {
        for action in ["event", "page", "screen"] {
            let op = parse(json!({
                "type": "person", "action": action, "identifiers": { "id": "7" },
                "name": "https://example.com/pricing", "timestamp": 1_690_000_000, "attributes": { "x": 1 },
            }))
            .unwrap();
            let TrackOperation::Event { event, .. } = op else {
                panic!("{op:?}")
            };
            assert_eq!(event.name, "https://example.com/pricing");
            assert_eq!(event.properties, r#"{"x":1}"#);
        }
        let err =
            parse(json!({ "type": "person", "action": "event", "identifiers": { "id": "7" } })).unwrap_err();
        assert_eq!(err, OperationError::Event(EventError::Name));
    }

    #[test]
    fn devices_are_named_by_their_token() {
        let op = parse(json!({
            "type": "person", "action": "add_device", "identifiers": { "id": "7" },
            "device": { "token": "tok-1", "platform": "ios", "last_used": 1_690_000_000 },
        }))
        .unwrap();
        let TrackOperation::AddDevice { device, .. } = op else {
            panic!("{op:?}")
        };
        assert_eq!(device.token.as_str(), "tok-1");
        assert_eq!(device.platform, DevicePlatform::Ios);
        let op = parse(json!({
            "type": "person", "action": "delete_device", "identifiers": { "id": "7" },
            "device": { "token": "tok-1", "platform": "ios" },
        }))
        .unwrap();
        assert!(matches!(op, TrackOperation::DeleteDevice { token, .. } if token.as_str() == "tok-1"));
        let err = parse(
            json!({ "type": "person", "action": "add_device", "identifiers": { "id": "7" }, "device": {} }),
        )
        .unwrap_err();
        assert_eq!(err, OperationError::DeviceShape);
    }

    #[test]
    fn a_merge_names_both_sides() {
        let op = parse(json!({
            "type": "person", "action": "merge",
            "primary": { "id": "1" }, "secondary": { "email": "b@example.com" },
        }))
        .unwrap();
        assert!(matches!(op, TrackOperation::Merge(_)));
        let err =
            parse(json!({ "type": "person", "action": "merge", "primary": { "id": "1" } })).unwrap_err();
        assert_eq!(err.code(), "invalid_identifier");
    }

    #[test]
    fn what_erasure_does_not_keep_is_refused_by_name() {
        let err = parse(json!({ "type": "object", "identifiers": { "object_type_id": "1", "object_id": "acme" }, "action": "identify" }))
            .unwrap_err();
        assert_eq!((err.code(), err.field()), ("not_supported", "type"));
        let err =
            parse(json!({ "type": "person", "action": "add_relationships", "identifiers": { "id": "1" } }))
                .unwrap_err();
        assert_eq!((err.code(), err.field()), ("not_supported", "action"));
        let err = parse(json!({
            "type": "person", "action": "identify", "identifiers": { "id": "1" },
            "cio_relationships": [{ "identifiers": { "object_type_id": "1", "object_id": "acme" } }],
        }))
        .unwrap_err();
        assert_eq!(err, OperationError::Relationships);
    }

    #[test]
    fn identifiers_must_name_one_person() {
        for identifiers in [
            json!({}),
            json!({ "id": "1", "email": "a@b.example" }),
            json!("1"),
            json!(null),
        ] {
            let err = parse(json!({ "type": "person", "action": "delete", "identifiers": identifiers }))
                .unwrap_err();
            assert_eq!(err.code(), "invalid_identifier", "{identifiers}");
        }
        let err = TrackOperation::from_json(
            json!({ "type": "person", "action": "suppress", "identifiers": { "email": "a@b.example" } }),
            IdentifierMode::Id,
            now(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            OperationError::Identifiers(IdentifiersError::EmailNotAnIdentifier)
        );
        assert_eq!(
            parse(json!({ "action": "delete" })).unwrap_err(),
            OperationError::Type
        );
        assert_eq!(parse(json!([1])).unwrap_err(), OperationError::NotAnObject);
    }
}
