use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{StoreError, StoreResult};
use crate::db::schema::roles;
use crate::db::DbConnection;
use crate::domain::{BuiltinRole, PermissionSet};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = roles)]
pub struct Role {
    pub id: i64,
    pub name: String,
    pub builtin: Option<String>,
    pub permissions: String,
    pub created_at: NaiveDateTime,
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

pub fn find(conn: &mut DbConnection, id: i64) -> StoreResult<Option<Role>> {
    Ok(roles::table
        .find(id)
        .select(Role::as_select())
        .first(conn)
        .optional()?)
}
