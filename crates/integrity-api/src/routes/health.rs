use axum::Json;
use serde_json::{json, Value};

/// Liveness: answers without authentication or database.
pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Prometheus metrics, without authentication, as scrapers expect; they
/// hold counts and timings, never account data.
pub(crate) async fn metrics(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match &state.metrics {
        Some(handle) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4",
            )],
            handle.render(),
        )
            .into_response(),
        None => crate::ApiError::NotFound.into_response(),
    }
}
