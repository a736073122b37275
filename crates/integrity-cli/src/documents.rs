//! Taking in call centers' own documents from files: `integrity import
//! --format …` and `integrity intake watch DIR`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use integrity_api::intake::{read_document, resolve_format};
use integrity_domain::ticket::TicketIntake;
use integrity_store::{AccountId, IntakeOutcome, Provenance, Store, StoreError};

/// What became of one document.
pub enum Taken {
    Done(IntakeOutcome, String),
    Refused(String),
}

/// Reads one file as a ticket of `call_center` and takes it in.
pub async fn take_file(
    store: &Store,
    account: AccountId,
    call_center: i64,
    format: Option<&str>,
    path: &Path,
) -> Result<Taken, StoreError> {
    let (intake, provenance) = match read_file(call_center, format, path) {
        Ok(read) => read,
        Err(reason) => return Ok(Taken::Refused(reason)),
    };
    match store
        .intake_ticket(account, &intake, None, Some(&provenance))
        .await
    {
        Ok((outcome, ticket)) => Ok(Taken::Done(outcome, ticket.content.ticket_number)),
        Err(StoreError::Invalid(e)) => Ok(Taken::Refused(e.to_string())),
        Err(e) => Err(e),
    }
}

/// Reads one file as a ticket of `call_center`, or says why it is none.
pub fn read_file(
    call_center: i64,
    format: Option<&str>,
    path: &Path,
) -> Result<(TicketIntake, Provenance), String> {
    let body = std::fs::read(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let content_type = content_type_for(path);
    let format =
        resolve_format(format, &body, content_type, "--format").map_err(|e| e.to_string())?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    read_document(
        call_center,
        format,
        &name,
        content_type.unwrap_or("application/octet-stream"),
        body,
    )
    .map_err(|e| e.to_string())
}

/// A content type from the file's extension, to help format detection.
fn content_type_for(path: &Path) -> Option<&'static str> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "json" => Some("application/json"),
        "xml" => Some("application/xml"),
        "eml" => Some("message/rfc822"),
        "txt" => Some("text/plain"),
        _ => None,
    }
}

#[derive(clap::Args)]
pub struct WatchArgs {
    /// Subdomain of the account the tickets belong to.
    #[arg(long)]
    account: String,
    /// Name of the call center the documents come from.
    #[arg(long)]
    call_center: String,
    /// auto, open-ticket, usan-xml, usan-text, usan-legacy or eml.
    #[arg(long, default_value = "auto")]
    format: String,
    /// How often to look for new files.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    /// Process what is there now, then exit.
    #[arg(long)]
    once: bool,
    /// The folder documents are dropped into.
    dir: PathBuf,
}

/// A file younger than this may still be being written.
const SETTLE: Duration = Duration::from_millis(500);

/// Takes in every file dropped into a folder, moving each to `done/` or
/// `failed/` (with `NAME.reason.txt`). Nothing is ever deleted.
pub async fn watch(store: &Store, args: WatchArgs) -> anyhow::Result<()> {
    let account = store
        .account_by_subdomain(&args.account)
        .await?
        .with_context(|| format!("no account with subdomain {:?}", args.account))?;
    let call_center = crate::import::call_center_id(store, account, &args.call_center).await?;
    let format = (args.format != "auto").then_some(args.format.as_str());
    let done = args.dir.join("done");
    let failed = args.dir.join("failed");
    std::fs::create_dir_all(&done).with_context(|| format!("creating {}", done.display()))?;
    std::fs::create_dir_all(&failed).with_context(|| format!("creating {}", failed.display()))?;
    say(format_args!(
        "watching {} for {} tickets",
        args.dir.display(),
        args.call_center
    ));
    loop {
        for (path, dropped) in settled_entries(&args.dir, args.once)? {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let taken = match dropped {
                Dropped::File => take_file(store, account, call_center, format, &path).await?,
                Dropped::NotAFile(reason) => Taken::Refused(reason),
            };
            match taken {
                Taken::Done(outcome, number) => {
                    let outcome = describe(outcome);
                    match move_aside(&path, &done, false)? {
                        Some(moved) => say(format_args!(
                            "{name}: ticket {number} {outcome} → {}",
                            moved.display()
                        )),
                        None => say(format_args!(
                            "{name}: ticket {number} {outcome}; the file was taken away before it could be moved"
                        )),
                    }
                }
                Taken::Refused(reason) => match move_aside(&path, &failed, true)? {
                    Some(moved) => {
                        let reason_file = reason_file_of(&moved);
                        std::fs::write(&reason_file, format!("{reason}\n"))
                            .with_context(|| format!("writing {}", reason_file.display()))?;
                        complain(format_args!("{name}: refused: {reason}"));
                    }
                    // Taken away by someone else while it was read: not
                    // this watcher's to judge any more.
                    None => complain(format_args!("{name}: taken away while it was read")),
                },
            }
        }
        if args.once {
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(args.interval_ms)) => {}
            () = crate::shutdown::signal() => return Ok(()),
        }
    }
}

