//! Bulk intake: a batch of tickets in one transaction and a handful of
//! statements, whatever its size.
//!
//! A bulk import spends its time in round trips to the database, not in the
//! database's work: taking tickets in one by one costs five or more
//! statements each. Here the numbers new to the account (the usual case of
//! an import) are inserted with multi-row statements; anything else (a
//! number already known, the same number twice in the batch, a number a
//! concurrent intake took meanwhile) goes through the one-ticket path
//! afterwards, in batch order, so every outcome is the one `intake_ticket`
//! would have given.

use std::collections::{BTreeMap, HashMap, HashSet};

use integrity_domain::errors::ValidationErrors;
use integrity_domain::ticket::{TicketIntake, TicketStatus};
use integrity_domain::time::{now_millis, Millis};

use super::{intake_with_retries, IntakeOutcome, PreparedIntake, SourceDescription};
use crate::conn::{query, Arg, Conn, Query};
use crate::{AccountId, StoreError};

/// Rows per multi-row statement: well inside both backends' limits on
/// bound parameters (SQLite 32,766, PostgreSQL 65,535) at eleven per row.
const ROWS_PER_STATEMENT: usize = 100;

type Outcomes = Vec<Result<IntakeOutcome, ValidationErrors>>;

pub(super) async fn intake_batch(
    tx: &mut Conn,
    account: AccountId,
    items: &[PreparedIntake],
) -> Result<Outcomes, StoreError> {
    let centers: HashSet<i64> = tx
        .fetch_all::<(i64,)>(query!(
            "SELECT id FROM call_centers WHERE account_id = $1",
            account.0
        ))
        .await?
        .into_iter()
        .map(|(id,)| id)
        .collect();
    let mut outcomes: Vec<Option<Result<IntakeOutcome, ValidationErrors>>> =
        vec![None; items.len()];
    for (index, item) in items.iter().enumerate() {
        if !centers.contains(&item.intake.call_center_id) {
            outcomes[index] = Some(Err(ValidationErrors::single("call_center", "must exist")));
        }
    }

    let known = known_numbers(tx, account, items, &outcomes).await?;
    let mut seen = HashSet::new();
    let fresh: Vec<usize> = (0..items.len())
        .filter(|&i| outcomes[i].is_none())
        .filter(|&i| {
            let key = number_key(&items[i].intake);
            !known.contains(&key) && seen.insert(key)
        })
        .collect();
    let inserted = insert_new_tickets(tx, account, items, &fresh).await?;
    for &index in &fresh {
        if inserted.contains_key(&number_key(&items[index].intake)) {
            outcomes[index] = Some(Ok(IntakeOutcome::Created));
        }
    }

    // Known numbers, repeats within the batch and lost races, in order.
    for (index, item) in items.iter().enumerate() {
        if outcomes[index].is_some() {
            continue;
        }
        let (outcome, _) = intake_with_retries(tx, account, &item.item(), None).await?;
        outcomes[index] = Some(Ok(outcome));
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.expect("every item has an outcome"))
        .collect())
}

fn number_key(intake: &TicketIntake) -> (i64, &str) {
    (intake.call_center_id, intake.content.ticket_number.as_str())
}

/// Which of the batch's numbers the account already has.
async fn known_numbers<'a>(
    tx: &mut Conn,
    account: AccountId,
    items: &'a [PreparedIntake],
    outcomes: &[Option<Result<IntakeOutcome, ValidationErrors>>],
) -> Result<HashSet<(i64, &'a str)>, StoreError> {
    let mut by_center: BTreeMap<i64, Vec<&'a str>> = BTreeMap::new();
    for (index, item) in items.iter().enumerate() {
        if outcomes[index].is_none() {
            let (center, number) = number_key(&item.intake);
            by_center.entry(center).or_default().push(number);
        }
    }
    let mut known = HashSet::new();
    for (center, numbers) in by_center {
        for chunk in numbers.chunks(ROWS_PER_STATEMENT) {
            let mut q = Query::new("SELECT ticket_number FROM tickets WHERE account_id = ");
            let a = q.arg(account.0);
            let c = q.arg(center);
            let list: Vec<String> = chunk.iter().map(|n| q.arg(*n)).collect();
            q.push(&format!(
                "{a} AND call_center_id = {c} AND ticket_number IN ({})",
                list.join(", ")
            ));
            let rows: Vec<(String,)> = tx.fetch_all(q).await?;
            let rows: HashSet<String> = rows.into_iter().map(|(n,)| n).collect();
            known.extend(
                chunk
                    .iter()
                    .filter(|n| rows.contains(**n))
                    .map(|n| (center, *n)),
            );
        }
    }
    Ok(known)
}

