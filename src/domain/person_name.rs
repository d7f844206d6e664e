use std::fmt;

/// A person's display name (a user's, not a customer's): 1 to 100 characters, trimmed,
/// no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PersonNameError {
    #[error("enter your name")]
    Empty,
    #[error("a name can be at most 100 characters")]
    TooLong,
    #[error("a name cannot contain control characters")]
    ControlCharacter,
}

impl PersonName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<PersonName, PersonNameError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(PersonNameError::Empty);
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(PersonNameError::TooLong);
        }
        if name.chars().any(char::is_control) {
            return Err(PersonNameError::ControlCharacter);
        }
        Ok(PersonName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed() {
        assert_eq!(
            PersonName::parse("  Olivia Owner ").unwrap().as_str(),
            "Olivia Owner"
        );
    }

    #[test]
    fn a_name_of_exactly_the_limit_is_accepted_and_one_more_is_not() {
        let longest = "é".repeat(PersonName::MAX_CHARS);
        assert_eq!(PersonName::parse(&longest).unwrap().as_str(), longest);
        assert_eq!(
            PersonName::parse(&format!("{longest}e")),
            Err(PersonNameError::TooLong)
        );
    }

    #[test]
    fn empty_names_and_control_characters_are_refused() {
        assert_eq!(PersonName::parse(""), Err(PersonNameError::Empty));
        assert_eq!(PersonName::parse(" \t "), Err(PersonNameError::Empty));
        assert_eq!(
            PersonName::parse("Ada\u{7}Lovelace"),
            Err(PersonNameError::ControlCharacter)
        );
    }
}
