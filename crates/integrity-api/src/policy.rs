//! What an operator sets about serving: limits, timeouts, rate limiting,
//! and whether plain HTTP is acceptable. Each is a layer around the routes,
//! applied by [`crate::app_with`].

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::Router;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use sha2::{Digest, Sha256};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::{Layer, ServiceExt};

use crate::{ApiError, AppState};

/// How the server treats requests. The defaults are those of the original
/// product: 1 MiB bodies, no rate limit, plain HTTP accepted.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Largest JSON request body (413 beyond).
    pub max_body_bytes: usize,
    /// Longest a request may take, body included (503 beyond).
    pub request_timeout: Duration,
    /// Requests handled at once; more wait their turn (within the timeout).
    pub max_concurrent_requests: usize,
    /// Requests per API key; `None`: unlimited.
    pub rate_limit: Option<RateLimit>,
    /// Refuse API requests that did not arrive over TLS, directly or through
    /// a trusted proxy that says so in `X-Forwarded-Proto`.
    pub require_tls: bool,
    /// Proxies whose `X-Forwarded-Proto` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Serve `GET /metrics` beside the API, without a key but under this
    /// same policy; `None`: 404 there.
    pub metrics: Option<Metrics>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_body_bytes: crate::MAX_BODY_BYTES,
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 1024,
            rate_limit: None,
            require_tls: false,
            trusted_proxies: Vec::new(),
            metrics: None,
        }
    }
}

/// A sustained rate and the burst allowed above it, per API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

/// What the transport knows of a request's connection. Requests without it
/// (tests that call the router directly) count as plain HTTP from loopback.
#[derive(Debug, Clone, Copy)]
pub struct Connection {
    pub peer: SocketAddr,
    pub tls: bool,
}

/// The text of `GET /metrics`, rendered afresh for each scrape by whoever
/// holds the recorder (the API only uses the `metrics` macros).
#[derive(Clone)]
pub struct Metrics(Arc<dyn Fn() -> Pin<Box<dyn Future<Output = String> + Send>> + Send + Sync>);

impl Metrics {
    pub fn new<F, Fut>(render: F) -> Metrics
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = String> + Send + 'static,
    {
        Metrics(Arc::new(move || Box::pin(render())))
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// `GET` of the metrics text in Prometheus' format: on the API's
    /// address (see [`Policy::metrics`]) or on a listener of its own.
    pub fn endpoint<S: Clone + Send + Sync + 'static>(self) -> MethodRouter<S> {
        axum::routing::get(move || {
            let render = self.0.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    render().await,
                )
            }
        })
    }
}

/// `GET /metrics` at the root and under the legacy prefix, when the policy
/// serves them; merged before the layers, so that a scrape is subject to
/// TLS, HSTS and counting like any request.
pub(crate) fn metrics_routes(policy: &Policy) -> Router<AppState> {
    let Some(metrics) = policy.metrics.clone() else {
        return Router::new();
    };
    let endpoint = metrics.endpoint();
    Router::new()
        .route("/metrics", endpoint.clone())
        .route(&format!("{}/metrics", crate::LEGACY_PREFIX), endpoint)
}

/// The route's pattern without the legacy prefix; `None` for the fallback.
fn route_of(req: &Request) -> Option<&str> {
    let path = req.extensions().get::<MatchedPath>()?.as_str();
    Some(path.strip_prefix(crate::LEGACY_PREFIX).unwrap_or(path))
}

/// Endpoints that take no key.
fn keyless(req: &Request) -> bool {
    matches!(
        route_of(req),
        Some("/healthz" | "/openapi.json" | "/metrics")
    )
}

/// The largest body the JSON extractor reads, from the policy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimit(pub usize);

/// Allowances per API key, keyed by a digest of the key as authentication
/// reads it (not of the header, whose spellings of one key are many): the
/// limit is checked before the key is looked up, so a flood, even of
/// made-up keys, costs the database nothing.
#[derive(Clone)]
pub(crate) struct Limiter {
    limiter: Arc<DefaultKeyedRateLimiter<[u8; 32]>>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Limiter {
        let quota = Quota::per_second(limit.per_second).allow_burst(limit.burst);
        let limiter = Arc::new(RateLimiter::keyed(quota));
        // Forget keys idle long enough to be back at a full allowance, so
        // that the table stays as small as the set of active keys.
        let weak = Arc::downgrade(&limiter);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                let Some(limiter) = weak.upgrade() else { break };
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        });
        Limiter { limiter }
    }
}

