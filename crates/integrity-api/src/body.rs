//! Request bodies: UTF-8 JSON of at most [`MAX_BODY_BYTES`], with the
//! resource under a root key (`{"ticket": {…}}`). Every failure is answered
//! in the API's error shape instead of axum's plain-text rejections.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::policy::BodyLimit;
use crate::{ApiError, AppState, MAX_BODY_BYTES, MAX_DOCUMENT_BYTES};

/// A request body, read (at most [`MAX_BODY_BYTES`]) but not yet parsed:
/// handlers parse it after authentication, lookup and permission checks, so
/// the answer follows the documented order 401, 402, 404, 403, 400, 422.
#[derive(Debug)]
pub struct JsonBody(axum::body::Bytes);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &AppState) -> Result<Self, ApiError> {
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map_or(MAX_BODY_BYTES, |l| l.0);
        if declared_length(&req).is_some_and(|len| len > limit) {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        Ok(JsonBody(read_limited(req.into_body(), limit).await?))
    }
}

impl JsonBody {
    /// The JSON document, or `None` for an empty body.
    fn parse(&self) -> Result<Option<serde_json::Value>, ApiError> {
        let text = std::str::from_utf8(&self.0)
            .map_err(|e| ApiError::BadRequest(format!("request body is not valid UTF-8: {e}")))?;
        if text.trim().is_empty() {
            return Ok(None);
        }
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| ApiError::BadRequest(format!("request body is not valid JSON: {e}")))?;
        if holds_nul(&value) {
            // PostgreSQL text cannot hold U+0000, and no field has a use for it.
            return Err(ApiError::BadRequest(
                "request body contains the character U+0000 (\\u0000), which no field accepts"
                    .into(),
            ));
        }
        Ok(Some(value))
    }
}

fn holds_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(holds_nul),
        serde_json::Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// A raw request body (a call center's document) of at most
/// [`MAX_DOCUMENT_BYTES`].
#[derive(Debug)]
pub struct RawBody(pub axum::body::Bytes);

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &AppState) -> Result<Self, ApiError> {
        if declared_length(&req).is_some_and(|len| len > MAX_DOCUMENT_BYTES) {
            return Err(ApiError::PayloadTooLarge(MAX_DOCUMENT_BYTES));
        }
        Ok(RawBody(
            read_limited(req.into_body(), MAX_DOCUMENT_BYTES).await?,
        ))
    }
}

fn declared_length(req: &Request) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

async fn read_limited(body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(ApiError::PayloadTooLarge(limit))
        }
        Err(e) => Err(ApiError::BadRequest(format!(
            "could not read the request body: {e}"
        ))),
    }
}

impl JsonBody {
    /// The value under `key`, which must be present and not null (Rails'
    /// "param is missing" is a 400).
    pub fn require(&self, key: &str) -> Result<serde_json::Value, ApiError> {
        self.optional(key)?.ok_or_else(|| missing(key))
    }

    /// The value under `key` when there is a body at all; a body without the
    /// key is still a 400.
    pub fn optional(&self, key: &str) -> Result<Option<serde_json::Value>, ApiError> {
        let Some(value) = self.parse()? else {
            return Ok(None);
        };
        match value {
            serde_json::Value::Object(mut map) => match map.remove(key) {
                Some(serde_json::Value::Null) | None => Err(missing(key)),
                Some(inner) => Ok(Some(inner)),
            },
            _ => Err(ApiError::BadRequest(format!(
                "request body must be a JSON object with the key {key:?}"
            ))),
        }
    }
}

fn missing(key: &str) -> ApiError {
    ApiError::BadRequest(format!("param is missing or the value is empty: {key}"))
}
