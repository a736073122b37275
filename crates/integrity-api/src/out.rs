//! Response bodies, in the documented shapes. Domain and store types are
//! turned into these explicitly, so a change inside never leaks out.

use integrity_domain::custom_field::OptionNode;
use integrity_domain::ticket::{
    Excavator, NamedRef, Ticket, TicketFieldValue, TicketResponse, Work,
};
use integrity_domain::time::format_millis;
use integrity_domain::user::permission_names;
use integrity_store::relay::DeliveryView;
use integrity_store::{ApiToken, CallCenter, CustomField, HistoryEntry, User};
use serde::Serialize;

/// The original documentation's example of `GET /call_centers`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "id": 123, "name": "Georgia 811", "state": "Georgia", "enabled": true,
    "service_areas": ["EXMPL01", "EXMPL02"], "facilities": ["Gas", "Water"],
    "response_codes": [
        {"code": "1A", "description": "Marked.", "ticket_types": null},
        {"code": "1B", "description": "Marked: High profile utility in conflict.", "ticket_types": null},
        {"code": "10A", "description": "Large Projects: Meeting Date/Time Accepted.", "ticket_types": ["Large Project"]}
    ]}))]
pub struct CallCenterOut<'a> {
    id: i64,
    name: &'a str,
    state: Option<&'a str>,
    enabled: bool,
    service_areas: &'a [String],
    facilities: &'a [String],
    response_codes: Vec<ResponseCodeOut<'a>>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ResponseCodeOut<'a> {
    code: &'a str,
    description: &'a str,
    ticket_types: Option<&'a [String]>,
}

impl<'a> From<&'a CallCenter> for CallCenterOut<'a> {
    fn from(c: &'a CallCenter) -> Self {
        CallCenterOut {
            id: c.id,
            name: &c.name,
            state: c.state.as_deref(),
            enabled: c.enabled,
            service_areas: &c.service_areas,
            facilities: &c.facilities,
            response_codes: c
                .response_codes
                .iter()
                .map(|r| ResponseCodeOut {
                    code: &r.code,
                    description: &r.description,
                    ticket_types: r.ticket_types.as_deref(),
                })
                .collect(),
        }
    }
}

/// The original documentation's second example of `GET /custom_fields`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "id": 9, "type_id": 8, "name": "Select something", "required": true,
    "call_center": {"id": 123, "name": "Georgia 811"}, "position": 1,
    "options": [{"id": 1243, "name": "Option 1"}]}))]
pub struct CustomFieldOut<'a> {
    id: i64,
    type_id: i64,
    name: &'a str,
    required: bool,
    call_center: Option<&'a NamedRef>,
    position: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<&'a [OptionNode]>,
}

fn ticket_example() -> serde_json::Value {
    serde_json::from_str(include_str!("examples/ticket.json")).expect("the example is JSON")
}

impl<'a> From<&'a CustomField> for CustomFieldOut<'a> {
    fn from(f: &'a CustomField) -> Self {
        CustomFieldOut {
            id: f.id,
            type_id: f.type_id,
            name: &f.name,
            required: f.required,
            call_center: f.call_center.as_ref(),
            position: f.position,
            options: f.options.as_deref(),
        }
    }
}

/// The original documentation's example of a ticket.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = ticket_example)]
pub struct TicketOut<'a> {
    id: i64,
    ticket_number: &'a str,
    reference_ticket_number: Option<&'a str>,
    version_number: i64,
    sequence_number: Option<i64>,
    ticket_type: Option<&'a str>,
    ticket_action: Option<&'a str>,
    ticket_source: Option<&'a str>,
    service_area: Option<&'a str>,
    additional_service_areas: &'a [String],
    status: &'static str,
    created_at: String,
    updated_at: String,
    closed_at: Option<String>,
    taken_at: Option<String>,
    work_start_at: Option<String>,
    response_due_at: Option<String>,
    remarks: Option<&'a str>,
    response_status: &'static str,
    excavator: &'a Excavator,
    work: &'a Work,
    assignee: Option<&'a NamedRef>,
    custom_fields: &'a [TicketFieldValue],
    ticket_responses: Vec<TicketResponseOut<'a>>,
    call_center: &'a NamedRef,
    lat: Option<f64>,
    lng: Option<f64>,
}

