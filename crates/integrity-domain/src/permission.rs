//! Permissions and the roles that grant them.

use crate::account::Role;

/// What an endpoint needs the caller to be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    CallCentersRead,
    CustomFieldsRead,
    TicketsRead,
    TicketsCreate,
    TicketsUpdate,
    TicketsClose,
    ResponsesWrite,
    UsersRead,
    UsersWrite,
    TokensWrite,
    RelayManage,
}

impl Permission {
    pub const ALL: [Permission; 11] = [
        Permission::CallCentersRead,
        Permission::CustomFieldsRead,
        Permission::TicketsRead,
        Permission::TicketsCreate,
        Permission::TicketsUpdate,
        Permission::TicketsClose,
        Permission::ResponsesWrite,
        Permission::UsersRead,
        Permission::UsersWrite,
        Permission::TokensWrite,
        Permission::RelayManage,
    ];

    pub fn parse(text: &str) -> Option<Permission> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::CallCentersRead => "call_centers:read",
            Permission::CustomFieldsRead => "custom_fields:read",
            Permission::TicketsRead => "tickets:read",
            Permission::TicketsCreate => "tickets:create",
            Permission::TicketsUpdate => "tickets:update",
            Permission::TicketsClose => "tickets:close",
            Permission::ResponsesWrite => "responses:write",
            Permission::UsersRead => "users:read",
            Permission::UsersWrite => "users:write",
            Permission::TokensWrite => "tokens:write",
            Permission::RelayManage => "relay:manage",
        }
    }
}

impl Role {
    /// The permissions a role grants: each role has those of the one below
    /// it and more.
    pub fn grants(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Manager => {
                Role::Locator.grants(permission) || matches!(permission, TicketsCreate | UsersRead)
            }
            Role::Locator => {
                Role::Viewer.grants(permission)
                    || matches!(permission, TicketsUpdate | TicketsClose | ResponsesWrite)
            }
            Role::Viewer => matches!(permission, CallCentersRead | CustomFieldsRead | TicketsRead),
        }
    }
}

/// A user's permissions: those of the role, plus any granted, minus any
/// revoked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Overrides {
    pub grant: Vec<Permission>,
    pub revoke: Vec<Permission>,
}

impl Overrides {
    pub fn allows(&self, role: Role, permission: Permission) -> bool {
        !self.revoke.contains(&permission)
            && (role.grants(permission) || self.grant.contains(&permission))
    }

    /// The effective permissions in their canonical order.
    pub fn effective(&self, role: Role) -> Vec<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|p| self.allows(role, *p))
            .collect()
    }

    /// Reads lists of permission names; an unknown name is returned as the
    /// error.
    pub fn parse(grant: &[String], revoke: &[String]) -> Result<Overrides, String> {
        let read = |names: &[String]| {
            names
                .iter()
                .map(|n| Permission::parse(n).ok_or_else(|| n.clone()))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Overrides {
            grant: read(grant)?,
            revoke: read(revoke)?,
        })
    }

    pub fn names(permissions: &[Permission]) -> Vec<&'static str> {
        permissions.iter().map(|p| p.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_the_documented_matrix() {
        let granted = |role: Role| {
            Permission::ALL
                .into_iter()
                .filter(|p| role.grants(*p))
                .map(Permission::as_str)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            granted(Role::Viewer),
            ["call_centers:read", "custom_fields:read", "tickets:read"]
        );
        assert_eq!(
            granted(Role::Locator),
            [
                "call_centers:read",
                "custom_fields:read",
                "tickets:read",
                "tickets:update",
                "tickets:close",
                "responses:write"
            ]
        );
        assert_eq!(
            granted(Role::Manager),
            [
                "call_centers:read",
                "custom_fields:read",
                "tickets:read",
                "tickets:create",
                "tickets:update",
                "tickets:close",
                "responses:write",
                "users:read"
            ]
        );
        assert_eq!(granted(Role::Admin).len(), Permission::ALL.len());
    }

    #[test]
    fn overrides_add_and_remove_permissions() {
        let overrides =
            Overrides::parse(&["users:read".into()], &["tickets:close".into()]).unwrap();
        assert!(overrides.allows(Role::Locator, Permission::UsersRead));
        assert!(!overrides.allows(Role::Locator, Permission::TicketsClose));
        assert!(overrides.allows(Role::Locator, Permission::TicketsUpdate));
        assert_eq!(
            Overrides::parse(&["tickets:fly".into()], &[]),
            Err("tickets:fly".to_string())
        );
    }
}
