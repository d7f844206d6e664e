use chrono::{Duration, NaiveDateTime};

/// A customer is active when seen within this many days.
pub const ACTIVE_WITHIN_DAYS: i64 = 30;

/// Where a customer stands: seen lately, not seen lately, or anonymized (archived).
/// Archiving wins over recency: an anonymous customer is never "active".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CustomerStatus {
    Active,
    Inactive,
    Anonymous,
}

impl CustomerStatus {
    pub const ALL: [CustomerStatus; 3] = [
        CustomerStatus::Active,
        CustomerStatus::Inactive,
        CustomerStatus::Anonymous,
    ];

    pub fn parse(raw: &str) -> Option<CustomerStatus> {
        CustomerStatus::ALL.into_iter().find(|s| s.key() == raw)
    }

    /// The value in query strings.
    pub fn key(self) -> &'static str {
        match self {
            CustomerStatus::Active => "active",
            CustomerStatus::Inactive => "inactive",
            CustomerStatus::Anonymous => "anonymous",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CustomerStatus::Active => "Active",
            CustomerStatus::Inactive => "Inactive",
            CustomerStatus::Anonymous => "Anonymous",
        }
    }

    /// The status with what it means, for the filter's choices: a person choosing
    /// "Active" sees which customers that is.
    pub fn meaning(self) -> &'static str {
        // The days are ACTIVE_WITHIN_DAYS; a test keeps the two the same.
        match self {
            CustomerStatus::Active => "Active: seen in the last 30 days",
            CustomerStatus::Inactive => "Inactive: not seen for 30 days or more",
            CustomerStatus::Anonymous => "Anonymous: archived, personal data removed",
        }
    }

    /// The moment before which a customer last seen counts as inactive.
    pub fn active_since(now: NaiveDateTime) -> NaiveDateTime {
        now - Duration::days(ACTIVE_WITHIN_DAYS)
    }

    /// The status of one customer, by the same rule the list filter applies in SQL.
    pub fn of(last_seen_at: NaiveDateTime, archived_at: Option<NaiveDateTime>, now: NaiveDateTime) -> Self {
        if archived_at.is_some() {
            CustomerStatus::Anonymous
        } else if last_seen_at >= CustomerStatus::active_since(now) {
            CustomerStatus::Active
        } else {
            CustomerStatus::Inactive
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_status_says_what_it_means_with_the_rule_s_own_days() {
        let days = super::ACTIVE_WITHIN_DAYS.to_string();
        for status in [super::CustomerStatus::Active, super::CustomerStatus::Inactive] {
            assert!(
                status.meaning().contains(&format!("{days} days")),
                "{}",
                status.meaning()
            );
            assert!(status.meaning().starts_with(status.label()));
        }
    }

    use super::*;
    use chrono::NaiveDate;

    fn at(day: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, day)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
    }

    #[test]
    fn recency_decides_unless_archived() {
        let now = at(31);
        assert_eq!(CustomerStatus::of(at(30), None, now), CustomerStatus::Active);
        assert_eq!(CustomerStatus::of(at(1), None, now), CustomerStatus::Active);
        assert_eq!(
            CustomerStatus::of(at(1) - Duration::seconds(1), None, now),
            CustomerStatus::Inactive
        );
        assert_eq!(
            CustomerStatus::of(at(30), Some(at(30)), now),
            CustomerStatus::Anonymous
        );
    }

    #[test]
    fn keys_round_trip() {
        for status in CustomerStatus::ALL {
            assert_eq!(CustomerStatus::parse(status.key()), Some(status));
        }
        assert_eq!(CustomerStatus::parse("Active"), None);
    }
}
