//! How many documents a second each parser reads, on one thread, with the
//! file already in memory: the parser's own cost, apart from the disk and
//! the database that `bench/import.py` measures with it.
//!
//!     cargo run --release -p integrity-intake --example parse_rate -- FILE...
//!
//! Each file is parsed in the format it is detected as, for about a second.

use std::time::{Duration, Instant};

// The allocator the `integrity` binary uses, so the figures are its own.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: parse_rate FILE...");
        std::process::exit(2);
    }
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let Some(format) = integrity_intake::detect(&bytes, None) else {
            eprintln!("{file}: format not detected");
            continue;
        };
        if let Err(e) = integrity_intake::parse(format, &bytes) {
            eprintln!("{file}: {e}");
            continue;
        }
        let started = Instant::now();
        let mut parsed = 0u64;
        while started.elapsed() < Duration::from_secs(1) {
            for _ in 0..100 {
                std::hint::black_box(
                    integrity_intake::parse(format, std::hint::black_box(&bytes)).ok(),
                );
            }
            parsed += 100;
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{:<12} {:>8.0} documents/s  {:>6.1} µs each  {:>7.1} MB/s  {file}",
            format.name(),
            parsed as f64 / seconds,
            seconds * 1e6 / parsed as f64,
            (bytes.len() as f64 * parsed as f64) / seconds / 1e6,
        );
    }
}
