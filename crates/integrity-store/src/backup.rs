//! `integrity backup`: a consistent copy of an SQLite database, taken while
//! a server may be running and writing.
//!
//! SQLite's `VACUUM INTO` writes a new database from one read transaction:
//! in WAL mode that is the last committed state, read without stopping the
//! writers. The copy is written under a temporary name beside the target,
//! checked, flushed to disk, and only then given its final name, so a file
//! of that name is always a whole backup. PostgreSQL has its own tool for
//! this, `pg_dump`.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

use crate::{Backend, DatabaseUrl, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "integrity backup copies SQLite databases only; back up PostgreSQL with pg_dump \
         (for example: pg_dump --format=custom --file=FILE DATABASE_URL) and restore with pg_restore"
    )]
    Postgres,
    #[error("{0} does not exist: there is nothing to back up")]
    NoDatabase(PathBuf),
    #[error("{0} is not an Integrity database (it has no migrations table)")]
    NotIntegrity(PathBuf),
    #[error("{0} already exists: a backup never replaces a file; choose a new name or move the old file away")]
    Exists(PathBuf),
    #[error("the backup written to {path} failed SQLite's check ({detail}); it was removed")]
    Damaged { path: PathBuf, detail: String },
    #[error("{what} {path}: {error}")]
    Io {
        what: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for BackupError {
    fn from(e: sqlx::Error) -> Self {
        BackupError::Store(StoreError::Database(e))
    }
}

/// A backup made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
}

/// The database file of an SQLite URL; `None` for PostgreSQL.
pub(crate) fn sqlite_file(url: &DatabaseUrl) -> Result<Option<PathBuf>, StoreError> {
    if url.backend() != Backend::Sqlite {
        return Ok(None);
    }
    let options = SqliteConnectOptions::from_str(url.as_str())?;
    Ok(Some(options.get_filename().to_path_buf()))
}

/// Writes a consistent copy of the SQLite database `source` to `target`,
/// which must not exist yet. The source is only read.
pub async fn backup_sqlite(
    source: &DatabaseUrl,
    target: &Path,
) -> Result<BackupReport, BackupError> {
    let Some(file) = sqlite_file(source)? else {
        return Err(BackupError::Postgres);
    };
    if !file.exists() {
        return Err(BackupError::NoDatabase(file));
    }
    if target.symlink_metadata().is_ok() {
        return Err(BackupError::Exists(target.to_path_buf()));
    }
    let partial = partial_name(target)?;
    // A connection of its own that never creates the file, so a mistyped
    // path is reported rather than backed up as an empty database.
    let options = SqliteConnectOptions::from_str(source.as_str())
        .map_err(StoreError::from)?
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(10));
    let written = write_and_check(&options, &file, &partial).await;
    if let Err(e) = written {
        remove_partial(&partial);
        return Err(e);
    }
    place(&partial, target)?;
    let bytes = std::fs::metadata(target)
        .map_err(io("reading the size of", target))?
        .len();
    Ok(BackupReport {
        path: target.to_path_buf(),
        bytes,
    })
}

/// `DIR/NAME.partial-XXXXXXXX` beside `DIR/NAME`, as an absolute path: SQLite
/// reads the name given to `VACUUM INTO` as a URI when it starts with
/// `file:`, which an absolute path never does.
fn partial_name(target: &Path) -> Result<PathBuf, BackupError> {
    let name = target
        .file_name()
        .ok_or_else(|| BackupError::Io {
            what: "not a file name:",
            path: target.to_path_buf(),
            error: std::io::ErrorKind::InvalidInput.into(),
        })?
        .to_string_lossy()
        .into_owned();
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let dir = dir
        .canonicalize()
        .map_err(io("finding the folder of", target))?;
    Ok(dir.join(format!("{name}.partial-{:08x}", rand::random::<u32>())))
}

