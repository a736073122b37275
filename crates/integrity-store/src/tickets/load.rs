//! Reading tickets with everything the API shows: call center, assignee,
//! custom field values and responses, in a fixed number of queries however
//! many tickets are read.

use std::collections::HashMap;

use integrity_domain::ticket::{
    summarize_response_status, NamedRef, ResponseStatus, Ticket, TicketContent, TicketFieldValue,
    TicketResponse, TicketStatus,
};

use crate::conn::{query, row, Conn, Query};
use crate::error::corrupt;
use crate::{AccountId, StoreError};

pub(crate) const TICKET_SELECT: &str = "SELECT t.id, t.call_center_id, c.name AS call_center_name,
        c.relay_enabled, t.version_number, t.status, t.assignee_id, u.name AS assignee_name,
        t.content, t.created_at, t.updated_at, t.closed_at
    FROM tickets t
    JOIN call_centers c ON c.account_id = t.account_id AND c.id = t.call_center_id
    LEFT JOIN users u ON u.account_id = t.account_id AND u.id = t.assignee_id";

row! {
    pub(crate) struct TicketRow {
        pub id: i64,
        call_center_id: i64,
        call_center_name: String,
        relay_enabled: bool,
        version_number: i64,
        status: String,
        assignee_id: Option<i64>,
        assignee_name: Option<String>,
        content: String,
        created_at: i64,
        pub updated_at: i64,
        closed_at: Option<i64>,
    }
}

row! {
    /// A custom field of the account with one of its values among the tickets
    /// read, or with none (`ticket_id` null).
    struct FieldValueRow {
        id: i64,
        type_id: i64,
        name: String,
        call_center_id: Option<i64>,
        ticket_id: Option<i64>,
        value: Option<String>,
    }
}

/// What a ticket shows of a custom field.
struct FieldHead {
    id: i64,
    type_id: i64,
    name: String,
    call_center_id: Option<i64>,
}

row! {
    struct ResponseRow {
        id: i64,
        ticket_id: i64,
        service_area: String,
        facility: String,
        code: String,
        comment: String,
        status: String,
        created_at: i64,
        updated_at: i64,
        responded_at: Option<i64>,
        respondent_id: Option<i64>,
        respondent_name: Option<String>,
    }
}

pub(crate) async fn ticket_by_number(
    conn: &mut Conn,
    account: AccountId,
    call_center_id: i64,
    number: &str,
) -> Result<Option<Ticket>, StoreError> {
    let q = query!(
        format!("{TICKET_SELECT} WHERE t.account_id = $1 AND t.call_center_id = $2 AND t.ticket_number = $3"),
        account.0,
        call_center_id,
        number
    );
    let rows: Vec<TicketRow> = conn.fetch_all(q).await?;
    Ok(assemble(conn, account, rows).await?.pop())
}

pub(crate) async fn ticket_by_id(
    conn: &mut Conn,
    account: AccountId,
    id: i64,
) -> Result<Option<Ticket>, StoreError> {
    let q = query!(
        format!("{TICKET_SELECT} WHERE t.account_id = $1 AND t.id = $2"),
        account.0,
        id
    );
    let rows: Vec<TicketRow> = conn.fetch_all(q).await?;
    Ok(assemble(conn, account, rows).await?.pop())
}

/// Completes ticket rows, keeping their order.
pub(crate) async fn assemble(
    conn: &mut Conn,
    account: AccountId,
    rows: Vec<TicketRow>,
) -> Result<Vec<Ticket>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let (fields, mut values_by_ticket) = fields_and_values(conn, account, &ids).await?;
    let mut responses_by_ticket = responses_of(conn, account, &ids).await?;
    rows.into_iter()
        .map(|row| {
            let content: TicketContent =
                serde_json::from_str(&row.content).map_err(corrupt("ticket content"))?;
            let responses = responses_by_ticket.remove(&row.id).unwrap_or_default();
            let custom_fields = fields
                .iter()
                .filter(|f| f.call_center_id.is_none_or(|c| c == row.call_center_id))
                .map(|f| TicketFieldValue {
                    id: f.id,
                    type_id: f.type_id,
                    name: f.name.clone(),
                    value: values_by_ticket
                        .remove(&(row.id, f.id))
                        .unwrap_or(serde_json::Value::Null),
                })
                .collect();
            Ok(Ticket {
                id: row.id,
                call_center: NamedRef {
                    id: row.call_center_id,
                    name: row.call_center_name,
                },
                version_number: row.version_number,
                status: TicketStatus::parse(&row.status).ok_or(StoreError::Corrupt {
                    what: "ticket status",
                    detail: row.status.clone(),
                })?,
                content,
                created_at: row.created_at,
                updated_at: row.updated_at,
                closed_at: row.closed_at,
                assignee: row
                    .assignee_id
                    .zip(row.assignee_name)
                    .map(|(id, name)| NamedRef { id, name }),
                custom_fields,
                response_status: summarize_response_status(
                    row.relay_enabled,
                    responses.iter().map(|r| r.status),
                ),
                responses,
            })
        })
        .collect()
}

