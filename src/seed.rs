//! `erasure seed`: fills a workspace with generated customers and their events, to try
//! the console and to measure it at millions of rows.
//!
//! The same `--seed` over the same database state gives the same rows: one seeded
//! RNG draws everything in a fixed order, and times count back from the start of the
//! current UTC day (so two runs on the same day agree to the microsecond).

use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, NaiveTime};
use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::config::Settings;
use crate::db::{write_transaction, DbConnection};
use crate::startup::open_database_unsealed;
use crate::store::bulk_load::{self, CustomerRow, EventRow};
use crate::store::{self, StoreError};

/// Rows per INSERT: large enough that statement overhead vanishes, small enough to
/// stay under SQLite's 32,766 bound parameters (10 per customer row).
const ROWS_PER_INSERT: usize = 1_000;
/// Rows per transaction: fewer commits (each is an fsync), yet a bounded WAL.
const ROWS_PER_TRANSACTION: u64 = 50_000;
const EXTERNAL_ID_PREFIX: &str = "cust-";
const DAY_SECONDS: i64 = 86_400;

/// Email domains and their weights, skewed as real address books are: the ten most
/// common hold from about 3 % to 10 % of the customers each (so a search for a domain
/// can match a tenth of a workspace), the other twenty 1 % to 3 % each.
const EMAIL_DOMAINS: [(&str, u32); 30] = [
    ("gmail.com", 95),
    ("yahoo.com", 90),
    ("outlook.com", 80),
    ("hotmail.com", 70),
    ("icloud.com", 60),
    ("gmx.de", 50),
    ("web.de", 45),
    ("orange.fr", 40),
    ("aol.com", 35),
    ("proton.me", 30),
    ("live.co.uk", 28),
    ("libero.it", 27),
    ("t-online.de", 26),
    ("free.fr", 25),
    ("mail.ru", 24),
    ("yandex.com", 23),
    ("naver.com", 22),
    ("qq.com", 21),
    ("rediffmail.com", 20),
    ("uol.com.br", 19),
    ("bigpond.com", 18),
    ("telenet.be", 17),
    ("seznam.cz", 16),
    ("wp.pl", 15),
    ("btinternet.com", 14),
    ("sky.com", 13),
    ("comcast.net", 12),
    ("shaw.ca", 11),
    ("zoho.com", 10),
    ("fastmail.com", 9),
];

const COUNTRIES: [(&str, [&str; 5]); 20] = [
    ("US", ["New York", "Chicago", "Austin", "Seattle", "Denver"]),
    ("GB", ["London", "Manchester", "Leeds", "Bristol", "Glasgow"]),
    ("DE", ["Berlin", "Hamburg", "Munich", "Cologne", "Leipzig"]),
    ("FR", ["Paris", "Lyon", "Marseille", "Toulouse", "Lille"]),
    ("ES", ["Madrid", "Barcelona", "Valencia", "Seville", "Bilbao"]),
    ("IT", ["Rome", "Milan", "Naples", "Turin", "Bologna"]),
    (
        "NL",
        ["Amsterdam", "Rotterdam", "Utrecht", "Eindhoven", "Groningen"],
    ),
    ("SE", ["Stockholm", "Gothenburg", "Malmö", "Uppsala", "Lund"]),
    ("PL", ["Warsaw", "Kraków", "Gdańsk", "Wrocław", "Poznań"]),
    ("PT", ["Lisbon", "Porto", "Braga", "Coimbra", "Faro"]),
    ("IE", ["Dublin", "Cork", "Galway", "Limerick", "Waterford"]),
    ("CA", ["Toronto", "Montreal", "Vancouver", "Calgary", "Ottawa"]),
    (
        "BR",
        ["São Paulo", "Rio de Janeiro", "Curitiba", "Recife", "Salvador"],
    ),
    (
        "MX",
        ["Mexico City", "Guadalajara", "Monterrey", "Puebla", "Mérida"],
    ),
    ("JP", ["Tokyo", "Osaka", "Kyoto", "Sapporo", "Fukuoka"]),
    ("KR", ["Seoul", "Busan", "Incheon", "Daegu", "Daejeon"]),
    ("IN", ["Mumbai", "Delhi", "Bengaluru", "Chennai", "Pune"]),
    ("AU", ["Sydney", "Melbourne", "Brisbane", "Perth", "Adelaide"]),
    (
        "ZA",
        ["Cape Town", "Johannesburg", "Durban", "Pretoria", "Gqeberha"],
    ),
    ("NG", ["Lagos", "Abuja", "Ibadan", "Kano", "Enugu"]),
];

