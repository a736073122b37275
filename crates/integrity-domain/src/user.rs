//! Users as the users API creates and changes them.

use serde_json::Value;

use crate::account::{is_plausible_email, Role};
use crate::errors::{msg, ValidationErrors};
use crate::permission::{Overrides, Permission};

pub const MAX_NAME_LEN: usize = 255;

/// A user to create (`POST /users`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub name: String,
    /// Lower-cased: e-mail addresses identify users case-insensitively.
    pub email: String,
    pub role: Role,
    pub permissions: Overrides,
}

/// Changes to a user (`PATCH /users/:id`); `None` leaves a value as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    pub name: Option<String>,
    pub email: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub grant: Option<Vec<Permission>>,
    pub revoke: Option<Vec<Permission>>,
}

/// Reads `{"name", "email", "role", "grant", "revoke"}`; `role` defaults to
/// `viewer`, the least privileged.
pub fn parse_new_user(value: Value) -> Result<NewUser, ValidationErrors> {
    let changes = parse_user_changes(value)?;
    let mut errors = ValidationErrors::new();
    if changes.name.is_none() {
        errors.add("name", msg::BLANK);
    }
    if changes.email.is_none() {
        errors.add("email", msg::BLANK);
    }
    if changes.active == Some(false) {
        errors.add("active", "must be true for a new user");
    }
    errors.into_result(())?;
    Ok(NewUser {
        name: changes.name.unwrap_or_default(),
        email: changes.email.unwrap_or_default(),
        role: changes.role.unwrap_or(Role::Viewer),
        permissions: Overrides {
            grant: changes.grant.unwrap_or_default(),
            revoke: changes.revoke.unwrap_or_default(),
        },
    })
}

pub fn parse_user_changes(value: Value) -> Result<UserChanges, ValidationErrors> {
    let Value::Object(map) = value else {
        return Err(ValidationErrors::single("user", msg::INVALID));
    };
    let mut errors = ValidationErrors::new();
    let mut changes = UserChanges::default();
    for (key, value) in map {
        match key.as_str() {
            "name" => {
                changes.name = text(&mut errors, "name", &value);
                if changes
                    .name
                    .as_ref()
                    .is_some_and(|n| n.chars().count() > MAX_NAME_LEN)
                {
                    errors.add(
                        "name",
                        format!("is too long (maximum is {MAX_NAME_LEN} characters)"),
                    );
                }
            }
            "email" => {
                changes.email =
                    text(&mut errors, "email", &value).map(|email| email.to_lowercase());
                if changes
                    .email
                    .as_deref()
                    .is_some_and(|e| !is_plausible_email(e))
                {
                    errors.add("email", msg::INVALID);
                }
            }
            "role" => match value.as_str().and_then(Role::parse) {
                Some(role) => changes.role = Some(role),
                None => errors.add("role", msg::NOT_IN_LIST),
            },
            "active" => match value {
                Value::Bool(active) => changes.active = Some(active),
                _ => errors.add("active", msg::INVALID),
            },
            "grant" => changes.grant = permissions(&mut errors, "grant", &value),
            "revoke" => changes.revoke = permissions(&mut errors, "revoke", &value),
            // Read-only attributes of GET /users may be sent back unchanged.
            "id" | "permissions" | "created_at" => {}
            other => errors.add(other, format!("unknown attribute `{other}`")),
        }
    }
    errors.into_result(changes)
}

/// A non-blank string, trimmed; records the error otherwise.
fn text(errors: &mut ValidationErrors, key: &str, value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::String(_) | Value::Null => {
            errors.add(key, msg::BLANK);
            None
        }
        _ => {
            errors.add(key, msg::INVALID);
            None
        }
    }
}

fn permissions(errors: &mut ValidationErrors, key: &str, value: &Value) -> Option<Vec<Permission>> {
    let names: Option<Vec<&str>> = value
        .as_array()
        .and_then(|items| items.iter().map(Value::as_str).collect());
    let Some(names) = names else {
        errors.add(key, "must be an array of permission names");
        return None;
    };
    let mut found = Vec::new();
    for name in names {
        match Permission::parse(name) {
            Some(p) if !found.contains(&p) => found.push(p),
            Some(_) => {}
            None => errors.add(key, format!("{name:?} is not a permission")),
        }
    }
    Some(found)
}

/// `GET /users` shows the permissions a user ends up with.
pub fn permission_names(role: Role, overrides: &Overrides) -> Vec<&'static str> {
    Overrides::names(&overrides.effective(role))
}

/// Parses a user id from a path segment; `None` for anything else.
pub fn parse_id(text: &str) -> Option<i64> {
    text.parse().ok().filter(|id| *id > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_new_user_needs_a_name_and_a_valid_email() {
        let user =
            parse_new_user(json!({"name": " Al ", "email": "Al@Example.com", "role": "locator"}))
                .unwrap();
        assert_eq!(
            (user.name.as_str(), user.email.as_str(), user.role),
            ("Al", "al@example.com", Role::Locator)
        );
        let e = parse_new_user(json!({"name": "", "email": "nope", "role": "owner"})).unwrap_err();
        assert_eq!(e.get("name"), Some(&["can't be blank".to_string()][..]));
        assert_eq!(e.get("email"), Some(&["is invalid".to_string()][..]));
        assert_eq!(
            e.get("role"),
            Some(&["is not included in the list".to_string()][..])
        );
        let e = parse_new_user(json!({"name": "Al"})).unwrap_err();
        assert_eq!(e.get("email"), Some(&["can't be blank".to_string()][..]));
    }

    #[test]
    fn changes_name_what_is_wrong() {
        let changes =
            parse_user_changes(json!({"active": false, "grant": ["users:read"]})).unwrap();
        assert_eq!(changes.active, Some(false));
        assert_eq!(changes.grant, Some(vec![Permission::UsersRead]));
        let e =
            parse_user_changes(json!({"active": "no", "grant": ["fly"], "colour": 1, "name": 5}))
                .unwrap_err();
        for key in ["active", "grant", "colour", "name"] {
            assert!(e.get(key).is_some(), "{key}: {e}");
        }
    }
}
