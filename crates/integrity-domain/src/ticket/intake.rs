//! `POST /tickets`: a ticket in the GET shape, checked field by field.

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::{validate_area, Excavator, TicketContent, Work};
use crate::errors::{msg, ValidationErrors};
use crate::time::{serde_opt_millis, Millis};

const MAX_TICKET_NUMBER_LEN: usize = 100;

/// A ticket received for intake, with the call center it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketIntake {
    pub call_center_id: i64,
    pub content: TicketContent,
}

#[derive(Deserialize)]
struct CallCenterRef {
    id: i64,
    #[serde(rename = "name")]
    _name: Option<IgnoredAny>,
}

/// The wire shape. Server-owned keys are accepted so that a ticket read from
/// `GET` can be posted back, and ignored; any other unknown key is an error
/// rather than silently dropped data.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IntakeDocument {
    ticket_number: Option<String>,
    reference_ticket_number: Option<String>,
    sequence_number: Option<i64>,
    ticket_type: Option<String>,
    ticket_action: Option<String>,
    ticket_source: Option<String>,
    service_area: Option<String>,
    additional_service_areas: Option<Vec<String>>,
    #[serde(default, with = "serde_opt_millis")]
    taken_at: Option<Millis>,
    #[serde(default, with = "serde_opt_millis")]
    work_start_at: Option<Millis>,
    #[serde(default, with = "serde_opt_millis")]
    response_due_at: Option<Millis>,
    remarks: Option<String>,
    excavator: Option<Excavator>,
    work: Option<Work>,
    lat: Option<f64>,
    lng: Option<f64>,
    call_center: Option<CallCenterRef>,
    #[serde(rename = "id")]
    _id: Option<IgnoredAny>,
    #[serde(rename = "version_number")]
    _version_number: Option<IgnoredAny>,
    #[serde(rename = "status")]
    _status: Option<IgnoredAny>,
    #[serde(rename = "created_at")]
    _created_at: Option<IgnoredAny>,
    #[serde(rename = "updated_at")]
    _updated_at: Option<IgnoredAny>,
    #[serde(rename = "closed_at")]
    _closed_at: Option<IgnoredAny>,
    #[serde(rename = "response_status")]
    _response_status: Option<IgnoredAny>,
    #[serde(rename = "assignee")]
    _assignee: Option<IgnoredAny>,
    #[serde(rename = "custom_fields")]
    _custom_fields: Option<IgnoredAny>,
    #[serde(rename = "ticket_responses")]
    _ticket_responses: Option<IgnoredAny>,
}

/// Reads the value under the request's `ticket` key. Errors name the field
/// (`taken_at`, `excavator.contact.email`, `work.area`, …).
pub fn parse_intake(value: serde_json::Value) -> Result<TicketIntake, ValidationErrors> {
    if let Some(path) = has_nul(&value).then(|| path_of_nul(&value, "")).flatten() {
        let key = if path.is_empty() {
            "ticket".to_string()
        } else {
            path
        };
        return Err(ValidationErrors::single(
            key,
            "must not contain the character U+0000",
        ));
    }
    if let Some(path) = array_in_place_of_object(&value) {
        return Err(ValidationErrors::single(path, "must be an object"));
    }
    let doc: IntakeDocument = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let key = if path == "." {
            "ticket".to_string()
        } else {
            path
        };
        ValidationErrors::single(key, describe_serde_error(&e.into_inner().to_string()))
    })?;

    let content = TicketContent {
        ticket_number: doc.ticket_number.unwrap_or_default(),
        reference_ticket_number: doc.reference_ticket_number,
        sequence_number: doc.sequence_number,
        ticket_type: doc.ticket_type,
        ticket_action: doc.ticket_action,
        ticket_source: doc.ticket_source,
        service_area: doc.service_area,
        additional_service_areas: doc.additional_service_areas.unwrap_or_default(),
        taken_at: doc.taken_at,
        work_start_at: doc.work_start_at,
        response_due_at: doc.response_due_at,
        remarks: doc.remarks,
        excavator: doc.excavator.unwrap_or_default(),
        work: doc.work.unwrap_or_default(),
        lat: doc.lat,
        lng: doc.lng,
    };
    let mut errors = ValidationErrors::new();
    if doc.call_center.is_none() {
        errors.add("call_center", msg::BLANK);
    }
    let call_center_id = doc.call_center.map_or(0, |c| c.id);
    match check_intake(call_center_id, content) {
        Ok(intake) => errors.into_result(intake),
        Err(more) => {
            errors.merge(more);
            Err(errors)
        }
    }
}

