//! `integrity apply`: make the database hold what a manifest says.
//!
//! Applying is idempotent: each entry is found by its natural key (an
//! account by subdomain, a user by e-mail, a call center or custom field by
//! name, a service area or response code by code, an option by name under
//! its parent), inserted when absent, updated only when a value differs.
//! Nothing is deleted: removing an entry from the file leaves it in place,
//! since tickets and history may refer to it. The whole manifest is one
//! transaction: a file with one bad entry changes nothing.

use std::collections::HashMap;

use integrity_domain::errors::msg;
use integrity_domain::manifest::{
    AccountSpec, CallCenterSpec, CustomFieldSpec, Manifest, OptionSpec,
};
use integrity_domain::time::now_millis;
use integrity_domain::ValidationErrors;

use crate::conn::{query, Arg, Conn, Query};
use crate::{tokens, AccountId, Store, StoreError};

/// How many entries an apply created, updated, or found as they were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyReport {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl ApplyReport {
    pub fn changed(&self) -> bool {
        self.created + self.updated > 0
    }
}

impl Store {
    pub async fn apply(&self, manifest: &Manifest) -> Result<ApplyReport, StoreError> {
        manifest.validate()?;
        let mut tx = self.write().await?;
        let mut applier = Applier {
            conn: &mut tx,
            report: ApplyReport::default(),
            now: now_millis(),
        };
        for (i, account) in manifest.accounts.iter().enumerate() {
            applier.account(&format!("accounts[{i}]"), account).await?;
        }
        let report = applier.report;
        tx.commit().await?;
        Ok(report)
    }
}

struct Applier<'a> {
    conn: &'a mut Conn,
    report: ApplyReport,
    now: i64,
}

/// Whether a table has `created_at`/`updated_at` to maintain.
#[derive(Clone, Copy, PartialEq)]
enum Stamps {
    Yes,
    No,
}

