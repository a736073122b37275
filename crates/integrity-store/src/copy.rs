//! `integrity copy`: everything an Integrity database holds, moved into a
//! new or empty one, from SQLite to PostgreSQL or back.
//!
//! Tables are copied parents first, each in pages of rows read in key order,
//! so memory stays flat however large the database. The source is read in
//! one snapshot, the destination written in one transaction, and ids are
//! kept as they are (API clients and call centers refer to them). Before
//! the destination commits, every table is read back from it with the query
//! that read the source, and the row counts and checksums are compared: a
//! difference, like any error, rolls the whole copy back and leaves the
//! destination as empty as it was.

use std::fmt;
use std::path::PathBuf;

use sha2::{Digest, Sha256};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, Row, TypeInfo, ValueRef};

use crate::backup::sqlite_file;
use crate::conn::{query, Arg, Conn, FromSqlite, Query};
use crate::{Backend, DatabaseUrl, Db, Store, StoreError};

/// How a column is declared, and so how its values are bound: SQLite keeps
/// booleans as 0 and 1, PostgreSQL as `BOOLEAN`; integers are 64-bit on
/// both (`INTEGER`, `BIGINT`), documents `BLOB` and `BYTEA`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Text,
    Bool,
    Bytes,
}

pub(crate) struct Table {
    pub name: &'static str,
    /// The primary key, in order. Its leading integer columns page the
    /// table; any others (text) order the rows within a page.
    pub key: &'static [&'static str],
    pub columns: &'static [(&'static str, Kind)],
}

use Kind::{Bool, Bytes, Int, Text};

/// Every table of the schema, parents before children (the order foreign
/// keys need), with every column. sqlx's `_sqlx_migrations` is not copied:
/// migrating the destination writes its own. A test compares this list
/// with the schema the migrations create, so a new table or column cannot
/// be left behind.
pub(crate) const TABLES: &[Table] = &[
    Table {
        name: "accounts",
        key: &["id"],
        columns: &[
            ("id", Int),
            ("subdomain", Text),
            ("name", Text),
            ("api_enabled", Bool),
            ("max_users", Int),
            ("created_at", Int),
            ("updated_at", Int),
        ],
    },
    Table {
        name: "users",
        key: &["id"],
        columns: &[
            ("account_id", Int),
            ("id", Int),
            ("name", Text),
            ("email", Text),
            ("role", Text),
            ("active", Bool),
            ("created_at", Int),
            ("updated_at", Int),
            ("grants", Text),
            ("revokes", Text),
        ],
    },
    Table {
        name: "api_tokens",
        key: &["id"],
        columns: &[
            ("account_id", Int),
            ("id", Int),
            ("user_id", Int),
            ("digest", Text),
            ("prefix", Text),
            ("created_at", Int),
            ("last_used_at", Int),
            ("revoked_at", Int),
        ],
    },
    Table {
        name: "call_centers",
        key: &["id"],
        columns: &[
            ("account_id", Int),
            ("id", Int),
            ("name", Text),
            ("state", Text),
            ("enabled", Bool),
            ("facility_required", Bool),
            ("facilities", Text),
            ("relay_enabled", Bool),
            ("relay", Text),
            ("position", Int),
            ("created_at", Int),
            ("updated_at", Int),
        ],
    },
    Table {
        name: "service_areas",
        key: &["id"],
        columns: &[
            ("account_id", Int),
            ("id", Int),
            ("call_center_id", Int),
            ("code", Text),
            ("name", Text),
            ("facilities", Text),
            ("assignee_id", Int),
            ("position", Int),
        ],
    },
    Table {
        name: "response_codes",
        key: &["id"],
        columns: &[
            ("account_id", Int),
            ("id", Int),
            ("call_center_id", Int),
            ("code", Text),
            ("description", Text),
            ("ticket_types", Text),
            ("completes", Bool),
            ("position", Int),
        ],
    },
    Table {
        name: "custom_fields",
        key: &["id"],
        columns: &[
            ("account_id", Int),
            ("id", Int),
            ("name", Text),
            ("type_id", Int),
            ("required", Bool),
            ("call_center_id", Int),
            ("position", Int),
        ],
    },
    Table {
        name: "custom_field_options",
        key: &["id"],
        columns: &[
            ("account_id", Int),
            ("id", Int),
            ("custom_field_id", Int),
            ("parent_id", Int),
            ("name", Text),
            ("position", Int),
        ],
    },
    Table {
        name: "tickets",
        key: &["id"],
        columns: &[
            ("account_id", Int),
            ("id", Int),
            ("call_center_id", Int),
            ("ticket_number", Text),
            ("version_number", Int),
            ("status", Text),
            ("assignee_id", Int),
            ("content", Text),
            ("search_text", Text),
            ("created_at", Int),
            ("updated_at", Int),
            ("closed_at", Int),
            ("source_revision", Int),
        ],
    },
    Table {
        name: "ticket_service_areas",
        key: &["account_id", "ticket_id", "code"],
        columns: &[("account_id", Int), ("ticket_id", Int), ("code", Text)],
    },
    Table {
        name: "ticket_field_values",
        key: &["account_id", "ticket_id", "custom_field_id"],
        columns: &[
            ("account_id", Int),
            ("ticket_id", Int),
            ("custom_field_id", Int),
            ("value", Text),
        ],
    },
    Table {
        name: "ticket_responses",
        key: &["id"],
        columns: &[
            ("account_id", Int),
            ("id", Int),
            ("ticket_id", Int),
            ("service_area", Text),
            ("facility", Text),
            ("code", Text),
            ("comment", Text),
            ("status", Text),
            ("respondent_id", Int),
            ("created_at", Int),
            ("updated_at", Int),
            ("responded_at", Int),
        ],
    },
    Table {
        name: "ticket_history",
        key: &["id"],
        columns: &[
            ("account_id", Int),
            ("id", Int),
            ("ticket_id", Int),
            ("kind", Text),
            ("actor_id", Int),
            ("data", Text),
            ("created_at", Int),
        ],
    },
    Table {
        name: "relay_deliveries",
        key: &["id"],
        columns: &[
            ("account_id", Int),
            ("id", Int),
            ("response_id", Int),
            ("ticket_id", Int),
            ("call_center_id", Int),
            ("payload", Text),
            ("session", Text),
            ("status", Text),
            ("attempts", Int),
            ("next_attempt_at", Int),
            ("lease_owner", Text),
            ("lease_until", Int),
            ("messages", Text),
            ("last_error", Text),
            ("created_at", Int),
            ("updated_at", Int),
            ("delivered_at", Int),
        ],
    },
    Table {
        name: "ticket_documents",
        key: &["id"],
        columns: &[
            ("account_id", Int),
            ("id", Int),
            ("ticket_id", Int),
            ("version_number", Int),
            ("role", Text),
            ("format", Text),
            ("name", Text),
            ("content_type", Text),
            ("sha256", Text),
            ("encoding", Text),
            ("body", Bytes),
            ("received_at", Int),
        ],
    },
];

