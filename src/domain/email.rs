use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// An email address, trimmed, lower-cased and in Unicode NFC, so that equal addresses
/// compare equal: `josé` typed with a composed `é` or with `e` and a combining accent
/// is one address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmailError {
    #[error("enter an email address")]
    Empty,
    #[error("an email address can be at most 254 characters")]
    TooLong,
    #[error("that does not look like an email address")]
    Malformed,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Email, EmailError> {
        let value = normalize(raw);
        if value.is_empty() {
            return Err(EmailError::Empty);
        }
        if value.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = value.rsplit_once('@').ok_or(EmailError::Malformed)?;
        let bad_char = |c: char| c.is_whitespace() || c.is_control() || "<>()[],;:\\\"".contains(c);
        if local.is_empty()
            || local.len() > 64
            || domain.len() < 3
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
            || local.contains('@')
            || value.chars().any(bad_char)
        {
            return Err(EmailError::Malformed);
        }
        Ok(Email(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Every form this address may have been stored or digested in: its own (NFC)
    /// and, where it differs, its decomposed form (NFD). Addresses used to be only
    /// trimmed and lower-cased, so one typed decomposed was kept decomposed; lookups
    /// and suppression checks try both so that nothing stored then is missed now.
    pub fn stored_forms(&self) -> Vec<String> {
        stored_forms(&self.0)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// How an address is compared: trimmed, lower-cased, then composed (NFC). Lower-casing
/// comes first because it can itself leave a sequence that composes.
pub fn normalize(raw: &str) -> String {
    raw.trim().to_lowercase().nfc().collect()
}

/// [`Email::stored_forms`] for text that may not be a valid address (a suppression
/// digest is made of whatever was given).
pub fn stored_forms(raw: &str) -> Vec<String> {
    let composed = normalize(raw);
    let decomposed: String = composed.nfd().collect();
    if decomposed == composed {
        vec![composed]
    } else {
        vec![composed, decomposed]
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
    }

    const COMPOSED: &str = "jos\u{e9}@example.com";
    const DECOMPOSED: &str = "jose\u{301}@example.com";

    #[test]
    fn an_address_is_one_address_in_every_normalization_form() {
        let composed = Email::parse(COMPOSED).unwrap();
        assert_eq!(Email::parse(DECOMPOSED).unwrap(), composed);
        assert_eq!(Email::parse(" JOSE\u{301}@Example.com ").unwrap(), composed);
        assert_eq!(composed.as_str(), COMPOSED);
        // Compatibility forms of this address are the canonical ones.
        assert_eq!(COMPOSED.nfkc().collect::<String>(), COMPOSED);
        assert_eq!(COMPOSED.nfkd().collect::<String>(), DECOMPOSED);
    }

    #[test]
    fn upper_case_addresses_compose_whichever_form_they_came_in() {
        assert_eq!(normalize("\u{c9}@x.co"), "\u{e9}@x.co");
        assert_eq!(normalize("E\u{301}@x.co"), "\u{e9}@x.co");
    }

    #[test]
    fn an_address_was_perhaps_stored_composed_or_decomposed() {
        let email = Email::parse(DECOMPOSED).unwrap();
        assert_eq!(
            email.stored_forms(),
            vec![COMPOSED.to_owned(), DECOMPOSED.to_owned()]
        );
        assert_eq!(
            Email::parse("ada@example.com").unwrap().stored_forms(),
            vec!["ada@example.com".to_owned()]
        );
        assert_eq!(stored_forms(" JOSE\u{301}@x.co"), stored_forms("jos\u{e9}@x.co"));
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "",
            "   ",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@@example.com",
            "ada@.example.com",
            "ada@example..com",
            "<a>@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(
            Email::parse(&format!("{}@example.com", "a".repeat(250))),
            Err(EmailError::TooLong)
        );
    }
}