/// The checks of [`parse_intake`] on content already in the domain's
/// shape, as the call-center formats' parsers produce it: a number, sound
/// service areas, a valid work area, coordinates in range. Blank service
/// areas and a null area read as absent.
pub fn check_intake(
    call_center_id: i64,
    content: TicketContent,
) -> Result<TicketIntake, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let ticket_number = content.ticket_number.trim().to_string();
    if ticket_number.is_empty() {
        errors.add("ticket_number", msg::BLANK);
    } else if ticket_number.chars().count() > MAX_TICKET_NUMBER_LEN {
        errors.add(
            "ticket_number",
            format!("is too long (maximum is {MAX_TICKET_NUMBER_LEN} characters)"),
        );
    }
    let additional = content.additional_service_areas;
    if additional.iter().any(|a| a.trim().is_empty()) {
        errors.add("additional_service_areas", msg::INVALID);
    }
    let work = content.work;
    if let Some(area) = work.area.as_ref().filter(|a| !a.is_null()) {
        if let Err(message) = validate_area(area) {
            errors.add("work.area", message);
        }
    }
    check_range(&mut errors, "lat", content.lat, 90.0);
    check_range(&mut errors, "lng", content.lng, 180.0);

    let content = TicketContent {
        ticket_number,
        service_area: content.service_area.filter(|s| !s.trim().is_empty()),
        additional_service_areas: additional,
        work: Work {
            area: work.area.filter(|a| !a.is_null()),
            ..work
        },
        ..content
    };
    errors.into_result(TicketIntake {
        call_center_id,
        content,
    })
}

/// The first of the nested objects given as an array: serde reads a
/// struct from an array of its fields in order, which no client means.
fn array_in_place_of_object(value: &serde_json::Value) -> Option<&'static str> {
    const OBJECTS: [(&str, &[&str]); 6] = [
        ("call_center", &["call_center"]),
        ("excavator", &["excavator"]),
        ("excavator.contact", &["excavator", "contact"]),
        ("excavator.alt_contact", &["excavator", "alt_contact"]),
        ("excavator.caller", &["excavator", "caller"]),
        ("work", &["work"]),
    ];
    OBJECTS.into_iter().find_map(|(name, path)| {
        let found = path.iter().try_fold(value, |v, key| v.get(*key))?;
        found.is_array().then_some(name)
    })
}

/// Whether any string or key holds U+0000: the cheap question first, as
/// almost no ticket does.
fn has_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(has_nul),
        serde_json::Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// The path of the first string holding U+0000, which PostgreSQL text
/// cannot store and no ticket field has a use for.
fn path_of_nul(value: &serde_json::Value, path: &str) -> Option<String> {
    match value {
        serde_json::Value::String(s) => s.contains('\0').then(|| path.to_string()),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| path_of_nul(item, &format!("{path}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            let clean = k.replace('\0', "");
            let key = if path.is_empty() {
                clean
            } else {
                format!("{path}.{clean}")
            };
            if k.contains('\0') {
                Some(key)
            } else {
                path_of_nul(v, &key)
            }
        }),
        _ => None,
    }
}

