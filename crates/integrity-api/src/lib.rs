//! Integrity's HTTP API: the documented endpoints and what integrators need
//! beyond them, with one error shape (`{"errors": {...}}`) throughout.

mod auth;
mod body;
mod error;
pub mod intake;
pub mod openapi;
mod out;
pub mod policy;
mod routes;

use std::sync::Arc;

use axum::http::HeaderName;
use axum::{middleware, Extension, Router};
use integrity_store::Store;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub use error::ApiError;
pub use policy::{Connection, Policy, RateLimit};

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
}

/// The application with the default [`Policy`].
pub fn app(state: AppState) -> Router {
    app_with(state, Policy::default())
}

/// The composition root: the whole application for a store and settings.
/// `serve` and every test build the app through this one function.
pub fn app_with(state: AppState, policy: Policy) -> Router {
    let request_id = HeaderName::from_static(REQUEST_ID);
    let (routes, _) = routes::all().split_for_parts();
    let mut router = Router::new()
        .merge(routes.clone())
        .nest(LEGACY_PREFIX, routes)
        .merge(policy::metrics_routes(&policy))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        // Innermost first. `layer` wraps each route and the fallback after
        // routing, so every layer sees the route's pattern, and no answer,
        // not even a 404 for an unknown path, escapes the outer ones.
        .layer(Extension(policy::BodyLimit(policy.max_body_bytes)))
        .layer(middleware::from_fn_with_state(
            policy::Deadline::new(&policy),
            policy::request_timeout,
        ));
    if let Some(limit) = policy.rate_limit {
        // Outside the deadline: a flood is refused without queueing for a slot.
        router = router.layer(middleware::from_fn_with_state(
            policy::Limiter::new(limit),
            policy::rate_limit,
        ));
    }
    router
        .layer(CatchPanicLayer::custom(error::panic_response))
        // Around every answer the server makes itself (429, 503, 500, 404),
        // so each carries HSTS over TLS and none is made over plain HTTP
        // when TLS is required.
        .layer(middleware::from_fn_with_state(
            Arc::new(policy.clone()),
            policy::transport_security,
        ))
        // Outermost of the policy: counts every answer, refusals included.
        .layer(middleware::from_fn(policy::record_metrics))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                // One line per request at the default level: its status and time.
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// The header carrying each request's id: the client's own when it sends
/// one, else a new UUID; echoed in the response and on every log line.
pub const REQUEST_ID: &str = "x-request-id";

fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", id, method = %req.method(), uri = %req.uri().path())
}
