//! The relay's outbox. Deliveries are written in the transaction that
//! changes a response; workers (in any number of server processes) claim
//! them with a lease, send them without holding a transaction, and record
//! the outcome.

use integrity_domain::relay::{PositiveResponse, RelaySettings};
use integrity_domain::ticket::ResponseStatus;
use integrity_domain::time::{now_millis, Millis};
use rand::RngCore;
use serde_json::json;

use crate::conn::{query, row, Conn};
use crate::error::corrupt;
use crate::tickets::record;
use crate::{AccountId, Store, StoreError};

pub const QUEUED: &str = "queued";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";
/// A delivery never attempted whose response was removed before it left.
pub const CANCELLED: &str = "cancelled";

/// A delivery claimed by a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub account: AccountId,
    pub response_id: i64,
    pub ticket_id: i64,
    pub call_center_id: i64,
    pub payload: PositiveResponse,
    /// Including the one under way.
    pub attempts: i64,
    pub created_at: Millis,
    pub settings: RelaySettings,
}

/// What became of an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    /// The center accepted it (201, 202, or 409 for a duplicate).
    Sent { messages: Vec<String> },
    /// The center refused it for good (400, 409, 422, …).
    Failed { messages: Vec<String> },
    /// Worth another try, not before `at`.
    Retry { error: String, at: Millis },
}

/// A delivery as the operator view lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryView {
    pub id: i64,
    pub response_id: i64,
    pub ticket_id: i64,
    pub call_center_id: i64,
    pub payload: serde_json::Value,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Millis,
    pub messages: Vec<String>,
    pub last_error: Option<String>,
    pub created_at: Millis,
    pub delivered_at: Option<Millis>,
}

/// Counts across all accounts, for operators and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelaySummary {
    pub queued: i64,
    pub in_flight: i64,
    pub sent: i64,
    pub failed: i64,
    pub oldest_queued_at: Option<Millis>,
}

fn new_session() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Queues the delivery of a response's current content. A delivery of the
/// same response that has not been attempted yet is brought up to date
/// instead, so a response changed twice before it left is sent once.
pub(crate) async fn enqueue(
    tx: &mut Conn,
    account: AccountId,
    ticket: i64,
    call_center: i64,
    response: i64,
    payload: &PositiveResponse,
    now: Millis,
) -> Result<(), StoreError> {
    let waiting: Option<(i64, String)> = tx
        .fetch_optional(query!(
            "SELECT id, session FROM relay_deliveries
             WHERE account_id = $1 AND response_id = $2 AND status = $3 AND attempts = 0 AND lease_until IS NULL
             ORDER BY id DESC LIMIT 1",
            account.0,
            response,
            QUEUED
        ))
        .await?;
    match waiting {
        Some((id, session)) => {
            let payload = PositiveResponse {
                session,
                ..payload.clone()
            };
            tx.execute(query!(
                "UPDATE relay_deliveries SET payload = $1, updated_at = $2 WHERE account_id = $3 AND id = $4",
                serde_json::to_string(&payload).map_err(corrupt("delivery payload"))?,
                now,
                account.0,
                id
            ))
            .await?;
        }
        None => {
            let payload = PositiveResponse {
                session: new_session(),
                ..payload.clone()
            };
            tx.execute(query!(
                "INSERT INTO relay_deliveries (account_id, response_id, ticket_id, call_center_id, payload, session,
                     status, attempts, next_attempt_at, messages, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, '[]', $8, $8)",
                account.0,
                response,
                ticket,
                call_center,
                serde_json::to_string(&payload).map_err(corrupt("delivery payload"))?,
                payload.session.as_str(),
                QUEUED,
                now
            ))
            .await?;
        }
    }
    Ok(())
}

