use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{now, StoreError, StoreResult};
use crate::db::schema::{memberships, roles};
use crate::db::DbConnection;
use crate::domain::{BuiltinRole, PermissionSet, RoleName};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = roles)]
pub struct Role {
    pub id: i64,
    pub name: String,
    pub builtin: Option<String>,
    pub permissions: String,
    pub created_at: NaiveDateTime,
    /// The workspace a custom role belongs to; none for the built-in roles.
    pub workspace_id: Option<i64>,
}

impl Role {
    pub fn builtin_role(&self) -> Option<BuiltinRole> {
        self.builtin.as_deref().and_then(BuiltinRole::from_key)
    }

    /// Built-in roles take their permissions from code; custom roles from the row.
    /// A stored key this build does not know grants nothing rather than failing.
    pub fn permission_set(&self) -> PermissionSet {
        match self.builtin_role() {
            Some(builtin) => builtin.permissions(),
            None => PermissionSet::parse_stored(&self.permissions).unwrap_or_default(),
        }
    }
}

pub fn find_builtin(conn: &mut DbConnection, role: BuiltinRole) -> StoreResult<Role> {
    roles::table
        .filter(roles::builtin.eq(role.key()))
        .select(Role::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| StoreError::Inconsistent(format!("built-in role {} is missing", role.key())))
}

/// A role that may be assigned in this workspace: a built-in role, or one of this
/// workspace's own custom roles. A custom role of another workspace is not found.
pub fn find_in_workspace(conn: &mut DbConnection, workspace_id: i64, id: i64) -> StoreResult<Option<Role>> {
    Ok(roles::table
        .find(id)
        .filter(
            roles::builtin
                .is_not_null()
                .or(roles::workspace_id.eq(workspace_id)),
        )
        .select(Role::as_select())
        .first(conn)
        .optional()?)
}

/// The roles of a workspace: the built-in ones first, in their fixed order, then the
/// workspace's own custom roles by name.
pub fn list_for_workspace(conn: &mut DbConnection, workspace_id: i64) -> StoreResult<Vec<Role>> {
    let mut all: Vec<Role> = roles::table
        .filter(
            roles::builtin
                .is_not_null()
                .or(roles::workspace_id.eq(workspace_id)),
        )
        .order((roles::name, roles::id))
        .select(Role::as_select())
        .load(conn)?;
    all.sort_by_key(|role| match role.builtin_role() {
        Some(builtin) => BuiltinRole::ALL.iter().position(|r| *r == builtin).unwrap_or(0),
        None => BuiltinRole::ALL.len(),
    });
    Ok(all)
}

/// A custom role of this workspace; built-in roles and other workspaces' roles are not
/// found here, so nothing can edit them from this workspace.
pub fn find_custom(conn: &mut DbConnection, workspace_id: i64, id: i64) -> StoreResult<Option<Role>> {
    Ok(roles::table
        .find(id)
        .filter(roles::builtin.is_null())
        .filter(roles::workspace_id.eq(workspace_id))
        .select(Role::as_select())
        .first(conn)
        .optional()?)
}

/// Whether a built-in role or another of this workspace's roles already has this name,
/// ignoring case.
pub fn name_taken(
    conn: &mut DbConnection,
    workspace_id: i64,
    name: &RoleName,
    except_id: Option<i64>,
) -> StoreResult<bool> {
    // Few roles exist, so comparing in Rust keeps the rule identical on both backends.
    let names: Vec<(i64, String)> = roles::table
        .filter(
            roles::builtin
                .is_not_null()
                .or(roles::workspace_id.eq(workspace_id)),
        )
        .select((roles::id, roles::name))
        .load(conn)?;
    Ok(names
        .iter()
        .any(|(id, existing)| Some(*id) != except_id && name.same_as(existing)))
}

pub fn insert_custom(
    conn: &mut DbConnection,
    workspace_id: i64,
    name: &RoleName,
    permissions: &PermissionSet,
) -> StoreResult<Role> {
    diesel::insert_into(roles::table)
        .values((
            roles::name.eq(name.as_str()),
            roles::builtin.eq(None::<String>),
            roles::permissions.eq(permissions.to_stored()),
            roles::created_at.eq(now()),
            roles::workspace_id.eq(workspace_id),
        ))
        .execute(conn)?;
    roles::table
        .filter(roles::workspace_id.eq(workspace_id))
        .filter(roles::name.eq(name.as_str()))
        .select(Role::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| StoreError::Inconsistent("a role just inserted cannot be found".into()))
}

pub fn update_custom(
    conn: &mut DbConnection,
    workspace_id: i64,
    id: i64,
    name: &RoleName,
    permissions: &PermissionSet,
) -> StoreResult<bool> {
    let changed = diesel::update(
        roles::table
            .find(id)
            .filter(roles::builtin.is_null())
            .filter(roles::workspace_id.eq(workspace_id)),
    )
    .set((
        roles::name.eq(name.as_str()),
        roles::permissions.eq(permissions.to_stored()),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn delete_custom(conn: &mut DbConnection, workspace_id: i64, id: i64) -> StoreResult<bool> {
    let deleted = diesel::delete(
        roles::table
            .find(id)
            .filter(roles::builtin.is_null())
            .filter(roles::workspace_id.eq(workspace_id)),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}

/// How many of this workspace's members hold each role that is assigned at all.
pub fn assignment_counts(conn: &mut DbConnection, workspace_id: i64) -> StoreResult<HashMap<i64, i64>> {
    let rows: Vec<(i64, i64)> = memberships::table
        .filter(memberships::workspace_id.eq(workspace_id))
        .group_by(memberships::role_id)
        .select((memberships::role_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

pub fn assignment_count(conn: &mut DbConnection, role_id: i64) -> StoreResult<i64> {
    Ok(memberships::table
        .filter(memberships::role_id.eq(role_id))
        .count()
        .get_result(conn)?)
}
