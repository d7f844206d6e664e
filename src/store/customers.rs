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
use crate::domain::{Cursor, CustomerFilter, CustomerSort, CustomerStatus, PageStart, SortDirection};

type Db = <DbConnection as Connection>::Backend;

#[diesel::declare_sql_function]
extern "SQL" {
    /// Case folding: for PostgreSQL, whose LIKE is case-sensitive, and for comparing
    /// countries and cities in any case on both backends.
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

/// How many customers of the workspace match, when a counter or the tallies answer
/// it whole: no filter at all, or one the tallies count on its own.
fn counted_without_rows(
    conn: &mut DbConnection,
    workspace_id: i64,
    filter: &CustomerFilter,
    at: NaiveDateTime,
) -> StoreResult<Option<i64>> {
    if !filter.narrows() {
        return count_all(conn, workspace_id).map(Some);
    }
    super::tallies::count(conn, workspace_id, filter, at)
}

/// How many customers of the workspace match, exactly (the cursor plays no part).
pub fn count(conn: &mut DbConnection, workspace_id: i64, filter: &CustomerFilter) -> StoreResult<i64> {
    let at = now();
    if let Some(counted) = counted_without_rows(conn, workspace_id, filter, at)? {
        return Ok(counted);
    }
    Ok(Matching::new(conn, workspace_id, filter, at)?
        .query()
        .count()
        .get_result(conn)?)
}

/// How many customers a count taken with the page may read before it leaves the
/// exact number for later (`Counting::WhenCheap`).
///
/// A count the tallies cannot answer whole (two filters together, a search) reads
/// the matching rows: at a million customers `country=DE&status=active` reads 3,800
/// index entries and `city=Berlin&attr=plan=pro` checks the attributes of Berlin's
/// 10,000 customers, where either filter alone is counted from a few tally rows and
/// the page reads some 200. Beyond this many the page says it is still counting, and
/// its script asks for the number apart.
pub const CHEAP_COUNT_LIMIT: i64 = 2_000;

/// How many customers of the workspace match, when counting them reads no more than
/// about [`CHEAP_COUNT_LIMIT`] customers; `None` otherwise.
///
/// Filters the tallies answer whole are counted from them. A combination of tallied
/// filters is counted when its most selective part alone matches at most the limit
/// (its tally bounds both the count and the rows the count reads); a search, which
/// has no tally, is counted up to the limit and given up beyond.
pub fn count_if_cheap(
    conn: &mut DbConnection,
    workspace_id: i64,
    filter: &CustomerFilter,
) -> StoreResult<Option<i64>> {
    let at = now();
    if let Some(counted) = counted_without_rows(conn, workspace_id, filter, at)? {
        return Ok(Some(counted));
    }
    let matching = Matching::new(conn, workspace_id, filter, at)?;
    if filter.q().is_none() && filter.id().is_none() {
        if let Some(bound) = super::tallies::upper_bound(conn, workspace_id, filter, at)? {
            if bound > CHEAP_COUNT_LIMIT {
                return Ok(None);
            }
            return Ok(Some(matching.query().count().get_result(conn)?));
        }
    }
    let read: Vec<i64> = matching
        .query()
        .select(customers::id)
        .limit(CHEAP_COUNT_LIMIT + 1)
        .load(conn)?;
    let read = read.len() as i64;
    Ok((read <= CHEAP_COUNT_LIMIT).then_some(read))
}

/// One page of the list, and where the pages beside it start.
#[derive(Debug)]
pub struct Page {
    /// In the list's order.
    pub rows: Vec<Customer>,
    /// Where the page after this one starts (its last row), when there is one.
    pub next: Option<Cursor>,
    /// Where the page before this one ends (its first row), when there is one.
    pub previous: Option<Cursor>,
    /// How many customers match, exactly (the page plays no part); `None` when it was
    /// left to be counted apart (`Counting::WhenCheap`, [`CHEAP_COUNT_LIMIT`]).
    pub matching: Option<i64>,
}

/// One page of matching customers, where the filter says it starts, with the cursors
/// of the pages before and after it and how many match.
///
/// Keyset paging, never OFFSET: each page starts strictly after the last row of the
/// one before in (sort key, id) order, so a deep page costs what the first one does and
/// rows added or removed meanwhile never make another row repeat or go missing. The
/// page before one is read the same way in the opposite direction, from its first row
/// back, and turned round: going back gives exactly the rows that going forward gave.
///
/// Each read is one statement: the ids of the page, found by a query that names only
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
/// `None` for the count when `counting` is `Counting::WhenCheap` and counting would
/// cost more than the page: a search that matches so many customers that its page came
/// from walking the sort index (`walk_budget`), whose count would read every match
/// through the trigram index, or any other filter the tallies cannot answer that
/// matches more than [`CHEAP_COUNT_LIMIT`]. The caller counts them apart ([`count`]).
pub fn list_and_count(
    conn: &mut DbConnection,
    workspace_id: i64,
    filter: &CustomerFilter,
    counting: Counting,
) -> StoreResult<Page> {
    let matching = Matching::new(conn, workspace_id, filter, now())?;
    let limit = filter.per_page().get();
    // One row more than asked tells whether another page lies beyond.
    let wanted = limit + 1;
    let budget = walk_budget(conn, Some(workspace_id), filter, wanted)?;
    let mut walked = false;
    // A full read from the walk is the read; a short one may only mean the walk stopped
    // before the matches ran out, so the trigram index answers instead.
    let mut read_rows = |conn: &mut DbConnection, from: Option<&Position>, way: Way| {
        if let Some(budget) = budget {
            let rows = read(conn, &matching.walking(budget), from, way, wanted)?;
            if rows.len() as i64 == wanted {
                walked = true;
                return Ok(rows);
            }
        }
        read(conn, &matching, from, way, wanted)
    };
    let (rows, previous, next) = match filter.start() {
        None => {
            let mut rows = read_rows(conn, None, Way::Forward)?;
            let more = rows.len() as i64 > limit;
            rows.truncate(limit as usize);
            (rows, false, more)
        }
        // A page reached from a neighbour has that neighbour still: the rows it came
        // from are there unless erased meanwhile, and a link to rows erased since finds
        // the nearest page there is (or, back at the start, the first page).
        Some(PageStart::After(cursor)) => {
            let from = Position::of_cursor(conn, workspace_id, cursor)?;
            let mut rows = read_rows(conn, Some(&from), Way::Forward)?;
            let more = rows.len() as i64 > limit;
            rows.truncate(limit as usize);
            (rows, true, more)
        }
        Some(PageStart::Before(cursor)) => {
            let from = Position::of_cursor(conn, workspace_id, cursor)?;
            let mut rows = read_rows(conn, Some(&from), Way::Backward)?;
            if rows.is_empty() {
                // Nothing before it any more: the list starts here, so show its first
                // page rather than an empty one.
                let mut rows = read_rows(conn, None, Way::Forward)?;
                let more = rows.len() as i64 > limit;
                rows.truncate(limit as usize);
                (rows, false, more)
            } else {
                let earlier = rows.len() as i64 > limit;
                rows.truncate(limit as usize);
                rows.reverse();
                (rows, earlier, true)
            }
        }
    };
    let sort = filter.sort();
    let next = next
        .then(|| rows.last().map(|row| cursor_of(sort, row)))
        .flatten();
    let previous = previous
        .then(|| rows.first().map(|row| cursor_of(sort, row)))
        .flatten();
    let matching_count = match (filter.start(), &next) {
        (None, None) => Some(rows.len() as i64),
        _ if counting == Counting::Exact => Some(count(conn, workspace_id, filter)?),
        // Counting them would read every match through the trigram index.
        _ if walked => None,
        _ => count_if_cheap(conn, workspace_id, filter)?,
    };
    Ok(Page {
        rows,
        next,
        previous,
        matching: matching_count,
    })
}

/// Whether the list counts its matches with the page whatever it costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    Exact,
    WhenCheap,
}

