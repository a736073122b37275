//! Opening a database from its URL, and migrations.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::Connection;

use crate::{sqlite, Db, Store, StoreError};

/// How long an SQLite statement waits for another process's lock before
/// it fails with `SQLITE_BUSY`.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database URL the store understands: `sqlite://PATH` or
/// `postgres://…` (also `postgresql://…`). Anything else is refused rather
/// than guessed at, so a typo never creates a stray database file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    backend: Backend,
    url: String,
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<DatabaseUrl, StoreError> {
        let refuse = |why: &str| {
            StoreError::UnsupportedUrl(format!(
                "{url:?}: {why}; expected sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE"
            ))
        };
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() || path.starts_with(':') {
                return Err(refuse("an SQLite URL needs a file path"));
            }
            return Ok(DatabaseUrl {
                backend: Backend::Sqlite,
                url: url.to_string(),
            });
        }
        if let Some(rest) = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
        {
            if rest.is_empty() {
                return Err(refuse("a PostgreSQL URL needs a host"));
            }
            return Ok(DatabaseUrl {
                backend: Backend::Postgres,
                url: url.to_string(),
            });
        }
        Err(refuse("unknown scheme"))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The URL with any password replaced, for logs and messages: the one
    /// of the user info and any given as a query parameter
    /// (`?password=…`, which PostgreSQL accepts too).
    pub fn redacted(&self) -> String {
        let url = self.url.as_str();
        let scheme_end = url.find("://").map_or(0, |i| i + 3);
        let rest = &url[scheme_end..];
        let authority_end = rest.find('/').unwrap_or(rest.len());
        // After the user info: a password may hold a `?` of its own.
        let (mut redacted, host_start) = match rest[..authority_end].rfind('@') {
            Some(at) => match rest[..at].find(':') {
                Some(colon) => (format!("{}{}:***", &url[..scheme_end], &rest[..colon]), at),
                None => (url[..scheme_end + at].to_string(), at),
            },
            None => (url[..scheme_end].to_string(), 0),
        };
        let after = &rest[host_start..];
        let Some((location, query)) = after.split_once('?') else {
            redacted.push_str(after);
            return redacted;
        };
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.to_ascii_lowercase().ends_with("password") => {
                    format!("{key}=***")
                }
                _ => pair.to_string(),
            })
            .collect();
        redacted.push_str(location);
        redacted.push('?');
        redacted.push_str(&pairs.join("&"));
        redacted
    }
}

impl Store {
    /// Connects and brings the schema up to date.
    pub async fn open(url: &DatabaseUrl) -> Result<Store, StoreError> {
        let store = Store::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating.
    pub async fn connect(url: &DatabaseUrl) -> Result<Store, StoreError> {
        let db = match url.backend {
            Backend::Sqlite => {
                // The same settings as `sqlite::Settings` gives the store's
                // own connections.
                let options = SqliteConnectOptions::from_str(&url.url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true);
                let settings = sqlite::Settings {
                    path: options.get_filename().to_path_buf(),
                    busy_timeout: SQLITE_BUSY_TIMEOUT,
                };
                // One writer: writes queue in the process rather than fail
                // with `SQLITE_BUSY`.
                let writer = sqlite::Writer::new(settings.clone());
                let readers = sqlite::Pool::new(settings, 4);
                writer.warm().await?;
                Db::Sqlite {
                    writer,
                    readers,
                    options: Box::new(options),
                }
            }
            Backend::Postgres => Db::Postgres(
                PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(&url.url)
                    .await?,
            ),
        };
        Ok(Store { db: db.into() })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &*self.db {
            Db::Sqlite { options, .. } => {
                let mut conn = sqlx::SqliteConnection::connect_with(options).await?;
                SQLITE_MIGRATIONS.run(&mut conn).await?;
                conn.close().await?;
            }
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_sqlite_and_postgres_urls_only() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://integrity.db")
                .unwrap()
                .backend(),
            Backend::Sqlite
        );
        assert_eq!(
            DatabaseUrl::parse("postgres://u:p@localhost/db")
                .unwrap()
                .backend(),
            Backend::Postgres
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://localhost/db")
                .unwrap()
                .backend(),
            Backend::Postgres
        );
        assert_eq!(
            DatabaseUrl::parse("postgres://u:secret@localhost/db")
                .unwrap()
                .redacted(),
            "postgres://u:***@localhost/db"
        );
        for (url, redacted) in [
            (
                "postgres://u@h/d?password=secret",
                "postgres://u@h/d?password=***",
            ),
            (
                "postgres://u:s@h/d?sslmode=require&PASSWORD=secret&sslpassword=k",
                "postgres://u:***@h/d?sslmode=require&PASSWORD=***&sslpassword=***",
            ),
            ("postgres://h?password=secret", "postgres://h?password=***"),
            ("postgres://u:a?b@h/d", "postgres://u:***@h/d"),
            ("sqlite://data/i.db?mode=rwc", "sqlite://data/i.db?mode=rwc"),
        ] {
            assert_eq!(DatabaseUrl::parse(url).unwrap().redacted(), redacted);
        }
        for bad in [
            "mysql://localhost/db",
            "integrity.db",
            "sqlite://",
            "sqlite://:memory:",
            "",
        ] {
            let e = DatabaseUrl::parse(bad).unwrap_err().to_string();
            assert!(e.contains("expected sqlite://PATH"), "{bad}: {e}");
        }
    }
}
