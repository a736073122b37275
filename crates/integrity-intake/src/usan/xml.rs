//! The OneCallAccess XML (`onecall:OneCallReferral`, "Option 3").
//!
//! Read as a stream of events: each leaf element is mapped when it closes,
//! so memory stays bounded by the element path and the ticket being built,
//! never by a tree of the document. Elements are matched on their local
//! name (`onecall:TicketNumber` → `TicketNumber`), whatever the prefix.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use serde_json::{Map, Value};

use super::{document, field_by_xml_name, non_empty, Builder, Section};
use crate::{IntakeError, Parsed};

/// The schema nests four levels; anything much deeper is not a ticket.
const MAX_DEPTH: usize = 32;
const ROOT: &str = "OneCallReferral";
const TICKET_NUMBER_PATH: &str = "/OneCallReferral/ReferralDetails/TicketNumber";

#[derive(Default)]
struct Frame {
    name: String,
    nil: bool,
    has_children: bool,
    text: String,
}

/// The open elements, and the frames of closed ones kept for the next
/// elements to open: a document's hundred elements then cost no allocation
/// each for their names, their text and their paths.
#[derive(Default)]
struct Elements {
    open: Vec<Frame>,
    spare: Vec<Frame>,
    /// The path of the element closing, written anew at each close.
    path: String,
}

