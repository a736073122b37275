use integrity_domain::ValidationErrors;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The request breaks a rule that needs the database to check.
    #[error("{0}")]
    Invalid(ValidationErrors),
    #[error("not found")]
    NotFound,
    /// The account's plan does not allow this (402).
    #[error("plan limit: {0}")]
    PlanLimit(String),
    /// A concurrent change won a race that retrying did not resolve.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("unsupported database URL: {0}")]
    UnsupportedUrl(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The commit of a group of writes failed: none of them was made.
    #[error("database: the commit failed: {0}")]
    CommitFailed(String),
    /// The store was closed (the server is shutting down).
    #[error("the database is closed")]
    Closed,
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// Stored data that cannot be read back: a bug or a damaged database.
    #[error("corrupt {what}: {detail}")]
    Corrupt { what: &'static str, detail: String },
}

impl From<ValidationErrors> for StoreError {
    fn from(errors: ValidationErrors) -> Self {
        StoreError::Invalid(errors)
    }
}

pub(crate) fn corrupt(what: &'static str) -> impl FnOnce(serde_json::Error) -> StoreError {
    move |e| StoreError::Corrupt {
        what,
        detail: e.to_string(),
    }
}

/// A nullable JSON column read back: `None` stays `None`.
pub(crate) fn optional_json<T: serde::de::DeserializeOwned>(
    text: Option<&str>,
    what: &'static str,
) -> Result<Option<T>, StoreError> {
    text.map(serde_json::from_str)
        .transpose()
        .map_err(corrupt(what))
}
