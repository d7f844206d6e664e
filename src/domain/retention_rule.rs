//! What a retention policy does: archive or delete the customers whose last
//! interaction is more than so many days old, optionally only those of a status or a
//! country. Parsed once from the policy form, every wrong field reported at once.

use std::fmt;

use chrono::{Days, NaiveDateTime};

use super::customer_filter::{CustomerFilter, CustomerStatus, QueryMap};
use super::job_kind::JobKind;

/// The fewest and most days a policy may wait (ten years).
pub const MIN_DAYS: i32 = 1;
pub const MAX_DAYS: i32 = 3650;

/// What a policy does to the customers it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionAction {
    Archive,
    Delete,
}

impl RetentionAction {
    pub const ALL: [RetentionAction; 2] = [RetentionAction::Archive, RetentionAction::Delete];

    pub const fn key(self) -> &'static str {
        match self {
            RetentionAction::Archive => "archive",
            RetentionAction::Delete => "delete",
        }
    }

    pub fn parse(key: &str) -> Option<RetentionAction> {
        RetentionAction::ALL.into_iter().find(|a| a.key() == key)
    }

    /// "Archive (anonymize)", "Delete forever": for the list and the form.
    pub fn label(self) -> &'static str {
        match self {
            RetentionAction::Archive => "Archive (anonymize)",
            RetentionAction::Delete => "Delete forever",
        }
    }

    /// The kind of job a run of it is.
    pub fn job_kind(self) -> JobKind {
        match self {
            RetentionAction::Archive => JobKind::Archive,
            RetentionAction::Delete => JobKind::Delete,
        }
    }
}

impl fmt::Display for RetentionAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// One of the policy form's fields, named as the form names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionField {
    Action,
    Days,
    Status,
    Country,
}

impl RetentionField {
    pub fn key(self) -> &'static str {
        match self {
            RetentionField::Action => "action",
            RetentionField::Days => "days",
            RetentionField::Status => "status",
            RetentionField::Country => "country",
        }
    }
}

/// What was wrong with the form, field by field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionErrors(Vec<(RetentionField, String)>);

impl RetentionErrors {
    fn add(&mut self, field: RetentionField, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn message(&self, field: RetentionField) -> Option<&str> {
        self.0.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (RetentionField, &str)> {
        self.0.iter().map(|(f, m)| (*f, m.as_str()))
    }
}

impl fmt::Display for RetentionErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(field, m)| format!("{}: {m}", field.key()))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for RetentionErrors {}

/// The form as sent, before it is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionInput {
    pub action: String,
    pub days: String,
    pub status: String,
    pub country: String,
}

/// A policy's rule: always an action, a number of days within bounds, and a filter of
/// status and country only (never a last-seen range, which the days decide, nor a
/// search or an attribute, whose typed values could name people).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionRule {
    action: RetentionAction,
    days: i32,
    filter: CustomerFilter,
}

impl RetentionRule {
    pub fn parse(input: &RetentionInput) -> Result<RetentionRule, RetentionErrors> {
        let mut errors = RetentionErrors::default();
        let action = RetentionAction::parse(input.action.trim());
        if action.is_none() {
            errors.add(RetentionField::Action, "choose archive or delete");
        }
        let days = match input.days.trim().parse::<i64>() {
            Ok(days) if (i64::from(MIN_DAYS)..=i64::from(MAX_DAYS)).contains(&days) => days as i32,
            Ok(_) => {
                errors.add(RetentionField::Days, "enter a number of days from 1 to 3650");
                0
            }
            Err(_) => {
                errors.add(RetentionField::Days, "enter a whole number of days, e.g. 365");
                0
            }
        };
        let status = input.status.trim();
        if !status.is_empty() {
            match CustomerStatus::parse(status) {
                None => errors.add(RetentionField::Status, "choose active, inactive or anonymous"),
                Some(CustomerStatus::Anonymous) if action == Some(RetentionAction::Archive) => errors.add(
                    RetentionField::Status,
                    "anonymous customers are archived already; choose another status, or delete them",
                ),
                Some(_) => {}
            }
        }
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("status", status)
            .append_pair("country", input.country.trim())
            .finish();
        let filter = CustomerFilter::from_query(&QueryMap::parse(&query)).unwrap_or_else(|wrong| {
            if let Some(message) = wrong.message(super::FilterField::Country) {
                errors.add(RetentionField::Country, message);
            }
            CustomerFilter::default()
        });
        match (action, errors.is_empty()) {
            (Some(action), true) => Ok(RetentionRule { action, days, filter }),
            _ => Err(errors),
        }
    }

    /// A rule as stored: its action and days, and its filter in its stored form.
    pub fn from_stored(action: &str, days: i32, filter: &str) -> Option<RetentionRule> {
        let action = RetentionAction::parse(action)?;
        let filter = CustomerFilter::from_stored(filter).ok()?;
        if !(MIN_DAYS..=MAX_DAYS).contains(&days)
            || filter.seen_from().is_some()
            || filter.seen_to().is_some()
        {
            return None;
        }
        Some(RetentionRule { action, days, filter })
    }

    pub fn action(&self) -> RetentionAction {
        self.action
    }

    pub fn days(&self) -> i32 {
        self.days
    }

    pub fn status(&self) -> Option<CustomerStatus> {
        self.filter.status()
    }

    pub fn country(&self) -> Option<&str> {
        self.filter.country()
    }

    /// The status and country filter in its stored form (empty for every customer).
    pub fn stored_filter(&self) -> String {
        self.filter.to_stored()
    }