/// Reads a USA North 811 OneCallAccess XML ticket.
///
/// Errors name the element path (`/OneCallReferral/ReferralDetails/TicketNumber`)
/// and what was expected there; invalid UTF-8 is reported by line.
pub fn parse_xml(bytes: &[u8]) -> Result<Parsed, IntakeError> {
    let (text, mut builder) = document(bytes)?;
    let text = text.as_ref();
    if text.trim().is_empty() {
        return Err(IntakeError::new(
            "/",
            "empty document: expected a OneCallReferral XML document",
        ));
    }
    let mut reader = Reader::from_str(text);
    let mut elements = Elements::default();
    let mut unmapped = Map::new();
    let mut seen_root = false;
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                let line = line_at(text, reader.error_position());
                return Err(IntakeError::new(
                    path(&elements.open),
                    format!("malformed XML at line {line}: {e}"),
                ));
            }
        };
        match event {
            Event::Start(e) => open(&mut elements, &e, &mut seen_root)?,
            Event::Empty(e) => {
                open(&mut elements, &e, &mut seen_root)?;
                close(&mut elements, &mut builder, &mut unmapped)?;
            }
            Event::End(_) => close(&mut elements, &mut builder, &mut unmapped)?,
            Event::Text(t) => match elements.open.last_mut() {
                Some(top) => top.text.push_str(&t.xml10_content()),
                None if t.trim().is_empty() => {}
                None => {
                    return Err(IntakeError::new(
                        "/",
                        format!(
                        "text outside the root element at line {}: expected only <onecall:{ROOT}>",
                        line_at(text, reader.buffer_position())
                    ),
                    ))
                }
            },
            Event::CData(c) => {
                if let Some(top) = elements.open.last_mut() {
                    top.text.push_str(&c.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(ch)) => Some(ch.to_string()),
                    Ok(None) => resolve_predefined_entity(&r).map(str::to_string),
                    Err(_) => None,
                };
                let Some(resolved) = resolved else {
                    return Err(IntakeError::new(
                        path(&elements.open),
                        format!(
                            "unknown entity &{};: expected one of &lt; &gt; &amp; &apos; &quot; or a character reference",
                            &*r
                        ),
                    ));
                };
                if let Some(top) = elements.open.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if let Some(top) = elements.open.last() {
        return Err(IntakeError::new(
            path(&elements.open),
            format!(
                "the document ends inside <{}>: expected its closing tag",
                top.name
            ),
        ));
    }
    if !seen_root {
        return Err(IntakeError::new(
            "/",
            format!("no root element: expected <onecall:{ROOT}>"),
        ));
    }
    if !unmapped.is_empty() {
        builder.extra("unmapped", Value::Object(unmapped));
    }
    builder.finish(
        TICKET_NUMBER_PATH,
        "missing or empty: expected the ticket number (onecall:TicketNumber)",
    )
}

/// `/OneCallReferral/ReferralDetails` for the open elements.
fn path(stack: &[Frame]) -> String {
    let mut path = String::new();
    write_path(stack, &mut path);
    path
}

fn write_path(stack: &[Frame], path: &mut String) {
    path.clear();
    if stack.is_empty() {
        path.push('/');
    }
    for frame in stack {
        path.push('/');
        path.push_str(&frame.name);
    }
}

fn line_at(text: &str, position: u64) -> usize {
    let end = usize::try_from(position)
        .unwrap_or(usize::MAX)
        .min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn open(elements: &mut Elements, e: &BytesStart, seen_root: &mut bool) -> Result<(), IntakeError> {
    let stack = &mut elements.open;
    let name = e.local_name().into_inner();
    match stack.last_mut() {
        None => {
            if *seen_root {
                return Err(IntakeError::new(
                    format!("/{name}"),
                    format!("a second root element: expected the document to end after </onecall:{ROOT}>"),
                ));
            }
            if name != ROOT {
                return Err(IntakeError::new(
                    format!("/{name}"),
                    format!(
                        "unexpected root element <{}>: expected <onecall:{ROOT}>",
                        e.name().into_inner()
                    ),
                ));
            }
            *seen_root = true;
        }
        Some(parent) => {
            parent.has_children = true;
            parent.text.clear();
        }
    }
    if stack.len() >= MAX_DEPTH {
        return Err(IntakeError::new(
            path(stack),
            format!("elements nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    let mut nil = false;
    for attribute in e.attributes() {
        let attribute = attribute.map_err(|err| {
            IntakeError::new(
                format!("{}/{name}", path(stack).trim_end_matches('/')),
                format!("malformed attribute: {err}"),
            )
        })?;
        let key = attribute.key;
        if key.local_name().into_inner() == "nil" && key.prefix().is_some() {
            nil = matches!(attribute.value.trim(), "true" | "1");
        }
    }
    let mut frame = elements.spare.pop().unwrap_or_default();
    frame.name.clear();
    frame.name.push_str(name);
    frame.text.clear();
    frame.nil = nil;
    frame.has_children = false;
    stack.push(frame);
    Ok(())
}

fn close(
    elements: &mut Elements,
    builder: &mut Builder,
    unmapped: &mut Map<String, Value>,
) -> Result<(), IntakeError> {
    write_path(&elements.open, &mut elements.path);
    let Some(frame) = elements.open.pop() else {
        return Ok(());
    };
    let read = read_leaf(&frame, &elements.open, &elements.path, builder, unmapped);
    elements.spare.push(frame);
    read
}

/// Maps a closed element without children, at `at` below the `parents`.
fn read_leaf(
    frame: &Frame,
    parents: &[Frame],
    at: &str,
    builder: &mut Builder,
    unmapped: &mut Map<String, Value>,
) -> Result<(), IntakeError> {
    if frame.has_children {
        return Ok(());
    }
    // xsi:nil="true" means absent, whatever the element holds.
    let value = if frame.nil { "" } else { frame.text.as_str() };
    let name = |i: usize| parents.get(i).map(|f| f.name.as_str());
    let section = match name(1) {
        Some("ReferralDetails") => Some(Section::Referral),
        Some("CustomerDetails") => Some(Section::Customer),
        Some("LocationDetails") => Some(Section::Location),
        _ => None,
    };
    match (parents.len(), section) {
        (2, Some(section)) => {
            if let Some(field) = field_by_xml_name(section, &frame.name) {
                return builder.apply(field, value, at);
            }
        }
        (3, Some(Section::Referral))
            if name(2) == Some("StationList") && frame.name == "StationCode" =>
        {
            builder.station(value);
            return Ok(());
        }
        _ => {}
    }
    if parents.is_empty() {
        // The root element alone, without sections.
        return Ok(());
    }
    if let Some(value) = non_empty(value) {
        // Relative to the root: `LocationDetails/TicketEditReason`.
        let relative = at.trim_start_matches('/').split_once('/');
        let key = relative.map_or(at, |(_, rest)| rest).to_string();
        unmapped.insert(key, Value::String(value));
    }
    Ok(())
}
