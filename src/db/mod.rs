//! The one connection type over both backends, its pool, and migrations.
//!
//! The backend is chosen from the URL scheme by [`DatabaseUrl::parse`] and our own r2d2
//! manager establishes exactly that variant: diesel's derived `establish` tries each
//! backend in turn, which would turn a typo in a PostgreSQL URL into a SQLite file.

mod attachment;
mod connection;
mod database;
mod migrate;
mod pool;
pub mod schema;
mod transaction;
mod url;
mod write_gate;

pub use attachment::{attach, attached, Attachment};
pub use connection::{Backend, DbConnection};
pub use database::Database;
pub use migrate::run_migrations;
pub use pool::{
    build_pool, build_pool_attaching, AttachmentFactory, DbPool, PoolSettings, PooledConnection, SQLITE_CACHE,
};
pub use transaction::{write_transaction, writers_waiting};
pub use url::{DatabaseUrl, DatabaseUrlError};
