use std::fmt;

/// What people call an API key so they can tell keys apart: 1 to 80 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApiKeyNameError {
    #[error("enter a name for the key")]
    Empty,
    #[error("a key name can be at most 80 characters")]
    TooLong,
    #[error("a key name cannot contain control characters")]
    ControlCharacter,
}

impl ApiKeyName {
    pub fn parse(raw: &str) -> Result<ApiKeyName, ApiKeyNameError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(ApiKeyNameError::Empty);
        }
        if value.chars().count() > 80 {
            return Err(ApiKeyNameError::TooLong);
        }
        if value.chars().any(char::is_control) {
            return Err(ApiKeyNameError::ControlCharacter);
        }
        Ok(ApiKeyName(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ApiKeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(ApiKeyName::parse("  Backend  ").unwrap().as_str(), "Backend");
        assert!(ApiKeyName::parse(&"é".repeat(80)).is_ok());
        assert_eq!(ApiKeyName::parse(" "), Err(ApiKeyNameError::Empty));
        assert_eq!(ApiKeyName::parse(&"a".repeat(81)), Err(ApiKeyNameError::TooLong));
        assert_eq!(ApiKeyName::parse("a\tb"), Err(ApiKeyNameError::ControlCharacter));
    }
}