const FIRST_NAMES: [&str; 16] = [
    "Ada", "Grace", "Alan", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger", "Radia",
    "Tim", "Hedy", "Donald", "Karen", "John",
];
const LAST_NAMES: [&str; 16] = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "Knuth",
    "Spärck Jones",
    "McCarthy",
];
const PLANS: [&str; 4] = ["free", "starter", "pro", "enterprise"];
const SIGNUP_SOURCES: [&str; 5] = ["ads", "organic", "referral", "partner", "newsletter"];
const LANGUAGES: [&str; 6] = ["en", "de", "fr", "es", "pt", "ja"];
const EVENT_NAMES: [&str; 6] = [
    "page_viewed",
    "signed_in",
    "added_to_cart",
    "purchased",
    "email_opened",
    "support_ticket_opened",
];
const PAGES: [&str; 6] = ["/", "/pricing", "/docs", "/blog", "/account", "/checkout"];

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedPlan {
    pub workspace_slug: String,
    pub customers: u64,
    pub events_per_customer: u32,
    pub seed: u64,
}

#[derive(Debug, Clone)]
pub struct SeedReport {
    pub workspace_slug: String,
    pub customers: u64,
    pub events: u64,
    pub elapsed: Duration,
}

impl SeedReport {
    pub fn rows_per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64().max(1e-9);
        (self.customers + self.events) as f64 / seconds
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("no workspace has the slug {0:?} (it is the part after /w/ in the console's address)")]
    UnknownWorkspace(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for SeedError {
    fn from(err: diesel::result::Error) -> Self {
        SeedError::Store(StoreError::Query(err))
    }
}

/// Generates and inserts the plan's customers and events; `progress` hears after
/// each transaction how many customers are in so far.
pub fn seed(
    conn: &mut DbConnection,
    plan: &SeedPlan,
    mut progress: impl FnMut(u64),
) -> Result<SeedReport, SeedError> {
    let started = Instant::now();
    let workspace = store::workspaces::find_by_slug(conn, &plan.workspace_slug)?
        .ok_or_else(|| SeedError::UnknownWorkspace(plan.workspace_slug.clone()))?;
    // Number after an earlier run's customers, so external ids stay unique.
    let first_number =
        bulk_load::count_with_external_prefix(conn, workspace.id, EXTERNAL_ID_PREFIX)? as u64 + 1;
    let mut generator = Generator {
        rng: StdRng::seed_from_u64(plan.seed),
        domains: Domains::new(plan.seed),
        workspace_id: workspace.id,
        day_start: store::now().date().and_time(NaiveTime::MIN),
        events_per_customer: plan.events_per_customer,
    };
    let rows_per_customer = 1 + u64::from(plan.events_per_customer);
    let customers_per_transaction = (ROWS_PER_TRANSACTION / rows_per_customer).max(1);

    let mut inserted_customers = 0u64;
    let mut inserted_events = 0u64;
    while inserted_customers < plan.customers {
        let in_this_transaction = customers_per_transaction.min(plan.customers - inserted_customers);
        let from = first_number + inserted_customers;
        let events = write_transaction(conn, |conn| -> Result<u64, SeedError> {
            let mut events = 0u64;
            let mut number = from;
            while number < from + in_this_transaction {
                let batch_len = (ROWS_PER_INSERT as u64).min(from + in_this_transaction - number);
                events += generator.insert_batch(conn, number, batch_len)?;
                number += batch_len;
            }
            Ok(events)
        })?;
        inserted_customers += in_this_transaction;
        inserted_events += events;
        progress(inserted_customers);
    }
    Ok(SeedReport {
        workspace_slug: workspace.slug,
        customers: inserted_customers,
        events: inserted_events,
        elapsed: started.elapsed(),
    })
}

/// `erasure seed`: opens the database (migrating it if needed), seeds, and prints a
/// progress line every 100,000 customers and a summary with the rate.
pub fn run_command(settings: &Settings, plan: &SeedPlan) -> Result<(), String> {
    let database = open_database_unsealed(settings).map_err(|e| e.to_string())?;
    let mut conn = database.pool().get().map_err(|e| e.to_string())?;
    let mut reported = 0u64;
    let report = seed(&mut conn, plan, |done| {
        if done - reported >= 100_000 {
            eprintln!("… {done} customers");
            reported = done;
        }
    })
    .map_err(|e| match e {
        SeedError::UnknownWorkspace(_) => format!("--workspace: {e}"),
        SeedError::Store(store) => cause_chain(&store),
    })?;
    // The seed's tally deltas folded now rather than by the first server to start,
    // whose first fold of a million deltas would hold the tallies for seconds; then
    // fresh statistics, so the query planner picks the indexes the list needs.
    crate::store::tallies::compact(&mut conn).map_err(|e| cause_chain(&e))?;
    crate::store::maintenance::analyze(&mut conn).map_err(|e| cause_chain(&e))?;
    crate::store::maintenance::merge_search_index(&mut conn).map_err(|e| cause_chain(&e))?;
    println!(
        "seeded {} customers and {} events into /w/{} in {:.1} s ({:.0} rows/s)",
        report.customers,
        report.events,
        report.workspace_slug,
        report.elapsed.as_secs_f64(),
        report.rows_per_second()
    );
    Ok(())
}

/// Draws each customer's email domain from its own RNG, seeded from the same
/// `--seed`, so that the rest of the data stays what the seed gave before domains
/// were drawn.
struct Domains {
    rng: StdRng,
    weights: WeightedIndex<u32>,
}

impl Domains {
    fn new(seed: u64) -> Domains {
        Domains {
            rng: StdRng::seed_from_u64(seed ^ 0x656d_6169_6c5f_646f),
            weights: WeightedIndex::new(EMAIL_DOMAINS.iter().map(|(_, weight)| *weight))
                .expect("positive weights"),
        }
    }

    fn next(&mut self) -> &'static str {
        EMAIL_DOMAINS[self.weights.sample(&mut self.rng)].0
    }
}

