//! The relay as an operator sees it: each call center's settings, and the
//! deliveries with what the centers answered.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use integrity_domain::errors::msg;
use integrity_domain::permission::Permission;
use integrity_domain::relay::RelaySettings;
use integrity_domain::ticket::describe_serde_error;
use integrity_domain::ValidationErrors;
use integrity_store::relay::{CANCELLED, FAILED, QUEUED, SENT};

use crate::auth::Caller;
use crate::body::JsonBody;
use crate::out::DeliveryOut;
use crate::{ApiError, AppState};

/// What `GET …/relay` shows in place of a stored authorization; sent back
/// unchanged in a `PUT`, it keeps the stored one.
const HIDDEN: &str = "[hidden]";
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 500;

#[utoipa::path(
    get,
    path = "/relay/deliveries",
    tag = "relay",
    summary = "Deliveries of responses to call centers, newest first",
    params(("status" = Option<crate::openapi::DeliveryStatusName>, Query), ("per_page" = Option<i64>, Query, minimum = 1, maximum = 500)),
    responses(
        (status = 200, description = "Deliveries", body = Vec<crate::out::DeliveryOut>),
        (status = 400, description = "The query string is malformed", body = crate::openapi::ErrorBody),
        crate::openapi::Refusals,
        crate::openapi::Invalid
    )
)]
pub(crate) async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    caller.require(Permission::RelayManage)?;
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::BadRequest(format!("malformed query string: {e}")))?;
    let mut errors = ValidationErrors::new();
    let mut status = None;
    let mut limit = DEFAULT_LIMIT;
    for (key, value) in &params {
        match key.as_str() {
            "status" if [QUEUED, SENT, FAILED, CANCELLED].contains(&value.as_str()) => {
                status = Some(value.as_str())
            }
            "status" => errors.add("status", msg::NOT_IN_LIST),
            "per_page" => match value.parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => limit = n,
                _ => errors.add(
                    "per_page",
                    format!("must be an integer from 1 to {MAX_LIMIT}"),
                ),
            },
            other => errors.add(other, "is not a known parameter (known: status, per_page)"),
        }
    }
    errors.into_result(()).map_err(ApiError::Invalid)?;
    let deliveries = state
        .store
        .deliveries(caller.0.account, status, limit)
        .await?;
    Ok(Json(deliveries.iter().map(DeliveryOut::from).collect::<Vec<_>>()).into_response())
}

type CenterPath = Result<Path<String>, PathRejection>;

async fn center_settings(
    state: &AppState,
    caller: &Caller,
    path: CenterPath,
) -> Result<(i64, RelaySettings), ApiError> {
    let Path(text) = path.map_err(|_| ApiError::NotFound)?;
    let id: i64 = text.parse().map_err(|_| ApiError::NotFound)?;
    let settings = state
        .store
        .relay_settings(caller.0.account, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    caller.require(Permission::RelayManage)?;
    Ok((id, settings))
}

#[utoipa::path(
    get,
    path = "/call_centers/{id}/relay",
    tag = "relay",
    summary = "A call center's relay settings (the authorization hidden)",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Settings", body = integrity_domain::relay::RelaySettings),
        crate::openapi::Refusals,
        crate::openapi::Missing
    )
)]
pub(crate) async fn show_settings(
    State(state): State<AppState>,
    caller: Caller,
    path: CenterPath,
) -> Result<Response, ApiError> {
    let (_, settings) = center_settings(&state, &caller, path).await?;
    Ok(Json(settings.redacted()).into_response())
}

#[utoipa::path(
    put,
    path = "/call_centers/{id}/relay",
    tag = "relay",
    summary = "Replace a call center's relay settings; `[hidden]` keeps the stored authorization",
    params(("id" = i64, Path)),
    request_body = crate::openapi::RelayRequest,
    responses(
        (status = 200, description = "Settings", body = integrity_domain::relay::RelaySettings),
        crate::openapi::Refusals,
        crate::openapi::Missing,
        crate::openapi::BadBody
    )
)]
pub(crate) async fn replace_settings(
    State(state): State<AppState>,
    caller: Caller,
    path: CenterPath,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let (id, current) = center_settings(&state, &caller, path).await?;
    let value = body.require("relay")?;
    // serde reads a struct from an array of its fields too; no client means that.
    if !value.is_object() {
        return Err(ApiError::invalid("relay", "must be an object"));
    }
    let mut settings: RelaySettings = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let key = if path == "." {
            "relay".to_string()
        } else {
            path
        };
        ApiError::invalid(key, describe_serde_error(&e.into_inner().to_string()))
    })?;
    if settings.authorization.as_deref() == Some(HIDDEN) {
        settings.authorization = current.authorization;
    }
    settings
        .validate()
        .map_err(|message| ApiError::invalid("relay", message))?;
    state
        .store
        .set_relay_settings(caller.0.account, id, &settings)
        .await?;
    Ok(Json(settings.redacted()).into_response())
}