/// The account's custom fields in `position` order, and their values among
/// these tickets by (ticket, field). One statement rather than one for the
/// fields and one for the values: a ticket read is a handful of statements,
/// and with SQLite each costs a hand-off to the driver's thread that
/// outweighs the work of the statement itself (docs/performance.md).
async fn fields_and_values(
    conn: &mut Conn,
    account: AccountId,
    ids: &[i64],
) -> Result<(Vec<FieldHead>, HashMap<(i64, i64), serde_json::Value>), StoreError> {
    // The tickets narrow the join, not the fields: a field without a value
    // among them still comes, once, with nulls.
    let q = in_tickets(
        "SELECT f.id, f.type_id, f.name, f.call_center_id, v.ticket_id, v.value
         FROM custom_fields f
         LEFT JOIN ticket_field_values v
           ON v.account_id = f.account_id AND v.custom_field_id = f.id",
        account,
        "v.ticket_id",
        ids,
        " WHERE f.account_id = $1 ORDER BY f.position, f.id",
    );
    let rows: Vec<FieldValueRow> = conn.fetch_all(q).await?;
    let mut fields: Vec<FieldHead> = Vec::new();
    let mut values = HashMap::new();
    for row in rows {
        if fields.last().is_none_or(|f| f.id != row.id) {
            fields.push(FieldHead {
                id: row.id,
                type_id: row.type_id,
                name: row.name,
                call_center_id: row.call_center_id,
            });
        }
        if let (Some(ticket), Some(value)) = (row.ticket_id, row.value) {
            let value = serde_json::from_str(&value).map_err(corrupt("custom field value"))?;
            values.insert((ticket, row.id), value);
        }
    }
    Ok((fields, values))
}

/// The responses of these tickets, by ticket, oldest first.
pub(crate) async fn responses_of(
    conn: &mut Conn,
    account: AccountId,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<TicketResponse>>, StoreError> {
    let rows: Vec<ResponseRow> = conn
        .fetch_all(in_tickets(
            "SELECT r.id, r.ticket_id, r.service_area, r.facility, r.code, r.comment, r.status,
                    r.created_at, r.updated_at, r.responded_at, r.respondent_id,
                    u.name AS respondent_name
             FROM ticket_responses r
             LEFT JOIN users u ON u.account_id = r.account_id AND u.id = r.respondent_id
             WHERE r.account_id = $1",
            account,
            "r.ticket_id",
            ids,
            " ORDER BY r.id",
        ))
        .await?;
    let mut by_ticket: HashMap<i64, Vec<TicketResponse>> = HashMap::new();
    for r in rows {
        let status = ResponseStatus::parse(&r.status).ok_or_else(|| StoreError::Corrupt {
            what: "response status",
            detail: r.status.clone(),
        })?;
        by_ticket
            .entry(r.ticket_id)
            .or_default()
            .push(TicketResponse {
                id: r.id,
                service_area: r.service_area,
                facility: Some(r.facility).filter(|f| !f.is_empty()),
                code: r.code,
                comment: r.comment,
                status,
                created_at: r.created_at,
                updated_at: r.updated_at,
                responded_at: r.responded_at,
                respondent: r
                    .respondent_id
                    .zip(r.respondent_name)
                    .map(|(id, name)| NamedRef { id, name }),
            });
    }
    Ok(by_ticket)
}

/// `sql AND column IN (…ids) tail`, where `$1` (in `sql` or `tail`) is the
/// account.
fn in_tickets(sql: &str, account: AccountId, column: &str, ids: &[i64], tail: &str) -> Query {
    let mut q = query!(sql, account.0);
    let placeholders: Vec<String> = ids.iter().map(|id| q.arg(*id)).collect();
    q.push(&format!(
        " AND {column} IN ({}){tail}",
        placeholders.join(", ")
    ));
    q
}
