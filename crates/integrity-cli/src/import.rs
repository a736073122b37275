//! `integrity import`: tickets from JSON Lines, one per line, or from
//! call centers' own documents, one per file.
//!
//! Each JSON line is a ticket in the API's shape, bare or under a `ticket` key.
//! The call center is named by `{"id": N}` or, more handily for files, by
//! `{"name": "Georgia 811"}`. A bad line or file is reported by its place
//! and reason, in order, and the rest are still taken in; intake is
//! idempotent, so a file can be imported again safely.

mod read;
mod report;
mod workers;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use integrity_store::{AccountId, DatabaseUrl, IntakeOutcome, Store};

use read::{Input, Parsed, Source};
use report::Report;

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

    // Reading and parsing run on their own threads, a few batches ahead of
    // the database: the two overlap, and memory stays flat.
    let (sender, mut batches) = tokio::sync::mpsc::channel(BATCHES_AHEAD);
    let files = args.files.clone();
    let reader = std::thread::Builder::new()
        .name("import-reader".into())
        .spawn(move || source.read(&files, &sender))
        .context("starting the reading thread")?;
    let mut summary = Summary::default();
    let mut report = Report::default();
    while let Some(batch) = batches.recv().await {
        take_in(&store, account, batch, &mut summary, &mut report).await?;
    }
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reading thread failed"))??;
    // On SQLite, closing folds the log back into the database file: what
    // was imported is then all in the one file, for a copy made next.
    store.close().await;

    let files: Vec<String> = args.files.iter().map(|f| f.display().to_string()).collect();
    report.out(format_args!(
        "imported {}: {} created, {} new versions, {} unchanged, {} rejected",
        files.join(", "),
        summary.created,
        summary.new_versions,
        summary.unchanged,
        summary.rejected
    ));
    report.flush()?;
    // Rejected inputs make the exit status 2 so scripts notice them.
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

/// Batches read ahead of the database.
const BATCHES_AHEAD: usize = 2;

/// Takes a batch's tickets in, in one transaction, then reports every
/// input of the batch in its order.
async fn take_in(
    store: &Store,
    account: AccountId,
    batch: Vec<Input>,
    summary: &mut Summary,
    report: &mut Report,
) -> anyhow::Result<()> {
    // The tickets go to the store together; each input keeps its place in
    // the report, a ticket's place standing for its outcome.
    let mut tickets = Vec::new();
    let mut places = Vec::with_capacity(batch.len());
    for input in batch {
        let place = match input.read {
            Parsed::Ticket(ticket) => {
                tickets.push(ticket);
                Parsed::Ticket(())
            }
            Parsed::Refused(reason) => Parsed::Refused(reason),
            Parsed::Skipped(note) => Parsed::Skipped(note),
        };
        places.push((input.origin, input.announce, place));
    }
    let outcomes = if tickets.is_empty() {
        Vec::new()
    } else {
        let (first, last) = (&places[0].0, &places[places.len() - 1].0);
        store
            .intake_batch(account, &tickets)
            .await
            .with_context(|| format!("taking in {first} to {last}"))?
    };
    let mut outcomes = outcomes.into_iter().zip(&tickets);
    for (origin, announce, place) in places {
        match place {
            Parsed::Refused(reason) => {
                summary.rejected += 1;
                report.err(format_args!("{origin}: {reason}"))?;
            }
            Parsed::Skipped(note) => report.err(format_args!("{origin}: {note}"))?,
            Parsed::Ticket(()) => match outcomes.next() {
                Some((Ok(outcome), ticket)) => {
                    summary.count(outcome);
                    if announce {
                        let number = &ticket.intake().content.ticket_number;
                        let taken = crate::documents::describe(outcome);
                        report.out(format_args!("{origin}: ticket {number} {taken}"));
                    }
                }
                Some((Err(errors), _)) => {
                    summary.rejected += 1;
                    report.err(format_args!("{origin}: {errors}"))?;
                }
                None => anyhow::bail!("the store gave fewer outcomes than tickets"),
            },
        }
    }
    report.flush()
}
