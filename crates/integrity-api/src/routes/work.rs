//! Working a ticket: PATCH (custom fields, assignee), close, reopen,
//! responses, history. Each handler checks, in the documented order, that
//! the ticket exists (404), that the caller may (403), then the body (400),
//! then its content (422).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use integrity_domain::permission::Permission;
use integrity_domain::response::{parse_response_input, ResponseInput};
use integrity_domain::ticket::{parse_ticket_patch, TicketPatch};
use integrity_domain::ValidationErrors;
use integrity_store::Transition;
use serde_json::Value;

use super::tickets::{ticket_key, TicketPath};
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::out::{HistoryEntryOut, TicketOut, TicketResponseOut};
use crate::{ApiError, AppState};

/// 404 unless the caller's account has the ticket, then 403 unless the
/// caller holds `permission`.
async fn found_and_allowed(
    state: &AppState,
    caller: &Caller,
    path: TicketPath,
    permission: Permission,
) -> Result<(i64, String), ApiError> {
    let (call_center_id, number) = ticket_key(path)?;
    if !state
        .store
        .ticket_exists(caller.0.account, call_center_id, &number)
        .await?
    {
        return Err(ApiError::NotFound);
    }
    caller.require(permission)?;
    Ok((call_center_id, number))
}

fn patch_from(value: Value) -> Result<TicketPatch, ApiError> {
    parse_ticket_patch(value).map_err(ApiError::Invalid)
}

#[utoipa::path(
    patch,
    path = "/tickets/by_center/{call_center_id}/by_number/{number}",
    tag = "tickets",
    summary = "Set custom fields and the assignee",
    params(crate::openapi::TicketKey),
    request_body = crate::openapi::TicketPatchRequest,
    responses(
        (status = 200, description = "The ticket as changed", body = crate::out::TicketOut),
        crate::openapi::Refusals,
        crate::openapi::Missing,
        crate::openapi::BadBody
    )
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    path: TicketPath,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let (center, number) =
        found_and_allowed(&state, &caller, path, Permission::TicketsUpdate).await?;
    let patch = patch_from(body.require("ticket")?)?;
    transition(&state, &caller, center, &number, &patch, Transition::None).await
}

#[utoipa::path(
    patch,
    path = "/tickets/by_center/{call_center_id}/by_number/{number}/close",
    tag = "tickets",
    summary = "Close a ticket, optionally setting fields as for PATCH",
    params(crate::openapi::TicketKey),
    request_body = Option<crate::openapi::TicketPatchRequest>,
    responses(
        (status = 200, description = "The closed ticket", body = crate::out::TicketOut),
        crate::openapi::Refusals,
        crate::openapi::Missing,
        crate::openapi::BadBody
    )
)]
pub(crate) async fn close(
    State(state): State<AppState>,
    caller: Caller,
    path: TicketPath,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let (center, number) =
        found_and_allowed(&state, &caller, path, Permission::TicketsClose).await?;
    let patch = body
        .optional("ticket")?
        .map(patch_from)
        .transpose()?
        .unwrap_or_default();
    if patch.assignee_id.is_some() {
        caller.require(Permission::TicketsUpdate)?;
    }
    transition(&state, &caller, center, &number, &patch, Transition::Close).await
}

/// Reopen takes no body; one sent anyway is ignored.
#[utoipa::path(
    patch,
    path = "/tickets/by_center/{call_center_id}/by_number/{number}/reopen",
    tag = "tickets",
    summary = "Reopen a closed ticket",
    params(crate::openapi::TicketKey),
    responses(
        (status = 200, description = "The reopened ticket", body = crate::out::TicketOut),
        crate::openapi::Refusals,
        crate::openapi::Missing,
        crate::openapi::Invalid
    )
)]
pub(crate) async fn reopen(
    State(state): State<AppState>,
    caller: Caller,
    path: TicketPath,
) -> Result<Response, ApiError> {
    let (center, number) =
        found_and_allowed(&state, &caller, path, Permission::TicketsClose).await?;
    transition(
        &state,
        &caller,
        center,
        &number,
        &TicketPatch::default(),
        Transition::Reopen,
    )
    .await
}