/// Rows per page; fewer for tables holding documents, whose rows can be
/// large.
const PAGE_ROWS: i64 = 500;
const PAGE_ROWS_WITH_BYTES: i64 = 16;
/// Placeholders per `INSERT`, well under both engines' limits (SQLite
/// 32766, PostgreSQL 65535).
const MAX_PARAMETERS: usize = 8_000;

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("{0} does not exist: there is nothing to copy")]
    NoSource(PathBuf),
    #[error("the source and the destination are the same database")]
    SameDatabase,
    #[error("the source is not an Integrity database ({0})")]
    NotIntegrity(StoreError),
    #[error(
        "the source's schema is at migration {from_version} and this integrity's at {to_version}: \
         copy with the integrity version that matches the source, or migrate the source first \
         (integrity --database SOURCE migrate)"
    )]
    SchemaDiffers { from_version: i64, to_version: i64 },
    #[error(
        "the destination already holds data ({0}): copy only into a new or empty Integrity \
         database, so that nothing is merged by accident; nothing was written"
    )]
    NotEmpty(String),
    #[error(
        "the copy does not match its source ({}); it was rolled back and the destination is unchanged",
        .0.mismatched().join(", ")
    )]
    Mismatch(CopyReport),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CopyError {
    fn from(e: sqlx::Error) -> Self {
        CopyError::Store(StoreError::Database(e))
    }
}

/// One table compared between the source and what the destination holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReport {
    pub table: &'static str,
    pub source_rows: u64,
    pub destination_rows: u64,
    /// SHA-256 of the rows in key order, in hex.
    pub source_checksum: String,
    pub destination_checksum: String,
}

impl TableReport {
    pub fn matches(&self) -> bool {
        self.source_rows == self.destination_rows
            && self.source_checksum == self.destination_checksum
    }
}

impl fmt::Display for TableReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.matches() {
            write!(f, "{}: {} rows, checksum ok", self.table, self.source_rows)
        } else {
            write!(
                f,
                "{}: MISMATCH: source {} rows (checksum {}), destination {} rows (checksum {})",
                self.table,
                self.source_rows,
                self.source_checksum,
                self.destination_rows,
                self.destination_checksum
            )
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<TableReport>,
}

impl CopyReport {
    pub fn matches(&self) -> bool {
        self.tables.iter().all(TableReport::matches)
    }

    fn mismatched(&self) -> Vec<&'static str> {
        self.tables
            .iter()
            .filter(|t| !t.matches())
            .map(|t| t.table)
            .collect()
    }
}

