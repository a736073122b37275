//! Which format a document is in, and the parser for each.

use crate::{IntakeError, Parsed};

/// The formats Integrity reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// FNCA Open Ticket JSON (versions 0.3 to 0.5).
    OpenTicket,
    /// USA North 811 OneCallAccess XML (`OneCallReferral`).
    UsanXml,
    /// USA North 811 "Option 2" text: `[SECTION]` headers, `KEY= value` lines.
    UsanText,
    /// USA North 811 "Legacy" fixed-layout text.
    UsanLegacy,
    /// An e-mail (`.eml`) carrying one of the above in its body or as an
    /// attachment.
    Eml,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::OpenTicket,
        Format::UsanXml,
        Format::UsanText,
        Format::UsanLegacy,
        Format::Eml,
    ];

    /// The name used by `--format` and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::OpenTicket => "open-ticket",
            Format::UsanXml => "usan-xml",
            Format::UsanText => "usan-text",
            Format::UsanLegacy => "usan-legacy",
            Format::Eml => "eml",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Guesses the format from a `Content-Type` and, failing that, the
/// document's first bytes. `None` when neither says.
pub fn detect(bytes: &[u8], content_type: Option<&str>) -> Option<Format> {
    let media = content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    match media.as_str() {
        "application/json" => return Some(Format::OpenTicket),
        "application/xml" | "text/xml" => return Some(Format::UsanXml),
        "message/rfc822" => return Some(Format::Eml),
        _ => {}
    }
    sniff(bytes)
}

/// Recognises a format by its opening: JSON and XML by their first
/// character, e-mail by its header lines, the USA North 811 texts by their
/// markers.
fn sniff(bytes: &[u8]) -> Option<Format> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
    let head = head.trim_start_matches('\u{feff}').trim_start();
    if head.starts_with('{') {
        return Some(Format::OpenTicket);
    }
    // Other XML (a GML polygon beside a ticket, say) is no ticket.
    if head.starts_with('<') && head.contains("OneCallReferral") {
        return Some(Format::UsanXml);
    }
    let first_line = head.lines().next().unwrap_or("");
    let is_header = |line: &str| {
        line.split_once(':').is_some_and(|(name, _)| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
    };
    let mail_headers = [
        "from:",
        "to:",
        "subject:",
        "date:",
        "mime-version:",
        "received:",
        "return-path:",
        "message-id:",
    ];
    if is_header(first_line)
        && mail_headers
            .iter()
            .any(|h| first_line.to_ascii_lowercase().starts_with(h))
    {
        return Some(Format::Eml);
    }
    if head.lines().any(|l| {
        l.trim_start().starts_with('[') && l.trim_end().ends_with(']') && l.contains("DETAILS")
    }) {
        return Some(Format::UsanText);
    }
    if head
        .lines()
        .any(|l| l.trim_start().starts_with("Ticket:") && l.contains("Rev:"))
    {
        return Some(Format::UsanLegacy);
    }
    None
}

/// Reads a document of a known format.
pub fn parse(format: Format, bytes: &[u8]) -> Result<Parsed, IntakeError> {
    match format {
        Format::OpenTicket => crate::open_ticket::parse_open_ticket(bytes),
        Format::UsanXml => crate::usan::parse_xml(bytes),
        Format::UsanText => crate::usan::parse_text(bytes),
        Format::UsanLegacy => crate::usan::parse_legacy(bytes),
        Format::Eml => crate::eml::parse_eml(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_decide_first() {
        assert_eq!(
            detect(b"anything", Some("application/json; charset=utf-8")),
            Some(Format::OpenTicket)
        );
        assert_eq!(detect(b"anything", Some("text/xml")), Some(Format::UsanXml));
        assert_eq!(
            detect(b"anything", Some("message/rfc822")),
            Some(Format::Eml)
        );
    }

    #[test]
    fn openings_decide_otherwise() {
        assert_eq!(
            detect(b"  {\"header\": {}}", None),
            Some(Format::OpenTicket)
        );
        assert_eq!(
            detect(
                b"<?xml version=\"1.0\"?>\n<onecall:OneCallReferral>",
                Some("text/plain")
            ),
            Some(Format::UsanXml)
        );
        assert_eq!(
            detect(b"<?xml version=\"1.0\"?>\n<gml:Polygon>", None),
            None
        );
        assert_eq!(
            detect(
                b"From: center@example.com\r\nSubject: ticket\r\n\r\nbody",
                None
            ),
            Some(Format::Eml)
        );
        assert_eq!(
            detect(b"USA NORTH 811\n\n[REFERRAL DETAILS]\nTICKET NO= 1\n", None),
            Some(Format::UsanText)
        );
        assert_eq!(
            detect(
                b"CNSA 25354 USAN\n\nTicket: 2022041900001 Rev: 000 Created: 04/19/22\n",
                None
            ),
            Some(Format::UsanLegacy)
        );
        assert_eq!(detect(b"hello", None), None);
        assert_eq!(detect(&[0xff, 0xfe, 0x00], None), None);
    }

    #[test]
    fn every_format_has_a_name_that_reads_back() {
        for format in Format::ALL {
            assert_eq!(Format::from_name(format.name()), Some(format));
        }
    }
}
