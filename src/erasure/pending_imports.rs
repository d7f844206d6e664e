//! Import previews hold the rows they read until someone confirms them. When a customer
//! is erased or suppressed meanwhile, the rows that name them go: an erasure leaves
//! nothing of the person behind, in a pending import either.

use std::borrow::Cow;
use std::collections::HashSet;

use serde::Deserialize;

use super::import_report::ImportReport;
use super::suppress::{email_digests, id_digest, KIND_EMAIL, KIND_ID};
use crate::db::{write_transaction, DbConnection};
use crate::domain::{email, Identifier};
use crate::secret::SecretKey;
use crate::store::import_rows::{self, ForgottenRow, ImportRowRecord};
use crate::store::jobs;
use crate::store::suppressions::Digest;
use crate::store::StoreResult;

/// Why a previewed row is no longer in the import, as its report lists it.
pub const ERASED_SINCE_PREVIEW: &str = "erased or suppressed after the preview";

/// The internal id that names a customer in an import row's id cell, as `cio_42`.
const INTERNAL_PREFIX: &str = "cio_";

/// Who was erased or suppressed: customers by internal id, external id and address,
/// suppressed identifiers as they were given or, where only those are known, by
/// their suppression digests.
///
/// Values are compared as they are, addresses normalized: a preview may hold a
/// million rows, and digesting each of them for every erasure cost 40 µs a row.
#[derive(Debug, Default)]
pub struct Forgotten {
    internal_ids: HashSet<i64>,
    external_ids: HashSet<String>,
    /// Normalized (NFC) addresses.
    emails: HashSet<String>,
    digests: HashSet<(String, String)>,
}

impl Forgotten {
    pub fn new() -> Forgotten {
        Forgotten::default()
    }

    /// One suppressed (or erased) identifier alone.
    pub fn of_identifier(identifier: &Identifier) -> Forgotten {
        let mut forgotten = Forgotten::new();
        forgotten.identifier(identifier);
        forgotten
    }

    /// Suppressed identifiers known only by their digests.
    pub fn of_digests(digests: &[Digest]) -> Forgotten {
        let mut forgotten = Forgotten::new();
        forgotten.digests(digests);
        forgotten
    }

    /// A customer erased (deleted, archived, or deleted and suppressed), by the values
    /// they had before.
    pub fn customer(&mut self, id: i64, external_id: Option<&str>, email: Option<&str>) -> &mut Forgotten {
        self.internal_ids.insert(id);
        if let Some(external_id) = external_id.filter(|s| !s.is_empty()) {
            self.external_ids.insert(external_id.to_owned());
        }
        if let Some(email) = email.filter(|s| !s.trim().is_empty()) {
            self.emails.insert(email::normalize(email));
        }
        self
    }

    /// An identifier suppressed or erased: an address also stands as the external id
    /// of a customer first seen by it.
    pub fn identifier(&mut self, identifier: &Identifier) -> &mut Forgotten {
        match identifier {
            Identifier::ExternalId(id) => {
                self.external_ids.insert(id.clone());
            }
            Identifier::Email(address) => {
                self.emails.insert(address.as_str().to_owned());
                self.external_ids.extend(address.stored_forms());
            }
            Identifier::InternalId(id) => {
                self.internal_ids.insert(*id);
            }
        }
        self
    }

