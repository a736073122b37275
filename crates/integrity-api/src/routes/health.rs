use axum::Json;
use serde_json::{json, Value};

/// Liveness: answers without authentication or database.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "meta",
    summary = "Liveness, without authentication or database",
    security(()),
    responses(
        (status = 200, description = "Serving", body = crate::openapi::Health),
        (status = 503, description = "The server could not answer within its request timeout", body = crate::openapi::ErrorBody)
    )
)]
pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
