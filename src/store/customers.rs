//! Reading customers: the filtered list, its count, one profile and its activity.
//!
//! Every query here is scoped by the workspace id its caller took from the URL and
//! checked against the membership; an id from another workspace finds nothing.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::query_builder::QueryFragment;
use diesel::sql_types::{Nullable, Text, Timestamp};

use super::prepared_sql::{around, fragment, in_subquery, Value};
use super::{now, StoreResult};
use crate::db::schema::{customers, events};
use crate::db::{Backend, DbConnection};
use crate::domain::{Cursor, CustomerFilter, CustomerSort, CustomerStatus};

type Db = <DbConnection as Connection>::Backend;

#[diesel::declare_sql_function]
extern "SQL" {
    /// Case folding for PostgreSQL, whose LIKE is case-sensitive.
    fn lower(text: Nullable<Text>) -> Nullable<Text>;

    /// PostgreSQL: where `needle` starts in `text`, from 1; 0 when it is not there.
    fn strpos(text: Nullable<Text>, needle: Text) -> Nullable<diesel::sql_types::Integer>;
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = customers)]
pub struct Customer {
    pub id: i64,
    pub workspace_id: i64,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    /// A JSON object as compact text.
    pub attributes: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub archived_at: Option<NaiveDateTime>,
    pub archived_by: Option<i64>,
    pub legal_hold_reason: Option<String>,
    pub legal_hold_at: Option<NaiveDateTime>,
}

impl Customer {
    pub fn status(&self, now: NaiveDateTime) -> CustomerStatus {
        CustomerStatus::of(self.last_seen_at, self.archived_at, now)
    }

    pub fn is_anonymous(&self) -> bool {
        self.archived_at.is_some()
    }
}

/// One entry of a customer's activity.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct TimelineEvent {
    pub id: i64,
    pub name: String,
    /// A JSON object as compact text.
    pub properties: String,
    pub occurred_at: NaiveDateTime,
}

