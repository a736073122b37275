//! Reading an import's inputs: JSON lines or call-center documents,
//! gathered in order a batch at a time and parsed on every CPU.
//!
//! An input that cannot be read (an unreadable folder, a dangling link, a
//! line that is not UTF-8) is refused and reported in its place; the rest
//! are still taken in. Nothing here stops an import but a closed channel
//! to the database side, which has failed and says why.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use indicatif::{ProgressBar, ProgressStyle};
use integrity_domain::ticket::{parse_intake, TicketIntake};
use integrity_store::{PreparedIntake, Provenance};
use rayon::prelude::*;
use serde_json::Value;

/// Lines taken in per transaction: large enough that commits and round
/// trips stop dominating, small enough that a failure loses little work
/// and memory stays flat whatever the input's size.
const BATCH: usize = 500;

/// Documents per transaction: fewer, as each brings its source document
/// and the parser's leftovers (tens of kilobytes in memory).
const DOCUMENT_BATCH: usize = 100;

/// Batches parsed at once. With more than one, the parsing threads go on
/// to the next batch while the last inputs of one finish, and the reader
/// gathers the one after meanwhile, instead of every thread waiting for the
/// slowest input of each batch.
const BATCHES_PARSING: usize = 2;

/// What the import reads.
pub enum Source {
    /// JSON Lines in the API's ticket shape; lines name their call center.
    Lines { centers: HashMap<String, i64> },
    /// One call-center document per file.
    Documents {
        call_center: i64,
        format: Option<String>,
    },
}

/// One input (a line or a file), read.
pub struct Input {
    /// Where it came from, for messages: `line 7`, `a.jsonl: line 7` or a
    /// file name.
    pub origin: String,
    /// For documents: a line is printed when it is taken in.
    pub announce: bool,
    pub read: Parsed,
}

/// What reading an input gave; the report keeps its place with `T = ()`.
pub enum Parsed<T = PreparedIntake> {
    Ticket(T),
    /// Not a ticket, and why: counted as rejected.
    Refused(String),
    /// Not an input at all, and why (a folder inside a folder): only said.
    Skipped(String),
}

/// An input as gathered, before it is parsed.
enum Gathered<T> {
    Input(T),
    Refused { origin: String, reason: String },
}

/// A line: where it stands, and its text or why it has none.
type Line = (String, Result<String, String>);

pub type Batches = tokio::sync::mpsc::Sender<Vec<Input>>;

impl Source {
    /// Reads every file, sending batches in order.
    ///
    /// Inputs are gathered one batch at a time, in order, and each batch is
    /// parsed on every CPU (see [`super::workers`]), a few batches at once:
    /// parsing a call center's document costs as much as storing it, and
    /// one thread could not keep the database busy. Batches are sent on in
    /// order and keep their order, so a ticket's revisions are still taken
    /// in as they came.
    pub fn read(&self, files: &[PathBuf], batches: &Batches) -> anyhow::Result<()> {
        let workers = super::workers::pool()?;
        match self {
            Source::Lines { centers } => {
                let parse = |(origin, text): Line| Input {
                    origin,
                    announce: false,
                    read: text
                        .and_then(|text| read_line(centers, &text))
                        .and_then(|intake| prepare(intake, None))
                        .map_or_else(Parsed::Refused, Parsed::Ticket),
                };
                parse_batches(&workers, &parse, batches, |parsing| {
                    let mut batch = Vec::with_capacity(BATCH);
                    let several = files.len() > 1;
                    for file in files {
                        read_lines(file, several, &mut batch, &mut |batch: &mut Vec<_>| {
                            parsing.start(std::mem::take(batch));
                        });
                    }
                    parsing.start(batch);
                });
            }
            Source::Documents {
                call_center,
                format,
            } => {
                let parse = |file: DocumentFile| {
                    let origin = file.path.display().to_string();
                    if let Some(not_read) = file.not_a_document() {
                        return Input {
                            origin,
                            announce: false,
                            read: not_read,
                        };
                    }
                    Input {
                        read: crate::documents::read_file(
                            *call_center,
                            format.as_deref(),
                            &file.path,
                        )
                        .and_then(|(intake, provenance)| prepare(intake, Some(provenance)))
                        .map_or_else(Parsed::Refused, Parsed::Ticket),
                        origin,
                        announce: true,
                    }
                };
                parse_batches(&workers, &parse, batches, |parsing| {
                    let mut batch = Vec::with_capacity(DOCUMENT_BATCH);
                    for file in files {
                        for document in gather_documents(file) {
                            batch.push(document);
                            if batch.len() == DOCUMENT_BATCH {
                                parsing.start(std::mem::take(&mut batch));
                            }
                        }
                    }
                    parsing.start(batch);
                });
            }
        }
        Ok(())
    }
}

