//! A bounded pool for password hashing.
//!
//! Every sign-in attempt, known account or not, costs one argon2id hash: 19 MiB and
//! tens of milliseconds of one core. Run on the runtime's blocking threads without a
//! bound, a flood of anonymous attempts took as many threads and as much memory as it
//! liked. Here a fixed number of workers hash, each over blocks it allocated once, and
//! a short queue holds what waits; a request that finds the queue full is told at once
//! to come back ([`PoolError::Busy`]) rather than held.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;

use tokio::sync::oneshot;

use super::argon;

/// How many hashes run at once and how many may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSize {
    pub workers: usize,
    pub queue: usize,
}

impl PoolSize {
    /// About two workers per core (argon2 spends part of its time waiting on memory),
    /// at most eight: each holds 19 MiB once it has hashed, so the pool's memory is
    /// bounded by the setting, not by the machine it lands on.
    pub fn for_this_machine() -> PoolSize {
        let cores = thread::available_parallelism().map_or(2, |n| n.get());
        PoolSize::with_workers((cores * 2).min(8))
    }

    /// `workers` hashing at once (at least one), and a queue four times that: at
    /// 30-60 ms a hash, the last in the queue waits well under a second.
    pub fn with_workers(workers: usize) -> PoolSize {
        let workers = workers.clamp(1, 64);
        PoolSize {
            workers,
            queue: workers * 4,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    #[error("every password worker is busy and the queue is full")]
    Busy,
    #[error("the password workers have stopped")]
    Stopped,
}

enum Work {
    Hash(String),
    Verify { password: String, stored: String },
}

enum Done {
    Hashed(Result<String, argon2::password_hash::Error>),
    Verified(bool),
}

struct Job {
    work: Work,
    reply: oneshot::Sender<Done>,
}

/// The pool; cheap to clone, every clone feeds the same workers.
#[derive(Clone)]
pub struct HashingPool {
    jobs: SyncSender<Job>,
    size: PoolSize,
    /// Jobs queued or being hashed.
    in_hand: Arc<AtomicUsize>,
}

impl std::fmt::Debug for HashingPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashingPool").field("size", &self.size).finish()
    }
}

impl HashingPool {
    /// Starts the workers. They stop when the last clone of the pool is dropped.
    pub fn start(size: PoolSize) -> HashingPool {
        let (jobs, queue) = mpsc::sync_channel::<Job>(size.queue);
        let queue = Arc::new(Mutex::new(queue));
        let in_hand = Arc::new(AtomicUsize::new(0));
        for n in 0..size.workers.max(1) {
            let queue = queue.clone();
            let in_hand = in_hand.clone();
            thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || work(&queue, &in_hand))
                .expect("a password worker thread");
        }
        HashingPool { jobs, size, in_hand }
    }

    /// Whether a password handed in now would be taken rather than turned away. Asked
    /// before an attempt is counted, so that in a flood most refusals cost nothing but
    /// this; a job can still find the pool full a moment later.
    pub fn has_room(&self) -> bool {
        self.in_hand.load(Ordering::Relaxed) < self.size.workers + self.size.queue
    }

    /// Hashes a new password.
    pub async fn hash(
        &self,
        password: String,
    ) -> Result<Result<String, argon2::password_hash::Error>, PoolError> {
        match self.submit(Work::Hash(password)).await? {
            Done::Hashed(result) => Ok(result),
            Done::Verified(_) => Err(PoolError::Stopped),
        }
    }

    /// Whether the password matches the stored hash.
    pub async fn verify(&self, password: String, stored: String) -> Result<bool, PoolError> {
        match self.submit(Work::Verify { password, stored }).await? {
            Done::Verified(matches) => Ok(matches),
            Done::Hashed(_) => Err(PoolError::Stopped),
        }
    }

    async fn submit(&self, work: Work) -> Result<Done, PoolError> {
        let (reply, answer) = oneshot::channel();
        self.in_hand.fetch_add(1, Ordering::Relaxed);
        match self.jobs.try_send(Job { work, reply }) {
            Ok(()) => {}
            Err(err) => {
                self.in_hand.fetch_sub(1, Ordering::Relaxed);
                return Err(match err {
                    TrySendError::Full(_) => PoolError::Busy,
                    TrySendError::Disconnected(_) => PoolError::Stopped,
                });
            }
        }
        answer.await.map_err(|_| PoolError::Stopped)
    }
}

/// One worker: takes jobs until every sender is gone, hashing over its own blocks.
fn work(queue: &Mutex<Receiver<Job>>, in_hand: &AtomicUsize) {
    // Allocated at the first password, then kept: a server nobody signs in to does not
    // hold it.
    let mut blocks = Vec::new();
    loop {
        // The lock is held only while waiting for the next job, never while hashing.
        let next = match queue.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(job) = next else {
            return;
        };
        let done = match job.work {
            Work::Hash(password) => Done::Hashed(argon::hash_with(&password, &mut blocks)),
            Work::Verify { password, stored } => {
                Done::Verified(argon::verify_with(&password, &stored, &mut blocks))
            }
        };
        in_hand.fetch_sub(1, Ordering::Relaxed);
        // The asker may have gone (its connection closed): nothing to tell then.
        let _ = job.reply.send(done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_and_verifies() {
        let pool = HashingPool::start(PoolSize { workers: 1, queue: 2 });
        let stored = pool.hash("a long enough password".into()).await.unwrap().unwrap();
        assert!(pool
            .verify("a long enough password".into(), stored.clone())
            .await
            .unwrap());
        assert!(!pool.verify("another password".into(), stored).await.unwrap());
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_at_once() {
        let pool = HashingPool::start(PoolSize { workers: 1, queue: 1 });
        let stored = crate::password::dummy_hash().to_owned();
        let attempts: Vec<_> = (0..8)
            .map(|_| {
                let pool = pool.clone();
                let stored = stored.clone();
                tokio::spawn(async move { pool.verify("guess".into(), stored).await })
            })
            .collect();
        let mut busy = 0;
        let mut checked = 0;
        for attempt in attempts {
            match attempt.await.unwrap() {
                Ok(false) => checked += 1,
                Err(PoolError::Busy) => busy += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(checked >= 1, "at least the first was checked");
        assert!(
            busy >= 8 - 3,
            "one hashing, one queued (maybe one more taken): the rest busy, got {busy}"
        );
    }
}
