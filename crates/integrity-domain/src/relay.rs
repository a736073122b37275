//! How responses reach a call center: its relay settings, and the Open
//! Positive Response payload built from a response.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Whether responses go one per request or many per request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RelayMode {
    #[default]
    Single,
    Batch,
}

/// A call center's relay settings, as kept in its `relay` object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RelaySettings {
    #[serde(default)]
    pub enabled: bool,
    /// Base URL of the center's API; `/response` (or `/response/batch`) is
    /// appended.
    #[serde(default)]
    pub url: Option<String>,
    /// Sent as the `Authorization` header. A secret: never shown or logged.
    #[serde(default)]
    pub authorization: Option<String>,
    /// Our response codes → the center's `action` values; a code without an
    /// entry is sent as itself.
    #[serde(default)]
    pub actions: BTreeMap<String, String>,
    #[serde(default)]
    pub mode: RelayMode,
}

impl RelaySettings {
    /// Checks what can be checked without a network: an enabled relay needs
    /// an http(s) URL.
    pub fn validate(&self) -> Result<(), String> {
        match (&self.url, self.enabled) {
            (None, true) => Err("url can't be blank when the relay is enabled".into()),
            (Some(url), _) => match url::Url::parse(url) {
                Ok(parsed)
                    if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() =>
                {
                    Ok(())
                }
                _ => Err(format!("url {url:?} is not an http(s) URL")),
            },
            (None, false) => Ok(()),
        }
    }

    pub fn action_for(&self, code: &str) -> String {
        self.actions
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_string())
    }

    /// The settings for display: the authorization replaced by a marker.
    pub fn redacted(&self) -> RelaySettings {
        RelaySettings {
            authorization: self.authorization.as_ref().map(|_| "[hidden]".to_string()),
            ..self.clone()
        }
    }
}

/// One positive response as the Open Positive Response API takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PositiveResponse {
    pub ticket_number: String,
    pub member_code: String,
    pub facility_list: Vec<String>,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Stable for one delivery, so that a resend after a crash is
    /// recognisable by the center.
    pub session: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_enabled_relay_needs_an_http_url() {
        let enabled = |url: Option<&str>| RelaySettings {
            enabled: true,
            url: url.map(Into::into),
            ..Default::default()
        };
        assert!(enabled(None).validate().is_err());
        assert!(enabled(Some("ftp://center.example")).validate().is_err());
        assert!(enabled(Some("https://center.example/opr"))
            .validate()
            .is_ok());
        assert!(RelaySettings::default().validate().is_ok());
    }

    #[test]
    fn codes_map_to_actions_and_secrets_stay_hidden() {
        let settings: RelaySettings = serde_json::from_value(json!({
            "enabled": true, "url": "http://127.0.0.1:3100", "authorization": "Bearer s3cret",
            "actions": {"1A": "MARKED"}, "mode": "batch"
        }))
        .unwrap();
        assert_eq!(settings.action_for("1A"), "MARKED");
        assert_eq!(settings.action_for("4A"), "4A");
        assert_eq!(settings.mode, RelayMode::Batch);
        assert!(!format!("{:?}", settings.redacted()).contains("s3cret"));
    }

    #[test]
    fn payload_uses_the_standards_field_names() {
        let payload = PositiveResponse {
            ticket_number: "200131-001002".into(),
            member_code: "XYZ01".into(),
            facility_list: vec!["Water".into()],
            action: "MARKED".into(),
            comment: None,
            session: "s-1".into(),
        };
        assert_eq!(
            serde_json::to_value(&payload).unwrap(),
            json!({"ticketNumber": "200131-001002", "memberCode": "XYZ01", "facilityList": ["Water"], "action": "MARKED", "session": "s-1"})
        );
    }
}
