//! The body of a Track API anonymous event (`POST /api/v1/events`), parsed: an event of
//! someone not identified yet, named by the anonymous id their device sent.

use chrono::NaiveDateTime;
use serde_json::Value;

use super::track_event::{EventError, TrackEvent};

pub const ANONYMOUS_ID_MAX_CHARS: usize = 150;

/// The id a device gives a person before they are identified. It names a person's
/// device, so it is stored only as a keyed digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnonymousId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AnonymousIdError {
    #[error("\"anonymous_id\" must be a string of 1 to 150 characters without control characters")]
    Invalid,
}

impl AnonymousId {
    /// A string, or a number taken as its text, as Customer.io's libraries send them.
    /// `None` for a missing, null or empty value.
    pub fn from_json(value: Option<Value>) -> Result<Option<AnonymousId>, AnonymousIdError> {
        let raw = match value {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(raw)) => raw,
            Some(Value::Number(number)) => number.to_string(),
            Some(_) => return Err(AnonymousIdError::Invalid),
        };
        if raw.is_empty() {
            return Ok(None);
        }
        if raw.chars().count() > ANONYMOUS_ID_MAX_CHARS || raw.chars().any(char::is_control) {
            return Err(AnonymousIdError::Invalid);
        }
        Ok(Some(AnonymousId(raw)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AnonymousEvent {
    pub anonymous_id: AnonymousId,
    pub event: TrackEvent,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AnonymousEventError {
    /// Customer.io keeps such an event attached to nobody, for ever; Erasure keeps
    /// events of people it can find and erase, so it refuses one it could never attach.
    #[error("\"anonymous_id\" is required: an event sent without a customer must say which device it came from, so that it can be given to the customer once they are identified")]
    MissingAnonymousId,
    #[error(transparent)]
    AnonymousId(#[from] AnonymousIdError),
    #[error(transparent)]
    Event(#[from] EventError),
}

impl AnonymousEventError {
    /// The API's error code for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            AnonymousEventError::MissingAnonymousId => "missing_anonymous_id",
            AnonymousEventError::AnonymousId(_) => "invalid_anonymous_id",
            AnonymousEventError::Event(err) => err.code(),
        }
    }
}

impl AnonymousEvent {
    /// The event's fields are read and bounded exactly as a customer's event's are.
    pub fn from_json(body: Value, now: NaiveDateTime) -> Result<AnonymousEvent, AnonymousEventError> {
        let Value::Object(mut fields) = body else {
            return Err(EventError::NotAnObject.into());
        };
        let anonymous_id = AnonymousId::from_json(fields.remove("anonymous_id"))?;
        let event = TrackEvent::from_json(Value::Object(fields), now)?;
        let anonymous_id = anonymous_id.ok_or(AnonymousEventError::MissingAnonymousId)?;
        Ok(AnonymousEvent { anonymous_id, event })
    }
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

    #[test]
    fn an_event_with_an_anonymous_id() {
        let parsed = AnonymousEvent::from_json(
            json!({ "anonymous_id": "device-1", "name": "viewed", "data": { "page": "/" } }),
            now(),
        )
        .unwrap();
        assert_eq!(parsed.anonymous_id.as_str(), "device-1");
        assert_eq!(parsed.event.name, "viewed");
        assert_eq!(parsed.event.properties, r#"{"page":"/"}"#);
    }

    #[test]
    fn without_an_anonymous_id_it_is_refused_with_its_own_code() {
        for body in [
            json!({ "name": "viewed" }),
            json!({ "name": "viewed", "anonymous_id": null }),
            json!({ "name": "viewed", "anonymous_id": "" }),
        ] {
            let err = AnonymousEvent::from_json(body, now()).unwrap_err();
            assert_eq!(err, AnonymousEventError::MissingAnonymousId);
            assert_eq!(err.code(), "missing_anonymous_id");
        }
    }

    #[test]
    fn anonymous_ids_are_bounded_text() {
        for bad in [json!({}), json!([1]), json!("x".repeat(151)), json!("a\nb")] {
            let err =
                AnonymousEvent::from_json(json!({ "name": "a", "anonymous_id": bad }), now()).unwrap_err();
            assert_eq!(err.code(), "invalid_anonymous_id");
        }
        let numeric = AnonymousEvent::from_json(json!({ "name": "a", "anonymous_id": 42 }), now()).unwrap();
        assert_eq!(numeric.anonymous_id.as_str(), "42");
    }

    #[test]
    fn the_event_is_bounded_like_any_other() {
        let big = json!({ "name": "a", "anonymous_id": "d", "data": { "blob": "x".repeat(65 * 1024) } });
        assert_eq!(
            AnonymousEvent::from_json(big, now()).unwrap_err().code(),
            "invalid_event_data"
        );
        assert_eq!(
            AnonymousEvent::from_json(json!({ "anonymous_id": "d" }), now())
                .unwrap_err()
                .code(),
            "invalid_event_name"
        );
        assert_eq!(
            AnonymousEvent::from_json(json!([]), now()).unwrap_err().code(),
            "invalid_body"
        );
    }
}