pub fn count_all(conn: &mut DbConnection, workspace_id: i64) -> StoreResult<i64> {
    use crate::db::schema::workspace_counters;
    // Maintained by triggers in the same transaction as every insert and delete.
    Ok(workspace_counters::table
        .find(workspace_id)
        .select(workspace_counters::customers)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

/// How many customers of the workspace match, exactly (the cursor plays no part).
pub fn count(conn: &mut DbConnection, workspace_id: i64, filter: &CustomerFilter) -> StoreResult<i64> {
    if !filter.narrows() {
        return count_all(conn, workspace_id);
    }
    let at = now();
    if let Some(counted) = super::tallies::count(conn, workspace_id, filter, at)? {
        return Ok(counted);
    }
    Ok(Matching::new(conn, workspace_id, filter, at)?
        .query()
        .count()
        .get_result(conn)?)
}

/// One page of matching customers, from the filter's cursor on, and the cursor of the
/// page after it when there is one.
///
/// Keyset paging, never OFFSET: each page starts strictly after the last row of the
/// one before in (sort key, id) order, so a deep page costs what the first one does and
/// rows added or removed meanwhile never make another row repeat or go missing.
///
/// Each page is one statement: the ids of the page, found by a query that names only
/// the filter's columns, the sort key and the id (which an index alone can answer),
/// and around it the whole rows of those ids. Selecting whole rows in the inner query
/// would read every candidate row before sorting: at a million customers,
/// `country=DE&status=active&sort=name` sorted 3,800 whole rows for each page, where
/// now it sorts 3,800 index entries and reads 51 rows. One statement also means one
/// snapshot: the cursor is the last row's own key.
///
/// With it, how many match ([`count`]): a first page that holds every match is its own
/// count, which spares a search its second pass through the trigram index (on
/// PostgreSQL a search's count read the same index entries and rows as its page).
///
/// `None` for the count when `counting` is `Counting::WhenCheap` and the search
/// matches so many customers that its page came from walking the sort index
/// (`walk_budget`): counting them would read every match through the trigram index,
/// many times what the page cost. The caller counts them apart ([`count`]).
pub fn list_and_count(
    conn: &mut DbConnection,
    workspace_id: i64,
    filter: &CustomerFilter,
    limit: i64,
    counting: Counting,
) -> StoreResult<(Vec<Customer>, Option<Cursor>, Option<i64>)> {
    let (rows, next, found, walked) = page(conn, workspace_id, filter, limit)?;
    let counted = match (filter.cursor(), &next) {
        (None, None) => Some(found as i64),
        _ if walked && counting == Counting::WhenCheap => None,
        _ => Some(count(conn, workspace_id, filter)?),
    };
    Ok((rows, next, counted))
}

/// Whether the list counts its matches with the page whatever it costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    Exact,
    WhenCheap,
}

/// One page, its next cursor, how many matches the page's query found, and whether it
/// found them by walking the sort index.
fn page(
    conn: &mut DbConnection,
    workspace_id: i64,
    filter: &CustomerFilter,
    limit: i64,
) -> StoreResult<(Vec<Customer>, Option<Cursor>, usize, bool)> {
    let matching = Matching::new(conn, workspace_id, filter, now())?;
    // One row more than asked tells whether a next page exists.
    let wanted = limit + 1;
    let mut walked = None;
    if let Some(budget) = walk_budget(conn, filter, wanted)? {
        let rows = rows_in_order(conn, &matching.walking(budget), wanted)?;
        // A full page from the walk is the page; a short one may only mean the walk
        // stopped before the matches ran out, so the trigram index answers instead.
        if rows.len() as i64 == wanted {
            walked = Some(rows);
        }
    }
    let was_walked = walked.is_some();
    let mut rows = match walked {
        Some(rows) => rows,
        None => rows_in_order(conn, &matching, wanted)?,
    };
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|row| cursor_of(filter.sort(), row))
    } else {
        None
    };
    let found = rows.len();
    Ok((rows, next, found, was_walked))
}

/// The page's rows in the filter's order.
fn rows_in_order(conn: &mut DbConnection, matching: &Matching, wanted: i64) -> StoreResult<Vec<Customer>> {
    match matching.filter.sort() {
        CustomerSort::LastSeen | CustomerSort::Created => rows_by_time(conn, matching, wanted),
        CustomerSort::Name => rows_by_name(conn, matching, wanted),
    }
}

/// The most customers a search reads in sort order (see `walk_budget`).
const MAX_WALK_ROWS: f64 = 8_000.0;
/// How many pages' worth of matches the walk expects to find among the rows it may
/// read: room for the estimate to be off by that much before the walk comes up short.
const WALK_MARGIN: f64 = 3.0;

/// How many customers to read in sort order, checking the search on each, when the
/// search matches so many that a page's worth turns up after reading few of them;
/// `None` when it should be looked up in the trigram index instead.
///
/// A search that matches a tenth of a million customers finds its hundred thousand
/// matches through the trigram index and sorts them all for a page of fifty (a
/// quarter of a second), where reading the sort index from the top finds fifty after
/// about five hundred rows. A rare search is the other way round: its few matches come
/// straight from the trigram index, and the walk would read every customer. Which it
/// is comes from the share of sampled customers that may match (`trigram_sample`),
/// which the walk's other filters (a country, a status, a last-seen range) leave as it
/// is: the walk reads their index, where the matches are as frequent as anywhere.
///
/// The walk stops after the rows it was given: a search that matches fewer than the
/// estimate costs those rows, then its trigram lookup, never a wrong page.
///
/// SQLite checks each row with LIKE, which ignores the case of ASCII letters only,
/// where the FTS5 index folds the case of other letters too; so only an ASCII search
/// walks there, whose matches the two agree on.
fn walk_budget(conn: &mut DbConnection, filter: &CustomerFilter, wanted: i64) -> StoreResult<Option<i64>> {
    let Some(q) = filter.q() else {
        return Ok(None);
    };
    if !uses_search_index(q) || filter.id().is_some() || (conn.backend() == Backend::Sqlite && !q.is_ascii())
    {
        return Ok(None);
    }
    let sample = super::trigram_sample::current(conn)?;
    let Some(share) = sample.share_matching(&q.to_lowercase()) else {
        return Ok(None);
    };
    let rows = WALK_MARGIN * wanted as f64 / share;
    Ok((share > 0.0 && rows <= MAX_WALK_ROWS).then(|| rows.ceil() as i64))
}

