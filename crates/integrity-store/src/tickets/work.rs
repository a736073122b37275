//! Working a ticket: custom field values, assignment, close and reopen,
//! responses and auto-close. Each call is one transaction that first locks
//! the ticket's row, so concurrent writers to one ticket take turns and
//! every decision (a required field, auto-close) sees the latest state.

use std::collections::HashMap;

use integrity_domain::custom_field::FieldType;
use integrity_domain::errors::{msg, ValidationErrors};
use integrity_domain::field_value::{parse_field_value, FieldDefinition};
use integrity_domain::relay::{PositiveResponse, RelaySettings};
use integrity_domain::response::{CodeRule, GivenResponse, ResponseInput, ResponseRules};
use integrity_domain::ticket::{
    NamedRef, Ticket, TicketContent, TicketPatch, TicketResponse, TicketStatus,
};
use integrity_domain::time::{now_millis, Millis};
use serde_json::{json, Value};

use super::{load, record};
use crate::catalog::custom_fields;
use crate::conn::{query, row, Conn};
use crate::error::{corrupt, optional_json};
use crate::relay;
use crate::{AccountId, Store, StoreError};

/// A state change asked for together with a patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    None,
    Close,
    Reopen,
}

/// The ticket's row, locked for the rest of the transaction.
struct Locked {
    id: i64,
    call_center_id: i64,
    status: TicketStatus,
    assignee_id: Option<i64>,
    content: TicketContent,
}

row! {
    struct LockedRow {
        id: i64,
        call_center_id: i64,
        status: String,
        assignee_id: Option<i64>,
        content: String,
    }
}

/// Locks a ticket's row by a no-op update. On PostgreSQL the row lock makes
/// concurrent writers of the same ticket wait for each other (`SELECT … FOR
/// UPDATE` is not SQLite); on SQLite the write transaction already holds the
/// database's write lock.
async fn lock_ticket(
    tx: &mut Conn,
    account: AccountId,
    call_center_id: i64,
    number: &str,
) -> Result<Locked, StoreError> {
    let row: Option<LockedRow> = tx
        .fetch_optional(query!(
            "UPDATE tickets SET version_number = version_number
             WHERE account_id = $1 AND call_center_id = $2 AND ticket_number = $3
             RETURNING id, call_center_id, status, assignee_id, content",
            account.0,
            call_center_id,
            number
        ))
        .await?;
    let row = row.ok_or(StoreError::NotFound)?;
    Ok(Locked {
        id: row.id,
        call_center_id: row.call_center_id,
        status: TicketStatus::parse(&row.status).ok_or(StoreError::Corrupt {
            what: "ticket status",
            detail: row.status,
        })?,
        assignee_id: row.assignee_id,
        content: serde_json::from_str(&row.content).map_err(corrupt("ticket content"))?,
    })
}

impl Store {
    /// Whether the account has this ticket; lets the API answer 404 before
    /// it looks at permissions or the body.
    pub async fn ticket_exists(
        &self,
        account: AccountId,
        call_center_id: i64,
        number: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.read().await?;
        Ok(super::ticket_id(&mut conn, account, call_center_id, number)
            .await?
            .is_some())
    }