impl Applier<'_> {
    async fn account(&mut self, at: &str, spec: &AccountSpec) -> Result<(), StoreError> {
        let account = AccountId(
            self.upsert(
                "accounts",
                Stamps::Yes,
                &[("subdomain", spec.subdomain.as_str().into())],
                &[
                    ("name", spec.name.as_str().into()),
                    ("api_enabled", spec.api_enabled.into()),
                    ("max_users", spec.plan.max_users.into()),
                ],
            )
            .await?,
        );
        let a: Arg = account.0.into();

        let mut users = HashMap::new();
        for (j, user) in spec.users.iter().enumerate() {
            let email = user.email.to_lowercase();
            let user_id = self
                .upsert(
                    "users",
                    Stamps::Yes,
                    &[("account_id", a.clone()), ("email", email.as_str().into())],
                    &[
                        ("name", user.name.as_str().into()),
                        ("role", user.role.as_str().into()),
                        ("active", user.active.into()),
                        ("grants", to_json(&user.grant).into()),
                        ("revokes", to_json(&user.revoke).into()),
                    ],
                )
                .await?;
            users.insert(email, user_id);
            for (k, token) in user.api_tokens.iter().enumerate() {
                self.install_token(
                    &format!("{at}.users[{j}].api_tokens[{k}]"),
                    account,
                    user_id,
                    token,
                )
                .await?;
            }
        }
        self.check_user_limit(at, account).await?;

        let mut centers = HashMap::new();
        for (j, center) in spec.call_centers.iter().enumerate() {
            let id = self.call_center(account, j, center).await?;
            centers.insert(center.name.as_str(), id);
        }
        for (j, field) in spec.custom_fields.iter().enumerate() {
            let center = field
                .call_center
                .as_deref()
                .and_then(|name| centers.get(name).copied());
            self.custom_field(
                &format!("{at}.custom_fields[{j}]"),
                account,
                j,
                field,
                center,
            )
            .await?;
        }
        Ok(())
    }

    async fn install_token(
        &mut self,
        at: &str,
        account: AccountId,
        user_id: i64,
        token: &str,
    ) -> Result<(), StoreError> {
        let digest = tokens::digest(token);
        let existing: Option<(i64, i64, Option<i64>)> = self
            .conn
            .fetch_optional(query!(
                "SELECT account_id, user_id, revoked_at FROM api_tokens WHERE digest = $1",
                digest.as_str()
            ))
            .await?;
        match existing {
            None => {
                self.conn
                    .execute(query!(
                        "INSERT INTO api_tokens (account_id, user_id, digest, prefix, created_at)
                         VALUES ($1, $2, $3, $4, $5)",
                        account.0,
                        user_id,
                        digest,
                        tokens::display_prefix(token),
                        self.now
                    ))
                    .await?;
                self.report.created += 1;
            }
            Some((a, u, None)) if a == account.0 && u == user_id => self.report.unchanged += 1,
            Some((_, _, Some(_))) => {
                return Err(ValidationErrors::single(
                    at,
                    "was revoked; remove it from the manifest",
                )
                .into())
            }
            Some(_) => return Err(ValidationErrors::single(at, msg::TAKEN).into()),
        }
        Ok(())
    }

    async fn check_user_limit(&mut self, at: &str, account: AccountId) -> Result<(), StoreError> {
        crate::users::lock_account(self.conn, account).await?;
        let (max_users,): (Option<i64>,) = self
            .conn
            .fetch_one(query!(
                "SELECT max_users FROM accounts WHERE id = $1",
                account.0
            ))
            .await?;
        let (active,): (i64,) = self
            .conn
            .fetch_one(query!(
                "SELECT COUNT(*) FROM users WHERE account_id = $1 AND active = $2",
                account.0,
                true
            ))
            .await?;
        match max_users {
            Some(max) if active > max => Err(ValidationErrors::single(
                format!("{at}.users"),
                format!("exceed the plan's limit of {max} users ({active} active)"),
            )
            .into()),
            _ => Ok(()),
        }
    }

    async fn call_center(
        &mut self,
        account: AccountId,
        position: usize,
        spec: &CallCenterSpec,
    ) -> Result<i64, StoreError> {
        let a: Arg = account.0.into();
        let center = self
            .upsert(
                "call_centers",
                Stamps::Yes,
                &[
                    ("account_id", a.clone()),
                    ("name", spec.name.as_str().into()),
                ],
                &[
                    ("state", spec.state.clone().into()),
                    ("enabled", spec.enabled.into()),
                    ("facility_required", spec.facility_required.into()),
                    ("facilities", to_json(&spec.facilities).into()),
                    ("relay_enabled", spec.relay.enabled.into()),
                    ("relay", to_json(&spec.relay).into()),
                    ("position", (position as i64).into()),
                ],
            )
            .await?;
        let c: Arg = center.into();
        for (k, area) in spec.service_areas.iter().enumerate() {
            let assignee = match &area.assignee {
                Some(email) => self
                    .conn
                    .fetch_optional::<(i64,)>(query!(
                        "SELECT id FROM users WHERE account_id = $1 AND email = $2",
                        account.0,
                        email.to_lowercase()
                    ))
                    .await?
                    .map(|(id,)| id),
                None => None,
            };
            self.upsert(
                "service_areas",
                Stamps::No,
                &[
                    ("account_id", a.clone()),
                    ("call_center_id", c.clone()),
                    ("code", area.code.as_str().into()),
                ],
                &[
                    ("name", area.name.clone().into()),
                    ("facilities", area.facilities.as_ref().map(to_json).into()),
                    ("assignee_id", assignee.into()),
                    ("position", (k as i64).into()),
                ],
            )
            .await?;
        }
        for (k, code) in spec.response_codes.iter().enumerate() {
            self.upsert(
                "response_codes",
                Stamps::No,
                &[
                    ("account_id", a.clone()),
                    ("call_center_id", c.clone()),
                    ("code", code.code.as_str().into()),
                ],
                &[
                    ("description", code.description.as_str().into()),
                    (
                        "ticket_types",
                        code.ticket_types.as_ref().map(to_json).into(),
                    ),
                    ("completes", code.completes.into()),
                    ("position", (k as i64).into()),
                ],
            )
            .await?;
        }
        Ok(center)
    }

    async fn custom_field(
        &mut self,
        at: &str,
        account: AccountId,
        index: usize,
        spec: &CustomFieldSpec,
        call_center: Option<i64>,
    ) -> Result<(), StoreError> {
        // Changing the type of a field would make its stored values mean
        // something else; refuse while any ticket holds one.
        let existing: Option<(i64, i64)> = self
            .conn
            .fetch_optional(query!(
                "SELECT id, type_id FROM custom_fields WHERE account_id = $1 AND name = $2",
                account.0,
                spec.name.as_str()
            ))
            .await?;
        if let Some((id, type_id)) = existing.filter(|(_, t)| *t != spec.type_id) {
            let (values,): (i64,) = self
                .conn
                .fetch_one(query!(
                    "SELECT COUNT(*) FROM ticket_field_values WHERE account_id = $1 AND custom_field_id = $2",
                    account.0,
                    id
                ))
                .await?;
            if values > 0 {
                return Err(ValidationErrors::single(
                    format!("{at}.type_id"),
                    format!("cannot change from {type_id} while {values} tickets hold a value"),
                )
                .into());
            }
        }
        let a: Arg = account.0.into();
        let field = self
            .upsert(
                "custom_fields",
                Stamps::No,
                &[
                    ("account_id", a.clone()),
                    ("name", spec.name.as_str().into()),
                ],
                &[
                    ("type_id", spec.type_id.into()),
                    ("required", spec.required.into()),
                    ("call_center_id", call_center.into()),
                    ("position", spec.position.unwrap_or(index as i64).into()),
                ],
            )
            .await?;
        let mut pending: Vec<(i64, &[OptionSpec])> = vec![(0, &spec.options)];
        while let Some((parent, options)) = pending.pop() {
            for (k, option) in options.iter().enumerate() {
                let id = self
                    .upsert(
                        "custom_field_options",
                        Stamps::No,
                        &[
                            ("account_id", a.clone()),
                            ("custom_field_id", field.into()),
                            ("parent_id", parent.into()),
                            ("name", option.name.as_str().into()),
                        ],
                        &[("position", (k as i64).into())],
                    )
                    .await?;
                pending.push((id, &option.options));
            }
        }
        Ok(())
    }

    /// Finds the row of `table` with the given key; inserts it when absent,
    /// updates it when one of `values` differs. Returns its id.
    async fn upsert(
        &mut self,
        table: &'static str,
        stamps: Stamps,
        key: &[(&'static str, Arg)],
        values: &[(&'static str, Arg)],
    ) -> Result<i64, StoreError> {
        let mut find = Query::new(format!("SELECT id FROM {table} WHERE "));
        let conditions: Vec<String> = key
            .iter()
            .map(|(column, value)| format!("{column} = {}", find.arg(value.clone())))
            .collect();
        find.push(&conditions.join(" AND "));
        let existing: Option<(i64,)> = self.conn.fetch_optional(find).await?;

        let Some((id,)) = existing else {
            let mut insert = Query::new(format!("INSERT INTO {table} ("));
            let mut columns: Vec<&str> = key.iter().chain(values).map(|(c, _)| *c).collect();
            let mut placeholders: Vec<String> = key
                .iter()
                .chain(values)
                .map(|(_, v)| insert.arg(v.clone()))
                .collect();
            if stamps == Stamps::Yes {
                columns.extend(["created_at", "updated_at"]);
                placeholders.push(insert.arg(self.now));
                placeholders.push(insert.arg(self.now));
            }
            insert.push(&format!(
                "{}) VALUES ({}) RETURNING id",
                columns.join(", "),
                placeholders.join(", ")
            ));
            let (id,): (i64,) = self.conn.fetch_one(insert).await?;
            self.report.created += 1;
            return Ok(id);
        };

        // Update only when some value differs; `(c = $n OR (c IS NULL AND
        // $n IS NULL))` is null-safe equality in the SQL both engines share.
        let mut update = Query::new(format!("UPDATE {table} SET "));
        let mut sets = Vec::new();
        let mut same = Vec::new();
        for (column, value) in values {
            let p = update.arg(value.clone());
            sets.push(format!("{column} = {p}"));
            same.push(format!(
                "({column} = {p} OR ({column} IS NULL AND {p} IS NULL))"
            ));
        }
        if stamps == Stamps::Yes {
            sets.push(format!("updated_at = {}", update.arg(self.now)));
        }
        let id_p = update.arg(id);
        update.push(&format!(
            "{} WHERE id = {id_p} AND NOT ({})",
            sets.join(", "),
            same.join(" AND ")
        ));
        if self.conn.execute(update).await? > 0 {
            self.report.updated += 1;
        } else {
            self.report.unchanged += 1;
        }
        Ok(id)
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Serializing plain lists and maps of strings cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}
