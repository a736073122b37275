//! The "Option 2" plain text (also the body of "Option 3" e-mails):
//!
//! ```text
//! [REFERRAL DETAILS]
//! TICKET NO=               2022041400001
//! TICKET REVISION NO=      000
//! ```
//!
//! A banner precedes the first section and a "Please DO NOT REPLY" footer
//! follows the last. A line that is neither a key, a section nor blank,
//! right after a key line, continues that key's value (long remarks).

use serde_json::{Map, Value};

use super::{document, field_by_text_key, non_empty, Builder, Section};
use crate::{IntakeError, Parsed};

/// A `KEY=` line whose value is still being read.
struct Entry {
    line: usize,
    section: Option<Section>,
    section_name: String,
    key: String,
    value: String,
}

/// Reads a USA North 811 "Option 2" text ticket.
///
/// Errors name the line (`line 21`) and what was expected there.
pub fn parse_text(bytes: &[u8]) -> Result<Parsed, IntakeError> {
    let (text, mut builder) = document(bytes)?;
    let text = text.as_ref();
    if text.trim().is_empty() {
        return Err(IntakeError::new(
            "line 1",
            "empty document: expected a USA North 811 ticket with a [REFERRAL DETAILS] section",
        ));
    }
    let mut unmapped = Map::new();
    let mut unparsed: Vec<Value> = Vec::new();
    // (kind, name) of the section being read
    let mut section: Option<(Option<Section>, String)> = None;
    let mut referral_line: Option<usize> = None;
    let mut ticket_line: Option<usize> = None;
    let mut pending: Option<Entry> = None;

    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            flush(&mut pending, &mut builder, &mut unmapped)?;
            continue;
        }
        if let Some(name) = section_header(line) {
            flush(&mut pending, &mut builder, &mut unmapped)?;
            let kind = match name.as_str() {
                "REFERRAL DETAILS" => Some(Section::Referral),
                "CALLER DETAILS" | "CUSTOMER DETAILS" => Some(Section::Customer),
                "LOCATION DETAILS" => Some(Section::Location),
                _ => None,
            };
            if kind == Some(Section::Referral) && referral_line.is_none() {
                referral_line = Some(n);
            }
            section = Some((kind, name));
            continue;
        }
        if let (Some((kind, name)), Some((key, value))) = (&section, key_line(line)) {
            flush(&mut pending, &mut builder, &mut unmapped)?;
            if *kind == Some(Section::Referral) && key == "TICKET NO" {
                ticket_line = Some(n);
            }
            pending = Some(Entry {
                line: n,
                section: *kind,
                section_name: name.clone(),
                key,
                value: value.to_string(),
            });
            continue;
        }
        if let Some(entry) = pending.as_mut() {
            entry.value.push('\n');
            entry.value.push_str(line);
            continue;
        }
        // The banner before the first section and the footer after the
        // last are the center's boilerplate; anything else is kept.
        if section.is_some() && !line.starts_with("Please DO NOT REPLY") {
            unparsed.push(Value::String(line.to_string()));
        }
    }
    flush(&mut pending, &mut builder, &mut unmapped)?;

    let Some(referral_line) = referral_line else {
        return Err(IntakeError::new(
            "line 1",
            "no [REFERRAL DETAILS] section: expected a USA North 811 Option 2 ticket",
        ));
    };
    if !unmapped.is_empty() {
        builder.extra("unmapped", Value::Object(unmapped));
    }
    if !unparsed.is_empty() {
        builder.extra("unparsed_lines", Value::Array(unparsed));
    }
    let at = format!("line {}", ticket_line.unwrap_or(referral_line));
    let expected = if ticket_line.is_some() {
        "TICKET NO= is empty: expected the ticket number"
    } else {
        "[REFERRAL DETAILS] has no TICKET NO= line: expected the ticket number"
    };
    builder.finish(&at, expected)
}

fn flush(
    pending: &mut Option<Entry>,
    builder: &mut Builder,
    unmapped: &mut Map<String, Value>,
) -> Result<(), IntakeError> {
    let Some(entry) = pending.take() else {
        return Ok(());
    };
    let at = format!("line {}", entry.line);
    match entry.section.and_then(|s| field_by_text_key(s, &entry.key)) {
        Some(field) => builder.apply(field, &entry.value, &at),
        None => {
            if let Some(value) = non_empty(&entry.value) {
                unmapped.insert(
                    format!("{}/{}", entry.section_name, entry.key),
                    Value::String(value),
                );
            }
            Ok(())
        }
    }
}

/// `[REFERRAL DETAILS]` → `REFERRAL DETAILS`.
fn section_header(line: &str) -> Option<String> {
    let name = line.strip_prefix('[')?.strip_suffix(']')?;
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    (!name.is_empty()).then(|| name.to_ascii_uppercase())
}

/// `TICKET NO=   2022041400001` → (`TICKET NO`, `2022041400001`). A key is
/// upper case: letters, digits, spaces and `/ # - . ( ) _ &`.
fn key_line(line: &str) -> Option<(String, &str)> {
    let (key, value) = line.split_once('=')?;
    let key = key.trim();
    let valid = key.bytes().any(|b| b.is_ascii_uppercase())
        && key.bytes().all(|b| {
            b.is_ascii_uppercase()
                || b.is_ascii_digit()
                || matches!(
                    b,
                    b' ' | b'/' | b'#' | b'-' | b'.' | b'(' | b')' | b'_' | b'&'
                )
        });
    valid.then(|| {
        (
            key.split_whitespace().collect::<Vec<_>>().join(" "),
            value.trim(),
        )
    })
}
