//! `integrity tickets get|respond|close`: work a ticket on a running server
//! through its API, as an integrator's program would. Needs a key, not a
//! database.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use integrity_client::{Client, Error, ResponseInput, TicketPatch};
use serde::Serialize;

#[derive(Args)]
pub struct TicketsArgs {
    /// The server's base URL (the legacy /api/integrations/integrity path
    /// may follow the host).
    #[arg(
        long,
        global = true,
        env = "INTEGRITY_URL",
        default_value = "http://127.0.0.1:3000"
    )]
    url: String,
    /// An API key of the account.
    #[arg(long, global = true, env = "INTEGRITY_TOKEN", hide_env_values = true)]
    token: Option<String>,

    #[command(subcommand)]
    command: TicketsCommand,
}

#[derive(Subcommand)]
enum TicketsCommand {
    /// Print a ticket.
    Get(TicketKey),
    /// Give the response of a (service area, facility) pair, or change it.
    Respond {
        #[command(flatten)]
        ticket: TicketKey,
        #[arg(long)]
        service_area: String,
        /// A response code of the call center.
        #[arg(long)]
        code: String,
        /// Required where the call center requires facilities.
        #[arg(long)]
        facility: Option<String>,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Close a ticket; its required custom fields must be set, here or
    /// before.
    Close {
        #[command(flatten)]
        ticket: TicketKey,
        /// A custom field's value, set in the same request: `ID=TEXT`, the
        /// text a form would send (`7=true`, `12=2026-12-04`). Repeatable.
        #[arg(long = "field", value_name = "ID=TEXT", value_parser = parse_text_field)]
        fields: Vec<(i64, serde_json::Value)>,
        /// A custom field's value as JSON: `ID=JSON` (`9=[1243,1244]`).
        /// Repeatable.
        #[arg(long = "field-json", value_name = "ID=JSON", value_parser = parse_json_field)]
        json_fields: Vec<(i64, serde_json::Value)>,
    },
}

fn split_field(text: &str) -> Result<(i64, &str), String> {
    let (id, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected ID=VALUE, found {text:?}"))?;
    let id = id
        .trim()
        .parse()
        .map_err(|_| format!("{id:?} is not a custom field id (see GET /custom_fields)"))?;
    Ok((id, value))
}

fn parse_text_field(text: &str) -> Result<(i64, serde_json::Value), String> {
    let (id, value) = split_field(text)?;
    Ok((id, serde_json::Value::String(value.to_string())))
}

fn parse_json_field(text: &str) -> Result<(i64, serde_json::Value), String> {
    let (id, value) = split_field(text)?;
    let value = serde_json::from_str(value).map_err(|e| format!("{value:?} is not JSON: {e}"))?;
    Ok((id, value))
}

#[derive(Args)]
struct TicketKey {
    /// The call center's id (see GET /call_centers).
    call_center_id: i64,
    /// The ticket number the call center gave.
    number: String,
}

/// Exit status of a refusal the request itself caused, as for a command
/// line the program could not accept.
const REFUSED: u8 = 2;

pub async fn run(args: TicketsArgs) -> ExitCode {
    let Some(token) = args.token.filter(|t| !t.trim().is_empty()) else {
        eprintln!("error: no API key: pass --token or set INTEGRITY_TOKEN");
        return ExitCode::from(REFUSED);
    };
    let client = match Client::new(&args.url, &token) {
        Ok(client) => client,
        Err(e) => return report(&e),
    };
    let result = match args.command {
        TicketsCommand::Get(t) => print(client.ticket(t.call_center_id, &t.number).await),
        TicketsCommand::Respond {
            ticket: t,
            service_area,
            code,
            facility,
            comment,
        } => {
            let response = ResponseInput {
                service_area,
                code,
                facility,
                comment,
            };
            print(client.respond(t.call_center_id, &t.number, &response).await)
        }
        TicketsCommand::Close {
            ticket: t,
            fields,
            json_fields,
        } => {
            let patch = fields
                .into_iter()
                .chain(json_fields)
                .fold(TicketPatch::new(), |patch, (id, value)| {
                    patch.field(id, value)
                });
            print(
                client
                    .close_ticket_with(t.call_center_id, &t.number, &patch)
                    .await,
            )
        }
    };
    result.unwrap_or_else(|e| report(&e))
}

fn print<T: Serialize>(result: Result<T, Error>) -> Result<ExitCode, Error> {
    let value = result?;
    match serde_json::to_string_pretty(&value) {
        Ok(text) => {
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: cannot print the answer: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The status and every message by field, so a script's log says what to
/// fix; 2 for a refusal of the request, 1 when the server or the network
/// failed.
fn report(error: &Error) -> ExitCode {
    match error {
        Error::Api { status, errors, .. } if !errors.is_empty() => {
            eprintln!("error: the server answered {status}");
            for (field, messages) in errors.iter() {
                for message in messages {
                    eprintln!("  {field}: {message}");
                }
            }
        }
        other => {
            // The transport's own message rarely says why ("error sending
            // request"); the cause is further down the chain.
            let mut line = format!("error: {other}");
            let mut source = std::error::Error::source(other);
            while let Some(cause) = source {
                let cause_text = cause.to_string();
                if !line.contains(&cause_text) {
                    line.push_str(&format!(": {cause_text}"));
                }
                source = cause.source();
            }
            eprintln!("{line}");
        }
    }
    let refused = error.is_client_error() || matches!(error, Error::Config(_));
    if refused {
        ExitCode::from(REFUSED)
    } else {
        ExitCode::FAILURE
    }
}
