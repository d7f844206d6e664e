//! Suppression digests: HMAC-SHA256 under the server's key of the normalized
//! identifier, so the list can answer "is x suppressed?" without holding x.

use crate::domain::Identifier;
use crate::secret::SecretKey;

pub const KIND_ID: &str = "id";
pub const KIND_EMAIL: &str = "email";

pub fn id_digest(secret: &SecretKey, external_id: &str) -> String {
    secret.digest("suppression:id", external_id.as_bytes())
}

/// Emails are compared trimmed and lower-cased.
pub fn email_digest(secret: &SecretKey, email: &str) -> String {
    secret.digest("suppression:email", email.trim().to_lowercase().as_bytes())
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
/// the email in the body. The body's email is checked in "ID only" workspaces too: an
/// email address suppressed there (by hand, or before the workspace switched modes) is
/// refused like any other suppression, never silently let through.
pub fn digests_for_write(
    secret: &SecretKey,
    identifier: &Identifier,
    body_email: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut digests = Vec::new();
    match identifier {
        Identifier::ExternalId(id) => digests.push((KIND_ID, id_digest(secret, id))),
        Identifier::Email(email) => {
            digests.push((KIND_EMAIL, email_digest(secret, email.as_str())));
            digests.push((KIND_ID, id_digest(secret, email.as_str())));
        }
        // An internal id names a customer who exists, so was never suppressed.
        Identifier::InternalId(_) => {}
    }
    if let Some(email) = body_email.filter(|e| !e.trim().is_empty()) {
        digests.push((KIND_EMAIL, email_digest(secret, email)));
    }
    digests
}

/// The digests that suppressing (or unsuppressing) this identifier adds (or removes).
pub fn digests_of_identifier(secret: &SecretKey, identifier: &Identifier) -> Vec<(&'static str, String)> {
    digests_for_write(secret, identifier, None)
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
}
