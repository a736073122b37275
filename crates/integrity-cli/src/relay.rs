//! `integrity relay`: the delivery worker on its own, and the operator's
//! view of the queue.

use std::process::ExitCode;

use integrity_domain::time::format_millis;
use integrity_relay::{Worker, WorkerConfig};
use integrity_store::{DatabaseUrl, Store};

#[derive(clap::Subcommand)]
pub enum RelayCommand {
    /// Deliver responses until stopped (what `serve` also does unless
    /// started with --no-relay).
    Run,
    /// Show the delivery queue across all accounts.
    Status,
    /// Put failed deliveries back in the queue.
    Retry {
        /// Only this account's (subdomain).
        #[arg(long)]
        account: Option<String>,
    },
}

pub async fn run(url: &DatabaseUrl, command: RelayCommand) -> anyhow::Result<ExitCode> {
    let store = Store::open(url).await?;
    match command {
        RelayCommand::Run => {
            let worker = Worker::new(store.clone(), WorkerConfig::default())?;
            println!("relay worker delivering from {}", url.redacted());
            worker.run(crate::serve::shutdown_signal()).await;
        }
        RelayCommand::Status => {
            let summary = store.relay_summary().await?;
            println!(
                "queued:    {} ({} in flight)",
                summary.queued, summary.in_flight
            );
            println!("sent:      {}", summary.sent);
            println!("failed:    {}", summary.failed);
            if let Some(oldest) = summary.oldest_queued_at {
                println!("oldest queued since {}", format_millis(oldest));
            }
        }
        RelayCommand::Retry { account } => {
            let account = match account {
                Some(subdomain) => Some(
                    store
                        .account_by_subdomain(&subdomain)
                        .await?
                        .ok_or_else(|| {
                            anyhow::anyhow!("no account with subdomain {subdomain:?}")
                        })?,
                ),
                None => None,
            };
            let requeued = store.retry_failed(account).await?;
            println!("{requeued} failed deliveries queued again");
        }
    }
    Ok(ExitCode::SUCCESS)
}
