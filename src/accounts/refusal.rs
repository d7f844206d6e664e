//! The record of a refused request: every refusal leaves one `permission.denied`
//! entry, whoever refused it.

use serde_json::json;

use crate::db::{write_transaction, DbConnection};
use crate::domain::AuditAction;
use crate::store::audit::{self, Actor, NewEntry, RequestOrigin};
use crate::store::StoreResult;

/// Records that `actor` was refused `target` (the route, as `METHOD /pattern`) in the
/// workspace, for lack of `required` (a permission's key, or the rule in words where
/// no single permission decides).
pub fn record_refusal(
    conn: &mut DbConnection,
    actor: Actor,
    workspace_id: Option<i64>,
    target: String,
    required: &str,
    origin: &RequestOrigin,
) -> StoreResult<()> {
    write_transaction(conn, |conn| {
        let mut entry = NewEntry::new(actor, AuditAction::PermissionDenied, origin)
            .target(target)
            .details(json!({ "permission": required }));
        entry.workspace_id = workspace_id;
        audit::append(conn, entry).map(|_| ())
    })
}
