//! `GET /call_centers` and `GET /custom_fields`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::auth::Caller;
use crate::out::{CallCenterOut, CustomFieldOut};
use crate::{ApiError, AppState};

pub(crate) async fn call_centers(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Response, ApiError> {
    let centers = state.store.call_centers(caller.account).await?;
    Ok(Json(centers.iter().map(CallCenterOut::from).collect::<Vec<_>>()).into_response())
}

pub(crate) async fn custom_fields(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Response, ApiError> {
    let fields = state.store.custom_fields(caller.account).await?;
    Ok(Json(fields.iter().map(CustomFieldOut::from).collect::<Vec<_>>()).into_response())
}
