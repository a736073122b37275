//! What the server tells about itself: whether it is up, the OpenAPI
//! description of its API, and its metrics. None needs the key.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::Client;

/// The server's liveness answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `"ok"` while the server answers.
    pub status: String,
}

impl Client {
    /// `GET /healthz`. The server answers it without looking at the key or
    /// the database, so it tells that the server runs, not that the key is
    /// good.
    pub async fn healthz(&self) -> Result<Health> {
        self.json(self.request(Method::GET, self.url(["healthz"])))
            .await
    }

    /// `GET /openapi.json`: the OpenAPI 3.1 description of the API, as
    /// JSON, for tools that generate or check clients.
    pub async fn openapi(&self) -> Result<serde_json::Value> {
        self.json(self.request(Method::GET, self.url(["openapi.json"])))
            .await
    }

    /// `GET /metrics`: the server's counters and timings in the Prometheus
    /// text format, as text. A server whose operator moved metrics to a
    /// listener of their own (`--metrics-listen`) answers 404 here: build a
    /// client for that address instead.
    pub async fn metrics(&self) -> Result<String> {
        let answer = self
            .send(self.request(Method::GET, self.url(["metrics"])))
            .await?;
        // The format is UTF-8 by definition; a stray byte is not worth an error.
        Ok(String::from_utf8_lossy(&answer.body).into_owned())
    }
}