/// Whether a page of `limit` customers for `filter` first reads the sort index and
/// checks the search on each customer (`walk_budget`), rather than looking it up in the
/// trigram index; the same rows either way.
pub fn search_walks(conn: &mut DbConnection, filter: &CustomerFilter, limit: i64) -> StoreResult<bool> {
    Ok(walk_budget(conn, filter, limit + 1)?.is_some())
}

/// The ids of a page, as a query: from `ordered` (the matching customers in the page's
/// order, from the cursor on) the first `wanted`, or when the search walks the sort
/// index, the first `wanted` that match the search among the walk's first rows.
///
/// The walk is a subquery in FROM, in sort order and bounded by its budget, around
/// which the search is checked and the page's worth taken: both engines read it as a
/// stream (a SQLite co-routine, a PostgreSQL subquery scan), so it stops at the
/// page's last match rather than reading the whole budget. As a condition on the ids
/// instead (`id IN (walk) AND search`), PostgreSQL answered the search from the
/// trigram indexes and joined the walk to it, all the cost the walk was to save.
fn page_ids<'a>(
    matching: &Matching,
    ordered: customers::BoxedQuery<'a, Db>,
    wanted: i64,
) -> Box<dyn QueryFragment<Db> + Send + 'a> {
    match (matching.walk, matching.filter.q()) {
        (Some(budget), Some(q)) => {
            let walked = ordered.limit(budget).select((
                customers::id,
                customers::name,
                customers::email,
                customers::external_id,
            ));
            let mut check = fragment::<diesel::sql_types::Untyped>(") AS walk WHERE (");
            for (n, column) in ["walk.name", "walk.email", "walk.external_id"]
                .into_iter()
                .enumerate()
            {
                let or = if n == 0 { "" } else { " OR " };
                check = match matching.backend {
                    // SQLite's LIKE ignores ASCII case, as the search does (`walk_budget`
                    // walks ASCII searches only).
                    Backend::Sqlite => check
                        .sql(format!("{or}{column} LIKE "))
                        .bind_text(format!("%{}%", escape_like(&q.to_lowercase())))
                        .sql(" ESCAPE '\\'"),
                    // `strpos`, which no index answers, as the whole text's check.
                    Backend::Postgres => check
                        .sql(format!("{or}strpos(lower({column}), "))
                        .bind_text(q.to_lowercase())
                        .sql(") > 0"),
                };
            }
            let check = check.sql(") LIMIT ").bind(Value::BigInt(wanted));
            Box::new(around(fragment("SELECT walk.id FROM ("), walked, check))
        }
        _ => Box::new(ordered.limit(wanted).select(customers::id)),
    }
}

/// The whole rows of the ids `page_ids` selects, in `order` (SQL of this crate), as one
/// statement with it.
fn rows_of(
    conn: &mut DbConnection,
    workspace_id: i64,
    page_ids: Box<dyn QueryFragment<Db> + Send + '_>,
    order: String,
) -> StoreResult<Vec<Customer>> {
    Ok(customers::table
        .filter(customers::workspace_id.eq(workspace_id))
        .filter(in_subquery("customers.id", page_ids))
        .order(fragment::<Text>(order))
        .select(Customer::as_select())
        .load(conn)?)
}