/// Which way a read walks the list from where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    /// In the list's order: the rows after the start.
    Forward,
    /// Against it: the rows before the start, nearest first.
    Backward,
}

/// A place in the list: a row's sort key and id.
#[derive(Debug, Clone)]
enum Position {
    Time {
        at: NaiveDateTime,
        id: i64,
    },
    /// The name as it is now; customers without a name sort after all named ones.
    Name {
        name: Option<String>,
        id: i64,
    },
}

impl Position {
    /// Where a cursor points. A name cursor names only its customer, whose name is read
    /// here: `NotFound` when that customer no longer exists, as there is then no place
    /// to start from.
    fn of_cursor(conn: &mut DbConnection, workspace_id: i64, cursor: &Cursor) -> StoreResult<Position> {
        Ok(match cursor {
            Cursor::LastSeen { at, id } | Cursor::Created { at, id } => Position::Time { at: *at, id: *id },
            Cursor::Name { id } => Position::Name {
                name: customers::table
                    .filter(customers::workspace_id.eq(workspace_id))
                    .filter(customers::id.eq(*id))
                    .select(customers::name)
                    .first::<Option<String>>(conn)?,
                id: *id,
            },
        })
    }
}

/// Up to `wanted` matching rows from `from` (exclusive; the list's start when `None`)
/// walking `way`: in the list's order forward, nearest first backward.
fn read(
    conn: &mut DbConnection,
    matching: &Matching,
    from: Option<&Position>,
    way: Way,
    wanted: i64,
) -> StoreResult<Vec<Customer>> {
    let filter = matching.filter;
    let direction = match way {
        Way::Forward => filter.direction(),
        Way::Backward => filter.direction().reversed(),
    };
    match filter.sort() {
        CustomerSort::LastSeen | CustomerSort::Created => {
            rows_by_time(conn, matching, from, direction, wanted)
        }
        CustomerSort::Name => rows_by_name(conn, matching, from, way, direction, wanted),
    }
}

