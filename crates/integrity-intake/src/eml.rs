//! E-mails (`.eml`): a ticket in the text body or in an attachment, the
//! e-mail's other attachments kept with it.
//!
//! Call centers (USA North 811 among them) send each ticket as an e-mail:
//! the ticket as the text body (USAN "Option 2" or "Legacy" text), or as an
//! attachment (USAN XML, Open Ticket JSON), often beside files that belong
//! with it (GML polygons, GIF maps).
//!
//! Which part is the ticket (see `docs/intake.md`, "E-mails"):
//!
//! 1. each attachment or inline non-body part, in the order of the message,
//!    then
//! 2. each `text/plain` body part, or, when the message has no
//!    `text/plain` body, each `text/html` body with its tags stripped,
//!
//! that [`format::detect`] recognises as a ticket format other than
//! [`Format::Eml`]. They are read in that order with [`format::parse`]; the
//! first that reads is the ticket. When none reads, the error is the first
//! one's, its location prefixed by the part (`attachment "ticket.xml":
//! /OneCallReferral/…`, `body: line 12`), the others' added to its message.
//! When none is recognised at all, the error says what was looked at.
//!
//! Every other attachment goes to [`Parsed::attachments`] byte for byte (as
//! sent, transfer encoding undone, charset left as it was); the e-mail's
//! own facts go to `extra.email`.

use std::borrow::Cow;

use mail_parser::parsers::MessageStream;
use mail_parser::{
    Encoding, HeaderName, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};
use serde_json::{json, Map, Value};

use crate::format::{self, Format};
use crate::{Attachment, IntakeError, Parsed};

/// Reads an e-mail carrying a ticket: the ticket from its body or an
/// attachment (read by [`format::parse`]), its other attachments in
/// [`Parsed::attachments`], and `from`, `to`, `subject`, `date` (RFC 3339,
/// UTC), `message_id` and `ticket_part` under `extra.email`.
///
/// Errors: location `message` when the input is not an e-mail or carries no
/// ticket; otherwise the ticket parser's error, its location prefixed by the
/// part (`attachment "ticket.xml": …`, `body: …`). Never panics.
pub fn parse_eml(bytes: &[u8]) -> Result<Parsed, IntakeError> {
    parse_eml_with(bytes, format::detect, format::parse)
}

