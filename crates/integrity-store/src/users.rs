//! Who is calling (the account and user behind an API key), and the users
//! and keys of an account.

use integrity_domain::account::Role;
use integrity_domain::errors::{msg, ValidationErrors};
use integrity_domain::permission::{Overrides, Permission};
use integrity_domain::time::{now_millis, Millis};
use integrity_domain::user::{NewUser, UserChanges};

use crate::conn::{query, row, Conn};
use crate::error::corrupt;
use crate::{tokens, AccountId, Store, StoreError};

/// How stale `last_used_at` may get before a request refreshes it: often
/// enough to tell a key in use from a forgotten one, rarely enough that
/// reads do not become writes.
const LAST_USED_RESOLUTION_MS: Millis = 60_000;

/// The user an API key belongs to, with their account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account: AccountId,
    pub subdomain: String,
    pub api_enabled: bool,
    pub user_id: i64,
    pub user_name: String,
    pub role: Role,
    pub permissions: Overrides,
}

impl Principal {
    pub fn may(&self, permission: Permission) -> bool {
        self.permissions.allows(self.role, permission)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub active: bool,
    pub permissions: Overrides,
    pub created_at: Millis,
}

/// An API key as listed: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub prefix: String,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
}

row! {
    struct PrincipalRow {
        token_id: i64,
        last_used_at: Option<i64>,
        account_id: i64,
        subdomain: String,
        api_enabled: bool,
        user_id: i64,
        user_name: String,
        role: String,
        grants: String,
        revokes: String,
    }
}

row! {
    struct UserRow {
        id: i64,
        name: String,
        email: String,
        role: String,
        active: bool,
        grants: String,
        revokes: String,
        created_at: i64,
    }
}

row! {
    struct TokenRow {
        id: i64,
        user_id: i64,
        prefix: String,
        created_at: i64,
        last_used_at: Option<i64>,
    }
}

impl From<TokenRow> for ApiToken {
    fn from(r: TokenRow) -> Self {
        ApiToken {
            id: r.id,
            user_id: r.user_id,
            prefix: r.prefix,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        }
    }
}

fn role(text: &str) -> Result<Role, StoreError> {
    Role::parse(text).ok_or_else(|| StoreError::Corrupt {
        what: "user role",
        detail: text.to_string(),
    })
}

fn overrides(grants: &str, revokes: &str) -> Result<Overrides, StoreError> {
    let grants: Vec<String> = serde_json::from_str(grants).map_err(corrupt("user grants"))?;
    let revokes: Vec<String> = serde_json::from_str(revokes).map_err(corrupt("user revokes"))?;
    Overrides::parse(&grants, &revokes).map_err(|name| StoreError::Corrupt {
        what: "user permission",
        detail: name,
    })
}

fn names(permissions: &[Permission]) -> String {
    serde_json::to_string(&Overrides::names(permissions)).unwrap_or_else(|_| "[]".into())
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            role: role(&r.role)?,
            permissions: overrides(&r.grants, &r.revokes)?,
            id: r.id,
            name: r.name,
            email: r.email,
            active: r.active,
            created_at: r.created_at,
        })
    }
}

