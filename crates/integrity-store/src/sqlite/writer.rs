//! The one SQLite writer, with group commit.
//!
//! A durable commit costs an `fsync`, the largest part of a small write, and
//! SQLite allows one writer at a time, so writes one commit each are bounded
//! by the disk's syncs per second. Here the writes queued for the writer run
//! one after the other inside one transaction, each in a savepoint of its
//! own, and one `COMMIT` makes them all durable together:
//!
//! - a write begins (the first of a group also begins the transaction with
//!   `BEGIN IMMEDIATE`) and ends with `RELEASE`, or with `ROLLBACK TO` when
//!   it fails or is dropped, which undoes it alone;
//! - a released write with no other write waiting for the writer commits
//!   at once, with the group's earlier writes; when others are waiting, it
//!   leaves the transaction open for them and queues for the writer once
//!   more, behind them, to commit: the first of a group to come round
//!   commits the whole group, the others find the outcome there;
//! - a write is acknowledged only after the `COMMIT` that holds it
//!   succeeded. If it fails, every write of the group gets the error.
//!
//! The lock is a fair (first come, first served) `tokio` mutex, which is
//! what makes a group: everyone queued before a write's commit turn joins
//! its group. The commit turn runs as a task of its own, so that a request
//! dropped while waiting for it (its client went away) cannot leave the
//! group uncommitted, holding SQLite's write lock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use rusqlite::Connection;
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::checkpoint::{self, Checkpointer};
use super::{control, may_wait, Settings};
use crate::StoreError;

#[derive(Clone)]
pub(crate) struct Writer {
    settings: Settings,
    state: Arc<Mutex<State>>,
    /// Writes waiting to begin.
    waiting: Arc<AtomicUsize>,
}

/// Counts a write as waiting until it has the writer or is dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

struct State {
    /// Opened at the first write, and again after a failure left it unusable.
    conn: Option<Connection>,
    /// The group the open transaction belongs to; `None` outside one.
    group: Option<Arc<Group>>,
    /// Writes of the open group released and waiting for its commit.
    members: usize,
    /// Groups committed, for the metrics and the tests.
    commits: u64,
    closed: bool,
    checkpointer: Checkpointer,
}

/// What became of a group's commit, for each of its writes.
#[derive(Default)]
struct Group {
    outcome: OnceLock<Result<(), String>>,
}

impl Writer {
    pub fn new(settings: Settings) -> Writer {
        Writer {
            settings: settings.clone(),
            state: Arc::new(Mutex::new(State {
                conn: None,
                group: None,
                members: 0,
                commits: 0,
                closed: false,
                checkpointer: Checkpointer::start(settings),
            })),
            waiting: Arc::default(),
        }
    }

    #[cfg(test)]
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Opens the connection now, so that a bad path or a file that is not a
    /// database is reported when the store opens.
    pub async fn warm(&self) -> Result<(), StoreError> {
        let mut state = self.state.lock().await;
        state.connection(&self.settings)?;
        Ok(())
    }

    /// Begins a write: a savepoint in the open group's transaction, or in a
    /// new one.
    pub async fn begin(&self) -> Result<Write, StoreError> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let waiting = Waiting(&self.waiting);
        let mut state = Arc::clone(&self.state).lock_owned().await;
        drop(waiting);
        if state.closed {
            return Err(StoreError::Closed);
        }
        state.connection(&self.settings)?;
        if state.group.is_some() && state.conn().is_autocommit() {
            // SQLite ended the transaction itself (it does on some I/O
            // errors): the group's released writes are gone.
            state.give_up("SQLite rolled the transaction back");
        }
        if state.group.is_none() {
            may_wait(|| control(state.conn(), "BEGIN IMMEDIATE"))?;
            state.group = Some(Arc::default());
        }
        if let Err(e) = control(state.conn(), "SAVEPOINT write") {
            if state.members == 0 {
                state.give_up("a savepoint failed");
            }
            return Err(e.into());
        }
        Ok(Write {
            state: Some(state),
            writer: Arc::clone(&self.state),
            waiting: Arc::clone(&self.waiting),
        })
    }

    /// Commits an open group, if any, and refuses writes from then on.
    pub async fn close(&self) {
        let mut state = self.state.lock().await;
        if state.group.is_some() {
            // Its writes, waiting for their commit turn, find the outcome.
            let _ = state.commit();
        }
        state.closed = true;
        state.conn = None;
        may_wait(|| state.checkpointer.stop());
    }

    /// Whether the writer is free at this moment, for the metrics.
    pub fn is_idle(&self) -> bool {
        self.state.try_lock().is_ok()
    }
}

