//! The threads that read and parse an import's inputs.
//!
//! The database's one writer is what bounds an import: every ticket passes
//! through it, while reading and parsing spread over every CPU. Two things
//! keep the writer busy rather than waiting:
//!
//! - the parsing threads run below the writer's priority, so they take the
//!   CPU time the writer leaves and never make it wait its turn (and an
//!   import run beside a serving Integrity yields to its requests too);
//! - there are more of them than CPUs, so a document read from a cold disk
//!   blocks one thread while the others keep parsing.

use anyhow::Context;

/// Parsing threads per CPU: enough that a few reads waiting on the disk
/// leave no CPU idle.
const THREADS_PER_CPU: usize = 8;

/// How much lower the parsing threads' priority is than the writer's (a
/// nice increment: 10 gives them about a tenth of the writer's share of a
/// contended CPU).
const NICENESS: i32 = 10;

pub fn pool() -> anyhow::Result<rayon::ThreadPool> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    rayon::ThreadPoolBuilder::new()
        .num_threads(cpus * THREADS_PER_CPU)
        .thread_name(|i| format!("import-parse-{i}"))
        .start_handler(|_| lower_priority())
        .build()
        .context("starting the parsing threads")
}

/// Lowers the calling thread's priority. Linux keeps a nice value per
/// thread, so this leaves the writer's as it was; elsewhere the threads
/// keep the process's priority.
#[cfg(target_os = "linux")]
fn lower_priority() {
    use rustix::process::{getpriority_process, setpriority_process};
    // No process id is the calling thread on Linux; the value set is
    // absolute, so it is the writer's plus the increment (an import run
    // under `nice` keeps the order), and Linux's lowest priority is 19. A
    // failure (a sandbox forbidding it) only leaves the priority as it was.
    if let Ok(writer) = getpriority_process(None) {
        let _ = setpriority_process(None, (writer + NICENESS).min(19));
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use rustix::process::getpriority_process;

    #[test]
    fn parsing_threads_yield_to_the_thread_that_writes() {
        let writer = getpriority_process(None).unwrap();
        let workers = super::pool().unwrap();
        let parsing = workers.install(|| getpriority_process(None).unwrap());
        assert_eq!(parsing, (writer + super::NICENESS).min(19));
        assert_eq!(
            getpriority_process(None).unwrap(),
            writer,
            "the writer's priority changed"
        );
        let cpus = std::thread::available_parallelism().unwrap().get();
        assert_eq!(workers.current_num_threads(), cpus * super::THREADS_PER_CPU);
    }
}
