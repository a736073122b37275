//! Tickets: read one, list and search, take one in.

use axum::extract::rejection::PathRejection;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use integrity_domain::errors::msg;
use integrity_domain::permission::Permission;
use integrity_domain::ticket::{parse_intake, TicketStatus};
use integrity_domain::time::{parse_timestamp, start_of_day_utc};
use integrity_domain::ValidationErrors;
use integrity_store::{IntakeOutcome, TicketCursor, TicketFilter};

use crate::auth::Caller;
use crate::body::JsonBody;
use crate::out::TicketOut;
use crate::{ApiError, AppState};

pub const DEFAULT_PER_PAGE: u32 = 50;
pub const MAX_PER_PAGE: u32 = 500;

/// The call center id and ticket number of a ticket's path.
pub(crate) type TicketPath = Result<Path<(String, String)>, PathRejection>;

/// Reads a ticket's path. One that does not decode (invalid UTF-8), a call
/// center id that is not a number, or a number holding U+0000 names
/// nothing: 404, as for any ticket this account lacks.
pub(crate) fn ticket_key(path: TicketPath) -> Result<(i64, String), ApiError> {
    let Path((call_center_id, number)) = path.map_err(|_| ApiError::NotFound)?;
    let call_center_id: i64 = call_center_id.parse().map_err(|_| ApiError::NotFound)?;
    if number.contains('\0') {
        return Err(ApiError::NotFound);
    }
    Ok((call_center_id, number))
}

#[utoipa::path(
    get,
    path = "/tickets/by_center/{call_center_id}/by_number/{number}",
    tag = "tickets",
    summary = "One ticket",
    params(crate::openapi::TicketKey),
    responses(
        (status = 200, description = "The ticket", body = crate::out::TicketOut),
        crate::openapi::Refusals,
        crate::openapi::Missing
    )
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    caller: Caller,
    path: TicketPath,
) -> Result<Response, ApiError> {
    let (call_center_id, number) = ticket_key(path)?;
    let ticket = state
        .store
        .ticket_by_number(caller.0.account, call_center_id, &number)
        .await?
        .ok_or(ApiError::NotFound)?;
    caller.require(Permission::TicketsRead)?;
    Ok(Json(TicketOut::from(&ticket)).into_response())
}

#[utoipa::path(
    post,
    path = "/tickets",
    tag = "tickets",
    summary = "Take a ticket in: a new number creates it, new content makes a new version, the same content changes nothing",
    request_body = crate::openapi::TicketIntakeRequest,
    responses(
        (status = 201, description = "Created", body = crate::out::TicketOut),
        (status = 200, description = "A new version, or a retransmission that changed nothing", body = crate::out::TicketOut),
        crate::openapi::Refusals,
        crate::openapi::BadBody
    )
)]
pub(crate) async fn intake(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody,
) -> Result<Response, ApiError> {
    caller.require(Permission::TicketsCreate)?;
    let intake = parse_intake(body.require("ticket")?).map_err(ApiError::Invalid)?;
    let (outcome, ticket) = state
        .store
        .intake_ticket(caller.0.account, &intake, Some(caller.0.user_id), None)
        .await?;
    let status = match outcome {
        IntakeOutcome::Created => StatusCode::CREATED,
        IntakeOutcome::NewVersion | IntakeOutcome::Unchanged => StatusCode::OK,
    };
    Ok((status, Json(TicketOut::from(&ticket))).into_response())
}

