//! Routes, one module per resource.

pub(crate) mod catalog;
pub(crate) mod health;
pub(crate) mod intake;
pub(crate) mod relay;
pub(crate) mod tickets;
pub(crate) mod users;
pub(crate) mod work;

use axum::routing::{get, patch};
use axum::Router;

use crate::AppState;

/// Every route under `prefix` (`""` or the original product's path).
pub(crate) fn all(prefix: &str) -> Router<AppState> {
    let ticket = format!("{prefix}/tickets/by_center/{{call_center_id}}/by_number/{{number}}");
    Router::new()
        .route(&format!("{prefix}/healthz"), get(health::healthz))
        .route(
            &format!("{prefix}/openapi.json"),
            get(crate::openapi::openapi_json),
        )
        .route(
            &format!("{prefix}/call_centers"),
            get(catalog::call_centers),
        )
        .route(
            &format!("{prefix}/custom_fields"),
            get(catalog::custom_fields),
        )
        .route(
            &format!("{prefix}/tickets"),
            get(tickets::list).post(tickets::intake),
        )
        .route(&ticket, get(tickets::show).patch(work::update))
        .route(&format!("{ticket}/close"), patch(work::close))
        .route(&format!("{ticket}/reopen"), patch(work::reopen))
        .route(
            &format!("{ticket}/ticket_responses"),
            axum::routing::post(work::respond).put(work::replace_responses),
        )
        .route(&format!("{ticket}/history"), get(work::history))
        .route(
            &format!("{ticket}/documents/{{document}}"),
            get(intake::document),
        )
        .route(
            &format!("{prefix}/call_centers/{{id}}/intake"),
            axum::routing::post(intake::take_in),
        )
        .route(
            &format!("{prefix}/users"),
            get(users::list).post(users::create),
        )
        .route(&format!("{prefix}/users/{{id}}"), patch(users::update))
        .route(
            &format!("{prefix}/users/{{id}}/api_tokens"),
            get(users::tokens).post(users::create_token),
        )
        .route(
            &format!("{prefix}/api_tokens/{{id}}"),
            axum::routing::delete(users::revoke_token),
        )
        .route(
            &format!("{prefix}/relay/deliveries"),
            get(relay::deliveries),
        )
        .route(
            &format!("{prefix}/call_centers/{{id}}/relay"),
            get(relay::show_settings).put(relay::replace_settings),
        )
}
