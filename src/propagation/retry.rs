//! When to try a failed delivery again: doubling waits, so a receiver that is down for
//! a day is not hammered, with jitter, so deliveries that failed together (one outage)
//! do not all come back at the same second.

use std::time::Duration;

/// How far the jitter moves a delay either way, as a share of it.
const JITTER_SHARE: f64 = 0.2;

/// The wait before the next attempt, after `attempts_made` attempts have failed:
/// `first` after the first, then twice as long each time, never more than `max`.
/// `jitter`, a number in 0..1 from the caller's random source, moves the wait by up
/// to ±20% (0.5 leaves it as it is); the result still never exceeds `max`.
pub fn next_attempt_delay(attempts_made: u32, first: Duration, max: Duration, jitter: f64) -> Duration {
    let base = doubled(first, attempts_made.saturating_sub(1), max);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let factor = 1.0 + JITTER_SHARE * (2.0 * jitter - 1.0);
    // Whole milliseconds: finer is meaningless for a wait, and keeps the result exact.
    let millis = (base.as_secs_f64() * factor * 1000.0).round();
    Duration::try_from_secs_f64(millis / 1000.0)
        .unwrap_or(max)
        .min(max)
}

/// `first` doubled `times` times, stopping at `max` (a loop, not a power, so that any
/// number of attempts is fine).
fn doubled(first: Duration, times: u32, max: Duration) -> Duration {
    let mut delay = first.min(max);
    for _ in 0..times {
        if delay >= max || delay.is_zero() {
            break;
        }
        delay = delay.saturating_mul(2).min(max);
    }
    delay
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: Duration = Duration::from_secs(5);
    const MAX: Duration = Duration::from_secs(6 * 60 * 60);
    const NO_JITTER: f64 = 0.5;

    fn delay(attempts_made: u32, jitter: f64) -> Duration {
        next_attempt_delay(attempts_made, FIRST, MAX, jitter)
    }

    #[test]
    fn the_first_retry_waits_the_first_delay() {
        assert_eq!(delay(1, NO_JITTER), FIRST);
        assert_eq!(delay(0, NO_JITTER), FIRST);
    }

    #[test]
    fn each_failure_doubles_the_wait() {
        assert_eq!(delay(2, NO_JITTER), Duration::from_secs(10));
        assert_eq!(delay(3, NO_JITTER), Duration::from_secs(20));
        assert_eq!(delay(4, NO_JITTER), Duration::from_secs(40));
        for attempts in 1..30 {
            assert!(delay(attempts + 1, NO_JITTER) >= delay(attempts, NO_JITTER));
        }
    }

    #[test]
    fn the_wait_stops_growing_at_the_maximum() {
        assert_eq!(delay(13, NO_JITTER), Duration::from_secs(5 * 4096));
        assert_eq!(delay(14, NO_JITTER), MAX);
        assert_eq!(delay(40, NO_JITTER), MAX);
        assert_eq!(next_attempt_delay(1, MAX * 2, MAX, NO_JITTER), MAX);
    }

    #[test]
    fn jitter_moves_the_wait_by_at_most_a_fifth_either_way() {
        assert_eq!(delay(3, 0.0), Duration::from_secs(16));
        assert_eq!(delay(3, 1.0), Duration::from_secs(24));
        for step in 0..=100 {
            let jittered = delay(3, f64::from(step) / 100.0);
            assert!(jittered >= Duration::from_secs(16) && jittered <= Duration::from_secs(24));
        }
    }

    #[test]
    fn jitter_never_takes_the_wait_past_the_maximum() {
        assert_eq!(delay(40, 1.0), MAX);
        assert_eq!(delay(40, 0.0), Duration::from_secs(17_280));
    }

    #[test]
    fn jitter_outside_zero_to_one_is_held_to_it() {
        assert_eq!(delay(3, -3.0), delay(3, 0.0));
        assert_eq!(delay(3, 7.0), delay(3, 1.0));
        assert_eq!(delay(3, f64::NAN), delay(3, NO_JITTER));
    }

    #[test]
    fn a_thousand_attempts_do_not_overflow() {
        assert_eq!(delay(1000, NO_JITTER), MAX);
        assert_eq!(delay(u32::MAX, 1.0), MAX);
        assert_eq!(
            next_attempt_delay(1000, Duration::from_nanos(1), Duration::MAX, 1.0),
            Duration::MAX
        );
        assert_eq!(next_attempt_delay(1000, Duration::ZERO, MAX, 1.0), Duration::ZERO);
    }
}
