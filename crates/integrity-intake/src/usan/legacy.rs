//! The "Legacy" fixed layout (a replica of Newtin's), shared by USA North
//! 811 and DigAlert:
//!
//! ```text
//! CNSA 25354 USAN 04/19/22 07:48 2022041900001-000 NEW NORM POLY LREQ
//!
//! Ticket: 2022041900001 Rev: 000 Created: 04/19/22 07:48 User: … Chan: WEB
//! Work Start: 04/25/22 08:00 Legal Start: 04/25/22 08:00 Expires: 05/19/22 23:59
//! …
//! Location: Address/Street: 1055 Fowler Ave
//!         : X/ST1: Barstow ave
//! ```
//!
//! Lines are `Label: value` with further labels on the same line; a line
//! that starts with `:` continues the last value; `Map Link:`, `Comments:`,
//! `Members:` and `Polygon:` take the lines that follow. Dates have no zone
//! and are Pacific local time.

use serde_json::{json, Value};

use super::{document, non_empty, parse_count, parse_degrees, parse_legacy_time, Builder};
use crate::{IntakeError, Parsed};

/// The label a line starts with, and the labels that may follow it on the
/// same line, in order. Labels match without regard to case and may have
/// spaces before their colon (`City   :`, `Work For :`).
const LINES: &[(&str, &[&str])] = &[
    ("Ticket", &["Rev", "Created", "User", "Chan"]),
    (
        "Work Start",
        &[
            "Legal Start",
            "Expires",
            "Response Required",
            "Priority",
            "Re-marks Required",
        ],
    ),
    ("Response Required", &["Priority", "Re-marks Required"]),
    ("Priority", &["Re-marks Required"]),
    ("Re-marks Required", &[]),
    ("Company", &["Type"]),
    ("Co Addr", &[]),
    ("City", &["State", "Zip"]),
    ("Created By", &["Language"]),
    ("Office Phone", &["SMS/Cell"]),
    ("Office Email", &[]),
    ("Site Contact", &[]),
    ("Site Phone", &["Site SMS/Cell"]),
    ("Site Email", &[]),
    ("State", &["County", "Place"]),
    ("Zip", &[]),
    ("Address", &["Street"]),
    ("Cross 1", &[]),
    ("Cross 2", &[]),
    ("Location", &[]),
    ("Delineated Method", &[]),
    ("Work Type", &[]),
    ("Work For", &[]),
    ("Permit", &["Job/Work Order"]),
    (
        "1 Year",
        &["Boring", "Street/Sidewalk", "Vacuum", "Explosives"],
    ),
    ("Center Generated (NAD83)", &[]),
    ("Excavator Provided", &[]),
    ("Polygon", &[]),
    ("Map Link", &[]),
    ("Comments", &[]),
    ("Members", &[]),
];

/// Labels whose value is the lines below them.
const BLOCKS: &[&str] = &["Polygon", "Map Link", "Comments", "Members"];

/// Lines that only title a part of the ticket.
const TITLES: &[&str] = &["Excavator Information", "Excavation Area", "Lat/Long"];

/// One labelled value: its lines, each with its line number.
struct Labelled {
    label: &'static str,
    lines: Vec<(usize, String)>,
}

impl Labelled {
    fn line(&self) -> usize {
        self.lines.first().map_or(0, |l| l.0)
    }

    fn first(&self) -> &str {
        self.lines.first().map_or("", |l| l.1.as_str())
    }

    fn at(&self) -> String {
        format!("line {}", self.line())
    }

    /// The lines joined, blank ones left out.
    fn joined(&self, separator: &str) -> Option<String> {
        let parts: Vec<&str> = self
            .lines
            .iter()
            .map(|l| l.1.trim())
            .filter(|l| !l.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(separator))
    }
}

