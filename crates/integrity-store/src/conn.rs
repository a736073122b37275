//! One way to run SQL on either backend.
//!
//! Store code builds a [`Query`] (SQL text with `$n` placeholders, which both
//! drivers accept, and its arguments) and runs it on a [`Conn`], which is a
//! pooled connection or a transaction of either backend: on PostgreSQL
//! through sqlx, on SQLite through [`crate::sqlite`]'s connections. Rows are
//! types declared with [`row!`], which decode from both. Only this module
//! knows that there are two drivers.

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, Postgres, Transaction};

use crate::{sqlite, StoreError};

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

/// A row decoded from SQLite, by [`row!`] for structs and by position for
/// tuples.
pub(crate) trait FromSqlite: Sized {
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
}

macro_rules! tuple_from_sqlite {
    ($($t:ident $i:tt),+) => {
        impl<$($t: rusqlite::types::FromSql),+> FromSqlite for ($($t,)+) {
            fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                Ok(($(row.get::<_, $t>($i)?,)+))
            }
        }
    };
}
tuple_from_sqlite!(A 0);
tuple_from_sqlite!(A 0, B 1);
tuple_from_sqlite!(A 0, B 1, C 2);
tuple_from_sqlite!(A 0, B 1, C 2, D 3);
tuple_from_sqlite!(A 0, B 1, C 2, D 3, E 4);
tuple_from_sqlite!(A 0, B 1, C 2, D 3, E 4, F 5);