/// [`parse_eml`] with the format detector and the ticket parser supplied
/// (tests use it to check which part is chosen without depending on the
/// real parsers; a caller may use it to accept only some formats).
pub fn parse_eml_with<D, P>(bytes: &[u8], detect: D, parse: P) -> Result<Parsed, IntakeError>
where
    D: Fn(&[u8], Option<&str>) -> Option<Format>,
    P: Fn(Format, &[u8]) -> Result<Parsed, IntakeError>,
{
    let message = MessageParser::default()
        .parse(bytes)
        .filter(is_email)
        .ok_or_else(|| {
            IntakeError::new(
                "message",
                "not an e-mail: it does not open with e-mail headers \
             (From:, To:, Subject:, Date:, Message-ID:, Content-Type:, …)",
            )
        })?;
    let parts = parts(&message);

    // The candidates, in the order they are tried: attachments, then the
    // text/plain body, else the text/html body.
    let has_plain_body = parts.iter().any(|p| p.role == Role::Body);
    let order = parts
        .iter()
        .enumerate()
        .filter(|(_, p)| p.role == Role::Attachment)
        .chain(
            parts
                .iter()
                .enumerate()
                .filter(|(_, p)| p.role == Role::Body),
        )
        .chain(
            parts
                .iter()
                .enumerate()
                .filter(|(_, p)| p.role == Role::HtmlBody && !has_plain_body),
        );

    let mut looked_at = Vec::new();
    let mut failures: Vec<IntakeError> = Vec::new();
    let mut ticket = None;
    for (index, part) in order {
        let detected =
            detect(&part.ticket_bytes, Some(&part.mime_type)).filter(|f| *f != Format::Eml);
        let Some(found) = detected else {
            looked_at.push(format!(
                "{} ({}, {} bytes)",
                part.label,
                part.mime_type,
                part.ticket_bytes.len()
            ));
            continue;
        };
        match parse(found, &part.ticket_bytes) {
            Ok(parsed) => {
                ticket = Some((index, parsed));
                break;
            }
            Err(e) => failures.push(IntakeError::new(
                format!("{}: {}", part.label, e.location),
                e.message,
            )),
        }
    }

    let Some((ticket_index, mut parsed)) = ticket else {
        let mut failures = failures.into_iter();
        if let Some(mut first) = failures.next() {
            let others: Vec<String> = failures.map(|e| e.to_string()).collect();
            if !others.is_empty() {
                first.message = format!("{} (also tried {})", first.message, others.join("; "));
            }
            return Err(first);
        }
        let what = if looked_at.is_empty() {
            "the e-mail has neither a body nor attachments".to_string()
        } else {
            format!(
                "looked at {}: none is in a ticket format",
                looked_at.join(", ")
            )
        };
        return Err(IntakeError::new(
            "message",
            format!("no ticket found in the body or attachments ({what})"),
        ));
    };

    let ticket_label = parts
        .get(ticket_index)
        .map(|p| p.label.clone())
        .unwrap_or_default();
    let others = parts
        .into_iter()
        .enumerate()
        .filter(|(index, part)| part.role == Role::Attachment && *index != ticket_index)
        .map(|(_, part)| Attachment {
            name: part.name,
            content_type: part.content_type,
            bytes: part.file_bytes,
        });
    parsed.attachments.extend(others);

    let email = email_facts(&message, &ticket_label);
    parsed.extra = match std::mem::take(&mut parsed.extra) {
        Value::Null => json!({ "email": email }),
        Value::Object(mut extra) => {
            if let Some(theirs) = extra.remove("email") {
                extra.insert("ticket_email".to_string(), theirs);
                parsed.notes.push(
                    "the ticket's own \"email\" field is kept in extra as \"ticket_email\""
                        .to_string(),
                );
            }
            extra.insert("email".to_string(), email);
            Value::Object(extra)
        }
        other => json!({ "email": email, "ticket": other }),
    };
    Ok(parsed)
}

/// What a part is to the ticket search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A text/plain body part (not an attachment).
    Body,
    /// A text/html body part (the alternative to, or instead of, text/plain).
    HtmlBody,
    /// Anything else: a named or binary part, a text part that is not
    /// plain or HTML, a nested message.
    Attachment,
}

struct Part {
    role: Role,
    /// `body`, `attachment "map.gif"`: the prefix of error locations.
    label: String,
    /// The attachment's file name, or `attachment-N`.
    name: String,
    /// `image/gif`, `text/plain`: lower case, without parameters.
    mime_type: String,
    /// `mime_type`, with `; charset=…` for a text part that named one.
    content_type: String,
    /// What the ticket parsers get: text as UTF-8 with LF line ends (an
    /// HTML body with its tags stripped), anything else as sent.
    ticket_bytes: Vec<u8>,
    /// The part as sent, transfer encoding undone (an attachment's file).
    file_bytes: Vec<u8>,
}

/// mail-parser reads almost anything as headers (`Ticket: 1` is a header
/// named "Ticket"): an e-mail has at least one header it knows.
fn is_email(message: &Message<'_>) -> bool {
    message
        .headers()
        .iter()
        .any(|h| !matches!(h.name, HeaderName::Other(_)))
}