#[utoipa::path(
    get,
    path = "/tickets",
    tag = "tickets",
    summary = "Tickets, newest change first, filtered; the Link header names the next page",
    params(("status" = Option<crate::openapi::TicketStatusName>, Query), ("call_center_id" = Option<i64>, Query), ("service_area" = Option<String>, Query, description = "Primary or additional service area"), ("updated_since" = Option<String>, Query, description = "ISO 8601 date-time, or a date (from its midnight, UTC)"), ("q" = Option<String>, Query, description = "Ticket number or words of the ticket"), ("per_page" = Option<u32>, Query, minimum = 1, maximum = 500), ("page" = Option<String>, Query, pattern = "^[0-9]+_[0-9]+$", description = "Cursor from the Link header")),
    responses(
        (status = 200, description = "A page of tickets", body = Vec<crate::out::TicketOut>, headers(("Link" = String, description = "<URL>; rel=\"next\" when there is a next page"))),
        (status = 400, description = "The query string is malformed", body = crate::openapi::ErrorBody),
        crate::openapi::Refusals,
        crate::openapi::Invalid
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    // The path as the client sent it, prefix included: the next page's
    // link must stay under the prefix the client uses.
    OriginalUri(uri): OriginalUri,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    caller.require(Permission::TicketsRead)?;
    let params = parse_params(query.as_deref().unwrap_or(""))?;
    let filter = filter_from(&params)?;
    let page = state.store.tickets(caller.0.account, &filter).await?;
    let body: Vec<TicketOut> = page.tickets.iter().map(TicketOut::from).collect();
    let mut response = Json(body).into_response();
    if let Some(next) = page.next {
        let link = next_link(uri.path(), &params, &next.encode());
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

const FILTERS: [&str; 7] = [
    "status",
    "call_center_id",
    "service_area",
    "updated_since",
    "q",
    "per_page",
    "page",
];

fn parse_params(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|e| ApiError::BadRequest(format!("malformed query string: {e}")))?;
    let mut errors = ValidationErrors::new();
    for (key, value) in &params {
        if value.contains('\0') {
            errors.add(key.as_str(), msg::INVALID);
        }
        if !FILTERS.contains(&key.as_str()) {
            errors.add(
                key.as_str(),
                format!("is not a known parameter (known: {})", FILTERS.join(", ")),
            );
        }
    }
    errors.into_result(params).map_err(ApiError::Invalid)
}

fn filter_from(params: &[(String, String)]) -> Result<TicketFilter, ApiError> {
    let mut errors = ValidationErrors::new();
    let mut filter = TicketFilter {
        per_page: DEFAULT_PER_PAGE,
        ..Default::default()
    };
    for (key, value) in params {
        match key.as_str() {
            "status" => match TicketStatus::parse(value) {
                Some(status) => filter.status = Some(status),
                None => errors.add("status", msg::NOT_IN_LIST),
            },
            "call_center_id" => match value.parse() {
                Ok(id) => filter.call_center_id = Some(id),
                Err(_) => errors.add("call_center_id", "is not a number"),
            },
            "service_area" => filter.service_area = Some(value.clone()),
            "updated_since" => match parse_timestamp(value).or_else(|| start_of_day_utc(value)) {
                Some(at) => filter.updated_since = Some(at),
                None => errors.add(
                    "updated_since",
                    "is not an ISO 8601 timestamp or date (2026-12-04T09:30:00Z, 2026-12-04)",
                ),
            },
            "q" => filter.q = Some(value.clone()),
            "per_page" => match value.parse::<u32>() {
                Ok(n) if (1..=MAX_PER_PAGE).contains(&n) => filter.per_page = n,
                _ => errors.add(
                    "per_page",
                    format!("must be an integer from 1 to {MAX_PER_PAGE}"),
                ),
            },
            "page" => match TicketCursor::decode(value) {
                Some(cursor) => filter.after = Some(cursor),
                None => errors.add("page", "is invalid; use the Link header's next URL"),
            },
            _ => {}
        }
    }
    errors.into_result(filter).map_err(ApiError::Invalid)
}

/// `<path?…&page=CURSOR>; rel="next"`, keeping the other parameters.
fn next_link(path: &str, params: &[(String, String)], cursor: &str) -> String {
    let mut kept: Vec<(&str, &str)> = params
        .iter()
        .filter(|(k, _)| k != "page")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    kept.push(("page", cursor));
    let query = serde_urlencoded::to_string(kept).unwrap_or_default();
    format!("<{path}?{query}>; rel=\"next\"")
}
