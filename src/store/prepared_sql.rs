//! Raw SQL that diesel may keep as a prepared statement.
//!
//! Diesel's own `sql()` and `sql_query()` mark every query that holds them as unsafe
//! to cache, so each run is parsed and planned again: on PostgreSQL a round of parsing
//! and custom planning per statement, on SQLite a `sqlite3_prepare` per statement. The
//! list's page and count queries hold such fragments (sort expressions, the search
//! phrase, the attribute test, the tally sums) and ran thousands of times a second
//! uncached.
//!
//! Caching is safe when the SQL text alone, with its placeholders, says what the
//! statement does: diesel then keys its cache on that text and the bind types. Every
//! fragment here is made of SQL written in this crate, never of input; input only
//! ever enters as a bound value.

use std::borrow::Cow;
use std::marker::PhantomData;

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::expression::{
    is_aggregate, AppearsOnTable, Expression, SelectableExpression, TypedExpressionType, ValidGrouping,
};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType, Text, Timestamp, Untyped};
use diesel::{QueryResult, RunQueryDsl};

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    BigInt(i64),
    Timestamp(NaiveDateTime),
}

/// One piece of a fragment: SQL text, or a value bound to a placeholder.
#[derive(Debug, Clone)]
enum Part {
    Sql(Cow<'static, str>),
    Value(Value),
}

/// SQL text and bound values, of SQL type `ST`, usable as an expression in diesel's
/// query builder.
#[derive(Debug, Clone)]
pub struct Fragment<ST> {
    parts: Vec<Part>,
    sql_type: PhantomData<ST>,
}

/// A fragment that starts with `sql`.
pub fn fragment<ST>(sql: impl Into<Cow<'static, str>>) -> Fragment<ST> {
    Fragment {
        parts: vec![Part::Sql(sql.into())],
        sql_type: PhantomData,
    }
}

impl<ST> Fragment<ST> {
    /// More SQL text. It must come from this crate, never from input.
    pub fn sql(mut self, sql: impl Into<Cow<'static, str>>) -> Self {
        self.parts.push(Part::Sql(sql.into()));
        self
    }

    pub fn bind(mut self, value: Value) -> Self {
        self.parts.push(Part::Value(value));
        self
    }

    pub fn bind_text(self, value: impl Into<String>) -> Self {
        self.bind(Value::Text(value.into()))
    }
}

impl<ST, DB> QueryFragment<DB> for Fragment<ST>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<BigInt> + HasSqlType<Timestamp>,
    String: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        for part in &self.parts {
            match part {
                Part::Sql(sql) => out.push_sql(sql),
                // The query builder writes each backend's own placeholder (`?`, `$1` …).
                Part::Value(Value::Text(value)) => out.push_bind_param::<Text, _>(value)?,
                Part::Value(Value::BigInt(value)) => out.push_bind_param::<BigInt, _>(value)?,
                Part::Value(Value::Timestamp(value)) => out.push_bind_param::<Timestamp, _>(value)?,
            }
        }
        Ok(())
    }
}

impl<ST> QueryId for Fragment<ST> {
    type QueryId = ();
    // No static id: diesel keys the cache on the SQL text and the bind types instead.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST: TypedExpressionType> Expression for Fragment<ST> {
    type SqlType = ST;
}

impl<QS, ST: TypedExpressionType> AppearsOnTable<QS> for Fragment<ST> {}

impl<QS, ST: TypedExpressionType> SelectableExpression<QS> for Fragment<ST> {}

impl<ST, GB> ValidGrouping<GB> for Fragment<ST> {
    type IsAggregate = is_aggregate::Never;
}

/// A whole statement of raw SQL whose rows are read by name (`QueryableByName`), like
/// diesel's `sql_query`, but kept prepared.
#[derive(Debug, Clone)]
pub struct Statement(Fragment<Untyped>);

/// A statement whose values stand at the `?` marks of `sql`, in order. `sql` must
/// hold no `?` of its own (in a string literal, say): each one takes a value.
pub fn statement(sql: &str, values: Vec<Value>) -> Statement {
    debug_assert_eq!(
        sql.matches('?').count(),
        values.len(),
        "marks and values of {sql}"
    );
    let mut pieces = sql.split('?');
    let mut fragment = fragment(pieces.next().unwrap_or_default().to_owned());
    let mut values = values.into_iter();
    for piece in pieces {
        fragment = match values.next() {
            Some(value) => fragment.bind(value),
            // Left as written, the database refuses the statement: an error, not a
            // guess at what was meant.
            None => fragment.sql("?"),
        };
        fragment = fragment.sql(piece.to_owned());
    }
    Statement(fragment)
}