    /// Suppressed identifiers, as the suppression list keeps them.
    pub fn digests(&mut self, digests: &[Digest]) -> &mut Forgotten {
        for (kind, digest) in digests {
            self.digests.insert(((*kind).to_owned(), digest.clone()));
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.internal_ids.is_empty()
            && self.external_ids.is_empty()
            && self.emails.is_empty()
            && self.digests.is_empty()
    }

    /// Whether the row names someone forgotten: by its id cell (an external id, an
    /// internal `cio_` id, or an address standing as an id) or by any address in it,
    /// in whatever workspace mode, since an address is the person's either way.
    fn names(&self, secret: &SecretKey, keys: &RowKeys<'_>) -> bool {
        let mut addresses: Vec<&str> = Vec::with_capacity(2);
        if let Some(id) = keys.id.as_deref() {
            let internal = id
                .strip_prefix(INTERNAL_PREFIX)
                .and_then(|n| n.parse::<i64>().ok());
            if internal.is_some_and(|internal| self.internal_ids.contains(&internal))
                || self.external_ids.contains(id)
                || self.names_by_digest(secret, KIND_ID, id)
            {
                return true;
            }
            if id.contains('@') {
                addresses.push(id);
            }
        }
        addresses.extend(keys.fields.email.as_deref());
        addresses
            .into_iter()
            .any(|address| self.names_address(secret, address))
    }

    /// An address names a customer by their email, or as the external id of one first
    /// seen by it, in either form it may have been stored in.
    fn names_address(&self, secret: &SecretKey, address: &str) -> bool {
        let forms = email::stored_forms(address);
        self.emails.contains(&forms[0])
            || forms.iter().any(|form| self.external_ids.contains(form))
            || (!self.digests.is_empty()
                && (email_digests(secret, address)
                    .into_iter()
                    .any(|digest| self.digests.contains(&(KIND_EMAIL.to_owned(), digest)))
                    || forms
                        .iter()
                        .any(|form| self.names_by_digest(secret, KIND_ID, form))))
    }

    fn names_by_digest(&self, secret: &SecretKey, kind: &str, id: &str) -> bool {
        !self.digests.is_empty() && self.digests.contains(&(kind.to_owned(), id_digest(secret, id)))
    }

    fn names_record(&self, secret: &SecretKey, record: &ImportRowRecord) -> bool {
        match serde_json::from_str::<RowKeys<'_>>(&record.cells) {
            Ok(keys) => self.names(secret, &keys),
            // A row that cannot be read cannot be imported either: it goes too.
            Err(_) => true,
        }
    }
}

/// The cells of a stored row (`domain::RowCells`) that can name a person; the others
/// are skipped unread.
#[derive(Debug, Default, Deserialize)]
struct RowKeys<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    fields: RowKeyFields<'a>,
}

#[derive(Debug, Default, Deserialize)]
struct RowKeyFields<'a> {
    /// Not text when the file's email cell held something else; it names nobody then.
    #[serde(default, borrow, deserialize_with = "text_or_nothing")]
    email: Option<Cow<'a, str>>,
}

fn text_or_nothing<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Cow<'de, str>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Cell<'a> {
        Text(#[serde(borrow)] Cow<'a, str>),
        Other(serde::de::IgnoredAny),
    }
    Ok(match Cell::deserialize(deserializer)? {
        Cell::Text(text) => Some(text),
        Cell::Other(_) => None,
    })
}

/// Removes from the workspace's import previews every row naming someone in
/// `forgotten`, inside the caller's transaction (the erasure's own, so the rows go
/// when the person does). Each preview's report lists the removed rows by line, its
/// total shrinks by them. Returns how many rows went.
pub fn forget_in_pending_imports(
    conn: &mut DbConnection,
    secret: &SecretKey,
    workspace_id: i64,
    forgotten: &Forgotten,
) -> StoreResult<usize> {
    if forgotten.is_empty() {
        return Ok(0);
    }
    let removed = import_rows::forget_matching(conn, workspace_id, |record| {
        forgotten.names_record(secret, record)
    })?;
    let mut jobs_touched: Vec<i64> = removed.iter().map(|row| row.job_id).collect();
    jobs_touched.dedup();
    for job_id in jobs_touched {
        let job = jobs::get(conn, job_id)?;
        let mut report = ImportReport::read(&job.report);
        for ForgottenRow { line, .. } in removed.iter().filter(|row| row.job_id == job_id) {
            report.skip(*line as u64, ERASED_SINCE_PREVIEW.to_owned());
        }
        jobs::set_report(conn, job_id, &report.to_json())?;
    }
    Ok(removed.len())
}

