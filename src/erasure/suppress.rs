//! Suppression digests: HMAC-SHA256 under the server's key of the normalized
//! identifier, so the list can answer "is x suppressed?" without holding x.

use crate::domain::{email, Identifier, IdentifierKind};
use crate::secret::SecretKey;

pub const KIND_ID: &str = IdentifierKind::Id.key();
pub const KIND_EMAIL: &str = IdentifierKind::Email.key();

pub fn id_digest(secret: &SecretKey, external_id: &str) -> String {
    secret.digest("suppression:id", external_id.as_bytes())
}

/// The digest a new suppression of this address stores: of the address trimmed,
/// lower-cased and composed (NFC), like every email.
pub fn email_digest(secret: &SecretKey, email: &str) -> String {
    email_form_digest(secret, &email::normalize(email))
}

fn email_form_digest(secret: &SecretKey, normalized: &str) -> String {
    secret.digest("suppression:email", normalized.as_bytes())
}

/// Every digest that suppresses this address. Digests used to be made of the address
/// only trimmed and lower-cased, in whichever form it was typed, so one suppressed
/// decomposed is found by its decomposed (NFD) digest.
pub fn email_digests(secret: &SecretKey, email: &str) -> Vec<String> {
    email::stored_forms(email)
        .iter()
        .map(|form| email_form_digest(secret, form))
        .collect()
}

/// Every id digest of an address that stands as an external id (a customer first seen
/// by email), in each form it may have been stored in.
fn id_digests_of_email(secret: &SecretKey, email: &str) -> Vec<String> {
    email::stored_forms(email)
        .iter()
        .map(|form| id_digest(secret, form))
        .collect()
}

/// The (kind, digest) pairs that suppress a person with these identifiers. Emails are
/// suppressed only in workspaces that identify people by email too.
pub fn digests_for(
    secret: &SecretKey,
    external_id: Option<&str>,
    email: Option<&str>,
    emails_identify: bool,
) -> Vec<(&'static str, String)> {
    let mut digests = Vec::new();
    if let Some(id) = external_id.filter(|s| !s.is_empty()) {
        digests.push((KIND_ID, id_digest(secret, id)));
    }
    if emails_identify {
        if let Some(email) = email.filter(|s| !s.trim().is_empty()) {
            digests.push((KIND_EMAIL, email_digest(secret, email)));
        }
    }
    digests
}

/// The digests an API write must not carry: the identifier it names (an email
/// identifier also stands as the external id of a customer first seen by email) and
/// the email in the body, each address with the digest of every form it may have been
/// suppressed in. The body's email is checked in "ID only" workspaces too: an address
/// suppressed there (by hand, or before the workspace switched modes) is refused like
/// any other suppression, never silently let through.
pub fn digests_for_write(
    secret: &SecretKey,
    identifier: &Identifier,
    body_email: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut digests = digests_matching_identifier(secret, identifier);
    if let Some(email) = body_email.filter(|e| !e.trim().is_empty()) {
        digests.extend(email_digests(secret, email).into_iter().map(|d| (KIND_EMAIL, d)));
    }
    digests
}

/// The digests that suppressing this identifier adds: one per kind, of the normalized
/// identifier.
pub fn digests_of_identifier(secret: &SecretKey, identifier: &Identifier) -> Vec<(&'static str, String)> {
    match identifier {
        Identifier::ExternalId(id) => vec![(KIND_ID, id_digest(secret, id))],
        Identifier::Email(email) => vec![
            (KIND_EMAIL, email_digest(secret, email.as_str())),
            (KIND_ID, id_digest(secret, email.as_str())),
        ],
        // An internal id names a customer who exists, so was never suppressed.
        Identifier::InternalId(_) => Vec::new(),
    }
}

/// Every digest that suppresses this identifier, whichever form an address was
/// suppressed in: what a check looks for, and what unsuppressing removes. The
/// normalized digests of [`digests_of_identifier`] come first.
pub fn digests_matching_identifier(
    secret: &SecretKey,
    identifier: &Identifier,
) -> Vec<(&'static str, String)> {
    match identifier {
        Identifier::Email(email) => {
            let emails = email_digests(secret, email.as_str())
                .into_iter()
                .map(|d| (KIND_EMAIL, d));
            let ids = id_digests_of_email(secret, email.as_str())
                .into_iter()
                .map(|d| (KIND_ID, d));
            let mut digests = digests_of_identifier(secret, identifier);
            for digest in emails.chain(ids) {
                if !digests.contains(&digest) {
                    digests.push(digest);
                }
            }
            digests
        }
        _ => digests_of_identifier(secret, identifier),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_kinds_do_not_collide() {
        let key = SecretKey::from_configured(&"k".repeat(32)).unwrap();
        assert_eq!(
            email_digest(&key, " Ada@Example.COM"),
            email_digest(&key, "ada@example.com")
        );
        assert_ne!(
            id_digest(&key, "ada@example.com"),
            email_digest(&key, "ada@example.com")
        );
        assert_eq!(digests_for(&key, Some("c1"), Some("a@b.co"), false).len(), 1);
        assert_eq!(digests_for(&key, Some("c1"), Some("a@b.co"), true).len(), 2);
        assert!(digests_for(&key, None, None, true).is_empty());
    }

    const COMPOSED: &str = "jos\u{e9}@example.com";
    const DECOMPOSED: &str = "jose\u{301}@example.com";

    fn key() -> SecretKey {
        SecretKey::from_configured(&"k".repeat(32)).unwrap()
    }

    /// The digest made before addresses were composed: trimmed and lower-cased only.
    fn digest_as_made_before(key: &SecretKey, email: &str) -> String {
        key.digest("suppression:email", email.trim().to_lowercase().as_bytes())
    }

    #[test]
    fn new_suppressions_store_the_composed_digest_whatever_form_is_typed() {
        let key = key();
        assert_eq!(email_digest(&key, DECOMPOSED), email_digest(&key, COMPOSED));
        assert_eq!(
            email_digest(&key, COMPOSED),
            digest_as_made_before(&key, COMPOSED)
        );
        let by_decomposed = Identifier::parse(DECOMPOSED, crate::domain::IdentifierMode::IdOrEmail).unwrap();
        assert_eq!(
            digests_of_identifier(&key, &by_decomposed),
            vec![
                (KIND_EMAIL, email_digest(&key, COMPOSED)),
                (KIND_ID, id_digest(&key, COMPOSED))
            ]
        );
    }

    #[test]
    fn a_check_finds_digests_made_before_in_either_form() {
        let key = key();
        for typed in [COMPOSED, DECOMPOSED, " JOSE\u{301}@Example.COM"] {
            let identifier = Identifier::parse(typed, crate::domain::IdentifierMode::IdOrEmail).unwrap();
            let checked = digests_for_write(&key, &identifier, Some(typed));
            for old in [COMPOSED, DECOMPOSED] {
                assert!(
                    checked.contains(&(KIND_EMAIL, digest_as_made_before(&key, old))),
                    "{typed:?}"
                );
                assert!(checked.contains(&(KIND_ID, id_digest(&key, old))), "{typed:?}");
            }
            assert_eq!(digests_matching_identifier(&key, &identifier).len(), 4);
        }
    }

    #[test]
    fn a_plain_ascii_address_has_one_digest_per_kind() {
        let key = key();
        let identifier =
            Identifier::parse("ada@example.com", crate::domain::IdentifierMode::IdOrEmail).unwrap();
        assert_eq!(digests_matching_identifier(&key, &identifier).len(), 2);
        assert_eq!(email_digests(&key, "Ada@Example.com").len(), 1);
    }
}
