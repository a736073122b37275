//! `integrity import`: tickets from JSON Lines, one per line, or from
//! call centers' own documents, one per file.
//!
//! Each JSON line is a ticket in the API's shape, bare or under a `ticket` key.
//! The call center is named by `{"id": N}` or, more handily for files, by
//! `{"name": "Georgia 811"}`. A bad line is reported by number and reason
//! and the rest are still taken in; intake is idempotent, so a file can be
//! imported again safely.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use integrity_domain::ticket::{parse_intake, TicketIntake};
use integrity_store::{AccountId, DatabaseUrl, IntakeOutcome, Store};
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
    /// Files; for jsonl, `-` reads standard input.
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
    let summary = if args.format == "jsonl" {
        let mut summary = Summary::default();
        for file in &args.files {
            import_lines(&store, account, file, &mut summary).await?;
        }
        summary
    } else {
        let name = args
            .call_center
            .as_deref()
            .context("--call-center is needed for documents")?;
        let center = call_center_id(&store, account, name).await?;
        let format = (args.format != "auto").then_some(args.format.as_str());
        let mut summary = Summary::default();
        let mut batch = Vec::with_capacity(DOCUMENT_BATCH);
        for file in &args.files {
            match crate::documents::read_file(center, format, file) {
                Ok(read) => batch.push((file.clone(), read)),
                Err(reason) => {
                    summary.rejected += 1;
                    eprintln!("{}: {reason}", file.display());
                }
            }
            if batch.len() == DOCUMENT_BATCH {
                take_in_documents(&store, account, &mut batch, &mut summary).await?;
            }
        }
        take_in_documents(&store, account, &mut batch, &mut summary).await?;
        summary
    };
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

async fn import_lines(
    store: &Store,
    account: AccountId,
    file: &std::path::Path,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let centers: HashMap<String, i64> = store
        .call_centers(account)
        .await?
        .into_iter()
        .map(|c| (c.name, c.id))
        .collect();

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

    let mut batch: Vec<(usize, TicketIntake)> = Vec::with_capacity(BATCH);
    for (index, line) in BufReader::new(reader).lines().enumerate() {
        let number = index + 1;
        let line = line.with_context(|| format!("reading line {number}"))?;
        progress.inc(line.len() as u64 + 1);
        if line.trim().is_empty() {
            continue;
        }
        match read_line(&centers, &line) {
            Ok(intake) => batch.push((number, intake)),
            Err(reason) => {
                summary.rejected += 1;
                progress.suspend(|| eprintln!("line {number}: {reason}"));
            }
        }
        if batch.len() == BATCH {
            take_in(store, account, &mut batch, summary, &progress).await?;
        }
    }
    take_in(store, account, &mut batch, summary, &progress).await?;
    progress.finish_and_clear();
    Ok(())
}

/// Documents taken in per transaction; fewer than lines, as each carries
/// its whole source document.
const DOCUMENT_BATCH: usize = 100;

async fn take_in_documents(
    store: &Store,
    account: AccountId,
    batch: &mut Vec<(PathBuf, (TicketIntake, integrity_store::Provenance))>,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let (files, items): (Vec<PathBuf>, Vec<_>) = batch
        .drain(..)
        .map(|(file, (intake, provenance))| (file, (intake, Some(provenance))))
        .unzip();
    let outcomes = store.intake_batch(account, &items).await?;
    for ((file, (intake, _)), outcome) in files.iter().zip(&items).zip(outcomes) {
        match outcome {
            Ok(outcome) => {
                summary.count(outcome);
                let number = &intake.content.ticket_number;
                println!(
                    "{}: ticket {number} {}",
                    file.display(),
                    crate::documents::describe(outcome)
                );
            }
            Err(errors) => {
                summary.rejected += 1;
                eprintln!("{}: {errors}", file.display());
            }
        }
    }
    Ok(())
}

/// Tickets taken in per transaction: large enough that commits stop
/// dominating, small enough that a failure loses little work and memory
/// stays flat whatever the file's size.
const BATCH: usize = 500;

async fn take_in(
    store: &Store,
    account: AccountId,
    batch: &mut Vec<(usize, TicketIntake)>,
    summary: &mut Summary,
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let items: Vec<(TicketIntake, Option<integrity_store::Provenance>)> = batch
        .iter()
        .map(|(_, intake)| (intake.clone(), None))
        .collect();
    let first = batch[0].0;
    let outcomes = store
        .intake_batch(account, &items)
        .await
        .with_context(|| format!("taking in lines {first} to {}", batch[batch.len() - 1].0))?;
    for ((number, _), outcome) in batch.iter().zip(outcomes) {
        match outcome {
            Ok(outcome) => summary.count(outcome),
            Err(errors) => {
                summary.rejected += 1;
                progress.suspend(|| eprintln!("line {number}: {errors}"));
            }
        }
    }
    batch.clear();
    Ok(())
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
