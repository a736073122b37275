//! Integrity's HTTP API: the documented endpoints and what integrators need
//! beyond them, with one error shape (`{"errors": {...}}`) throughout.

mod auth;
mod body;
mod error;
pub mod intake;
mod out;
mod routes;

use axum::Router;
use integrity_store::Store;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;

/// The path under which the original product served the API; every route is
/// also served there, so an existing client only changes its host.
pub const LEGACY_PREFIX: &str = "/api/integrations/integrity";

/// Largest JSON request body accepted (413 beyond).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Largest call-center document accepted by intake: an e-mail with its
/// maps and polygons is larger than any JSON request.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// With a base domain, the account is named by the Host header's first
    /// label and must be the token's account.
    pub base_domain: Option<String>,
    /// Where `GET /metrics` reads from; `None`: the route answers 404.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

/// The composition root: the whole application for a store and settings.
/// `serve` and every test build the app through this one function.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(routes::all(""))
        .merge(routes::all(LEGACY_PREFIX))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
