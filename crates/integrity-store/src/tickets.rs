//! Tickets: intake (new tickets and new versions), reading one, listing.

mod bulk;
mod history;
mod load;
mod packing;
mod work;

pub use history::{HistoryEntry, StoredDocument};
pub use work::Transition;

use integrity_domain::errors::ValidationErrors;
use integrity_domain::ticket::{Ticket, TicketIntake, TicketStatus};
use integrity_domain::time::{now_millis, Millis};
use serde_json::value::RawValue;

use crate::conn::{query, Conn, Query};
use crate::{AccountId, Store, StoreError};
use packing::PackedDocument;

/// Where a ticket taken in from a call-center format came from: the
/// document as received (kept as evidence), what the parser found beside
/// the content, and the attachments.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// `open-ticket`, `usan-xml`, … (`api` for the JSON of `POST /tickets`).
    pub format: String,
    pub document: Document,
    pub attachments: Vec<Document>,
    /// The center's revision of the ticket; a new version takes it when it
    /// is ahead of Integrity's count.
    pub revision: Option<i64>,
    pub cancelled: bool,
    /// Corrections the parser made, for the history.
    pub notes: Vec<String>,
    /// Source fields with no place in the ticket, for the history: JSON,
    /// serialized by whoever read the document, so that a bulk import
    /// does this on its reading threads rather than in the one writer.
    pub extra: Box<RawValue>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    pub name: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// How the history describes a version's source: borrowed, as the
/// parser's leftovers can be large and are written once.
#[derive(serde::Serialize)]
struct SourceDescription<'a> {
    format: &'a str,
    revision: Option<i64>,
    version_number: i64,
    cancelled: bool,
    notes: &'a [String],
    extra: &'a RawValue,
}

impl Provenance {
    /// The documents to keep, with their role and name: the source first,
    /// then the attachments in the order they came.
    fn documents(&self) -> impl Iterator<Item = (&'static str, Option<&str>, &Document)> {
        std::iter::once(("source", None, &self.document)).chain(
            self.attachments
                .iter()
                .map(|a| ("attachment", Some(a.name.as_str()), a)),
        )
    }

    fn describe(&self, version: i64) -> SourceDescription<'_> {
        SourceDescription {
            format: &self.format,
            revision: self.revision,
            version_number: version,
            cancelled: self.cancelled,
            notes: &self.notes,
            extra: &self.extra,
        }
    }
}

/// What an intake did with the ticket it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// The call center's ticket number was new.
    Created,
    /// The number was known and the content differed: `version_number` + 1,
    /// the earlier content kept in the history.
    NewVersion,
    /// The same content again (a retransmission): nothing changed.
    Unchanged,
}

/// A ticket made ready for [`Store::intake_batch`]: its content serialized,
/// its search text computed, its documents digested and compressed. This is pure
/// computation, done by whoever builds the batch (a bulk import, on every
/// CPU), so that the one SQLite writer is left only the database's work.
pub struct PreparedIntake {
    intake: TicketIntake,
    source: Option<Provenance>,
    content: String,
    search_text: String,
    /// The source document, then each attachment, ready to store.
    documents: Vec<PackedDocument>,
}

impl PreparedIntake {
    pub fn new(intake: TicketIntake, source: Option<Provenance>) -> Result<Self, StoreError> {
        let content = serde_json::to_string(&intake.content)
            .map_err(crate::error::corrupt("ticket content"))?;
        let search_text = intake.content.search_text();
        let documents = packing::pack_all(source.as_ref());
        Ok(PreparedIntake {
            intake,
            source,
            content,
            search_text,
            documents,
        })
    }

    pub fn intake(&self) -> &TicketIntake {
        &self.intake
    }
}

/// Filters of `GET /tickets`; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub status: Option<TicketStatus>,
    pub call_center_id: Option<i64>,
    /// Matches the primary or any additional service area.
    pub service_area: Option<String>,
    pub updated_since: Option<Millis>,
    /// A ticket number or words of the ticket's text (case-insensitive).
    pub q: Option<String>,
    pub per_page: u32,
    pub after: Option<TicketCursor>,
}