/// Where the page after `row` starts.
fn cursor_of(sort: CustomerSort, row: &Customer) -> Cursor {
    match sort {
        CustomerSort::LastSeen => Cursor::LastSeen {
            at: row.last_seen_at,
            id: row.id,
        },
        CustomerSort::Created => Cursor::Created {
            at: row.created_at,
            id: row.id,
        },
        CustomerSort::Name => Cursor::Name { id: row.id },
    }
}

/// The sort column as the page's query writes it.
///
/// A search matches few rows: found through the trigram index, they are best fetched
/// and sorted, where walking the sort index would look up every customer of the
/// workspace in index order until a page is full (seconds at a million customers).
/// Written as an expression that keeps the order (`+column` on SQLite; `column +
/// interval '0'` or `column || ''` on PostgreSQL), the column stops either planner
/// from walking its index. PostgreSQL needs it as much as SQLite: its estimate for a
/// search is a guess from the pattern, and a guess of "many" had it walk the last-seen
/// index through a million rows for eleven matches. Not for the attribute filter,
/// whose common values the index walk finds at once, nor on PostgreSQL for a search
/// too short for the trigram indexes, which reads the table either way.
///
/// A search that walks the sort index (`walk_budget`) wants the column itself.
fn sort_column(matching: &Matching, sort: CustomerSort) -> &'static str {
    let search = matching.filter.q();
    let as_expression = matching.walk.is_none()
        && match matching.backend {
            Backend::Sqlite => search.is_some(),
            Backend::Postgres => search.is_some_and(uses_search_index),
        };
    sort_expression(matching.backend, sort, as_expression)
}

/// The sort column, or (`as_expression`) an expression of it in the same order that no
/// index offers. The rows of a page are always ordered by the expression: there are at
/// most 51 of them, found by id, and no planner should walk a sort index for them.
fn sort_expression(backend: Backend, sort: CustomerSort, as_expression: bool) -> &'static str {
    match (backend, sort, as_expression) {
        (_, CustomerSort::LastSeen, false) => "customers.last_seen_at",
        (_, CustomerSort::Created, false) => "customers.created_at",
        (_, CustomerSort::Name, false) => "customers.name",
        (Backend::Sqlite, CustomerSort::LastSeen, true) => "+customers.last_seen_at",
        (Backend::Sqlite, CustomerSort::Created, true) => "+customers.created_at",
        (Backend::Sqlite, CustomerSort::Name, true) => "+customers.name",
        (Backend::Postgres, CustomerSort::LastSeen, true) => {
            "(customers.last_seen_at + interval '0 seconds')"
        }
        (Backend::Postgres, CustomerSort::Created, true) => "(customers.created_at + interval '0 seconds')",
        (Backend::Postgres, CustomerSort::Name, true) => "(customers.name || '')",
    }
}

/// The page's rows newest first, by last seen or by creation.
fn rows_by_time(conn: &mut DbConnection, matching: &Matching, wanted: i64) -> StoreResult<Vec<Customer>> {
    let filter = matching.filter;
    let sort = filter.sort();
    // Raw SQL so that a search writes it as an expression, in the conditions as well
    // as the order (see `sort_column`).
    let column = sort_column(matching, sort);
    let key = || fragment::<Timestamp>(column);
    let mut query = matching.query();
    let after = match (sort, filter.cursor()) {
        (CustomerSort::LastSeen, Some(Cursor::LastSeen { at, id }))
        | (CustomerSort::Created, Some(Cursor::Created { at, id })) => Some((*at, *id)),
        _ => None,
    };
    if let Some((at, id)) = after {
        // The `<=` bound lets the index range start at the cursor; the second condition
        // then drops the rows of equal time already shown.
        query = query
            .filter(key().le(at))
            .filter(key().lt(at).or(customers::id.lt(id)));
    }
    let in_order = format!(
        "{} DESC, customers.id DESC",
        sort_expression(matching.backend, sort, true)
    );
    let page_ids = page_ids(
        matching,
        query.order((key().desc(), customers::id.desc())),
        wanted,
    );
    rows_of(conn, matching.workspace_id, page_ids, in_order)
}