/// Discards the import previews left unconfirmed for longer than `age`, with the rows
/// they read. Returns how many were discarded.
pub fn purge_abandoned_previews(conn: &mut DbConnection, age: chrono::Duration) -> StoreResult<usize> {
    write_transaction(conn, |conn| import_rows::purge_abandoned_previews(conn, age))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::domain::{IdentifierMode, RowCells};

    fn key() -> SecretKey {
        SecretKey::from_configured(&"k".repeat(32)).unwrap()
    }

    /// Whether `forgotten` names a row with these cells, read as stored.
    fn names(forgotten: &Forgotten, id: Option<&str>, fields: Value) -> bool {
        let cells = RowCells {
            id: id.map(str::to_owned),
            fields: fields.as_object().cloned().unwrap_or_default(),
        };
        let record = ImportRowRecord {
            job_id: 1,
            position: 0,
            line: 2,
            cells: serde_json::to_string(&cells).unwrap(),
        };
        forgotten.names_record(&key(), &record)
    }

    #[test]
    fn a_row_names_an_erased_customer_by_id_internal_id_or_address() {
        let mut forgotten = Forgotten::new();
        forgotten.customer(7, Some("c-7"), Some("jos\u{e9}@example.com"));
        assert!(names(&forgotten, Some("c-7"), json!({})));
        assert!(names(&forgotten, Some("cio_7"), json!({})));
        assert!(names(
            &forgotten,
            None,
            json!({ "email": "JOSE\u{301}@example.com" })
        ));
        assert!(names(
            &forgotten,
            Some("other"),
            json!({ "email": "jos\u{e9}@example.com" })
        ));
        assert!(!names(
            &forgotten,
            Some("c-8"),
            json!({ "email": "ada@example.com" })
        ));
        assert!(!names(&forgotten, Some("cio_8"), json!({ "email": 5 })));
    }

    #[test]
    fn a_row_names_a_suppressed_identifier_in_any_form() {
        let by_address = Identifier::parse("jose\u{301}@example.com", IdentifierMode::IdOrEmail).unwrap();
        let forgotten = Forgotten::of_identifier(&by_address);
        assert!(names(
            &forgotten,
            None,
            json!({ "email": "Jos\u{e9}@example.com" })
        ));
        assert!(names(&forgotten, Some("jos\u{e9}@example.com"), json!({})));
        assert!(!names(&forgotten, Some("c-10"), json!({ "name": "Ada" })));
        let forgotten = Forgotten::of_identifier(&Identifier::ExternalId("c-9".into()));
        assert!(names(&forgotten, Some("c-9"), json!({ "name": "Ada" })));
    }

    #[test]
    fn a_row_names_an_identifier_known_only_by_its_digest() {
        let key = key();
        // Suppressed decomposed, before addresses were composed.
        let old = email_digests(&key, "jose\u{301}@example.com")[1].clone();
        let forgotten = Forgotten::of_digests(&[(KIND_EMAIL, old), (KIND_ID, id_digest(&key, "c-9"))]);
        assert!(names(
            &forgotten,
            None,
            json!({ "email": "jos\u{e9}@example.com" })
        ));
        assert!(names(&forgotten, Some("c-9"), json!({ "name": "Ada" })));
        assert!(!names(
            &forgotten,
            Some("c-10"),
            json!({ "email": "ada@example.com" })
        ));
    }

    #[test]
    fn a_customer_first_seen_by_address_is_named_by_it_as_an_id() {
        let mut forgotten = Forgotten::new();
        forgotten.customer(3, Some("jose\u{301}@example.com"), None);
        assert!(names(
            &forgotten,
            None,
            json!({ "email": "Jos\u{e9}@Example.com" })
        ));
        assert!(names(&forgotten, Some("jose\u{301}@example.com"), json!({})));
    }

    #[test]
    fn an_unreadable_row_goes_and_nothing_forgotten_names_nobody() {
        let mut forgotten = Forgotten::new();
        forgotten.customer(1, None, None);
        let record = ImportRowRecord {
            job_id: 1,
            position: 0,
            line: 2,
            cells: "not json".into(),
        };
        assert!(forgotten.names_record(&key(), &record));
        assert!(Forgotten::new().is_empty());
        assert!(!names(
            &Forgotten::new(),
            Some("c-1"),
            json!({ "email": "a@b.co" })
        ));
    }
}
