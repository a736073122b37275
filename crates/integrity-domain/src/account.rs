//! Accounts, users and their roles.

use serde::{Deserialize, Serialize};

/// A user's role. The permission matrix behind each role lives with the
/// endpoints that check it; here a role is only one of four names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Manager,
    Locator,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Locator => "locator",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "admin" => Some(Role::Admin),
            "manager" => Some(Role::Manager),
            "locator" => Some(Role::Locator),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// A subdomain names an account in the Host header, so it must be a valid
/// DNS label: 1–63 of `a-z`, `0-9`, `-`, not starting or ending with `-`.
pub fn is_valid_subdomain(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && !text.starts_with('-')
        && !text.ends_with('-')
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A deliberately loose e-mail check: one `@`, something on both sides, a dot
/// in the domain and no whitespace. Delivery is what proves an address.
pub fn is_plausible_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !text.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_are_dns_labels() {
        assert!(is_valid_subdomain("acme-2"));
        assert!(!is_valid_subdomain("Acme"));
        assert!(!is_valid_subdomain("-acme"));
        assert!(!is_valid_subdomain(""));
        assert!(!is_valid_subdomain("a.b"));
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(is_plausible_email("al@example.com"));
        assert!(!is_plausible_email("al@example"));
        assert!(!is_plausible_email("@example.com"));
        assert!(!is_plausible_email("al @example.com"));
    }
}
