//! Invitations to join a workspace. Only a keyed digest of the emailed token is kept,
//! so a copy of this table cannot be used to join anything.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{now, StoreError, StoreResult};
use crate::db::schema::{invitations, roles};
use crate::db::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    pub id: i64,
    pub workspace_id: i64,
    pub email: String,
    pub role_id: i64,
    pub token_digest: String,
    pub invited_by: i64,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub accepted_at: Option<NaiveDateTime>,
}

pub struct NewInvitation<'a> {
    pub workspace_id: i64,
    pub email: &'a str,
    pub role_id: i64,
    pub token_digest: &'a str,
    pub invited_by: i64,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, new: &NewInvitation<'_>) -> StoreResult<Invitation> {
    diesel::insert_into(invitations::table)
        .values((
            invitations::workspace_id.eq(new.workspace_id),
            invitations::email.eq(new.email),
            invitations::role_id.eq(new.role_id),
            invitations::token_digest.eq(new.token_digest),
            invitations::invited_by.eq(new.invited_by),
            invitations::created_at.eq(now()),
            invitations::expires_at.eq(new.expires_at),
        ))
        .execute(conn)?;
    invitations::table
        .filter(invitations::token_digest.eq(new.token_digest))
        .select(Invitation::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| StoreError::Inconsistent("an invitation just inserted cannot be found".into()))
}

/// The invitation behind a token digest, if it is still unused and unexpired.
pub fn find_open(conn: &mut DbConnection, token_digest: &str) -> StoreResult<Option<Invitation>> {
    Ok(invitations::table
        .filter(invitations::token_digest.eq(token_digest))
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::expires_at.gt(now()))
        .select(Invitation::as_select())
        .first(conn)
        .optional()?)
}

/// Marks an open invitation used. False when it was used or expired in the meantime,
/// so two people racing with one link cannot both get in.
pub fn mark_accepted(conn: &mut DbConnection, id: i64) -> StoreResult<bool> {
    let at = now();
    let changed = diesel::update(
        invitations::table
            .find(id)
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::expires_at.gt(at)),
    )
    .set(invitations::accepted_at.eq(at))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Ends an open invitation of the workspace now: its link then answers as an expired
/// one does. False when there is no such open invitation.
pub fn revoke(conn: &mut DbConnection, workspace_id: i64, id: i64) -> StoreResult<bool> {
    let at = now();
    let changed = diesel::update(
        invitations::table
            .find(id)
            .filter(invitations::workspace_id.eq(workspace_id))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::expires_at.gt(at)),
    )
    .set(invitations::expires_at.eq(at))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Open invitations of a workspace with their role's name, newest first.
pub fn open_for_workspace(
    conn: &mut DbConnection,
    workspace_id: i64,
) -> StoreResult<Vec<(Invitation, String)>> {
    Ok(invitations::table
        .inner_join(roles::table.on(roles::id.eq(invitations::role_id)))
        .filter(invitations::workspace_id.eq(workspace_id))
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::expires_at.gt(now()))
        .order(invitations::id.desc())
        .select((Invitation::as_select(), roles::name))
        .load(conn)?)
}

/// Open invitations, in any workspace, that would hand out this role.
pub fn count_open_with_role(conn: &mut DbConnection, role_id: i64) -> StoreResult<i64> {
    Ok(invitations::table
        .filter(invitations::role_id.eq(role_id))
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::expires_at.gt(now()))
        .count()
        .get_result(conn)?)
}

/// Removes used and expired invitations naming this role, which would otherwise keep
/// the role from being deleted (they reference it) while serving no purpose.
pub fn delete_spent_with_role(conn: &mut DbConnection, role_id: i64) -> StoreResult<usize> {
    Ok(diesel::delete(
        invitations::table
            .filter(invitations::role_id.eq(role_id))
            .filter(
                invitations::accepted_at
                    .is_not_null()
                    .or(invitations::expires_at.le(now())),
            ),
    )
    .execute(conn)?)
}
