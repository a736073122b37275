//! The relay that delivers responses to call centers: each call center's
//! settings, and the deliveries with what the centers answered.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::wire_enum::wire_enum;
use crate::Client;

wire_enum! {
    /// Whether responses go one per request or many per request.
    #[derive(Default)]
    pub enum RelayMode {
        #[default]
        Single = "single",
        Batch = "batch",
    }
}

wire_enum! {
    /// Where a delivery stands.
    pub enum DeliveryStatus {
        Queued = "queued",
        Sent = "sent",
        Failed = "failed",
        /// Never attempted: its response was removed before it left.
        Cancelled = "cancelled",
    }
}

/// A call center's relay settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelaySettings {
    #[serde(default)]
    pub enabled: bool,
    /// The center's API; `/response` (or `/response/batch`) is appended.
    #[serde(default)]
    pub url: Option<String>,
    /// Sent as the `Authorization` header. The server shows a stored one
    /// as `[hidden]`; sending `[hidden]` back keeps it.
    #[serde(default)]
    pub authorization: Option<String>,
    /// Response codes to the center's `action` values; a code without an
    /// entry is sent as itself.
    #[serde(default)]
    pub actions: BTreeMap<String, String>,
    #[serde(default)]
    pub mode: RelayMode,
}

/// What [`Client::deliveries`] lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryFilter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<DeliveryStatus>,
    /// 1 to 500; the server's default is 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
}

/// A response on its way to a call center, or delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: i64,
    pub response_id: i64,
    pub ticket_id: i64,
    pub call_center_id: i64,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: String,
    /// The Open Positive Response payload as sent.
    #[serde(default)]
    pub payload: serde_json::Value,
    /// What the center answered.
    #[serde(default)]
    pub messages: Vec<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

impl Client {
    /// `GET /relay/deliveries`, most recent first.
    pub async fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<Delivery>> {
        let request = self
            .request(Method::GET, self.url(["relay", "deliveries"]))
            .query(filter);
        self.json(request).await
    }

    /// `GET /call_centers/:id/relay`.
    pub async fn relay_settings(&self, call_center_id: i64) -> Result<RelaySettings> {
        let id = call_center_id.to_string();
        let url = self.url(["call_centers", id.as_str(), "relay"]);
        self.json(self.request(Method::GET, url)).await
    }

    /// `PUT /call_centers/:id/relay`: replaces the settings; answers them
    /// as stored.
    pub async fn replace_relay_settings(
        &self,
        call_center_id: i64,
        settings: &RelaySettings,
    ) -> Result<RelaySettings> {
        #[derive(Serialize)]
        struct Body<'a> {
            relay: &'a RelaySettings,
        }
        let id = call_center_id.to_string();
        let url = self.url(["call_centers", id.as_str(), "relay"]);
        let request = self
            .request(Method::PUT, url)
            .json(&Body { relay: settings });
        self.json(request).await
    }
}