struct Generator {
    rng: StdRng,
    domains: Domains,
    workspace_id: i64,
    day_start: NaiveDateTime,
    events_per_customer: u32,
}

impl Generator {
    /// Inserts customers `first..first + count` and their events; returns the events.
    fn insert_batch(&mut self, conn: &mut DbConnection, first: u64, count: u64) -> Result<u64, SeedError> {
        let customers: Vec<CustomerRow> = (first..first + count).map(|n| self.customer(n)).collect();
        let ids = bulk_load::insert_customers(conn, &customers)?;
        // RETURNING gives the ids in no promised order: match them by external id.
        let mut events = Vec::with_capacity(ROWS_PER_INSERT);
        let mut inserted = 0u64;
        let mut by_number: Vec<(u64, i64)> = ids
            .into_iter()
            .filter_map(|(id, external_id)| Some((number_of(external_id.as_deref()?)?, id)))
            .collect();
        by_number.sort_unstable();
        if by_number.len() != customers.len() {
            return Err(StoreError::Inconsistent("inserted customers did not all come back".into()).into());
        }
        for (number, id) in by_number {
            let customer = &customers[(number - first) as usize];
            for event in self.events(id, customer) {
                events.push(event);
                if events.len() == ROWS_PER_INSERT {
                    inserted += bulk_load::insert_events(conn, &events)? as u64;
                    events.clear();
                }
            }
        }
        inserted += bulk_load::insert_events(conn, &events)? as u64;
        Ok(inserted)
    }

