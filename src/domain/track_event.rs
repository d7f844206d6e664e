//! The body of a Track API event (`POST /api/v1/customers/{identifier}/events`), parsed.

use chrono::{Duration, NaiveDateTime};
use serde_json::{Map, Value};

use super::customer_patch::{nesting_depth, unix_seconds, MAX_ATTRIBUTE_DEPTH};

pub const MAX_EVENT_NAME_CHARS: usize = 255;
/// The largest `data` object, serialized.
pub const MAX_EVENT_DATA_BYTES: usize = 64 * 1024;
/// 2000-01-01T00:00:00Z: nothing this product tracks happened earlier, and a smaller
/// number is almost always a bug in the sender.
const EARLIEST_EVENT: i64 = 946_684_800;

#[derive(Debug, Clone, PartialEq)]
pub struct TrackEvent {
    pub name: String,
    /// The `data` object, serialized: what `events.properties` stores.
    pub properties: String,
    pub occurred_at: NaiveDateTime,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("the body must be a JSON object with the event's \"name\"")]
    NotAnObject,
    #[error("\"name\" is required: a string of 1 to 255 characters")]
    Name,
    #[error("\"data\" must be a JSON object")]
    DataNotObject,
    #[error("\"data\" can be at most 64 KB")]
    DataTooLarge,
    #[error("\"data\" can nest objects and arrays at most 8 levels deep under a key")]
    DataTooDeep,
    #[error("\"timestamp\" must be a unix time in seconds, after 2000 and at most a day ahead")]
    Timestamp,
}

impl EventError {
    /// The API's error code for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            EventError::NotAnObject => "invalid_body",
            EventError::Name => "invalid_event_name",
            EventError::DataNotObject | EventError::DataTooLarge | EventError::DataTooDeep => {
                "invalid_event_data"
            }
            EventError::Timestamp => "invalid_timestamp",
        }
    }
}

impl TrackEvent {
    /// Other keys Customer.io clients send (`type`, `id` for de-duplication) are ignored.
    pub fn from_json(body: Value, now: NaiveDateTime) -> Result<TrackEvent, EventError> {
        let Value::Object(mut fields) = body else {
            return Err(EventError::NotAnObject);
        };
        let name = match fields.remove("name") {
            Some(Value::String(name))
                if !name.trim().is_empty()
                    && name.chars().count() <= MAX_EVENT_NAME_CHARS
                    && !name.chars().any(char::is_control) =>
            {
                name
            }
            _ => return Err(EventError::Name),
        };
        let data = match fields.remove("data") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(data)) => data,
            Some(_) => return Err(EventError::DataNotObject),
        };
        // The same bound as a customer's attributes: each value under a key.
        if data
            .values()
            .any(|value| nesting_depth(value) > MAX_ATTRIBUTE_DEPTH)
        {
            return Err(EventError::DataTooDeep);
        }
        let properties = Value::Object(data).to_string();
        if properties.len() > MAX_EVENT_DATA_BYTES {
            return Err(EventError::DataTooLarge);
        }
        let occurred_at = match fields.remove("timestamp") {
            None | Some(Value::Null) => now,
            Some(value) => {
                let at = unix_seconds(&value).ok_or(EventError::Timestamp)?;
                if at.and_utc().timestamp() < EARLIEST_EVENT || at > now + Duration::days(1) {
                    return Err(EventError::Timestamp);
                }
                at
            }
        };
        Ok(TrackEvent {
            name,
            properties,
            occurred_at,
        })
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

    fn parse(body: Value) -> Result<TrackEvent, EventError> {
        TrackEvent::from_json(body, now())
    }

    #[test]
    fn a_named_event_with_data_and_a_time() {
        let event = parse(json!({
            "name": "purchase", "data": { "price": 23.45, "items": [1, 2] },
            "timestamp": 1_690_000_000, "type": "event",
        }))
        .unwrap();
        assert_eq!(event.name, "purchase");
        assert_eq!(
            serde_json::from_str::<Value>(&event.properties).unwrap(),
            json!({ "price": 23.45, "items": [1, 2] })
        );
        assert_eq!(event.occurred_at.and_utc().timestamp(), 1_690_000_000);
    }

    #[test]
    fn data_and_timestamp_are_optional() {
        let event = parse(json!({ "name": "login" })).unwrap();
        assert_eq!(event.properties, "{}");
        assert_eq!(event.occurred_at, now());
    }

    #[test]
    fn the_name_is_required_and_bounded() {
        for body in [
            json!({}),
            json!({ "name": "" }),
            json!({ "name": "  " }),
            json!({ "name": 5 }),
            json!({ "name": "x".repeat(256) }),
            json!({ "name": "a\u{0}b" }),
        ] {
            assert_eq!(parse(body), Err(EventError::Name));
        }
        assert!(parse(json!({ "name": "x".repeat(255) })).is_ok());
        assert_eq!(parse(json!([])), Err(EventError::NotAnObject));
    }

    #[test]
    fn data_must_be_a_small_object() {
        assert_eq!(
            parse(json!({ "name": "a", "data": [1] })),
            Err(EventError::DataNotObject)
        );
        assert_eq!(
            parse(json!({ "name": "a", "data": { "blob": "x".repeat(65 * 1024) } })),
            Err(EventError::DataTooLarge)
        );
    }

    #[test]
    fn data_nests_at_most_eight_levels_under_a_key() {
        let nested = |levels: usize| (0..levels).fold(json!(1), |inner, _| json!({ "k": inner }));
        assert!(parse(json!({ "name": "a", "data": { "order": nested(8) } })).is_ok());
        let err = parse(json!({ "name": "a", "data": { "order": nested(9) } })).unwrap_err();
        assert_eq!(err, EventError::DataTooDeep);
        assert_eq!(err.code(), "invalid_event_data");
    }

    #[test]
    fn timestamps_before_2000_or_more_than_a_day_ahead_are_refused() {
        let ahead = 1_700_000_000 + 86_400;
        assert!(parse(json!({ "name": "a", "timestamp": ahead })).is_ok());
        for bad in [
            json!(ahead + 1),
            json!(946_684_799),
            json!(1_700_000_000_000i64),
            json!("yesterday"),
        ] {
            let err = parse(json!({ "name": "a", "timestamp": bad })).unwrap_err();
            assert_eq!(err, EventError::Timestamp);
            assert_eq!(err.code(), "invalid_timestamp");
        }
    }
}
