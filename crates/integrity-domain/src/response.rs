//! Positive responses: what a response may say (contract decision 7), which
//! responses a ticket needs (decision 4), and when they complete it
//! (decision 5).

use std::collections::HashMap;

use serde::Deserialize;

use crate::errors::{msg, ValidationErrors};
use crate::ticket::describe_serde_error;

pub const MAX_COMMENT_LEN: usize = 4000;

/// A response as a client sends it, after its wire shape was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseInput {
    pub service_area: String,
    pub code: String,
    /// `None`: no facility (also for `""`).
    pub facility: Option<String>,
    pub comment: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    service_area: Option<String>,
    code: Option<String>,
    facility: Option<String>,
    comment: Option<String>,
}

/// Reads `{"service_area", "code", "facility", "comment"}`. Blank required
/// values are left to [`ResponseRules::validate`], so that all of an entry's
/// problems are reported together.
pub fn parse_response_input(value: serde_json::Value) -> Result<ResponseInput, ValidationErrors> {
    // serde reads a struct from an array of its fields too; no client means that.
    if !value.is_object() {
        return Err(ValidationErrors::single(
            "ticket_response",
            "must be an object",
        ));
    }
    let wire: Wire = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let key = if path == "." {
            "ticket_response".to_string()
        } else {
            path
        };
        ValidationErrors::single(key, describe_serde_error(&e.into_inner().to_string()))
    })?;
    let trimmed = |v: Option<String>| v.map(|s| s.trim().to_string()).unwrap_or_default();
    Ok(ResponseInput {
        service_area: trimmed(wire.service_area),
        code: trimmed(wire.code),
        facility: Some(trimmed(wire.facility)).filter(|f| !f.is_empty()),
        comment: wire.comment.unwrap_or_default(),
    })
}

/// A response code as configured for a call center.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRule {
    pub code: String,
    /// `None`: allowed for every ticket type.
    pub ticket_types: Option<Vec<String>>,
    pub completes: bool,
}

/// Everything that decides what responses a ticket takes and needs: the
/// ticket's service areas that the account holds in its call center (with
/// the facilities each answers for), and the center's configuration.
#[derive(Debug, Clone)]
pub struct ResponseRules {
    /// Held service areas named on the ticket, primary first, each with its
    /// own facility list (`None`: all of the center's).
    pub areas: Vec<(String, Option<Vec<String>>)>,
    pub facility_required: bool,
    pub facilities: Vec<String>,
    pub codes: Vec<CodeRule>,
    pub ticket_type: Option<String>,
}

/// One stored response, as far as completion cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GivenResponse {
    pub service_area: String,
    pub facility: Option<String>,
    pub code: String,
}

