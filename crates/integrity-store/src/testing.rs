//! Fresh databases for tests, on both backends.
//!
//! SQLite: a new file in a temporary directory. PostgreSQL, when
//! `INTEGRITY_TEST_POSTGRES_URL` points at a server: a new database created
//! there and dropped by [`TestDatabase::finish`].

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;

use crate::{Backend, DatabaseUrl, Store};

pub const POSTGRES_ENV: &str = "INTEGRITY_TEST_POSTGRES_URL";

pub struct TestDatabase {
    pub store: Store,
    pub url: DatabaseUrl,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDatabase {
    pub async fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = DatabaseUrl::parse(&format!(
            "sqlite://{}",
            dir.path().join("test.db").display()
        ))
        .expect("sqlite url");
        let store = Store::open(&url).await.expect("open sqlite");
        TestDatabase {
            store,
            url,
            _dir: Some(dir),
            postgres: None,
        }
    }

    /// `None` when no PostgreSQL server is configured for tests.
    pub async fn postgres() -> Option<TestDatabase> {
        let admin_url = std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty())?;
        let name = format!(
            "integrity_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_ENV}={admin_url}: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        admin.close().await.ok();
        let url = DatabaseUrl::parse(&with_database(&admin_url, &name)).expect("postgres url");
        let store = Store::open(&url).await.expect("open postgres");
        Some(TestDatabase {
            store,
            url,
            _dir: None,
            postgres: Some((admin_url, name)),
        })
    }

    pub async fn open(backend: Backend) -> Option<TestDatabase> {
        match backend {
            Backend::Sqlite => Some(TestDatabase::sqlite().await),
            Backend::Postgres => TestDatabase::postgres().await,
        }
    }

    /// Closes the store and drops a PostgreSQL test database.
    pub async fn finish(self) {
        self.store.close().await;
        if let Some((admin_url, name)) = self.postgres {
            if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await;
            }
        }
    }
}

/// The same server URL with another database name (the path), keeping any
/// query string.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    format!("{}/{database}{query}", &base[..host_end])
}

/// Runs an async test body once per backend: `sqlite` always, `postgres`
/// when configured (otherwise it says so and passes).
#[macro_export]
macro_rules! test_on_both_backends {
    ($(async fn $name:ident($db:ident: &TestDatabase) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($db: &$crate::testing::TestDatabase) $body

                #[tokio::test]
                async fn sqlite() {
                    let db = $crate::testing::TestDatabase::sqlite().await;
                    run(&db).await;
                    db.finish().await;
                }

                #[tokio::test]
                async fn postgres() {
                    match $crate::testing::TestDatabase::postgres().await {
                        Some(db) => {
                            run(&db).await;
                            db.finish().await;
                        }
                        None => eprintln!("skipped: {} is not set", $crate::testing::POSTGRES_ENV),
                    }
                }
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_only_the_database_name() {
        assert_eq!(
            super::with_database(
                "postgres://u:p@localhost:5432/postgres?sslmode=disable",
                "t1"
            ),
            "postgres://u:p@localhost:5432/t1?sslmode=disable"
        );
        assert_eq!(
            super::with_database("postgres://localhost", "t1"),
            "postgres://localhost/t1"
        );
    }
}