/// A ticket about to be inserted, with what its history will say.
struct NewTicket<'a> {
    prepared: &'a PreparedIntake,
    version: i64,
    status: TicketStatus,
    assignee: Option<(i64, String)>,
}

/// Inserts the batch's new tickets with their service areas, documents and
/// history; returns the ids of those inserted. A number missing from the
/// answer was taken by a concurrent intake (PostgreSQL) after we looked.
async fn insert_new_tickets<'a>(
    tx: &mut Conn,
    account: AccountId,
    items: &'a [PreparedIntake],
    fresh: &[usize],
) -> Result<HashMap<(i64, &'a str), i64>, StoreError> {
    if fresh.is_empty() {
        return Ok(HashMap::new());
    }
    let routes = routes(tx, account).await?;
    let now = now_millis();
    let tickets: Vec<NewTicket> = fresh
        .iter()
        .map(|&i| {
            let prepared = &items[i];
            let (intake, source) = (&prepared.intake, &prepared.source);
            let assignee = intake
                .content
                .service_area
                .as_ref()
                .and_then(|area| routes.get(&(intake.call_center_id, area.clone())))
                .cloned();
            let cancelled = source.as_ref().is_some_and(|s| s.cancelled);
            NewTicket {
                prepared,
                version: source.as_ref().and_then(|s| s.revision).unwrap_or(0).max(0),
                status: if cancelled {
                    TicketStatus::Cancelled
                } else {
                    TicketStatus::open_for(assignee.is_some())
                },
                assignee,
            }
        })
        .collect();

    let mut ids: HashMap<(i64, &'a str), i64> = HashMap::new();
    for chunk in tickets.chunks(ROWS_PER_STATEMENT) {
        let mut rows = Vec::with_capacity(chunk.len());
        for t in chunk {
            let p = t.prepared;
            rows.push(vec![
                account.0.into(),
                p.intake.call_center_id.into(),
                p.intake.content.ticket_number.as_str().into(),
                t.version.into(),
                t.status.as_str().into(),
                t.assignee.as_ref().map(|(id, _)| *id).into(),
                p.content.as_str().into(),
                p.search_text.as_str().into(),
                now.into(),
                now.into(),
                p.source.as_ref().and_then(|s| s.revision).into(),
            ]);
        }
        let mut q = Query::new(
            "INSERT INTO tickets (account_id, call_center_id, ticket_number, version_number,
                 status, assignee_id, content, search_text, created_at, updated_at,
                 source_revision) VALUES ",
        );
        push_rows(&mut q, rows);
        q.push(
            " ON CONFLICT (account_id, call_center_id, ticket_number) DO NOTHING
             RETURNING id, call_center_id, ticket_number",
        );
        let returned: Vec<(i64, i64, String)> = tx.fetch_all(q).await?;
        // RETURNING promises no order on either backend: match by number.
        let returned: HashMap<(i64, String), i64> = returned
            .into_iter()
            .map(|(id, center, number)| ((center, number), id))
            .collect();
        for t in chunk {
            let (center, number) = number_key(&t.prepared.intake);
            if let Some(id) = returned.get(&(center, number.to_string())) {
                ids.insert((center, number), *id);
            }
        }
    }
    let inserted: Vec<(i64, &NewTicket)> = tickets
        .iter()
        .filter_map(|t| ids.get(&number_key(&t.prepared.intake)).map(|id| (*id, t)))
        .collect();

    insert_service_areas(tx, account, &inserted).await?;
    let documents = insert_documents(tx, account, &inserted, now).await?;
    insert_history(tx, account, &inserted, &documents, now).await?;
    Ok(ids)
}

/// The account's routing: (call center, service area code) → the active
/// user its tickets go to.
async fn routes(
    tx: &mut Conn,
    account: AccountId,
) -> Result<HashMap<(i64, String), (i64, String)>, StoreError> {
    let rows: Vec<(i64, String, i64, String)> = tx
        .fetch_all(query!(
            "SELECT s.call_center_id, s.code, u.id, u.name FROM service_areas s
             JOIN users u ON u.account_id = s.account_id AND u.id = s.assignee_id
             WHERE s.account_id = $1 AND u.active = $2",
            account.0,
            true
        ))
        .await?;
    Ok(rows
        .into_iter()
        .map(|(center, code, id, name)| ((center, code), (id, name)))
        .collect())
}

