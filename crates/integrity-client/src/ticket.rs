//! A ticket in the documented shape: as `GET` shows it, and as `POST
//! /tickets` takes it in. Timestamps are kept as the API writes them
//! (ISO 8601 UTC with milliseconds, `2016-06-29T15:29:36.947Z`), so the
//! client imposes no date library on its users.

use serde::{Deserialize, Serialize, Serializer};

use crate::wire_enum::wire_enum;

wire_enum! {
    /// Where a ticket stands.
    pub enum TicketStatus {
        Unassigned = "unassigned",
        Assigned = "assigned",
        Closed = "closed",
        /// The call center cancelled the ticket.
        Cancelled = "cancelled",
    }
}

wire_enum! {
    /// Whether a response reached its call center. A ticket's
    /// `response_status` sums its responses up, and is `NotAvailable` when
    /// the call center's relay is off.
    pub enum ResponseStatus {
        Pending = "pending",
        Sent = "sent",
        Failed = "failed",
        NotAvailable = "not_available",
    }
}

/// `{"id", "name"}`: how the API names a call center, a user or an option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedRef {
    pub id: i64,
    pub name: String,
}

/// One ticket, every documented key present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// Stays the same across the ticket's versions.
    pub id: i64,
    pub ticket_number: String,
    pub reference_ticket_number: Option<String>,
    pub version_number: i64,
    pub sequence_number: Option<i64>,
    pub ticket_type: Option<String>,
    pub ticket_action: Option<String>,
    pub ticket_source: Option<String>,
    pub service_area: Option<String>,
    #[serde(default)]
    pub additional_service_areas: Vec<String>,
    pub status: TicketStatus,
    pub created_at: String,
    pub updated_at: String,
    pub closed_at: Option<String>,
    pub taken_at: Option<String>,
    pub work_start_at: Option<String>,
    pub response_due_at: Option<String>,
    pub remarks: Option<String>,
    pub response_status: ResponseStatus,
    #[serde(default)]
    pub excavator: Excavator,
    #[serde(default)]
    pub work: Work,
    pub assignee: Option<NamedRef>,
    /// Every custom field that applies to the ticket, unset ones included.
    #[serde(default)]
    pub custom_fields: Vec<CustomFieldValue>,
    #[serde(default)]
    pub ticket_responses: Vec<TicketResponse>,
    pub call_center: NamedRef,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
}

/// Who digs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
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

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Contact {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// The documentation gives the alternate contact no e-mail, and intake
/// refuses one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AltContact {
    pub name: Option<String>,
    pub phone: Option<String>,
}

/// Where and what the digging is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
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
    /// A GeoJSON Polygon or MultiPolygon.
    pub area: Option<serde_json::Value>,
}

/// A custom field's value on a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomFieldValue {
    pub id: i64,
    pub type_id: i64,
    pub name: String,
    /// Typed by the field: a string, number, boolean, option id or array of
    /// option ids; `null` when unset.
    #[serde(default)]
    pub value: serde_json::Value,
}

/// A positive response given for a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketResponse {
    pub id: i64,
    pub service_area: String,
    pub facility: Option<String>,
    pub code: String,
    #[serde(default)]
    pub comment: String,
    pub status: ResponseStatus,
    pub created_at: String,
    pub updated_at: String,
    /// When the call center acknowledged it.
    pub responded_at: Option<String>,
    /// The user whose key gave it.
    pub respondent: Option<NamedRef>,
}

/// A ticket to take in with `POST /tickets`: the content a call center
/// sends. Keys the server owns (status, responses, custom fields…) have no
/// place here.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NewTicket {
    pub ticket_number: String,
    #[serde(rename = "call_center", serialize_with = "id_object")]
    pub call_center_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_ticket_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_area: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_service_areas: Vec<String>,
    /// ISO 8601; a timestamp without an offset is taken as UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taken_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_start_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_due_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remarks: Option<String>,
    pub excavator: Excavator,
    pub work: Work,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lng: Option<f64>,
}

impl NewTicket {
    /// A ticket with nothing but its number, of a call center.
    pub fn new(call_center_id: i64, ticket_number: impl Into<String>) -> NewTicket {
        NewTicket {
            ticket_number: ticket_number.into(),
            call_center_id,
            ..NewTicket::default()
        }
    }
}

/// The content of a ticket read from the API, to post it again (to
/// another server, or as a new version with changes).
impl From<&Ticket> for NewTicket {
    fn from(t: &Ticket) -> NewTicket {
        NewTicket {
            ticket_number: t.ticket_number.clone(),
            call_center_id: t.call_center.id,
            reference_ticket_number: t.reference_ticket_number.clone(),
            sequence_number: t.sequence_number,
            ticket_type: t.ticket_type.clone(),
            ticket_action: t.ticket_action.clone(),
            ticket_source: t.ticket_source.clone(),
            service_area: t.service_area.clone(),
            additional_service_areas: t.additional_service_areas.clone(),
            taken_at: t.taken_at.clone(),
            work_start_at: t.work_start_at.clone(),
            response_due_at: t.response_due_at.clone(),
            remarks: t.remarks.clone(),
            excavator: t.excavator.clone(),
            work: t.work.clone(),
            lat: t.lat,
            lng: t.lng,
        }
    }
}

fn id_object<S: Serializer>(id: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Id {
        id: i64,
    }
    Id { id: *id }.serialize(serializer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_ticket_reads_with_keys_this_client_does_not_know() {
        let ticket: Ticket = serde_json::from_value(json!({
            "id": 1, "ticket_number": "T-1", "reference_ticket_number": null, "version_number": 0,
            "sequence_number": null, "ticket_type": null, "ticket_action": null, "ticket_source": null,
            "service_area": "A", "additional_service_areas": [], "status": "on_hold",
            "created_at": "2026-01-02T03:04:05.006Z", "updated_at": "2026-01-02T03:04:05.006Z",
            "closed_at": null, "taken_at": null, "work_start_at": null, "response_due_at": null,
            "remarks": null, "response_status": "not_available",
            "excavator": {"type": "Contractor", "name": "X", "address": null, "phone": null,
                          "contact": {"name": null, "phone": null, "email": null},
                          "alt_contact": {"name": null, "phone": null},
                          "caller": {"name": null, "phone": null, "email": null}, "fax": "1"},
            "work": {"type": "fence", "area": null},
            "assignee": null, "custom_fields": [], "ticket_responses": [],
            "call_center": {"id": 3, "name": "Georgia 811"}, "lat": null, "lng": null,
            "priority": "high"
        }))
        .unwrap();
        assert_eq!(ticket.status, TicketStatus::Other("on_hold".into()));
        assert_eq!(ticket.response_status, ResponseStatus::NotAvailable);
        assert_eq!(ticket.excavator.kind.as_deref(), Some("Contractor"));
        assert_eq!(ticket.work.kind.as_deref(), Some("fence"));
        assert_eq!(ticket.call_center.id, 3);
    }

    #[test]
    fn a_new_ticket_names_its_call_center_by_id_and_leaves_out_what_is_unset() {
        let ticket = NewTicket {
            service_area: Some("DEMOGA01".into()),
            ..NewTicket::new(4, "240222-009999")
        };
        let body = serde_json::to_value(&ticket).unwrap();
        assert_eq!(body["call_center"], json!({"id": 4}));
        assert_eq!(body["ticket_number"], "240222-009999");
        assert_eq!(body["service_area"], "DEMOGA01");
        assert!(body.get("remarks").is_none());
        assert!(body.get("additional_service_areas").is_none());
        assert_eq!(body["work"]["type"], serde_json::Value::Null);
    }
}