/// Position in the newest-change-first order: the last ticket of a page.
/// Keyset pagination stays correct while tickets change: a page never
/// repeats or skips a ticket that did not change meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketCursor {
    pub updated_at: Millis,
    pub id: i64,
}

impl TicketCursor {
    pub fn encode(&self) -> String {
        format!("{}_{}", self.updated_at, self.id)
    }

    pub fn decode(text: &str) -> Option<TicketCursor> {
        let (updated_at, id) = text.split_once('_')?;
        Some(TicketCursor {
            updated_at: updated_at.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct TicketPage {
    pub tickets: Vec<Ticket>,
    /// Where the next page starts, when there is one.
    pub next: Option<TicketCursor>,
}

/// Attempts at an intake that lost a race to a concurrent one for the same
/// ticket number (PostgreSQL; SQLite serialises writers).
const INTAKE_ATTEMPTS: usize = 5;

impl Store {
    pub async fn intake_ticket(
        &self,
        account: AccountId,
        intake: &TicketIntake,
        actor: Option<i64>,
        source: Option<&Provenance>,
    ) -> Result<(IntakeOutcome, Ticket), StoreError> {
        // Compressing is the costly part of keeping the documents: done
        // before the write lock is taken, so other writers do not wait on it.
        let documents = packing::pack_all(source);
        let mut tx = self.write().await?;
        let center: Option<(i64,)> = tx
            .fetch_optional(query!(
                "SELECT id FROM call_centers WHERE account_id = $1 AND id = $2",
                account.0,
                intake.call_center_id
            ))
            .await?;
        if center.is_none() {
            return Err(ValidationErrors::single("call_center", "must exist").into());
        }
        let content = serde_json::to_string(&intake.content)
            .map_err(crate::error::corrupt("ticket content"))?;
        let item = Item {
            intake,
            source,
            documents: &documents,
            content: &content,
            search_text: &intake.content.search_text(),
        };
        let (outcome, id) = intake_with_retries(&mut tx, account, &item, actor).await?;
        let ticket = load::ticket_by_id(&mut tx, account, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok((outcome, ticket))
    }

    /// Takes in many tickets in one transaction, as bulk imports do: one
    /// durable commit for the lot instead of one per ticket, and none of
    /// the reading back `intake_ticket` does for its answer. Each item has
    /// its own outcome; a call center the account lacks refuses that item
    /// only.
    pub async fn intake_batch(
        &self,
        account: AccountId,
        items: &[PreparedIntake],
    ) -> Result<Vec<Result<IntakeOutcome, ValidationErrors>>, StoreError> {
        let mut tx = self.write().await?;
        let outcomes = bulk::intake_batch(&mut tx, account, items).await?;
        tx.commit().await?;
        Ok(outcomes)
    }

    pub async fn ticket_by_number(
        &self,
        account: AccountId,
        call_center_id: i64,
        number: &str,
    ) -> Result<Option<Ticket>, StoreError> {
        let mut conn = self.read_together().await?;
        load::ticket_by_number(&mut conn, account, call_center_id, number).await
    }

    pub async fn tickets(
        &self,
        account: AccountId,
        filter: &TicketFilter,
    ) -> Result<TicketPage, StoreError> {
        let mut conn = self.read_together().await?;
        let mut q = Query::new(load::TICKET_SELECT);
        let p = q.arg(account.0);
        q.push(&format!(" WHERE t.account_id = {p}"));
        if let Some(status) = filter.status {
            push_condition(&mut q, "t.status =", status.as_str().into());
        }
        if let Some(center) = filter.call_center_id {
            push_condition(&mut q, "t.call_center_id =", center.into());
        }
        if let Some(since) = filter.updated_since {
            push_condition(&mut q, "t.updated_at >=", since.into());
        }
        if let Some(text) = filter.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
            let p = q.arg(pattern);
            q.push(&format!(" AND t.search_text LIKE {p} ESCAPE '\\'"));
        }
        if let Some(area) = &filter.service_area {
            let p = q.arg(area.as_str());
            q.push(&format!(
                " AND EXISTS (SELECT 1 FROM ticket_service_areas s
                   WHERE s.account_id = t.account_id AND s.ticket_id = t.id AND s.code = {p})"
            ));
        }
        if let Some(after) = filter.after {
            let u = q.arg(after.updated_at);
            let i = q.arg(after.id);
            q.push(&format!(
                " AND (t.updated_at < {u} OR (t.updated_at = {u} AND t.id < {i}))"
            ));
        }
        let per_page = filter.per_page.max(1);
        let limit = q.arg(i64::from(per_page) + 1);
        q.push(&format!(
            " ORDER BY t.updated_at DESC, t.id DESC LIMIT {limit}"
        ));
        let mut rows: Vec<load::TicketRow> = conn.fetch_all(q).await?;
        let more = rows.len() > per_page as usize;
        rows.truncate(per_page as usize);
        let next = more
            .then(|| {
                rows.last().map(|r| TicketCursor {
                    updated_at: r.updated_at,
                    id: r.id,
                })
            })
            .flatten();
        let tickets = load::assemble(&mut conn, account, rows).await?;
        Ok(TicketPage { tickets, next })
    }
}

/// The id of the account's ticket with this call center and number.
pub(crate) async fn ticket_id(
    conn: &mut Conn,
    account: AccountId,
    call_center_id: i64,
    number: &str,
) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = conn
        .fetch_optional(query!(
            "SELECT id FROM tickets WHERE account_id = $1 AND call_center_id = $2 AND ticket_number = $3",
            account.0,
            call_center_id,
            number
        ))
        .await?;
    Ok(row.map(|(id,)| id))
}

/// Appends ` AND <column_op> $n`.
fn push_condition(q: &mut Query, column_op: &str, arg: crate::conn::Arg) {
    let p = q.arg(arg);
    q.push(&format!(" AND {column_op} {p}"));
}

/// A ticket to take in, with its content serialized and its search text.
#[derive(Clone, Copy)]
struct Item<'a> {
    intake: &'a TicketIntake,
    source: Option<&'a Provenance>,
    /// The source's documents, packed: as many as it has, none without one.
    documents: &'a [PackedDocument],
    content: &'a str,
    search_text: &'a str,
}

impl PreparedIntake {
    fn item(&self) -> Item<'_> {
        Item {
            intake: &self.intake,
            source: self.source.as_ref(),
            documents: &self.documents,
            content: &self.content,
            search_text: &self.search_text,
        }
    }
}