/// Reads a USA North 811 "Legacy" text ticket.
///
/// Errors name the line (`line 3`) and what was expected there.
pub fn parse_legacy(bytes: &[u8]) -> Result<Parsed, IntakeError> {
    let (text, builder) = document(bytes)?;
    let text = text.as_ref();
    if text.trim().is_empty() {
        return Err(IntakeError::new(
            "line 1",
            "empty document: expected a USA North 811 legacy ticket",
        ));
    }

    let mut values: Vec<Labelled> = Vec::new();
    let mut header: Option<(usize, &str)> = None;
    let mut after_header: Option<usize> = None;
    let mut seen_content = false;
    let mut block = false;
    let mut unparsed: Vec<Value> = Vec::new();
    let mut last_line = 0;

    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        last_line = n;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if header.is_some() && after_header.is_none() {
            after_header = Some(n);
        }
        if line.len() >= 13 && line.as_bytes()[..13].eq_ignore_ascii_case(b"(c) copyright") {
            break;
        }
        if let Some(rest) = line.strip_prefix(':') {
            match values.last_mut() {
                Some(value) => value.lines.push((n, rest.trim().to_string())),
                None => unparsed.push(Value::String(line.to_string())),
            }
            continue;
        }
        if TITLES.iter().any(|t| t.eq_ignore_ascii_case(line)) {
            block = false;
            seen_content = true;
            continue;
        }
        if let Some(fields) = labelled(line) {
            seen_content = true;
            block = false;
            for (label, value) in fields {
                values.push(Labelled {
                    label,
                    lines: vec![(n, value.to_string())],
                });
                block = BLOCKS.contains(&label);
            }
            continue;
        }
        if !seen_content {
            seen_content = true;
            header = Some((n, line));
            continue;
        }
        match values.last_mut() {
            Some(value) if block => value.lines.push((n, line.to_string())),
            _ => unparsed.push(Value::String(line.to_string())),
        }
    }

    let mut b = builder;
    let header_ticket = match header {
        Some((n, line)) => Some(read_header(&mut b, n, line)?),
        None => None,
    };
    let find = |label: &str| values.iter().find(|v| v.label == label);

    // Ticket line
    let Some(ticket) = find("Ticket") else {
        let n = after_header.unwrap_or(if header.is_some() { last_line + 1 } else { 1 });
        return Err(IntakeError::new(
            format!("line {n}"),
            "no `Ticket:` line: expected `Ticket: NUMBER Rev: NNN Created: MM/DD/YY HH:MM User: … Chan: …`",
        ));
    };
    let number = ticket
        .first()
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string();
    if number.is_empty() {
        return Err(IntakeError::new(
            ticket.at(),
            "`Ticket:` is empty: expected the ticket number",
        ));
    }
    b.parsed.content.ticket_number = number.clone();
    match find("Rev") {
        Some(rev) if !rev.first().trim().is_empty() => b.revision(rev.first(), &rev.at())?,
        _ => {
            if let Some((_, rev)) = &header_ticket {
                b.parsed.revision = parse_count(rev).filter(|n| crate::is_revision(*n));
            }
        }
    }
    if let Some((header_number, header_rev)) = header_ticket {
        let rev = b.parsed.revision.map(|r| format!("{r:03}"));
        if header_number != number
            || (rev.is_some() && parse_count(&header_rev) != b.parsed.revision)
        {
            let rev = rev.unwrap_or_default();
            b.note(format!(
                "{}: the header names ticket {header_number}-{header_rev} but the Ticket line {number}-{rev}; the Ticket line is used",
                header.map_or(String::new(), |h| format!("line {}", h.0))
            ));
        }
    }
    if let Some(v) = find("Created") {
        b.parsed.content.taken_at = b.time(v.first(), &v.at(), parse_legacy_time)?;
    }
    if let Some(v) = find("User") {
        b.extra_text("user", v.first());
    }
    if let Some(v) = find("Chan") {
        b.parsed.content.ticket_source = non_empty(v.first());
    }

    // Dates and handling
    if let Some(v) = find("Work Start") {
        b.parsed.content.work_start_at = b.time(v.first(), &v.at(), parse_legacy_time)?;
    }
    if let Some(v) = find("Legal Start") {
        b.parsed.content.response_due_at = b.time(v.first(), &v.at(), parse_legacy_time)?;
    }
    if let Some(v) = find("Expires") {
        if let Some(ms) = b.time(v.first(), &v.at(), parse_legacy_time)? {
            b.extra(
                "expires_at",
                Value::String(integrity_domain::time::format_millis(ms)),
            );
        }
    }
    if let Some(v) = find("Response Required") {
        if let Some(flag) = b.flag("response_required", v.first(), &v.at()) {
            b.extra("response_required", Value::Bool(flag));
        }
    }
    if let Some(v) = find("Priority") {
        b.extra_text("priority", v.first());
    }
    if let Some(v) = find("Re-marks Required").and_then(|v| v.joined("\n")) {
        b.extra("remarks_required", Value::String(v));
    }

    // Excavator
    let text_of = |label: &str| find(label).and_then(|v| non_empty(v.first()));
    b.company = text_of("Company");
    b.parsed.content.excavator.kind = text_of("Type");
    // `State:` and `Zip:` also start lines of the excavation area; those on
    // the `City` line are the excavator's.
    let city_line = find("City").map(|v| v.line());
    let on_city_line = |label: &str, wanted: bool| {
        values
            .iter()
            .find(|v| v.label == label && (Some(v.line()) == city_line) == wanted)
            .and_then(|v| non_empty(v.first()))
    };
    b.caller_address = [
        text_of("Co Addr"),
        text_of("City"),
        on_city_line("State", true),
        on_city_line("Zip", true),
    ];
    b.parsed.content.excavator.caller.name = text_of("Created By");
    if let Some(v) = text_of("Language") {
        b.extra("language", Value::String(v));
    }
    b.parsed.content.excavator.phone = text_of("Office Phone");
    if let Some(v) = text_of("SMS/Cell") {
        b.extra("mobile", Value::String(v));
    }
    b.parsed.content.excavator.caller.email =
        text_of("Office Email").or_else(|| text_of("User").filter(|u| u.contains('@')));
    b.parsed.content.excavator.contact.name = text_of("Site Contact");
    b.parsed.content.excavator.contact.phone = text_of("Site Phone");
    b.parsed.content.excavator.contact.email = text_of("Site Email");
    if let Some(v) = text_of("Site SMS/Cell") {
        b.extra("site_mobile", Value::String(v));
    }

    // Excavation area
    b.work_address[1] = text_of("Place");
    b.work_address[2] = text_of("County");
    b.work_address[3] = on_city_line("State", false);
    b.work_address[4] = on_city_line("Zip", false);
    let street = [text_of("Address"), text_of("Street")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    b.work_address[0] = non_empty(&street);
    b.parsed.content.work.nearby_street = text_of("Cross 1");
    if let Some(v) = text_of("Cross 2") {
        b.extra("cross_street_2", Value::String(v));
    }
    let mut remarks: Vec<String> = Vec::new();
    if let Some(location) = find("Location") {
        for (_, line) in &location.lines {
            let line = line.trim();
            if let Some(v) = strip_label(line, "Address/Street") {
                if b.work_address[0].is_none() {
                    b.work_address[0] = non_empty(v);
                }
            } else if let Some(v) = strip_label(line, "X/ST1") {
                if b.parsed.content.work.nearby_street.is_none() {
                    b.parsed.content.work.nearby_street = non_empty(v);
                }
            } else if let Some(v) = strip_label(line, "X/ST2") {
                if let Some(v) = non_empty(v) {
                    b.extra("cross_street_2", Value::String(v));
                }
            } else if !line.is_empty() {
                remarks.push(line.to_string());
            }
        }
    }
    if let Some(v) = find("Comments").and_then(|v| v.joined("\n")) {
        remarks.push(v);
    }
    if !remarks.is_empty() {
        b.parsed.content.remarks = Some(remarks.join("\n"));
    }

    // Work
    if let Some(v) = find("Delineated Method") {
        b.delineated(v.first(), &v.at());
    }
    b.work_type = text_of("Work Type");
    b.parsed.content.work.done_for = text_of("Work For");
    if let Some(v) = text_of("Permit") {
        b.extra("permit", Value::String(v));
    }
    if let Some(v) = text_of("Job/Work Order") {
        b.extra("job_name", Value::String(v));
    }
    if let Some(v) = find("1 Year") {
        if let Some(flag) = b.flag("one_year", v.first(), &v.at()) {
            b.extra("one_year", Value::Bool(flag));
        }
    }
    if let Some(v) = find("Boring") {
        b.parsed.content.work.tunneling_or_boring = b.flag("boring", v.first(), &v.at());
    }
    if let Some(v) = find("Street/Sidewalk") {
        if let Some(flag) = b.flag("street_sidewalk", v.first(), &v.at()) {
            b.extra("street_sidewalk", Value::Bool(flag));
        }
    }
    if let Some(v) = find("Vacuum") {
        if let Some(flag) = b.flag("vacuum_excavation", v.first(), &v.at()) {
            b.extra("vacuum_excavation", Value::Bool(flag));
        }
    }
    if let Some(v) = find("Explosives") {
        b.parsed.content.work.explosives = b.flag("explosives", v.first(), &v.at());
    }

    // Position
    let center = match find("Center Generated (NAD83)") {
        Some(v) => points(v)?,
        None => Vec::new(),
    };
    let provided = match find("Excavator Provided") {
        Some(v) => points(v)?,
        None => Vec::new(),
    };
    if let Some((n, lat, lng)) = center.first().or(provided.first()) {
        let at = format!("line {n}");
        b.coordinate(lat, &at, true)?;
        b.coordinate(lng, &at, false)?;
    }
    if center.len() > 1 {
        b.extra("center_generated", point_list(&center));
    }
    if !provided.is_empty() {
        b.extra("excavator_provided", point_list(&provided));
    }
    if let Some(v) = find("Polygon").and_then(|v| v.joined("\n")) {
        b.extra("polygon", Value::String(v));
    }
    if let Some(v) = find("Map Link").and_then(|v| v.joined("")) {
        b.extra("map_link", Value::String(v));
    }

    // Members
    if let Some(members) = find("Members") {
        for (_, line) in &members.lines {
            for code in line.split_whitespace() {
                b.station(code);
            }
        }
    }
    if !unparsed.is_empty() {
        b.extra("unparsed_lines", Value::Array(unparsed));
    }
    let at = ticket.at();
    b.finish(&at, "`Ticket:` is empty: expected the ticket number")
}