/// Keys tracked before idle ones are forgotten out of turn.
const MAX_TRACKED_KEYS: usize = 100_000;

/// The key a request's allowance is counted against, if it has one and
/// the endpoint needs one.
fn rate_key(req: &Request) -> Option<[u8; 32]> {
    if keyless(req) {
        return None;
    }
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = crate::auth::token_from_header(value)?;
    Some(Sha256::digest(token.as_bytes()).into())
}

/// 429 with `Retry-After` once a key has spent its allowance. Requests
/// without a readable key are not limited here: they are refused (401)
/// without touching the database. Nor are the endpoints that need no key,
/// so that a client sending its key everywhere keeps its health checks.
pub(crate) async fn rate_limit(
    State(limiter): State<Limiter>,
    req: Request,
    next: Next,
) -> Response {
    let Some(digest) = rate_key(&req) else {
        return next.run(req).await;
    };
    if limiter.limiter.len() > MAX_TRACKED_KEYS {
        // A flood of made-up keys: forget the ones back at full allowance
        // now rather than at the next tick, so memory stays bounded.
        limiter.limiter.retain_recent();
    }
    match limiter.limiter.check_key(&digest) {
        Ok(()) => next.run(req).await,
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            metrics::counter!("integrity_http_rate_limited_total").increment(1);
            let mut response = ApiError::TooManyRequests.into_response();
            if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}

/// A request's time, and the slots it may have to wait for.
#[derive(Clone)]
pub(crate) struct Deadline {
    limit: Duration,
    slots: GlobalConcurrencyLimitLayer,
}

impl Deadline {
    pub(crate) fn new(policy: &Policy) -> Deadline {
        Deadline {
            limit: policy.request_timeout,
            slots: GlobalConcurrencyLimitLayer::new(policy.max_concurrent_requests.max(1)),
        }
    }
}

/// The request within its time, the wait for a slot included; a handler
/// cut short rolls its transaction back, so nothing is half written. The
/// slot is taken here rather than by a layer of its own: a layer waits in
/// `poll_ready`, before any middleware around it starts its clock.
pub(crate) async fn request_timeout(
    State(deadline): State<Deadline>,
    req: Request,
    next: Next,
) -> Response {
    let served = deadline.slots.layer(next).oneshot(req);
    match tokio::time::timeout(deadline.limit, served).await {
        Ok(Ok(response)) => response,
        Ok(Err(never)) => match never {},
        Err(_) => ApiError::Timeout(deadline.limit).into_response(),
    }
}

/// Whether the request came over TLS, itself or through a trusted proxy.
fn arrived_over_tls(req: &Request, trusted: &[IpNet]) -> bool {
    let Some(connection) = req.extensions().get::<Connection>() else {
        return false;
    };
    if connection.tls {
        return true;
    }
    let peer: IpAddr = connection.peer.ip();
    trusted.iter().any(|net| net.contains(&peer))
        && req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// Refuses plain-HTTP requests when TLS is required (health checks stay
/// open to load balancers), and asks browsers to keep to HTTPS.
pub(crate) async fn transport_security(
    State(policy): State<Arc<Policy>>,
    req: Request,
    next: Next,
) -> Response {
    let secure = arrived_over_tls(&req, &policy.trusted_proxies);
    let health = route_of(&req) == Some("/healthz");
    if policy.require_tls && !secure && !health {
        return ApiError::TlsRequired.into_response();
    }
    let mut response = next.run(req).await;
    if secure {
        response.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// Counts and times requests by route (the route's pattern, never the
/// ticket number, and `unmatched` for paths no route serves) and status.
pub(crate) async fn record_metrics(req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    metrics::counter!("integrity_http_requests_total",
        "method" => method.clone(), "route" => route.clone(), "status" => response.status().as_str().to_owned())
    .increment(1);
    metrics::histogram!("integrity_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