/// A line of the watcher's log on standard output. Its files in `done/`
/// and `failed/` are the record of what it did, so a log nobody reads any
/// more (a closed pipe) must not stop it, as `println!` would by panicking.
fn say(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// The same on standard error.
fn complain(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

pub fn describe(outcome: IntakeOutcome) -> &'static str {
    match outcome {
        IntakeOutcome::Created => "created",
        IntakeOutcome::NewVersion => "updated (new version)",
        IntakeOutcome::Unchanged => "unchanged (retransmission)",
    }
}

/// What was dropped into the watched folder.
enum Dropped {
    /// A file, or a link to one: read through the link, the link moved.
    File,
    /// Anything else that is not a folder (a named pipe, a link to
    /// nothing): moved to `failed/` with why, never waited on forever nor
    /// left where it is without a word.
    NotAFile(String),
}

/// The visible entries of the folder, oldest name first, that have not
/// changed for a moment (all of them with `--once`). Folders and links to
/// folders (`done/` and `failed/` among them, which may be links to other
/// storage) are not drops; an entry gone before it is looked at (another
/// process took it) is passed over.
fn settled_entries(dir: &Path, all: bool) -> anyhow::Result<Vec<(PathBuf, Dropped)>> {
    let mut dropped = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let Ok(entry) = entry else { continue };
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        // The entry itself, a link not followed.
        let Ok(own) = entry.metadata() else { continue };
        let path = entry.path();
        let (what, changed) = match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => continue,
            Ok(m) if m.is_file() => (Dropped::File, m.modified()),
            Ok(_) => (
                Dropped::NotAFile("not a regular file".into()),
                own.modified(),
            ),
            Err(e) if own.file_type().is_symlink() => (
                Dropped::NotAFile(format!("cannot read the file: {e}")),
                own.modified(),
            ),
            Err(_) => continue,
        };
        let age = changed
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .unwrap_or_default();
        if all || age >= SETTLE {
            dropped.push((path, what));
        }
    }
    dropped.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(dropped)
}

/// Moves a file into `folder`, never over another: a name taken there (by
/// anything, a link to nothing included, and with `with_reason` by the
/// reason file beside it too) gets a numbered suffix. `None` when the file
/// was taken away meanwhile.
fn move_aside(path: &Path, folder: &Path, with_reason: bool) -> anyhow::Result<Option<PathBuf>> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // `exists` follows links: a link to nothing would look like a free name.
    let taken = |p: &Path| p.symlink_metadata().is_ok();
    let mut target = folder.join(&name);
    let mut n = 1;
    while taken(&target) || (with_reason && taken(&reason_file_of(&target))) {
        target = folder.join(format!("{name}.{n}"));
        n += 1;
    }
    match std::fs::rename(path, &target) {
        Ok(()) => Ok(Some(target)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !taken(path) => Ok(None),
        Err(e) => {
            Err(e).with_context(|| format!("moving {} to {}", path.display(), target.display()))
        }
    }
}

/// `failed/NAME.reason.txt` for `failed/NAME`.
fn reason_file_of(moved: &Path) -> PathBuf {
    let name = moved
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    moved.with_file_name(format!("{name}.reason.txt"))
}
