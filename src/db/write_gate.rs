//! SQLite's writers take turns in the order they arrive.
//!
//! SQLite has one write lock and no queue: a writer that finds it taken sleeps in the
//! busy handler (up to 100 ms at a time) and tries again, while the holder may release
//! it and take it back at once. A job's batches did exactly that, and Track API calls
//! made while a deletion ran waited a second or more, 5 a second getting through
//! instead of 150. Every write transaction on SQLite first takes a ticket here, so the
//! job's next batch waits behind the calls that arrived during its last one.

use std::sync::{Condvar, Mutex, MutexGuard};

/// A first-come, first-served queue of writers.
pub struct WriteGate {
    tickets: Mutex<Tickets>,
    turn: Condvar,
}

struct Tickets {
    next: u64,
    serving: u64,
}

/// One gate per process: a server serves one database. Where tests run several
/// databases in one process, their writers only take turns more often.
pub static SQLITE_WRITERS: WriteGate = WriteGate::new();

/// A writer's turn; the next one's starts when this is dropped.
pub struct Turn<'g>(&'g WriteGate);

impl WriteGate {
    pub const fn new() -> WriteGate {
        WriteGate {
            tickets: Mutex::new(Tickets { next: 0, serving: 0 }),
            turn: Condvar::new(),
        }
    }

    fn tickets(&self) -> MutexGuard<'_, Tickets> {
        self.tickets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many writers are waiting for their turn (not counting the one writing).
    pub fn waiting(&self) -> u64 {
        let tickets = self.tickets();
        tickets.next.saturating_sub(tickets.serving + 1)
    }

    /// Waits until every writer that asked earlier has had its turn.
    pub fn wait_for_turn(&self) -> Turn<'_> {
        let mut tickets = self.tickets();
        let mine = tickets.next;
        tickets.next += 1;
        while tickets.serving != mine {
            tickets = self
                .turn
                .wait(tickets)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        Turn(self)
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.0.tickets().serving += 1;
        self.0.turn.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn writers_take_turns_in_order_of_arrival() {
        static GATE: WriteGate = WriteGate::new();
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = GATE.wait_for_turn();
        let waiting: Vec<_> = (0..4u64)
            .map(|n| {
                let order = order.clone();
                let handle = std::thread::spawn(move || {
                    let _turn = GATE.wait_for_turn();
                    order.lock().unwrap().push(n);
                });
                // Each one queued before the next arrives.
                while GATE.tickets().next < n + 2 {
                    std::thread::yield_now();
                }
                handle
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(order.lock().unwrap().is_empty(), "nobody passes the holder");
        assert_eq!(GATE.waiting(), 4);
        drop(first);
        for handle in waiting {
            handle.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3]);
    }
}
