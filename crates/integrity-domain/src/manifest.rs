//! The provisioning manifest that `integrity apply` reads: accounts, their
//! users, call centers and custom fields, checked as a whole before any of it
//! is written.

use std::collections::HashSet;

use serde::Deserialize;

use crate::account::{is_plausible_email, is_valid_subdomain, Role};
use crate::custom_field::FieldType;
use crate::errors::{msg, ValidationErrors};
use crate::relay::RelaySettings;

/// Keys installed from another system must still be hard to guess.
pub const MIN_INSTALLED_TOKEN_LEN: usize = 16;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub accounts: Vec<AccountSpec>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    pub subdomain: String,
    pub name: String,
    #[serde(default = "yes")]
    pub api_enabled: bool,
    #[serde(default)]
    pub plan: PlanSpec,
    #[serde(default)]
    pub users: Vec<UserSpec>,
    #[serde(default)]
    pub call_centers: Vec<CallCenterSpec>,
    #[serde(default)]
    pub custom_fields: Vec<CustomFieldSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSpec {
    /// `None`: no limit.
    pub max_users: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    pub name: String,
    pub email: String,
    pub role: Role,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub api_tokens: Vec<String>,
    /// Permissions beyond the role's.
    #[serde(default)]
    pub grant: Vec<String>,
    /// Permissions of the role the user does not get.
    #[serde(default)]
    pub revoke: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallCenterSpec {
    pub name: String,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub facility_required: bool,
    #[serde(default)]
    pub facilities: Vec<String>,
    #[serde(default)]
    pub service_areas: Vec<ServiceAreaSpec>,
    #[serde(default)]
    pub response_codes: Vec<ResponseCodeSpec>,
    #[serde(default)]
    pub relay: RelaySettings,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAreaSpec {
    pub code: String,
    #[serde(default)]
    pub name: Option<String>,
    /// `None`: the service area answers for all of the center's facilities.
    #[serde(default)]
    pub facilities: Option<Vec<String>>,
    /// E-mail of the user new tickets of this service area are assigned to.
    #[serde(default)]
    pub assignee: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseCodeSpec {
    pub code: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub ticket_types: Option<Vec<String>>,
    #[serde(default)]
    pub completes: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldSpec {
    pub name: String,
    pub type_id: i64,
    #[serde(default)]
    pub required: bool,
    /// Name of the call center; `None`: common to all centers.
    #[serde(default)]
    pub call_center: Option<String>,
    /// Defaults to the field's place in the list.
    #[serde(default)]
    pub position: Option<i64>,
    #[serde(default)]
    pub options: Vec<OptionSpec>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionSpec {
    pub name: String,
    #[serde(default)]
    pub options: Vec<OptionSpec>,
}

fn yes() -> bool {
    true
}

impl Manifest {
    /// Parses JSON, naming the path of the first malformed entry.
    pub fn from_json(text: &str) -> Result<Manifest, ValidationErrors> {
        let mut de = serde_json::Deserializer::from_str(text);
        let manifest: Manifest = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            ValidationErrors::single(
                path,
                crate::ticket::describe_serde_error(&e.into_inner().to_string()),
            )
        })?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Every rule that can be checked without the database.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut subdomains = HashSet::new();
        let mut tokens = HashSet::new();
        for (i, account) in self.accounts.iter().enumerate() {
            let at = format!("accounts[{i}]");
            if !is_valid_subdomain(&account.subdomain) {
                errors.add(
                    format!("{at}.subdomain"),
                    "must be a DNS label: lower-case letters, digits and inner hyphens, at most 63",
                );
            } else if !subdomains.insert(account.subdomain.as_str()) {
                errors.add(format!("{at}.subdomain"), msg::TAKEN);
            }
            require_text(&mut errors, &format!("{at}.name"), &account.name);
            account.validate(&at, &mut errors, &mut tokens);
        }
        errors.into_result(())
    }
}

impl AccountSpec {
    fn validate<'a>(
        &'a self,
        at: &str,
        errors: &mut ValidationErrors,
        tokens: &mut HashSet<&'a str>,
    ) {
        if let Some(max) = self.plan.max_users {
            if max < 0 {
                errors.add(
                    format!("{at}.plan.max_users"),
                    "must be greater than or equal to 0",
                );
            } else if self.users.iter().filter(|u| u.active).count() as i64 > max {
                errors.add(
                    format!("{at}.users"),
                    format!("exceed the plan's limit of {max} active users"),
                );
            }
        }
        let mut emails = HashSet::new();
        for (j, user) in self.users.iter().enumerate() {
            let at = format!("{at}.users[{j}]");
            require_text(errors, &format!("{at}.name"), &user.name);
            if !is_plausible_email(&user.email) {
                errors.add(format!("{at}.email"), msg::INVALID);
            } else if !emails.insert(user.email.to_lowercase()) {
                errors.add(format!("{at}.email"), msg::TAKEN);
            }
            if let Err(unknown) = crate::permission::Overrides::parse(&user.grant, &user.revoke) {
                let key = if user.grant.contains(&unknown) {
                    "grant"
                } else {
                    "revoke"
                };
                errors.add(
                    format!("{at}.{key}"),
                    format!("{unknown:?} is not a permission"),
                );
            }
            for (k, token) in user.api_tokens.iter().enumerate() {
                let key = format!("{at}.api_tokens[{k}]");
                if token.len() < MIN_INSTALLED_TOKEN_LEN || token.chars().any(char::is_whitespace) {
                    errors.add(
                        key,
                        format!(
                            "must be at least {MIN_INSTALLED_TOKEN_LEN} characters without spaces"
                        ),
                    );
                } else if !tokens.insert(token.as_str()) {
                    errors.add(key, msg::TAKEN);
                }
            }
        }
        let mut centers = HashSet::new();
        for (j, center) in self.call_centers.iter().enumerate() {
            let at = format!("{at}.call_centers[{j}]");
            require_text(errors, &format!("{at}.name"), &center.name);
            if !centers.insert(center.name.as_str()) {
                errors.add(format!("{at}.name"), msg::TAKEN);
            }
            center.validate(&at, errors, &emails);
        }
        let mut fields = HashSet::new();
        for (j, field) in self.custom_fields.iter().enumerate() {
            let at = format!("{at}.custom_fields[{j}]");
            require_text(errors, &format!("{at}.name"), &field.name);
            if !fields.insert(field.name.as_str()) {
                errors.add(format!("{at}.name"), msg::TAKEN);
            }
            if let Some(center) = &field.call_center {
                if !centers.contains(center.as_str()) {
                    errors.add(
                        format!("{at}.call_center"),
                        "must name a call center of this account",
                    );
                }
            }
            match FieldType::from_id(field.type_id) {
                None => errors.add(format!("{at}.type_id"), msg::NOT_IN_LIST),
                Some(kind) if !kind.has_options() && !field.options.is_empty() => {
                    errors.add(format!("{at}.options"), "are only allowed on types 8 to 11")
                }
                Some(kind) if kind.has_options() && field.options.is_empty() => {
                    errors.add(format!("{at}.options"), msg::BLANK)
                }
                Some(kind) => validate_options(
                    errors,
                    &format!("{at}.options"),
                    &field.options,
                    kind.allows_nested_options(),
                ),
            }
        }
    }
}

impl CallCenterSpec {
    fn validate(&self, at: &str, errors: &mut ValidationErrors, emails: &HashSet<String>) {
        let mut codes = HashSet::new();
        for (k, area) in self.service_areas.iter().enumerate() {
            let at = format!("{at}.service_areas[{k}]");
            require_text(errors, &format!("{at}.code"), &area.code);
            if !codes.insert(area.code.as_str()) {
                errors.add(format!("{at}.code"), msg::TAKEN);
            }
            for facility in area.facilities.iter().flatten() {
                if !self.facilities.contains(facility) {
                    errors.add(
                        format!("{at}.facilities"),
                        format!("{facility:?} is not one of the call center's facilities"),
                    );
                }
            }
            if let Some(email) = &area.assignee {
                if !emails.contains(&email.to_lowercase()) {
                    errors.add(
                        format!("{at}.assignee"),
                        "must be the e-mail of a user of this account",
                    );
                }
            }
        }
        let mut codes = HashSet::new();
        for (k, code) in self.response_codes.iter().enumerate() {
            let at = format!("{at}.response_codes[{k}]");
            require_text(errors, &format!("{at}.code"), &code.code);
            if !codes.insert(code.code.as_str()) {
                errors.add(format!("{at}.code"), msg::TAKEN);
            }
        }
        if let Err(message) = self.relay.validate() {
            errors.add(format!("{at}.relay"), message);
        }
        let mut facilities = HashSet::new();
        for (k, facility) in self.facilities.iter().enumerate() {
            require_text(errors, &format!("{at}.facilities[{k}]"), facility);
            if !facilities.insert(facility.as_str()) {
                errors.add(format!("{at}.facilities[{k}]"), msg::TAKEN);
            }
        }
    }
}

fn validate_options(
    errors: &mut ValidationErrors,
    at: &str,
    options: &[OptionSpec],
    nested_allowed: bool,
) {
    let mut names = HashSet::new();
    for (i, option) in options.iter().enumerate() {
        let at = format!("{at}[{i}]");
        require_text(errors, &format!("{at}.name"), &option.name);
        if !names.insert(option.name.as_str()) {
            errors.add(format!("{at}.name"), msg::TAKEN);
        }
        if !option.options.is_empty() {
            if nested_allowed {
                validate_options(errors, &format!("{at}.options"), &option.options, true);
            } else {
                errors.add(
                    format!("{at}.options"),
                    "are only allowed on cascading types 9 and 11",
                );
            }
        }
    }
}

fn require_text(errors: &mut ValidationErrors, key: &str, value: &str) {
    if value.trim().is_empty() {
        errors.add(key, msg::BLANK);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{"accounts": [{
      "subdomain": "acme", "name": "Acme Locating", "api_enabled": true,
      "plan": {"max_users": 10},
      "users": [{"name": "Al Dente", "email": "al@example.com", "role": "admin",
                 "api_tokens": ["itg_0123456789abcdef0123"]}],
      "call_centers": [{"name": "Georgia 811", "state": "Georgia", "enabled": true,
         "facility_required": false, "facilities": ["Gas", "Water"],
         "service_areas": [{"code": "EXMPL01", "name": "Example North", "facilities": ["Gas"]}],
         "response_codes": [{"code": "1A", "description": "Marked.", "ticket_types": null, "completes": true}],
         "relay": {"enabled": false}}],
      "custom_fields": [{"name": "Select something", "type_id": 8, "required": true,
         "call_center": "Georgia 811", "position": 1,
         "options": [{"name": "Option 1", "options": []}]}]
    }]}"#;

    #[test]
    fn the_documented_example_is_valid() {
        let manifest = Manifest::from_json(EXAMPLE).unwrap();
        assert_eq!(
            manifest.accounts[0].call_centers[0].service_areas[0].code,
            "EXMPL01"
        );
    }

    #[test]
    fn malformed_entries_are_named_by_path() {
        let bad_role = EXAMPLE.replace(r#""role": "admin""#, r#""role": "owner""#);
        let e = Manifest::from_json(&bad_role).unwrap_err();
        assert!(e.get("accounts[0].users[0].role").is_some(), "{e}");

        let bad_center = EXAMPLE.replace(
            r#""call_center": "Georgia 811""#,
            r#""call_center": "Texas""#,
        );
        let e = Manifest::from_json(&bad_center).unwrap_err();
        assert!(
            e.get("accounts[0].custom_fields[0].call_center").is_some(),
            "{e}"
        );

        let bad_facility =
            EXAMPLE.replace(r#""facilities": ["Gas"]"#, r#""facilities": ["Steam"]"#);
        let e = Manifest::from_json(&bad_facility).unwrap_err();
        assert!(
            e.get("accounts[0].call_centers[0].service_areas[0].facilities")
                .is_some(),
            "{e}"
        );

        let nested = EXAMPLE.replace(r#""options": []"#, r#""options": [{"name": "deep"}]"#);
        let e = Manifest::from_json(&nested).unwrap_err();
        assert!(
            e.get("accounts[0].custom_fields[0].options[0].options")
                .is_some(),
            "{e}"
        );

        let over_limit = EXAMPLE.replace(r#""max_users": 10"#, r#""max_users": 0"#);
        let e = Manifest::from_json(&over_limit).unwrap_err();
        assert!(e.get("accounts[0].users").is_some(), "{e}");
    }
}
