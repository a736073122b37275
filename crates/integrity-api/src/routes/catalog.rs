//! `GET /call_centers` and `GET /custom_fields`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use integrity_domain::permission::Permission;

use crate::auth::Caller;
use crate::out::{CallCenterOut, CustomFieldOut};
use crate::{ApiError, AppState};

#[utoipa::path(
    get,
    path = "/call_centers",
    tag = "catalog",
    summary = "The account's call centers with their service areas, facilities and response codes",
    responses(
        (status = 200, description = "Call centers", body = Vec<crate::out::CallCenterOut>),
        crate::openapi::Refusals
    )
)]
pub(crate) async fn call_centers(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Permission::CallCentersRead)?;
    let centers = state.store.call_centers(caller.0.account).await?;
    Ok(Json(centers.iter().map(CallCenterOut::from).collect::<Vec<_>>()).into_response())
}

#[utoipa::path(
    get,
    path = "/custom_fields",
    tag = "catalog",
    summary = "The account's custom fields",
    responses(
        (status = 200, description = "Custom fields", body = Vec<crate::out::CustomFieldOut>),
        crate::openapi::Refusals
    )
)]
pub(crate) async fn custom_fields(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Permission::CustomFieldsRead)?;
    let fields = state.store.custom_fields(caller.0.account).await?;
    Ok(Json(fields.iter().map(CustomFieldOut::from).collect::<Vec<_>>()).into_response())
}