    fn customer(&mut self, n: u64) -> CustomerRow {
        let rng = &mut self.rng;
        let (country, cities) = COUNTRIES[rng.gen_range(0..COUNTRIES.len())];
        let city = cities[rng.gen_range(0..cities.len())];
        let last_seen = self.day_start - chrono::Duration::seconds(rng.gen_range(1..400 * DAY_SECONDS));
        let created = last_seen - chrono::Duration::seconds(rng.gen_range(0..600 * DAY_SECONDS));
        let first_name = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())];
        let last_name = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())];
        let mut attributes = serde_json::Map::new();
        attributes.insert("plan".into(), pick(rng, &PLANS).into());
        attributes.insert("signup_source".into(), pick(rng, &SIGNUP_SOURCES).into());
        if rng.gen_bool(0.5) {
            attributes.insert("language".into(), pick(rng, &LANGUAGES).into());
        }
        CustomerRow {
            workspace_id: self.workspace_id,
            external_id: Some(format!("{EXTERNAL_ID_PREFIX}{n}")),
            email: Some(format!("user{n}@{}", self.domains.next())),
            phone: Some(format!(
                "+{} {:04} {:06}",
                rng.gen_range(1..99),
                rng.gen_range(0..10_000),
                rng.gen_range(0..1_000_000)
            )),
            name: Some(format!("{first_name} {last_name}")),
            country: Some(country.to_owned()),
            city: Some(city.to_owned()),
            attributes: serde_json::Value::Object(attributes).to_string(),
            created_at: created,
            last_seen_at: last_seen,
        }
    }

    /// The customer's events between creation and last sighting, the last one at the
    /// moment they were last seen.
    fn events(&mut self, customer_id: i64, customer: &CustomerRow) -> Vec<EventRow> {
        let span = (customer.last_seen_at - customer.created_at).num_seconds().max(1);
        let mut offsets: Vec<i64> = (0..self.events_per_customer)
            .map(|i| if i == 0 { span } else { self.rng.gen_range(0..span) })
            .collect();
        offsets.sort_unstable();
        offsets
            .into_iter()
            .map(|offset| {
                let name = pick(&mut self.rng, &EVENT_NAMES);
                EventRow {
                    workspace_id: self.workspace_id,
                    customer_id,
                    name: name.to_owned(),
                    properties: self.properties(name),
                    occurred_at: (customer.created_at + chrono::Duration::seconds(offset))
                        .min(customer.last_seen_at),
                }
            })
            .collect()
    }

    fn properties(&mut self, event: &str) -> String {
        let rng = &mut self.rng;
        let value = match event {
            "page_viewed" => serde_json::json!({ "path": pick(rng, &PAGES) }),
            "added_to_cart" | "purchased" => serde_json::json!({
                "amount": format!("{}.{:02}", rng.gen_range(1..500), rng.gen_range(0..100)),
                "currency": pick(rng, &["EUR", "USD", "GBP"]),
            }),
            "email_opened" => serde_json::json!({ "campaign": format!("spring-{}", rng.gen_range(1..13)) }),
            _ => serde_json::json!({}),
        };
        value.to_string()
    }
}

/// "database query failed: UNIQUE constraint failed: …": the whole story, for a
/// person at a terminal.
fn cause_chain(err: &dyn std::error::Error) -> String {
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

fn pick<'a>(rng: &mut StdRng, choices: &[&'a str]) -> &'a str {
    choices.choose(rng).copied().unwrap_or_default()
}

fn number_of(external_id: &str) -> Option<u64> {
    external_id.strip_prefix(EXTERNAL_ID_PREFIX)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn the_ten_most_common_domains_each_hold_one_to_ten_percent() {
        let draws = 200_000;
        let mut domains = Domains::new(7);
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for _ in 0..draws {
            *seen.entry(domains.next()).or_default() += 1;
        }
        assert_eq!(seen.len(), EMAIL_DOMAINS.len(), "every domain is drawn");
        let mut shares: Vec<f64> = seen.values().map(|&n| n as f64 / draws as f64).collect();
        shares.sort_by(|a, b| b.total_cmp(a));
        for share in &shares[..10] {
            assert!((0.01..=0.10).contains(share), "{shares:?}");
        }
        assert!(shares[0] > 3.0 * shares[9], "skewed: {shares:?}");
        assert!(shares[29] < 0.01 + 0.005, "{shares:?}");
    }

    #[test]
    fn the_same_seed_draws_the_same_domains() {
        let (mut a, mut b, mut c) = (Domains::new(1), Domains::new(1), Domains::new(2));
        let first: Vec<_> = (0..50).map(|_| a.next()).collect();
        assert_eq!(first, (0..50).map(|_| b.next()).collect::<Vec<_>>());
        assert_ne!(first, (0..50).map(|_| c.next()).collect::<Vec<_>>());
    }
}
