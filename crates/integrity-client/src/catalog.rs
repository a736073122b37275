//! The account's configuration as the API shows it: `GET /call_centers`
//! and `GET /custom_fields`.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::ticket::NamedRef;
use crate::Client;

/// A call center of the account, with what its responses may say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallCenter {
    pub id: i64,
    pub name: String,
    pub state: Option<String>,
    pub enabled: bool,
    /// The service area codes the account holds in this call center.
    #[serde(default)]
    pub service_areas: Vec<String>,
    #[serde(default)]
    pub facilities: Vec<String>,
    #[serde(default)]
    pub response_codes: Vec<ResponseCode>,
}

/// A code a response may give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseCode {
    pub code: String,
    pub description: String,
    /// `None`: valid for every ticket type; otherwise only for these.
    pub ticket_types: Option<Vec<String>>,
}

/// A custom field of the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomField {
    pub id: i64,
    /// 1 single line, 2 multi line, 3 URL, 4 integer, 5 float, 6 date,
    /// 7 boolean, 8 dropdown, 9 cascading dropdown, 10 multiselect,
    /// 11 cascading multiselect.
    pub type_id: i64,
    pub name: String,
    pub required: bool,
    /// `None`: the field applies to every ticket; otherwise only to this
    /// call center's.
    pub call_center: Option<NamedRef>,
    pub position: i64,
    /// The choices of types 8–11; `None` for the other types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<FieldOption>>,
}

/// A choice of a dropdown field, with its children for cascading types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldOption {
    pub id: i64,
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<FieldOption>,
}

impl Client {
    /// `GET /call_centers`: the account's call centers.
    pub async fn call_centers(&self) -> Result<Vec<CallCenter>> {
        self.json(self.request(Method::GET, self.url(["call_centers"])))
            .await
    }

    /// `GET /custom_fields`: the account's custom fields in `position`
    /// order.
    pub async fn custom_fields(&self) -> Result<Vec<CustomField>> {
        self.json(self.request(Method::GET, self.url(["custom_fields"])))
            .await
    }
}