/// The message's leaf parts (not multipart containers; a nested message is
/// one part), in order.
fn parts(message: &Message<'_>) -> Vec<Part> {
    let raw: &[u8] = &message.raw_message;
    let mut out = Vec::new();
    let mut attachment_count = 0;
    let mut plain_bodies = 0;
    let mut html_bodies = 0;
    for (index, part) in message.parts.iter().enumerate() {
        if matches!(part.body, PartType::Multipart(_)) {
            continue;
        }
        let id = u32::try_from(index).unwrap_or(u32::MAX);
        let role = match &part.body {
            PartType::Text(_) if !message.attachments.contains(&id) => Role::Body,
            PartType::Html(_) if !message.attachments.contains(&id) => Role::HtmlBody,
            _ => Role::Attachment,
        };
        let mime_type = match part.content_type() {
            Some(ct) => match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
                None => ct.ctype().to_ascii_lowercase(),
            },
            None if matches!(part.body, PartType::Message(_)) => "message/rfc822".to_string(),
            None => "text/plain".to_string(),
        };
        let charset = part
            .content_type()
            .and_then(|ct| ct.attribute("charset"))
            .map(str::trim)
            .filter(|c| !c.is_empty() && mime_type.starts_with("text/"));
        let (label, name, content_type, ticket_bytes, file_bytes) = match role {
            Role::Attachment => {
                attachment_count += 1;
                let name = part
                    .attachment_name()
                    .map(|n| n.rsplit(['/', '\\']).next().unwrap_or_default().trim())
                    .filter(|n| !n.is_empty())
                    .map_or_else(|| format!("attachment-{attachment_count}"), str::to_string);
                let (file_bytes, as_sent) = file_bytes(raw, part);
                let content_type = match charset {
                    Some(_) if !as_sent => format!("{mime_type}; charset=utf-8"),
                    Some(charset) => format!("{mime_type}; charset={charset}"),
                    None => mime_type.clone(),
                };
                let ticket_bytes = match &part.body {
                    PartType::Text(text) | PartType::Html(text) => {
                        lf_lines(text).into_owned().into_bytes()
                    }
                    _ => file_bytes.clone(),
                };
                let label = format!("attachment {name:?}");
                (label, name, content_type, ticket_bytes, file_bytes)
            }
            Role::Body | Role::HtmlBody => {
                let (text, label) = match &part.body {
                    PartType::Html(html) => {
                        html_bodies += 1;
                        let label = match html_bodies {
                            1 => "body (HTML, tags stripped)".to_string(),
                            n => format!("body part {n} (HTML, tags stripped)"),
                        };
                        (strip_html(html), label)
                    }
                    _ => {
                        plain_bodies += 1;
                        let label = match plain_bodies {
                            1 => "body".to_string(),
                            n => format!("body part {n}"),
                        };
                        (part.text_contents().unwrap_or_default().to_string(), label)
                    }
                };
                let ticket_bytes = lf_lines(&text).into_owned().into_bytes();
                (
                    label,
                    String::new(),
                    mime_type.clone(),
                    ticket_bytes,
                    Vec::new(),
                )
            }
        };
        out.push(Part {
            role,
            label,
            name,
            mime_type,
            content_type,
            ticket_bytes,
            file_bytes,
        });
    }
    out
}

/// A part's bytes as sent: transfer encoding (base64, quoted-printable)
/// undone, but not the charset conversion mail-parser applies to text.
/// `false` when only the converted text (UTF-8) could be had.
fn file_bytes(raw: &[u8], part: &MessagePart<'_>) -> (Vec<u8>, bool) {
    match &part.body {
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => (bytes.to_vec(), true),
        PartType::Text(text) | PartType::Html(text) => match redecode(raw, part) {
            Some(bytes) => (bytes, true),
            None => (text.as_bytes().to_vec(), false),
        },
        PartType::Message(nested) => {
            let bytes = redecode(raw, part).unwrap_or_else(|| nested.raw_message.to_vec());
            (bytes, true)
        }
        PartType::Multipart(_) => (Vec::new(), true),
    }
}

/// Undoes the transfer encoding of the part's raw body again.
fn redecode(raw: &[u8], part: &MessagePart<'_>) -> Option<Vec<u8>> {
    let body = raw.get(part.offset_body as usize..part.offset_end as usize)?;
    let (end, bytes) = match part.encoding {
        Encoding::None => return Some(body.to_vec()),
        Encoding::Base64 => MessageStream::new(body).decode_base64_mime(b""),
        Encoding::QuotedPrintable => MessageStream::new(body).decode_quoted_printable_mime(b""),
    };
    (end != usize::MAX).then(|| bytes.into_owned())
}

