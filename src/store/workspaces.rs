use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{now, StoreError, StoreResult};
use crate::db::schema::workspaces;
use crate::db::DbConnection;
use crate::domain::IdentifierMode;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = workspaces)]
pub struct Workspace {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub site_id: String,
    /// Read through [`IdentifierMode::parse`]: a value it does not know fails the query.
    #[diesel(deserialize_as = String)]
    pub identifier_mode: IdentifierMode,
    pub pii_keys: String,
    pub created_at: NaiveDateTime,
    /// Above how many customers a bulk erasure needs the owner's code; `None` for the
    /// default (10,000 or half of the workspace, whichever is smaller).
    pub owner_code_threshold: Option<i64>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = workspaces)]
struct NewWorkspace<'a> {
    name: &'a str,
    slug: &'a str,
    site_id: &'a str,
    identifier_mode: &'a str,
    pii_keys: &'a str,
    created_at: NaiveDateTime,
}

/// Inserts a workspace under `base_slug`, or `base_slug-2`, `-3` … when taken.
pub fn insert(conn: &mut DbConnection, name: &str, base_slug: &str, site_id: &str) -> StoreResult<Workspace> {
    let taken: Vec<String> = workspaces::table
        .filter(workspaces::slug.like(format!("{base_slug}%")))
        .select(workspaces::slug)
        .load(conn)?;
    let slug = (1..)
        .map(|n| {
            if n == 1 {
                base_slug.to_owned()
            } else {
                format!("{base_slug}-{n}")
            }
        })
        .find(|candidate| !taken.contains(candidate))
        .ok_or_else(|| StoreError::Inconsistent("no free slug".into()))?;
    diesel::insert_into(workspaces::table)
        .values(&NewWorkspace {
            name,
            slug: &slug,
            site_id,
            identifier_mode: IdentifierMode::Id.key(),
            pii_keys: "[]",
            created_at: now(),
        })
        .execute(conn)?;
    find_by_slug(conn, &slug)?
        .ok_or_else(|| StoreError::Inconsistent("a workspace just inserted cannot be found".into()))
}

pub fn find_by_slug(conn: &mut DbConnection, slug: &str) -> StoreResult<Option<Workspace>> {
    Ok(workspaces::table
        .filter(workspaces::slug.eq(slug))
        .select(Workspace::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_site_id(conn: &mut DbConnection, site_id: &str) -> StoreResult<Option<Workspace>> {
    Ok(workspaces::table
        .filter(workspaces::site_id.eq(site_id))
        .select(Workspace::as_select())
        .first(conn)
        .optional()?)
}

pub fn find(conn: &mut DbConnection, id: i64) -> StoreResult<Option<Workspace>> {
    Ok(workspaces::table
        .find(id)
        .select(Workspace::as_select())
        .first(conn)
        .optional()?)
}

/// The settings an admin edits; the slug stays, so links keep working after a rename.
pub fn update_settings(
    conn: &mut DbConnection,
    id: i64,
    name: &str,
    identifier_mode: IdentifierMode,
    pii_keys: &str,
) -> StoreResult<bool> {
    let changed = diesel::update(workspaces::table.find(id))
        .set((
            workspaces::name.eq(name),
            workspaces::identifier_mode.eq(identifier_mode.key()),
            workspaces::pii_keys.eq(pii_keys),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Above how many customers a bulk erasure in this workspace needs the owner's code;
/// `None` restores the default.
pub fn set_owner_code_threshold(
    conn: &mut DbConnection,
    id: i64,
    threshold: Option<i64>,
) -> StoreResult<bool> {
    let changed = diesel::update(workspaces::table.find(id))
        .set(workspaces::owner_code_threshold.eq(threshold))
        .execute(conn)?;
    Ok(changed == 1)
}
