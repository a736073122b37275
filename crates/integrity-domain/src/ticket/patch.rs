//! `PATCH` of a ticket: custom field values and the assignee.

use serde_json::{Map, Value};

use crate::errors::{msg, ValidationErrors};

/// What a `PATCH` (or the optional body of `close`) asks to change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketPatch {
    /// Raw values by the key the client used (a field id, as text); each is
    /// checked against its field by the store, which knows the fields.
    pub custom_fields: Map<String, Value>,
    /// `None`: leave as is; `Some(None)`: unassign.
    pub assignee_id: Option<Option<i64>>,
}

impl TicketPatch {
    pub fn is_empty(&self) -> bool {
        self.custom_fields.is_empty() && self.assignee_id.is_none()
    }
}

/// Reads the value under `ticket`: an object with `custom_fields` (an object
/// of field id → value) and/or `assignee_id` (a user id or `null`).
pub fn parse_ticket_patch(value: Value) -> Result<TicketPatch, ValidationErrors> {
    let Value::Object(map) = value else {
        return Err(ValidationErrors::single("ticket", msg::INVALID));
    };
    let mut errors = ValidationErrors::new();
    let mut patch = TicketPatch::default();
    for (key, value) in map {
        match key.as_str() {
            "custom_fields" => match value {
                Value::Object(fields) => patch.custom_fields = fields,
                Value::Null => {}
                _ => errors.add(
                    "custom_fields",
                    "must be an object of custom field id to value",
                ),
            },
            "assignee_id" => match &value {
                Value::Null => patch.assignee_id = Some(None),
                Value::Number(n) if n.as_i64().is_some() => patch.assignee_id = Some(n.as_i64()),
                Value::String(s) if s.trim().parse::<i64>().is_ok() => {
                    patch.assignee_id = Some(s.trim().parse().ok())
                }
                Value::String(s) if s.trim().is_empty() => patch.assignee_id = Some(None),
                _ => errors.add("assignee_id", msg::INVALID),
            },
            other => errors.add(other, format!("unknown attribute `{other}`")),
        }
    }
    errors.into_result(patch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_fields_and_assignee() {
        let patch =
            parse_ticket_patch(json!({"custom_fields": {"1": "1", "5": "7"}, "assignee_id": 42}))
                .unwrap();
        assert_eq!(patch.custom_fields.len(), 2);
        assert_eq!(patch.assignee_id, Some(Some(42)));
        assert_eq!(
            parse_ticket_patch(json!({"assignee_id": null}))
                .unwrap()
                .assignee_id,
            Some(None)
        );
        assert!(parse_ticket_patch(json!({})).unwrap().is_empty());
    }

    #[test]
    fn names_what_is_wrong() {
        let e = parse_ticket_patch(json!({"custom_fields": [1], "assignee_id": "x", "colour": 1}))
            .unwrap_err();
        assert!(
            e.get("custom_fields").is_some()
                && e.get("assignee_id").is_some()
                && e.get("colour").is_some(),
            "{e}"
        );
        assert!(parse_ticket_patch(json!("x"))
            .unwrap_err()
            .get("ticket")
            .is_some());
    }
}
