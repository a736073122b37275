//! Tickets as call centers send them, turned into Integrity's intake.
//!
//! One parser per format; each turns any input into a [`Parsed`] ticket or
//! an [`IntakeError`] saying where (a line or a path) and what was
//! expected. None panics.

pub mod eml;
pub mod format;
pub mod geometry;
mod json_tree;
pub mod open_ticket;
pub mod usan;

pub use format::{detect, parse, Format};

use integrity_domain::ticket::TicketContent;

/// The largest revision a document may carry. Centers count revisions of
/// one ticket in the tens; a larger number is a mistake, and taken as a
/// version number it would leave no room for the versions after it.
pub const MAX_REVISION: i64 = 999_999;

fn is_revision(n: i64) -> bool {
    (0..=MAX_REVISION).contains(&n)
}

/// A ticket read from a call center's document.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// What the API shows. `call_center` is not part of it: the channel
    /// (endpoint, command) says which center a document came from.
    pub content: TicketContent,
    /// The center's revision or version of this ticket, when the format
    /// carries one (`TICKET REVISION NO=001` → 1).
    pub revision: Option<i64>,
    /// The center cancelled the ticket (status `cancelled`).
    pub cancelled: bool,
    /// Corrections made while reading (swapped coordinates, say), recorded
    /// in the ticket's history.
    pub notes: Vec<String>,
    /// Source fields with no place in the API's ticket, kept in the
    /// history with the version (member names, response history, custom
    /// field groups, …): a JSON object.
    pub extra: serde_json::Value,
    /// Files that came with the ticket (an e-mail's attachments).
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeError {
    /// Where: `line 12`, `$.geography.workSiteWkt[0]`, `/OneCallReferral/TicketNumber`.
    pub location: String,
    /// What was wrong or expected there.
    pub message: String,
}

impl IntakeError {
    pub fn new(location: impl Into<String>, message: impl Into<String>) -> Self {
        IntakeError {
            location: location.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for IntakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

impl std::error::Error for IntakeError {}
