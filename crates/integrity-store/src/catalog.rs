//! What an account is configured with: call centers (with their service
//! areas and response codes) and custom fields.

use std::collections::HashMap;

use integrity_domain::custom_field::{FieldType, OptionNode};
use integrity_domain::ticket::NamedRef;

use crate::conn::{query, row, Conn};
use crate::error::{corrupt, optional_json};
use crate::{AccountId, Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct CallCenter {
    pub id: i64,
    pub name: String,
    pub state: Option<String>,
    pub enabled: bool,
    pub facility_required: bool,
    /// Codes of the service areas the account holds in this center.
    pub service_areas: Vec<String>,
    pub facilities: Vec<String>,
    pub response_codes: Vec<ResponseCode>,
    pub relay_enabled: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResponseCode {
    pub code: String,
    pub description: String,
    /// `None`: valid for every ticket type.
    pub ticket_types: Option<Vec<String>>,
    pub completes: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CustomField {
    pub id: i64,
    pub type_id: i64,
    pub name: String,
    pub required: bool,
    pub call_center: Option<NamedRef>,
    pub position: i64,
    /// Present for the types with options (8–11).
    pub options: Option<Vec<OptionNode>>,
}

row! {
    struct CallCenterRow {
        id: i64,
        name: String,
        state: Option<String>,
        enabled: bool,
        facility_required: bool,
        facilities: String,
        relay_enabled: bool,
    }
}

row! {
    struct ResponseCodeRow {
        call_center_id: i64,
        code: String,
        description: String,
        ticket_types: Option<String>,
        completes: bool,
    }
}

row! {
    struct CustomFieldRow {
        id: i64,
        type_id: i64,
        name: String,
        required: bool,
        call_center_id: Option<i64>,
        call_center_name: Option<String>,
        position: i64,
    }
}

row! {
    struct OptionRow {
        id: i64,
        custom_field_id: i64,
        parent_id: i64,
        name: String,
    }
}

impl Store {
    pub async fn call_centers(&self, account: AccountId) -> Result<Vec<CallCenter>, StoreError> {
        let mut conn = self.read().await?;
        let rows: Vec<CallCenterRow> = conn
            .fetch_all(query!(
                "SELECT id, name, state, enabled, facility_required, facilities, relay_enabled
                 FROM call_centers WHERE account_id = $1 ORDER BY position, id",
                account.0
            ))
            .await?;
        let areas: Vec<(i64, String)> = conn
            .fetch_all(query!(
                "SELECT call_center_id, code FROM service_areas
                 WHERE account_id = $1 ORDER BY position, id",
                account.0
            ))
            .await?;
        let codes: Vec<ResponseCodeRow> = conn
            .fetch_all(query!(
                "SELECT call_center_id, code, description, ticket_types, completes
                 FROM response_codes WHERE account_id = $1 ORDER BY position, id",
                account.0
            ))
            .await?;
        let mut centers = Vec::with_capacity(rows.len());
        for row in rows {
            let response_codes = codes
                .iter()
                .filter(|c| c.call_center_id == row.id)
                .map(|c| {
                    Ok(ResponseCode {
                        code: c.code.clone(),
                        description: c.description.clone(),
                        ticket_types: optional_json(
                            c.ticket_types.as_deref(),
                            "response code ticket types",
                        )?,
                        completes: c.completes,
                    })
                })
                .collect::<Result<_, StoreError>>()?;
            centers.push(CallCenter {
                id: row.id,
                service_areas: areas
                    .iter()
                    .filter(|(center, _)| *center == row.id)
                    .map(|(_, code)| code.clone())
                    .collect(),
                facilities: serde_json::from_str(&row.facilities)
                    .map_err(corrupt("call center facilities"))?,
                name: row.name,
                state: row.state,
                enabled: row.enabled,
                facility_required: row.facility_required,
                response_codes,
                relay_enabled: row.relay_enabled,
            });
        }
        Ok(centers)
    }

    pub async fn custom_fields(&self, account: AccountId) -> Result<Vec<CustomField>, StoreError> {
        let mut conn = self.read().await?;
        custom_fields(&mut conn, account, None).await
    }
}

/// The account's custom fields in `position` order; with a call center, only
/// those that apply to its tickets (common ones and the center's own).
pub(crate) async fn custom_fields(
    conn: &mut Conn,
    account: AccountId,
    for_call_center: Option<i64>,
) -> Result<Vec<CustomField>, StoreError> {
    let mut q = query!(
        "SELECT f.id, f.type_id, f.name, f.required, f.call_center_id,
                c.name AS call_center_name, f.position
         FROM custom_fields f
         LEFT JOIN call_centers c ON c.account_id = f.account_id AND c.id = f.call_center_id
         WHERE f.account_id = $1",
        account.0
    );
    if let Some(center) = for_call_center {
        let p = q.arg(center);
        q.push(&format!(
            " AND (f.call_center_id IS NULL OR f.call_center_id = {p})"
        ));
    }
    q.push(" ORDER BY f.position, f.id");
    let rows: Vec<CustomFieldRow> = conn.fetch_all(q).await?;
    let options: Vec<OptionRow> = conn
        .fetch_all(query!(
            "SELECT id, custom_field_id, parent_id, name FROM custom_field_options
             WHERE account_id = $1 ORDER BY position, id",
            account.0
        ))
        .await?;
    let mut children: HashMap<(i64, i64), Vec<&OptionRow>> = HashMap::new();
    for option in &options {
        children
            .entry((option.custom_field_id, option.parent_id))
            .or_default()
            .push(option);
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let has_options = FieldType::from_id(row.type_id).is_some_and(FieldType::has_options);
            CustomField {
                options: has_options.then(|| option_tree(&children, row.id, 0)),
                id: row.id,
                type_id: row.type_id,
                name: row.name,
                required: row.required,
                call_center: row
                    .call_center_id
                    .zip(row.call_center_name)
                    .map(|(id, name)| NamedRef { id, name }),
                position: row.position,
            }
        })
        .collect())
}

fn option_tree(
    children: &HashMap<(i64, i64), Vec<&OptionRow>>,
    field: i64,
    parent: i64,
) -> Vec<OptionNode> {
    children
        .get(&(field, parent))
        .map(|rows| {
            rows.iter()
                .map(|row| OptionNode {
                    id: row.id,
                    name: row.name.clone(),
                    options: option_tree(children, field, row.id),
                })
                .collect()
        })
        .unwrap_or_default()
}
