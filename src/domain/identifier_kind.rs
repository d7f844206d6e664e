use std::fmt;

/// What a suppression digest was made from: a customer's id, or an email address. The
/// value of `suppressions.kind` and of the journal's suppressed pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentifierKind {
    Id,
    Email,
}

impl IdentifierKind {
    pub const ALL: [IdentifierKind; 2] = [IdentifierKind::Id, IdentifierKind::Email];

    pub const fn key(self) -> &'static str {
        match self {
            IdentifierKind::Id => "id",
            IdentifierKind::Email => "email",
        }
    }

    pub fn parse(key: &str) -> Option<IdentifierKind> {
        IdentifierKind::ALL.into_iter().find(|k| k.key() == key)
    }
}

impl fmt::Display for IdentifierKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A stored kind nobody wrote: an error, never guessed.
#[derive(Debug, thiserror::Error)]
#[error("unknown identifier kind {0:?}")]
pub struct UnknownIdentifierKind(pub String);

impl TryFrom<String> for IdentifierKind {
    type Error = UnknownIdentifierKind;

    fn try_from(key: String) -> Result<IdentifierKind, UnknownIdentifierKind> {
        IdentifierKind::parse(&key).ok_or(UnknownIdentifierKind(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_unknown_ones_are_errors() {
        for kind in IdentifierKind::ALL {
            assert_eq!(IdentifierKind::try_from(kind.key().to_owned()).ok(), Some(kind));
        }
        assert!(IdentifierKind::try_from("phone".to_owned()).is_err());
    }
}
