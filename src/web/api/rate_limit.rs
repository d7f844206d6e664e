//! A token bucket per API key, in memory.
//!
//! Each instance keeps its own buckets: behind a load balancer with N instances a key
//! gets up to N times the rate. That is the price of needing nothing shared, and the
//! limit exists to stop a runaway client, not to meter exact quotas.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<i64, Bucket>>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// `per_second` requests a second on average, in bursts of up to twice that.
    pub fn new(per_second: u32) -> RateLimiter {
        let per_second = f64::from(per_second.max(1));
        RateLimiter {
            per_second,
            burst: per_second * 2.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `key`, or says how long until one is available.
    pub fn check(&self, key: i64) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: i64, now: Instant) -> Result<(), Duration> {
        // A panic elsewhere while holding the lock leaves the map usable: worst case a
        // bucket is a little off.
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_twice_the_rate_then_refusals_until_tokens_refill() {
        let limiter = RateLimiter::new(5);
        let start = Instant::now();
        for _ in 0..10 {
            assert!(limiter.check_at(1, start).is_ok());
        }
        let wait = limiter.check_at(1, start).unwrap_err();
        assert!(wait <= Duration::from_millis(200));
        assert!(limiter.check_at(1, start + Duration::from_millis(200)).is_ok());
        assert!(limiter.check_at(1, start + Duration::from_millis(200)).is_err());
    }

    #[test]
    fn keys_have_their_own_buckets_and_refill_stops_at_the_burst() {
        let limiter = RateLimiter::new(1);
        let start = Instant::now();
        assert!(limiter.check_at(1, start).is_ok());
        assert!(limiter.check_at(1, start).is_ok());
        assert!(limiter.check_at(1, start).is_err());
        assert!(limiter.check_at(2, start).is_ok(), "another key is not affected");
        let later = start + Duration::from_secs(3600);
        assert!(limiter.check_at(1, later).is_ok());
        assert!(limiter.check_at(1, later).is_ok());
        assert!(
            limiter.check_at(1, later).is_err(),
            "no more than the burst saved up"
        );
    }
}
