//! SQLite connections whose statements run on the calling thread: a pool of
//! readers here, the writer in [`writer`].
//!
//! sqlx's SQLite driver gives each connection a thread of its own and hands
//! every statement, and every row, across a channel to it and back. On a
//! local file a statement takes microseconds and the two thread wake-ups
//! around it take far longer: they were most of a request's CPU (see
//! `docs/performance.md`). Here a connection is leased whole to one task,
//! which runs its statements directly; a lease waits asynchronously, a
//! statement never does. The two statements that can wait on something
//! outside the process, `BEGIN IMMEDIATE` (another process's write lock) and
//! `COMMIT` (the disk), tell the async runtime first, so that other requests
//! keep being served meanwhile.
//!
//! sqlx still opens the database for migrations, backups and PostgreSQL;
//! both link the same SQLite library.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::StoreError;

mod checkpoint;
mod writer;
pub(crate) use writer::{Write, Writer};

/// How every connection is set up; the same as the sqlx options the
/// migrations use (`open.rs`).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub path: PathBuf,
    pub busy_timeout: Duration,
}

impl Settings {
    pub(super) fn open(&self) -> Result<Connection, rusqlite::Error> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(self.busy_timeout)?;
        // FULL: an acknowledged write survives a power cut, not only a
        // crash of the process. `journal_mode` answers with a row, so it is
        // read rather than executed.
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
        // Lists and imports build `IN (…)` lists of varying length: each
        // length is a statement of its own.
        conn.set_prepared_statement_cache_capacity(256);
        Ok(conn)
    }
}

/// Up to `max` connections to one database file, opened as needed and
/// kept open.
#[derive(Clone)]
pub(crate) struct Pool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    settings: Settings,
    slots: Arc<Semaphore>,
    idle: Mutex<Vec<Connection>>,
    open: AtomicU32,
}

impl Pool {
    pub fn new(settings: Settings, max: u32) -> Pool {
        Pool {
            inner: Arc::new(PoolInner {
                settings,
                slots: Arc::new(Semaphore::new(max as usize)),
                idle: Mutex::new(Vec::new()),
                open: AtomicU32::new(0),
            }),
        }
    }

    pub async fn acquire(&self) -> Result<Lease, StoreError> {
        let permit = Arc::clone(&self.inner.slots)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let idle = self
            .inner
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let conn = self.inner.settings.open()?;
                self.inner.open.fetch_add(1, Ordering::Relaxed);
                conn
            }
        };
        Ok(Lease {
            conn: Some(conn),
            pool: Arc::clone(&self.inner),
            _permit: permit,
        })
    }

    /// A read transaction: one snapshot for all its statements, taken at
    /// its first read. Rolled back if dropped uncommitted.
    ///
    /// A deferred `BEGIN` takes no lock and so never waits: it runs on the
    /// task's thread, without [`may_wait`]'s hand-off of the runtime's
    /// worker to another thread, which would cost more than the whole read.
    pub async fn read_transaction(&self) -> Result<Tx, StoreError> {
        let lease = self.acquire().await?;
        control(&lease, "BEGIN")?;
        Ok(Tx { lease, open: true })
    }

    /// Connections open.
    pub fn size(&self) -> u32 {
        self.inner.open.load(Ordering::Relaxed)
    }

    /// Of those, the ones not leased.
    pub fn num_idle(&self) -> usize {
        self.inner
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Refuses new leases and closes the idle connections; a leased one
    /// closes when its lease ends.
    pub fn close(&self) {
        self.inner.slots.close();
        let idle = std::mem::take(
            &mut *self
                .inner
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        self.inner
            .open
            .fetch_sub(idle.len() as u32, Ordering::Relaxed);
    }
}

/// A connection leased from a [`Pool`], given back when dropped.
pub(crate) struct Lease {
    conn: Option<Connection>,
    pool: Arc<PoolInner>,
    _permit: OwnedSemaphorePermit,
}

impl std::ops::Deref for Lease {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("a lease holds its connection until dropped")
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        // A connection still inside a transaction (its rollback failed)
        // must not be handed to the next task: it is closed instead.
        if conn.is_autocommit() && !self.pool.slots.is_closed() {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
        } else {
            self.pool.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// A read transaction on a leased connection.
pub(crate) struct Tx {
    lease: Lease,
    open: bool,
}

impl Tx {
    /// Ends the read; nothing was written, so nothing waits for the disk.
    pub fn commit(mut self) -> Result<(), StoreError> {
        control(&self.lease, "COMMIT")?;
        self.open = false;
        Ok(())
    }
}

impl std::ops::Deref for Tx {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.lease
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if self.open {
            // An error here leaves the connection inside the transaction,
            // and the lease then closes it rather than reuse it.
            let _ = control(&self.lease, "ROLLBACK");
        }
    }
}

/// Runs a statement without arguments or rows (`BEGIN`, `COMMIT`, a
/// savepoint's), kept prepared: these come with every transaction.
pub(super) fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// Runs `f`, which may wait for the disk or another process, telling a
/// multi-threaded runtime first so that it moves other tasks off this
/// thread meanwhile. A single-threaded runtime (tests) just runs it.
pub(super) fn may_wait<R>(f: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}
