use diesel::prelude::*;

use super::roles::Role;
use super::users::User;
use super::workspaces::Workspace;
use super::{now, StoreResult};
use crate::db::schema::{memberships, roles, users, workspaces};
use crate::db::DbConnection;

/// A membership counts only with a role of its own workspace (or a built-in one): the
/// writes never pair a workspace with another's custom role, and should a row ever do
/// so, it grants nothing rather than that role's permissions.
macro_rules! role_of_its_workspace {
    () => {
        roles::builtin
            .is_not_null()
            .or(roles::workspace_id.eq(memberships::workspace_id.nullable()))
    };
}

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
        .filter(role_of_its_workspace!())
        .select((Workspace::as_select(), Role::as_select()))
        .first(conn)
        .optional()?)
}

/// The members of a workspace as (user id, name), by name.
pub fn members_of(conn: &mut DbConnection, workspace_id: i64) -> StoreResult<Vec<(i64, String)>> {
    Ok(memberships::table
        .inner_join(users::table)
        .filter(memberships::workspace_id.eq(workspace_id))
        .order((users::name, users::id))
        .select((users::id, users::name))
        .load(conn)?)
}

/// One member of a workspace as the team page shows them.
#[derive(Debug, Clone)]
pub struct Member {
    pub user: User,
    pub role: Role,
}

/// The members of a workspace with their roles, by name.
pub fn members_with_roles(conn: &mut DbConnection, workspace_id: i64) -> StoreResult<Vec<Member>> {
    let rows: Vec<(User, Role)> = memberships::table
        .inner_join(users::table)
        .inner_join(roles::table)
        .filter(memberships::workspace_id.eq(workspace_id))
        .filter(role_of_its_workspace!())
        .order((users::name, users::id))
        .select((User::as_select(), Role::as_select()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(user, role)| Member { user, role })
        .collect())
}

/// A member of this workspace; anyone else, in whatever workspace, is not found.
pub fn find_member(conn: &mut DbConnection, workspace_id: i64, user_id: i64) -> StoreResult<Option<Member>> {
    let row: Option<(User, Role)> = memberships::table
        .inner_join(users::table)
        .inner_join(roles::table)
        .filter(memberships::workspace_id.eq(workspace_id))
        .filter(memberships::user_id.eq(user_id))
        .filter(role_of_its_workspace!())
        .select((User::as_select(), Role::as_select()))
        .first(conn)
        .optional()?;
    Ok(row.map(|(user, role)| Member { user, role }))
}

/// Every workspace a user belongs to, with the role there, by workspace name.
pub fn roles_of_user(conn: &mut DbConnection, user_id: i64) -> StoreResult<Vec<(Workspace, Role)>> {
    Ok(workspaces::table
        .inner_join(memberships::table.inner_join(roles::table))
        .filter(memberships::user_id.eq(user_id))
        .filter(role_of_its_workspace!())
        .order((workspaces::name, workspaces::id))
        .select((Workspace::as_select(), Role::as_select()))
        .load(conn)?)
}

pub fn set_role(conn: &mut DbConnection, user_id: i64, workspace_id: i64, role_id: i64) -> StoreResult<bool> {
    let changed = diesel::update(memberships::table.find((user_id, workspace_id)))
        .set(memberships::role_id.eq(role_id))
        .execute(conn)?;
    Ok(changed == 1)
}

pub fn delete(conn: &mut DbConnection, user_id: i64, workspace_id: i64) -> StoreResult<bool> {
    let deleted = diesel::delete(memberships::table.find((user_id, workspace_id))).execute(conn)?;
    Ok(deleted == 1)
}

pub fn count_for_user(conn: &mut DbConnection, user_id: i64) -> StoreResult<i64> {
    Ok(memberships::table
        .filter(memberships::user_id.eq(user_id))
        .count()
        .get_result(conn)?)
}
