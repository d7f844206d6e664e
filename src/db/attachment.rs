//! State that a connection carries for the layers above it, told when the connection's
//! transaction ends.
//!
//! The store's functions only see `&mut DbConnection`, and several servers can run in
//! one process (the tests do), each with its own key and data dir, so such state can be
//! neither a global nor a function argument threaded through every caller. diesel gives
//! each connection exactly one slot of its own, the `Instrumentation` meant for
//! observing queries; an attachment rides in that slot and ignores the query events.

use std::any::Any;

use diesel::connection::{Connection, Instrumentation, InstrumentationEvent};

use super::DbConnection;

/// What a connection can carry. `write_transaction` tells it when its outermost
/// transaction begins, commits or rolls back.
pub trait Attachment: Any + Send {
    /// An outermost write transaction is about to begin.
    fn beginning(&mut self) {}
    /// The outermost write transaction committed.
    fn committed(&mut self) {}
    /// The outermost write transaction rolled back.
    fn rolled_back(&mut self) {}
}

/// The instrumentation slot's occupant.
struct Slot(Box<dyn Attachment>);

impl Instrumentation for Slot {
    fn on_connection_event(&mut self, _event: InstrumentationEvent<'_>) {}
}

/// Makes `conn` carry `attachment`, replacing whatever it carried.
pub fn attach(conn: &mut DbConnection, attachment: Box<dyn Attachment>) {
    conn.set_instrumentation(Slot(attachment));
}

/// What `conn` carries, if it carries a `T`.
pub fn attached<T: Attachment>(conn: &mut DbConnection) -> Option<&mut T> {
    let attachment: &mut (dyn Any + 'static) = slot(conn)?;
    attachment.downcast_mut::<T>()
}

/// What `conn` carries, whatever it is.
pub(super) fn slot(conn: &mut DbConnection) -> Option<&mut (dyn Attachment + 'static)> {
    conn.instrumentation()
        .downcast_mut::<Slot>()
        .map(|slot| slot.0.as_mut())
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::SqliteConnection;

    #[derive(Default)]
    struct Counter {
        commits: u32,
    }

    impl Attachment for Counter {
        fn committed(&mut self) {
            self.commits += 1;
        }
    }

    #[test]
    fn a_connection_carries_what_was_attached_and_is_told_of_commits() {
        let mut conn = DbConnection::Sqlite(SqliteConnection::establish(":memory:").unwrap());
        assert!(attached::<Counter>(&mut conn).is_none());
        attach(&mut conn, Box::new(Counter::default()));
        crate::db::write_transaction(&mut conn, |_| Ok::<_, diesel::result::Error>(())).unwrap();
        crate::db::write_transaction(&mut conn, |_| {
            Err::<(), _>(diesel::result::Error::RollbackTransaction)
        })
        .unwrap_err();
        assert_eq!(attached::<Counter>(&mut conn).unwrap().commits, 1);
    }
}
