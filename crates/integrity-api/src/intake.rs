//! From a call center's document to the store's intake: parse, check as
//! `POST /tickets` checks, and keep the document. Shared by
//! `POST /call_centers/:id/intake` and the `integrity` command's import.

use integrity_domain::ticket::{check_intake, parse_intake, TicketContent, TicketIntake};
use integrity_domain::ValidationErrors;
use integrity_intake::{detect, parse, Format};
use integrity_store::{Document, Provenance};

/// A document's format: the one named, else what its content type and
/// first bytes say. `how_to_name` is the channel's way of naming one
/// (`?format=`, `--format`), for the error when neither says.
pub fn resolve_format(
    named: Option<&str>,
    body: &[u8],
    content_type: Option<&str>,
    how_to_name: &str,
) -> Result<Format, ValidationErrors> {
    match named {
        Some(name) => Format::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
            ValidationErrors::single(
                "format",
                format!("is not included in the list ({})", known.join(", ")),
            )
        }),
        None => detect(body, content_type).ok_or_else(|| {
            ValidationErrors::single(
                "format",
                format!("could not be detected; name it with {how_to_name}"),
            )
        }),
    }
}

/// Reads a document into a ticket of `call_center_id` and what to keep of
/// it. A document that does not parse is a `document` error naming where.
/// Whether any text of the content holds U+0000, which serialized JSON
/// shows as an escape.
fn content_has_nul(content: &TicketContent) -> bool {
    serde_json::to_string(content).map_or(true, |json| json.contains("\\u0000"))
}

pub fn read_document(
    call_center_id: i64,
    format: Format,
    name: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<(TicketIntake, Provenance), ValidationErrors> {
    let parsed =
        parse(format, &body).map_err(|e| ValidationErrors::single("document", e.to_string()))?;
    // The same checks as POST /tickets, on the content the parser produced.
    let intake = if content_has_nul(&parsed.content) {
        // The JSON path of the first U+0000 is worth the detour.
        let mut value = serde_json::to_value(&parsed.content)
            .map_err(|e| ValidationErrors::single("document", e.to_string()))?;
        value["call_center"] = serde_json::json!({ "id": call_center_id });
        parse_intake(value)?
    } else {
        check_intake(call_center_id, parsed.content)?
    };
    let provenance = Provenance {
        format: format.name().to_string(),
        document: Document {
            name: name.to_string(),
            content_type: content_type.to_string(),
            body,
        },
        attachments: parsed
            .attachments
            .into_iter()
            .map(|a| Document {
                name: a.name,
                content_type: a.content_type,
                body: a.bytes,
            })
            .collect(),
        revision: parsed.revision,
        cancelled: parsed.cancelled,
        notes: parsed.notes,
        extra: serde_json::value::to_raw_value(&parsed.extra)
            .map_err(|e| ValidationErrors::single("document", e.to_string()))?,
    };
    Ok((intake, provenance))
}
