//! What an import job reports, kept as JSON in the job's `report`: the preflight's
//! counts and problem rows, then what the run created, updated and skipped.
//!
//! Rows are named by line number and reason only. A rejected row may be someone who
//! asked to be forgotten, and the report outlives the import.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// How many problem rows a report lists (all of them are counted).
pub const LISTED_ROWS: usize = 100;

pub const SUPPRESSED: &str = "suppressed";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedRow {
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ImportReport {
    pub file_name: String,
    /// Data rows in the file, blank ones aside.
    pub rows_in_file: i64,
    pub to_create: i64,
    pub to_update: i64,
    /// Invalid, duplicate, or naming nobody or more than one customer.
    pub rejected: i64,
    pub suppressed: i64,
    /// The preflight's rejected and suppressed rows, by line.
    pub problems: Vec<ReportedRow>,
    pub created: i64,
    pub updated: i64,
    /// Rows the run did not write (suppressed since the preflight, say), by reason.
    pub skipped_by_reason: BTreeMap<String, i64>,
    pub skipped: Vec<ReportedRow>,
    /// What others add to the report (the runner's audit hash), kept as it is.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl ImportReport {
    /// An unreadable report reads as empty rather than failing the page or the job.
    pub fn read(stored: &str) -> ImportReport {
        serde_json::from_str(stored).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    pub fn problems_not_listed(&self) -> i64 {
        (self.rejected + self.suppressed - self.problems.len() as i64).max(0)
    }

    pub fn skipped_total(&self) -> i64 {
        self.skipped_by_reason.values().sum()
    }

    pub fn skipped_not_listed(&self) -> i64 {
        (self.skipped_total() - self.skipped.len() as i64).max(0)
    }

    pub fn skip(&mut self, line: u64, reason: String) {
        if self.skipped.len() < LISTED_ROWS {
            self.skipped.push(ReportedRow {
                line,
                reason: reason.clone(),
            });
        }
        *self.skipped_by_reason.entry(reason).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_keys_survive_a_round_trip_and_skips_are_counted_past_the_list() {
        let mut report = ImportReport::read(r#"{"to_create": 3, "audit_hash": "abc"}"#);
        assert_eq!(report.to_create, 3);
        for line in 0..(LISTED_ROWS as u64 + 5) {
            report.skip(line, SUPPRESSED.into());
        }
        assert_eq!(report.skipped.len(), LISTED_ROWS);
        assert_eq!(report.skipped_not_listed(), 5);
        let again: Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(again["audit_hash"], "abc");
        assert_eq!(ImportReport::read("not json").rows_in_file, 0);
    }
}