impl State {
    fn connection(&mut self, settings: &Settings) -> Result<&Connection, StoreError> {
        if self.conn.is_none() {
            let conn = settings.open()?;
            conn.execute_batch(&format!(
                "PRAGMA wal_autocheckpoint = {}",
                checkpoint::WRITER_THRESHOLD
            ))?;
            self.conn = Some(conn);
        }
        Ok(self.conn())
    }

    fn conn(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("the writer's connection is opened before use")
    }

    /// Commits the open group and records the outcome for its writes.
    fn commit(&mut self) -> Result<(), String> {
        let conn = self.conn();
        let result = may_wait(|| control(conn, "COMMIT")).map_err(|e| e.to_string());
        if result.is_err() && !conn.is_autocommit() {
            let _ = control(conn, "ROLLBACK");
        }
        if result.is_ok() {
            self.commits += 1;
            self.checkpointer.request();
        }
        self.end_group(result.clone());
        result
    }

    /// Rolls the open group back; its released writes get `why` as their
    /// error.
    fn give_up(&mut self, why: &str) {
        if let Some(conn) = &self.conn {
            if !conn.is_autocommit() {
                let _ = control(conn, "ROLLBACK");
            }
        }
        self.end_group(Err(why.to_string()));
    }

    fn end_group(&mut self, outcome: Result<(), String>) {
        if let Some(group) = self.group.take() {
            let _ = group.outcome.set(outcome);
        }
        self.members = 0;
        if self.conn.as_ref().is_some_and(|c| !c.is_autocommit()) {
            // Still inside a transaction it could not end: a new connection
            // starts clean.
            self.conn = None;
        }
    }
}

/// One write, holding the writer until it is committed or dropped.
pub(crate) struct Write {
    state: Option<OwnedMutexGuard<State>>,
    writer: Arc<Mutex<State>>,
    waiting: Arc<AtomicUsize>,
}

impl std::ops::Deref for Write {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.state
            .as_ref()
            .expect("a write holds the writer until it ends")
            .conn()
    }
}

impl Write {
    /// Releases the write into its group and waits for the group's commit.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        let mut state = self
            .state
            .take()
            .expect("a write holds the writer until it ends");
        if let Err(e) = control(state.conn(), "RELEASE write") {
            self.state = Some(state);
            return Err(e.into());
        }
        state.members += 1;
        if self.waiting.load(Ordering::SeqCst) == 0 {
            // Nobody to wait for: holding the transaction open would only
            // delay this write, and hold SQLite's lock against other
            // processes.
            return state.commit().map_err(StoreError::CommitFailed);
        }
        let group = Arc::clone(state.group.as_ref().expect("a write is inside a group"));
        drop(state);
        let writer = Arc::clone(&self.writer);
        tokio::spawn(async move { commit_turn(&writer, &group).await })
            .await
            .map_err(|e| StoreError::CommitFailed(e.to_string()))?
    }

    /// Drops the write's changes.
    fn undo(&mut self) {
        let Some(mut state) = self.state.take() else {
            return;
        };
        let conn = state.conn();
        let undone =
            control(conn, "ROLLBACK TO write").and_then(|()| control(conn, "RELEASE write"));
        match undone {
            // Nobody else's writes are waiting: end the transaction rather
            // than hold SQLite's write lock until the next write.
            Ok(()) if state.members == 0 => state.give_up("no write to commit"),
            Ok(()) => {}
            Err(_) => state.give_up("a failed write could not be undone alone"),
        }
    }
}