impl Store {
    /// The principal of a key, if the key exists, is not revoked and its
    /// user is active.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Principal>, StoreError> {
        let mut conn = self.read().await?;
        let row: Option<PrincipalRow> = conn
            .fetch_optional(query!(
                "SELECT t.id AS token_id, t.last_used_at, a.id AS account_id, a.subdomain, a.api_enabled,
                        u.id AS user_id, u.name AS user_name, u.role, u.grants, u.revokes
                 FROM api_tokens t
                 JOIN users u ON u.account_id = t.account_id AND u.id = t.user_id
                 JOIN accounts a ON a.id = t.account_id
                 WHERE t.digest = $1 AND t.revoked_at IS NULL AND u.active = $2",
                tokens::digest(token),
                true
            ))
            .await?;
        drop(conn);
        let Some(row) = row else { return Ok(None) };
        let now = now_millis();
        if row
            .last_used_at
            .is_none_or(|at| now - at >= LAST_USED_RESOLUTION_MS)
        {
            let mut tx = self.write().await?;
            tx.execute(query!(
                "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
                now,
                row.token_id,
                now - LAST_USED_RESOLUTION_MS
            ))
            .await?;
            tx.commit().await?;
        }
        Ok(Some(Principal {
            account: AccountId(row.account_id),
            subdomain: row.subdomain,
            api_enabled: row.api_enabled,
            user_id: row.user_id,
            user_name: row.user_name,
            role: role(&row.role)?,
            permissions: overrides(&row.grants, &row.revokes)?,
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

    pub async fn users(&self, account: AccountId) -> Result<Vec<User>, StoreError> {
        let mut conn = self.read().await?;
        let rows: Vec<UserRow> = conn
            .fetch_all(query!(
                "SELECT id, name, email, role, active, grants, revokes, created_at
                 FROM users WHERE account_id = $1 ORDER BY id",
                account.0
            ))
            .await?;
        rows.into_iter().map(User::try_from).collect()
    }

    pub async fn user(&self, account: AccountId, id: i64) -> Result<Option<User>, StoreError> {
        let mut conn = self.read().await?;
        find_user(&mut conn, account, id).await
    }

    /// Creates a user; 402-worthy [`StoreError::PlanLimit`] when the
    /// account already has as many active users as its plan allows.
    pub async fn create_user(&self, account: AccountId, new: &NewUser) -> Result<User, StoreError> {
        let mut tx = self.write().await?;
        lock_account(&mut tx, account).await?;
        check_email_free(&mut tx, account, &new.email, None).await?;
        check_room_for_one_more(&mut tx, account).await?;
        let now = now_millis();
        let (id,): (i64,) = tx
            .fetch_one(query!(
                "INSERT INTO users (account_id, name, email, role, active, grants, revokes, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
                account.0,
                new.name.as_str(),
                new.email.as_str(),
                new.role.as_str(),
                true,
                names(&new.permissions.grant),
                names(&new.permissions.revoke),
                now
            ))
            .await?;
        let user = find_user(&mut tx, account, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(user)
    }

    /// Changes a user. Deactivating one stops their keys at once, since
    /// authentication only accepts keys of active users.
    pub async fn update_user(
        &self,
        account: AccountId,
        id: i64,
        changes: &UserChanges,
    ) -> Result<User, StoreError> {
        let mut tx = self.write().await?;
        let user = find_user(&mut tx, account, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if let Some(email) = &changes.email {
            check_email_free(&mut tx, account, email, Some(id)).await?;
        }
        if changes.active == Some(true) && !user.active {
            check_room_for_one_more(&mut tx, account).await?;
        }
        let grant = changes.grant.clone().unwrap_or(user.permissions.grant);
        let revoke = changes.revoke.clone().unwrap_or(user.permissions.revoke);
        tx.execute(query!(
            "UPDATE users SET name = $1, email = $2, role = $3, active = $4, grants = $5, revokes = $6, updated_at = $7
             WHERE account_id = $8 AND id = $9",
            changes.name.clone().unwrap_or(user.name),
            changes.email.clone().unwrap_or(user.email),
            changes.role.unwrap_or(user.role).as_str(),
            changes.active.unwrap_or(user.active),
            names(&grant),
            names(&revoke),
            now_millis(),
            account.0,
            id
        ))
        .await?;
        let updated = find_user(&mut tx, account, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Issues a new key for a user: returns it with the key itself, which is
    /// shown this once and stored only as a digest.
    pub async fn create_token(
        &self,
        account: AccountId,
        user: i64,
    ) -> Result<(ApiToken, String), StoreError> {
        let mut tx = self.write().await?;
        find_user(&mut tx, account, user)
            .await?
            .ok_or(StoreError::NotFound)?;
        let secret = tokens::generate();
        let row: TokenRow = tx
            .fetch_one(query!(
                "INSERT INTO api_tokens (account_id, user_id, digest, prefix, created_at)
                 VALUES ($1, $2, $3, $4, $5)
                 RETURNING id, user_id, prefix, created_at, last_used_at",
                account.0,
                user,
                tokens::digest(&secret),
                tokens::display_prefix(&secret),
                now_millis()
            ))
            .await?;
        tx.commit().await?;
        Ok((row.into(), secret))
    }

    /// Whether the account may have one more active user.
    pub async fn has_room_for_user(&self, account: AccountId) -> Result<bool, StoreError> {
        let mut conn = self.read().await?;
        match check_room_for_one_more(&mut conn, account).await {
            Ok(()) => Ok(true),
            Err(StoreError::PlanLimit(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether the account has this key, not revoked.
    pub async fn token_exists(&self, account: AccountId, token: i64) -> Result<bool, StoreError> {
        let mut conn = self.read().await?;
        let row: Option<(i64,)> = conn
            .fetch_optional(query!(
                "SELECT id FROM api_tokens WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL",
                account.0,
                token
            ))
            .await?;
        Ok(row.is_some())
    }

    /// A user's keys that are not revoked; `None` when there is no such
    /// user in the account.
    pub async fn tokens(
        &self,
        account: AccountId,
        user: i64,
    ) -> Result<Option<Vec<ApiToken>>, StoreError> {
        let mut conn = self.read().await?;
        if find_user(&mut conn, account, user).await?.is_none() {
            return Ok(None);
        }
        let rows: Vec<TokenRow> = conn
            .fetch_all(query!(
                "SELECT id, user_id, prefix, created_at, last_used_at FROM api_tokens
                 WHERE account_id = $1 AND user_id = $2 AND revoked_at IS NULL ORDER BY id",
                account.0,
                user
            ))
            .await?;
        Ok(Some(rows.into_iter().map(ApiToken::from).collect()))
    }

    /// Revokes a key at once. A key already revoked, or of another account,
    /// is [`StoreError::NotFound`].
    pub async fn revoke_token(&self, account: AccountId, token: i64) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let revoked = tx
            .execute(query!(
                "UPDATE api_tokens SET revoked_at = $1 WHERE account_id = $2 AND id = $3 AND revoked_at IS NULL",
                now_millis(),
                account.0,
                token
            ))
            .await?;
        if revoked == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Serialises changes to an account's users: the plan limit and e-mail
/// uniqueness are checked by reading, and on PostgreSQL two transactions
/// could otherwise both read "room for one more" and both insert. The no-op
/// update takes the account row's lock (`SELECT … FOR UPDATE` is not
/// SQLite, whose write transactions are serial already).
pub(crate) async fn lock_account(tx: &mut Conn, account: AccountId) -> Result<(), StoreError> {
    tx.execute(query!(
        "UPDATE accounts SET updated_at = updated_at WHERE id = $1",
        account.0
    ))
    .await?;
    Ok(())
}

async fn find_user(
    conn: &mut Conn,
    account: AccountId,
    id: i64,
) -> Result<Option<User>, StoreError> {
    let row: Option<UserRow> = conn
        .fetch_optional(query!(
            "SELECT id, name, email, role, active, grants, revokes, created_at
             FROM users WHERE account_id = $1 AND id = $2",
            account.0,
            id
        ))
        .await?;
    row.map(User::try_from).transpose()
}

async fn check_email_free(
    conn: &mut Conn,
    account: AccountId,
    email: &str,
    except: Option<i64>,
) -> Result<(), StoreError> {
    let holder: Option<(i64,)> = conn
        .fetch_optional(query!(
            "SELECT id FROM users WHERE account_id = $1 AND email = $2",
            account.0,
            email
        ))
        .await?;
    match holder {
        Some((id,)) if Some(id) != except => {
            Err(ValidationErrors::single("email", msg::TAKEN).into())
        }
        _ => Ok(()),
    }
}

async fn check_room_for_one_more(conn: &mut Conn, account: AccountId) -> Result<(), StoreError> {
    let (max_users,): (Option<i64>,) = conn
        .fetch_one(query!(
            "SELECT max_users FROM accounts WHERE id = $1",
            account.0
        ))
        .await?;
    let Some(max) = max_users else { return Ok(()) };
    let (active,): (i64,) = conn
        .fetch_one(query!(
            "SELECT COUNT(*) FROM users WHERE account_id = $1 AND active = $2",
            account.0,
            true
        ))
        .await?;
    if active >= max {
        return Err(StoreError::PlanLimit(format!(
            "the account's plan allows {max} active users and has {active}"
        )));
    }
    Ok(())
}