/// Takes one ticket in, looking again when a concurrent intake of the same
/// number got in between.
async fn intake_with_retries(
    tx: &mut Conn,
    account: AccountId,
    item: &Item<'_>,
    actor: Option<i64>,
) -> Result<(IntakeOutcome, i64), StoreError> {
    for _ in 0..INTAKE_ATTEMPTS {
        if let Some(done) = try_intake(tx, account, item, actor).await? {
            return Ok(done);
        }
    }
    Err(StoreError::Conflict(format!(
        "ticket {} kept changing during intake",
        item.intake.content.ticket_number
    )))
}

/// One attempt; `None` when a concurrent intake of the same number got in
/// between and the caller should look again.
async fn try_intake(
    tx: &mut Conn,
    account: AccountId,
    item: &Item<'_>,
    actor: Option<i64>,
) -> Result<Option<(IntakeOutcome, i64)>, StoreError> {
    let Item {
        intake,
        source,
        documents: packed,
        content,
        search_text,
    } = *item;
    let now = now_millis();
    let existing: Option<(i64, i64, String, String, Option<i64>)> = tx
        .fetch_optional(query!(
            "SELECT id, version_number, content, status, source_revision FROM tickets
             WHERE account_id = $1 AND call_center_id = $2 AND ticket_number = $3",
            account.0,
            intake.call_center_id,
            intake.content.ticket_number.as_str()
        ))
        .await?;
    let revision = source.and_then(|s| s.revision);
    // Whether this document brings a revision the ticket has not had.
    let is_newer = |latest: Option<i64>| revision.is_some_and(|r| latest.is_none_or(|l| r > l));
    let cancelled = source.is_some_and(|s| s.cancelled);
    let provenance = |version: i64| source.map(|s| s.describe(version));
    match existing {
        None => {
            let assignee = routed_assignee(tx, account, intake).await?;
            let status = if cancelled {
                TicketStatus::Cancelled
            } else {
                TicketStatus::open_for(assignee.is_some())
            };
            let version = revision.unwrap_or(0).max(0);
            let inserted: Option<(i64,)> = tx
                .fetch_optional(query!(
                    "INSERT INTO tickets (account_id, call_center_id, ticket_number, version_number,
                         status, assignee_id, content, search_text, created_at, updated_at,
                         source_revision)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)
                     ON CONFLICT (account_id, call_center_id, ticket_number) DO NOTHING
                     RETURNING id",
                    account.0,
                    intake.call_center_id,
                    intake.content.ticket_number.as_str(),
                    version,
                    status.as_str(),
                    assignee.as_ref().map(|(id, _)| *id),
                    content,
                    search_text,
                    now,
                    revision
                ))
                .await?;
            let Some((id,)) = inserted else {
                return Ok(None);
            };
            replace_service_areas(tx, account, id, intake, true).await?;
            let documents = store_documents(tx, account, id, version, source, packed, now).await?;
            let data = serde_json::json!({"version_number": version, "source": provenance(version), "documents": documents});
            record(tx, account, id, "created", actor, data, now).await?;
            if let Some((user, name)) = assignee {
                let data = serde_json::json!({
                    "before": null, "after": {"id": user, "name": name},
                    "reason": "routing", "service_area": intake.content.service_area,
                });
                record(tx, account, id, "assignee_changed", actor, data, now).await?;
            }
            Ok(Some((IntakeOutcome::Created, id)))
        }
        Some((id, _, _, _, Some(latest))) if revision.is_some_and(|r| r < latest) => {
            // A late retransmission of a revision the ticket has moved past
            // (a re-sent file, a folder imported again): taking it in would
            // bring older content back.
            Ok(Some((IntakeOutcome::Unchanged, id)))
        }
        Some((id, _, stored, status, latest)) if stored == content && !is_newer(latest) => {
            // A retransmission; only a cancellation it carries is news.
            if cancelled && status != TicketStatus::Cancelled.as_str() {
                cancel(tx, account, id, &status, actor, now).await?;
                return Ok(Some((IntakeOutcome::NewVersion, id)));
            }
            Ok(Some((IntakeOutcome::Unchanged, id)))
        }
        Some((id, version, stored, status, _)) => {
            // Other content, or the same content under a newer revision
            // (kept as a version of its own, with its document). The
            // center's revision number wins when it is ahead of ours; a
            // document without one leaves the latest revision known, so
            // that an older one arriving later is still seen as older.
            let next = version.saturating_add(1).max(revision.unwrap_or(0));
            let changed = tx
                .execute(query!(
                    "UPDATE tickets SET content = $1, search_text = $2, version_number = $3, updated_at = $4,
                         source_revision = COALESCE($5, source_revision)
                     WHERE account_id = $6 AND id = $7 AND version_number = $8",
                    content,
                    search_text,
                    next,
                    now,
                    revision,
                    account.0,
                    id,
                    version
                ))
                .await?;
            if changed == 0 {
                return Ok(None);
            }
            replace_service_areas(tx, account, id, intake, false).await?;
            let previous: serde_json::Value =
                serde_json::from_str(&stored).map_err(crate::error::corrupt("ticket content"))?;
            let documents = store_documents(tx, account, id, next, source, packed, now).await?;
            let data = serde_json::json!({
                "version_number": next,
                "previous_version_number": version,
                "previous_content": previous,
                "source": provenance(next),
                "documents": documents,
            });
            record(tx, account, id, "new_version", actor, data, now).await?;
            if cancelled && status != TicketStatus::Cancelled.as_str() {
                cancel(tx, account, id, &status, actor, now).await?;
            }
            Ok(Some((IntakeOutcome::NewVersion, id)))
        }
    }
}

