//! What can go wrong calling the API: the server's refusals, kept with
//! their status and the messages of each field, apart from failures to
//! reach the server at all.

use std::collections::BTreeMap;
use std::fmt;

use reqwest::StatusCode;
use serde::Deserialize;

/// The result of every client call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of a client call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error status (4xx or 5xx). `errors` holds
    /// the messages of its `{"errors": {...}}` body; it is empty when the
    /// body was not in that shape (a proxy's error page, say), and `body`
    /// keeps the text either way.
    #[error("{status}: {}", describe(errors, body))]
    Api {
        status: StatusCode,
        errors: FieldErrors,
        body: String,
    },
    /// The request did not get an answer: no connection, a timeout, TLS, or
    /// a body that could not be read.
    #[error("transport: {0}")]
    Transport(#[source] reqwest::Error),
    /// The server answered success with a body that is not the documented
    /// shape: a server of another version or not an Integrity server.
    #[error("unexpected response body ({status}): {source}")]
    Decode {
        status: StatusCode,
        #[source]
        source: serde_json::Error,
    },
    /// The client was given something it cannot build a request from: a
    /// base URL that is not http(s), a key that cannot be sent as a header.
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl Error {
    /// The HTTP status of a refusal; `None` when there was no answer.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } | Error::Decode { status, .. } => Some(*status),
            Error::Transport(e) => e.status(),
            Error::Config(_) => None,
        }
    }

    /// The server's messages by field, for a refusal.
    pub fn field_errors(&self) -> Option<&FieldErrors> {
        match self {
            Error::Api { errors, .. } => Some(errors),
            _ => None,
        }
    }

    /// Whether the server refused the request as the client's fault (4xx):
    /// sending it again unchanged will not help.
    pub fn is_client_error(&self) -> bool {
        matches!(self, Error::Api { status, .. } if status.is_client_error())
    }

    /// A 404: the resource does not exist in the key's account.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Api { status, .. } if *status == StatusCode::NOT_FOUND)
    }

    /// Builds the error of a response with an error status from its body.
    pub(crate) fn from_response(status: StatusCode, body: Vec<u8>) -> Error {
        let body = String::from_utf8_lossy(&body).into_owned();
        let errors = serde_json::from_str::<ErrorBody>(&body)
            .map(|b| b.errors)
            .unwrap_or_default();
        Error::Api {
            status,
            errors,
            body,
        }
    }
}

impl From<reqwest::Error> for Error {
    fn from(error: reqwest::Error) -> Self {
        Error::Transport(error)
    }
}

fn describe(errors: &FieldErrors, body: &str) -> String {
    if !errors.is_empty() {
        return errors.to_string();
    }
    // A body that is not the documented shape may be a whole HTML page:
    // a glimpse is enough to recognise it.
    let glimpse: String = body.trim().chars().take(200).collect();
    if glimpse.is_empty() {
        "(no body)".to_string()
    } else {
        glimpse
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    errors: FieldErrors,
}

/// The messages of a refusal by attribute (`code`, `custom_fields[5]`,
/// `work.area`), or `base` for those that belong to no attribute.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    /// The messages of one attribute, or an empty slice.
    pub fn get(&self, field: &str) -> &[String] {
        self.0.get(field).map_or(&[], Vec::as_slice)
    }

    /// Every attribute with its messages, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The attribute → messages map itself.
    pub fn as_map(&self) -> &BTreeMap<String, Vec<String>> {
        &self.0
    }
}

/// `code: can't be blank; service_area: is not included in the list`.
impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (field, messages) in self.iter() {
            for message in messages {
                if !first {
                    f.write_str("; ")?;
                }
                first = false;
                write!(f, "{field}: {message}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_documented_error_body_is_kept_field_by_field() {
        let error = Error::from_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            br#"{"errors": {"code": ["can't be blank"], "custom_fields[5]": ["is invalid", "is too long (maximum is 255 characters)"]}}"#.to_vec(),
        );
        let errors = error.field_errors().unwrap();
        assert_eq!(errors.get("code"), ["can't be blank"]);
        assert_eq!(errors.get("custom_fields[5]").len(), 2);
        assert!(errors.get("facility").is_empty());
        assert!(error.is_client_error());
        assert_eq!(
            error.to_string(),
            "422 Unprocessable Entity: code: can't be blank; custom_fields[5]: is invalid; \
             custom_fields[5]: is too long (maximum is 255 characters)"
        );
    }

    #[test]
    fn another_body_is_kept_as_text() {
        let error = Error::from_response(
            StatusCode::BAD_GATEWAY,
            b"<html><body>Bad gateway</body></html>".to_vec(),
        );
        assert!(error.field_errors().unwrap().is_empty());
        assert!(!error.is_client_error());
        assert_eq!(
            error.to_string(),
            "502 Bad Gateway: <html><body>Bad gateway</body></html>"
        );
        let empty = Error::from_response(StatusCode::NOT_FOUND, Vec::new());
        assert!(empty.is_not_found());
        assert_eq!(empty.to_string(), "404 Not Found: (no body)");
    }
}
