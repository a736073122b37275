use axum::Json;
use serde_json::{json, Value};

/// Liveness: answers without authentication or database.
pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