async fn cancel(
    tx: &mut Conn,
    account: AccountId,
    ticket: i64,
    before: &str,
    actor: Option<i64>,
    now: Millis,
) -> Result<(), StoreError> {
    tx.execute(query!(
        "UPDATE tickets SET status = $1, updated_at = $2 WHERE account_id = $3 AND id = $4",
        TicketStatus::Cancelled.as_str(),
        now,
        account.0,
        ticket
    ))
    .await?;
    let data = serde_json::json!({"before": before, "after": "cancelled", "reason": "cancelled by the call center"});
    record(tx, account, ticket, "status_changed", actor, data, now).await
}

/// Keeps the source document and its attachments with the version they
/// brought; returns their ids.
async fn store_documents(
    tx: &mut Conn,
    account: AccountId,
    ticket: i64,
    version: i64,
    source: Option<&Provenance>,
    packed: &[PackedDocument],
    now: Millis,
) -> Result<Vec<i64>, StoreError> {
    let Some(source) = source else {
        return Ok(Vec::new());
    };
    let mut ids = Vec::new();
    for ((role, name, document), packed) in source.documents().zip(packed) {
        let (id,): (i64,) = tx
            .fetch_one(query!(
                "INSERT INTO ticket_documents (account_id, ticket_id, version_number, role, format, name,
                     content_type, sha256, encoding, body, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                account.0,
                ticket,
                version,
                role,
                source.format.as_str(),
                name,
                document.content_type.as_str(),
                packed.sha256.as_str(),
                packed.encoding(),
                packed.bytes(document),
                now
            ))
            .await?;
        ids.push(id);
    }
    Ok(ids)
}