/// Opens both databases and copies: the source is neither created nor
/// migrated, the destination is created if need be and migrated. `copied`
/// hears of each table as it is written.
pub async fn copy_between(
    from: &DatabaseUrl,
    to: &DatabaseUrl,
    copied: impl FnMut(&'static str, u64),
) -> Result<CopyReport, CopyError> {
    if let Some(file) = sqlite_file(from)? {
        if !file.exists() {
            return Err(CopyError::NoSource(file));
        }
        if let Some(other) = sqlite_file(to)? {
            if other.canonicalize().ok() == file.canonicalize().ok() {
                return Err(CopyError::SameDatabase);
            }
        }
    } else if from.as_str() == to.as_str() {
        return Err(CopyError::SameDatabase);
    }
    let source = Store::connect(from).await?;
    let destination = match Store::open(to).await {
        Ok(store) => store,
        Err(e) => {
            source.close().await;
            return Err(e.into());
        }
    };
    let result = copy_database(&source, &destination, copied).await;
    source.close().await;
    destination.close().await;
    result
}

/// Copies everything `source` holds into `destination`, which must be
/// migrated and empty. On any error or mismatch the destination is left as
/// it was.
pub async fn copy_database(
    source: &Store,
    destination: &Store,
    mut copied: impl FnMut(&'static str, u64),
) -> Result<CopyReport, CopyError> {
    let mut from = snapshot(source).await?;
    let mut to = destination.write().await?;
    same_schema(&mut from, &mut to).await?;
    refuse_unless_empty(&mut to).await?;

    let mut sums = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let mut sum = Checksum::default();
        let mut pages = Pages::new(table);
        while let Some(rows) = pages.next(&mut from).await? {
            for row in &rows {
                sum.add(row);
            }
            insert(&mut to, table, rows).await?;
        }
        copied(table.name, sum.rows);
        sums.push(sum);
    }
    // The source is read to the end; its snapshot can go.
    drop(from);
    if destination.backend() == Backend::Postgres {
        advance_postgres_sequences(&mut to).await?;
    }

    let mut report = CopyReport { tables: Vec::new() };
    for (table, source_sum) in TABLES.iter().zip(sums) {
        let mut sum = Checksum::default();
        let mut pages = Pages::new(table);
        while let Some(rows) = pages.next(&mut to).await? {
            for row in &rows {
                sum.add(row);
            }
        }
        report.tables.push(TableReport {
            table: table.name,
            source_rows: source_sum.rows,
            destination_rows: sum.rows,
            source_checksum: source_sum.finish(),
            destination_checksum: sum.finish(),
        });
    }
    if !report.matches() {
        // Dropping the transaction rolls it back.
        return Err(CopyError::Mismatch(report));
    }
    to.commit().await?;
    Ok(report)
}

/// A read transaction that sees the source as of one moment, so that a
/// server writing meanwhile cannot make the copy mix two states.
async fn snapshot(store: &Store) -> Result<Conn, StoreError> {
    Ok(match &*store.db {
        // In WAL mode a read transaction reads one snapshot, taken at its
        // first read, to its end.
        Db::Sqlite { readers, .. } => Conn::SqliteTx(readers.read_transaction().await?),
        // PostgreSQL only: its default READ COMMITTED would let each page
        // see what committed since the previous one; REPEATABLE READ keeps
        // the snapshot of the first statement. SQLite has no such levels.
        Db::Postgres(pool) => Conn::PostgresTx(
            pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .await?,
        ),
    })
}

/// The migrations a database has applied.
async fn migrations(conn: &mut Conn) -> Result<Vec<i64>, StoreError> {
    let rows: Vec<(i64,)> = conn
        .fetch_all(query!(
            "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version"
        ))
        .await?;
    Ok(rows.into_iter().map(|(v,)| v).collect())
}

/// The column lists are this binary's: the source must have exactly the
/// migrations the destination was just brought to.
async fn same_schema(from: &mut Conn, to: &mut Conn) -> Result<(), CopyError> {
    let source = migrations(from).await.map_err(CopyError::NotIntegrity)?;
    let destination = migrations(to).await?;
    if source != destination {
        return Err(CopyError::SchemaDiffers {
            from_version: source.last().copied().unwrap_or(0),
            to_version: destination.last().copied().unwrap_or(0),
        });
    }
    Ok(())
}

async fn refuse_unless_empty(to: &mut Conn) -> Result<(), CopyError> {
    let mut held = Vec::new();
    for table in TABLES {
        // Stops at the first row: an empty table is all this asks about.
        let (rows,): (i64,) = to
            .fetch_one(query!(format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM {} LIMIT 1) AS any_row",
                table.name
            )))
            .await?;
        if rows > 0 {
            held.push(table.name);
        }
    }
    if held.is_empty() {
        return Ok(());
    }
    let (accounts,): (i64,) = to
        .fetch_one(query!("SELECT COUNT(*) FROM accounts"))
        .await?;
    Err(CopyError::NotEmpty(format!(
        "{accounts} accounts; rows in {}",
        held.join(", ")
    )))
}

/// PostgreSQL only. The rows came in with their ids, which leaves each
/// identity sequence at its start: the next row inserted would take id 1
/// and collide. This moves every sequence to its table's largest id (an
/// empty table's stays where it is, as `setval` ignores NULL). SQLite needs
/// nothing of the kind: an `INTEGER PRIMARY KEY` takes the largest id + 1.
async fn advance_postgres_sequences(tx: &mut Conn) -> Result<(), StoreError> {
    for table in TABLES.iter().filter(|t| t.key == ["id"]) {
        tx.execute(query!(format!(
            "SELECT setval(pg_get_serial_sequence('{0}', 'id'), MAX(id)) FROM {0}",
            table.name
        )))
        .await?;
    }
    Ok(())
}

/// A value as both engines hold it. Text orders by its bytes, whatever the
/// database's collation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Value {
    Null,
    Int(i64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
}

impl Value {
    fn describe(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Int(_) => "an integer",
            Value::Bool(_) => "a boolean",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
        }
    }

    /// The value for a column of `kind`: SQLite's 0 and 1 become booleans;
    /// anything else that does not fit the declaration is refused rather
    /// than converted.
    fn conform(self, kind: Kind) -> Option<Value> {
        match (kind, self) {
            (Bool, Value::Int(0)) => Some(Value::Bool(false)),
            (Bool, Value::Int(1)) => Some(Value::Bool(true)),
            (_, Value::Null) => Some(Value::Null),
            (Int, v @ Value::Int(_))
            | (Bool, v @ Value::Bool(_))
            | (Text, v @ Value::Text(_))
            | (Bytes, v @ Value::Bytes(_)) => Some(v),
            _ => None,
        }
    }

    fn into_arg(self, kind: Kind) -> Arg {
        match self {
            Value::Null => match kind {
                Int => Arg::Int(None),
                Text => Arg::Text(None),
                Bool => Arg::Bool(None),
                Bytes => Arg::Bytes(None),
            },
            Value::Int(v) => Arg::Int(Some(v)),
            Value::Bool(v) => Arg::Bool(Some(v)),
            Value::Text(v) => Arg::Text(Some(v)),
            Value::Bytes(v) => Arg::Bytes(Some(v)),
        }
    }
}

/// A row of any table, each value decoded as the driver holds it; the
/// table's column list then says what it must be.
struct Cells(Vec<Value>);

fn unexpected(index: usize, what: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: index.to_string(),
        source: format!("a copied column holds {what}").into(),
    }
}

