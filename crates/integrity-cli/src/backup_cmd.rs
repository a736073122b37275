//! `integrity backup` (a consistent copy of a running SQLite database) and
//! `integrity copy` (everything moved into a new database, SQLite to
//! PostgreSQL or back). See docs/storage.md.

use std::path::PathBuf;
use std::process::ExitCode;

use integrity_store::backup::{backup_sqlite, BackupError};
use integrity_store::copy::{copy_between, CopyError};
use integrity_store::{Backend, DatabaseUrl};

#[derive(clap::Args)]
pub struct BackupArgs {
    /// The backup to write. It must not exist yet: a backup never replaces
    /// a file.
    file: PathBuf,
}

#[derive(clap::Args)]
pub struct CopyArgs {
    /// The database to copy from: sqlite://PATH or postgres://…. It is only
    /// read.
    #[arg(long)]
    from: String,
    /// A new or empty database to copy into; it is created (SQLite) and
    /// migrated as needed. One holding any data is refused.
    #[arg(long)]
    to: String,
}

pub async fn backup(url: &DatabaseUrl, args: BackupArgs) -> anyhow::Result<ExitCode> {
    if url.backend() == Backend::Postgres {
        eprintln!("error: {}", BackupError::Postgres);
        return Ok(ExitCode::FAILURE);
    }
    let report = backup_sqlite(url, &args.file).await?;
    println!(
        "backed up {} to {} ({} bytes)",
        url.redacted(),
        report.path.display(),
        report.bytes
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn copy(args: CopyArgs) -> anyhow::Result<ExitCode> {
    let from = DatabaseUrl::parse(&args.from)?;
    let to = DatabaseUrl::parse(&args.to)?;
    eprintln!("copying {} to {}", from.redacted(), to.redacted());
    let result = copy_between(&from, &to, |table, rows| {
        eprintln!("  {table}: {rows} rows written");
    })
    .await;
    match result {
        Ok(report) => {
            for table in &report.tables {
                println!("{table}");
            }
            println!(
                "copied {} to {}: every table's rows and checksum match",
                from.redacted(),
                to.redacted()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(CopyError::Mismatch(report)) => {
            for table in &report.tables {
                println!("{table}");
            }
            eprintln!("error: {}", CopyError::Mismatch(report));
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}
