use std::fmt;

/// A workspace's display name: 1 to 80 printable characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WorkspaceNameError {
    #[error("enter a workspace name")]
    Empty,
    #[error("a workspace name can be at most 80 characters")]
    TooLong,
    #[error("a workspace name cannot contain control characters")]
    ControlCharacter,
    #[error("a workspace name needs at least one letter or digit")]
    NoLetters,
}

impl WorkspaceName {
    pub fn parse(raw: &str) -> Result<Self, WorkspaceNameError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(WorkspaceNameError::Empty);
        }
        if value.chars().count() > 80 {
            return Err(WorkspaceNameError::TooLong);
        }
        if value.chars().any(char::is_control) {
            return Err(WorkspaceNameError::ControlCharacter);
        }
        if slugify(value).is_empty() {
            return Err(WorkspaceNameError::NoLetters);
        }
        Ok(WorkspaceName(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn slug(&self) -> String {
        slugify(&self.0)
    }
}

impl fmt::Display for WorkspaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lower-case ASCII letters and digits joined by single dashes: safe in any URL.
pub fn slugify(value: &str) -> String {
    let mut slug = String::new();
    for c in value.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    slug.truncate(48);
    slug.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_url_safe() {
        assert_eq!(slugify("Acme Shop (EU)"), "acme-shop-eu");
        assert_eq!(slugify("  --Ünïcode  "), "n-code");
        assert_eq!(slugify("!!!"), "");
    }

    #[test]
    fn names_without_letters_or_with_control_characters_are_refused() {
        assert_eq!(WorkspaceName::parse("   "), Err(WorkspaceNameError::Empty));
        assert_eq!(WorkspaceName::parse("!!!"), Err(WorkspaceNameError::NoLetters));
        assert_eq!(
            WorkspaceName::parse("a\u{0}b"),
            Err(WorkspaceNameError::ControlCharacter)
        );
        assert_eq!(
            WorkspaceName::parse(&"a".repeat(81)),
            Err(WorkspaceNameError::TooLong)
        );
        assert_eq!(WorkspaceName::parse(" Acme ").unwrap().as_str(), "Acme");
    }
}
