//! Checkpoints on a thread of their own.
//!
//! In WAL mode a commit appends pages to the log; a checkpoint copies them
//! back into the database file and syncs it. SQLite runs a checkpoint
//! inside the commit that finds the log past its threshold, and so inside
//! the one writer's turn, where it delayed every write queued behind it
//! (half of a group's commit time, measured). Here a thread with its own
//! connection runs a `PASSIVE` checkpoint after commits, beside the writer:
//! a passive checkpoint copies what no reader still needs and never waits
//! for, or blocks, the writer or the readers. The writer keeps SQLite's own
//! checkpoint at a higher threshold, should this thread fall behind.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;
use std::time::Duration;

use super::Settings;

/// The log's length, in pages, past which the writer checkpoints itself:
/// only when this thread fell behind.
pub(super) const WRITER_THRESHOLD: u32 = 8_000;

/// At most so many checkpoints a second: each syncs the database file, and
/// the pages of several commits are better copied in one go.
const PAUSE: Duration = Duration::from_millis(50);

/// Asks the checkpoint thread for a checkpoint; the thread ends when this
/// is dropped or stopped.
pub(super) struct Checkpointer {
    /// `None` once stopped.
    wake: Option<SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Checkpoints run, which the tests wait for.
    #[cfg_attr(not(test), allow(dead_code))]
    done: Arc<AtomicU64>,
}

impl Checkpointer {
    pub fn start(settings: Settings) -> Checkpointer {
        // One pending request is enough: requests made while a checkpoint
        // runs are all served by the next one.
        let (wake, requests) = mpsc::sync_channel(1);
        let done = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&done);
        // Without the thread, the writer's own checkpoints do the work.
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&settings, &requests, &counter))
            .ok();
        Checkpointer {
            wake: Some(wake),
            thread,
            done,
        }
    }

    /// After a commit.
    pub fn request(&self) {
        // Full: a checkpoint is already due. Disconnected: no thread.
        if let Some(wake) = &self.wake {
            let _ = wake.try_send(());
        }
    }

    /// Ends the thread and waits for it, so that its connection is closed
    /// when the store closes: the last connection to close checkpoints
    /// the log into the database file and removes it. Waits at most for
    /// one checkpoint and one pause.
    pub fn stop(&mut self) {
        self.wake = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Checkpoints run so far.
    #[cfg(test)]
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::SeqCst)
    }
}

fn run(settings: &Settings, requests: &Receiver<()>, done: &AtomicU64) {
    let mut conn = None;
    while requests.recv().is_ok() {
        if conn.is_none() {
            conn = settings.open().ok();
        }
        if let Some(c) = &conn {
            // A busy answer (another process checkpointing) or an error
            // leaves the work to the next request, or to the writer.
            match c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                Ok(()) => {
                    done.fetch_add(1, Ordering::SeqCst);
                }
                Err(_) => conn = None,
            }
        }
        std::thread::sleep(PAUSE);
    }
}
