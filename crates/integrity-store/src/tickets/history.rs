//! A ticket's audit trail.

use integrity_domain::ticket::NamedRef;
use integrity_domain::time::Millis;

use crate::conn::{query, row};
use crate::error::corrupt;
use crate::{AccountId, Store, StoreError};

/// One recorded change: what kind, who (none for call centers and the
/// system), when, and its details (before and after).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub id: i64,
    pub kind: String,
    pub actor: Option<NamedRef>,
    pub details: serde_json::Value,
    pub created_at: Millis,
}

row! {
    struct HistoryRow {
        id: i64,
        kind: String,
        actor_id: Option<i64>,
        actor_name: Option<String>,
        data: String,
        created_at: i64,
    }
}

impl Store {
    /// Oldest first; `None` when the account has no such ticket.
    pub async fn ticket_history(
        &self,
        account: AccountId,
        call_center_id: i64,
        number: &str,
    ) -> Result<Option<Vec<HistoryEntry>>, StoreError> {
        let mut conn = self.read().await?;
        let Some(ticket) = super::ticket_id(&mut conn, account, call_center_id, number).await?
        else {
            return Ok(None);
        };
        let rows: Vec<HistoryRow> = conn
            .fetch_all(query!(
                "SELECT h.id, h.kind, h.actor_id, u.name AS actor_name, h.data, h.created_at
                 FROM ticket_history h
                 LEFT JOIN users u ON u.account_id = h.account_id AND u.id = h.actor_id
                 WHERE h.account_id = $1 AND h.ticket_id = $2
                 ORDER BY h.id",
                account.0,
                ticket
            ))
            .await?;
        rows.into_iter()
            .map(|row| {
                Ok(HistoryEntry {
                    id: row.id,
                    kind: row.kind,
                    actor: row
                        .actor_id
                        .zip(row.actor_name)
                        .map(|(id, name)| NamedRef { id, name }),
                    details: serde_json::from_str(&row.data).map_err(corrupt("history entry"))?,
                    created_at: row.created_at,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()
            .map(Some)
    }
}

/// A document kept with a ticket: the source of a version or an attachment.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDocument {
    pub id: i64,
    pub version_number: i64,
    pub role: String,
    pub format: String,
    pub name: Option<String>,
    pub content_type: String,
    pub sha256: String,
    pub body: Vec<u8>,
    pub received_at: Millis,
}

row! {
    struct DocumentRow {
        id: i64,
        version_number: i64,
        role: String,
        format: String,
        name: Option<String>,
        content_type: String,
        sha256: String,
        encoding: String,
        body: Vec<u8>,
        received_at: i64,
    }
}

impl Store {
    /// One of a ticket's documents, as received.
    pub async fn ticket_document(
        &self,
        account: AccountId,
        call_center_id: i64,
        number: &str,
        document: i64,
    ) -> Result<Option<StoredDocument>, StoreError> {
        let mut conn = self.read().await?;
        let row: Option<DocumentRow> = conn
            .fetch_optional(query!(
                "SELECT d.id, d.version_number, d.role, d.format, d.name, d.content_type, d.sha256, d.encoding, d.body,
                     d.received_at
                 FROM ticket_documents d
                 JOIN tickets t ON t.account_id = d.account_id AND t.id = d.ticket_id
                 WHERE d.account_id = $1 AND t.call_center_id = $2 AND t.ticket_number = $3 AND d.id = $4",
                account.0,
                call_center_id,
                number,
                document
            ))
            .await?;
        row.map(|r| {
            Ok(StoredDocument {
                body: super::packing::unpack(&r.encoding, r.body)?,
                id: r.id,
                version_number: r.version_number,
                role: r.role,
                format: r.format,
                name: r.name,
                content_type: r.content_type,
                sha256: r.sha256,
                received_at: r.received_at,
            })
        })
        .transpose()
    }
}