/// The most customers a page's worth of a search's matches may take to turn up in sort
/// order for the search to walk at all (see `walk_budget`).
const MAX_WALK_ROWS: f64 = 8_000.0;
/// The most customers a walk reads when the search is estimated to match that many
/// (see `walk_budget`).
const MAX_WALK_EXTENT: f64 = 100_000.0;
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
///
/// The walk may go on past the rows a page needs, up to as many rows as the search is
/// estimated to match in the workspace (at most `MAX_WALK_EXTENT`): the trigram lookup
/// it would hand over to reads and sorts that many matches, so walking them costs no
/// more, while a walk that stops short pays for both. Matches are not always spread
/// evenly: after 22,000 customers were added through the Track API, none of them an
/// "Ada", `q=ada` walked its 3,000 rows among the newest, came up short and took the
/// trigram lookup at a million customers (1–1.8 s under 16 connections).
fn walk_budget(
    conn: &mut DbConnection,
    workspace_id: Option<i64>,
    filter: &CustomerFilter,
    wanted: i64,
) -> StoreResult<Option<i64>> {
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
    if !(share > 0.0 && rows <= MAX_WALK_ROWS) {
        return Ok(None);
    }
    let matches = match workspace_id {
        Some(workspace_id) => share * count_all(conn, workspace_id)? as f64,
        None => 0.0,
    };
    Ok(Some(rows.max(matches.min(MAX_WALK_EXTENT)).ceil() as i64))
}

/// Whether a page of `limit` customers for `filter` first reads the sort index and
/// checks the search on each customer (`walk_budget`), rather than looking it up in the
/// trigram index; the same rows either way.
pub fn search_walks(conn: &mut DbConnection, filter: &CustomerFilter, limit: i64) -> StoreResult<bool> {
    Ok(walk_budget(conn, None, filter, limit + 1)?.is_some())
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

/// Where the page next to `row` starts.
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
/// most a page of them, found by id, and no planner should walk a sort index for them.
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

/// `ASC` or `DESC`, for the order of the rows around a page's ids.
fn sql_direction(direction: SortDirection) -> &'static str {
    match direction {
        SortDirection::Ascending => "ASC",
        SortDirection::Descending => "DESC",
    }
}

