//! `integrity relay`: the delivery worker on its own, and the operator's
//! view of the queue.

use std::net::SocketAddr;
use std::process::ExitCode;

use integrity_domain::time::format_millis;
use std::time::Duration;

use integrity_relay::{RetrySchedule, Worker, WorkerConfig};
use integrity_store::{DatabaseUrl, Store};

/// How a worker delivers: shared by `serve` and `relay run`.
#[derive(clap::Args, Debug, Clone, serde::Serialize)]
pub struct RelayOptions {
    /// How long a delivery claimed by this process stays its own; after a
    /// crash, another process (or this one restarted) resends it after
    /// this long.
    #[arg(long, default_value_t = 60, env = "INTEGRITY_RELAY_LEASE_SECS")]
    relay_lease_secs: u64,
    /// Delay before the first retry; doubled after each further failure.
    #[arg(long, default_value_t = 2, env = "INTEGRITY_RELAY_RETRY_FIRST_SECS")]
    relay_retry_first_secs: u64,
    /// Longest delay between two attempts.
    #[arg(long, default_value_t = 3600, env = "INTEGRITY_RELAY_RETRY_MAX_SECS")]
    relay_retry_max_secs: u64,
    /// A delivery not done this long after it was queued fails for good.
    #[arg(long, default_value_t = 24, env = "INTEGRITY_RELAY_GIVE_UP_HOURS")]
    relay_give_up_hours: u64,
}

impl RelayOptions {
    pub fn worker_config(&self) -> WorkerConfig {
        let secs = Duration::from_secs;
        let defaults = WorkerConfig::default();
        WorkerConfig {
            lease: secs(self.relay_lease_secs.max(1)),
            schedule: RetrySchedule {
                first: secs(self.relay_retry_first_secs.max(1)),
                max: secs(
                    self.relay_retry_max_secs
                        .max(self.relay_retry_first_secs)
                        .max(1),
                ),
                give_up_after: secs(self.relay_give_up_hours.max(1) * 3600),
                ..defaults.schedule.clone()
            },
            ..defaults
        }
    }
}

#[derive(clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    options: RelayOptions,
    /// Serve Prometheus metrics (GET /metrics) on this address: the
    /// deliveries' attempts, outcomes and times, and the queue.
    #[arg(long, env = "INTEGRITY_RELAY_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
}

#[derive(clap::Subcommand)]
pub enum RelayCommand {
    /// Deliver responses until stopped (what `serve` also does unless
    /// started with --no-relay).
    Run(RunArgs),
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
        RelayCommand::Run(args) => {
            if let Some(address) = args.metrics_listen {
                let scrape = crate::metrics::Scrape::new(crate::metrics::install()?, store.clone());
                crate::metrics::serve(address, scrape).await?;
            }
            let worker = Worker::new(store.clone(), args.options.worker_config())?;
            println!("relay worker delivering from {}", url.redacted());
            worker.run(crate::shutdown::signal()).await;
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
