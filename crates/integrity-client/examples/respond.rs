//! Against the demo server (`cargo run --release -- serve --demo`): counts
//! the unassigned Lone Star 811 tickets, then gives a response to one.
//!
//! `cargo run -p integrity-client --example respond`

use integrity_client::{Client, Error, ResponseInput, TicketFilter, TicketStatus};

/// Lone Star 811 on a fresh demo database.
const LONE_STAR: i64 = 2;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let client = Client::new(
        "http://127.0.0.1:3000",
        "itg_demo_token_for_local_trials_only",
    )?;

    // All pages, however many the filter selects.
    let filter = TicketFilter {
        status: Some(TicketStatus::Unassigned),
        call_center_id: Some(LONE_STAR),
        per_page: Some(100),
        ..TicketFilter::default()
    };
    let tickets = client.all_tickets(&filter).await?;
    println!("{} unassigned Lone Star 811 tickets", tickets.len());

    let response = ResponseInput::new("DEMOTX01", "1")
        .facility("Gas")
        .comment("Marked");
    match client.respond(LONE_STAR, "2470000014", &response).await {
        Ok(given) => println!(
            "{} {} {}: {}",
            given.service_area,
            given.facility.unwrap_or_default(),
            given.code,
            given.status
        ),
        // A refusal names each field at fault.
        Err(Error::Api { status, errors, .. }) => {
            for (field, messages) in errors.iter() {
                eprintln!("{status}: {field}: {}", messages.join("; "));
            }
        }
        Err(other) => return Err(other),
    }
    Ok(())
}