async fn insert_service_areas(
    tx: &mut Conn,
    account: AccountId,
    inserted: &[(i64, &NewTicket<'_>)],
) -> Result<(), StoreError> {
    let rows: Vec<Vec<Arg>> = inserted
        .iter()
        .flat_map(|(id, t)| {
            t.prepared
                .intake
                .content
                .service_areas()
                .into_iter()
                .map(move |code| vec![account.0.into(), (*id).into(), code.into()])
        })
        .collect();
    insert_rows(
        tx,
        "INSERT INTO ticket_service_areas (account_id, ticket_id, code) VALUES ",
        rows,
    )
    .await
}

/// Keeps each ticket's source document and attachments; returns the ids of
/// each ticket's documents, source first.
async fn insert_documents(
    tx: &mut Conn,
    account: AccountId,
    inserted: &[(i64, &NewTicket<'_>)],
    now: Millis,
) -> Result<HashMap<i64, Vec<i64>>, StoreError> {
    let mut rows = Vec::new();
    for (id, t) in inserted {
        let Some(source) = &t.prepared.source else {
            continue;
        };
        for ((role, name, document), packed) in source.documents().zip(&t.prepared.documents) {
            rows.push(vec![
                account.0.into(),
                (*id).into(),
                t.version.into(),
                role.into(),
                source.format.as_str().into(),
                name.into(),
                document.content_type.as_str().into(),
                packed.sha256.as_str().into(),
                packed.encoding().into(),
                packed.bytes(document).into(),
                now.into(),
            ]);
        }
    }
    let mut ids: HashMap<i64, Vec<i64>> = HashMap::new();
    for chunk in chunked(rows) {
        let mut q = Query::new(
            "INSERT INTO ticket_documents (account_id, ticket_id, version_number, role, format,
                 name, content_type, sha256, encoding, body, received_at) VALUES ",
        );
        push_rows(&mut q, chunk);
        q.push(" RETURNING id, ticket_id");
        let returned: Vec<(i64, i64)> = tx.fetch_all(q).await?;
        for (document, ticket) in returned {
            ids.entry(ticket).or_default().push(document);
        }
    }
    // Ids grow in insertion order, and a ticket's source went in first.
    for documents in ids.values_mut() {
        documents.sort_unstable();
    }
    Ok(ids)
}

/// The `created` entry of each ticket, and `assignee_changed` where
/// routing assigned it: what the one-ticket path records.
async fn insert_history(
    tx: &mut Conn,
    account: AccountId,
    inserted: &[(i64, &NewTicket<'_>)],
    documents: &HashMap<i64, Vec<i64>>,
    now: Millis,
) -> Result<(), StoreError> {
    let mut rows = Vec::new();
    for (id, t) in inserted {
        let data = Created {
            version_number: t.version,
            source: t.prepared.source.as_ref().map(|s| s.describe(t.version)),
            documents: documents.get(id).map_or(&[], Vec::as_slice),
        };
        let data = serde_json::to_string(&data).map_err(crate::error::corrupt("history"))?;
        rows.push(history_row(account, *id, "created", data, now));
        if let Some((user, name)) = &t.assignee {
            let data = serde_json::json!({
                "before": null, "after": {"id": user, "name": name},
                "reason": "routing", "service_area": t.prepared.intake.content.service_area,
            });
            rows.push(history_row(
                account,
                *id,
                "assignee_changed",
                data.to_string(),
                now,
            ));
        }
    }
    insert_rows(
        tx,
        "INSERT INTO ticket_history (account_id, ticket_id, kind, actor_id, data, created_at) VALUES ",
        rows,
    )
    .await
}

/// What the `created` entry says, in the one-ticket path's key order.
#[derive(serde::Serialize)]
struct Created<'a> {
    version_number: i64,
    source: Option<SourceDescription<'a>>,
    documents: &'a [i64],
}

fn history_row(account: AccountId, ticket: i64, kind: &str, data: String, at: Millis) -> Vec<Arg> {
    vec![
        account.0.into(),
        ticket.into(),
        kind.into(),
        Arg::Int(None),
        data.into(),
        at.into(),
    ]
}

/// Runs `insert` (ending in `VALUES `) over the rows, a chunk at a time.
async fn insert_rows(tx: &mut Conn, insert: &str, rows: Vec<Vec<Arg>>) -> Result<(), StoreError> {
    for chunk in chunked(rows) {
        let mut q = Query::new(insert);
        push_rows(&mut q, chunk);
        tx.execute(q).await?;
    }
    Ok(())
}

fn chunked(rows: Vec<Vec<Arg>>) -> Vec<Vec<Vec<Arg>>> {
    let mut chunks = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        chunks.push(rows.by_ref().take(ROWS_PER_STATEMENT).collect());
    }
    chunks
}

/// Appends `($1, $2, …), (…)`, one group per row.
pub(super) fn push_rows(q: &mut Query, rows: Vec<Vec<Arg>>) {
    let groups: Vec<String> = rows
        .into_iter()
        .map(|row| {
            let placeholders: Vec<String> = row.into_iter().map(|arg| q.arg(arg)).collect();
            format!("({})", placeholders.join(", "))
        })
        .collect();
    q.push(&groups.join(", "));
}