/// A batch parsed, or the panic that stopped its parsing.
type Outcome = std::thread::Result<Vec<Input>>;

/// Runs `gather` on this thread; the batches it starts are parsed on the
/// `workers` with `parse` and sent on to `batches` in the order started.
fn parse_batches<'scope, T, F>(
    workers: &rayon::ThreadPool,
    parse: &'scope F,
    batches: &Batches,
    gather: impl FnOnce(&mut Parsing<'_, 'scope, F>),
) where
    T: Send + 'scope,
    F: Fn(T) -> Input + Sync,
{
    workers.in_place_scope(|scope| {
        let mut parsing = Parsing {
            scope,
            parse,
            batches,
            pending: VecDeque::new(),
        };
        gather(&mut parsing);
        while !parsing.pending.is_empty() {
            parsing.send_oldest();
        }
    });
}

/// The batches handed to the parsing threads and not yet sent on, oldest
/// first. Each is sent after every batch before it, so the order holds.
struct Parsing<'a, 'scope, F> {
    scope: &'a rayon::Scope<'scope>,
    parse: &'scope F,
    batches: &'a Batches,
    pending: VecDeque<mpsc::Receiver<Outcome>>,
}

impl<'scope, F> Parsing<'_, 'scope, F> {
    /// Hands `batch` to the parsing threads, first waiting for the oldest
    /// batch (and sending it on) when enough are being parsed.
    fn start<T>(&mut self, batch: Vec<Gathered<T>>)
    where
        T: Send + 'scope,
        F: Fn(T) -> Input + Sync,
    {
        if batch.is_empty() {
            return;
        }
        let (done, parsed) = mpsc::sync_channel(1);
        let parse = self.parse;
        self.scope.spawn(move |_| {
            let parsing = std::panic::AssertUnwindSafe(|| in_order(batch, parse));
            let _ = done.send(std::panic::catch_unwind(parsing));
        });
        self.pending.push_back(parsed);
        while self.pending.len() > BATCHES_PARSING {
            self.send_oldest();
        }
    }

    /// Sends the oldest batch on. A batch whose parsing panicked stops the
    /// reading there, as if the panic had happened on this thread: no
    /// batch after it may reach the database, or the import would leave a
    /// gap that taking the same files in again could not fill (a later
    /// revision already in makes the missing ones look late).
    fn send_oldest(&mut self) {
        let Some(parsed) = self.pending.pop_front() else {
            return;
        };
        match parsed.recv() {
            Ok(Ok(batch)) => send(self.batches, batch),
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            // The job ended without a word: only if it could not run at all.
            Err(_) => panic!("a batch's parsing ended without its result"),
        }
    }
}

fn in_order<T: Send>(batch: Vec<Gathered<T>>, parse: &(impl Fn(T) -> Input + Sync)) -> Vec<Input> {
    batch
        .into_par_iter()
        .map(|gathered| match gathered {
            Gathered::Input(input) => parse(input),
            Gathered::Refused { origin, reason } => Input {
                origin,
                announce: false,
                read: Parsed::Refused(reason),
            },
        })
        .collect()
}

fn send(batches: &Batches, batch: Vec<Input>) {
    if !batch.is_empty() {
        // A closed channel means the database side stopped with an error,
        // which it reports; there is nothing to add here.
        let _ = batches.blocking_send(batch);
    }
}

/// A document file to read: named, or found in a named folder.
struct DocumentFile {
    path: PathBuf,
    in_folder: bool,
}

impl DocumentFile {
    /// What a folder's entry is when it is no document to read: a folder
    /// inside the folder is skipped, anything else that is not a file is
    /// refused. Looked at on the parsing threads: a folder of a hundred
    /// thousand files is that many `stat` calls. A named file is simply
    /// read, and reading it says what is wrong, if anything.
    fn not_a_document(&self) -> Option<Parsed> {
        if !self.in_folder {
            return None;
        }
        match std::fs::metadata(&self.path) {
            Ok(m) if m.is_file() => None,
            Ok(m) if m.is_dir() => Some(Parsed::Skipped(
                "skipped: the files of a folder inside a folder are not read".into(),
            )),
            Ok(_) => Some(Parsed::Refused("not a regular file".into())),
            Err(e) => Some(Parsed::Refused(format!("cannot read the file: {e}"))),
        }
    }
}