    /// The last day a customer may have been seen on and still be found at `now`: the
    /// day before the one `days` days ago, so that everyone found was last seen more
    /// than `days` whole days before.
    pub fn last_seen_day(&self, now: NaiveDateTime) -> chrono::NaiveDate {
        let cut = now.date() - Days::new(self.days as u64);
        cut.pred_opt().unwrap_or(cut)
    }

    /// The customers a run at `now` works through: the rule's filter, last seen on or
    /// before [`RetentionRule::last_seen_day`], and for archiving only those not
    /// archived yet, so that a run never finds again whom the previous one archived.
    pub fn customers_at(&self, now: NaiveDateTime) -> CustomerFilter {
        let mut pairs = url::form_urlencoded::parse(self.filter.to_stored().as_bytes())
            .into_owned()
            .collect::<Vec<_>>();
        pairs.push((
            "seen_to".to_owned(),
            self.last_seen_day(now).format("%Y-%m-%d").to_string(),
        ));
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let filter = CustomerFilter::from_stored(&query).unwrap_or_else(|_| self.filter.clone());
        match self.action {
            RetentionAction::Archive => filter.only_unarchived(),
            RetentionAction::Delete => filter,
        }
    }

    /// The rule in words, for the list, the job and its receipt: e.g. "customers in
    /// DE last seen over 365 days ago". Status and country name nobody.
    pub fn describe(&self) -> String {
        let mut head = match self.filter.status() {
            Some(status) => format!("{} customers", status.key()),
            None => "customers".to_owned(),
        };
        if let Some(country) = self.filter.country() {
            head.push_str(&format!(" in {country}"));
        }
        let days = if self.days == 1 {
            "1 day".to_owned()
        } else {
            format!("{} days", crate::format::thousands(i64::from(self.days)))
        };
        format!("{head} last seen over {days} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn input(action: &str, days: &str, status: &str, country: &str) -> RetentionInput {
        RetentionInput {
            action: action.into(),
            days: days.into(),
            status: status.into(),
            country: country.into(),
        }
    }

    fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(10, 30, 0)
            .unwrap()
    }

    #[test]
    fn a_plain_rule_parses_and_says_what_it_does() {
        let rule = RetentionRule::parse(&input("archive", " 365 ", "", "")).unwrap();
        assert_eq!(rule.action(), RetentionAction::Archive);
        assert_eq!(rule.days(), 365);
        assert_eq!(rule.stored_filter(), "");
        assert_eq!(rule.describe(), "customers last seen over 365 days ago");
    }

    #[test]
    fn status_and_country_narrow_it() {
        let rule = RetentionRule::parse(&input("delete", "30", "anonymous", "de")).unwrap();
        assert_eq!(rule.status(), Some(CustomerStatus::Anonymous));
        assert_eq!(rule.country(), Some("DE"));
        assert_eq!(
            rule.describe(),
            "anonymous customers in DE last seen over 30 days ago"
        );
        let back = RetentionRule::from_stored("delete", 30, &rule.stored_filter()).unwrap();
        assert_eq!(back, rule);
    }

    #[test]
    fn every_wrong_field_is_reported_at_once() {
        let errors = RetentionRule::parse(&input("shred", "0", "sleepy", "")).unwrap_err();
        assert!(errors.message(RetentionField::Action).is_some());
        assert!(errors
            .message(RetentionField::Days)
            .unwrap()
            .contains("1 to 3650"));
        assert!(errors.message(RetentionField::Status).is_some());
        let errors = RetentionRule::parse(&input("archive", "many", "", "")).unwrap_err();
        assert!(errors
            .message(RetentionField::Days)
            .unwrap()
            .contains("whole number"));
        assert!(RetentionRule::parse(&input("archive", "3651", "", "")).is_err());
        assert!(RetentionRule::parse(&input("archive", "3650", "", "")).is_ok());
    }

    #[test]
    fn archiving_the_anonymous_is_refused() {
        let errors = RetentionRule::parse(&input("archive", "90", "anonymous", "")).unwrap_err();
        assert!(errors
            .message(RetentionField::Status)
            .unwrap()
            .contains("archived already"));
    }

    #[test]
    fn a_run_finds_those_seen_more_than_the_days_before() {
        let rule = RetentionRule::parse(&input("archive", "10", "", "NL")).unwrap();
        let now = at(2026, 12, 20);
        assert_eq!(
            rule.last_seen_day(now),
            NaiveDate::from_ymd_opt(2026, 12, 9).unwrap()
        );
        let filter = rule.customers_at(now);
        assert_eq!(
            filter.seen_to(),
            Some(NaiveDate::from_ymd_opt(2026, 12, 9).unwrap())
        );
        assert_eq!(filter.country(), Some("NL"));
        assert!(filter.unarchived(), "an archiving run skips the archived");
        assert_eq!(
            CustomerFilter::from_stored(&filter.to_stored()).unwrap(),
            filter,
            "a job's stored filter keeps it"
        );
        assert!(
            !filter.to_query_string().contains("unarchived"),
            "links leave it out"
        );
        let deleting = RetentionRule::parse(&input("delete", "10", "", "")).unwrap();
        assert!(!deleting.customers_at(now).unarchived());
    }

    #[test]
    fn a_stored_rule_with_a_last_seen_range_is_not_one() {
        assert!(RetentionRule::from_stored("archive", 10, "seen_to=2026-01-01").is_none());
        assert!(RetentionRule::from_stored("archive", 0, "").is_none());
        assert!(RetentionRule::from_stored("shred", 10, "").is_none());
    }
}
