//! `integrity serve`.

use std::net::SocketAddr;

use anyhow::Context;
use integrity_api::{app, AppState};
use integrity_relay::Worker;
use integrity_store::{DatabaseUrl, Store};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

#[derive(clap::Args)]
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
    #[arg(long)]
    demo: bool,
    /// Do not deliver responses from this process (run `integrity relay run`
    /// elsewhere, or nowhere).
    #[arg(long)]
    no_relay: bool,
    #[command(flatten)]
    relay: crate::relay::RelayOptions,
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
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener.local_addr()?;
    println!(
        "Integrity is listening on http://{address} (database: {})",
        url.redacted()
    );
    if let Some(demo) = demo {
        demo.print_welcome(address);
    }
    let metrics = install_metrics()?;
    let router = app(AppState {
        store: store.clone(),
        base_domain: args.base_domain,
        metrics: Some(metrics),
    });
    let (stop_relay, relay_stopped) = tokio::sync::oneshot::channel::<()>();
    let relay = if args.no_relay {
        None
    } else {
        let worker = Worker::new(store.clone(), args.relay.worker_config())?;
        Some(tokio::spawn(worker.run(async {
            let _ = relay_stopped.await;
        })))
    };
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    // The API is done; let the relay finish the deliveries under way.
    let _ = stop_relay.send(());
    if let Some(relay) = relay {
        let _ = relay.await;
    }
    store.close().await;
    Ok(())
}

/// The process-wide metrics recorder behind `GET /metrics`.
fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    const DELIVERY_BUCKETS: [f64; 12] = [
        0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
    ];
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("integrity_relay_delivery_seconds".into()),
            &DELIVERY_BUCKETS,
        )?
        .install_recorder()
        .context("installing the metrics recorder")
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
