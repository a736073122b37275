//! Routes, one module per resource.
//!
//! Each handler's path and method come from its OpenAPI annotation: the
//! router and the document are built from the same list, so an endpoint
//! cannot be served without being documented, or documented without being
//! served.

pub(crate) mod catalog;
pub(crate) mod health;
pub(crate) mod intake;
pub(crate) mod relay;
pub(crate) mod tickets;
pub(crate) mod users;
pub(crate) mod work;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

/// Every route, at the root, with the OpenAPI document that describes them.
/// Handlers sharing a path are registered together.
pub(crate) fn all() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::openapi::base())
        .routes(routes!(health::healthz))
        .routes(routes!(crate::openapi::openapi_json))
        .routes(routes!(catalog::call_centers))
        .routes(routes!(catalog::custom_fields))
        .routes(routes!(tickets::list, tickets::intake))
        .routes(routes!(tickets::show, work::update))
        .routes(routes!(work::close))
        .routes(routes!(work::reopen))
        .routes(routes!(work::respond, work::replace_responses))
        .routes(routes!(work::history))
        .routes(routes!(intake::document))
        .routes(routes!(intake::take_in))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::update))
        .routes(routes!(users::tokens, users::create_token))
        .routes(routes!(users::revoke_token))
        .routes(routes!(relay::deliveries))
        .routes(routes!(relay::show_settings, relay::replace_settings))
}
