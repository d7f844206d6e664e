use diesel::r2d2::PoolError;

use super::{Backend, DbConnection, DbPool};

/// The pool, with a way to run synchronous queries off the async threads.
#[derive(Clone)]
pub struct Database {
    pool: DbPool,
    backend: Backend,
}

impl Database {
    pub fn new(pool: DbPool, backend: Backend) -> Database {
        Database { pool, backend }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// Checks a connection out and runs `work` with it on a blocking thread.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<PoolError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            let result = work(&mut conn);
            conn.record_outcome(result.is_ok());
            result
        })
        .await;
        match joined {
            Ok(result) => result,
            // A panic in a query is a bug: let it surface where it happened.
            Err(err) => match err.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(err) => panic!("database task was cancelled: {err}"),
            },
        }
    }
}
