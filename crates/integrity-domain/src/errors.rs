//! Validation errors in the documented shape: attribute → messages.

use std::collections::BTreeMap;

use serde::Serialize;

/// Rails' default messages, which the documented API uses.
pub mod msg {
    pub const BLANK: &str = "can't be blank";
    pub const INVALID: &str = "is invalid";
    pub const NOT_IN_LIST: &str = "is not included in the list";
    pub const TAKEN: &str = "has already been taken";
}

/// Errors keyed by attribute (`ticket_number`, `work.area`, `custom_fields[5]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ValidationErrors(BTreeMap<String, Vec<String>>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(key: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(key, message);
        errors
    }

    /// Records a message; the same message twice under one key is kept once.
    pub fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        let messages = self.0.entry(key.into()).or_default();
        let message = message.into();
        if !messages.contains(&message) {
            messages.push(message);
        }
    }

    /// Adds every message of `other`.
    pub fn merge(&mut self, other: ValidationErrors) {
        for (key, messages) in other.0 {
            for message in messages {
                self.add(key.clone(), message);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.0.get(key).map(Vec::as_slice)
    }

    /// `Ok(value)` when nothing was recorded, else the errors.
    pub fn into_result<T>(self, value: T) -> Result<T, Self> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for (key, messages) in &self.0 {
            for message in messages {
                if !first {
                    f.write_str("; ")?;
                }
                first = false;
                write!(f, "{key} {message}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}