impl<'a> From<&'a Ticket> for TicketOut<'a> {
    fn from(t: &'a Ticket) -> Self {
        let c = &t.content;
        TicketOut {
            id: t.id,
            ticket_number: &c.ticket_number,
            reference_ticket_number: c.reference_ticket_number.as_deref(),
            version_number: t.version_number,
            sequence_number: c.sequence_number,
            ticket_type: c.ticket_type.as_deref(),
            ticket_action: c.ticket_action.as_deref(),
            ticket_source: c.ticket_source.as_deref(),
            service_area: c.service_area.as_deref(),
            additional_service_areas: &c.additional_service_areas,
            status: t.status.as_str(),
            created_at: format_millis(t.created_at),
            updated_at: format_millis(t.updated_at),
            closed_at: t.closed_at.map(format_millis),
            taken_at: c.taken_at.map(format_millis),
            work_start_at: c.work_start_at.map(format_millis),
            response_due_at: c.response_due_at.map(format_millis),
            remarks: c.remarks.as_deref(),
            response_status: t.response_status,
            excavator: &c.excavator,
            work: &c.work,
            assignee: t.assignee.as_ref(),
            custom_fields: &t.custom_fields,
            ticket_responses: t.responses.iter().map(TicketResponseOut::from).collect(),
            call_center: &t.call_center,
            lat: c.lat,
            lng: c.lng,
        }
    }
}

/// The original documentation's example of `POST …/ticket_responses`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "id": 39131, "service_area": "FOR01", "facility": "Water", "code": "1A",
    "comment": "Resolved", "status": "pending", "created_at": "2016-10-11T18:42:16.202Z",
    "updated_at": "2016-10-11T18:42:16.202Z", "responded_at": null,
    "respondent": {"id": 12492, "name": "Jack Pot"}}))]
pub struct TicketResponseOut<'a> {
    id: i64,
    service_area: &'a str,
    facility: Option<&'a str>,
    code: &'a str,
    comment: &'a str,
    status: &'static str,
    created_at: String,
    updated_at: String,
    responded_at: Option<String>,
    respondent: Option<&'a NamedRef>,
}

impl<'a> From<&'a TicketResponse> for TicketResponseOut<'a> {
    fn from(r: &'a TicketResponse) -> Self {
        TicketResponseOut {
            id: r.id,
            service_area: &r.service_area,
            facility: r.facility.as_deref(),
            code: &r.code,
            comment: &r.comment,
            status: r.status.as_str(),
            created_at: format_millis(r.created_at),
            updated_at: format_millis(r.updated_at),
            responded_at: r.responded_at.map(format_millis),
            respondent: r.respondent.as_ref(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HistoryEntryOut<'a> {
    id: i64,
    kind: &'a str,
    created_at: String,
    actor: Option<&'a NamedRef>,
    details: &'a serde_json::Value,
}

impl<'a> From<&'a HistoryEntry> for HistoryEntryOut<'a> {
    fn from(e: &'a HistoryEntry) -> Self {
        HistoryEntryOut {
            id: e.id,
            kind: &e.kind,
            created_at: format_millis(e.created_at),
            actor: e.actor.as_ref(),
            details: &e.details,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserOut<'a> {
    id: i64,
    name: &'a str,
    email: &'a str,
    role: &'static str,
    active: bool,
    permissions: Vec<&'static str>,
    created_at: String,
}

impl<'a> From<&'a User> for UserOut<'a> {
    fn from(u: &'a User) -> Self {
        UserOut {
            id: u.id,
            name: &u.name,
            email: &u.email,
            role: u.role.as_str(),
            active: u.active,
            permissions: permission_names(u.role, &u.permissions),
            created_at: format_millis(u.created_at),
        }
    }
}

/// A key as listed; `token` (the key itself) only in the answer that
/// created it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiTokenOut<'a> {
    id: i64,
    user_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
    prefix: &'a str,
    created_at: String,
    last_used_at: Option<String>,
}

impl<'a> ApiTokenOut<'a> {
    pub fn new(t: &'a ApiToken, secret: Option<&'a str>) -> Self {
        ApiTokenOut {
            id: t.id,
            user_id: t.user_id,
            token: secret,
            prefix: &t.prefix,
            created_at: format_millis(t.created_at),
            last_used_at: t.last_used_at.map(format_millis),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryOut<'a> {
    id: i64,
    response_id: i64,
    ticket_id: i64,
    call_center_id: i64,
    status: &'a str,
    attempts: i64,
    next_attempt_at: String,
    payload: &'a serde_json::Value,
    messages: &'a [String],
    last_error: Option<&'a str>,
    created_at: String,
    delivered_at: Option<String>,
}

impl<'a> From<&'a DeliveryView> for DeliveryOut<'a> {
    fn from(d: &'a DeliveryView) -> Self {
        DeliveryOut {
            id: d.id,
            response_id: d.response_id,
            ticket_id: d.ticket_id,
            call_center_id: d.call_center_id,
            status: &d.status,
            attempts: d.attempts,
            next_attempt_at: format_millis(d.next_attempt_at),
            payload: &d.payload,
            messages: &d.messages,
            last_error: d.last_error.as_deref(),
            created_at: format_millis(d.created_at),
            delivered_at: d.delivered_at.map(format_millis),
        }
    }
}
