//! `POST /call_centers/:id/intake`: a ticket in its call center's own
//! format; and the documents kept with a ticket.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use integrity_domain::permission::Permission;
use integrity_domain::ValidationErrors;
use integrity_store::IntakeOutcome;

use crate::auth::Caller;
use crate::body::RawBody;
use crate::intake::{read_document, resolve_format};
use crate::out::TicketOut;
use crate::{ApiError, AppState};

/// The `format` parameter, the only one intake takes: a misspelt one
/// (`?fromat=`) is refused, as every list's unknown parameters are, rather
/// than leave the format to detection unnoticed.
fn format_param(query: &str) -> Result<Option<String>, ApiError> {
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|e| ApiError::BadRequest(format!("malformed query string: {e}")))?;
    let mut errors = ValidationErrors::new();
    let mut format = None;
    for (key, value) in params {
        match key.as_str() {
            "format" if format.is_none() => format = Some(value),
            "format" => errors.add("format", "is given more than once"),
            other => errors.add(other, "is not a known parameter (known: format)"),
        }
    }
    errors.into_result(format).map_err(ApiError::Invalid)
}

#[utoipa::path(
    post,
    path = "/call_centers/{id}/intake",
    tag = "intake",
    summary = "Take in a ticket in its call center's own format (Open Ticket JSON, USA North 811 XML or text, e-mail)",
    params(("id" = i64, Path, description = "The call center's id"), ("format" = Option<crate::openapi::FormatName>, Query, description = "Detected when absent")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The document as the call center sent it"),
    responses(
        (status = 201, description = "Created", body = crate::out::TicketOut),
        (status = 200, description = "A new version, or a retransmission that changed nothing", body = crate::out::TicketOut),
        (status = 400, description = "No document, or a malformed query string", body = crate::openapi::ErrorBody),
        crate::openapi::Refusals,
        crate::openapi::Missing,
        (status = 413, description = "The document is larger than 16 MiB", body = crate::openapi::ErrorBody),
        crate::openapi::Invalid
    )
)]
pub(crate) async fn take_in(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: RawBody,
) -> Result<Response, ApiError> {
    let Path(text) = path.map_err(|_| ApiError::NotFound)?;
    let center: i64 = text.parse().map_err(|_| ApiError::NotFound)?;
    if state
        .store
        .relay_settings(caller.0.account, center)
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound);
    }
    caller.require(Permission::TicketsCreate)?;
    let named = format_param(query.as_deref().unwrap_or(""))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let body = body.0.to_vec();
    if body.is_empty() {
        return Err(ApiError::BadRequest("the request has no document".into()));
    }
    let format = resolve_format(named.as_deref(), &body, content_type, "?format=")
        .map_err(ApiError::Invalid)?;
    let content_type = content_type
        .unwrap_or("application/octet-stream")
        .to_string();
    let (intake, provenance) = read_document(center, format, "request body", &content_type, body)
        .map_err(ApiError::Invalid)?;
    let (outcome, ticket) = state
        .store
        .intake_ticket(
            caller.0.account,
            &intake,
            Some(caller.0.user_id),
            Some(&provenance),
        )
        .await?;
    let status = match outcome {
        IntakeOutcome::Created => StatusCode::CREATED,
        IntakeOutcome::NewVersion | IntakeOutcome::Unchanged => StatusCode::OK,
    };
    Ok((status, Json(TicketOut::from(&ticket))).into_response())
}

#[utoipa::path(
    get,
    path = "/tickets/by_center/{call_center_id}/by_number/{number}/documents/{document}",
    tag = "intake",
    summary = "A document the ticket arrived in, as received",
    params(crate::openapi::TicketKey, ("document" = i64, Path, description = "The document's id, from the history")),
    responses(
        (status = 200, description = "The document, with its original content type", content_type = "application/octet-stream", body = Vec<u8>, headers(("X-Content-SHA256" = String, description = "sha-256=<hex digest>"), ("X-Content-Type-Options" = String, description = "nosniff"), ("Content-Disposition" = String, description = "attachment"))),
        crate::openapi::Refusals,
        crate::openapi::Missing
    )
)]
pub(crate) async fn document(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((center, number, id)) = path.map_err(|_| ApiError::NotFound)?;
    let center: i64 = center.parse().map_err(|_| ApiError::NotFound)?;
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound)?;
    if number.contains('\0') {
        return Err(ApiError::NotFound);
    }
    let document = state
        .store
        .ticket_document(caller.0.account, center, &number, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    caller.require(Permission::TicketsRead)?;
    let content_type = HeaderValue::from_str(&document.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let mut response = (StatusCode::OK, document.body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    if let Ok(digest) = HeaderValue::from_str(&format!("sha-256={}", document.sha256)) {
        response.headers_mut().insert("x-content-sha256", digest);
    }
    // The content type is whatever the sender claimed: a browser must not
    // guess another or show the document as a page of this site.
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment"),
    );
    Ok(response)
}
