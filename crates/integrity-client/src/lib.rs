//! A typed client of the Integrity API, the server for 811 "call before
//! you dig" locate tickets.
//!
//! ```no_run
//! use integrity_client::{Client, ResponseInput, TicketFilter, TicketStatus};
//!
//! # async fn run() -> integrity_client::Result<()> {
//! let client = Client::new("http://127.0.0.1:3000", "itg_demo_token_for_local_trials_only")?;
//! let open = client
//!     .all_tickets(&TicketFilter {
//!         status: Some(TicketStatus::Unassigned),
//!         ..TicketFilter::default()
//!     })
//!     .await?;
//! for ticket in &open {
//!     println!("{} {}", ticket.call_center.name, ticket.ticket_number);
//! }
//! let response = ResponseInput::new("DEMOTX01", "1").facility("Gas");
//! match client.respond(2, "2470000014", &response).await {
//!     Ok(response) => println!("{} is {}", response.code, response.status),
//!     Err(e) => {
//!         for (field, messages) in e.field_errors().into_iter().flat_map(|f| f.iter()) {
//!             eprintln!("{field}: {}", messages.join(", "));
//!         }
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Every method is one request (but [`Client::all_tickets`], which follows
//! the pages); a refusal comes back as [`Error::Api`] with the status and
//! the server's messages by field.

mod catalog;
mod client;
mod error;
mod relay;
mod server;
mod ticket;
mod tickets;
mod users;
mod wire_enum;
mod work;

pub use catalog::{CallCenter, CustomField, FieldOption, ResponseCode};
pub use client::Client;
pub use error::{Error, FieldErrors, Result};
pub use relay::{Delivery, DeliveryFilter, DeliveryStatus, RelayMode, RelaySettings};
pub use reqwest::StatusCode;
pub use server::Health;
pub use ticket::{
    AltContact, Contact, CustomFieldValue, Excavator, NamedRef, NewTicket, ResponseStatus, Ticket,
    TicketResponse, TicketStatus, Work,
};
pub use tickets::{Document, Intake, IntakeOutcome, TicketFilter, TicketPage};
pub use users::{ApiToken, NewUser, Role, User, UserChanges};
pub use work::{HistoryEntry, ResponseInput, TicketPatch};
