//! The body of a Track API device call (`PUT /api/v1/customers/{identifier}/devices`),
//! parsed: `{"device": {"id": <token>, "platform": "ios"|"android", "last_used": <unix
//! seconds>, "attributes": {…}}}`, as Customer.io's Track API v1 takes it.
//!
//! A device token reaches one person's phone: it is personal data, like an email.

use std::fmt;

use chrono::{Duration, NaiveDateTime};
use serde_json::{Map, Value};

use super::customer_patch::{nesting_depth, unix_seconds, MAX_ATTRIBUTE_DEPTH};

pub const MAX_DEVICE_TOKEN_CHARS: usize = 255;
pub const MAX_DEVICES_PER_CUSTOMER: usize = 100;
/// A device's own attributes, serialized, at most.
pub const MAX_DEVICE_ATTRIBUTES_BYTES: usize = 16 * 1024;

/// A device token: 1 to 255 characters, no control characters. Its `Debug` and
/// `Display` never show it, so it cannot slip into a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceToken(String);

impl DeviceToken {
    pub fn parse(raw: &str) -> Result<DeviceToken, DeviceError> {
        if raw.trim().is_empty() || raw.chars().any(char::is_control) {
            return Err(DeviceError::Token);
        }
        if raw.chars().count() > MAX_DEVICE_TOKEN_CHARS {
            return Err(DeviceError::TokenTooLong);
        }
        Ok(DeviceToken(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DeviceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceToken(…)")
    }
}

/// The messaging platforms Customer.io's v1 device call accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevicePlatform {
    Ios,
    Android,
}

impl DevicePlatform {
    pub fn parse(raw: &str) -> Option<DevicePlatform> {
        match raw {
            "ios" => Some(DevicePlatform::Ios),
            "android" => Some(DevicePlatform::Android),
            _ => None,
        }
    }

