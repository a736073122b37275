//! Who is calling: the account and user behind an API key.

use integrity_domain::account::Role;

use crate::conn::query;
use crate::{tokens, AccountId, Store, StoreError};

/// The user an API key belongs to, with their account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account: AccountId,
    pub subdomain: String,
    pub api_enabled: bool,
    pub user_id: i64,
    pub user_name: String,
    pub role: Role,
}

#[derive(sqlx::FromRow)]
struct PrincipalRow {
    account_id: i64,
    subdomain: String,
    api_enabled: bool,
    user_id: i64,
    user_name: String,
    role: String,
}

impl Store {
    /// The principal of a key, if the key exists, is not revoked and its
    /// user is active.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Principal>, StoreError> {
        let mut conn = self.read().await?;
        let row: Option<PrincipalRow> = conn
            .fetch_optional(query!(
                "SELECT a.id AS account_id, a.subdomain, a.api_enabled,
                        u.id AS user_id, u.name AS user_name, u.role
                 FROM api_tokens t
                 JOIN users u ON u.account_id = t.account_id AND u.id = t.user_id
                 JOIN accounts a ON a.id = t.account_id
                 WHERE t.digest = $1 AND t.revoked_at IS NULL AND u.active",
                tokens::digest(token)
            ))
            .await?;
        Ok(row.and_then(|r| {
            Some(Principal {
                account: AccountId(r.account_id),
                subdomain: r.subdomain,
                api_enabled: r.api_enabled,
                user_id: r.user_id,
                user_name: r.user_name,
                role: Role::parse(&r.role)?,
            })
        }))
    }

    /// The id of an account by its subdomain.
    pub async fn account_by_subdomain(
        &self,
        subdomain: &str,
    ) -> Result<Option<AccountId>, StoreError> {
        let mut conn = self.read().await?;
        let row: Option<(i64,)> = conn
            .fetch_optional(query!(
                "SELECT id FROM accounts WHERE subdomain = $1",
                subdomain
            ))
            .await?;
        Ok(row.map(|(id,)| AccountId(id)))
    }
}