impl ResponseRules {
    /// Checks one response; errors carry the plain attribute keys.
    pub fn validate(&self, input: &ResponseInput) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if input.service_area.is_empty() {
            errors.add("service_area", msg::BLANK);
        } else if !self
            .areas
            .iter()
            .any(|(code, _)| *code == input.service_area)
        {
            errors.add("service_area", msg::NOT_IN_LIST);
        }
        if input.code.is_empty() {
            errors.add("code", msg::BLANK);
        } else {
            match self.codes.iter().find(|c| c.code == input.code) {
                None => errors.add("code", msg::NOT_IN_LIST),
                Some(rule) if !self.allows_type(rule) => errors.add("code", msg::NOT_IN_LIST),
                Some(_) => {}
            }
        }
        match &input.facility {
            None if self.facility_required => errors.add("facility", msg::BLANK),
            Some(facility) if !self.facilities.contains(facility) => {
                errors.add("facility", msg::NOT_IN_LIST)
            }
            _ => {}
        }
        if input.comment.chars().count() > MAX_COMMENT_LEN {
            errors.add(
                "comment",
                format!("is too long (maximum is {MAX_COMMENT_LEN} characters)"),
            );
        }
        errors.into_result(())
    }

    fn allows_type(&self, rule: &CodeRule) -> bool {
        match (&rule.ticket_types, &self.ticket_type) {
            (None, _) => true,
            (Some(types), Some(ticket_type)) => {
                types.iter().any(|t| t.eq_ignore_ascii_case(ticket_type))
            }
            (Some(_), None) => false,
        }
    }

    /// The (service area, facility) pairs that need a response: one per
    /// area, or, where the center requires facilities, one per facility the
    /// area answers for.
    pub fn required(&self) -> Vec<(String, Option<String>)> {
        let mut pairs = Vec::new();
        for (area, own) in &self.areas {
            if self.facility_required {
                for facility in own.as_ref().unwrap_or(&self.facilities) {
                    pairs.push((area.clone(), Some(facility.clone())));
                }
            } else {
                pairs.push((area.clone(), None));
            }
        }
        pairs
    }

    /// Whether the responses complete the ticket: every required pair is
    /// answered and every code answering one completes. Where facilities are
    /// not required, an area is answered by all of its responses, whatever
    /// facility they name.
    pub fn completed_by(&self, responses: &[GivenResponse]) -> bool {
        let completes: HashMap<&str, bool> = self
            .codes
            .iter()
            .map(|c| (c.code.as_str(), c.completes))
            .collect();
        let complete = |r: &GivenResponse| completes.get(r.code.as_str()).copied().unwrap_or(false);
        let required = self.required();
        !required.is_empty()
            && required.iter().all(|(area, facility)| {
                let mut answers = responses.iter().filter(|r| {
                    r.service_area == *area && (facility.is_none() || r.facility == *facility)
                });
                let mut any = false;
                answers.all(|r| {
                    any = true;
                    complete(r)
                }) && any
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(facility_required: bool) -> ResponseRules {
        ResponseRules {
            areas: vec![
                ("FOR01".into(), None),
                ("FOR02".into(), Some(vec!["Gas".into()])),
            ],
            facility_required,
            facilities: vec!["Gas".into(), "Water".into()],
            codes: vec![
                CodeRule {
                    code: "1A".into(),
                    ticket_types: None,
                    completes: true,
                },
                CodeRule {
                    code: "3J".into(),
                    ticket_types: None,
                    completes: false,
                },
                CodeRule {
                    code: "10A".into(),
                    ticket_types: Some(vec!["Large Project".into()]),
                    completes: true,
                },
            ],
            ticket_type: Some("Normal".into()),
        }
    }

    fn input(area: &str, code: &str, facility: Option<&str>) -> ResponseInput {
        ResponseInput {
            service_area: area.into(),
            code: code.into(),
            facility: facility.map(Into::into),
            comment: String::new(),
        }
    }

    fn given(area: &str, facility: Option<&str>, code: &str) -> GivenResponse {
        GivenResponse {
            service_area: area.into(),
            facility: facility.map(Into::into),
            code: code.into(),
        }
    }

    #[test]
    fn a_response_given_as_an_array_is_refused() {
        let errors = parse_response_input(serde_json::json!(["FOR01", "1A"])).unwrap_err();
        assert_eq!(
            errors.get("ticket_response"),
            Some(&["must be an object".to_string()][..])
        );
    }

    #[test]
    fn reads_the_wire_shape() {
        let parsed = parse_response_input(
            json!({"service_area": " FOR01 ", "code": "1A", "facility": "", "comment": "ok"}),
        )
        .unwrap();
        assert_eq!(
            parsed,
            ResponseInput {
                service_area: "FOR01".into(),
                code: "1A".into(),
                facility: None,
                comment: "ok".into()
            }
        );
        let e = parse_response_input(json!({"service_area": 5})).unwrap_err();
        assert!(e.get("service_area").is_some(), "{e}");
        let e = parse_response_input(json!({"code": "1A", "colour": "red"})).unwrap_err();
        assert!(e.get("colour").is_some(), "{e}");
    }

    #[test]
    fn validates_with_rails_messages() {
        let r = rules(false);
        assert_eq!(r.validate(&input("FOR01", "1A", None)), Ok(()));
        let e = r.validate(&input("", "", None)).unwrap_err();
        assert_eq!(
            e.get("service_area"),
            Some(&["can't be blank".to_string()][..])
        );
        assert_eq!(e.get("code"), Some(&["can't be blank".to_string()][..]));
        let e = r
            .validate(&input("ATL03", "9Z", Some("Steam")))
            .unwrap_err();
        for key in ["service_area", "code", "facility"] {
            assert_eq!(
                e.get(key),
                Some(&["is not included in the list".to_string()][..]),
                "{key}"
            );
        }
        // 10A is for Large Project tickets only.
        assert!(r
            .validate(&input("FOR01", "10A", None))
            .unwrap_err()
            .get("code")
            .is_some());
        let large = ResponseRules {
            ticket_type: Some("large project".into()),
            ..rules(false)
        };
        assert_eq!(large.validate(&input("FOR01", "10A", None)), Ok(()));
        let e = rules(true)
            .validate(&input("FOR01", "1A", None))
            .unwrap_err();
        assert_eq!(e.get("facility"), Some(&["can't be blank".to_string()][..]));
    }

    #[test]
    fn requires_one_response_per_area_or_per_area_and_facility() {
        assert_eq!(
            rules(false).required(),
            [("FOR01".into(), None), ("FOR02".into(), None)]
        );
        assert_eq!(
            rules(true).required(),
            [
                ("FOR01".into(), Some("Gas".into())),
                ("FOR01".into(), Some("Water".into())),
                ("FOR02".into(), Some("Gas".into())),
            ]
        );
    }

    #[test]
    fn completes_only_when_every_required_response_completes() {
        let r = rules(false);
        assert!(!r.completed_by(&[given("FOR01", None, "1A")]));
        assert!(r.completed_by(&[given("FOR01", None, "1A"), given("FOR02", None, "1A")]));
        assert!(!r.completed_by(&[given("FOR01", None, "1A"), given("FOR02", None, "3J")]));
        assert!(!r.completed_by(&[
            given("FOR01", None, "1A"),
            given("FOR02", Some("Gas"), "1A"),
            given("FOR02", Some("Water"), "3J")
        ]));

        let f = rules(true);
        let all = [
            given("FOR01", Some("Gas"), "1A"),
            given("FOR01", Some("Water"), "1A"),
            given("FOR02", Some("Gas"), "1A"),
        ];
        assert!(f.completed_by(&all));
        assert!(!f.completed_by(&all[..2]));

        let nothing_held = ResponseRules {
            areas: vec![],
            ..rules(false)
        };
        assert!(!nothing_held.completed_by(&[]));
    }
}