/// A file, or the entries of a folder in name order (a folder too large
/// for a command line). Links are followed; what an entry is, is looked at
/// when it is parsed ([`DocumentFile::not_a_document`]).
fn gather_documents(path: &Path) -> Vec<Gathered<DocumentFile>> {
    let origin = || path.display().to_string();
    if path.as_os_str() == "-" {
        return vec![Gathered::Refused {
            origin: origin(),
            reason: "standard input is read for JSON Lines only: name the document files".into(),
        }];
    }
    if !std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return vec![Gathered::Input(DocumentFile {
            path: path.to_path_buf(),
            in_folder: false,
        })];
    }
    let listed: Result<Vec<PathBuf>, std::io::Error> = std::fs::read_dir(path)
        .and_then(|entries| entries.map(|entry| entry.map(|e| e.path())).collect());
    let mut entries = match listed {
        Ok(entries) => entries,
        Err(e) => {
            return vec![Gathered::Refused {
                origin: origin(),
                reason: format!("cannot read the folder: {e}"),
            }]
        }
    };
    entries.sort();
    entries
        .into_iter()
        .map(|path| {
            Gathered::Input(DocumentFile {
                path,
                in_folder: true,
            })
        })
        .collect()
}

/// Reads a file's lines into `batch`, handing each full batch to `flush`.
/// A line that is not UTF-8 is refused alone; a file that cannot be read
/// is refused where it stopped.
fn read_lines(
    file: &Path,
    several: bool,
    batch: &mut Vec<Gathered<Line>>,
    flush: &mut impl FnMut(&mut Vec<Gathered<Line>>),
) {
    let label = |number: usize| {
        if several {
            format!("{}: line {number}", file.display())
        } else {
            format!("line {number}")
        }
    };
    let (reader, size) = match open(file) {
        Ok(opened) => opened,
        Err(reason) => {
            batch.push(Gathered::Refused {
                origin: file.display().to_string(),
                reason,
            });
            return;
        }
    };
    let progress = match size {
        Some(bytes) => ProgressBar::new(bytes).with_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner(),
    };
    let mut reader = BufReader::new(reader);
    let mut bytes = Vec::new();
    let mut number = 0;
    loop {
        bytes.clear();
        match reader.read_until(b'\n', &mut bytes) {
            Ok(0) => break,
            Ok(read) => progress.inc(read as u64),
            Err(e) => {
                batch.push(Gathered::Refused {
                    origin: label(number + 1),
                    reason: format!("reading stopped here: {e}"),
                });
                break;
            }
        }
        number += 1;
        let line = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let text = match std::str::from_utf8(line) {
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => Ok(text.to_string()),
            Err(e) => Err(format!(
                "not UTF-8 text: invalid byte at column {}",
                e.valid_up_to() + 1
            )),
        };
        batch.push(Gathered::Input((label(number), text)));
        if batch.len() == BATCH {
            progress.suspend(|| flush(batch));
        }
    }
    progress.finish_and_clear();
}

/// A lines file (`-`: standard input) and its size, or why it cannot be
/// read.
fn open(file: &Path) -> Result<(Box<dyn Read>, Option<u64>), String> {
    if file.as_os_str() == "-" {
        return Ok((Box::new(std::io::stdin()), None));
    }
    let opened = std::fs::File::open(file).map_err(|e| format!("cannot read the file: {e}"))?;
    let metadata = opened
        .metadata()
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if metadata.is_dir() {
        return Err("is a folder: JSON Lines are read from files".into());
    }
    Ok((Box::new(opened), Some(metadata.len())))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses 0..400 in batches of 100 on two threads, panicking at 150;
    /// returns whether reading panicked and the inputs sent on.
    fn read_with_a_panic_at_150() -> (bool, Vec<String>) {
        let (batches, mut sent) = tokio::sync::mpsc::channel(16);
        let parse = |n: usize| {
            if n == 150 {
                panic!("a parser's bug");
            }
            Input {
                origin: n.to_string(),
                announce: false,
                read: Parsed::Refused(String::new()),
            }
        };
        let reading = std::thread::spawn(move || {
            let workers = rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .unwrap();
            parse_batches(&workers, &parse, &batches, |parsing| {
                for start in (0..400).step_by(100) {
                    parsing.start((start..start + 100).map(Gathered::Input).collect());
                }
            });
        });
        let panicked = reading.join().is_err();
        let mut origins = Vec::new();
        while let Ok(batch) = sent.try_recv() {
            origins.extend(batch.into_iter().map(|input| input.origin));
        }
        (panicked, origins)
    }

    #[test]
    fn a_panic_while_parsing_stops_the_reading_after_the_batches_before_it() {
        let (panicked, sent) = read_with_a_panic_at_150();
        assert!(panicked, "the panic reached the reading thread");
        let expected: Vec<String> = (0..100).map(|n| n.to_string()).collect();
        assert_eq!(
            sent, expected,
            "the first batch, in order, and nothing after"
        );
    }
}