impl FromSqlite for Cells {
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        use rusqlite::types::ValueRef;
        (0..row.as_ref().column_count())
            .map(|i| {
                // The value's own storage class: SQLite's columns hold any.
                Ok(match row.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Text(_) => Value::Text(row.get(i)?),
                    ValueRef::Blob(v) => Value::Bytes(v.to_vec()),
                    ValueRef::Real(_) => {
                        return Err(rusqlite::Error::InvalidColumnType(
                            i,
                            row.as_ref().column_name(i)?.to_string(),
                            rusqlite::types::Type::Real,
                        ))
                    }
                })
            })
            .collect::<Result<_, _>>()
            .map(Cells)
    }
}

impl<'r> FromRow<'r, PgRow> for Cells {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        (0..row.len())
            .map(|i| {
                let raw = row.try_get_raw(i)?;
                if raw.is_null() {
                    return Ok(Value::Null);
                }
                Ok(match raw.type_info().name() {
                    "INT8" => Value::Int(row.try_get(i)?),
                    "BOOL" => Value::Bool(row.try_get(i)?),
                    "TEXT" => Value::Text(row.try_get(i)?),
                    "BYTEA" => Value::Bytes(row.try_get(i)?),
                    other => return Err(unexpected(i, other)),
                })
            })
            .collect::<Result<_, _>>()
            .map(Cells)
    }
}

/// A table read in pages of whole key groups, in key order. A page ends
/// with the rows whose integer key prefix is that of its `PAGE_ROWS`-th
/// row, so rows sharing a prefix (a ticket's service areas) never straddle
/// two pages; within a page rows are sorted by the whole key in Rust, as
/// the engines' text collations differ.
struct Pages<'t> {
    table: &'t Table,
    /// Positions in `table.columns` of the integer key prefix, and of the
    /// whole key.
    prefix: Vec<usize>,
    key: Vec<usize>,
    page_rows: i64,
    /// The prefix of the last row read; `None` before the first page.
    after: Option<Vec<i64>>,
    done: bool,
}

