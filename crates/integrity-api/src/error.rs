//! The one error type of the API and its rendering, in the documented shape
//! `{"errors": {"<attribute or base>": ["message", …]}}`.

use std::any::Any;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use integrity_domain::permission::Permission;
use integrity_domain::ValidationErrors;
use integrity_store::StoreError;
use serde_json::json;

#[derive(Debug)]
pub enum ApiError {
    /// 400: the body is not JSON, not UTF-8, or lacks its root key.
    BadRequest(String),
    /// 401, with `WWW-Authenticate`.
    Unauthorized(&'static str),
    /// 402: API access disabled or a plan limit reached.
    PaymentRequired(String),
    /// 403: the caller's role lacks the permission.
    Forbidden(Permission),
    /// 404: absent in this account, whether or not it exists elsewhere.
    NotFound,
    MethodNotAllowed,
    /// 413: the body is larger than this many bytes.
    PayloadTooLarge(usize),
    /// 429: the API key has spent its allowance for now.
    TooManyRequests,
    /// 503: the request took longer than the server allows.
    Timeout(std::time::Duration),
    /// 403: the server takes API requests over HTTPS only.
    TlsRequired,
    /// 422 with the attributes at fault.
    Invalid(ValidationErrors),
    /// 500: logged with its detail, answered without it.
    Internal(String),
}

impl ApiError {
    pub fn invalid(key: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::Invalid(ValidationErrors::single(key, message))
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::PaymentRequired(_) => StatusCode::PAYMENT_REQUIRED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TlsRequired => StatusCode::FORBIDDEN,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

fn base(message: &str) -> serde_json::Value {
    json!({ "errors": { "base": [message] } })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            ApiError::BadRequest(message) | ApiError::PaymentRequired(message) => base(message),
            ApiError::Unauthorized(message) => base(message),
            ApiError::Forbidden(permission) => base(&format!(
                "you do not have the permission {} needed here",
                permission.as_str()
            )),
            ApiError::NotFound => base("not found"),
            ApiError::MethodNotAllowed => base("method not allowed"),
            ApiError::PayloadTooLarge(limit) => {
                base(&format!("request body is larger than {limit} bytes"))
            }
            ApiError::TooManyRequests => base("too many requests with this API key; retry later"),
            ApiError::Timeout(limit) => base(&format!(
                "the request took longer than {} seconds",
                limit.as_secs_f64()
            )),
            ApiError::TlsRequired => base("this server takes API requests over HTTPS only"),
            ApiError::Invalid(errors) => json!({ "errors": errors }),
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                base("internal server error")
            }
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Token realm=\"Application\""),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Invalid(errors) => ApiError::Invalid(errors),
            StoreError::NotFound => ApiError::NotFound,
            StoreError::PlanLimit(message) => ApiError::PaymentRequired(message),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound
}

pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// A panic in a handler is a bug: log it, answer 500 in the usual shape,
/// and keep serving.
pub(crate) fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("panic");
    ApiError::Internal(format!("handler panicked: {detail}")).into_response()
}