/// The page's rows sorted by name: names A to Z, then the customers without a name by
/// id. `NotFound` when the cursor's customer no longer exists.
///
/// The backends disagree on where NULL sorts (first on SQLite, last on PostgreSQL), and
/// `COALESCE(name, '')` would stop the name index from being used. So the named rows
/// and the unnamed rows are read as two index ranges, the second only when the first
/// runs out within this page.
fn rows_by_name(conn: &mut DbConnection, matching: &Matching, wanted: i64) -> StoreResult<Vec<Customer>> {
    let filter = matching.filter;
    // The name as raw SQL so that a search can write it as an expression, in the
    // conditions as well as the order (see `sort_column`).
    let key = fragment::<Nullable<Text>>(sort_column(matching, CustomerSort::Name));
    let in_order = sort_expression(matching.backend, CustomerSort::Name, true);
    let mut rows = Vec::new();
    // The cursor names only the last customer shown; where the page starts is their
    // name as it is now. A customer gone since leaves no place to start from.
    let after = match filter.cursor() {
        Some(Cursor::Name { id }) => Some((
            *id,
            customers::table
                .filter(customers::workspace_id.eq(matching.workspace_id))
                .filter(customers::id.eq(*id))
                .select(customers::name)
                .first::<Option<String>>(conn)?,
        )),
        _ => None,
    };
    let after_unnamed = match &after {
        Some((id, None)) => Some(*id),
        _ => None,
    };
    if after_unnamed.is_none() {
        let mut named = matching.query().filter(key.clone().is_not_null());
        if let Some((id, Some(name))) = after {
            named = named
                .filter(key.clone().ge(name.clone()))
                .filter(key.clone().gt(name).or(customers::id.gt(id)).assume_not_null());
        }
        let order = format!("{in_order} ASC, customers.id ASC");
        let page_ids = page_ids(
            matching,
            named.order((key.clone().asc(), customers::id.asc())),
            wanted,
        );
        rows = rows_of(conn, matching.workspace_id, page_ids, order)?;
    }
    let missing = wanted - rows.len() as i64;
    // A walk through the names that came up short may have stopped before the named
    // matches ran out: the unnamed ones are not next.
    let named_walk_short = matching.walk.is_some() && after_unnamed.is_none();
    if missing > 0 && !named_walk_short {
        let mut unnamed = matching.query().filter(key.is_null());
        if let Some(id) = after_unnamed {
            unnamed = unnamed.filter(customers::id.gt(id));
        }
        let page_ids = page_ids(matching, unnamed.order(customers::id.asc()), missing);
        rows.extend(rows_of(
            conn,
            matching.workspace_id,
            page_ids,
            "customers.id ASC".to_owned(),
        )?);
    }
    Ok(rows)
}

/// The workspace's customers that match a filter, as a query to order and page.
struct Matching<'f> {
    backend: Backend,
    workspace_id: i64,
    filter: &'f CustomerFilter,
    /// The time "active" and "inactive" are judged at.
    at: NaiveDateTime,
    /// PostgreSQL: the part of the search text to look up in the trigram indexes, when
    /// cheaper than the whole (`trigram_plan`); the whole is then checked per row.
    index_part: Option<String>,
    /// When the search is checked on each customer read in sort order, rather than
    /// looked up in the trigram index: how many customers to read (`walk_budget`).
    /// Its query then holds the other filters only (`search_per_row` adds the search).
    walk: Option<i64>,
}

