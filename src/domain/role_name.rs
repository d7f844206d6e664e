use std::fmt;

/// A custom role's name: 1 to 60 printable characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RoleNameError {
    #[error("enter a name for the role")]
    Empty,
    #[error("a role name can be at most 60 characters")]
    TooLong,
    #[error("a role name cannot contain control characters")]
    ControlCharacter,
}

impl RoleName {
    pub fn parse(raw: &str) -> Result<RoleName, RoleNameError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(RoleNameError::Empty);
        }
        if value.chars().count() > 60 {
            return Err(RoleNameError::TooLong);
        }
        if value.chars().any(char::is_control) {
            return Err(RoleNameError::ControlCharacter);
        }
        Ok(RoleName(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Two names that differ only in case would look like one role in a list.
    pub fn same_as(&self, other: &str) -> bool {
        self.0.to_lowercase() == other.trim().to_lowercase()
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(RoleName::parse("  Support  ").unwrap().as_str(), "Support");
        assert!(RoleName::parse(&"é".repeat(60)).is_ok());
        assert_eq!(RoleName::parse("  "), Err(RoleNameError::Empty));
        assert_eq!(RoleName::parse(&"a".repeat(61)), Err(RoleNameError::TooLong));
        assert_eq!(RoleName::parse("a\nb"), Err(RoleNameError::ControlCharacter));
    }

    #[test]
    fn names_compare_without_case() {
        assert!(RoleName::parse("Support").unwrap().same_as(" support "));
        assert!(!RoleName::parse("Support").unwrap().same_as("Supporter"));
    }
}