impl Drop for Write {
    fn drop(&mut self) {
        self.undo();
    }
}

/// A released write's turn to commit: the first of its group to come round
/// commits, the others read the outcome.
async fn commit_turn(writer: &Mutex<State>, group: &Group) -> Result<(), StoreError> {
    {
        let mut state = writer.lock().await;
        let outcome = match group.outcome.get() {
            Some(outcome) => outcome.clone(),
            None => state.commit(),
        };
        outcome.map_err(StoreError::CommitFailed)
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::task::Poll;
    use std::time::Duration;

    use super::*;

    struct Fixture {
        writer: Writer,
        _dir: tempfile::TempDir,
    }

    /// A writer on a fresh file holding `t (v INTEGER UNIQUE)`.
    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            path: dir.path().join("w.db"),
            busy_timeout: Duration::from_millis(100),
        };
        settings
            .open()
            .unwrap()
            .execute_batch("CREATE TABLE t (v INTEGER UNIQUE)")
            .unwrap();
        Fixture {
            writer: Writer::new(settings),
            _dir: dir,
        }
    }

    impl Fixture {
        /// What another connection sees: only what was committed.
        fn committed(&self) -> Vec<i64> {
            let conn = self.writer.settings.open().unwrap();
            let mut statement = conn.prepare("SELECT v FROM t ORDER BY v").unwrap();
            let rows = statement.query_map([], |row| row.get(0)).unwrap();
            rows.map(Result::unwrap).collect()
        }

        fn commits(&self) -> u64 {
            self.writer.state.try_lock().unwrap().commits
        }

        /// A write inserting each of `values`; the first that fails ends it
        /// with that error, after the ones before it were inserted.
        fn insert(&self, values: Vec<i64>) -> impl Future<Output = Result<(), StoreError>> {
            let writer = self.writer.clone();
            async move {
                let write = writer.begin().await?;
                for v in values {
                    write.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
                }
                write.commit().await
            }
        }
    }

    /// Waits, without a clock, until `n` writes are queued for the writer.
    async fn until_waiting(f: &Fixture, n: usize) {
        while f.writer.waiting.load(Ordering::SeqCst) < n {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn commits_are_checkpointed_off_the_writer() {
        let f = fixture().await;
        let checkpoints = || f.writer.state.try_lock().unwrap().checkpointer.done();
        assert_eq!(checkpoints(), 0);
        f.insert(vec![1]).await.unwrap();
        // The checkpoint thread answers within its pause; ten seconds is
        // only a bound for a stalled machine.
        for _ in 0..1000 {
            if checkpoints() > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(checkpoints(), 1);
        let writer = f.writer.state.try_lock().unwrap();
        let threshold: u32 = writer
            .conn()
            .query_row("PRAGMA wal_autocheckpoint", [], |row| row.get(0))
            .unwrap();
        assert_eq!(threshold, checkpoint::WRITER_THRESHOLD);
    }

    #[tokio::test]
    async fn a_write_alone_commits_at_once() {
        let f = fixture().await;
        f.insert(vec![1]).await.unwrap();
        assert_eq!(f.commits(), 1);
        f.insert(vec![2]).await.unwrap();
        assert_eq!((f.commits(), f.committed()), (2, vec![1, 2]));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_queued_together_commit_together_and_a_failed_one_alone_is_undone() {
        let f = fixture().await;
        f.insert(vec![100]).await.unwrap();
        assert_eq!(f.commits(), 1);

        // Twenty writes queue while a first one holds the writer; the
        // eleventh inserts 1011, then fails on 100, which is taken.
        let first = f.writer.begin().await.unwrap();
        first.execute("INSERT INTO t (v) VALUES (0)", []).unwrap();
        let writes: Vec<_> = (1..=20)
            .map(|i| {
                let values = if i == 11 { vec![1011, 100] } else { vec![i] };
                tokio::spawn(f.insert(values))
            })
            .collect();
        until_waiting(&f, 20).await;
        first.commit().await.unwrap();
        let mut outcomes = Vec::new();
        for write in writes {
            outcomes.push(write.await.unwrap());
        }
        for (i, outcome) in (1..).zip(&outcomes) {
            assert_eq!(outcome.is_ok(), i != 11, "write {i}: {outcome:?}");
        }
        assert_eq!(f.commits(), 2, "the twenty-one writes made one group");
        let expected: Vec<i64> = (0..=20).filter(|i| *i != 11).chain([100]).collect();
        assert_eq!(f.committed(), expected);
    }

    #[tokio::test]
    async fn a_write_dropped_before_its_commit_is_undone_and_releases_the_lock() {
        let f = fixture().await;
        let write = f.writer.begin().await.unwrap();
        write.execute("INSERT INTO t (v) VALUES (1)", []).unwrap();
        drop(write);

        // Nothing is left holding SQLite's write lock: another connection
        // can write at once.
        let other = f.writer.settings.open().unwrap();
        other.execute_batch("BEGIN IMMEDIATE; COMMIT").unwrap();
        f.insert(vec![2]).await.unwrap();
        assert_eq!(f.committed(), vec![2]);
    }

    #[tokio::test]
    async fn a_released_write_is_committed_even_when_its_caller_stops_waiting() {
        let f = fixture().await;
        let first = f.writer.begin().await.unwrap();
        first.execute("INSERT INTO t (v) VALUES (7)", []).unwrap();
        // A write queued behind it makes it leave the group open; that one
        // then gives up without writing.
        let second = tokio::spawn({
            let writer = f.writer.clone();
            async move { drop(writer.begin().await.unwrap()) }
        });
        until_waiting(&f, 1).await;
        let mut waiting = Box::pin(first.commit());
        // One poll runs the write to its release and queues its commit
        // turn; then the caller goes away, as when a client disconnects.
        std::future::poll_fn(|cx| {
            assert!(waiting.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        drop(waiting);
        second.await.unwrap();
        // The commit turn runs when this task yields.
        for _ in 0..1000 {
            if f.commits() > 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(f.committed(), vec![7]);
    }

    #[tokio::test]
    async fn a_failed_commit_fails_every_write_of_its_group() {
        let f = fixture().await;
        // A deferred foreign key is checked at COMMIT: the group's commit
        // fails, and neither write of it may be acknowledged.
        let setup = f.writer.settings.open().unwrap();
        setup
            .execute_batch(
                "CREATE TABLE parent (id INTEGER PRIMARY KEY);
                 CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);",
            )
            .unwrap();
        let good = f.writer.begin().await.unwrap();
        good.execute("INSERT INTO t (v) VALUES (1)", []).unwrap();
        let orphan = tokio::spawn({
            let writer = f.writer.clone();
            async move {
                let write = writer.begin().await?;
                write.execute("INSERT INTO child (parent) VALUES (42)", [])?;
                write.commit().await
            }
        });
        until_waiting(&f, 1).await;
        let (good, orphan) = (good.commit().await, orphan.await.unwrap());
        assert!(matches!(good, Err(StoreError::CommitFailed(_))), "{good:?}");
        assert!(
            matches!(orphan, Err(StoreError::CommitFailed(_))),
            "{orphan:?}"
        );
        assert_eq!(f.committed(), Vec::<i64>::new());
        // The writer goes on.
        f.insert(vec![3]).await.unwrap();
        assert_eq!(f.committed(), vec![3]);
    }
}
