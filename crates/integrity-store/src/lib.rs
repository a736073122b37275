//! Integrity's storage: one [`Store`] over SQLite (the default) or
//! PostgreSQL (to run several server processes on one database).
//!
//! Every method takes the account it works in; no query reads or writes
//! across accounts.

pub mod backup;
mod catalog;
mod conn;
pub mod copy;
mod error;
mod open;
mod provision;
pub mod relay;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
mod tickets;
pub mod tokens;
mod users;

pub use catalog::{CallCenter, CustomField, ResponseCode};
pub use error::StoreError;
pub use open::{Backend, DatabaseUrl};
pub use provision::ApplyReport;
pub use tickets::{
    Document, HistoryEntry, IntakeOutcome, PreparedIntake, Provenance, StoredDocument,
    TicketCursor, TicketFilter, TicketPage, Transition,
};
pub use users::{ApiToken, Principal, User};

use conn::Conn;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::PgPool;

/// The account a request or command works in. Only the store and the
/// authentication step create one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountId(pub i64);

/// A connection pool's use at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    pub name: &'static str,
    /// Connections open.
    pub size: u32,
    /// Of those, the ones not in use.
    pub idle: u32,
}

/// Cheap to clone: every request takes a copy.
#[derive(Clone)]
pub struct Store {
    db: std::sync::Arc<Db>,
}

enum Db {
    /// SQLite allows one writer at a time: writes go through a pool of one
    /// connection, so they queue in the process instead of failing with
    /// `SQLITE_BUSY`; reads use their own pool and run beside it (WAL).
    Sqlite {
        writer: sqlite::Writer,
        readers: sqlite::Pool,
        /// For sqlx's own connections: migrations.
        options: Box<SqliteConnectOptions>,
    },
    Postgres(PgPool),
}

impl Store {
    pub fn backend(&self) -> Backend {
        match *self.db {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// A connection for reads.
    async fn read(&self) -> Result<Conn, StoreError> {
        Ok(match &*self.db {
            Db::Sqlite { readers, .. } => Conn::Sqlite(readers.acquire().await?),
            Db::Postgres(pool) => Conn::Postgres(pool.acquire().await?),
        })
    }

    /// A connection for reads that belong together, such as a ticket and
    /// its responses. On SQLite they share one read transaction: one
    /// snapshot, and SQLite's file lock taken once rather than around each
    /// statement. PostgreSQL reads each statement at its own moment, as
    /// [`Store::read`] does, rather than pay two more round trips.
    async fn read_together(&self) -> Result<Conn, StoreError> {
        Ok(match &*self.db {
            Db::Sqlite { readers, .. } => Conn::SqliteTx(readers.read_transaction().await?),
            Db::Postgres(pool) => Conn::Postgres(pool.acquire().await?),
        })
    }

    /// A write transaction. On SQLite it is a write of a group that commits
    /// together (`sqlite::Writer`), and the group's transaction starts with
    /// `BEGIN IMMEDIATE`, which takes the write lock at once: a deferred
    /// transaction that reads first and writes later can fail midway when
    /// another process holds the lock.
    async fn write(&self) -> Result<Conn, StoreError> {
        Ok(match &*self.db {
            Db::Sqlite { writer, .. } => Conn::SqliteWrite(writer.begin().await?),
            Db::Postgres(pool) => Conn::PostgresTx(pool.begin().await?),
        })
    }

    /// Each connection pool's name, size and idle connections, for the
    /// metrics.
    pub fn pool_usage(&self) -> Vec<PoolUsage> {
        let usage = |name: &'static str, size: u32, idle: usize| PoolUsage {
            name,
            size,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
        };
        match &*self.db {
            Db::Sqlite {
                writer, readers, ..
            } => vec![
                usage("writer", 1, usize::from(writer.is_idle())),
                usage("readers", readers.size(), readers.num_idle()),
            ],
            Db::Postgres(pool) => vec![usage("postgres", pool.size(), pool.num_idle())],
        }
    }

    /// Closes the pools, waiting for connections in use.
    pub async fn close(&self) {
        match &*self.db {
            Db::Sqlite {
                writer, readers, ..
            } => {
                writer.close().await;
                readers.close();
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}
