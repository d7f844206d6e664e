//! The zone a person reads the console's times in: an IANA name such as
//! `Europe/Berlin`, UTC until they choose one. Times are stored in UTC; only pages
//! show them shifted, always with the zone named.

use std::fmt;

use chrono::{NaiveDateTime, TimeZone as _};
use chrono_tz::{OffsetName, Tz};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(Tz);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("choose a time zone from the list, such as Europe/Berlin")]
pub struct UnknownTimeZone(pub String);

/// The regions whose zones the settings page offers; the rest of the database (old
/// aliases such as `US/Pacific`, `EST5EDT`, `Etc/GMT+5` whose sign reads backwards)
/// still parses, so a zone stored once never stops working.
const OFFERED_REGIONS: [&str; 10] = [
    "Africa/",
    "America/",
    "Antarctica/",
    "Arctic/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
];

impl TimeZone {
    pub const UTC: TimeZone = TimeZone(Tz::UTC);

    /// An IANA zone name, in any case, around spaces ignored.
    pub fn parse(name: &str) -> Result<TimeZone, UnknownTimeZone> {
        let name = name.trim();
        if name.is_empty() || name.len() > 64 {
            return Err(UnknownTimeZone(name.to_owned()));
        }
        if let Ok(tz) = name.parse::<Tz>() {
            return Ok(TimeZone(tz));
        }
        chrono_tz::TZ_VARIANTS
            .iter()
            .find(|tz| tz.name().eq_ignore_ascii_case(name))
            .map(|tz| TimeZone(*tz))
            .ok_or_else(|| UnknownTimeZone(name.to_owned()))
    }

    /// The name as stored and as the list shows it: `Europe/Berlin`, `UTC`.
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The zones a person picks from: UTC first, then every place-named zone, sorted.
    pub fn offered() -> Vec<TimeZone> {
        let mut zones: Vec<TimeZone> = chrono_tz::TZ_VARIANTS
            .iter()
            .filter(|tz| OFFERED_REGIONS.iter().any(|r| tz.name().starts_with(r)))
            .map(|tz| TimeZone(*tz))
            .collect();
        zones.sort_by_key(|z| z.name());
        zones.insert(0, TimeZone::UTC);
        zones
    }

    /// A UTC time as a wall-clock time here, with the zone's name for that moment:
    /// its abbreviation where it has one of letters (`CET`, `CEST`, `UTC`), else the
    /// IANA name (`Asia/Dubai`, whose abbreviation is only `+04`).
    pub fn local(self, at_utc: NaiveDateTime) -> (NaiveDateTime, String) {
        let local = self.0.from_utc_datetime(&at_utc);
        let label = match local.offset().abbreviation() {
            Some(abbr) if !abbr.is_empty() && abbr.chars().all(|c| c.is_ascii_alphabetic()) => {
                abbr.to_owned()
            }
            _ => self.name().to_owned(),
        };
        (local.naive_local(), label)
    }

    /// A wall-clock time here as UTC: the earlier one where the clocks went back, and
    /// the moment they went forward for a time they skipped.
    pub fn to_utc(self, local: NaiveDateTime) -> NaiveDateTime {
        use chrono::LocalResult;
        match self.0.from_local_datetime(&local) {
            LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.naive_utc(),
            LocalResult::None => {
                // In a gap (at most a few hours): the first minute after it.
                (1..=24 * 60)
                    .map(|m| local + chrono::Duration::minutes(m))
                    .find_map(|later| self.0.from_local_datetime(&later).earliest())
                    .map_or(local, |at| at.naive_utc())
            }
        }
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        TimeZone::UTC
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl TryFrom<String> for TimeZone {
    type Error = UnknownTimeZone;

    fn try_from(name: String) -> Result<TimeZone, UnknownTimeZone> {
        TimeZone::parse(&name)
    }
}

impl From<TimeZone> for String {
    fn from(zone: TimeZone) -> String {
        zone.name().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(month: u32, hour: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, month, 7)
            .and_then(|d| d.and_hms_opt(hour, 3, 0))
            .expect("a valid time")
    }

    #[test]
    fn names_parse_in_any_case_and_nothing_else_does() {
        assert_eq!(TimeZone::parse("Europe/Berlin").unwrap().name(), "Europe/Berlin");
        assert_eq!(
            TimeZone::parse(" europe/berlin ").unwrap().name(),
            "Europe/Berlin"
        );
        assert_eq!(TimeZone::parse("UTC").unwrap(), TimeZone::UTC);
        for bad in [
            "",
            "Berlin",
            "Europe/Atlantis",
            "CET; DROP TABLE users",
            &"A".repeat(200),
        ] {
            assert!(TimeZone::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn local_times_shift_with_the_season_and_name_their_zone() {
        let berlin = TimeZone::parse("Europe/Berlin").unwrap();
        assert_eq!(berlin.local(at(12, 14)), (at(12, 15), "CET".to_owned()));
        assert_eq!(berlin.local(at(7, 14)), (at(7, 16), "CEST".to_owned()));
        assert_eq!(TimeZone::UTC.local(at(12, 14)), (at(12, 14), "UTC".to_owned()));
        let dubai = TimeZone::parse("Asia/Dubai").unwrap();
        assert_eq!(dubai.local(at(12, 14)), (at(12, 18), "Asia/Dubai".to_owned()));
    }

    #[test]
    fn local_days_start_at_their_own_midnight_in_utc() {
        let berlin = TimeZone::parse("Europe/Berlin").unwrap();
        let midnight = |m, d| {
            chrono::NaiveDate::from_ymd_opt(2026, m, d)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
        };
        assert_eq!(
            berlin.to_utc(midnight(12, 7)),
            midnight(12, 6) + chrono::Duration::hours(23)
        );
        assert_eq!(TimeZone::UTC.to_utc(midnight(12, 7)), midnight(12, 7));
        // Santiago skips from midnight to one o'clock on 2026-09-06.
        let santiago = TimeZone::parse("America/Santiago").unwrap();
        assert_eq!(
            santiago.to_utc(midnight(9, 6)),
            midnight(9, 6) + chrono::Duration::hours(4)
        );
    }

    #[test]
    fn the_list_starts_with_utc_and_holds_only_places() {
        let offered = TimeZone::offered();
        assert_eq!(offered[0], TimeZone::UTC);
        assert!(offered.iter().any(|z| z.name() == "Europe/Berlin"));
        assert!(offered
            .iter()
            .all(|z| z.name() == "UTC" || z.name().contains('/')));
        assert!(!offered
            .iter()
            .any(|z| z.name().starts_with("Etc/") || z.name().starts_with("US/")));
        for zone in &offered {
            assert_eq!(TimeZone::parse(zone.name()).as_ref(), Ok(zone), "{zone}");
        }
    }
}