async fn write_and_check(
    options: &SqliteConnectOptions,
    file: &Path,
    partial: &Path,
) -> Result<(), BackupError> {
    let partial_text = partial.to_str().ok_or_else(|| BackupError::Io {
        what: "SQLite needs a UTF-8 file name:",
        path: partial.to_path_buf(),
        error: std::io::ErrorKind::InvalidInput.into(),
    })?;
    let mut conn = SqliteConnection::connect_with(options).await?;
    let migrations: Result<(i64,), _> = sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await;
    if migrations.is_err() {
        return Err(BackupError::NotIntegrity(file.to_path_buf()));
    }
    // SQLite only (this module serves SQLite alone): one read transaction,
    // so the copy is the database as of its start, whatever writers commit
    // meanwhile.
    sqlx::query("VACUUM INTO $1")
        .bind(partial_text)
        .execute(&mut conn)
        .await?;
    conn.close().await?;

    let mut check = SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(partial)
            .create_if_missing(false),
    )
    .await?;
    // SQLite's own check of the file's structure, quicker than
    // `integrity_check` as it skips comparing indexes with their tables.
    let results: Vec<(String,)> = sqlx::query_as("PRAGMA quick_check")
        .fetch_all(&mut check)
        .await?;
    check.close().await?;
    if results.len() != 1 || results[0].0 != "ok" {
        let detail = results
            .into_iter()
            .map(|(line,)| line)
            .collect::<Vec<_>>()
            .join("; ");
        return Err(BackupError::Damaged {
            path: partial.to_path_buf(),
            detail,
        });
    }
    // SQLite does not flush what VACUUM INTO writes; the backup is only
    // named once it is on disk.
    std::fs::File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(io("flushing", partial))?;
    Ok(())
}

/// Gives the finished backup its name without ever replacing a file: a
/// hard link fails when the name is taken, where a rename would overwrite.
/// File systems without hard links fall back to a rename after a check.
fn place(partial: &Path, target: &Path) -> Result<(), BackupError> {
    match std::fs::hard_link(partial, target) {
        Ok(()) => remove_partial(partial),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            remove_partial(partial);
            return Err(BackupError::Exists(target.to_path_buf()));
        }
        Err(_) => {
            if target.symlink_metadata().is_ok() {
                remove_partial(partial);
                return Err(BackupError::Exists(target.to_path_buf()));
            }
            if let Err(e) = std::fs::rename(partial, target) {
                remove_partial(partial);
                return Err(io("naming the backup", target)(e));
            }
        }
    }
    // The new name is durable once its folder is flushed too.
    #[cfg(unix)]
    if let Some(dir) = partial.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io("flushing the folder", dir))?;
    }
    Ok(())
}

/// Removes a temporary file and any journal SQLite left beside it.
fn remove_partial(partial: &Path) {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut name = partial.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BackupError {
    let path = path.to_path_buf();
    move |error| BackupError::Io { what, path, error }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;

    #[tokio::test]
    async fn refuses_postgres_a_missing_source_and_an_existing_target() {
        let postgres = DatabaseUrl::parse("postgres://u:p@localhost/db").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("backup.db");
        let e = backup_sqlite(&postgres, &target).await.unwrap_err();
        assert!(e.to_string().contains("pg_dump"), "{e}");

        let missing = DatabaseUrl::parse(&format!(
            "sqlite://{}",
            dir.path().join("missing.db").display()
        ))
        .unwrap();
        let e = backup_sqlite(&missing, &target).await.unwrap_err();
        assert!(matches!(e, BackupError::NoDatabase(_)), "{e}");
        assert!(
            !dir.path().join("missing.db").exists(),
            "no stray database is created"
        );

        let db = TestDatabase::sqlite().await;
        std::fs::write(&target, "keep me").unwrap();
        let e = backup_sqlite(&db.url, &target).await.unwrap_err();
        assert!(e.to_string().contains("already exists"), "{e}");
        assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
        db.finish().await;
    }

    #[tokio::test]
    async fn a_backup_leaves_no_temporary_file_behind() {
        let db = TestDatabase::sqlite().await;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("backup.db");
        let report = backup_sqlite(&db.url, &target).await.unwrap();
        assert!(report.bytes > 0);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["backup.db"]);
        db.finish().await;
    }
}
