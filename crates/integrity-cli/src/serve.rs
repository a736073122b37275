//! `integrity serve`.

use std::net::SocketAddr;

use anyhow::Context;
use integrity_api::{app, AppState};
use integrity_store::{DatabaseUrl, Store};

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
    let router = app(AppState {
        store: store.clone(),
        base_domain: args.base_domain,
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    store.close().await;
    Ok(())
}

async fn shutdown_signal() {
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