impl<DB> QueryFragment<DB> for Statement
where
    DB: Backend,
    Fragment<Untyped>: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(out)
    }
}

impl QueryId for Statement {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Statement {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for Statement {}

/// `column IN (query)` for a boxed query over the multi-backend connection, which
/// diesel's own `eq_any` only takes as a subquery when it is written for one backend.
#[derive(Debug, Clone)]
pub struct InSubquery<Q> {
    column: &'static str,
    query: Q,
}

/// `column IN (query)`; `column` is SQL written in this crate.
pub fn in_subquery<Q>(column: &'static str, query: Q) -> InSubquery<Q> {
    InSubquery { column, query }
}

impl<Q, DB> QueryFragment<DB> for InSubquery<Q>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.column);
        out.push_sql(" IN (");
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(")");
        Ok(())
    }
}

impl<Q> QueryId for InSubquery<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Expression for InSubquery<Q> {
    type SqlType = diesel::sql_types::Bool;
}

impl<QS, Q> AppearsOnTable<QS> for InSubquery<Q> {}

impl<QS, Q> SelectableExpression<QS> for InSubquery<Q> {}

impl<Q, GB> ValidGrouping<GB> for InSubquery<Q> {
    type IsAggregate = is_aggregate::Never;
}

/// `query` inside SQL of this crate (`before` and `after`, with bound values): a
/// diesel query as a subquery in FROM, which diesel's own builder does not write.
#[derive(Debug, Clone)]
pub struct Around<Q> {
    before: Fragment<Untyped>,
    query: Q,
    after: Fragment<Untyped>,
}

pub fn around<Q>(before: Fragment<Untyped>, query: Q, after: Fragment<Untyped>) -> Around<Q> {
    Around { before, query, after }
}

impl<Q, DB> QueryFragment<DB> for Around<Q>
where
    DB: Backend,
    Q: QueryFragment<DB>,
    Fragment<Untyped>: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.before.walk_ast(out.reborrow())?;
        self.query.walk_ast(out.reborrow())?;
        self.after.walk_ast(out.reborrow())?;
        Ok(())
    }
}

impl<Q> QueryId for Around<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

#[cfg(test)]
mod tests {
    use diesel::pg::Pg;
    use diesel::sqlite::Sqlite;

    use super::*;

    #[test]
    fn each_mark_takes_its_value_in_the_backends_own_placeholder() {
        let query = statement(
            "SELECT n FROM t WHERE a = ? AND b = ?",
            vec![Value::BigInt(7), Value::Text("x".into())],
        );
        let pg = diesel::debug_query::<Pg, _>(&query).to_string();
        assert!(pg.starts_with("SELECT n FROM t WHERE a = $1 AND b = $2"), "{pg}");
        assert!(pg.contains("7") && pg.contains("\"x\""), "{pg}");
        let sqlite = diesel::debug_query::<Sqlite, _>(&query).to_string();
        assert!(
            sqlite.starts_with("SELECT n FROM t WHERE a = ? AND b = ?"),
            "{sqlite}"
        );
    }

    #[test]
    fn statements_and_fragments_may_be_kept_prepared() {
        let query = statement("SELECT ? AS n", vec![Value::BigInt(1)]);
        assert!(query.is_safe_to_cache_prepared(&Pg).unwrap());
        assert!(query.is_safe_to_cache_prepared(&Sqlite).unwrap());
        let condition = fragment::<diesel::sql_types::Bool>("a LIKE ").bind_text("%b%");
        assert!(condition.is_safe_to_cache_prepared(&Pg).unwrap());
        let within = in_subquery("t.id", fragment::<Untyped>("SELECT 1"));
        assert!(within.is_safe_to_cache_prepared(&Sqlite).unwrap());
        // What the fragments replace: diesel's own raw SQL is never kept.
        let raw = diesel::dsl::sql::<diesel::sql_types::Bool>("a = 1");
        assert!(!raw.is_safe_to_cache_prepared(&Pg).unwrap());
    }
}