/// A removed response's deliveries that never left are cancelled; one
/// already attempted may have reached the center and goes on.
pub(crate) async fn cancel_unsent(
    tx: &mut Conn,
    account: AccountId,
    response: i64,
    now: Millis,
) -> Result<(), StoreError> {
    tx.execute(query!(
        "UPDATE relay_deliveries SET status = $1, updated_at = $2
         WHERE account_id = $3 AND response_id = $4 AND status = $5 AND attempts = 0 AND lease_until IS NULL",
        CANCELLED,
        now,
        account.0,
        response,
        QUEUED
    ))
    .await?;
    Ok(())
}

row! {
    struct ClaimedRow {
        account_id: i64,
        id: i64,
        response_id: i64,
        ticket_id: i64,
        call_center_id: i64,
        payload: String,
        attempts: i64,
        created_at: i64,
    }
}

row! {
    struct ViewRow {
        id: i64,
        response_id: i64,
        ticket_id: i64,
        call_center_id: i64,
        payload: String,
        status: String,
        attempts: i64,
        next_attempt_at: i64,
        messages: String,
        last_error: Option<String>,
        created_at: i64,
        delivered_at: Option<i64>,
    }
}

impl Store {
    /// Claims up to `limit` due deliveries for `worker` until `lease_ms` from
    /// now. A delivery waits while an earlier one of the same response is
    /// unfinished, so a center sees each response's versions in order. The
    /// claim is a compare-and-set: among workers racing for a delivery, one
    /// wins. A worker that dies leaves its lease to expire and the delivery
    /// is claimed again, with the same session.
    pub async fn claim_deliveries(
        &self,
        worker: &str,
        limit: i64,
        lease_ms: Millis,
    ) -> Result<Vec<Delivery>, StoreError> {
        let now = now_millis();
        let mut conn = self.read().await?;
        let due: Vec<(i64,)> = conn
            .fetch_all(query!(
                "SELECT d.id FROM relay_deliveries d
                 WHERE d.status = $1 AND d.next_attempt_at <= $2 AND (d.lease_until IS NULL OR d.lease_until < $2)
                   AND NOT EXISTS (SELECT 1 FROM relay_deliveries p
                                   WHERE p.account_id = d.account_id AND p.response_id = d.response_id
                                     AND p.status = $1 AND p.id < d.id)
                 ORDER BY d.next_attempt_at, d.id LIMIT $3",
                QUEUED,
                now,
                limit
            ))
            .await?;
        drop(conn);
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.write().await?;
        let mut claimed = Vec::new();
        for (id,) in due {
            let row: Option<ClaimedRow> = tx
                .fetch_optional(query!(
                    "UPDATE relay_deliveries SET lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3
                     WHERE id = $4 AND status = $5 AND (lease_until IS NULL OR lease_until < $3)
                     RETURNING account_id, id, response_id, ticket_id, call_center_id, payload, attempts, created_at",
                    worker,
                    now + lease_ms,
                    now,
                    id,
                    QUEUED
                ))
                .await?;
            let Some(row) = row else { continue };
            let (relay,): (String,) = tx
                .fetch_one(query!(
                    "SELECT relay FROM call_centers WHERE account_id = $1 AND id = $2",
                    row.account_id,
                    row.call_center_id
                ))
                .await?;
            claimed.push(Delivery {
                id: row.id,
                account: AccountId(row.account_id),
                response_id: row.response_id,
                ticket_id: row.ticket_id,
                call_center_id: row.call_center_id,
                payload: serde_json::from_str(&row.payload).map_err(corrupt("delivery payload"))?,
                attempts: row.attempts,
                created_at: row.created_at,
                settings: serde_json::from_str(&relay).map_err(corrupt("relay settings"))?,
            });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records an attempt's outcome, if `worker` still holds the lease (a
    /// worker too slow for its lease leaves the outcome to whoever took the
    /// delivery over). A retry due later than `give_up_at` turns into a
    /// failure. Returns whether the outcome was recorded.
    pub async fn finish_delivery(
        &self,
        delivery: &Delivery,
        worker: &str,
        outcome: DeliveryOutcome,
        give_up_at: Millis,
    ) -> Result<bool, StoreError> {
        let now = now_millis();
        let outcome = match outcome {
            DeliveryOutcome::Retry { error, at } if at > give_up_at => DeliveryOutcome::Failed {
                messages: vec![format!(
                    "gave up after {} attempts: {error}",
                    delivery.attempts
                )],
            },
            other => other,
        };
        let mut tx = self.write().await?;
        let held = match &outcome {
            DeliveryOutcome::Retry { error, at } => {
                tx.execute(query!(
                    "UPDATE relay_deliveries SET next_attempt_at = $1, last_error = $2, lease_owner = NULL,
                         lease_until = NULL, updated_at = $3
                     WHERE id = $4 AND lease_owner = $5 AND status = $6",
                    *at,
                    error.as_str(),
                    now,
                    delivery.id,
                    worker,
                    QUEUED
                ))
                .await?
            }
            DeliveryOutcome::Sent { messages } | DeliveryOutcome::Failed { messages } => {
                let (status, response_status) = if matches!(outcome, DeliveryOutcome::Sent { .. }) {
                    (SENT, ResponseStatus::Sent)
                } else {
                    (FAILED, ResponseStatus::Failed)
                };
                let messages_json = serde_json::to_string(messages).map_err(corrupt("delivery messages"))?;
                let held = tx
                    .execute(query!(
                        "UPDATE relay_deliveries SET status = $1, messages = $2, lease_owner = NULL, lease_until = NULL,
                             delivered_at = $3, updated_at = $3
                         WHERE id = $4 AND lease_owner = $5 AND status = $6",
                        status,
                        messages_json.as_str(),
                        now,
                        delivery.id,
                        worker,
                        QUEUED
                    ))
                    .await?;
                if held > 0 {
                    settle_response(&mut tx, delivery, response_status, now).await?;
                    let kind = if status == SENT { "response_sent" } else { "response_failed" };
                    let data = json!({
                        "service_area": delivery.payload.member_code, "action": delivery.payload.action,
                        "session": delivery.payload.session, "attempts": delivery.attempts, "messages": messages,
                    });
                    record(&mut tx, delivery.account, delivery.ticket_id, kind, None, data, now).await?;
                }
                held
            }
        };
        tx.commit().await?;
        Ok(held > 0)
    }

    /// The account's deliveries, newest first, optionally of one status.
    pub async fn deliveries(
        &self,
        account: AccountId,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DeliveryView>, StoreError> {
        let mut conn = self.read().await?;
        let mut q = query!(
            "SELECT id, response_id, ticket_id, call_center_id, payload, status, attempts, next_attempt_at,
                    messages, last_error, created_at, delivered_at
             FROM relay_deliveries WHERE account_id = $1",
            account.0
        );
        if let Some(status) = status {
            let p = q.arg(status);
            q.push(&format!(" AND status = {p}"));
        }
        let p = q.arg(limit);
        q.push(&format!(" ORDER BY id DESC LIMIT {p}"));
        let rows: Vec<ViewRow> = conn.fetch_all(q).await?;
        rows.into_iter()
            .map(|r| {
                Ok(DeliveryView {
                    id: r.id,
                    response_id: r.response_id,
                    ticket_id: r.ticket_id,
                    call_center_id: r.call_center_id,
                    payload: serde_json::from_str(&r.payload)
                        .map_err(corrupt("delivery payload"))?,
                    status: r.status,
                    attempts: r.attempts,
                    next_attempt_at: r.next_attempt_at,
                    messages: serde_json::from_str(&r.messages)
                        .map_err(corrupt("delivery messages"))?,
                    last_error: r.last_error,
                    created_at: r.created_at,
                    delivered_at: r.delivered_at,
                })
            })
            .collect()
    }

    pub async fn relay_summary(&self) -> Result<RelaySummary, StoreError> {
        let mut conn = self.read().await?;
        let now = now_millis();
        let counts: Vec<(String, i64)> = conn
            .fetch_all(query!(
                "SELECT status, COUNT(*) FROM relay_deliveries GROUP BY status"
            ))
            .await?;
        let (in_flight,): (i64,) = conn
            .fetch_one(query!(
                "SELECT COUNT(*) FROM relay_deliveries WHERE status = $1 AND lease_until >= $2",
                QUEUED,
                now
            ))
            .await?;
        let (oldest,): (Option<i64>,) = conn
            .fetch_one(query!(
                "SELECT MIN(created_at) FROM relay_deliveries WHERE status = $1",
                QUEUED
            ))
            .await?;
        let count = |status: &str| {
            counts
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n)
        };
        Ok(RelaySummary {
            queued: count(QUEUED),
            in_flight,
            sent: count(SENT),
            failed: count(FAILED),
            oldest_queued_at: oldest,
        })
    }

    /// Puts failed deliveries back in the queue, with a fresh give-up clock
    /// and the same session. Returns how many.
    pub async fn retry_failed(&self, account: Option<AccountId>) -> Result<u64, StoreError> {
        let now = now_millis();
        let mut tx = self.write().await?;
        let mut q = query!(
            "UPDATE relay_deliveries SET status = $1, attempts = 0, next_attempt_at = $2, created_at = $2,
                 updated_at = $2, delivered_at = NULL
             WHERE status = $3",
            QUEUED,
            now,
            FAILED
        );
        if let Some(account) = account {
            let p = q.arg(account.0);
            q.push(&format!(" AND account_id = {p}"));
        }
        q.push(" RETURNING account_id, response_id");
        let requeued: Vec<(i64, i64)> = tx.fetch_all(q).await?;
        for (account, response) in &requeued {
            tx.execute(query!(
                "UPDATE ticket_responses SET status = $1 WHERE account_id = $2 AND id = $3 AND status = $4",
                ResponseStatus::Pending.as_str(),
                *account,
                *response,
                ResponseStatus::Failed.as_str()
            ))
            .await?;
        }
        tx.commit().await?;
        Ok(requeued.len() as u64)
    }
}

/// The response's status follows its newest delivery: an older one that
/// finishes while a newer is queued leaves the response pending.
async fn settle_response(
    tx: &mut Conn,
    delivery: &Delivery,
    status: ResponseStatus,
    now: Millis,
) -> Result<(), StoreError> {
    let responded_at = (status == ResponseStatus::Sent).then_some(now);
    tx.execute(query!(
        "UPDATE ticket_responses SET status = $1, responded_at = $2
         WHERE account_id = $3 AND id = $4
           AND NOT EXISTS (SELECT 1 FROM relay_deliveries d
                           WHERE d.account_id = $3 AND d.response_id = $4 AND d.status = $5 AND d.id > $6)",
        status.as_str(),
        responded_at,
        delivery.account.0,
        delivery.response_id,
        QUEUED,
        delivery.id
    ))
    .await?;
    Ok(())
}

impl Store {
    /// A call center's relay settings; `None` when the account has no such
    /// center.
    pub async fn relay_settings(
        &self,
        account: AccountId,
        call_center: i64,
    ) -> Result<Option<RelaySettings>, StoreError> {
        let mut conn = self.read().await?;
        let row: Option<(String,)> = conn
            .fetch_optional(query!(
                "SELECT relay FROM call_centers WHERE account_id = $1 AND id = $2",
                account.0,
                call_center
            ))
            .await?;
        row.map(|(relay,)| serde_json::from_str(&relay).map_err(corrupt("relay settings")))
            .transpose()
    }

    /// Replaces a call center's relay settings. Responses written from now
    /// on follow them; deliveries already queued go to the new URL.
    pub async fn set_relay_settings(
        &self,
        account: AccountId,
        call_center: i64,
        settings: &RelaySettings,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let changed = tx
            .execute(query!(
                "UPDATE call_centers SET relay_enabled = $1, relay = $2, updated_at = $3
                 WHERE account_id = $4 AND id = $5",
                settings.enabled,
                serde_json::to_string(settings).map_err(corrupt("relay settings"))?,
                now_millis(),
                account.0,
                call_center
            ))
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }
}