async fn transition(
    state: &AppState,
    caller: &Caller,
    center: i64,
    number: &str,
    patch: &TicketPatch,
    transition: Transition,
) -> Result<Response, ApiError> {
    let ticket = state
        .store
        .update_ticket(
            caller.0.account,
            center,
            number,
            patch,
            transition,
            caller.0.user_id,
        )
        .await?;
    Ok(Json(TicketOut::from(&ticket)).into_response())
}

#[utoipa::path(
    post,
    path = "/tickets/by_center/{call_center_id}/by_number/{number}/ticket_responses",
    tag = "responses",
    summary = "Create or update the response of a (service area, facility) pair",
    params(crate::openapi::TicketKey),
    request_body = crate::openapi::TicketResponseRequest,
    responses(
        (status = 200, description = "The response", body = crate::out::TicketResponseOut),
        crate::openapi::Refusals,
        crate::openapi::Missing,
        crate::openapi::BadBody
    )
)]
pub(crate) async fn respond(
    State(state): State<AppState>,
    caller: Caller,
    path: TicketPath,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let (center, number) =
        found_and_allowed(&state, &caller, path, Permission::ResponsesWrite).await?;
    let input =
        parse_response_input(body.require("ticket_response")?).map_err(ApiError::Invalid)?;
    let response = state
        .store
        .put_response(caller.0.account, center, &number, &input, caller.0.user_id)
        .await?;
    Ok(Json(TicketResponseOut::from(&response)).into_response())
}

#[utoipa::path(
    put,
    path = "/tickets/by_center/{call_center_id}/by_number/{number}/ticket_responses",
    tag = "responses",
    summary = "Replace all of a ticket's responses",
    params(crate::openapi::TicketKey),
    request_body = crate::openapi::TicketResponsesRequest,
    responses(
        (status = 200, description = "The responses", body = Vec<crate::out::TicketResponseOut>),
        crate::openapi::Refusals,
        crate::openapi::Missing,
        crate::openapi::BadBody
    )
)]
pub(crate) async fn replace_responses(
    State(state): State<AppState>,
    caller: Caller,
    path: TicketPath,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let (center, number) =
        found_and_allowed(&state, &caller, path, Permission::ResponsesWrite).await?;
    let Value::Array(entries) = body.require("ticket_responses")? else {
        return Err(ApiError::invalid("ticket_responses", "must be an array"));
    };
    let mut errors = ValidationErrors::new();
    let mut inputs: Vec<ResponseInput> = Vec::with_capacity(entries.len());
    for entry in entries {
        match parse_response_input(entry) {
            Ok(input) => inputs.push(input),
            Err(e) => errors.merge(e),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let responses = state
        .store
        .replace_responses(caller.0.account, center, &number, &inputs, caller.0.user_id)
        .await?;
    Ok(Json(
        responses
            .iter()
            .map(TicketResponseOut::from)
            .collect::<Vec<_>>(),
    )
    .into_response())
}

#[utoipa::path(
    get,
    path = "/tickets/by_center/{call_center_id}/by_number/{number}/history",
    tag = "tickets",
    summary = "Every change to the ticket, oldest first",
    params(crate::openapi::TicketKey),
    responses(
        (status = 200, description = "History entries", body = Vec<crate::out::HistoryEntryOut>),
        crate::openapi::Refusals,
        crate::openapi::Missing
    )
)]
pub(crate) async fn history(
    State(state): State<AppState>,
    caller: Caller,
    path: TicketPath,
) -> Result<Response, ApiError> {
    let (center, number) = ticket_key(path)?;
    let entries = state
        .store
        .ticket_history(caller.0.account, center, &number)
        .await?
        .ok_or(ApiError::NotFound)?;
    caller.require(Permission::TicketsRead)?;
    Ok(Json(
        entries
            .iter()
            .map(HistoryEntryOut::from)
            .collect::<Vec<_>>(),
    )
    .into_response())
}
