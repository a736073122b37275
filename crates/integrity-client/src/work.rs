//! Working a ticket: custom field values and the assignee, close and
//! reopen, positive responses, and the ticket's history.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::ticket::{NamedRef, Ticket, TicketResponse};
use crate::Client;

/// Changes to a ticket (`PATCH`, or the optional body of close). The server
/// applies all of them or, when one is refused, none.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TicketPatch {
    /// Values by custom field id: the field's JSON type or the string a
    /// form would send (`"1"`, `"2026-12-04"`); `null` clears.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_fields: BTreeMap<i64, serde_json::Value>,
    /// `None`: leave the assignee; `Some(None)`: unassign.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<Option<i64>>,
}

impl TicketPatch {
    pub fn new() -> TicketPatch {
        TicketPatch::default()
    }

    /// Sets a custom field's value.
    pub fn field(mut self, id: i64, value: impl Into<serde_json::Value>) -> TicketPatch {
        self.custom_fields.insert(id, value.into());
        self
    }

    /// Clears a custom field's value.
    pub fn clear_field(mut self, id: i64) -> TicketPatch {
        self.custom_fields.insert(id, serde_json::Value::Null);
        self
    }

    /// Assigns the ticket to an active user of the account.
    pub fn assign(mut self, user_id: i64) -> TicketPatch {
        self.assignee_id = Some(Some(user_id));
        self
    }

    pub fn unassign(mut self) -> TicketPatch {
        self.assignee_id = Some(None);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.custom_fields.is_empty() && self.assignee_id.is_none()
    }
}

/// A positive response to give: one per (service area, facility) pair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResponseInput {
    pub service_area: String,
    pub code: String,
    /// Required where the call center requires facilities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facility: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl ResponseInput {
    pub fn new(service_area: impl Into<String>, code: impl Into<String>) -> ResponseInput {
        ResponseInput {
            service_area: service_area.into(),
            code: code.into(),
            ..ResponseInput::default()
        }
    }

    pub fn facility(mut self, facility: impl Into<String>) -> ResponseInput {
        self.facility = Some(facility.into());
        self
    }

    pub fn comment(mut self, comment: impl Into<String>) -> ResponseInput {
        self.comment = Some(comment.into());
        self
    }
}

/// One entry of a ticket's audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub id: i64,
    /// `created`, `new_version`, `custom_field_changed`,
    /// `assignee_changed`, `status_changed`, `response_created`,
    /// `response_updated` or `response_removed`; kept as text since the
    /// server may record new kinds.
    pub kind: String,
    pub created_at: String,
    /// The user whose key made the change; `None` for what the call center
    /// or the server itself did.
    pub actor: Option<NamedRef>,
    /// What changed, shaped by `kind` (see the API documentation).
    #[serde(default)]
    pub details: serde_json::Value,
}

impl HistoryEntry {
    /// The ids of the documents this entry received, for
    /// [`Client::document`].
    pub fn document_ids(&self) -> Vec<i64> {
        self.details["documents"]
            .as_array()
            .map(|ids| ids.iter().filter_map(serde_json::Value::as_i64).collect())
            .unwrap_or_default()
    }
}

#[derive(Serialize)]
struct TicketBody<'a> {
    ticket: &'a TicketPatch,
}

impl Client {
    /// `PATCH` a ticket: custom field values and the assignee.
    pub async fn update_ticket(
        &self,
        call_center_id: i64,
        number: &str,
        patch: &TicketPatch,
    ) -> Result<Ticket> {
        let url = self.ticket_url(call_center_id, number, &[]);
        let request = self
            .request(Method::PATCH, url)
            .json(&TicketBody { ticket: patch });
        self.json(request).await
    }

    /// `PATCH …/close`. Required custom fields must be set.
    pub async fn close_ticket(&self, call_center_id: i64, number: &str) -> Result<Ticket> {
        self.close_ticket_with(call_center_id, number, &TicketPatch::default())
            .await
    }

    /// `PATCH …/close` with changes applied in the same transaction, such
    /// as the required custom fields that closing asks for.
    pub async fn close_ticket_with(
        &self,
        call_center_id: i64,
        number: &str,
        patch: &TicketPatch,
    ) -> Result<Ticket> {
        let url = self.ticket_url(call_center_id, number, &["close"]);
        let mut request = self.request(Method::PATCH, url);
        // A body without `ticket` is a 400, but no body at all is a close
        // without changes: an empty patch is not sent.
        if !patch.is_empty() {
            request = request.json(&TicketBody { ticket: patch });
        }
        self.json(request).await
    }

    /// `PATCH …/reopen`: a closed ticket becomes assigned or unassigned.
    pub async fn reopen_ticket(&self, call_center_id: i64, number: &str) -> Result<Ticket> {
        let url = self.ticket_url(call_center_id, number, &["reopen"]);
        self.json(self.request(Method::PATCH, url)).await
    }

    /// `POST …/ticket_responses`: gives the response of its (service area,
    /// facility) pair, or changes the one given before.
    pub async fn respond(
        &self,
        call_center_id: i64,
        number: &str,
        response: &ResponseInput,
    ) -> Result<TicketResponse> {
        #[derive(Serialize)]
        struct Body<'a> {
            ticket_response: &'a ResponseInput,
        }
        let url = self.ticket_url(call_center_id, number, &["ticket_responses"]);
        let request = self.request(Method::POST, url).json(&Body {
            ticket_response: response,
        });
        self.json(request).await
    }

    /// `PUT …/ticket_responses`: the ticket's responses become exactly
    /// `responses`; pairs not listed are removed.
    pub async fn replace_responses(
        &self,
        call_center_id: i64,
        number: &str,
        responses: &[ResponseInput],
    ) -> Result<Vec<TicketResponse>> {
        #[derive(Serialize)]
        struct Body<'a> {
            ticket_responses: &'a [ResponseInput],
        }
        let url = self.ticket_url(call_center_id, number, &["ticket_responses"]);
        let request = self.request(Method::PUT, url).json(&Body {
            ticket_responses: responses,
        });
        self.json(request).await
    }

    /// `GET …/history`: the ticket's audit trail, oldest first.
    pub async fn history(&self, call_center_id: i64, number: &str) -> Result<Vec<HistoryEntry>> {
        let url = self.ticket_url(call_center_id, number, &["history"]);
        self.json(self.request(Method::GET, url)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_patch_sends_only_what_it_changes() {
        let patch = TicketPatch::new()
            .field(7, "2026-12-04")
            .field(1, true)
            .clear_field(3)
            .unassign();
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            json!({"custom_fields": {"1": true, "3": null, "7": "2026-12-04"}, "assignee_id": null})
        );
        assert_eq!(
            serde_json::to_value(TicketPatch::new().assign(42)).unwrap(),
            json!({"assignee_id": 42})
        );
        assert!(TicketPatch::new().is_empty());
    }

    #[test]
    fn a_response_leaves_out_what_is_not_given() {
        assert_eq!(
            serde_json::to_value(ResponseInput::new("DEMOTX01", "1").facility("Gas")).unwrap(),
            json!({"service_area": "DEMOTX01", "code": "1", "facility": "Gas"})
        );
    }
}