/// The default assignee of the ticket's primary service area, when the
/// account routes that area to an active user.
async fn routed_assignee(
    tx: &mut Conn,
    account: AccountId,
    intake: &TicketIntake,
) -> Result<Option<(i64, String)>, StoreError> {
    let Some(area) = intake.content.service_area.as_deref() else {
        return Ok(None);
    };
    tx.fetch_optional(query!(
        "SELECT u.id, u.name FROM service_areas s
         JOIN users u ON u.account_id = s.account_id AND u.id = s.assignee_id
         WHERE s.account_id = $1 AND s.call_center_id = $2 AND s.code = $3 AND u.active = $4",
        account.0,
        intake.call_center_id,
        area,
        true
    ))
    .await
}

/// Makes the ticket's rows of `ticket_service_areas` those it names; a new
/// ticket has none to remove. One multi-row insert: bulk intake spends its
/// time in statements.
async fn replace_service_areas(
    tx: &mut Conn,
    account: AccountId,
    ticket: i64,
    intake: &TicketIntake,
    is_new: bool,
) -> Result<(), StoreError> {
    if !is_new {
        tx.execute(query!(
            "DELETE FROM ticket_service_areas WHERE account_id = $1 AND ticket_id = $2",
            account.0,
            ticket
        ))
        .await?;
    }
    let codes = intake.content.service_areas();
    if codes.is_empty() {
        return Ok(());
    }
    let mut insert =
        Query::new("INSERT INTO ticket_service_areas (account_id, ticket_id, code) VALUES ");
    let rows = codes
        .into_iter()
        .map(|code| vec![account.0.into(), ticket.into(), code.into()])
        .collect();
    bulk::push_rows(&mut insert, rows);
    tx.execute(insert).await?;
    Ok(())
}