    /// The value of `devices.platform`.
    pub fn key(self) -> &'static str {
        match self {
            DevicePlatform::Ios => "ios",
            DevicePlatform::Android => "android",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DevicePlatform::Ios => "iOS",
            DevicePlatform::Android => "Android",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeviceUpdate {
    pub token: DeviceToken,
    pub platform: DevicePlatform,
    pub last_used: NaiveDateTime,
    /// The `attributes` object, serialized.
    pub attributes: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeviceError {
    #[error("the body must be a JSON object with a \"device\" object")]
    NotAnObject,
    #[error("\"device.id\" (the device token) is required: a string without control characters")]
    Token,
    #[error("\"device.id\" (the device token) can be at most 255 characters")]
    TokenTooLong,
    #[error("\"device.platform\" must be \"ios\" or \"android\"")]
    Platform,
    #[error("\"device.last_used\" must be a unix time in seconds, at most a day ahead")]
    LastUsed,
    #[error("\"device.attributes\" must be a JSON object")]
    AttributesNotObject,
    #[error("\"device.attributes\" can be at most 16 KB and nest at most 8 levels deep")]
    AttributesTooLarge,
    #[error("a customer can have at most 100 devices; remove one before adding another")]
    TooManyDevices,
}

impl DeviceError {
    /// The API's error code for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            DeviceError::NotAnObject => "invalid_body",
            DeviceError::LastUsed => "invalid_timestamp",
            DeviceError::TooManyDevices => "too_many_devices",
            _ => "invalid_device",
        }
    }
}

impl DeviceUpdate {
    /// Keys of `device` other than these are ignored, as Customer.io's v1 call does.
    pub fn from_json(body: Value, now: NaiveDateTime) -> Result<DeviceUpdate, DeviceError> {
        let Value::Object(mut body) = body else {
            return Err(DeviceError::NotAnObject);
        };
        let Some(Value::Object(mut device)) = body.remove("device") else {
            return Err(DeviceError::NotAnObject);
        };
        let token = match device.remove("id") {
            Some(Value::String(raw)) => DeviceToken::parse(&raw)?,
            _ => return Err(DeviceError::Token),
        };
        let platform = match device.remove("platform") {
            Some(Value::String(raw)) => DevicePlatform::parse(&raw).ok_or(DeviceError::Platform)?,
            _ => return Err(DeviceError::Platform),
        };
        let last_used = match device.remove("last_used") {
            None | Some(Value::Null) => now,
            Some(value) => {
                let at = unix_seconds(&value).ok_or(DeviceError::LastUsed)?;
                if at.and_utc().timestamp() < 0 || at > now + Duration::days(1) {
                    return Err(DeviceError::LastUsed);
                }
                at
            }
        };
        let attributes = match device.remove("attributes") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(attributes)) => attributes,
            Some(_) => return Err(DeviceError::AttributesNotObject),
        };
        if attributes
            .values()
            .any(|v| nesting_depth(v) > MAX_ATTRIBUTE_DEPTH)
        {
            return Err(DeviceError::AttributesTooLarge);
        }
        let attributes = Value::Object(attributes).to_string();
        if attributes.len() > MAX_DEVICE_ATTRIBUTES_BYTES {
            return Err(DeviceError::AttributesTooLarge);
        }
        Ok(DeviceUpdate {
            token,
            platform,
            last_used,
            attributes,
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

    fn parse(body: Value) -> Result<DeviceUpdate, DeviceError> {
        DeviceUpdate::from_json(body, now())
    }

    #[test]
    fn a_device_with_its_token_platform_time_and_attributes() {
        let device = parse(json!({ "device": {
            "id": "tok-123", "platform": "ios", "last_used": 1_690_000_000,
            "attributes": { "app_version": "1.2", "push": { "enabled": true } }, "other": 1,
        }}))
        .unwrap();
        assert_eq!(device.token.as_str(), "tok-123");
        assert_eq!(device.platform, DevicePlatform::Ios);
        assert_eq!(device.last_used.and_utc().timestamp(), 1_690_000_000);
        assert_eq!(
            serde_json::from_str::<Value>(&device.attributes).unwrap(),
            json!({ "app_version": "1.2", "push": { "enabled": true } })
        );
        let bare = parse(json!({ "device": { "id": "t", "platform": "android" } })).unwrap();
        assert_eq!(bare.last_used, now());
        assert_eq!(bare.attributes, "{}");
    }

    #[test]
    fn tokens_are_required_bounded_and_never_printed() {
        for body in [
            json!({ "device": { "platform": "ios" } }),
            json!({ "device": { "id": "", "platform": "ios" } }),
            json!({ "device": { "id": 5, "platform": "ios" } }),
            json!({ "device": { "id": "a\nb", "platform": "ios" } }),
        ] {
            assert_eq!(parse(body), Err(DeviceError::Token));
        }
        assert!(parse(json!({ "device": { "id": "t".repeat(255), "platform": "ios" } })).is_ok());
        let err = parse(json!({ "device": { "id": "t".repeat(256), "platform": "ios" } })).unwrap_err();
        assert_eq!(err, DeviceError::TokenTooLong);
        assert!(err.to_string().contains("255"));
        let token = DeviceToken::parse("secret-token").unwrap();
        assert!(!format!("{token:?}").contains("secret"));
    }

    #[test]
    fn platforms_are_ios_or_android() {
        for bad in [json!("web"), json!("IOS"), json!(null), json!(1)] {
            let err = parse(json!({ "device": { "id": "t", "platform": bad } })).unwrap_err();
            assert_eq!(err, DeviceError::Platform);
            assert_eq!(err.code(), "invalid_device");
        }
        assert_eq!(DevicePlatform::parse("android").unwrap().key(), "android");
    }

    #[test]
    fn bodies_times_and_attributes_are_checked() {
        for body in [json!([]), json!({}), json!({ "device": "t" })] {
            assert_eq!(parse(body), Err(DeviceError::NotAnObject));
        }
        let ahead = 1_700_000_000 + 86_401;
        for bad in [json!(ahead), json!(-1), json!("soon")] {
            let err =
                parse(json!({ "device": { "id": "t", "platform": "ios", "last_used": bad } })).unwrap_err();
            assert_eq!(err, DeviceError::LastUsed);
        }
        assert_eq!(
            parse(json!({ "device": { "id": "t", "platform": "ios", "attributes": [1] } })),
            Err(DeviceError::AttributesNotObject)
        );
        let deep = (0..9).fold(json!(1), |inner, _| json!([inner]));
        assert_eq!(
            parse(json!({ "device": { "id": "t", "platform": "ios", "attributes": { "d": deep } } })),
            Err(DeviceError::AttributesTooLarge)
        );
        assert_eq!(
            parse(
                json!({ "device": { "id": "t", "platform": "ios", "attributes": { "b": "x".repeat(17_000) } } })
            ),
            Err(DeviceError::AttributesTooLarge)
        );
        assert_eq!(DeviceError::TooManyDevices.code(), "too_many_devices");
    }
}
