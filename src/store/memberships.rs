use diesel::prelude::*;

use super::roles::Role;
use super::workspaces::Workspace;
use super::{now, StoreResult};
use crate::db::schema::{memberships, roles, workspaces};
use crate::db::DbConnection;

pub fn insert(conn: &mut DbConnection, user_id: i64, workspace_id: i64, role_id: i64) -> StoreResult<()> {
    diesel::insert_into(memberships::table)
        .values((
            memberships::user_id.eq(user_id),
            memberships::workspace_id.eq(workspace_id),
            memberships::role_id.eq(role_id),
            memberships::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The workspace named by `slug` and the user's role in it, if the user is a member.
/// One query: a workspace the user cannot reach is indistinguishable from none at all.
pub fn workspace_with_role(
    conn: &mut DbConnection,
    user_id: i64,
    slug: &str,
) -> StoreResult<Option<(Workspace, Role)>> {
    Ok(workspaces::table
        .inner_join(memberships::table.inner_join(roles::table))
        .filter(workspaces::slug.eq(slug))
        .filter(memberships::user_id.eq(user_id))
        .select((Workspace::as_select(), Role::as_select()))
        .first(conn)
        .optional()?)
}

/// The members of a workspace as (user id, name), by name.
pub fn members_of(conn: &mut DbConnection, workspace_id: i64) -> StoreResult<Vec<(i64, String)>> {
    use crate::db::schema::users;
    Ok(memberships::table
        .inner_join(users::table)
        .filter(memberships::workspace_id.eq(workspace_id))
        .order((users::name, users::id))
        .select((users::id, users::name))
        .load(conn)?)
}