/// A struct of a query's columns, decoded by column name on both backends:
/// the struct is written once and both decoders follow from it.
macro_rules! row {
    ($(#[$meta:meta])* $vis:vis struct $name:ident {
        $($(#[$field_meta:meta])* $field_vis:vis $field:ident : $ty:ty),* $(,)?
    }) => {
        $(#[$meta])*
        #[derive(sqlx::FromRow)]
        $vis struct $name {
            $($(#[$field_meta])* $field_vis $field: $ty),*
        }

        impl $crate::conn::FromSqlite for $name {
            fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                Ok($name { $($field: row.get(stringify!($field))?),* })
            }
        }
    };
}
pub(crate) use row;

/// A row type that decodes from both backends.
pub(crate) trait Row: FromSqlite + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: FromSqlite + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

pub(crate) enum Conn {
    Sqlite(sqlite::Lease),
    SqliteTx(sqlite::Tx),
    SqliteWrite(sqlite::Write),
    Postgres(PoolConnection<Postgres>),
    PostgresTx(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$c` bound to the PostgreSQL connection, whichever of
/// the two kinds `$conn` holds, or `$sqlite` with `$s` bound to the SQLite
/// connection.
macro_rules! on_driver {
    ($conn:expr, |$s:ident| $sqlite:expr, |$c:ident| $postgres:expr) => {{
        match $conn {
            Conn::Sqlite(lease) => {
                let $s: &rusqlite::Connection = lease;
                $sqlite
            }
            Conn::SqliteTx(tx) => {
                let $s: &rusqlite::Connection = tx;
                $sqlite
            }
            Conn::SqliteWrite(write) => {
                let $s: &rusqlite::Connection = write;
                $sqlite
            }
            Conn::Postgres(inner) => {
                let $c = &mut **inner;
                $postgres
            }
            Conn::PostgresTx(inner) => {
                let $c = &mut **inner;
                $postgres
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

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value, ValueRef};
        Ok(match self {
            Arg::Int(Some(v)) => ToSqlOutput::Owned(Value::Integer(*v)),
            Arg::Bool(Some(v)) => ToSqlOutput::Owned(Value::Integer(i64::from(*v))),
            Arg::Text(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Arg::Bytes(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
            Arg::Int(None) | Arg::Bool(None) | Arg::Text(None) | Arg::Bytes(None) => {
                ToSqlOutput::Owned(Value::Null)
            }
        })
    }
}

/// The SQL as SQLite should see it: `$n` becomes `?n`. SQLite treats `$n`
/// as a name, numbered in order of first appearance, and finds a name by a
/// linear search; `?n` is the parameter numbered `n`, so the `n`-th
/// argument binds to it directly, whatever the order of appearance.
/// Quoted text and identifiers are left as they are.
fn sqlite_sql(sql: &str) -> std::borrow::Cow<'_, str> {
    if !sql.contains('$') {
        return sql.into();
    }
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<u8> = None;
    let mut copied = 0;
    for (i, &b) in bytes.iter().enumerate() {
        match (quote, b) {
            (None, b'\'' | b'"') => quote = Some(b),
            (Some(q), _) if b == q => quote = None,
            (None, b'$') if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                // Only ASCII is replaced, so both slices end on characters.
                out.push_str(&sql[copied..i]);
                out.push('?');
                copied = i + 1;
            }
            _ => {}
        }
    }
    out.push_str(&sql[copied..]);
    out.into()
}

/// Prepares (or takes from the connection's cache) `sql` and binds `args`:
/// `?n` takes the `n`-th.
fn sqlite_statement<'c>(
    conn: &'c rusqlite::Connection,
    sql: &str,
    args: &[Arg],
) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
    let mut statement = conn.prepare_cached(&sqlite_sql(sql))?;
    let wanted = statement.parameter_count();
    if wanted > args.len() {
        return Err(rusqlite::Error::InvalidParameterCount(args.len(), wanted));
    }
    for (index, arg) in args.iter().enumerate().take(wanted) {
        statement.raw_bind_parameter(index + 1, arg)?;
    }
    Ok(statement)
}

/// Runs a statement to its end, collecting at most `limit` rows.
fn sqlite_rows<T: FromSqlite>(
    conn: &rusqlite::Connection,
    q: &Query,
    limit: usize,
) -> rusqlite::Result<Vec<T>> {
    let mut statement = sqlite_statement(conn, &q.sql, &q.args)?;
    let mut rows = statement.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        if out.len() < limit {
            out.push(T::from_sqlite(row)?);
        } else {
            break;
        }
    }
    Ok(out)
}

/// A statement whose rows, if any, are not wanted; the rows it changed.
fn sqlite_execute(conn: &rusqlite::Connection, q: &Query) -> rusqlite::Result<u64> {
    let mut statement = sqlite_statement(conn, &q.sql, &q.args)?;
    let writes = !statement.readonly();
    let mut rows = statement.raw_query();
    while rows.next()?.is_some() {}
    Ok(if writes { conn.changes() } else { 0 })
}

impl Conn {
    pub async fn execute(&mut self, q: Query) -> Result<u64, StoreError> {
        let done = on_driver!(self, |s| sqlite_execute(s, &q)?, |c| bind_args!(
            sqlx::query(&q.sql),
            q.args
        )
        .execute(c)
        .await?
        .rows_affected());
        Ok(done)
    }

    pub async fn fetch_all<T: Row>(&mut self, q: Query) -> Result<Vec<T>, StoreError> {
        let rows = on_driver!(self, |s| sqlite_rows(s, &q, usize::MAX)?, |c| bind_args!(
            sqlx::query_as::<_, T>(&q.sql),
            q.args
        )
        .fetch_all(c)
        .await?);
        Ok(rows)
    }

    pub async fn fetch_optional<T: Row>(&mut self, q: Query) -> Result<Option<T>, StoreError> {
        let row = on_driver!(self, |s| sqlite_rows(s, &q, 1)?.pop(), |c| bind_args!(
            sqlx::query_as::<_, T>(&q.sql),
            q.args
        )
        .fetch_optional(c)
        .await?);
        Ok(row)
    }

    pub async fn fetch_one<T: Row>(&mut self, q: Query) -> Result<T, StoreError> {
        let row = on_driver!(
            self,
            |s| sqlite_rows(s, &q, 1)?
                .pop()
                .ok_or(rusqlite::Error::QueryReturnedNoRows)?,
            |c| bind_args!(sqlx::query_as::<_, T>(&q.sql), q.args)
                .fetch_one(c)
                .await?
        );
        Ok(row)
    }

    /// Commits a transaction; a plain connection has nothing to commit.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Conn::SqliteTx(tx) => tx.commit()?,
            Conn::SqliteWrite(write) => write.commit().await?,
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
    fn sqlite_gets_numbered_parameters_outside_quotes_only() {
        assert_eq!(
            sqlite_sql("INSERT INTO t VALUES ($1, $2), ($3, $10)"),
            "INSERT INTO t VALUES (?1, ?2), (?3, ?10)"
        );
        assert_eq!(
            sqlite_sql("SELECT 1 WHERE a = $2 AND b = $1 OR c = $2"),
            "SELECT 1 WHERE a = ?2 AND b = ?1 OR c = ?2"
        );
        let quoted = r#"SELECT json_extract(x, '$.a'), '$1', "$2" FROM t WHERE y = $1"#;
        assert_eq!(
            sqlite_sql(quoted),
            r#"SELECT json_extract(x, '$.a'), '$1', "$2" FROM t WHERE y = ?1"#
        );
        assert_eq!(
            sqlite_sql("SELECT 'it''s $1' || $1"),
            "SELECT 'it''s $1' || ?1"
        );
        assert_eq!(sqlite_sql("SELECT 1"), "SELECT 1");
    }
}
