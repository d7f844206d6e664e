use std::fmt;

use super::{Email, EmailError};

/// How a workspace reads the identifier in a Track API path, from `workspaces.identifier_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifierMode {
    /// Every identifier is the customer's own id, even one that looks like an address.
    Id,
    /// An identifier containing '@' is an email address; anything else is an id.
    IdOrEmail,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown identifier mode {0:?}")]
pub struct UnknownIdentifierMode(pub String);

impl IdentifierMode {
    pub fn key(self) -> &'static str {
        match self {
            IdentifierMode::Id => "id",
            IdentifierMode::IdOrEmail => "id_or_email",
        }
    }

    pub fn parse(stored: &str) -> Result<IdentifierMode, UnknownIdentifierMode> {
        match stored {
            "id" => Ok(IdentifierMode::Id),
            "id_or_email" => Ok(IdentifierMode::IdOrEmail),
            other => Err(UnknownIdentifierMode(other.to_owned())),
        }
    }
}

/// How the stored column is read: an unknown value is an error, never a default.
impl TryFrom<String> for IdentifierMode {
    type Error = UnknownIdentifierMode;

    fn try_from(stored: String) -> Result<IdentifierMode, UnknownIdentifierMode> {
        IdentifierMode::parse(&stored)
    }
}

/// Who a Track API call is about, as Customer.io reads the `{identifier}` path segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    /// The id the workspace gave the customer, exactly as sent.
    ExternalId(String),
    /// Only in `id_or_email` workspaces; normalized like every other email.
    Email(Email),
    /// `cio_{n}`: our own internal id.
    InternalId(i64),
}

/// The prefix Customer.io reserves for its own ids; an external id may not start with it,
/// or `cio_12` would name two different customers.
const INTERNAL_PREFIX: &str = "cio_";
pub const EXTERNAL_ID_MAX_CHARS: usize = 150;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdentifierError {
    #[error("the identifier is empty")]
    Empty,
    #[error("an identifier can be at most 150 characters")]
    TooLong,
    #[error("an identifier cannot contain control characters")]
    ControlCharacter,
    #[error("cio_ must be followed by a customer's internal id, e.g. cio_42")]
    BadInternalId,
    #[error("the identifier looks like an email address but is not one: {0}")]
    Email(EmailError),
}

impl Identifier {
    pub fn parse(raw: &str, mode: IdentifierMode) -> Result<Identifier, IdentifierError> {
        if raw.is_empty() {
            return Err(IdentifierError::Empty);
        }
        if raw.chars().count() > EXTERNAL_ID_MAX_CHARS {
            return Err(IdentifierError::TooLong);
        }
        if raw.chars().any(char::is_control) {
            return Err(IdentifierError::ControlCharacter);
        }
        if let Some(number) = raw.strip_prefix(INTERNAL_PREFIX) {
            // Digits only: `+5` or ` 5` would parse as 5 and give one customer many names.
            return match number.parse::<i64>() {
                Ok(id) if id > 0 && number.bytes().all(|b| b.is_ascii_digit()) => {
                    Ok(Identifier::InternalId(id))
                }
                _ => Err(IdentifierError::BadInternalId),
            };
        }
        if mode == IdentifierMode::IdOrEmail && raw.contains('@') {
            return Email::parse(raw)
                .map(Identifier::Email)
                .map_err(IdentifierError::Email);
        }
        Ok(Identifier::ExternalId(raw.to_owned()))
    }

    /// The external id a customer created under this identifier gets: an email stands in
    /// for the id, so that the unique (workspace, external id) index also guards
    /// customers first seen by their address. `None` for an internal id, which names a
    /// customer that must already exist.
    pub fn external_id_for_new(&self) -> Option<&str> {
        match self {
            Identifier::ExternalId(id) => Some(id),
            Identifier::Email(email) => Some(email.as_str()),
            Identifier::InternalId(_) => None,
        }
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identifier::ExternalId(id) => f.write_str(id),
            Identifier::Email(email) => f.write_str(email.as_str()),
            Identifier::InternalId(id) => write!(f, "{INTERNAL_PREFIX}{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IdentifierMode::*;

    #[test]
    fn modes_round_trip_through_their_stored_keys() {
        for mode in [Id, IdOrEmail] {
            assert_eq!(IdentifierMode::parse(mode.key()), Ok(mode));
        }
        assert!(IdentifierMode::parse("email").is_err());
        assert_eq!(IdentifierMode::try_from("id_or_email".to_owned()), Ok(IdOrEmail));
        assert_eq!(
            IdentifierMode::try_from("ID".to_owned()),
            Err(UnknownIdentifierMode("ID".into()))
        );
    }

    #[test]
    fn ids_are_kept_exactly_as_given() {
        assert_eq!(
            Identifier::parse(" Ada 42 ", Id),
            Ok(Identifier::ExternalId(" Ada 42 ".into()))
        );
        assert_eq!(
            Identifier::parse(&"x".repeat(150), IdOrEmail),
            Ok(Identifier::ExternalId("x".repeat(150)))
        );
    }

    #[test]
    fn an_address_is_an_email_only_in_id_or_email_workspaces() {
        assert_eq!(
            Identifier::parse("Ada@Example.com", Id),
            Ok(Identifier::ExternalId("Ada@Example.com".into()))
        );
        assert_eq!(
            Identifier::parse("Ada@Example.com", IdOrEmail),
            Ok(Identifier::Email(Email::parse("ada@example.com").unwrap()))
        );
        assert!(matches!(
            Identifier::parse("ada@", IdOrEmail),
            Err(IdentifierError::Email(_))
        ));
        assert_eq!(
            Identifier::parse("ada", IdOrEmail),
            Ok(Identifier::ExternalId("ada".into()))
        );
    }

    #[test]
    fn cio_prefixed_identifiers_are_internal_ids() {
        assert_eq!(Identifier::parse("cio_42", Id), Ok(Identifier::InternalId(42)));
        assert_eq!(
            Identifier::parse("cio_42", IdOrEmail),
            Ok(Identifier::InternalId(42))
        );
        for bad in [
            "cio_",
            "cio_abc",
            "cio_-1",
            "cio_0",
            "cio_+5",
            "cio_99999999999999999999",
        ] {
            assert_eq!(
                Identifier::parse(bad, Id),
                Err(IdentifierError::BadInternalId),
                "{bad}"
            );
        }
        assert_eq!(Identifier::InternalId(7).to_string(), "cio_7");
    }

    #[test]
    fn empty_long_and_control_character_identifiers_are_refused() {
        assert_eq!(Identifier::parse("", Id), Err(IdentifierError::Empty));
        assert_eq!(
            Identifier::parse(&"x".repeat(151), Id),
            Err(IdentifierError::TooLong)
        );
        assert_eq!(
            Identifier::parse("a\nb", Id),
            Err(IdentifierError::ControlCharacter)
        );
    }

    #[test]
    fn new_customers_take_the_id_or_the_address_as_their_external_id() {
        let email = Identifier::parse("ada@example.com", IdOrEmail).unwrap();
        assert_eq!(email.external_id_for_new(), Some("ada@example.com"));
        assert_eq!(
            Identifier::parse("42", Id).unwrap().external_id_for_new(),
            Some("42")
        );
        assert_eq!(Identifier::InternalId(3).external_id_for_new(), None);
    }
}