impl<'f> Matching<'f> {
    fn new(
        conn: &mut DbConnection,
        workspace_id: i64,
        filter: &'f CustomerFilter,
        at: NaiveDateTime,
    ) -> StoreResult<Matching<'f>> {
        let index_part = match filter.q() {
            Some(q) if conn.backend() == Backend::Postgres && uses_search_index(q) => {
                let sample = super::trigram_sample::current(conn)?;
                super::trigram_plan::cheapest_part(&q.to_lowercase(), sample.as_ref())
            }
            _ => None,
        };
        Ok(Matching {
            backend: conn.backend(),
            workspace_id,
            filter,
            at,
            index_part,
            walk: None,
        })
    }

    /// The same filter, its search checked on the first `budget` customers in sort
    /// order.
    fn walking(&self, budget: i64) -> Matching<'f> {
        Matching {
            index_part: None,
            walk: Some(budget),
            ..*self
        }
    }

    /// The matching customers, in no order yet. Lemmy style: a boxed query with one
    /// `.filter` per option that is set.
    fn query<'a>(&self) -> customers::BoxedQuery<'a, Db> {
        let (backend, workspace_id, filter, at) = (self.backend, self.workspace_id, self.filter, self.at);
        let mut query = if backend == Backend::Sqlite
            && filter.q().is_some()
            && self.walk.is_none()
            && !filter.narrows_by_index()
        {
            // `+` keeps SQLite from walking an index on the workspace: a search's rows
            // come from the trigram index by id, or (under three characters) from
            // reading the table straight through, both far cheaper than fetching every
            // row of the workspace through an index.
            customers::table
                .filter(fragment::<diesel::sql_types::BigInt>("+customers.workspace_id").eq(workspace_id))
                .into_boxed()
        } else {
            customers::table
                .filter(customers::workspace_id.eq(workspace_id))
                .into_boxed()
        };
        if let Some(q) = filter.q().filter(|_| self.walk.is_none()) {
            // A case-insensitive substring. Three characters or more are looked up in the
            // trigram index (SQLite FTS5 `customer_search`, PostgreSQL pg_trgm indexes on
            // the same `lower(column) LIKE` written below); shorter ones read every row.
            let pattern = format!("%{}%", escape_like(&q.to_lowercase()));
            query = match backend {
                Backend::Sqlite if uses_search_index(q) => query.filter(
                    fragment::<diesel::sql_types::Bool>(
                        "customers.id IN (SELECT rowid FROM customer_search WHERE customer_search MATCH ",
                    )
                    .bind_text(fts_phrase(q))
                    .sql(")"),
                ),
                // SQLite's LIKE already ignores ASCII case, and lower() on every row would
                // more than double the scan.
                Backend::Sqlite => query.filter(
                    customers::name
                        .like(pattern.clone())
                        .escape('\\')
                        .or(customers::email.like(pattern.clone()).escape('\\'))
                        .or(customers::external_id.like(pattern).escape('\\')),
                ),
                Backend::Postgres => {
                    let indexed = match &self.index_part {
                        Some(part) => format!("%{}%", escape_like(part)),
                        None => pattern,
                    };
                    let query = query.filter(
                        lower(customers::name)
                            .like(indexed.clone())
                            .escape('\\')
                            .or(lower(customers::email).like(indexed.clone()).escape('\\'))
                            .or(lower(customers::external_id).like(indexed).escape('\\')),
                    );
                    match &self.index_part {
                        None => query,
                        // The whole text, per row: `strpos` is no index condition, so the
                        // planner does not read the whole text's trigrams after all.
                        Some(_) => {
                            let text = q.to_lowercase();
                            query.filter(
                                strpos(lower(customers::name), text.clone())
                                    .gt(0)
                                    .or(strpos(lower(customers::email), text.clone()).gt(0))
                                    .or(strpos(lower(customers::external_id), text).gt(0)),
                            )
                        }
                    }
                }
            };
        }
        if let Some(id) = filter.id() {
            query = query.filter(customers::id.eq(id));
        }
        if let Some(country) = filter.country() {
            query = query.filter(customers::country.eq(country.to_owned()));
        }
        if let Some(city) = filter.city() {
            query = query.filter(customers::city.eq(city.to_owned()));
        }
        match filter.status() {
            None => {}
            Some(CustomerStatus::Active) => {
                query = query
                    .filter(customers::archived_at.is_null())
                    .filter(customers::last_seen_at.ge(CustomerStatus::active_since(at)));
            }
            Some(CustomerStatus::Inactive) => {
                query = query
                    .filter(customers::archived_at.is_null())
                    .filter(customers::last_seen_at.lt(CustomerStatus::active_since(at)));
            }
            Some(CustomerStatus::Anonymous) => {
                query = query.filter(customers::archived_at.is_not_null());
            }
        }
        if let Some(start) = filter.seen_from_start() {
            query = query.filter(customers::last_seen_at.ge(start));
        }
        if let Some(end) = filter.seen_to_end() {
            query = query.filter(customers::last_seen_at.lt(end));
        }
        if let Some(attr) = filter.attr() {
            query = query.filter(attribute_matches(backend, attr.key(), attr.value()));
            if filter.attr_skips_identifying() {
                query = query.filter(quotes_no_identifier(backend, attr.value()));
            }
        }
        query
    }
}

