//! Suppress and unsuppress identifiers (Customer.io's `/suppress` and `/unsuppress`).
//! Both are idempotent: suppressing twice, or unsuppressing what is free, is fine.

use actix_web::{web, HttpRequest, HttpResponse};

use super::accepted;
use super::auth::ApiClient;
use super::error::ApiError;
use crate::db::write_transaction;
use crate::domain::{AuditAction, Identifier, JobKind};
use crate::erasure::batch::ErasureScope;
use crate::erasure::journal::JournalEntry;
use crate::erasure::pending_imports;
use crate::erasure::single::erase_one;
use crate::erasure::suppress::{digests_matching_identifier, digests_of_identifier};
use crate::erasure::ErasureError;
use crate::store::audit::{self, NewEntry};
use crate::store::customer_writes::{self, WriteError};
use crate::store::{erasures, suppressions};
use crate::web::extractors::request_origin;
use crate::web::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/customers/{identifier}/suppress").route(web::post().to(suppress)))
        .service(web::resource("/customers/{identifier}/unsuppress").route(web::post().to(unsuppress)));
}

impl From<ErasureError> for ApiError {
    fn from(err: ErasureError) -> Self {
        match err {
            ErasureError::Store(err) => err.into(),
            ErasureError::Held => WriteError::LegalHold.into(),
            ErasureError::NotFound => ApiError::NotFound("No customer has that identifier."),
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

impl From<WriteError> for ErasureError {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::LegalHold => ErasureError::Held,
            WriteError::NotFound => ErasureError::NotFound,
            WriteError::Store(err) => ErasureError::Store(err),
            other => ErasureError::Store(crate::store::StoreError::Inconsistent(other.to_string())),
        }
    }
}

/// Deletes the customer if present and suppresses all their identifiers, and the
/// identifier given, in one transaction.
async fn suppress(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ApiClient,
    identifier: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let identifier = Identifier::parse(&identifier, client.identifier_mode)?;
    let digests = digests_of_identifier(&state.secret, &identifier);
    let workspace = client.workspace.clone();
    let secret = state.secret.clone();
    let journal = state.journal.clone();
    let actor = client.actor();
    let by = format!("api_key:{}", client.key_id);
    let origin = request_origin(&req);
    state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<(), ErasureError> {
                suppressions::lock_digests(conn, &digests)?;
                // Counted before the deletion, which suppresses the same digests itself.
                let mut added = 0;
                for (kind, digest) in &digests {
                    if suppressions::find(conn, workspace.id, kind, digest)?.is_none() {
                        added += 1;
                    }
                }
                if let Some(customer_id) = customer_writes::resolve(conn, workspace.id, &identifier)? {
                    let scope = ErasureScope {
                        workspace: &workspace,
                        secret: &secret,
                        by_user: None,
                        actor_label: by.clone(),
                        journal: &journal,
                    };
                    erase_one(conn, &scope, actor, JobKind::Delete, customer_id, true, &origin)?;
                }
                for (kind, digest) in &digests {
                    suppressions::add(conn, workspace.id, kind, digest, "api", &by)?;
                }
                let forgotten = pending_imports::Forgotten::of_identifier(&identifier);
                pending_imports::forget_in_pending_imports(conn, &secret, workspace.id, &forgotten)?;
                let mut entry = JournalEntry::new(workspace.id);
                entry.suppressed = digests.iter().map(|(k, d)| (k.to_string(), d.clone())).collect();
                journal.record(&entry).map_err(journal_error)?;
                if added > 0 {
                    audit::append(
                        conn,
                        NewEntry::new(actor, AuditAction::IdentifierSuppressed, &origin)
                            .workspace(workspace.id)
                            .target(format!("suppression:{}", &digests[0].1[..12]))
                            .affected(added)
                            .details(serde_json::json!({ "kinds": digests.iter().map(|d| d.0).collect::<Vec<_>>(), "reason": "api" })),
                    )?;
                }
                Ok(())
            })
        })
        .await?;
    // The transaction is over: fold the erased pages out of the log files.
    if let Err(err) = state
        .db
        .run(|conn| erasures::flush_erased_pages(conn, false))
        .await
    {
        tracing::warn!(error = %err, "could not flush erased pages");
    }
    Ok(accepted())
}

/// Frees the identifier: a customer created with it afterwards is new, with no history.
async fn unsuppress(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ApiClient,
    identifier: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let identifier = Identifier::parse(&identifier, client.identifier_mode)?;
    let digests = digests_matching_identifier(&state.secret, &identifier);
    let workspace_id = client.workspace.id;
    let actor = client.actor();
    let origin = request_origin(&req);
    let journal = state.journal.clone();
    state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<(), ErasureError> {
                suppressions::lock_digests(conn, &digests)?;
                let mut entry = JournalEntry::new(workspace_id);
                entry.unsuppressed = digests.iter().map(|(k, d)| (k.to_string(), d.clone())).collect();
                journal.record(&entry).map_err(journal_error)?;
                let mut removed = 0;
                for (kind, digest) in &digests {
                    if suppressions::remove(conn, workspace_id, kind, digest)? {
                        removed += 1;
                    }
                }
                if removed > 0 {
                    audit::append(
                        conn,
                        NewEntry::new(actor, AuditAction::IdentifierUnsuppressed, &origin)
                            .workspace(workspace_id)
                            .target(format!("suppression:{}", &digests[0].1[..12]))
                            .affected(removed),
                    )?;
                }
                Ok(())
            })
        })
        .await?;
    Ok(accepted())
}

pub fn journal_error(err: std::io::Error) -> ErasureError {
    ErasureError::Store(crate::store::StoreError::Inconsistent(format!(
        "the erasure journal cannot be written: {err}"
    )))
}
