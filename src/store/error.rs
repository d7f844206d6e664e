/// What can go wrong below the web layer: no connection, or a query that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no database connection could be had")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("database query failed")]
    Query(#[from] diesel::result::Error),
    #[error("stored data is inconsistent: {0}")]
    Inconsistent(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::Query(diesel::result::Error::NotFound))
    }

    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StoreError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }

    /// True when the database itself is out of reach, as opposed to a bad query.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Pool(_) => true,
            StoreError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ClosedConnection
                | diesel::result::DatabaseErrorKind::UnableToSendCommand,
                _,
            )) => true,
            StoreError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::Unknown,
                info,
            )) => {
                let message = info.message().to_lowercase();
                message.contains("connection") || message.contains("server closed")
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error};

    fn database_error(kind: DatabaseErrorKind, message: &str) -> StoreError {
        StoreError::Query(Error::DatabaseError(kind, Box::new(message.to_owned())))
    }

    #[test]
    fn a_lost_connection_is_unavailability_and_a_refused_query_is_not() {
        assert!(database_error(DatabaseErrorKind::ClosedConnection, "").is_unavailable());
        assert!(database_error(
            DatabaseErrorKind::UnableToSendCommand,
            "no connection to the server"
        )
        .is_unavailable());
        assert!(database_error(
            DatabaseErrorKind::Unknown,
            "could not receive data from server: Connection reset by peer"
        )
        .is_unavailable());
        assert!(!database_error(DatabaseErrorKind::UniqueViolation, "duplicate key value").is_unavailable());
        assert!(!StoreError::Query(Error::NotFound).is_unavailable());
    }
}
