//! How an entry's hash is made.
//!
//! An entry is sealed with HMAC-SHA256 under a key derived from the server's secret for
//! this purpose only, and stored as `k1:` and the hex digest: whoever can write to the
//! database but does not hold the key cannot recompute the chain after changing it.
//! Entries written before the chain was keyed carry a plain SHA-256 of the same bytes,
//! stored as bare hex (the legacy rule); anyone can recompute those.

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use crate::secret::SecretKey;

/// Marks a hash made with the key; a bare hex hash is the legacy rule's.
pub const KEYED_PREFIX: &str = "k1:";

/// Which rule made a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashFormat {
    Keyed,
    Legacy,
}

impl HashFormat {
    pub fn of(hash: &str) -> HashFormat {
        if hash.starts_with(KEYED_PREFIX) {
            HashFormat::Keyed
        } else {
            HashFormat::Legacy
        }
    }
}

/// The fields a hash covers.
#[derive(Debug, Clone, Copy)]
pub struct EntryFields<'a> {
    pub id: i64,
    pub created_at: NaiveDateTime,
    pub workspace_id: Option<i64>,
    pub actor_kind: &'a str,
    pub actor_id: Option<i64>,
    pub action: &'a str,
    pub target: &'a str,
    pub selection: &'a str,
    pub affected: i64,
    pub details: &'a str,
    pub request_id: &'a str,
    pub client_ip: &'a str,
    pub prev_hash: &'a str,
}

impl EntryFields<'_> {
    /// The fields in a fixed order, each length-prefixed so that no two different
    /// entries serialize alike.
    fn encode(&self) -> Vec<u8> {
        let created = self.created_at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
        let workspace = self.workspace_id.map(|w| w.to_string()).unwrap_or_default();
        let actor = self.actor_id.map(|a| a.to_string()).unwrap_or_default();
        let id = self.id.to_string();
        let affected = self.affected.to_string();
        let mut bytes = Vec::with_capacity(256 + self.details.len());
        for field in [
            id.as_str(),
            created.as_str(),
            workspace.as_str(),
            self.actor_kind,
            actor.as_str(),
            self.action,
            self.target,
            self.selection,
            affected.as_str(),
            self.details,
            self.request_id,
            self.client_ip,
            self.prev_hash,
        ] {
            bytes.extend_from_slice(&(field.len() as u64).to_be_bytes());
            bytes.extend_from_slice(field.as_bytes());
        }
        bytes
    }
}

/// The legacy rule: plain SHA-256, bare hex. Kept to check (and re-key) chains written
/// before entries were keyed; never used to write a new entry.
pub fn legacy_hash(fields: &EntryFields<'_>) -> String {
    hex::encode(Sha256::digest(fields.encode()))
}

/// The audit chain's key, derived from the server's secret: it seals entries and the
/// head file and can do nothing else.
#[derive(Clone)]
pub struct ChainKey(SecretKey);

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey(***)")
    }
}

impl ChainKey {
    pub fn new(secret: &SecretKey) -> ChainKey {
        ChainKey(secret.derive("audit-chain"))
    }

    /// The keyed hash of an entry, as stored.
    pub fn seal(&self, fields: &EntryFields<'_>) -> String {
        format!("{KEYED_PREFIX}{}", self.0.digest("audit entry", &fields.encode()))
    }

    /// Whether `stored` is the hash `fields` should have under the rule it names.
    pub fn matches(&self, fields: &EntryFields<'_>, stored: &str) -> bool {
        let expected = match HashFormat::of(stored) {
            HashFormat::Keyed => self.seal(fields),
            HashFormat::Legacy => legacy_hash(fields),
        };
        constant_time_eq(expected.as_bytes(), stored.as_bytes())
    }

    /// The head file's own digest over what it records.
    pub(super) fn seal_head(&self, message: &[u8]) -> String {
        self.0.digest("audit head", message)
    }
}

pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(prev_hash: &str) -> EntryFields<'_> {
        EntryFields {
            id: 7,
            created_at: chrono::NaiveDate::from_ymd_opt(2026, 1, 2)
                .unwrap()
                .and_hms_micro_opt(3, 4, 5, 678_901)
                .unwrap(),
            workspace_id: Some(1),
            actor_kind: "user",
            actor_id: Some(2),
            action: "customer.deleted",
            target: "customer:9",
            selection: "",
            affected: 1,
            details: "{}",
            request_id: "r",
            client_ip: "203.0.113.7",
            prev_hash,
        }
    }

    fn key(text: &str) -> ChainKey {
        ChainKey::new(&SecretKey::from_configured(&text.repeat(32)).unwrap())
    }

    #[test]
    fn the_keyed_hash_depends_on_the_key_and_is_marked() {
        let sealed = key("a").seal(&fields("p"));
        assert!(sealed.starts_with(KEYED_PREFIX));
        assert_eq!(sealed.len(), KEYED_PREFIX.len() + 64);
        assert_eq!(HashFormat::of(&sealed), HashFormat::Keyed);
        assert_ne!(sealed, key("b").seal(&fields("p")), "another key, another hash");
        assert_ne!(sealed, key("a").seal(&fields("q")), "the link is covered");
        assert_ne!(
            sealed[KEYED_PREFIX.len()..],
            legacy_hash(&fields("p")),
            "not the plain SHA-256 anyone could compute"
        );
    }

    #[test]
    fn the_legacy_rule_is_the_length_prefixed_sha256_it_always_was() {
        // The bytes the old hasher was fed, field by field.
        let mut hasher = Sha256::new();
        for field in [
            "7",
            "2026-01-02T03:04:05.678901",
            "1",
            "user",
            "2",
            "customer.deleted",
            "customer:9",
            "",
            "1",
            "{}",
            "r",
            "203.0.113.7",
            "p",
        ] {
            hasher.update((field.len() as u64).to_be_bytes());
            hasher.update(field.as_bytes());
        }
        assert_eq!(legacy_hash(&fields("p")), hex::encode(hasher.finalize()));
        assert_eq!(HashFormat::of(&legacy_hash(&fields("p"))), HashFormat::Legacy);
    }

    #[test]
    fn a_stored_hash_is_checked_under_the_rule_it_names() {
        let key = key("a");
        assert!(key.matches(&fields("p"), &key.seal(&fields("p"))));
        assert!(key.matches(&fields("p"), &legacy_hash(&fields("p"))));
        // A plain SHA-256 dressed up as keyed does not pass.
        let forged = format!("{KEYED_PREFIX}{}", legacy_hash(&fields("p")));
        assert!(!key.matches(&fields("p"), &forged));
        assert!(!key.matches(&fields("q"), &key.seal(&fields("p"))));
    }
}