/// `CNSA 25354 USAN 04/19/22 07:48 2022041900001-000 NEW NORM POLY LREQ`:
/// station, sequence, center, date, time, ticket-revision, then codes
/// (action, type, …). Returns the ticket number and revision it names.
fn read_header(b: &mut Builder, n: usize, line: &str) -> Result<(String, String), IntakeError> {
    let at = format!("line {n}");
    let expected = "expected the header `STATION SEQUENCE CENTER MM/DD/YY HH:MM TICKET-REV CODES…`";
    let tokens: Vec<&str> = line.split_whitespace().collect();
    if tokens.len() < 6 {
        return Err(IntakeError::new(at, format!("{expected}, found {line:?}")));
    }
    let (ticket, rev) = tokens[5]
        .rsplit_once('-')
        .filter(|(t, r)| !t.is_empty() && parse_count(r).is_some())
        .ok_or_else(|| {
            IntakeError::new(
                &at,
                format!("{expected}: the sixth field should be TICKET-REV like 2022041900001-000, found {:?}", tokens[5]),
            )
        })?;
    b.parsed.content.service_area = Some(tokens[0].to_string());
    b.sequence(tokens[1], &at)?;
    b.extra("center", Value::String(tokens[2].to_string()));
    let stamp = format!("{} {}", tokens[3], tokens[4]);
    if let Some(ms) = b.time(&stamp, &at, parse_legacy_time)? {
        b.extra(
            "transmitted_at",
            Value::String(integrity_domain::time::format_millis(ms)),
        );
    }
    let codes = &tokens[6..];
    if let Some(action) = codes.first() {
        b.status(action);
    }
    if let Some(kind) = codes.get(1) {
        b.parsed.content.ticket_type = Some(kind.to_string());
    }
    if codes.iter().any(|c| super::is_cancel(c)) {
        b.parsed.cancelled = true;
    }
    if !codes.is_empty() {
        b.extra("header_codes", json!(codes));
    }
    Ok((ticket.to_string(), rev.to_string()))
}