/// Appends to the ticket's history.
pub(crate) async fn record(
    tx: &mut Conn,
    account: AccountId,
    ticket: i64,
    kind: &str,
    actor: Option<i64>,
    data: serde_json::Value,
    at: Millis,
) -> Result<(), StoreError> {
    tx.execute(query!(
        "INSERT INTO ticket_history (account_id, ticket_id, kind, actor_id, data, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        account.0,
        ticket,
        kind,
        actor,
        data.to_string(),
        at
    ))
    .await?;
    Ok(())
}

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = TicketCursor {
            updated_at: 1_467_214_176_947,
            id: 8915,
        };
        assert_eq!(TicketCursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(TicketCursor::decode("abc"), None);
        assert_eq!(TicketCursor::decode("1_x"), None);
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }

    mod source_revision_backfill {
        use super::*;
        use integrity_domain::manifest::Manifest;

        /// Migration 0006's `UPDATE`, as the file has it.
        fn backfill(backend: crate::Backend) -> &'static str {
            let migration = match backend {
                crate::Backend::Sqlite => {
                    include_str!("../migrations/sqlite/0006_ticket_source_revision.sql")
                }
                crate::Backend::Postgres => {
                    include_str!("../migrations/postgres/0006_ticket_source_revision.sql")
                }
            };
            let start = migration.find("UPDATE tickets").expect("the backfill");
            migration[start..].trim_end().trim_end_matches(';')
        }

        crate::test_on_both_backends! {
            async fn tickets_taken_in_before_get_their_last_versions_revision(db: &TestDatabase) {
                let manifest = r#"{"accounts": [{"subdomain": "acme", "name": "Acme",
                    "call_centers": [{"name": "Georgia 811", "service_areas": [{"code": "GAUPC"}]}]}]}"#;
                db.store.apply(&Manifest::from_json(manifest).unwrap()).await.unwrap();
                let account = db.store.account_by_subdomain("acme").await.unwrap().unwrap();
                let center = db.store.call_centers(account).await.unwrap()[0].id;
                let take = |number: &str, remarks: &str, revision: Option<i64>| {
                    let intake = integrity_domain::ticket::parse_intake(serde_json::json!({
                        "ticket_number": number, "call_center": {"id": center}, "remarks": remarks,
                    }))
                    .unwrap();
                    let source = revision.map(|revision| Provenance {
                        format: "usan-xml".into(),
                        document: Document { name: "t.xml".into(), content_type: "application/xml".into(), body: b"<t/>".to_vec() },
                        attachments: Vec::new(),
                        revision: Some(revision),
                        cancelled: false,
                        notes: Vec::new(),
                        extra: serde_json::value::to_raw_value(&serde_json::json!({})).unwrap(),
                    });
                    let store = db.store.clone();
                    async move { store.intake_ticket(account, &intake, None, source.as_ref()).await.unwrap() }
                };
                take("A", "first", Some(3)).await;
                take("A", "second", Some(7)).await;
                take("B", "from the API", None).await;
                take("C", "a document", Some(2)).await;
                take("C", "then the API", None).await;

                // As a database from before the column was there: the
                // backfill finds what intake itself recorded.
                let read = query!("SELECT ticket_number, source_revision FROM tickets ORDER BY ticket_number");
                let mut tx = db.store.write().await.unwrap();
                let recorded: Vec<(String, Option<i64>)> = tx.fetch_all(read.clone()).await.unwrap();
                tx.execute(query!("UPDATE tickets SET source_revision = NULL")).await.unwrap();
                tx.execute(query!(backfill(db.store.backend()))).await.unwrap();
                let filled: Vec<(String, Option<i64>)> = tx.fetch_all(read).await.unwrap();
                tx.commit().await.unwrap();
                assert_eq!(recorded, [("A".into(), Some(7)), ("B".into(), None), ("C".into(), Some(2))]);
                assert_eq!(filled, recorded);
            }
        }
    }

    mod kept_documents {
        use super::*;
        use integrity_domain::manifest::Manifest;

        fn source(number: &str) -> Provenance {
            let remarks = format!(
                "<Remarks>Ticket {number}: mark all utilities in the right of way</Remarks>"
            );
            let body = format!("<Ticket>{}</Ticket>", remarks.repeat(30));
            Provenance {
                format: "usan-xml".into(),
                document: Document {
                    name: "t.xml".into(),
                    content_type: "application/xml".into(),
                    body: body.into_bytes(),
                },
                attachments: vec![Document {
                    name: "map.gif".into(),
                    content_type: "image/gif".into(),
                    body: b"GIF89a".to_vec(),
                }],
                revision: None,
                cancelled: false,
                notes: Vec::new(),
                extra: serde_json::value::to_raw_value(&serde_json::json!({})).unwrap(),
            }
        }

        crate::test_on_both_backends! {
            async fn documents_are_stored_compressed_and_read_back_as_received(db: &TestDatabase) {
                let manifest = r#"{"accounts": [{"subdomain": "acme", "name": "Acme",
                    "call_centers": [{"name": "USA North 811"}]}]}"#;
                db.store.apply(&Manifest::from_json(manifest).unwrap()).await.unwrap();
                let account = db.store.account_by_subdomain("acme").await.unwrap().unwrap();
                let center = db.store.call_centers(account).await.unwrap()[0].id;
                let intake = |number: &str| {
                    integrity_domain::ticket::parse_intake(serde_json::json!({
                        "ticket_number": number, "call_center": {"id": center},
                    }))
                    .unwrap()
                };
                // One ticket by each path that keeps documents.
                let (one, many) = (source("ONE"), source("MANY"));
                db.store.intake_ticket(account, &intake("ONE"), None, Some(&one)).await.unwrap();
                let batch = [PreparedIntake::new(intake("MANY"), Some(many.clone())).unwrap()];
                db.store.intake_batch(account, &batch).await.unwrap();

                let mut tx = db.store.write().await.unwrap();
                let stored: Vec<(i64, String, String, Vec<u8>)> = tx
                    .fetch_all(query!("SELECT d.id, t.ticket_number, d.encoding, d.body FROM ticket_documents d
                                       JOIN tickets t ON t.id = d.ticket_id ORDER BY d.id"))
                    .await
                    .unwrap();
                // A document kept before documents were compressed has
                // no encoding of its own: the column's default says so.
                tx.execute(query!(
                    "INSERT INTO ticket_documents (account_id, ticket_id, version_number, role, format,
                         name, content_type, sha256, body, received_at)
                     SELECT account_id, ticket_id, version_number, role, format, name, content_type,
                         sha256, $1, received_at FROM ticket_documents WHERE id = $2",
                    one.document.body.as_slice(),
                    stored[0].0
                ))
                .await
                .unwrap();
                tx.commit().await.unwrap();

                let encodings: Vec<(&str, &str)> = stored.iter().map(|(_, n, e, _)| (n.as_str(), e.as_str())).collect();
                assert_eq!(encodings, [("ONE", "zstd"), ("ONE", "identity"), ("MANY", "zstd"), ("MANY", "identity")]);
                for (id, number, encoding, bytes) in &stored {
                    let source = if number == "ONE" { &one } else { &many };
                    let expected = if encoding == "zstd" { &source.document } else { &source.attachments[0] };
                    if encoding == "zstd" {
                        assert!(bytes.len() * 3 < expected.body.len(), "{} of {} bytes stored", bytes.len(), expected.body.len());
                    }
                    let read = db.store.ticket_document(account, center, number, *id).await.unwrap().unwrap();
                    assert!(read.body == expected.body, "document {id} read back as received");
                    assert_eq!(read.sha256, crate::tokens::digest_bytes(&expected.body));
                }
                let old = stored.last().unwrap().0 + 1;
                let read = db.store.ticket_document(account, center, "ONE", old).await.unwrap().unwrap();
                assert!(read.body == one.document.body, "a document from before is read as it was stored");
            }
        }
    }
}
