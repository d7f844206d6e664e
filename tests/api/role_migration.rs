//! The migration that gives each custom role a workspace, run over a database made
//! with the migrations before it and holding roles shared by several workspaces.

use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::RunQueryDsl;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use erasure::db::{build_pool, DbConnection, PoolSettings};

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(a_role_shared_by_workspaces_becomes_one_copy_per_workspace);

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
/// How many migrations came before roles had a workspace.
const BEFORE: usize = 6;

const ARRANGE: &str = "
INSERT INTO workspaces (id, name, slug, site_id, created_at) VALUES
    (1, 'One', 'one', 'site1', '2026-03-01 00:00:00'),
    (2, 'Two', 'two', 'site2', '2026-01-01 00:00:00'),
    (3, 'Three', 'three', 'site3', '2026-02-01 00:00:00');
INSERT INTO users (id, email, name, password_hash, is_owner, recovery_codes, disabled, created_at) VALUES
    (1, 'a@example.com', 'A', 'x', FALSE, '[]', FALSE, '2026-01-01 00:00:00'),
    (2, 'b@example.com', 'B', 'x', FALSE, '[]', FALSE, '2026-01-01 00:00:00');
INSERT INTO roles (id, name, builtin, permissions, created_at) VALUES
    (10, 'Shared', NULL, 'customers.view', '2026-01-01 00:00:00'),
    (11, 'Solo', NULL, 'audit.view', '2026-01-01 00:00:00'),
    (12, 'Lonely', NULL, 'team.manage', '2026-01-01 00:00:00');
INSERT INTO memberships (user_id, workspace_id, role_id, created_at) VALUES
    (1, 1, 10, '2026-01-01 00:00:00'),
    (2, 2, 10, '2026-01-01 00:00:00'),
    (1, 2, 11, '2026-01-01 00:00:00');
INSERT INTO invitations (workspace_id, email, role_id, token_digest, invited_by, created_at, expires_at) VALUES
    (3, 'c@example.com', 10, 'digest', 1, '2026-01-01 00:00:00', '2999-01-01 00:00:00');
";

#[derive(Debug, PartialEq, Eq, diesel::QueryableByName)]
struct RoleRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    permissions: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    workspace_id: Option<i64>,
}

#[derive(diesel::QueryableByName)]
struct Pair {
    #[diesel(sql_type = BigInt)]
    workspace_id: i64,
    #[diesel(sql_type = BigInt)]
    role_workspace_id: i64,
}

async fn a_role_shared_by_workspaces_becomes_one_copy_per_workspace(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::create(&backend, dir.path());
    let pool = build_pool(
        &database.url,
        PoolSettings {
            max_size: 1,
            connection_timeout: std::time::Duration::from_secs(5),
        },
    )
    .unwrap();
    let mut pooled = pool.get().unwrap();
    let conn: &mut DbConnection = &mut pooled;
    for _ in 0..BEFORE {
        match conn {
            DbConnection::Sqlite(c) => c.run_next_migration(SQLITE).map(|_| ()),
            DbConnection::Postgres(c) => c.run_next_migration(POSTGRES).map(|_| ()),
        }
        .unwrap();
    }
    match conn {
        DbConnection::Sqlite(c) => c.batch_execute(ARRANGE),
        DbConnection::Postgres(c) => c.batch_execute(ARRANGE),
    }
    .unwrap();

    erasure::db::run_migrations(conn).unwrap();

    let roles: Vec<RoleRow> = diesel::sql_query(
        "SELECT id, name, permissions, workspace_id FROM roles WHERE builtin IS NULL ORDER BY name, workspace_id",
    )
    .load(conn)
    .unwrap();
    let summary: Vec<(&str, &str, Option<i64>)> = roles
        .iter()
        .map(|r| (r.name.as_str(), r.permissions.as_str(), r.workspace_id))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("Lonely", "team.manage", Some(2)),
            ("Shared", "customers.view", Some(1)),
            ("Shared", "customers.view", Some(2)),
            ("Shared", "customers.view", Some(3)),
            ("Solo", "audit.view", Some(2)),
        ],
        "one copy per workspace using a role; an unused one in the oldest workspace"
    );
    let kept: Vec<(i64, Option<i64>)> = roles
        .iter()
        .filter(|r| (10..=12).contains(&r.id))
        .map(|r| (r.id, r.workspace_id))
        .collect();
    assert_eq!(
        kept,
        vec![(12, Some(2)), (10, Some(1)), (11, Some(2))],
        "the original rows stay, with their ids, in the lowest-numbered workspace using them"
    );
    let builtin_with_workspace: Vec<RoleRow> = diesel::sql_query(
        "SELECT id, name, permissions, workspace_id FROM roles WHERE builtin IS NOT NULL AND workspace_id IS NOT NULL",
    )
    .load(conn)
    .unwrap();
    assert!(builtin_with_workspace.is_empty(), "built-in roles stay global");
    for table in ["memberships", "invitations"] {
        let pairs: Vec<Pair> = diesel::sql_query(format!(
            "SELECT t.workspace_id, r.workspace_id AS role_workspace_id FROM {table} t JOIN roles r ON r.id = t.role_id"
        ))
        .load(conn)
        .unwrap();
        assert!(!pairs.is_empty());
        for pair in pairs {
            assert_eq!(
                pair.workspace_id, pair.role_workspace_id,
                "every {table} row holds a role of its own workspace"
            );
        }
    }
}