/// Matching rows by last seen or by creation, walking `direction` from `from`.
fn rows_by_time(
    conn: &mut DbConnection,
    matching: &Matching,
    from: Option<&Position>,
    direction: SortDirection,
    wanted: i64,
) -> StoreResult<Vec<Customer>> {
    let filter = matching.filter;
    let sort = filter.sort();
    // Raw SQL so that a search writes it as an expression, in the conditions as well
    // as the order (see `sort_column`).
    let column = sort_column(matching, sort);
    let key = || fragment::<Timestamp>(column);
    let mut query = matching.query();
    if let Some(Position::Time { at, id }) = from {
        let (at, id) = (*at, *id);
        // The inclusive bound lets the index range start at the cursor; the second
        // condition then drops the rows of equal time already shown.
        query = match direction {
            SortDirection::Descending => query
                .filter(key().le(at))
                .filter(key().lt(at).or(customers::id.lt(id))),
            SortDirection::Ascending => query
                .filter(key().ge(at))
                .filter(key().gt(at).or(customers::id.gt(id))),
        };
    }
    let page_ids = page_ids(
        matching,
        match direction {
            SortDirection::Descending => query.order((key().desc(), customers::id.desc())),
            SortDirection::Ascending => query.order((key().asc(), customers::id.asc())),
        },
        wanted,
    );
    let in_order = sort_expression(matching.backend, sort, true);
    let way = sql_direction(direction);
    rows_of(
        conn,
        matching.workspace_id,
        page_ids,
        format!("{in_order} {way}, customers.id {way}"),
    )
}

