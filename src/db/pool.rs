use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, CustomizeConnection, ManageConnection};
use diesel::{Connection, PgConnection, SqliteConnection};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::attachment::{attach, Attachment};
use super::{DatabaseUrl, DbConnection};

pub type DbPool = r2d2::Pool<ConnectionManager>;
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// A connection whose last work succeeded within this long is handed out again
/// without a ping. A page checks a connection out three or four times; pinging each
/// time cost PostgreSQL a round trip apiece, a third of the round trips of a list
/// page. A connection idle for longer (the database may have restarted meanwhile), or
/// whose last work failed, is pinged as before.
const TRUSTED_AFTER_SUCCESS: Duration = Duration::from_secs(2);

/// A pooled connection, with when work on it last succeeded.
pub struct PoolConnection {
    conn: DbConnection,
    succeeded_at: Option<Instant>,
}

impl PoolConnection {
    /// Records how the work done with this checkout ended (`Database::run`).
    pub fn record_outcome(&mut self, succeeded: bool) {
        self.succeeded_at = succeeded.then(Instant::now);
    }
}

impl Deref for PoolConnection {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl DerefMut for PoolConnection {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// Establishes the one backend the URL names; never tries another.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ManageConnection for ConnectionManager {
    type Connection = PoolConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<PoolConnection, r2d2::Error> {
        let conn = match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let path = path.to_str().ok_or_else(|| {
                    r2d2::Error::ConnectionError(diesel::ConnectionError::InvalidConnectionUrl(
                        "the SQLite path is not valid UTF-8".into(),
                    ))
                })?;
                SqliteConnection::establish(path)
                    .map(DbConnection::Sqlite)
                    .map_err(r2d2::Error::ConnectionError)
            }
            DatabaseUrl::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Postgres)
                .map_err(r2d2::Error::ConnectionError),
        }?;
        Ok(PoolConnection {
            conn,
            succeeded_at: None,
        })
    }

    fn is_valid(&self, conn: &mut PoolConnection) -> Result<(), r2d2::Error> {
        use diesel::r2d2::R2D2Connection;
        if conn
            .succeeded_at
            .is_some_and(|at| at.elapsed() < TRUSTED_AFTER_SUCCESS)
        {
            return Ok(());
        }
        conn.conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut PoolConnection) -> bool {
        use diesel::r2d2::R2D2Connection;
        conn.conn.is_broken()
    }
}

/// Settings every pooled SQLite connection gets when it is opened.
///
/// WAL lets readers go on while one writer writes; `busy_timeout` makes a second writer
/// wait instead of failing with "database is locked"; `secure_delete` overwrites erased
/// rows so that deleted personal data does not linger in free pages. A 4 MB page
/// cache per connection keeps the server's memory small with 16 connections (the OS
/// caches the file anyway), and checkpointing the WAL every 10,000 pages rather than
/// every 1,000 keeps a bulk erasure from copying its pages back after every batch;
/// erasures end with a truncating checkpoint of their own.
///
/// Temporary data goes to files (SQLite's default), not memory: a statement inside a
/// transaction keeps the original of every page it changes in a statement journal,
/// and a batch deleting 5,000 customers' events held 100 MB of them in the heap (peak
/// 113 MB for a 100,000-customer deletion, 20 MB with files). SQLite unlinks its
/// temporary files as it opens them; README says what they mean for erased data.
#[derive(Debug, Clone, Copy)]
struct SqlitePragmas;

const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
PRAGMA busy_timeout = 15000;
PRAGMA secure_delete = ON;
PRAGMA wal_autocheckpoint = 10000;
PRAGMA temp_store = FILE;";

/// The page cache of each pooled SQLite connection (4 MB); `store::maintenance`
/// enlarges it for a job's batch and sets it back with this.
pub const SQLITE_CACHE: &str = "PRAGMA cache_size = -4000";

impl SqlitePragmas {
    fn apply(self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        if let DbConnection::Sqlite(conn) = conn {
            conn.batch_execute(SQLITE_PRAGMAS)
                .and_then(|()| conn.batch_execute(SQLITE_CACHE))
                .map_err(r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Makes what each new pooled connection carries (see `attachment`).
pub type AttachmentFactory = Arc<dyn Fn() -> Box<dyn Attachment> + Send + Sync>;

/// What every new pooled connection gets: the SQLite settings, and an attachment when
/// the pool was built with one.
struct ConnectionSetup {
    attachment: Option<AttachmentFactory>,
}

impl std::fmt::Debug for ConnectionSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionSetup")
            .field("attachment", &self.attachment.is_some())
            .finish()
    }
}

impl CustomizeConnection<PoolConnection, r2d2::Error> for ConnectionSetup {
    fn on_acquire(&self, conn: &mut PoolConnection) -> Result<(), r2d2::Error> {
        SqlitePragmas.apply(&mut conn.conn)?;
        if let Some(make) = &self.attachment {
            attach(&mut conn.conn, make());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    pub max_size: u32,
    pub connection_timeout: Duration,
}

pub fn build_pool(url: &DatabaseUrl, settings: PoolSettings) -> Result<DbPool, r2d2::PoolError> {
    build_pool_attaching(url, settings, None)
}

/// A pool whose every connection carries what `attachment` makes.
pub fn build_pool_attaching(
    url: &DatabaseUrl,
    settings: PoolSettings,
    attachment: Option<AttachmentFactory>,
) -> Result<DbPool, r2d2::PoolError> {
    if let DatabaseUrl::Sqlite(path) = url {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // A missing folder would otherwise surface as an opaque "unable to open" error.
            let _ = std::fs::create_dir_all(parent);
        }
    }
    let manager = ConnectionManager { url: url.clone() };
    r2d2::Pool::builder()
        .max_size(settings.max_size)
        .min_idle(Some(1))
        .connection_timeout(settings.connection_timeout)
        .connection_customizer(Box::new(ConnectionSetup { attachment }))
        .build(manager)
}
