//! Import previews hold the rows they read until someone confirms them. When a customer
//! is erased or suppressed meanwhile, the rows that name them go: an erasure leaves
//! nothing of the person behind, in a pending import either.

use std::collections::HashSet;

use serde_json::Value;

use super::import_report::ImportReport;
use super::suppress::{email_digests, id_digest, KIND_EMAIL, KIND_ID};
use crate::db::{write_transaction, DbConnection};
use crate::domain::RowCells;
use crate::secret::SecretKey;
use crate::store::import_rows::{self, ForgottenRow, ImportRowRecord};
use crate::store::jobs;
use crate::store::suppressions::Digest;
use crate::store::StoreResult;

/// Why a previewed row is no longer in the import, as its report lists it.
pub const ERASED_SINCE_PREVIEW: &str = "erased or suppressed after the preview";

/// The internal id that names a customer in an import row's id cell, as `cio_42`.
const INTERNAL_PREFIX: &str = "cio_";

/// Who was erased or suppressed: every customer by internal id and by the digests of
/// their id and address, and every suppressed identifier by its digest.
#[derive(Debug, Default)]
pub struct Forgotten {
    internal_ids: HashSet<i64>,
    digests: HashSet<(String, String)>,
}

impl Forgotten {
    pub fn new() -> Forgotten {
        Forgotten::default()
    }

    /// A customer erased (deleted, archived, or deleted and suppressed), by the values
    /// they had before.
    pub fn customer(
        &mut self,
        secret: &SecretKey,
        id: i64,
        external_id: Option<&str>,
        email: Option<&str>,
    ) -> &mut Forgotten {
        self.internal_ids.insert(id);
        if let Some(external_id) = external_id.filter(|s| !s.is_empty()) {
            self.digests
                .insert((KIND_ID.into(), id_digest(secret, external_id)));
        }
        if let Some(email) = email.filter(|s| !s.trim().is_empty()) {
            for digest in email_digests(secret, email) {
                self.digests.insert((KIND_EMAIL.into(), digest));
            }
        }
        self
    }

    /// Suppressed identifiers alone.
    pub fn of_digests(digests: &[Digest]) -> Forgotten {
        let mut forgotten = Forgotten::new();
        forgotten.digests(digests);
        forgotten
    }

    /// Suppressed identifiers, as the suppression list keeps them.
    pub fn digests(&mut self, digests: &[Digest]) -> &mut Forgotten {
        for (kind, digest) in digests {
            self.digests.insert(((*kind).to_owned(), digest.clone()));
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.internal_ids.is_empty() && self.digests.is_empty()
    }

    /// Whether the row names someone forgotten: by its id cell (an external id, an
    /// internal `cio_` id, or an address standing as an id) or by any address in it,
    /// in whatever workspace mode, since an address is the person's either way.
    fn names(&self, secret: &SecretKey, cells: &RowCells) -> bool {
        let mut emails: Vec<&str> = Vec::new();
        if let Some(id) = cells.id.as_deref() {
            if let Some(internal) = id
                .strip_prefix(INTERNAL_PREFIX)
                .and_then(|n| n.parse::<i64>().ok())
            {
                if self.internal_ids.contains(&internal) {
                    return true;
                }
            }
            if self
                .digests
                .contains(&(KIND_ID.to_owned(), id_digest(secret, id)))
            {
                return true;
            }
            if id.contains('@') {
                emails.push(id);
            }
        }
        emails.extend(cells.fields.get("email").and_then(Value::as_str));
        emails.into_iter().any(|email| self.names_address(secret, email))
    }

    /// An address names a customer by their email, or as the external id of one first
    /// seen by it; in either form it may have been stored in.
    fn names_address(&self, secret: &SecretKey, email: &str) -> bool {
        let forms = crate::domain::email::stored_forms(email);
        email_digests(secret, email)
            .into_iter()
            .any(|digest| self.digests.contains(&(KIND_EMAIL.to_owned(), digest)))
            || forms.iter().any(|form| {
                self.digests
                    .contains(&(KIND_ID.to_owned(), id_digest(secret, form)))
            })
    }

    fn names_record(&self, secret: &SecretKey, record: &ImportRowRecord) -> bool {
        match serde_json::from_str::<RowCells>(&record.cells) {
            Ok(cells) => self.names(secret, &cells),
            // A row that cannot be read cannot be imported either: it goes too.
            Err(_) => true,
        }
    }
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
    use serde_json::json;

    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_configured(&"k".repeat(32)).unwrap()
    }

    fn row(id: Option<&str>, fields: Value) -> RowCells {
        RowCells {
            id: id.map(str::to_owned),
            fields: fields.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn a_row_names_an_erased_customer_by_id_internal_id_or_address() {
        let key = key();
        let mut forgotten = Forgotten::new();
        forgotten.customer(&key, 7, Some("c-7"), Some("jos\u{e9}@example.com"));
        assert!(forgotten.names(&key, &row(Some("c-7"), json!({}))));
        assert!(forgotten.names(&key, &row(Some("cio_7"), json!({}))));
        assert!(forgotten.names(&key, &row(None, json!({ "email": "JOSE\u{301}@example.com" }))));
        assert!(forgotten.names(
            &key,
            &row(Some("other"), json!({ "email": "jos\u{e9}@example.com" }))
        ));
        assert!(!forgotten.names(&key, &row(Some("c-8"), json!({ "email": "ada@example.com" }))));
        assert!(!forgotten.names(&key, &row(Some("cio_8"), json!({}))));
    }

    #[test]
    fn a_row_names_a_suppressed_identifier_in_any_form() {
        let key = key();
        let mut forgotten = Forgotten::new();
        forgotten.digests(&[
            (
                KIND_EMAIL,
                email_digests(&key, "jose\u{301}@example.com")[1].clone(),
            ),
            (KIND_ID, id_digest(&key, "c-9")),
        ]);
        assert!(forgotten.names(&key, &row(None, json!({ "email": "jos\u{e9}@example.com" }))));
        assert!(forgotten.names(&key, &row(Some("c-9"), json!({ "name": "Ada" }))));
        assert!(!forgotten.names(&key, &row(Some("c-10"), json!({ "name": "Ada" }))));
    }

    #[test]
    fn a_customer_first_seen_by_address_is_named_by_it_as_an_id() {
        let key = key();
        let mut forgotten = Forgotten::new();
        forgotten.customer(&key, 3, Some("ada@example.com"), None);
        assert!(forgotten.names(&key, &row(None, json!({ "email": "Ada@Example.com" }))));
        assert!(forgotten.names(&key, &row(Some("ada@example.com"), json!({}))));
    }

    #[test]
    fn nothing_forgotten_names_nobody() {
        assert!(Forgotten::new().is_empty());
        assert!(!Forgotten::new().names(&key(), &row(Some("c-1"), json!({ "email": "a@b.co" }))));
    }
}
