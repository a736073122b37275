//! Prometheus metrics of a process: the recorder, what a scrape answers,
//! and a listener of their own (`--metrics-listen`), for `serve` and
//! `relay run` alike.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use integrity_store::Store;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// How often a scrape may count the relay queue: the count runs over the
/// whole outbox, and `/metrics` on the API needs no key.
const QUEUE_COUNT_INTERVAL: Duration = Duration::from_secs(5);

/// What a scrape answers: the recorder's figures, and gauges read from the
/// database: the pools' use, and the relay queue, whichever process
/// delivers it.
#[derive(Clone)]
pub(crate) struct Scrape {
    handle: PrometheusHandle,
    store: Store,
    queue_counted_at: Arc<Mutex<Option<Instant>>>,
}

impl Scrape {
    pub(crate) fn new(handle: PrometheusHandle, store: Store) -> Scrape {
        Scrape {
            handle,
            store,
            queue_counted_at: Arc::new(Mutex::new(None)),
        }
    }

    pub(crate) async fn render(&self) -> String {
        for pool in self.store.pool_usage() {
            metrics::gauge!("integrity_db_pool_connections", "pool" => pool.name, "state" => "idle")
                .set(f64::from(pool.idle));
            metrics::gauge!("integrity_db_pool_connections", "pool" => pool.name, "state" => "in_use")
                .set(f64::from(pool.size.saturating_sub(pool.idle)));
        }
        if self.queue_count_due() {
            match self.store.relay_summary().await {
                Ok(summary) => {
                    metrics::gauge!("integrity_relay_queue_depth").set(summary.queued as f64);
                    metrics::gauge!("integrity_relay_failed_deliveries").set(summary.failed as f64);
                }
                Err(error) => tracing::warn!(%error, "metrics: could not count the relay queue"),
            }
        }
        self.handle.render()
    }

    /// Scrapes as the API serves them.
    pub(crate) fn into_endpoint(self) -> integrity_api::policy::Metrics {
        integrity_api::policy::Metrics::new(move || {
            let scrape = self.clone();
            async move { scrape.render().await }
        })
    }

    /// Whether this scrape counts the queue; the others within the interval
    /// report the last count.
    fn queue_count_due(&self) -> bool {
        let mut counted_at = self
            .queue_counted_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if counted_at.is_some_and(|at| now.duration_since(at) < QUEUE_COUNT_INTERVAL) {
            return false;
        }
        *counted_at = Some(now);
        true
    }
}

/// Serves `GET /metrics` on an address of its own, in the background.
pub(crate) async fn serve(address: SocketAddr, scrape: Scrape) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("listening on {address} for metrics"))?;
    println!(
        "Metrics are served on http://{}/metrics",
        listener.local_addr()?
    );
    let router = axum::Router::new().route("/metrics", scrape.into_endpoint().endpoint());
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    Ok(())
}

/// The process-wide metrics recorder behind `GET /metrics`.
pub(crate) fn install() -> anyhow::Result<PrometheusHandle> {
    const DELIVERY_BUCKETS: [f64; 12] = [
        0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
    ];
    const REQUEST_BUCKETS: [f64; 12] = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0,
    ];
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("integrity_relay_delivery_seconds".into()),
            &DELIVERY_BUCKETS,
        )?
        .set_buckets_for_metric(
            Matcher::Full("integrity_http_request_duration_seconds".into()),
            &REQUEST_BUCKETS,
        )?
        .install_recorder()
        .context("installing the metrics recorder")
}
