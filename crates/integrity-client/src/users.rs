//! Users of the account and their API keys.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::wire_enum::wire_enum;
use crate::Client;

wire_enum! {
    /// A user's role; each has the permissions of the one below it and
    /// more.
    pub enum Role {
        Admin = "admin",
        Manager = "manager",
        Locator = "locator",
        Viewer = "viewer",
    }
}

/// A user of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub active: bool,
    /// What the user ends up with (`tickets:read`, `responses:write`…):
    /// the role's, plus those granted, minus those revoked.
    #[serde(default)]
    pub permissions: Vec<String>,
    pub created_at: String,
}

/// A user to create. The role defaults to `viewer` on the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NewUser {
    pub name: String,
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Permissions beyond the role's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grant: Vec<String>,
    /// Permissions of the role taken away.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revoke: Vec<String>,
}

/// Changes to a user; `None` leaves a value as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UserChanges {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// `false` stops the user's keys at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Replaces the permissions granted beyond the role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<Vec<String>>,
    /// Replaces the permissions revoked from the role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke: Option<Vec<String>>,
}

/// An API key. Only its digest is stored, so `token` is there only in the
/// answer of [`Client::create_api_token`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The key's first characters, to recognise it by.
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

#[derive(Serialize)]
struct UserBody<'a, T> {
    user: &'a T,
}

impl Client {
    /// `GET /users`.
    pub async fn users(&self) -> Result<Vec<User>> {
        self.json(self.request(Method::GET, self.url(["users"])))
            .await
    }

    /// `POST /users`. Beyond the plan's active users the server answers
    /// 402 and creates nothing.
    pub async fn create_user(&self, user: &NewUser) -> Result<User> {
        let request = self
            .request(Method::POST, self.url(["users"]))
            .json(&UserBody { user });
        self.json(request).await
    }

    /// `PATCH /users/:id`; the server answers without a body.
    pub async fn update_user(&self, user_id: i64, changes: &UserChanges) -> Result<()> {
        let id = user_id.to_string();
        let request = self
            .request(Method::PATCH, self.url(["users", id.as_str()]))
            .json(&UserBody { user: changes });
        self.send(request).await.map(drop)
    }

    /// `GET /users/:id/api_tokens`: a user's keys, without the keys
    /// themselves.
    pub async fn api_tokens(&self, user_id: i64) -> Result<Vec<ApiToken>> {
        let id = user_id.to_string();
        let url = self.url(["users", id.as_str(), "api_tokens"]);
        self.json(self.request(Method::GET, url)).await
    }

    /// `POST /users/:id/api_tokens`: a new key, shown this once.
    pub async fn create_api_token(&self, user_id: i64) -> Result<ApiToken> {
        let id = user_id.to_string();
        let url = self.url(["users", id.as_str(), "api_tokens"]);
        self.json(self.request(Method::POST, url)).await
    }

    /// `DELETE /api_tokens/:id`: revokes a key at once.
    pub async fn revoke_api_token(&self, token_id: i64) -> Result<()> {
        let id = token_id.to_string();
        let url = self.url(["api_tokens", id.as_str()]);
        self.send(self.request(Method::DELETE, url)).await.map(drop)
    }
}