fn check_range(errors: &mut ValidationErrors, key: &str, value: Option<f64>, limit: f64) {
    if let Some(v) = value {
        if !(-limit..=limit).contains(&v) {
            errors.add(key, format!("must be between -{limit} and {limit}"));
        }
    }
}

/// Serde's messages are precise but wordy; keep the substance, drop the
/// list of expected fields that follows an unknown one.
pub fn describe_serde_error(message: &str) -> String {
    if message.starts_with("unknown field") {
        let name = message.split('`').nth(1).unwrap_or_default();
        return format!("unknown attribute `{name}`");
    }
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_objects_given_as_arrays_are_refused() {
        for (body, key) in [
            (
                serde_json::json!({"ticket_number": "1", "call_center": {"id": 1}, "work": [null, null]}),
                "work",
            ),
            (
                serde_json::json!({"ticket_number": "1", "call_center": [1]}),
                "call_center",
            ),
            (
                serde_json::json!({"ticket_number": "1", "call_center": {"id": 1}, "excavator": {"contact": ["a"]}}),
                "excavator.contact",
            ),
        ] {
            let errors = parse_intake(body).unwrap_err();
            assert_eq!(
                errors.get(key).map(|m| m[0].as_str()),
                Some("must be an object"),
                "{errors}"
            );
        }
    }
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Result<TicketIntake, ValidationErrors> {
        parse_intake(value)
    }

    #[test]
    fn takes_the_get_shape_and_ignores_server_owned_keys() {
        let intake = parse(json!({
            "id": 5, "status": "closed", "version_number": 7,
            "ticket_number": "06191-285-085", "call_center": {"id": 3, "name": "x"},
            "taken_at": "2016-06-29T11:26:47-04:00",
            "excavator": {"name": "SHOVEL INC", "contact": {"email": "a@b.c"}},
        }))
        .unwrap();
        assert_eq!(intake.call_center_id, 3);
        assert_eq!(intake.content.ticket_number, "06191-285-085");
        assert_eq!(
            intake.content.taken_at,
            crate::time::parse_timestamp("2016-06-29T15:26:47Z")
        );
        assert_eq!(
            intake.content.excavator.contact.email.as_deref(),
            Some("a@b.c")
        );
    }

    #[test]
    fn names_the_field_that_is_wrong() {
        let e = parse(json!({"call_center": {"id": 1}})).unwrap_err();
        assert_eq!(
            e.get("ticket_number"),
            Some(&["can't be blank".to_string()][..])
        );

        let e = parse(json!({"ticket_number": "1", "call_center": {"id": 1}, "taken_at": "soon"}))
            .unwrap_err();
        assert!(e.get("taken_at").unwrap()[0].contains("ISO 8601"));

        let e = parse(json!({"ticket_number": "1", "call_center": {"id": 1}, "excavator": {"contact": {"mail": "x"}}})).unwrap_err();
        assert_eq!(
            e.get("excavator.contact.mail"),
            Some(&["unknown attribute `mail`".to_string()][..])
        );

        let e = parse(json!({"ticket_number": "1", "call_center": {"id": 1}, "excavator": {"name": "a\u{0}b"}})).unwrap_err();
        assert!(e.get("excavator.name").is_some(), "{e}");
        let e = parse(json!({"ticket_number": "1", "call_center": {"id": 1}, "additional_service_areas": ["A", "\u{0}"]})).unwrap_err();
        assert!(e.get("additional_service_areas[1]").is_some(), "{e}");

        let e = parse(json!({"ticket_number": "1"})).unwrap_err();
        assert_eq!(
            e.get("call_center"),
            Some(&["can't be blank".to_string()][..])
        );

        let e = parse(
            json!({"ticket_number": "1", "call_center": {"id": 1}, "lat": 123.0,
            "work": {"area": {"type": "Point", "coordinates": [1, 2]}}}),
        )
        .unwrap_err();
        assert!(e.get("lat").is_some());
        assert!(e.get("work.area").is_some());
    }
}
