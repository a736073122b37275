//! What an import prints, in the order of its inputs.
//!
//! Taken-in documents are reported on standard output, refusals on
//! standard error; when both go to one file, each input's line must still
//! stand where the input stood. Standard output is gathered and written
//! a batch at a time (a write per document showed in the import's
//! profile) and flushed before each refusal. A failed write, such as a
//! closed pipe (`integrity import … | head`), ends the import with an
//! error instead of a panic: the batches already committed stay.

use std::io::Write;

use anyhow::Context;

#[derive(Default)]
pub struct Report {
    out: String,
}

impl Report {
    /// A line for standard output.
    pub fn out(&mut self, line: std::fmt::Arguments<'_>) {
        use std::fmt::Write as _;
        // Writing to a String cannot fail.
        let _ = writeln!(self.out, "{line}");
    }

    /// A line for standard error (a refusal, a note), after every line
    /// before it.
    pub fn err(&mut self, line: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
        self.flush()?;
        writeln!(std::io::stderr().lock(), "{line}").context("writing to standard error")
    }

    /// Writes what standard output has gathered.
    pub fn flush(&mut self) -> anyhow::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(self.out.as_bytes())
            .and_then(|()| stdout.flush())
            .context("writing to standard output")?;
        self.out.clear();
        Ok(())
    }
}
