//! One way to run SQL on either backend.
//!
//! Store code builds a [`Query`] (SQL text with `$n` placeholders, which both
//! drivers accept, and its arguments) and runs it on a [`Conn`], which is a
//! pooled connection or a transaction of either backend. Rows are decoded by
//! `sqlx::FromRow` types that work for both. Only this module knows that
//! there are two drivers.

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, Postgres, Sqlite, Transaction};

use crate::StoreError;

/// A value bound to a placeholder.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(Option<bool>),
    Bytes(Option<Vec<u8>>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(Some(v))
    }
}
impl From<Vec<u8>> for Arg {
    fn from(v: Vec<u8>) -> Self {
        Arg::Bytes(Some(v))
    }
}
impl From<&[u8]> for Arg {
    fn from(v: &[u8]) -> Self {
        Arg::Bytes(Some(v.to_vec()))
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::Text(v.map(str::to_string))
    }
}

/// SQL text and its arguments.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    sql: String,
    args: Vec<Arg>,
}

impl Query {
    pub fn new(sql: impl Into<String>) -> Self {
        Query {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    pub fn bind(mut self, arg: impl Into<Arg>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds an argument and returns its placeholder, for SQL built piece by
    /// piece (filters, `IN` lists).
    pub fn arg(&mut self, arg: impl Into<Arg>) -> String {
        self.args.push(arg.into());
        format!("${}", self.args.len())
    }

    pub fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }
}

/// `query!("SELECT … WHERE a = $1", a)`.
macro_rules! query {
    ($sql:expr $(, $arg:expr)* $(,)?) => {
        $crate::conn::Query::new($sql)$(.bind($arg))*
    };
}
pub(crate) use query;

/// A row type that decodes from both backends.
pub(crate) trait Row:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

pub(crate) enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    SqliteTx(Transaction<'static, Sqlite>),
    Postgres(PoolConnection<Postgres>),
    PostgresTx(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$c` bound to the underlying driver connection; the
/// body is written once and compiled for each driver.
macro_rules! on_driver {
    ($conn:expr, $query:expr, |$c:ident, $sql:ident, $args:ident| $body:expr) => {{
        let Query { sql, args: $args } = $query;
        match $conn {
            Conn::Sqlite(inner) => {
                let $c = &mut **inner;
                let $sql = &*sqlite_sql(&sql, $args.len());
                $body
            }
            Conn::SqliteTx(inner) => {
                let $c = &mut **inner;
                let $sql = &*sqlite_sql(&sql, $args.len());
                $body
            }
            Conn::Postgres(inner) => {
                let $c = &mut **inner;
                let $sql = sql.as_str();
                $body
            }
            Conn::PostgresTx(inner) => {
                let $c = &mut **inner;
                let $sql = sql.as_str();
                $body
            }
        }
    }};
}

macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut q = $query;
        for arg in $args {
            q = match arg {
                Arg::Int(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
                Arg::Bytes(v) => q.bind(v),
            };
        }
        q
    }};
}

/// The SQL as SQLite should see it. SQLite finds a numbered
/// parameter's name by a linear search, and the driver asks for every
/// parameter's name, so binding costs the square of the parameter count:
/// most of the time of a multi-row insert. Anonymous `?` parameters skip
/// the search, and mean the same when `$1 … $n` each appear once, in
/// order, as they do in SQL built by `arg`.
fn sqlite_sql(sql: &str, arg_count: usize) -> std::borrow::Cow<'_, str> {
    if arg_count < 8 {
        return sql.into();
    }
    let mut out = String::with_capacity(sql.len());
    let mut expected = 1;
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        let digits = rest[at + 1..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        if rest[at + 1..at + 1 + digits].parse() != Ok(expected) {
            return sql.into();
        }
        out.push_str(&rest[..at]);
        out.push('?');
        rest = &rest[at + 1 + digits..];
        expected += 1;
    }
    if expected != arg_count + 1 {
        return sql.into();
    }
    out.push_str(rest);
    out.into()
}

impl Conn {
    pub async fn execute(&mut self, q: Query) -> Result<u64, StoreError> {
        let done = on_driver!(self, q, |c, sql, args| bind_args!(sqlx::query(sql), args)
            .execute(c)
            .await?
            .rows_affected());
        Ok(done)
    }

    pub async fn fetch_all<T: Row>(&mut self, q: Query) -> Result<Vec<T>, StoreError> {
        let rows = on_driver!(self, q, |c, sql, args| bind_args!(
            sqlx::query_as::<_, T>(sql),
            args
        )
        .fetch_all(c)
        .await?);
        Ok(rows)
    }

    pub async fn fetch_optional<T: Row>(&mut self, q: Query) -> Result<Option<T>, StoreError> {
        let row = on_driver!(self, q, |c, sql, args| bind_args!(
            sqlx::query_as::<_, T>(sql),
            args
        )
        .fetch_optional(c)
        .await?);
        Ok(row)
    }

    pub async fn fetch_one<T: Row>(&mut self, q: Query) -> Result<T, StoreError> {
        let row = on_driver!(self, q, |c, sql, args| bind_args!(
            sqlx::query_as::<_, T>(sql),
            args
        )
        .fetch_one(c)
        .await?);
        Ok(row)
    }

    /// Commits a transaction; a plain connection has nothing to commit.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Conn::SqliteTx(tx) => tx.commit().await?,
            Conn::PostgresTx(tx) => tx.commit().await?,
            Conn::Sqlite(_) | Conn::Postgres(_) => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::sqlite_sql;

    #[test]
    fn sqlite_gets_anonymous_parameters_only_when_they_mean_the_same() {
        let in_order = "INSERT INTO t VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)";
        assert_eq!(
            sqlite_sql(in_order, 8),
            "INSERT INTO t VALUES (?, ?, ?, ?), (?, ?, ?, ?)"
        );
        let repeated = "SELECT 1 WHERE a = $1 AND b = $2 OR c = $1 AND $3 $4 $5 $6 $7";
        assert_eq!(sqlite_sql(repeated, 8), repeated);
        let out_of_order = "VALUES ($2, $1, $3, $4, $5, $6, $7, $8)";
        assert_eq!(sqlite_sql(out_of_order, 8), out_of_order);
        let fewer_than_bound = "VALUES ($1, $2, $3, $4, $5, $6, $7)";
        assert_eq!(sqlite_sql(fewer_than_bound, 8), fewer_than_bound);
        let short = "SELECT $1";
        assert_eq!(sqlite_sql(short, 1), short);
    }
}
