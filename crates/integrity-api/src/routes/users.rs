//! Users and their API keys.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use integrity_domain::permission::Permission;
use integrity_domain::user::{parse_id, parse_new_user, parse_user_changes};

use crate::auth::Caller;
use crate::body::JsonBody;
use crate::out::{ApiTokenOut, UserOut};
use crate::{ApiError, AppState};

type IdPath = Result<Path<String>, PathRejection>;

/// An id from the path; anything that is not one names nothing (404).
fn id_from(path: IdPath) -> Result<i64, ApiError> {
    let Path(text) = path.map_err(|_| ApiError::NotFound)?;
    parse_id(&text).ok_or(ApiError::NotFound)
}

#[utoipa::path(
    get,
    path = "/users",
    tag = "users",
    summary = "The account's users",
    responses(
        (status = 200, description = "Users", body = Vec<crate::out::UserOut>),
        crate::openapi::Refusals
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Permission::UsersRead)?;
    let users = state.store.users(caller.0.account).await?;
    Ok(Json(users.iter().map(UserOut::from).collect::<Vec<_>>()).into_response())
}

#[utoipa::path(
    post,
    path = "/users",
    tag = "users",
    summary = "Create a user",
    request_body = crate::openapi::UserRequest,
    responses(
        (status = 201, description = "Created", body = crate::out::UserOut),
        (status = 401, description = "No API key, or one that is unknown, revoked or of another account than the Host", body = crate::openapi::ErrorBody),
        (status = 402, description = "API access disabled, or the plan allows no more users", body = crate::openapi::ErrorBody),
        (status = 403, description = "The key's user lacks the permission, or the request came over plain HTTP to a server that requires TLS", body = crate::openapi::ErrorBody),
        crate::openapi::Limits,
        crate::openapi::BadBody
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody,
) -> Result<Response, ApiError> {
    caller.require(Permission::UsersWrite)?;
    let account = caller.0.account;
    if !state.store.has_room_for_user(account).await? {
        return Err(ApiError::PaymentRequired(
            "the account's plan allows no more active users".into(),
        ));
    }
    let new = parse_new_user(body.require("user")?).map_err(ApiError::Invalid)?;
    let user = state.store.create_user(account, &new).await?;
    Ok((StatusCode::CREATED, Json(UserOut::from(&user))).into_response())
}

#[utoipa::path(
    patch,
    path = "/users/{id}",
    tag = "users",
    summary = "Change a user",
    params(("id" = i64, Path)),
    request_body = crate::openapi::UserRequest,
    responses(
        (status = 204, description = "Changed"),
        crate::openapi::Refusals,
        crate::openapi::Missing,
        crate::openapi::BadBody
    )
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    path: IdPath,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id = id_from(path)?;
    state
        .store
        .user(caller.0.account, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    caller.require(Permission::UsersWrite)?;
    let changes = parse_user_changes(body.require("user")?).map_err(ApiError::Invalid)?;
    state
        .store
        .update_user(caller.0.account, id, &changes)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    get,
    path = "/users/{id}/api_tokens",
    tag = "users",
    summary = "A user's API keys (without the keys themselves)",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Keys", body = Vec<crate::out::ApiTokenOut>),
        crate::openapi::Refusals,
        crate::openapi::Missing
    )
)]
pub(crate) async fn tokens(
    State(state): State<AppState>,
    caller: Caller,
    path: IdPath,
) -> Result<Response, ApiError> {
    let id = id_from(path)?;
    let tokens = state
        .store
        .tokens(caller.0.account, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    caller.require(Permission::TokensWrite)?;
    Ok(Json(
        tokens
            .iter()
            .map(|t| ApiTokenOut::new(t, None))
            .collect::<Vec<_>>(),
    )
    .into_response())
}

#[utoipa::path(
    post,
    path = "/users/{id}/api_tokens",
    tag = "users",
    summary = "Issue an API key; the key is shown in this answer only",
    params(("id" = i64, Path)),
    responses(
        (status = 201, description = "Created, with `token`", body = crate::out::ApiTokenOut),
        crate::openapi::Refusals,
        crate::openapi::Missing
    )
)]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    path: IdPath,
) -> Result<Response, ApiError> {
    let id = id_from(path)?;
    state
        .store
        .user(caller.0.account, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    caller.require(Permission::TokensWrite)?;
    let (token, secret) = state.store.create_token(caller.0.account, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(ApiTokenOut::new(&token, Some(&secret))),
    )
        .into_response())
}

#[utoipa::path(
    delete,
    path = "/api_tokens/{id}",
    tag = "users",
    summary = "Revoke an API key",
    params(("id" = i64, Path)),
    responses(
        (status = 204, description = "Revoked"),
        crate::openapi::Refusals,
        crate::openapi::Missing
    )
)]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    path: IdPath,
) -> Result<Response, ApiError> {
    let id = id_from(path)?;
    if !state.store.token_exists(caller.0.account, id).await? {
        return Err(ApiError::NotFound);
    }
    caller.require(Permission::TokensWrite)?;
    state.store.revoke_token(caller.0.account, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