impl<'t> Pages<'t> {
    fn new(table: &'t Table) -> Pages<'t> {
        let position = |name: &str| {
            table
                .columns
                .iter()
                .position(|(column, _)| *column == name)
                .unwrap_or_else(|| panic!("{}: key column {name} is not listed", table.name))
        };
        let key: Vec<usize> = table.key.iter().map(|k| position(k)).collect();
        let prefix = key
            .iter()
            .copied()
            .take_while(|&i| table.columns[i].1 == Int)
            .collect();
        let has_bytes = table.columns.iter().any(|(_, kind)| *kind == Bytes);
        Pages {
            table,
            prefix,
            key,
            page_rows: if has_bytes {
                PAGE_ROWS_WITH_BYTES
            } else {
                PAGE_ROWS
            },
            after: None,
            done: false,
        }
    }

    fn prefix_columns(&self) -> String {
        self.prefix
            .iter()
            .map(|&i| self.table.columns[i].0)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `(a, b) <op> ($n, $m)`, a row-value comparison both engines know.
    fn compare(&self, q: &mut Query, op: &str, values: &[i64]) -> String {
        let placeholders: Vec<String> = values.iter().map(|v| q.arg(*v)).collect();
        format!(
            "({}) {op} ({})",
            self.prefix_columns(),
            placeholders.join(", ")
        )
    }

    async fn next(&mut self, conn: &mut Conn) -> Result<Option<Vec<Vec<Value>>>, StoreError> {
        if self.done {
            return Ok(None);
        }
        let name = self.table.name;
        let prefix = self.prefix_columns();

        // Where this page ends: the prefix of its PAGE_ROWS-th row, if the
        // table goes that far.
        let mut q = Query::new(format!("SELECT {prefix} FROM {name}"));
        if let Some(after) = self.after.clone() {
            let condition = self.compare(&mut q, ">", &after);
            q.push(&format!(" WHERE {condition}"));
        }
        let offset = q.arg(self.page_rows - 1);
        q.push(&format!(" ORDER BY {prefix} LIMIT 1 OFFSET {offset}"));
        let end: Option<Cells> = conn.fetch_optional(q).await?;
        let end = end.map(|cells| self.integers(cells)).transpose()?;

        let columns: Vec<&str> = self.table.columns.iter().map(|(c, _)| *c).collect();
        let mut q = Query::new(format!("SELECT {} FROM {name}", columns.join(", ")));
        let mut conditions = Vec::new();
        if let Some(after) = self.after.clone() {
            conditions.push(self.compare(&mut q, ">", &after));
        }
        if let Some(end) = &end {
            conditions.push(self.compare(&mut q, "<=", end));
        }
        if !conditions.is_empty() {
            q.push(&format!(" WHERE {}", conditions.join(" AND ")));
        }
        q.push(&format!(" ORDER BY {prefix}"));
        let cells: Vec<Cells> = conn.fetch_all(q).await?;

        let mut rows = cells
            .into_iter()
            .map(|cells| self.conform(cells))
            .collect::<Result<Vec<_>, _>>()?;
        rows.sort_by(|a, b| {
            self.key
                .iter()
                .map(|&i| a[i].cmp(&b[i]))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        if end.is_none() {
            self.done = true;
        }
        match rows.last() {
            None => {
                self.done = true;
                Ok(None)
            }
            Some(last) => {
                self.after = Some(
                    self.prefix
                        .iter()
                        .map(|&i| match last[i] {
                            Value::Int(v) => v,
                            _ => unreachable!("conform keeps key integers integers"),
                        })
                        .collect(),
                );
                Ok(Some(rows))
            }
        }
    }

    /// A key prefix read back, as integers.
    fn integers(&self, cells: Cells) -> Result<Vec<i64>, StoreError> {
        cells
            .0
            .into_iter()
            .map(|v| match v {
                Value::Int(v) => Ok(v),
                other => Err(self.corrupt("key", other.describe())),
            })
            .collect()
    }

    /// The row's values as the column list declares them.
    fn conform(&self, cells: Cells) -> Result<Vec<Value>, StoreError> {
        if cells.0.len() != self.table.columns.len() {
            return Err(self.corrupt("row", "another number of columns"));
        }
        cells
            .0
            .into_iter()
            .zip(self.table.columns)
            .enumerate()
            .map(|(i, (value, (column, kind)))| {
                let found = value.describe();
                match value.conform(*kind) {
                    Some(Value::Null) if self.key.contains(&i) => Err(self.corrupt(column, found)),
                    Some(value) => Ok(value),
                    None => Err(self.corrupt(column, found)),
                }
            })
            .collect()
    }

    fn corrupt(&self, column: &str, found: &str) -> StoreError {
        StoreError::Corrupt {
            what: "copied row",
            detail: format!("{}.{column} holds {found}", self.table.name),
        }
    }
}

/// Writes a page: multi-row `INSERT`s, each value bound as its column is
/// declared on the destination's engine.
async fn insert(to: &mut Conn, table: &Table, rows: Vec<Vec<Value>>) -> Result<(), StoreError> {
    let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
    let per_statement = (MAX_PARAMETERS / columns.len()).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut q = Query::new(format!(
            "INSERT INTO {} ({}) VALUES ",
            table.name,
            columns.join(", ")
        ));
        for (n, row) in rows.by_ref().take(per_statement).enumerate() {
            let placeholders: Vec<String> = row
                .into_iter()
                .zip(table.columns)
                .map(|(value, (_, kind))| q.arg(value.into_arg(*kind)))
                .collect();
            if n > 0 {
                q.push(", ");
            }
            q.push(&format!("({})", placeholders.join(", ")));
        }
        to.execute(q).await?;
    }
    Ok(())
}

/// Row count and SHA-256 of a table's rows in key order, over a canonical
/// text of each value that is the same whichever engine it was read from.
#[derive(Default)]
struct Checksum {
    rows: u64,
    hash: Sha256,
}

impl Checksum {
    fn add(&mut self, row: &[Value]) {
        for value in row {
            match value {
                Value::Null => self.hash.update(b"n"),
                Value::Int(v) => self.hash.update(format!("i{v}")),
                Value::Bool(v) => self.hash.update(if *v { "t" } else { "f" }),
                Value::Text(v) => {
                    self.hash.update(format!("s{}:", v.len()));
                    self.hash.update(v.as_bytes());
                }
                Value::Bytes(v) => {
                    self.hash.update(format!("b{}:", v.len()));
                    self.hash.update(v);
                }
            }
            self.hash.update(b",");
        }
        self.hash.update(b"\n");
        self.rows += 1;
    }

    fn finish(self) -> String {
        hex::encode(self.hash.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;

    /// SQLite's catalogue: `sqlite_master` and `pragma_table_info` are
    /// SQLite's own, which is the point: the live schema the migrations
    /// made, not a list kept by hand.
    async fn sqlite_schema(
        store: &Store,
    ) -> Vec<(String, Vec<(String, String, i64)>, Vec<String>)> {
        let mut conn = store.read().await.unwrap();
        let tables: Vec<(String,)> = conn
            .fetch_all(query!(
                "SELECT name FROM sqlite_master
                 WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'
                 ORDER BY name"
            ))
            .await
            .unwrap();
        let mut schema = Vec::new();
        for (table,) in tables {
            let columns: Vec<(String, String, i64)> = conn
                .fetch_all(query!(
                    "SELECT name, type, pk FROM pragma_table_info($1) ORDER BY cid",
                    table.as_str()
                ))
                .await
                .unwrap();
            let parents: Vec<(String,)> = conn
                .fetch_all(query!(
                    r#"SELECT "table" FROM pragma_foreign_key_list($1)"#,
                    table.as_str()
                ))
                .await
                .unwrap();
            schema.push((table, columns, parents.into_iter().map(|(p,)| p).collect()));
        }
        schema
    }

    fn kind_of_sqlite_type(declared: &str) -> Kind {
        match declared {
            "INTEGER" => Int,
            "TEXT" => Text,
            "BOOLEAN" => Bool,
            "BLOB" => Bytes,
            other => panic!("a column type the copy does not know: {other}"),
        }
    }

    #[tokio::test]
    async fn the_copy_knows_every_table_and_column_of_the_migrated_schema() {
        let db = TestDatabase::sqlite().await;
        let schema = sqlite_schema(&db.store).await;
        let mut listed: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        listed.sort_unstable();
        let live: Vec<&str> = schema.iter().map(|(t, _, _)| t.as_str()).collect();
        assert_eq!(live, listed, "tables of the schema and of copy::TABLES");

        for (name, columns, parents) in &schema {
            let table = TABLES.iter().find(|t| t.name == name).unwrap();
            let mut live: Vec<(&str, Kind)> = columns
                .iter()
                .map(|(c, ty, _)| (c.as_str(), kind_of_sqlite_type(ty)))
                .collect();
            live.sort_unstable_by_key(|(c, _)| *c);
            let mut known = table.columns.to_vec();
            known.sort_unstable_by_key(|(c, _)| *c);
            assert_eq!(live, known, "columns of {name}");

            let mut key: Vec<(i64, &str)> = columns
                .iter()
                .filter(|(_, _, pk)| *pk > 0)
                .map(|(c, _, pk)| (*pk, c.as_str()))
                .collect();
            key.sort_unstable();
            let key: Vec<&str> = key.into_iter().map(|(_, c)| c).collect();
            assert_eq!(key, table.key, "primary key of {name}");
            assert!(
                table.columns[Pages::new(table).prefix[0]].1 == Int,
                "{name} is paged by an integer"
            );

            let at = TABLES.iter().position(|t| t.name == name).unwrap();
            for parent in parents {
                let parent_at = TABLES.iter().position(|t| t.name == parent).unwrap();
                assert!(
                    parent_at < at,
                    "{name} refers to {parent}, which must come first"
                );
            }
        }
        db.finish().await;
    }

    #[tokio::test]
    async fn the_column_kinds_match_the_postgres_schema_too() {
        let Some(db) = TestDatabase::postgres().await else {
            eprintln!("skipped: {} is not set", crate::testing::POSTGRES_ENV);
            return;
        };
        let mut conn = db.store.read().await.unwrap();
        // PostgreSQL's catalogue, for a PostgreSQL-only test:
        // `current_schema()` is where the migrations created the tables.
        let mut live: Vec<(String, String, String)> = conn
            .fetch_all(query!(
                "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT), CAST(data_type AS TEXT)
                 FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'"
            ))
            .await
            .unwrap();
        live.sort_unstable();
        let mut known: Vec<(String, String, String)> = TABLES
            .iter()
            .flat_map(|t| {
                t.columns.iter().map(|(c, kind)| {
                    let ty = match kind {
                        Int => "bigint",
                        Text => "text",
                        Bool => "boolean",
                        Bytes => "bytea",
                    };
                    (t.name.to_string(), c.to_string(), ty.to_string())
                })
            })
            .collect();
        known.sort_unstable();
        assert_eq!(live, known);
        drop(conn);
        db.finish().await;
    }

    async fn put(tx: &mut Conn, table: &str, columns: &str, args: Vec<Arg>) {
        let mut q = Query::new(String::new());
        let placeholders: Vec<String> = args.into_iter().map(|a| q.arg(a)).collect();
        q.push(&format!(
            "INSERT INTO {table} ({columns}) VALUES ({})",
            placeholders.join(", ")
        ));
        tx.execute(q).await.unwrap();
    }

    const BIG_ID: i64 = 9_007_199_254_740_993; // 2^53 + 1: no double holds it
    const AWKWARD: &str = "Ünïcödé \"quoted\" 'single' \\ back\n\ttab 🚧 ; DROP TABLE x; --";
    const JSON: &str = "{\"b\" :  [ 1, 2.50, \"x\" ],\n \"a\":null }";

    fn all_bytes() -> Vec<u8> {
        (0..=255u8).chain((0..=255u8).rev()).collect()
    }

    /// Documents' bodies: every byte value, none at all, bytes that are
    /// not UTF-8, and a larger one.
    fn body(id: i64) -> Vec<u8> {
        match id % 4 {
            0 => all_bytes(),
            1 => Vec::new(),
            2 => vec![0xff, 0xfe, 0x00, 0x80],
            _ => all_bytes().repeat(200),
        }
    }

    /// Values at the edges of what each column holds, and more rows than a
    /// page in the paged tables (with a ticket whose service areas alone
    /// outnumber a page, and codes whose order differs between collations).
    #[rustfmt::skip]
    async fn seed(store: &Store) {
        let none_int = || Arg::Int(None);
        let none_text = || Arg::Text(None);
        let mut tx = store.write().await.unwrap();
        let t = &mut tx;
        let accounts = "id, subdomain, name, api_enabled, max_users, created_at, updated_at";
        put(t, "accounts", accounts, vec![1.into(), "a".into(), AWKWARD.into(), true.into(), none_int(), i64::MIN.into(), i64::MAX.into()]).await;
        put(t, "accounts", accounts, vec![BIG_ID.into(), "b".into(), "".into(), false.into(), 0.into(), 0.into(), (-1).into()]).await;
        let users = "account_id, id, name, email, role, active, created_at, updated_at, grants, revokes";
        put(t, "users", users, vec![1.into(), 5.into(), "U".into(), "u@example.com".into(), "admin".into(), true.into(), 1.into(), 2.into(), "[ \"tickets:close\" ]".into(), "[]".into()]).await;
        put(t, "users", users, vec![BIG_ID.into(), 6.into(), "V".into(), "v@example.com".into(), "viewer".into(), false.into(), 1.into(), 2.into(), "[]".into(), "[\"users:read\",\"tokens:write\"]".into()]).await;
        put(t, "api_tokens", "account_id, id, user_id, digest, prefix, created_at, last_used_at, revoked_at",
            vec![1.into(), 7.into(), 5.into(), "d1".into(), "itg_abcd".into(), 3.into(), none_int(), 4.into()]).await;
        put(t, "call_centers", "account_id, id, name, state, enabled, facility_required, facilities, relay_enabled, relay, position, created_at, updated_at",
            vec![1.into(), 11.into(), "Georgia 811".into(), none_text(), true.into(), false.into(), "[\"Gas\"]".into(), true.into(), JSON.into(), 0.into(), 1.into(), 1.into()]).await;
        put(t, "service_areas", "account_id, id, call_center_id, code, name, facilities, assignee_id, position",
            vec![1.into(), 12.into(), 11.into(), "S1".into(), none_text(), none_text(), 5.into(), 0.into()]).await;
        put(t, "response_codes", "account_id, id, call_center_id, code, description, ticket_types, completes, position",
            vec![1.into(), 13.into(), 11.into(), "1A".into(), "Marked".into(), none_text(), true.into(), 0.into()]).await;
        put(t, "custom_fields", "account_id, id, name, type_id, required, call_center_id, position",
            vec![1.into(), 14.into(), "F".into(), 3.into(), false.into(), none_int(), 0.into()]).await;
        let options = "account_id, id, custom_field_id, parent_id, name, position";
        put(t, "custom_field_options", options, vec![1.into(), 15.into(), 14.into(), 0.into(), "top".into(), 0.into()]).await;
        put(t, "custom_field_options", options, vec![1.into(), 16.into(), 14.into(), 15.into(), "child".into(), 1.into()]).await;
        for id in 100..700i64 {
            let closed = if id % 7 == 0 { Arg::Int(Some(id)) } else { none_int() };
            let revision = if id % 5 == 0 { Arg::Int(Some(id % 11)) } else { none_int() };
            put(t, "tickets", "account_id, id, call_center_id, ticket_number, version_number, status, assignee_id, content, search_text, created_at, updated_at, closed_at, source_revision",
                vec![1.into(), id.into(), 11.into(), format!("N-{id}").into(), 0.into(), "open".into(), none_int(), JSON.into(), AWKWARD.into(), id.into(), id.into(), closed, revision]).await;
            let codes: Vec<String> = match id {
                100 => ["a", "B", "é", "Z", "", "b", "_"].map(String::from).to_vec(),
                101 => (0..600).map(|n| format!("C{n}")).collect(),
                _ => vec!["S1".into(), "s1".into()],
            };
            for code in codes {
                put(t, "ticket_service_areas", "account_id, ticket_id, code", vec![1.into(), id.into(), code.into()]).await;
            }
        }
        put(t, "ticket_field_values", "account_id, ticket_id, custom_field_id, value", vec![1.into(), 100.into(), 14.into(), JSON.into()]).await;
        put(t, "ticket_responses", "account_id, id, ticket_id, service_area, facility, code, comment, status, respondent_id, created_at, updated_at, responded_at",
            vec![1.into(), 20.into(), 100.into(), "S1".into(), "".into(), "1A".into(), AWKWARD.into(), "pending".into(), 5.into(), 1.into(), 2.into(), none_int()]).await;
        put(t, "ticket_history", "account_id, id, ticket_id, kind, actor_id, data, created_at",
            vec![1.into(), 21.into(), 100.into(), "created".into(), none_int(), JSON.into(), 5.into()]).await;
        put(t, "relay_deliveries", "account_id, id, response_id, ticket_id, call_center_id, payload, session, status, attempts, next_attempt_at, lease_owner, lease_until, messages, last_error, created_at, updated_at, delivered_at",
            vec![1.into(), 22.into(), 20.into(), 100.into(), 11.into(), JSON.into(), "s".into(), "queued".into(), 0.into(), 10.into(), none_text(), none_int(), "[]".into(), none_text(), 1.into(), 1.into(), none_int()]).await;
        for id in 30..70i64 {
            let name = if id % 2 == 0 { Arg::Text(Some(format!("d{id}.gif"))) } else { none_text() };
            // A copy moves bodies as stored, never decoding them.
            let encoding = if id % 3 == 0 { "zstd" } else { "identity" };
            put(t, "ticket_documents", "account_id, id, ticket_id, version_number, role, format, name, content_type, sha256, encoding, body, received_at",
                vec![1.into(), id.into(), 100.into(), 0.into(), "source".into(), "eml".into(), name, "image/gif".into(), "x".into(), encoding.into(), body(id).into(), 9.into()]).await;
        }
        tx.commit().await.unwrap();
    }

    /// Every row of every table, in key order.
    async fn dump(store: &Store) -> Vec<(&'static str, Vec<Vec<Value>>)> {
        let mut conn = store.read().await.unwrap();
        let mut all = Vec::new();
        for table in TABLES {
            let mut rows = Vec::new();
            let mut pages = Pages::new(table);
            while let Some(page) = pages.next(&mut conn).await.unwrap() {
                rows.extend(page);
            }
            all.push((table.name, rows));
        }
        all
    }

    async fn copy_and_check(from: &Store, to: &Store) {
        let mut heard = Vec::new();
        let report = copy_database(from, to, |table, rows| heard.push((table, rows)))
            .await
            .unwrap();
        assert!(report.matches(), "{report:?}");
        assert_eq!(heard.len(), TABLES.len());
        let source = dump(from).await;
        assert_eq!(dump(to).await, source);
        for ((name, rows), table) in source.iter().zip(&report.tables) {
            assert_eq!(
                (table.table, table.destination_rows),
                (*name, rows.len() as u64)
            );
        }
    }

    /// Typed reads of the copied values, beside the comparison of dumps.
    async fn check_values(store: &Store) {
        let mut conn = store.read().await.unwrap();
        let accounts: Vec<(i64, String, bool, Option<i64>, i64, i64)> = conn
            .fetch_all(query!("SELECT id, name, api_enabled, max_users, created_at, updated_at FROM accounts ORDER BY id"))
            .await
            .unwrap();
        assert_eq!(
            accounts,
            [
                (1, AWKWARD.to_string(), true, None, i64::MIN, i64::MAX),
                (BIG_ID, String::new(), false, Some(0), 0, -1)
            ]
        );
        let (relay,): (String,) = conn
            .fetch_one(query!("SELECT relay FROM call_centers WHERE id = 11"))
            .await
            .unwrap();
        assert_eq!(relay, JSON, "JSON text is kept as it was written");
        let bodies: Vec<(i64, Vec<u8>)> = conn
            .fetch_all(query!("SELECT id, body FROM ticket_documents ORDER BY id"))
            .await
            .unwrap();
        assert_eq!(bodies.len(), 40);
        for (id, bytes) in bodies {
            assert!(bytes == body(id), "document {id} kept byte for byte");
        }
        let (areas,): (i64,) = conn
            .fetch_one(query!("SELECT COUNT(*) FROM ticket_service_areas"))
            .await
            .unwrap();
        assert_eq!(areas, 7 + 600 + 598 * 2);
    }

    #[tokio::test]
    async fn values_survive_sqlite_to_postgres_and_back_exactly() {
        let source = TestDatabase::sqlite().await;
        seed(&source.store).await;
        let last = TestDatabase::sqlite().await;
        match TestDatabase::postgres().await {
            Some(postgres) => {
                copy_and_check(&source.store, &postgres.store).await;
                check_values(&postgres.store).await;
                // The sequences stand past the copied ids.
                let mut tx = postgres.store.write().await.unwrap();
                let (id,): (i64,) = tx
                    .fetch_one(query!(
                        "INSERT INTO accounts (subdomain, name, api_enabled, created_at, updated_at)
                         VALUES ('new', 'New', $1, 0, 0) RETURNING id",
                        true
                    ))
                    .await
                    .unwrap();
                assert_eq!(id, BIG_ID + 1);
                let (id,): (i64,) = tx
                    .fetch_one(query!(
                        "INSERT INTO ticket_history (account_id, ticket_id, kind, data, created_at)
                         VALUES (1, 100, 'note', '{}', 0) RETURNING id"
                    ))
                    .await
                    .unwrap();
                assert_eq!(id, 22);
                drop(tx);
                copy_and_check(&postgres.store, &last.store).await;
                postgres.finish().await;
            }
            None => {
                eprintln!(
                    "PostgreSQL leg skipped: {} is not set",
                    crate::testing::POSTGRES_ENV
                );
                copy_and_check(&source.store, &last.store).await;
            }
        }
        check_values(&last.store).await;
        source.finish().await;
        last.finish().await;
    }

    async fn row_counts(store: &Store) -> Vec<i64> {
        let mut conn = store.read().await.unwrap();
        let mut counts = Vec::new();
        for table in TABLES {
            let (n,): (i64,) = conn
                .fetch_one(query!(format!("SELECT COUNT(*) FROM {}", table.name)))
                .await
                .unwrap();
            counts.push(n);
        }
        counts
    }

    async fn destinations() -> Vec<TestDatabase> {
        let mut all = vec![TestDatabase::sqlite().await];
        all.extend(TestDatabase::postgres().await);
        all
    }

    #[tokio::test]
    async fn a_copy_that_fails_midway_leaves_the_destination_empty() {
        let source = TestDatabase::sqlite().await;
        seed(&source.store).await;
        // A document of a ticket that does not exist, as a damaged
        // database might hold: the last table fails, after all the others
        // were written.
        let Db::Sqlite { writer, .. } = &*source.store.db else {
            unreachable!()
        };
        let side_door = crate::sqlite::Pool::new(writer.settings().clone(), 1);
        let mut conn = Conn::Sqlite(side_door.acquire().await.unwrap());
        // SQLite only, like this source: a connection can stop checking
        // foreign keys, which no transaction of the store ever does.
        conn.execute(query!("PRAGMA foreign_keys = OFF"))
            .await
            .unwrap();
        put(&mut conn, "ticket_documents", "account_id, id, ticket_id, version_number, role, format, content_type, sha256, body, received_at",
            vec![1.into(), 99.into(), 4242.into(), 0.into(), "source".into(), "eml".into(), "text/plain".into(), "x".into(), b"orphan".to_vec().into(), 0.into()]).await;
        conn.execute(query!("PRAGMA foreign_keys = ON"))
            .await
            .unwrap();
        drop(conn);

        for destination in destinations().await {
            let e = copy_database(&source.store, &destination.store, |_, _| {})
                .await
                .unwrap_err();
            assert!(
                matches!(
                    e,
                    CopyError::Store(StoreError::Database(_) | StoreError::Sqlite(_))
                ),
                "{e}"
            );
            assert!(row_counts(&destination.store).await.iter().all(|n| *n == 0));
            destination.finish().await;
        }
        source.finish().await;
    }

    #[tokio::test]
    async fn a_destination_holding_data_is_refused_and_left_alone() {
        let source = TestDatabase::sqlite().await;
        seed(&source.store).await;
        for destination in destinations().await {
            let mut tx = destination.store.write().await.unwrap();
            put(
                &mut tx,
                "accounts",
                "id, subdomain, name, api_enabled, created_at, updated_at",
                vec![
                    3.into(),
                    "there".into(),
                    "Already there".into(),
                    true.into(),
                    0.into(),
                    0.into(),
                ],
            )
            .await;
            tx.commit().await.unwrap();
            let before = row_counts(&destination.store).await;
            let e = copy_database(&source.store, &destination.store, |_, _| {})
                .await
                .unwrap_err();
            assert!(matches!(e, CopyError::NotEmpty(_)), "{e}");
            assert!(e.to_string().contains("1 accounts"), "{e}");
            assert_eq!(row_counts(&destination.store).await, before);
            destination.finish().await;
        }
        source.finish().await;
    }

    #[tokio::test]
    async fn a_source_of_another_schema_version_is_refused() {
        let source = TestDatabase::sqlite().await;
        let mut tx = source.store.write().await.unwrap();
        tx.execute(query!("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)"))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let destination = TestDatabase::sqlite().await;
        let e = copy_database(&source.store, &destination.store, |_, _| {})
            .await
            .unwrap_err();
        assert!(matches!(e, CopyError::SchemaDiffers { .. }), "{e}");
        source.finish().await;
        destination.finish().await;
    }

    #[test]
    fn a_mismatch_is_reported_by_table() {
        let table = |rows, checksum: &str| TableReport {
            table: "tickets",
            source_rows: 312,
            destination_rows: rows,
            source_checksum: "ab".into(),
            destination_checksum: checksum.into(),
        };
        assert_eq!(
            table(312, "ab").to_string(),
            "tickets: 312 rows, checksum ok"
        );
        let wrong = CopyReport {
            tables: vec![table(311, "cd")],
        };
        assert!(!wrong.matches());
        assert!(CopyError::Mismatch(wrong).to_string().contains("(tickets)"));
    }
}
