//! `integrity serve`.

mod transport;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use integrity_api::{app_with, AppState, Policy, RateLimit};
use integrity_relay::Worker;
use integrity_store::{DatabaseUrl, Store};

#[derive(clap::Args, serde::Serialize)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000", env = "INTEGRITY_LISTEN")]
    listen: SocketAddr,
    /// Serve accounts as subdomains of this domain: a request to
    /// SUB.DOMAIN must carry a key of account SUB.
    #[arg(long, env = "INTEGRITY_BASE_DOMAIN")]
    base_domain: Option<String>,
    /// Provision the demo account (with tickets on first start) and print a
    /// key to try the API with.
    #[arg(long, env = "INTEGRITY_DEMO")]
    demo: bool,
    /// Do not deliver responses from this process (run `integrity relay run`
    /// elsewhere, or nowhere).
    #[arg(long, env = "INTEGRITY_NO_RELAY")]
    no_relay: bool,
    #[command(flatten)]
    #[serde(flatten)]
    relay: crate::relay::RelayOptions,
    #[command(flatten)]
    #[serde(flatten)]
    limits: LimitOptions,
    #[command(flatten)]
    #[serde(flatten)]
    tls: TlsOptions,
    /// Serve Prometheus metrics (GET /metrics) on this address only, apart
    /// from the API; without it the API serves them, without a key.
    #[arg(long, env = "INTEGRITY_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
}

#[derive(clap::Args, Debug, Clone, serde::Serialize)]
pub struct LimitOptions {
    /// Largest JSON request body, in bytes.
    #[arg(long, default_value_t = integrity_api::MAX_BODY_BYTES, env = "INTEGRITY_MAX_BODY_BYTES")]
    pub max_body_bytes: usize,
    /// Seconds a client has to send a request's head, counted from when the
    /// connection is ready for it (slow or idle clients are cut off).
    #[arg(long, default_value_t = 10, env = "INTEGRITY_HEADER_TIMEOUT_SECS")]
    pub header_timeout_secs: u64,
    /// Seconds a connection may go without a byte from the client.
    #[arg(long, default_value_t = 60, env = "INTEGRITY_IDLE_TIMEOUT_SECS")]
    pub idle_timeout_secs: u64,
    /// Seconds a request may take, body included (503 beyond).
    #[arg(long, default_value_t = 30, env = "INTEGRITY_REQUEST_TIMEOUT_SECS")]
    pub request_timeout_secs: u64,
    /// Requests handled at once; more wait their turn.
    #[arg(
        long,
        default_value_t = 1024,
        env = "INTEGRITY_MAX_CONCURRENT_REQUESTS"
    )]
    pub max_concurrent_requests: usize,
    /// Requests per second allowed per API key (429 beyond); off when absent.
    #[arg(long, env = "INTEGRITY_RATE_LIMIT")]
    pub rate_limit: Option<NonZeroU32>,
    /// Requests an API key may send at once above the rate (default: twice
    /// the rate).
    #[arg(long, env = "INTEGRITY_RATE_LIMIT_BURST")]
    pub rate_limit_burst: Option<NonZeroU32>,
    /// Seconds in-flight requests get to finish after SIGTERM or SIGINT.
    #[arg(long, default_value_t = 20, env = "INTEGRITY_SHUTDOWN_GRACE_SECS")]
    pub shutdown_grace_secs: u64,
}

#[derive(clap::Args, Debug, Clone, serde::Serialize)]
pub struct TlsOptions {
    /// Serve HTTPS with this certificate chain (PEM, leaf first).
    #[arg(long, env = "INTEGRITY_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "INTEGRITY_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Refuse API requests that did not arrive over TLS (directly, or
    /// through a trusted proxy's X-Forwarded-Proto: https).
    #[arg(long, env = "INTEGRITY_REQUIRE_TLS")]
    pub require_tls: bool,
    /// A proxy (CIDR, e.g. 10.0.0.0/8) whose X-Forwarded-Proto is believed;
    /// repeat for several.
    #[arg(
        long = "trusted-proxy",
        env = "INTEGRITY_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl LimitOptions {
    fn policy(&self, tls: &TlsOptions) -> Policy {
        Policy {
            max_body_bytes: self.max_body_bytes,
            request_timeout: Duration::from_secs(self.request_timeout_secs.max(1)),
            max_concurrent_requests: self.max_concurrent_requests.max(1),
            rate_limit: self.rate_limit.map(|per_second| RateLimit {
                per_second,
                burst: self
                    .rate_limit_burst
                    .unwrap_or(per_second.saturating_mul(NonZeroU32::MIN.saturating_add(1))),
            }),
            require_tls: tls.require_tls,
            trusted_proxies: tls.trusted_proxies.clone(),
            metrics: None,
        }
    }
}

pub async fn run(url: &DatabaseUrl, args: ServeArgs) -> anyhow::Result<()> {
    let store = Store::open(url).await.context("opening the database")?;
    let demo = if args.demo {
        Some(
            crate::demo::provision(&store)
                .await
                .context("provisioning the demo account")?,
        )
    } else {
        None
    };
    let tls = match (&args.tls.tls_cert, &args.tls.tls_key) {
        (Some(cert), Some(key)) => Some(transport::tls_config(cert, key)?),
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!(
        "Integrity is listening on {scheme}://{address} (database: {})",
        url.redacted()
    );
    if let Some(demo) = demo {
        demo.print_welcome(address);
    }
    let scrape = crate::metrics::Scrape::new(crate::metrics::install()?, store.clone());
    let mut policy = args.limits.policy(&args.tls);
    match args.metrics_listen {
        Some(metrics_address) => crate::metrics::serve(metrics_address, scrape).await?,
        // The API's own GET /metrics, as the contract lists it, under the
        // API's policy; operators who keep metrics private move them to
        // --metrics-listen.
        None => policy.metrics = Some(scrape.into_endpoint()),
    }
    let router = app_with(
        AppState {
            store: store.clone(),
            base_domain: args.base_domain,
        },
        policy,
    );
    let (stop_relay, relay_stopped) = tokio::sync::oneshot::channel::<()>();
    let relay = if args.no_relay {
        None
    } else {
        let worker = Worker::new(store.clone(), args.relay.worker_config())?;
        Some(tokio::spawn(worker.run(async {
            let _ = relay_stopped.await;
        })))
    };
    if args.limits.idle_timeout_secs < args.limits.request_timeout_secs {
        // The idle clock runs while a handler works and the client waits.
        tracing::warn!(
            idle = args.limits.idle_timeout_secs,
            request = args.limits.request_timeout_secs,
            "idle_timeout_secs is below request_timeout_secs: a slow request's connection can be closed before its answer"
        );
    }
    let options = transport::TransportOptions {
        header_timeout: Duration::from_secs(args.limits.header_timeout_secs.max(1)),
        idle_timeout: Duration::from_secs(args.limits.idle_timeout_secs.max(1)),
        shutdown_grace: Duration::from_secs(args.limits.shutdown_grace_secs),
        tls,
    };
    transport::serve(listener, router, options, crate::shutdown::signal()).await;
    // The API is done; let the relay finish the deliveries under way.
    let _ = stop_relay.send(());
    if let Some(relay) = relay {
        let _ = relay.await;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}
