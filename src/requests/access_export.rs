//! A request's access export (Art. 15, 20): everything stored about the matched
//! customers, written as JSON and as a readable HTML page into the data folder, offered
//! for seven days from a link on the request, then purged. Making it and downloading it
//! are audited.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::Duration;
use serde_json::json;

use crate::db::{write_transaction, DbConnection};
use crate::domain::AuditAction;
use crate::requests::export::{write_html, write_json};
use crate::requests::lifecycle::{matches, RequestError, RequestResult};
use crate::store::audit::{self, NewEntry};
use crate::store::requests;
use crate::store::workspaces::Workspace;
use crate::store::{now, StoreResult};
use crate::team::Manager;

/// How long an export can be downloaded.
pub const EXPORT_DAYS: i64 = 7;

/// The two forms an export takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Html,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Html => "html",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Json => "application/json",
            ExportFormat::Html => "text/html; charset=utf-8",
        }
    }
}

fn folder(data_dir: &Path) -> PathBuf {
    data_dir.join("exports")
}

/// Where a request's export of this format lives.
pub fn export_path(data_dir: &Path, request_id: i64, format: ExportFormat) -> PathBuf {
    folder(data_dir).join(format!("request-{request_id}.{}", format.extension()))
}

/// Writes the export anew (both forms) and offers it for seven days.
pub fn make_export(
    conn: &mut DbConnection,
    manager: &Manager,
    workspace: &Workspace,
    data_dir: &Path,
    id: i64,
) -> RequestResult<i64> {
    let request = requests::find(conn, manager.workspace_id, id)?.ok_or(RequestError::NotFound)?;
    if request.is_closed() {
        return Err(RequestError::Refused("This request is closed.".into()));
    }
    if !request.request_kind().wants_access() {
        return Err(RequestError::Refused(
            "The person asked for erasure only, not a copy of their data.".into(),
        ));
    }
    let ids: Vec<i64> = matches(conn, &request)?.into_iter().map(|m| m.id).collect();
    std::fs::create_dir_all(folder(data_dir)).map_err(|e| RequestError::Export(e.to_string()))?;
    let mut customers = 0;
    for format in [ExportFormat::Json, ExportFormat::Html] {
        let path = export_path(data_dir, id, format);
        // Written beside, then renamed: a download never reads half an export.
        let partial = path.with_extension(format!("{}.partial", format.extension()));
        let file = File::create(&partial).map_err(|e| RequestError::Export(e.to_string()))?;
        let mut out = BufWriter::with_capacity(256 * 1024, file);
        let counts = match format {
            ExportFormat::Json => write_json(conn, workspace, &ids, &mut out),
            ExportFormat::Html => write_html(conn, workspace, &ids, &mut out),
        }
        .map_err(|e| RequestError::Export(e.to_string()))?;
        out.flush().map_err(|e| RequestError::Export(e.to_string()))?;
        out.get_ref()
            .sync_all()
            .map_err(|e| RequestError::Export(e.to_string()))?;
        std::fs::rename(&partial, &path).map_err(|e| RequestError::Export(e.to_string()))?;
        customers = counts.customers as i64;
    }
    let at = now();
    write_transaction(conn, |conn| -> RequestResult<()> {
        requests::set_export(conn, id, at, at + Duration::days(EXPORT_DAYS))?;
        audit::append(
            conn,
            NewEntry::new(manager.actor(), AuditAction::RequestExported, &manager.origin)
                .workspace(manager.workspace_id)
                .target(format!("request:{id}"))
                .affected(customers)
                .details(json!({ "available_days": EXPORT_DAYS })),
        )?;
        Ok(())
    })?;
    Ok(customers)
}

/// Records a download and says where the file is; `NotFound` once it was purged.
pub fn open_download(
    conn: &mut DbConnection,
    manager: &Manager,
    data_dir: &Path,
    id: i64,
    format: ExportFormat,
) -> RequestResult<PathBuf> {
    write_transaction(conn, |conn| {
        let request = requests::find(conn, manager.workspace_id, id)?.ok_or(RequestError::NotFound)?;
        let live = request.export_expires_at.is_some_and(|until| until > now());
        let path = export_path(data_dir, id, format);
        if !live || !path.exists() {
            return Err(RequestError::NotFound);
        }
        audit::append(
            conn,
            NewEntry::new(
                manager.actor(),
                AuditAction::RequestExportDownloaded,
                &manager.origin,
            )
            .workspace(manager.workspace_id)
            .target(format!("request:{id}"))
            .details(json!({ "format": format.extension() })),
        )?;
        Ok(path)
    })
}

/// Deletes the exports whose seven days are over; returns how many requests lost theirs.
pub fn purge_expired(conn: &mut DbConnection, data_dir: &Path) -> StoreResult<usize> {
    let expired = requests::expired_exports(conn, now())?;
    for request in &expired {
        for format in [ExportFormat::Json, ExportFormat::Html] {
            let path = export_path(data_dir, request.id, format);
            if let Err(err) = std::fs::remove_file(&path) {
                if err.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(error = %err, request = request.id, "could not purge an export");
                    continue;
                }
            }
        }
        requests::clear_export(conn, request.id)?;
    }
    Ok(expired.len())
}