/// Matching rows by name, walking `direction` from `from`. In the list's order names
/// come first (A to Z, or Z to A), each name's customers by id in the same direction,
/// and then the customers without a name by id, in both directions: a nameless
/// customer is no more "Z" than "A".
///
/// The backends disagree on where NULL sorts (first on SQLite, last on PostgreSQL), and
/// `COALESCE(name, '')` would stop the name index from being used. So the named rows
/// and the unnamed rows are read as two index ranges, the second only when the first
/// runs out within this read; walking backward, the unnamed come first.
fn rows_by_name(
    conn: &mut DbConnection,
    matching: &Matching,
    from: Option<&Position>,
    way: Way,
    direction: SortDirection,
    wanted: i64,
) -> StoreResult<Vec<Customer>> {
    // The name as raw SQL so that a search can write it as an expression, in the
    // conditions as well as the order (see `sort_column`).
    let key = fragment::<Nullable<Text>>(sort_column(matching, CustomerSort::Name));
    let in_order = sort_expression(matching.backend, CustomerSort::Name, true);
    let sql_way = sql_direction(direction);
    let (from_named, from_id) = match from {
        Some(Position::Name { name, id }) => (Some(name.clone()), Some(*id)),
        _ => (None, None),
    };
    let segments = match way {
        Way::Forward => [true, false],
        Way::Backward => [false, true],
    };
    // Until the start's own segment is reached, whole segments lie before it.
    let mut started = from_id.is_none();
    let mut rows = Vec::new();
    for named in segments {
        let missing = wanted - rows.len() as i64;
        if missing <= 0 {
            break;
        }
        let starts_here = !started && from_named.as_ref().is_some_and(|n| n.is_some() == named);
        if !started && !starts_here {
            continue;
        }
        started = true;
        let start_id = from_id.filter(|_| starts_here);
        if named {
            let mut query = matching.query().filter(key.clone().is_not_null());
            if let (Some(id), Some(Some(name))) = (start_id, &from_named) {
                let name = name.clone();
                query = match direction {
                    SortDirection::Ascending => query
                        .filter(key.clone().ge(name.clone()))
                        .filter(key.clone().gt(name).or(customers::id.gt(id)).assume_not_null()),
                    SortDirection::Descending => query
                        .filter(key.clone().le(name.clone()))
                        .filter(key.clone().lt(name).or(customers::id.lt(id)).assume_not_null()),
                };
            }
            let page_ids = page_ids(
                matching,
                match direction {
                    SortDirection::Ascending => query.order((key.clone().asc(), customers::id.asc())),
                    SortDirection::Descending => query.order((key.clone().desc(), customers::id.desc())),
                },
                missing,
            );
            rows.extend(rows_of(
                conn,
                matching.workspace_id,
                page_ids,
                format!("{in_order} {sql_way}, customers.id {sql_way}"),
            )?);
        } else {
            let mut query = matching.query().filter(key.clone().is_null());
            if let Some(id) = start_id {
                query = match direction {
                    SortDirection::Ascending => query.filter(customers::id.gt(id)),
                    SortDirection::Descending => query.filter(customers::id.lt(id)),
                };
            }
            let page_ids = page_ids(
                matching,
                match direction {
                    SortDirection::Ascending => query.order(customers::id.asc()),
                    SortDirection::Descending => query.order(customers::id.desc()),
                },
                missing,
            );
            rows.extend(rows_of(
                conn,
                matching.workspace_id,
                page_ids,
                format!("customers.id {sql_way}"),
            )?);
        }
        // A walk that came up short in this segment may have stopped before its matches
        // ran out: the next segment's rows are not next, and the short read sends the
        // page to the trigram index instead.
        if matching.walk.is_some() && (rows.len() as i64) < wanted {
            break;
        }
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
        // In any case, both sides lower-cased by the database, as the location indexes
        // and the tallies hold them (migration `2026-12-07-000015_list_steering`).
        if let Some(country) = filter.country() {
            query = query.filter(lower(customers::country).eq(lower(country.to_owned())));
        }
        if let Some(city) = filter.city() {
            query = query.filter(lower(customers::city).eq(lower(city.to_owned())));
        }
        // PostgreSQL, a search looked up in the trigram indexes: the last-seen bounds as
        // an expression no index offers. As a prepared statement's generic plan, which
        // knows neither the pattern nor the dates, the planner read the last-seen
        // index for the range and ANDed it with the trigram lookup: `q=user12345` with
        // a 30-day range read 75,000 index entries to keep one match (18 ms against
        // under 1 ms, 85 ms p50 under 16 connections).
        let seen_as_expression =
            backend == Backend::Postgres && self.walk.is_none() && filter.q().is_some_and(uses_search_index);
        let seen = || {
            fragment::<Timestamp>(sort_expression(
                backend,
                CustomerSort::LastSeen,
                seen_as_expression,
            ))
        };
        match filter.status() {
            None => {}
            Some(CustomerStatus::Active) => {
                query = query
                    .filter(customers::archived_at.is_null())
                    .filter(seen().ge(CustomerStatus::active_since(at)));
            }
            Some(CustomerStatus::Inactive) => {
                query = query
                    .filter(customers::archived_at.is_null())
                    .filter(seen().lt(CustomerStatus::active_since(at)));
            }
            Some(CustomerStatus::Anonymous) => {
                query = query.filter(customers::archived_at.is_not_null());
            }
        }
        if filter.unarchived() {
            query = query.filter(customers::archived_at.is_null());
        }
        if let Some(start) = filter.seen_from_start() {
            query = query.filter(seen().ge(start));
        }
        if let Some(end) = filter.seen_to_end() {
            query = query.filter(seen().lt(end));
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
        //
        // `likely(…)` tells SQLite's planner not to count on this check to narrow the
        // rows: with the city as a bound value, it took the check for so selective that
        // walking the last-seen index beat the city's own index, and
        // `city=Berlin&attr=plan=pro` read 20,000 customers for a page (50 ms, 0.7 s
        // under 16 connections) where the city's index finds it after 200 (0.4 ms).
        // Alone, the attribute still walks the last-seen index: no index offers it.
        Backend::Sqlite => (
            "likely(customers.attributes LIKE ",
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
            .sql(match backend {
                Backend::Sqlite => ")))",
                Backend::Postgres => "))",
            }),
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
/// walks the whole matching set in bounded chunks. `at` is the moment a status such
/// as "active" is judged at, the same for every chunk of one walk.
pub fn matching_ids(
    conn: &mut DbConnection,
    workspace_id: i64,
    filter: &CustomerFilter,
    at: NaiveDateTime,
    after_id: i64,
    limit: i64,
) -> StoreResult<Vec<i64>> {
    Ok(Matching::new(conn, workspace_id, filter, at)?
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