/// The `lat/long` pairs of a position value, each with its line.
fn points(value: &Labelled) -> Result<Vec<(usize, String, String)>, IntakeError> {
    let mut out = Vec::new();
    for (n, line) in &value.lines {
        for pair in line.split_whitespace() {
            let parsed = pair
                .split_once('/')
                .filter(|(lat, lng)| parse_degrees(lat).is_some() && parse_degrees(lng).is_some());
            let Some((lat, lng)) = parsed else {
                return Err(IntakeError::new(
                    format!("line {n}"),
                    format!(
                        "{}: expected LAT/LONG pairs in decimal degrees like 36.817019/-119.681335, found {pair:?}",
                        value.label
                    ),
                ));
            };
            out.push((*n, lat.to_string(), lng.to_string()));
        }
    }
    Ok(out)
}

fn point_list(points: &[(usize, String, String)]) -> Value {
    Value::Array(
        points
            .iter()
            .filter_map(|(_, lat, lng)| Some(json!([parse_degrees(lat)?, parse_degrees(lng)?])))
            .collect(),
    )
}

/// The labels of a line and their values, when it starts with a label.
fn labelled(line: &str) -> Option<Vec<(&'static str, &str)>> {
    let (first, rest) = LINES
        .iter()
        .filter(|(label, _)| label_end(line, 0, label).is_some())
        .max_by_key(|(label, _)| label.len())?;
    let mut cursor = label_end(line, 0, first)?;
    let mut current = *first;
    let mut out = Vec::new();
    for label in rest.iter() {
        if let Some((start, end)) = find_label(line, cursor, label) {
            out.push((current, line[cursor..start].trim()));
            current = label;
            cursor = end;
        }
    }
    out.push((current, line[cursor..].trim()));
    Some(out)
}

/// Where the value starts if `label` (any case, then optional spaces, then
/// `:`) stands at byte `at` of `line`.
fn label_end(line: &str, at: usize, label: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let end = at.checked_add(label.len())?;
    if end > bytes.len() || !bytes[at..end].eq_ignore_ascii_case(label.as_bytes()) {
        return None;
    }
    let mut i = end;
    while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
        i += 1;
    }
    (i < bytes.len() && bytes[i] == b':').then_some(i + 1)
}

/// The first `label:` at or after `from` that starts a word: (its start,
/// where its value starts).
fn find_label(line: &str, from: usize, label: &str) -> Option<(usize, usize)> {
    let bytes = line.as_bytes();
    (from..bytes.len())
        .filter(|&i| i > 0 && bytes[i - 1].is_ascii_whitespace())
        .find_map(|i| label_end(line, i, label).map(|end| (i, end)))
}

/// `X/ST1: Barstow ave` → `Barstow ave`.
fn strip_label<'a>(line: &'a str, label: &str) -> Option<&'a str> {
    label_end(line, 0, label).map(|end| line[end..].trim())
}
