//! How numbers and times read on every page, mail and message: one place, so that
//! `277,667` is never `277667` somewhere else.

use chrono::NaiveDateTime;

use crate::domain::TimeZone;

/// `277667` → `277,667`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// For templates: `{{ job.done|thousands }}` reads as `277,667`. A page's module
/// brings it in with `use crate::format::filters;`.
pub mod filters {
    #[askama::filter_fn]
    pub fn thousands(value: &i64, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::thousands(*value))
    }
}

/// `1 customer`, `2,500 customers`.
pub fn count(n: i64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// A time on a page, in the reader's zone and naming it: `2026-12-07 15:05 CET`
/// (times are stored in UTC; mails, whose reader may be anyone, pass `TimeZone::UTC`).
pub fn minute(at: NaiveDateTime, zone: TimeZone) -> String {
    let (local, name) = zone.local(at);
    format!("{} {name}", local.format("%Y-%m-%d %H:%M"))
}

/// A time where the second matters (the audit log, a job's start and end):
/// `2026-12-07 15:05:09 CET`.
pub fn second(at: NaiveDateTime, zone: TimeZone) -> String {
    let (local, name) = zone.local(at);
    format!("{} {name}", local.format("%Y-%m-%d %H:%M:%S"))
}

/// A span as a person says it: "3 days", "5 hours", "1 minute", "40 seconds".
pub fn duration_in_words(span: chrono::Duration) -> String {
    let seconds = span.num_seconds().max(0);
    for (unit, one, many) in [
        (86_400, "day", "days"),
        (3_600, "hour", "hours"),
        (60, "minute", "minutes"),
    ] {
        if seconds >= unit && seconds % unit == 0 {
            return count(seconds / unit, one, many);
        }
    }
    count(seconds, "second", "seconds")
}

/// A time in an export or JSON: ISO 8601 with its offset.
pub fn iso(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_said_in_their_largest_whole_unit() {
        assert_eq!(duration_in_words(chrono::Duration::days(3)), "3 days");
        assert_eq!(duration_in_words(chrono::Duration::hours(1)), "1 hour");
        assert_eq!(duration_in_words(chrono::Duration::seconds(90)), "90 seconds");
        assert_eq!(duration_in_words(chrono::Duration::minutes(2)), "2 minutes");
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(277_667), "277,667");
        assert_eq!(thousands(-1_234_567), "-1,234,567");
    }

    #[test]
    fn counts_agree_with_their_number() {
        assert_eq!(count(1, "customer", "customers"), "1 customer");
        assert_eq!(count(0, "customer", "customers"), "0 customers");
        assert_eq!(count(12_000, "event", "events"), "12,000 events");
    }

    #[test]
    fn times_name_their_zone() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 7)
            .and_then(|d| d.and_hms_opt(14, 5, 9))
            .expect("a valid time");
        assert_eq!(minute(at, TimeZone::UTC), "2026-12-07 14:05 UTC");
        assert_eq!(second(at, TimeZone::UTC), "2026-12-07 14:05:09 UTC");
        let berlin = TimeZone::parse("Europe/Berlin").unwrap();
        assert_eq!(minute(at, berlin), "2026-12-07 15:05 CET");
        assert_eq!(second(at, berlin), "2026-12-07 15:05:09 CET");
        assert_eq!(
            iso(at),
            "2026-12-07T14:05:09Z",
            "machine-readable times stay in UTC"
        );
    }
}
