//! Changes to a workspace's retention policies, one function each, each with its
//! transaction and its audit entry: added, changed, paused, resumed, deleted.

use serde_json::json;

use crate::db::{write_transaction, DbConnection};
use crate::domain::{AuditAction, RetentionInput, RetentionRule};
use crate::retention::{RetentionError, RetentionResult};
use crate::store::audit::{self, NewEntry};
use crate::store::now;
use crate::store::retention_policies::{self, RetentionPolicy};
use crate::team::Manager;

fn checked(input: &RetentionInput) -> RetentionResult<RetentionRule> {
    RetentionRule::parse(input).map_err(RetentionError::Fields)
}

/// A new policy, due at once: its first run is a preview within the minute (and waits
/// for the owner when it would touch more than a tenth of the workspace).
pub fn create(
    conn: &mut DbConnection,
    manager: &Manager,
    input: &RetentionInput,
) -> RetentionResult<RetentionPolicy> {
    let rule = checked(input)?;
    write_transaction(conn, |conn| {
        let policy = retention_policies::insert(conn, manager.workspace_id, &rule, manager.user_id, now())?;
        record(
            conn,
            manager,
            AuditAction::RetentionPolicyCreated,
            policy.id,
            recorded(&rule),
        )?;
        Ok(policy)
    })
}

/// A new rule for the policy; its next run follows it.
pub fn update(
    conn: &mut DbConnection,
    manager: &Manager,
    id: i64,
    input: &RetentionInput,
) -> RetentionResult<RetentionPolicy> {
    let rule = checked(input)?;
    write_transaction(conn, |conn| {
        let policy = find(conn, manager, id)?;
        retention_policies::update_rule(conn, policy.id, &rule)?;
        record(
            conn,
            manager,
            AuditAction::RetentionPolicyUpdated,
            policy.id,
            recorded(&rule),
        )?;
        Ok(retention_policies::get(conn, policy.id)?)
    })
}

/// Paused: it runs no more until resumed. A job already made runs to its end.
pub fn pause(conn: &mut DbConnection, manager: &Manager, id: i64) -> RetentionResult<()> {
    write_transaction(conn, |conn| {
        let policy = find(conn, manager, id)?;
        if policy.paused {
            return Ok(());
        }
        retention_policies::set_paused(conn, policy.id, true)?;
        record(
            conn,
            manager,
            AuditAction::RetentionPolicyPaused,
            policy.id,
            json!({}),
        )
    })
}

/// Running again; when its day has passed meanwhile, it runs within the minute.
pub fn resume(conn: &mut DbConnection, manager: &Manager, id: i64) -> RetentionResult<()> {
    write_transaction(conn, |conn| {
        let policy = find(conn, manager, id)?;
        if !policy.paused {
            return Ok(());
        }
        retention_policies::set_paused(conn, policy.id, false)?;
        record(
            conn,
            manager,
            AuditAction::RetentionPolicyResumed,
            policy.id,
            json!({}),
        )
    })
}

/// Deleted: it runs no more. Its jobs and receipts stay.
pub fn delete(conn: &mut DbConnection, manager: &Manager, id: i64) -> RetentionResult<()> {
    write_transaction(conn, |conn| {
        let policy = find(conn, manager, id)?;
        retention_policies::delete(conn, policy.id)?;
        let details = policy
            .rule()
            .map(|rule| recorded(&rule))
            .unwrap_or_else(|| json!({}));
        record(
            conn,
            manager,
            AuditAction::RetentionPolicyDeleted,
            policy.id,
            details,
        )
    })
}

fn find(conn: &mut DbConnection, manager: &Manager, id: i64) -> RetentionResult<RetentionPolicy> {
    retention_policies::find(conn, manager.workspace_id, id)?.ok_or(RetentionError::NotFound)
}

/// What the audit log keeps of a rule: its action, days and filter (a status and a
/// country, which name nobody).
fn recorded(rule: &RetentionRule) -> serde_json::Value {
    json!({
        "action": rule.action().key(),
        "days": rule.days(),
        "filter": rule.stored_filter(),
    })
}

fn record(
    conn: &mut DbConnection,
    manager: &Manager,
    action: AuditAction,
    policy_id: i64,
    details: serde_json::Value,
) -> RetentionResult<()> {
    audit::append(
        conn,
        NewEntry::new(manager.actor(), action, &manager.origin)
            .workspace(manager.workspace_id)
            .target(format!("retention_policy:{policy_id}"))
            .details(details),
    )?;
    Ok(())
}