/// CRLF (and lone CR) line ends as LF: e-mail text has CRLF, the text
/// formats' parsers read lines.
fn lf_lines(text: &str) -> Cow<'_, str> {
    if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(text)
    }
}

/// An HTML body as text, crudely: comments and `head`, `style`, `script`
/// and `title` contents dropped, `<br>` and the ends of blocks as line
/// breaks, other tags removed, common entities decoded, spacing kept (so
/// that a fixed-layout ticket in a `<pre>` keeps its columns).
fn strip_html(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len());
    let mut pos = 0;
    while let Some(found) = lower[pos..].find('<') {
        let lt = pos + found;
        push_text(&mut out, &html[pos..lt]);
        let after = &lower[lt + 1..];
        if after.starts_with("!--") {
            pos = after.find("-->").map_or(html.len(), |end| lt + 1 + end + 3);
            continue;
        }
        if !after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!' || c == '?')
        {
            // A lone `<` in text.
            out.push('<');
            pos = lt + 1;
            continue;
        }
        let Some(gt) = after.find('>') else {
            pos = html.len();
            break;
        };
        let tag = &after[..gt];
        pos = lt + 1 + gt + 1;
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        match name.as_str() {
            "head" | "style" | "script" | "title" if !closing => {
                let end_tag = format!("</{name}");
                pos = match lower[pos..].find(&end_tag) {
                    Some(at) => lower[pos + at..]
                        .find('>')
                        .map_or(html.len(), |gt| pos + at + gt + 1),
                    None => html.len(),
                };
            }
            "br" => out.push('\n'),
            "p" | "div" | "tr" | "li" | "table" | "pre" | "blockquote" | "h1" | "h2" | "h3"
            | "h4" | "h5" | "h6"
                if closing =>
            {
                out.push('\n')
            }
            _ => {}
        }
    }
    push_text(&mut out, &html[pos.min(html.len())..]);
    out
}

/// Text between tags, entities decoded.
fn push_text(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let entity = rest.get(1..).and_then(|r| {
            r.bytes()
                .take(12)
                .position(|b| b == b';')
                .map(|end| &r[..end])
        });
        let decoded = entity.and_then(|entity| match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            _ => {
                let number = entity.strip_prefix('#')?;
                let code = match number.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => number.parse().ok()?,
                };
                char::from_u32(code)
            }
        });
        match (entity, decoded) {
            (Some(entity), Some(c)) => {
                out.push(c);
                rest = &rest[entity.len() + 2..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
}

/// `extra.email`: who sent the ticket to whom, when, and which part it was.
fn email_facts(message: &Message<'_>, ticket_part: &str) -> Value {
    let date = message.date().filter(|d| d.is_valid()).and_then(|d| {
        chrono::DateTime::from_timestamp(d.to_timestamp(), 0)
            .map(|utc| utc.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    });
    let mut email = Map::new();
    email.insert(
        "from".into(),
        message.from().and_then(|a| a.first()).map(addr).into(),
    );
    email.insert(
        "to".into(),
        message
            .to()
            .map(|a| a.iter().map(addr).collect::<Vec<_>>())
            .unwrap_or_default()
            .into(),
    );
    email.insert("subject".into(), message.subject().into());
    email.insert("date".into(), date.into());
    email.insert("message_id".into(), message.message_id().into());
    email.insert("ticket_part".into(), ticket_part.into());
    Value::Object(email)
}

/// `Name <address>`, or the address alone.
fn addr(a: &mail_parser::Addr<'_>) -> String {
    match (a.name(), a.address()) {
        (Some(name), Some(address)) if !name.trim().is_empty() => {
            format!("{} <{address}>", name.trim())
        }
        (_, Some(address)) => address.to_string(),
        (Some(name), None) => name.trim().to_string(),
        (None, None) => String::new(),
    }
}
