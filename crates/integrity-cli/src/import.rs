//! `integrity import`: tickets from JSON Lines, one per line, or from
//! call centers' own documents, one per file.
//!
//! Each JSON line is a ticket in the API's shape, bare or under a `ticket` key.
//! The call center is named by `{"id": N}` or, more handily for files, by
//! `{"name": "Georgia 811"}`. A bad line is reported by number and reason
//! and the rest are still taken in; intake is idempotent, so a file can be
//! imported again safely.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use integrity_domain::ticket::{parse_intake, TicketIntake};
use integrity_store::{AccountId, DatabaseUrl, IntakeOutcome, PreparedIntake, Provenance, Store};
use rayon::prelude::*;
use serde_json::Value;

#[derive(clap::Args)]
pub struct ImportArgs {
    /// Subdomain of the account the tickets belong to.
    #[arg(long)]
    account: String,
    /// jsonl (the API's ticket shape, one per line), or a call center's
    /// format, one document per file: auto, open-ticket, usan-xml,
    /// usan-text, usan-legacy, eml.
    #[arg(long, default_value = "jsonl")]
    format: String,
    /// The call center the documents come from (not for jsonl, whose lines
    /// name it).
    #[arg(long)]
    call_center: Option<String>,
    /// Files; for jsonl, `-` reads standard input; for documents, a folder
    /// stands for the files in it.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Default)]
struct Summary {
    created: u64,
    new_versions: u64,
    unchanged: u64,
    rejected: u64,
}

pub async fn run(url: &DatabaseUrl, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open(url).await?;
    let account = store
        .account_by_subdomain(&args.account)
        .await?
        .with_context(|| format!("no account with subdomain {:?}", args.account))?;
    let source = if args.format == "jsonl" {
        let centers = store
            .call_centers(account)
            .await?
            .into_iter()
            .map(|c| (c.name, c.id))
            .collect();
        Source::Lines { centers }
    } else {
        let name = args
            .call_center
            .as_deref()
            .context("--call-center is needed for documents")?;
        Source::Documents {
            call_center: call_center_id(&store, account, name).await?,
            format: (args.format != "auto").then(|| args.format.clone()),
        }
    };

    // Reading and parsing run on their own thread, a few batches ahead of
    // the database: the two overlap, and memory stays flat.
    let (sender, mut batches) = tokio::sync::mpsc::channel(BATCHES_AHEAD);
    let files = args.files.clone();
    let reader = std::thread::Builder::new()
        .name("import-reader".into())
        .spawn(move || source.read(&files, &sender))
        .context("starting the reading thread")?;
    let mut summary = Summary::default();
    while let Some(batch) = batches.recv().await {
        take_in(&store, account, batch, &mut summary).await?;
    }
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reading thread failed"))??;

    let files: Vec<String> = args.files.iter().map(|f| f.display().to_string()).collect();
    println!(
        "imported {}: {} created, {} new versions, {} unchanged, {} rejected",
        files.join(", "),
        summary.created,
        summary.new_versions,
        summary.unchanged,
        summary.rejected
    );
    // Rejected lines make the exit status 2 so scripts notice them.
    Ok(if summary.rejected > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

impl Summary {
    fn count(&mut self, outcome: IntakeOutcome) {
        match outcome {
            IntakeOutcome::Created => self.created += 1,
            IntakeOutcome::NewVersion => self.new_versions += 1,
            IntakeOutcome::Unchanged => self.unchanged += 1,
        }
    }
}

/// The id of the account's call center of that name.
pub async fn call_center_id(store: &Store, account: AccountId, name: &str) -> anyhow::Result<i64> {
    store
        .call_centers(account)
        .await?
        .into_iter()
        .find(|c| c.name == name)
        .map(|c| c.id)
        .with_context(|| format!("no call center named {name:?} in this account"))
}

/// Lines taken in per transaction: large enough that commits and round
/// trips stop dominating, small enough that a failure loses little work
/// and memory stays flat whatever the input's size.
const BATCH: usize = 500;

/// Documents per transaction: fewer, as each brings its source document
/// and the parser's leftovers (tens of kilobytes in memory).
const DOCUMENT_BATCH: usize = 100;

/// Batches read ahead of the database.
const BATCHES_AHEAD: usize = 2;

/// What the import reads.
enum Source {
    /// JSON Lines in the API's ticket shape; lines name their call center.
    Lines { centers: HashMap<String, i64> },
    /// One call-center document per file.
    Documents {
        call_center: i64,
        format: Option<String>,
    },
}

/// One input (a line or a file), read.
struct Input {
    /// Where it came from, for messages: `line 7` or a file name.
    origin: String,
    /// For documents: the line to print when it is taken in.
    announce: bool,
    ticket: Result<PreparedIntake, String>,
}

type Batches = tokio::sync::mpsc::Sender<Vec<Input>>;

impl Source {
    /// Reads every file, sending batches; stops early only when the
    /// receiving side has gone (it failed, and says why).
    ///
    /// Inputs are gathered one batch at a time, in order, and the batch is
    /// parsed on every CPU at once: parsing a call center's document costs
    /// as much as storing it, and one thread could not keep the database
    /// busy. A batch keeps its order, so a ticket's revisions are still
    /// taken in as they came.
    fn read(&self, files: &[PathBuf], batches: &Batches) -> anyhow::Result<()> {
        match self {
            Source::Lines { centers } => {
                let parse = |(number, text): (usize, String)| Input {
                    origin: format!("line {number}"),
                    announce: false,
                    ticket: read_line(centers, &text).and_then(|intake| prepare(intake, None)),
                };
                let mut batch = Vec::with_capacity(BATCH);
                for file in files {
                    read_lines(file, &mut batch, &mut |batch: &mut Vec<_>| {
                        send(batches, parse_all(batch, &parse))
                    })?;
                }
                send(batches, parse_all(&mut batch, &parse))
            }
            Source::Documents {
                call_center,
                format,
            } => {
                let parse = |path: PathBuf| Input {
                    ticket: crate::documents::read_file(*call_center, format.as_deref(), &path)
                        .and_then(|(intake, provenance)| prepare(intake, Some(provenance))),
                    origin: path.display().to_string(),
                    announce: true,
                };
                let mut batch = Vec::with_capacity(DOCUMENT_BATCH);
                for file in files {
                    for document in document_files(file)? {
                        batch.push(document);
                        if batch.len() == DOCUMENT_BATCH {
                            send(batches, parse_all(&mut batch, &parse))?;
                        }
                    }
                }
                send(batches, parse_all(&mut batch, &parse))
            }
        }
    }
}

/// Parses a batch on every CPU, keeping its order; leaves `batch` empty.
fn parse_all<T: Send>(batch: &mut Vec<T>, parse: &(impl Fn(T) -> Input + Sync)) -> Vec<Input> {
    std::mem::take(batch).into_par_iter().map(parse).collect()
}

/// A file, or the files of a folder in name order (a folder too large
/// for a command line).
fn document_files(path: &std::path::Path) -> anyhow::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).with_context(|| format!("reading {}", path.display()))? {
        let entry = entry.with_context(|| format!("reading {}", path.display()))?;
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

fn send(batches: &Batches, batch: Vec<Input>) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    // A closed channel means the database side stopped with an error,
    // which it reports; there is nothing to add here.
    let _ = batches.blocking_send(batch);
    Ok(())
}

/// Reads a file's lines into `batch`, handing each full batch to `flush`.
fn read_lines(
    file: &std::path::Path,
    batch: &mut Vec<(usize, String)>,
    flush: &mut impl FnMut(&mut Vec<(usize, String)>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let (reader, size): (Box<dyn Read>, Option<u64>) = if file.as_os_str() == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let file =
            std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
        let size = file.metadata().ok().map(|m| m.len());
        (Box::new(file), size)
    };
    let progress = match size {
        Some(bytes) => ProgressBar::new(bytes).with_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner(),
    };
    for (index, line) in BufReader::new(reader).lines().enumerate() {
        let number = index + 1;
        let text = line.with_context(|| format!("reading line {number}"))?;
        progress.inc(text.len() as u64 + 1);
        if text.trim().is_empty() {
            continue;
        }
        batch.push((number, text));
        if batch.len() == BATCH {
            progress.suspend(|| flush(batch))?;
        }
    }
    progress.finish_and_clear();
    Ok(())
}

async fn take_in(
    store: &Store,
    account: AccountId,
    batch: Vec<Input>,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let mut items = Vec::with_capacity(batch.len());
    let mut origins = Vec::with_capacity(batch.len());
    for read in batch {
        match read.ticket {
            Ok(item) => {
                items.push(item);
                origins.push((read.origin, read.announce));
            }
            Err(reason) => {
                summary.rejected += 1;
                eprintln!("{}: {reason}", read.origin);
            }
        }
    }
    if items.is_empty() {
        return Ok(());
    }
    let outcomes = store.intake_batch(account, &items).await.with_context(|| {
        format!(
            "taking in {} to {}",
            origins[0].0,
            origins[origins.len() - 1].0
        )
    })?;
    // The batch's report in one write: standard output is line-buffered,
    // and a write per document showed in the import's profile.
    let mut report = String::new();
    for (((origin, announce), item), outcome) in origins.iter().zip(&items).zip(outcomes) {
        match outcome {
            Ok(outcome) => {
                summary.count(outcome);
                if *announce {
                    let number = &item.intake().content.ticket_number;
                    let _ = writeln!(
                        report,
                        "{origin}: ticket {number} {}",
                        crate::documents::describe(outcome)
                    );
                }
            }
            Err(errors) => {
                summary.rejected += 1;
                eprintln!("{origin}: {errors}");
            }
        }
    }
    print!("{report}");
    Ok(())
}

/// Serializes what the store would on its one writer, here on a reading
/// thread.
fn prepare(intake: TicketIntake, source: Option<Provenance>) -> Result<PreparedIntake, String> {
    PreparedIntake::new(intake, source).map_err(|e| e.to_string())
}

/// A line as a ticket, or why not.
fn read_line(centers: &HashMap<String, i64>, line: &str) -> Result<TicketIntake, String> {
    let mut value: Value =
        serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
    if let Some(inner) = value.as_object_mut().and_then(|o| o.remove("ticket")) {
        value = inner;
    }
    resolve_call_center_name(&mut value, centers)?;
    parse_intake(value).map_err(|e| e.to_string())
}

/// Turns `"call_center": {"name": "…"}` into the id the intake expects.
fn resolve_call_center_name(
    value: &mut Value,
    centers: &HashMap<String, i64>,
) -> Result<(), String> {
    let Some(center) = value.get_mut("call_center").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    if center.contains_key("id") {
        return Ok(());
    }
    if let Some(name) = center.get("name").and_then(Value::as_str) {
        let id = centers
            .get(name)
            .ok_or_else(|| format!("call_center {name:?} is not a call center of this account"))?;
        center.insert("id".into(), Value::from(*id));
    }
    Ok(())
}