/// A top-level string attribute `key` whose value is `value`, both compared with the
/// database's `lower()` — the same rule the 'attr' tallies count by (see
/// `store::tallies`), so the count and the rows always agree.
///
/// The JSON text is first matched with LIKE for the pair as serde_json writes it: a
/// cheap test that every match passes, so the JSON is only parsed for rows that may
/// match.
fn attribute_matches(
    backend: Backend,
    key: &str,
    value: &str,
) -> Box<dyn BoxableExpression<customers::table, Db, SqlType = diesel::sql_types::Bool>> {
    use diesel::sql_types::Bool;
    let pair = format!(
        "{}:{}",
        serde_json::Value::from(key),
        serde_json::Value::from(value)
    );
    let pattern = format!("%{}%", escape_like(&pair));
    let (prefilter, exists) = match backend {
        // SQLite's LIKE ignores ASCII case, as its lower() folds ASCII only.
        Backend::Sqlite => (
            "customers.attributes LIKE ",
            " ESCAPE '\\' AND EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(customers.attributes) \
             THEN customers.attributes ELSE '{}' END) AS j WHERE j.type = 'text' AND lower(j.key) = lower(",
        ),
        Backend::Postgres => (
            "lower(customers.attributes) LIKE lower(",
            ") ESCAPE '\\' AND EXISTS (SELECT 1 FROM jsonb_each(erasure_attributes(customers.attributes)) AS j \
             WHERE jsonb_typeof(j.value) = 'string' AND lower(j.key) = lower(",
        ),
    };
    let value_column = match backend {
        Backend::Sqlite => ") AND lower(j.value) = lower(",
        Backend::Postgres => ") AND lower(j.value #>> '{}') = lower(",
    };
    Box::new(
        fragment::<Bool>(prefilter)
            .bind_text(pattern)
            .sql(exists)
            .bind_text(key)
            .sql(value_column)
            .bind_text(value)
            .sql("))"),
    )
}

/// The customer's own email, name, phone and external id (each of three characters or
/// more) all absent from `value`, in any case: the value an attribute matched is then
/// no copy of an identifier, which a viewer without `customers.view_pii` could
/// otherwise probe for under an innocent key.
fn quotes_no_identifier(
    backend: Backend,
    value: &str,
) -> Box<dyn BoxableExpression<customers::table, Db, SqlType = diesel::sql_types::Bool>> {
    use diesel::sql_types::Bool;
    let (contains, no) = match backend {
        Backend::Sqlite => ("instr(lower(", "0"),
        Backend::Postgres => ("strpos(lower(", "false"),
    };
    let mut condition = fragment::<Bool>("NOT (");
    for (n, column) in [
        "customers.email",
        "customers.name",
        "customers.phone",
        "customers.external_id",
    ]
    .into_iter()
    .enumerate()
    {
        let or = if n == 0 { "" } else { " OR " };
        condition = condition
            .sql(format!("{or}coalesce(length({column}) >= 3 AND {contains}"))
            .bind_text(value)
            .sql(format!("), lower({column})) > 0, {no})"));
    }
    Box::new(condition.sql(")"))
}

