//! How often each trigram occurs in the customers' searchable text, counted on a
//! small random sample of the table: on PostgreSQL for `trigram_plan`, on both
//! engines for judging how many customers a search matches (`share_matching`).
//!
//! The sample is taken once a minute per server, off the request path, and only its
//! trigram counts are kept: no name or address outlives the query that read it. It spans every
//! workspace because the trigram indexes do.
//!
//! It is a sample of rows, drawn by random ids, not of pages: customers stored side
//! by side are alike (made one after the other, with neighbouring numbers), so a few
//! dozen sampled pages could hold no row with a trigram that a tenth of the table has,
//! and the plan would then read that trigram's long list as if it were rare.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};

use super::trigram_plan::{trigrams_of, TrigramCounts};
use super::StoreResult;
use crate::db::{Backend, DbConnection};

/// Ids drawn at random between the lowest and the highest: enough customers to tell
/// a trigram in a tenth of the texts from one in a thousandth, each found through
/// the primary key (ids no longer in use find nobody).
const SAMPLE_IDS: i64 = 2_000;

/// Trigram counts over the sampled texts (name, email and external id of each
/// sampled customer, each text one row), and over the sampled customers (all three
/// texts together).
#[derive(Debug, Default)]
pub struct TrigramSample {
    texts: usize,
    counts: HashMap<String, usize>,
    customers: usize,
    customer_counts: HashMap<String, usize>,
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
    /// Counts the trigrams of each customer's texts (already lower-cased).
    fn of<'t>(customers: impl Iterator<Item = Vec<&'t str>>) -> TrigramSample {
        let mut sample = TrigramSample::default();
        for texts in customers {
            sample.customers += 1;
            let mut of_customer: HashSet<&str> = HashSet::new();
            for text in texts {
                sample.texts += 1;
                let distinct: HashSet<&str> = trigrams_of(text).collect();
                for trigram in &distinct {
                    *sample.counts.entry((*trigram).to_owned()).or_default() += 1;
                }
                of_customer.extend(distinct);
            }
            for trigram in of_customer {
                *sample.customer_counts.entry(trigram.to_owned()).or_default() += 1;
            }
        }
        sample
    }

    /// At most what share of the customers have `text` (lower-cased) in their name,
    /// email or external id; `None` when the sample cannot tell (no customers sampled,
    /// or a text without a trigram).
    ///
    /// A customer with the text has every trigram of it, so the rarest trigram bounds
    /// the share from above. It is an upper bound, not a guess of the middle: trigrams
    /// of one text occur together far more often than by chance ("gma", "mai", "ail"),
    /// and a product would call every common domain rare. An estimate too high costs
    /// a bounded walk (see `store::customers`), never a wrong answer.
    pub fn share_matching(&self, text: &str) -> Option<f64> {
        if self.customers == 0 {
            return None;
        }
        let rarest = trigrams_of(text)
            .map(|trigram| self.customer_counts.get(trigram).copied().unwrap_or(0))
            .min()?;
        Some(rarest as f64 / self.customers as f64)
    }
}

static LATEST: Mutex<Option<Arc<TrigramSample>>> = Mutex::new(None);
/// Held while a search takes a sample because there is none yet; the searches that
/// arrive meanwhile wait for it rather than each sampling the table.
static FIRST: Mutex<()> = Mutex::new(());

/// The latest sample. The server refreshes it in the background (`refresh`, once a
/// minute), so a search never samples the table itself, except when there is no sample
/// yet or the latest one found no customers.
pub fn current(conn: &mut DbConnection) -> StoreResult<Arc<TrigramSample>> {
    let usable = || {
        let latest = LATEST.lock().unwrap_or_else(|e| e.into_inner()).clone();
        latest.filter(|sample| sample.texts > 0)
    };
    if let Some(sample) = usable() {
        return Ok(sample);
    }
    let _first = FIRST.lock().unwrap_or_else(|e| e.into_inner());
    match usable() {
        Some(sample) => Ok(sample),
        None => refresh(conn),
    }
}

/// Takes a new sample and keeps it for the searches that follow.
pub fn refresh(conn: &mut DbConnection) -> StoreResult<Arc<TrigramSample>> {
    let sample = Arc::new(take(conn)?);
    *LATEST.lock().unwrap_or_else(|e| e.into_inner()) = Some(sample.clone());
    Ok(sample)
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
    let sql = match conn.backend() {
        // ARRAY(…) makes the drawn ids one value, so that the customers are found
        // through the primary key rather than by joining the draw against the whole
        // table.
        Backend::Postgres => {
            "SELECT name, email, external_id \
             FROM customers WHERE id = ANY (ARRAY( \
               SELECT DISTINCT span.lo + floor(random() * (span.hi - span.lo + 1))::bigint \
               FROM (SELECT min(id) AS lo, max(id) AS hi FROM customers) AS span, \
                    generate_series(1, $1)))"
        }
        // The draws as a recursive CTE, looked up by rowid.
        Backend::Sqlite => {
            "WITH RECURSIVE span(lo, hi) AS (SELECT min(id), max(id) FROM customers), \
             draws(n, id) AS ( \
               SELECT 1, lo + abs(random() % (hi - lo + 1)) FROM span WHERE lo IS NOT NULL \
               UNION ALL \
               SELECT n + 1, lo + abs(random() % (hi - lo + 1)) FROM draws, span WHERE n < ?) \
             SELECT name, email, external_id FROM customers WHERE id IN (SELECT id FROM draws)"
        }
    };
    let rows: Vec<Texts> = diesel::sql_query(sql)
        .bind::<diesel::sql_types::BigInt, _>(SAMPLE_IDS)
        .load(conn)?;
    // Lower-cased here, the same way on both engines.
    let lowered: Vec<Vec<String>> = rows
        .into_iter()
        .map(|row| {
            [row.name, row.email, row.external_id]
                .into_iter()
                .flatten()
                .map(|text| text.to_lowercase())
                .collect()
        })
        .collect();
    Ok(TrigramSample::of(
        lowered
            .iter()
            .map(|texts| texts.iter().map(String::as_str).collect()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_text_counts_a_trigram_once() {
        let sample = TrigramSample::of([vec!["anna anna", "annex"], vec!["bob"]].into_iter());
        assert_eq!(sample.rows(), 3);
        assert_eq!(sample.rows_with("ann"), 2);
        assert_eq!(sample.rows_with("bob"), 1);
        assert_eq!(sample.rows_with("zzz"), 0);
    }

    #[test]
    fn the_share_matching_is_bounded_by_the_rarest_trigram_per_customer() {
        let sample = TrigramSample::of(
            [
                vec!["ada lovelace", "ada@gmail.com"],
                vec!["grace hopper", "grace@gmail.com"],
                vec!["alan turing", "alan@yahoo.com"],
                vec!["ada byron", "x@web.de"],
            ]
            .into_iter(),
        );
        // Twice in one customer still counts one customer.
        assert_eq!(sample.share_matching("ada"), Some(0.5));
        assert_eq!(sample.share_matching("gmail"), Some(0.5));
        assert_eq!(sample.share_matching("zzz"), Some(0.0));
        assert_eq!(sample.share_matching("ab"), None, "no trigram");
        assert_eq!(TrigramSample::default().share_matching("ada"), None);
    }
}
