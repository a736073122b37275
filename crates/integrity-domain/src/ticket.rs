//! Tickets: the content a call center sends, and what Integrity adds to it.

mod area;
mod intake;
mod patch;

use serde::{Deserialize, Serialize};

use crate::time::{serde_opt_millis, Millis};

pub use area::validate_area;
pub use intake::{check_intake, describe_serde_error, parse_intake, TicketIntake};
pub use patch::{parse_ticket_patch, TicketPatch};

/// A ticket's lifecycle state (contract decision 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketStatus {
    Unassigned,
    Assigned,
    Closed,
    Cancelled,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 4] = [
        TicketStatus::Unassigned,
        TicketStatus::Assigned,
        TicketStatus::Closed,
        TicketStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Unassigned => "unassigned",
            TicketStatus::Assigned => "assigned",
            TicketStatus::Closed => "closed",
            TicketStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<TicketStatus> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The open state a ticket is in with or without an assignee.
    pub fn open_for(has_assignee: bool) -> TicketStatus {
        if has_assignee {
            TicketStatus::Assigned
        } else {
            TicketStatus::Unassigned
        }
    }
}

/// A response's delivery state (contract decision 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResponseStatus {
    // Declared from best to worst: the ticket's summary is the maximum.
    Sent,
    Pending,
    Failed,
}

impl ResponseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseStatus::Sent => "sent",
            ResponseStatus::Pending => "pending",
            ResponseStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<ResponseStatus> {
        [
            ResponseStatus::Sent,
            ResponseStatus::Pending,
            ResponseStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// The ticket's `response_status`: `not_available` while the call center's
/// relay is off, otherwise the worst status among its responses (`pending`
/// when there are none yet).
pub fn summarize_response_status(
    relay_enabled: bool,
    statuses: impl IntoIterator<Item = ResponseStatus>,
) -> &'static str {
    if !relay_enabled {
        return "not_available";
    }
    statuses
        .into_iter()
        .max()
        .unwrap_or(ResponseStatus::Pending)
        .as_str()
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// The documentation shows the alternate contact without an e-mail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AltContact {
    pub name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Excavator {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub name: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub contact: Contact,
    pub alt_contact: AltContact,
    pub caller: Contact,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Work {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub address: Option<String>,
    pub nearby_street: Option<String>,
    pub subdivision: Option<String>,
    pub done_for: Option<String>,
    pub duration: Option<String>,
    pub driving_directions: Option<String>,
    pub locate_instructions: Option<String>,
    pub explosives: Option<bool>,
    pub white_painted: Option<bool>,
    pub deeper_than_16_inches: Option<bool>,
    pub overhead: Option<bool>,
    pub tunneling_or_boring: Option<bool>,
    /// GeoJSON Polygon or MultiPolygon, checked by [`validate_area`].
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub area: Option<serde_json::Value>,
}

/// What the call center says about a ticket. Integrity stores it as sent and
/// keeps every earlier version in the ticket's history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TicketContent {
    pub ticket_number: String,
    pub reference_ticket_number: Option<String>,
    pub sequence_number: Option<i64>,
    pub ticket_type: Option<String>,
    pub ticket_action: Option<String>,
    pub ticket_source: Option<String>,
    pub service_area: Option<String>,
    pub additional_service_areas: Vec<String>,
    #[serde(with = "serde_opt_millis")]
    pub taken_at: Option<Millis>,
    #[serde(with = "serde_opt_millis")]
    pub work_start_at: Option<Millis>,
    #[serde(with = "serde_opt_millis")]
    pub response_due_at: Option<Millis>,
    pub remarks: Option<String>,
    pub excavator: Excavator,
    pub work: Work,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
}

impl TicketContent {
    /// Lower-cased text that `GET /tickets?q=` searches: the number and the
    /// words a person would remember a ticket by.
    pub fn search_text(&self) -> String {
        let parts = [
            Some(self.ticket_number.as_str()),
            self.reference_ticket_number.as_deref(),
            self.remarks.as_deref(),
            self.excavator.name.as_deref(),
            self.work.kind.as_deref(),
            self.work.address.as_deref(),
            self.work.nearby_street.as_deref(),
            self.work.done_for.as_deref(),
        ];
        parts
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("\n")
            .to_lowercase()
    }

    /// The service areas named on the ticket: primary first, no repeats.
    pub fn service_areas(&self) -> Vec<&str> {
        let mut areas: Vec<&str> = Vec::new();
        for area in self
            .service_area
            .iter()
            .chain(self.additional_service_areas.iter())
        {
            if !areas.contains(&area.as_str()) {
                areas.push(area);
            }
        }
        areas
    }
}

/// `{"id": …, "name": …}` as the API embeds call centers, users and options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NamedRef {
    pub id: i64,
    pub name: String,
}

/// A custom field as it appears on a ticket.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketFieldValue {
    pub id: i64,
    pub type_id: i64,
    pub name: String,
    /// Its type's JSON value (see the custom field types): a string,
    /// number, boolean, array or object; null when not set.
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
    pub value: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TicketResponse {
    pub id: i64,
    pub service_area: String,
    pub facility: Option<String>,
    pub code: String,
    pub comment: String,
    pub status: ResponseStatus,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub responded_at: Option<Millis>,
    pub respondent: Option<NamedRef>,
}

/// A ticket with everything the API shows about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub id: i64,
    pub call_center: NamedRef,
    pub version_number: i64,
    pub status: TicketStatus,
    pub content: TicketContent,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub closed_at: Option<Millis>,
    pub assignee: Option<NamedRef>,
    pub custom_fields: Vec<TicketFieldValue>,
    pub responses: Vec<TicketResponse>,
    pub response_status: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_status_is_not_available_without_relay() {
        assert_eq!(
            summarize_response_status(false, [ResponseStatus::Failed]),
            "not_available"
        );
    }

    #[test]
    fn response_status_is_the_worst_of_the_responses() {
        use ResponseStatus::*;
        assert_eq!(summarize_response_status(true, [Sent, Sent]), "sent");
        assert_eq!(summarize_response_status(true, [Sent, Pending]), "pending");
        assert_eq!(summarize_response_status(true, [Pending, Failed]), "failed");
        assert_eq!(summarize_response_status(true, []), "pending");
    }

    #[test]
    fn service_areas_put_the_primary_first_without_repeats() {
        let content = TicketContent {
            service_area: Some("A".into()),
            additional_service_areas: vec!["B".into(), "A".into(), "C".into()],
            ..Default::default()
        };
        assert_eq!(content.service_areas(), ["A", "B", "C"]);
    }
}