/// Whether a search is long enough for the trigram index: a phrase of trigrams needs
/// at least one.
fn uses_search_index(q: &str) -> bool {
    q.chars().count() >= 3
}

/// The search text as one FTS5 phrase: in double quotes, with its own quotes doubled,
/// so that no character of it is read as query syntax.
fn fts_phrase(q: &str) -> String {
    format!("\"{}\"", q.replace('"', "\"\""))
}

/// Makes `%`, `_` and the escape character itself match literally under `ESCAPE '\'`.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// One customer of the workspace; `None` for an unknown id or another workspace's.
pub fn find(conn: &mut DbConnection, workspace_id: i64, id: i64) -> StoreResult<Option<Customer>> {
    Ok(customers::table
        .filter(customers::workspace_id.eq(workspace_id))
        .filter(customers::id.eq(id))
        .select(Customer::as_select())
        .first(conn)
        .optional()?)
}

/// A page of one customer's events, newest first, starting after the event
/// `before_id` (the last one of the previous page); with the id to pass for the page
/// after this one, when there is one.
///
/// "Newest" is by when the event happened (events can arrive late, from imports), with
/// the id as tie-breaker, which follows the `(customer_id, occurred_at)` index.
pub fn events_page(
    conn: &mut DbConnection,
    workspace_id: i64,
    customer_id: i64,
    before_id: Option<i64>,
    limit: i64,
) -> StoreResult<(Vec<TimelineEvent>, Option<i64>)> {
    let mut query = events::table
        .filter(events::workspace_id.eq(workspace_id))
        .filter(events::customer_id.eq(customer_id))
        .into_boxed::<Db>();
    if let Some(before_id) = before_id {
        let anchor: Option<NaiveDateTime> = events::table
            .filter(events::workspace_id.eq(workspace_id))
            .filter(events::customer_id.eq(customer_id))
            .filter(events::id.eq(before_id))
            .select(events::occurred_at)
            .first(conn)
            .optional()?;
        // An id that is not one of this customer's events starts nowhere.
        let Some(anchor) = anchor else {
            return Ok((Vec::new(), None));
        };
        query = query
            .filter(events::occurred_at.le(anchor))
            .filter(events::occurred_at.lt(anchor).or(events::id.lt(before_id)));
    }
    let mut rows: Vec<TimelineEvent> = query
        .order((events::occurred_at.desc(), events::id.desc()))
        .limit(limit + 1)
        .select(TimelineEvent::as_select())
        .load(conn)?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|e| e.id)
    } else {
        None
    };
    Ok((rows, next))
}

/// The ids of matching customers above `after_id`, in id order: how a bulk action
/// walks the whole matching set in bounded chunks.
pub fn matching_ids(
    conn: &mut DbConnection,
    workspace_id: i64,
    filter: &CustomerFilter,
    after_id: i64,
    limit: i64,
) -> StoreResult<Vec<i64>> {
    Ok(Matching::new(conn, workspace_id, filter, now())?
        .query()
        .filter(customers::id.gt(after_id))
        .order(customers::id)
        .limit(limit)
        .select(customers::id)
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_search_becomes_one_quoted_phrase() {
        assert_eq!(super::fts_phrase("ada"), "\"ada\"");
        assert_eq!(super::fts_phrase("a\"b OR c*"), "\"a\"\"b OR c*\"");
        assert!(!super::uses_search_index("ab"));
        assert!(super::uses_search_index("été"));
    }

    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like("100%_a\\b"), "100\\%\\_a\\\\b");
        assert_eq!(escape_like("ada"), "ada");
    }
}
