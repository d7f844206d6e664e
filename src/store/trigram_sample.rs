//! PostgreSQL: how often each trigram occurs in the customers' searchable text,
//! counted on a small random sample of the table, for `trigram_plan`.
//!
//! The sample is taken at most once a minute per server and only its trigram counts
//! are kept: no name or address outlives the query that read it. It spans every
//! workspace because the trigram indexes do.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{Double, Float, Nullable, Text};

use super::trigram_plan::{trigrams_of, TrigramCounts};
use super::StoreResult;
use crate::db::DbConnection;

/// About this many customers are sampled: enough to tell a trigram in most texts
/// from one in a few, read from a few dozen pages.
const SAMPLE_ROWS: f64 = 2_000.0;
/// The most rows read when the table's size is unknown (never analyzed).
const SAMPLE_LIMIT: i64 = 5_000;
const FRESH_FOR: Duration = Duration::from_secs(60);

/// Trigram counts over the sampled texts (name, email and external id of each
/// sampled customer, each text one row).
#[derive(Debug, Default)]
pub struct TrigramSample {
    texts: usize,
    counts: HashMap<String, usize>,
}

impl TrigramCounts for TrigramSample {
    fn rows(&self) -> usize {
        self.texts
    }

    fn rows_with(&self, trigram: &str) -> usize {
        self.counts.get(trigram).copied().unwrap_or(0)
    }
}

impl TrigramSample {
    fn of<'t>(texts: impl Iterator<Item = &'t str>) -> TrigramSample {
        let mut sample = TrigramSample::default();
        for text in texts {
            sample.texts += 1;
            let distinct: HashSet<&str> = trigrams_of(text).collect();
            for trigram in distinct {
                *sample.counts.entry(trigram.to_owned()).or_default() += 1;
            }
        }
        sample
    }
}

static LATEST: Mutex<Option<(Instant, Arc<TrigramSample>)>> = Mutex::new(None);

/// A sample at most a minute old, taken now when there is none.
pub fn current(conn: &mut DbConnection) -> StoreResult<Arc<TrigramSample>> {
    if let Some((taken, sample)) = LATEST.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        if taken.elapsed() < FRESH_FOR {
            return Ok(sample.clone());
        }
    }
    let sample = Arc::new(take(conn)?);
    *LATEST.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), sample.clone()));
    Ok(sample)
}

#[derive(QueryableByName)]
struct Estimate {
    #[diesel(sql_type = Float)]
    rows: f32,
}

#[derive(QueryableByName)]
struct Texts {
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    email: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    external_id: Option<String>,
}

fn take(conn: &mut DbConnection) -> StoreResult<TrigramSample> {
    // The planner's own estimate of the table's size; -1 before the first ANALYZE.
    let estimate: Estimate =
        diesel::sql_query("SELECT reltuples AS rows FROM pg_class WHERE oid = 'customers'::regclass")
            .get_result(conn)?;
    let percent = if estimate.rows > 0.0 {
        (SAMPLE_ROWS / f64::from(estimate.rows) * 100.0).clamp(0.001, 100.0)
    } else {
        100.0
    };
    let rows: Vec<Texts> = diesel::sql_query(
        "SELECT lower(name) AS name, lower(email) AS email, lower(external_id) AS external_id \
         FROM customers TABLESAMPLE SYSTEM ($1) LIMIT $2",
    )
    .bind::<Double, _>(percent)
    .bind::<diesel::sql_types::BigInt, _>(SAMPLE_LIMIT)
    .load(conn)?;
    Ok(TrigramSample::of(rows.iter().flat_map(|row| {
        [&row.name, &row.email, &row.external_id]
            .into_iter()
            .flatten()
            .map(String::as_str)
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_text_counts_a_trigram_once() {
        let sample = TrigramSample::of(["anna anna", "annex", "bob"].into_iter());
        assert_eq!(sample.rows(), 3);
        assert_eq!(sample.rows_with("ann"), 2);
        assert_eq!(sample.rows_with("bob"), 1);
        assert_eq!(sample.rows_with("zzz"), 0);
    }
}