    /// Applies a patch and a transition in one transaction: all of it or,
    /// on any error, none of it.
    pub async fn update_ticket(
        &self,
        account: AccountId,
        call_center_id: i64,
        number: &str,
        patch: &TicketPatch,
        transition: Transition,
        actor: i64,
    ) -> Result<Ticket, StoreError> {
        let mut tx = self.write().await?;
        let ticket = lock_ticket(&mut tx, account, call_center_id, number).await?;
        let now = now_millis();
        let mut errors = ValidationErrors::new();

        let fields = custom_fields(&mut tx, account, Some(ticket.call_center_id)).await?;
        let mut values = field_values(&mut tx, account, ticket.id).await?;
        let mut value_changes = Vec::new();
        for (key, raw) in &patch.custom_fields {
            let error_key = format!("custom_fields[{key}]");
            let Some(field) = key
                .trim()
                .parse::<i64>()
                .ok()
                .and_then(|id| fields.iter().find(|f| f.id == id))
            else {
                errors.add(error_key, msg::INVALID);
                continue;
            };
            let Some(field_type) = FieldType::from_id(field.type_id) else {
                errors.add(error_key, msg::INVALID);
                continue;
            };
            let definition = FieldDefinition {
                field_type,
                options: field.options.as_deref().unwrap_or(&[]),
            };
            match parse_field_value(&definition, raw) {
                Ok(after) => {
                    let before = values.get(&field.id).cloned();
                    if before != after {
                        value_changes.push((field.id, field.name.clone(), before, after.clone()));
                        match after {
                            Some(v) => values.insert(field.id, v),
                            None => values.remove(&field.id),
                        };
                    }
                }
                Err(message) => errors.add(error_key, message),
            }
        }

        let mut assignee = ticket.assignee_id;
        if let Some(requested) = patch.assignee_id {
            match requested {
                None => assignee = None,
                Some(user) => match active_user(&mut tx, account, user).await? {
                    Some(found) => assignee = Some(found.id),
                    None => errors.add("assignee_id", msg::INVALID),
                },
            }
        }

        let open = matches!(
            ticket.status,
            TicketStatus::Unassigned | TicketStatus::Assigned
        );
        let mut status = if open {
            TicketStatus::open_for(assignee.is_some())
        } else {
            ticket.status
        };
        let mut closed_at_change: Option<Option<Millis>> = None;
        match transition {
            Transition::None => {}
            Transition::Close => {
                match ticket.status {
                    TicketStatus::Closed => errors.add("status", "is already closed"),
                    TicketStatus::Cancelled => errors.add("status", "is cancelled"),
                    _ => {}
                }
                for field in fields.iter().filter(|f| f.required) {
                    if !values.contains_key(&field.id) {
                        errors.add(format!("custom_fields[{}]", field.id), msg::BLANK);
                    }
                }
                status = TicketStatus::Closed;
                closed_at_change = Some(Some(now));
            }
            Transition::Reopen => {
                if ticket.status != TicketStatus::Closed {
                    errors.add("status", "is not closed");
                }
                status = TicketStatus::open_for(assignee.is_some());
                closed_at_change = Some(None);
            }
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }

        for (field_id, name, before, after) in &value_changes {
            match after {
                Some(value) => {
                    tx.execute(query!(
                        "INSERT INTO ticket_field_values (account_id, ticket_id, custom_field_id, value)
                         VALUES ($1, $2, $3, $4)
                         ON CONFLICT (account_id, ticket_id, custom_field_id) DO UPDATE SET value = excluded.value",
                        account.0,
                        ticket.id,
                        *field_id,
                        value.to_string()
                    ))
                    .await?
                }
                None => {
                    tx.execute(query!(
                        "DELETE FROM ticket_field_values WHERE account_id = $1 AND ticket_id = $2 AND custom_field_id = $3",
                        account.0,
                        ticket.id,
                        *field_id
                    ))
                    .await?
                }
            };
            let data = json!({"custom_field": {"id": field_id, "name": name}, "before": before, "after": after});
            record(
                &mut tx,
                account,
                ticket.id,
                "custom_field_changed",
                Some(actor),
                data,
                now,
            )
            .await?;
        }
        if assignee != ticket.assignee_id {
            let before = user_ref(&mut tx, account, ticket.assignee_id).await?;
            let after = user_ref(&mut tx, account, assignee).await?;
            record(
                &mut tx,
                account,
                ticket.id,
                "assignee_changed",
                Some(actor),
                json!({"before": before, "after": after}),
                now,
            )
            .await?;
        }
        if status != ticket.status {
            let reason = match transition {
                Transition::Close => "closed",
                Transition::Reopen => "reopened",
                Transition::None => "assignment",
            };
            record_status(
                &mut tx,
                account,
                ticket.id,
                ticket.status,
                status,
                reason,
                Some(actor),
                now,
            )
            .await?;
        }
        let changed =
            !value_changes.is_empty() || assignee != ticket.assignee_id || status != ticket.status;
        if changed {
            let mut q = query!(
                "UPDATE tickets SET assignee_id = $1, status = $2, updated_at = $3",
                assignee,
                status.as_str(),
                now
            );
            if let Some(closed_at) = closed_at_change {
                let p = q.arg(closed_at);
                q.push(&format!(", closed_at = {p}"));
            }
            let a = q.arg(account.0);
            let i = q.arg(ticket.id);
            q.push(&format!(" WHERE account_id = {a} AND id = {i}"));
            tx.execute(q).await?;
        }
        let updated = load::ticket_by_id(&mut tx, account, ticket.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Creates the response of its (service area, facility) pair or updates
    /// the one there is, then closes the ticket if that completed it.
    pub async fn put_response(
        &self,
        account: AccountId,
        call_center_id: i64,
        number: &str,
        input: &ResponseInput,
        actor: i64,
    ) -> Result<TicketResponse, StoreError> {
        let mut tx = self.write().await?;
        let ticket = lock_ticket(&mut tx, account, call_center_id, number).await?;
        let (rules, relay) = response_rules(&mut tx, account, &ticket).await?;
        rules.validate(input)?;
        let outbox = Outbox::of(relay, &ticket, &rules)?;
        let now = now_millis();
        let id = write_response(
            &mut tx,
            account,
            ticket.id,
            input,
            actor,
            outbox.as_ref(),
            now,
        )
        .await?;
        let responses = load_responses(&mut tx, account, ticket.id).await?;
        settle(&mut tx, account, &ticket, &rules, &responses, now).await?;
        let response = responses
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(response)
    }

    /// Makes the ticket's responses exactly `inputs`: pairs not listed are
    /// removed. One bad entry and nothing changes.
    pub async fn replace_responses(
        &self,
        account: AccountId,
        call_center_id: i64,
        number: &str,
        inputs: &[ResponseInput],
        actor: i64,
    ) -> Result<Vec<TicketResponse>, StoreError> {
        let mut tx = self.write().await?;
        let ticket = lock_ticket(&mut tx, account, call_center_id, number).await?;
        let (rules, relay) = response_rules(&mut tx, account, &ticket).await?;
        let mut errors = ValidationErrors::new();
        let mut pairs = Vec::new();
        for input in inputs {
            if let Err(e) = rules.validate(input) {
                errors.merge(e);
            }
            let pair = (input.service_area.as_str(), input.facility.as_deref());
            if pairs.contains(&pair) {
                errors.add("service_area", msg::TAKEN);
            }
            pairs.push(pair);
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let outbox = Outbox::of(relay, &ticket, &rules)?;
        let now = now_millis();
        let mut removed = false;
        for existing in load_responses(&mut tx, account, ticket.id).await? {
            let pair = (existing.service_area.as_str(), existing.facility.as_deref());
            if !pairs.contains(&pair) {
                tx.execute(query!(
                    "DELETE FROM ticket_responses WHERE account_id = $1 AND id = $2",
                    account.0,
                    existing.id
                ))
                .await?;
                let data = json!({
                    "service_area": existing.service_area, "facility": existing.facility,
                    "before": {"code": existing.code, "comment": existing.comment}, "after": null,
                });
                record(
                    &mut tx,
                    account,
                    ticket.id,
                    "response_removed",
                    Some(actor),
                    data,
                    now,
                )
                .await?;
                relay::cancel_unsent(&mut tx, account, existing.id, now).await?;
                removed = true;
            }
        }
        if removed {
            touch(&mut tx, account, ticket.id, now).await?;
        }
        for input in inputs {
            write_response(
                &mut tx,
                account,
                ticket.id,
                input,
                actor,
                outbox.as_ref(),
                now,
            )
            .await?;
        }
        let responses = load_responses(&mut tx, account, ticket.id).await?;
        settle(&mut tx, account, &ticket, &rules, &responses, now).await?;
        tx.commit().await?;
        Ok(responses)
    }
}

row! {
    struct ExistingResponse {
        id: i64,
        code: String,
        comment: String,
    }
}

/// Where a ticket's changed responses go when its call center's relay is on.
struct Outbox {
    settings: RelaySettings,
    call_center_id: i64,
    ticket_number: String,
    /// Facilities a response without one stands for, by service area.
    facilities: HashMap<String, Vec<String>>,
}

impl Outbox {
    /// From the center's relay settings, `None` when its relay is off.
    fn of(
        relay: Option<String>,
        ticket: &Locked,
        rules: &ResponseRules,
    ) -> Result<Option<Outbox>, StoreError> {
        let Some(relay) = relay else {
            return Ok(None);
        };
        let facilities = rules
            .areas
            .iter()
            .map(|(area, own)| {
                (
                    area.clone(),
                    own.clone().unwrap_or_else(|| rules.facilities.clone()),
                )
            })
            .collect();
        Ok(Some(Outbox {
            settings: serde_json::from_str(&relay).map_err(corrupt("relay settings"))?,
            call_center_id: ticket.call_center_id,
            ticket_number: ticket.content.ticket_number.clone(),
            facilities,
        }))
    }

    fn payload(&self, input: &ResponseInput) -> PositiveResponse {
        PositiveResponse {
            ticket_number: self.ticket_number.clone(),
            member_code: input.service_area.clone(),
            facility_list: match &input.facility {
                Some(facility) => vec![facility.clone()],
                None => self
                    .facilities
                    .get(&input.service_area)
                    .cloned()
                    .unwrap_or_default(),
            },
            action: self.settings.action_for(&input.code),
            comment: Some(input.comment.clone()).filter(|c| !c.is_empty()),
            session: String::new(),
        }
    }
}

/// Inserts or updates one response (recording it, touching the ticket and
/// queueing its delivery when something changed); returns its id.
async fn write_response(
    tx: &mut Conn,
    account: AccountId,
    ticket: i64,
    input: &ResponseInput,
    actor: i64,
    outbox: Option<&Outbox>,
    now: Millis,
) -> Result<i64, StoreError> {
    let facility = input.facility.clone().unwrap_or_default();
    let existing: Option<ExistingResponse> = tx
        .fetch_optional(query!(
            "SELECT id, code, comment FROM ticket_responses
             WHERE account_id = $1 AND ticket_id = $2 AND service_area = $3 AND facility = $4",
            account.0,
            ticket,
            input.service_area.as_str(),
            facility.as_str()
        ))
        .await?;
    let after = json!({"code": input.code, "comment": input.comment});
    let (id, kind, before) = match existing {
        Some(e) if e.code == input.code && e.comment == input.comment => return Ok(e.id),
        Some(e) => {
            // A changed response is pending again until the call center
            // acknowledges the new one.
            tx.execute(query!(
                "UPDATE ticket_responses SET code = $1, comment = $2, respondent_id = $3, updated_at = $4,
                     status = 'pending', responded_at = NULL
                 WHERE account_id = $5 AND id = $6",
                input.code.as_str(),
                input.comment.as_str(),
                actor,
                now,
                account.0,
                e.id
            ))
            .await?;
            (
                e.id,
                "response_updated",
                json!({"code": e.code, "comment": e.comment}),
            )
        }
        None => {
            let (id,): (i64,) = tx
                .fetch_one(query!(
                    "INSERT INTO ticket_responses (account_id, ticket_id, service_area, facility, code, comment,
                         status, respondent_id, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $8)
                     RETURNING id",
                    account.0,
                    ticket,
                    input.service_area.as_str(),
                    facility.as_str(),
                    input.code.as_str(),
                    input.comment.as_str(),
                    actor,
                    now
                ))
                .await?;
            (id, "response_created", Value::Null)
        }
    };
    let data = json!({
        "service_area": input.service_area, "facility": input.facility, "before": before, "after": after,
    });
    record(tx, account, ticket, kind, Some(actor), data, now).await?;
    touch(tx, account, ticket, now).await?;
    if let Some(outbox) = outbox {
        relay::enqueue(
            tx,
            account,
            ticket,
            outbox.call_center_id,
            id,
            &outbox.payload(input),
            now,
        )
        .await?;
    }
    Ok(id)
}

/// Closes an open ticket whose responses, as they now are, complete it
/// (contract decisions 4 and 5), inside the transaction that wrote them.
async fn settle(
    tx: &mut Conn,
    account: AccountId,
    ticket: &Locked,
    rules: &ResponseRules,
    responses: &[TicketResponse],
    now: Millis,
) -> Result<(), StoreError> {
    if !matches!(
        ticket.status,
        TicketStatus::Unassigned | TicketStatus::Assigned
    ) {
        return Ok(());
    }
    let given: Vec<GivenResponse> = responses
        .iter()
        .map(|r| GivenResponse {
            service_area: r.service_area.clone(),
            facility: r.facility.clone(),
            code: r.code.clone(),
        })
        .collect();
    if !rules.completed_by(&given) {
        return Ok(());
    }
    tx.execute(query!(
        "UPDATE tickets SET status = $1, closed_at = $2, updated_at = $2 WHERE account_id = $3 AND id = $4",
        TicketStatus::Closed.as_str(),
        now,
        account.0,
        ticket.id
    ))
    .await?;
    record_status(
        tx,
        account,
        ticket.id,
        ticket.status,
        TicketStatus::Closed,
        "auto_closed",
        None,
        now,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn record_status(
    tx: &mut Conn,
    account: AccountId,
    ticket: i64,
    before: TicketStatus,
    after: TicketStatus,
    reason: &str,
    actor: Option<i64>,
    now: Millis,
) -> Result<(), StoreError> {
    let data = json!({"before": before.as_str(), "after": after.as_str(), "reason": reason});
    record(tx, account, ticket, "status_changed", actor, data, now).await
}

async fn touch(
    tx: &mut Conn,
    account: AccountId,
    ticket: i64,
    now: Millis,
) -> Result<(), StoreError> {
    tx.execute(query!(
        "UPDATE tickets SET updated_at = $1 WHERE account_id = $2 AND id = $3",
        now,
        account.0,
        ticket
    ))
    .await?;
    Ok(())
}

async fn load_responses(
    tx: &mut Conn,
    account: AccountId,
    ticket: i64,
) -> Result<Vec<TicketResponse>, StoreError> {
    Ok(load::responses_of(tx, account, &[ticket])
        .await?
        .remove(&ticket)
        .unwrap_or_default())
}

async fn field_values(
    tx: &mut Conn,
    account: AccountId,
    ticket: i64,
) -> Result<HashMap<i64, Value>, StoreError> {
    let rows: Vec<(i64, String)> = tx
        .fetch_all(query!(
            "SELECT custom_field_id, value FROM ticket_field_values WHERE account_id = $1 AND ticket_id = $2",
            account.0,
            ticket
        ))
        .await?;
    rows.into_iter()
        .map(|(id, value)| {
            Ok((
                id,
                serde_json::from_str(&value).map_err(corrupt("custom field value"))?,
            ))
        })
        .collect()
}

async fn active_user(
    tx: &mut Conn,
    account: AccountId,
    user: i64,
) -> Result<Option<NamedRef>, StoreError> {
    let row: Option<(i64, String)> = tx
        .fetch_optional(query!(
            "SELECT id, name FROM users WHERE account_id = $1 AND id = $2 AND active = $3",
            account.0,
            user,
            true
        ))
        .await?;
    Ok(row.map(|(id, name)| NamedRef { id, name }))
}

async fn user_ref(
    tx: &mut Conn,
    account: AccountId,
    user: Option<i64>,
) -> Result<Value, StoreError> {
    let Some(user) = user else {
        return Ok(Value::Null);
    };
    let row: Option<(i64, String)> = tx
        .fetch_optional(query!(
            "SELECT id, name FROM users WHERE account_id = $1 AND id = $2",
            account.0,
            user
        ))
        .await?;
    Ok(row.map_or(Value::Null, |(id, name)| json!({"id": id, "name": name})))
}

row! {
    /// One row of a call center's response configuration: the center itself
    /// (`part` 0), one of its service areas (1) or one of its response codes
    /// (2). Columns a part has no use for are null or false.
    struct RuleRow {
        part: i64,
        code: Option<String>,
        facilities: Option<String>,
        ticket_types: Option<String>,
        flag: bool,
        relay: Option<String>,
    }
}

/// The rules for a ticket's responses, from its call center's configuration,
/// and the center's relay settings when its relay is on.
///
/// One statement of three parts rather than one per table: on SQLite each
/// statement is a round trip to the driver's thread, made while the
/// database's write lock is held, so it bounds the rate of every write
/// (docs/performance.md).
async fn response_rules(
    tx: &mut Conn,
    account: AccountId,
    ticket: &Locked,
) -> Result<(ResponseRules, Option<String>), StoreError> {
    let rows: Vec<RuleRow> = tx
        .fetch_all(query!(
            // BIGINT: PostgreSQL would type a bare 0 as a 4-byte integer.
            "SELECT CAST(0 AS BIGINT) AS part, NULL AS code, facilities, NULL AS ticket_types,
                    facility_required AS flag,
                    CASE WHEN relay_enabled THEN relay END AS relay, 0 AS position, id
             FROM call_centers WHERE account_id = $1 AND id = $2
             UNION ALL
             SELECT 1, code, facilities, NULL, FALSE, NULL, 0, id
             FROM service_areas WHERE account_id = $1 AND call_center_id = $2
             UNION ALL
             SELECT 2, code, NULL, ticket_types, completes, NULL, position, id
             FROM response_codes WHERE account_id = $1 AND call_center_id = $2
             ORDER BY part, position, id",
            account.0,
            ticket.call_center_id
        ))
        .await?;
    let mut rows = rows.into_iter().peekable();
    let center = rows.next_if(|r| r.part == 0).ok_or(StoreError::NotFound)?;
    let facilities = center.facilities.unwrap_or_default();
    let mut held = Vec::new();
    let mut codes = Vec::new();
    for row in rows {
        let code = row.code.unwrap_or_default();
        if row.part == 1 {
            held.push((code, row.facilities));
        } else {
            codes.push(CodeRule {
                ticket_types: optional_json(
                    row.ticket_types.as_deref(),
                    "response code ticket types",
                )?,
                code,
                completes: row.flag,
            });
        }
    }
    let mut areas = Vec::new();
    for code in ticket.content.service_areas() {
        if let Some((area, own)) = held.iter().find(|(area, _)| *area == code) {
            let own = optional_json(own.as_deref(), "service area facilities")?;
            areas.push((area.clone(), own));
        }
    }
    let rules = ResponseRules {
        areas,
        facility_required: center.flag,
        facilities: serde_json::from_str(&facilities).map_err(corrupt("call center facilities"))?,
        codes,
        ticket_type: ticket.content.ticket_type.clone(),
    };
    Ok((rules, center.relay))
}
