//! Connections: accepted over plain TCP or TLS, read with timeouts a slow
//! or idle client cannot stretch, over HTTP/1 and HTTP/2 alike, and closed
//! gracefully on shutdown.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use integrity_api::Connection;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_io_timeout::TimeoutStream;
use tokio_rustls::TlsAcceptor;

#[derive(Clone)]
pub struct TransportOptions {
    /// Longest a client may take to send a request's head, counted from
    /// when the connection is ready for it: a client dribbling header
    /// bytes (slowloris) or idling between requests is cut off.
    pub header_timeout: Duration,
    /// Longest the connection may go without a byte from the client, body
    /// reads included.
    pub idle_timeout: Duration,
    /// Longest in-flight requests get to finish once shutdown starts.
    pub shutdown_grace: Duration,
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

type Stream = Pin<Box<TimeoutStream<tokio::net::TcpStream>>>;

/// Serves `router` on `listener` until `shutdown` completes, then stops
/// accepting and lets open requests finish within the grace period.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: TransportOptions,
    shutdown: impl Future<Output = ()>,
) {
    // Every connection holds a receiver: a send asks them all to close
    // gracefully, and the sender sees when the last one has.
    let (stop, stopping) = watch::channel(());
    let acceptor = options.tls.clone().map(TlsAcceptor::from);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout);
    // HTTP/2 has no header timeout, and a client dribbling a HEADERS frame
    // (or a chain of CONTINUATIONs) resets the idle read timeout with every
    // byte. Until its header block ends it may send no other frame, so it
    // cannot answer a PING either: pinging a connection that has gone half
    // the header timeout without a complete frame, and dropping it if the
    // answer takes the other half, bounds a header block as HTTP/1's
    // timeout bounds a head.
    let half = (options.header_timeout / 2).max(Duration::from_millis(100));
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(half)
        .keep_alive_timeout(half);
    let builder = Arc::new(builder);
    let mut shutdown = pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, typically: pause rather than spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let mut stream = TimeoutStream::new(tcp);
        stream.set_read_timeout(Some(options.idle_timeout));
        let stream: Stream = Box::pin(stream);
        let router = router.clone();
        let builder = builder.clone();
        let acceptor = acceptor.clone();
        let stopping = stopping.clone();
        let header_timeout = options.header_timeout;
        tokio::spawn(async move {
            let connection = Connection {
                peer,
                tls: acceptor.is_some(),
            };
            let stream: Box<dyn Io> = match acceptor {
                Some(acceptor) => {
                    match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => Box::new(stream),
                        _ => {
                            tracing::debug!(%peer, "TLS handshake failed or timed out");
                            return;
                        }
                    }
                }
                None => Box::new(stream),
            };
            let result = drive(
                &builder,
                stream,
                router,
                connection,
                header_timeout,
                stopping,
            )
            .await;
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "connection closed with an error");
            }
        });
    }
    drop(listener);
    drop(stopping);
    let _ = stop.send(());
    tokio::select! {
        () = stop.closed() => tracing::info!("every connection closed"),
        () = tokio::time::sleep(options.shutdown_grace) => {
            tracing::warn!(grace = ?options.shutdown_grace, "requests still running after the grace period; closing");
        }
    }
}

/// A connection's byte stream, over TLS or not.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// What a connection's deadline needs to know of its requests.
#[derive(Debug, Clone, Copy, Default)]
struct Activity {
    in_progress: usize,
    http1: bool,
}

/// Serves one connection until it ends, it is asked to stop, or it has gone
/// `header_timeout` without a request in progress.
///
/// The deadline is what HTTP/1's header timeout is, held at the connection.
/// Before the first request the protocol is not known, so neither
/// protocol's timeout applies, and a client dribbling HTTP/2's preface
/// would otherwise hold the connection for up to 24 idle timeouts
/// (`a_client_dribbling_the_http2_preface_is_disconnected`). Once a
/// connection turns out to be HTTP/1, hyper's own timeout takes over, as it
/// knows when the next head is due; on HTTP/2 an unanswered PING cuts off a
/// header block dribbled after the preface (see `serve`), and the deadline
/// closes connections that stay idle. A connection past its deadline is
/// shut down gracefully: an HTTP/2 client is told with GOAWAY and keeps the
/// responses it is being sent.
async fn drive<T>(
    builder: &auto::Builder<TokioExecutor>,
    stream: T,
    router: Router,
    connection: Connection,
    header_timeout: Duration,
    mut stopping: watch::Receiver<()>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (activity, watched) = watch::channel(Activity::default());
    let service = router.layer(middleware::from_fn_with_state(
        (connection, Arc::new(activity)),
        on_request,
    ));
    let mut served = pin!(builder
        .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service),));
    let mut overdue = pin!(deadline(watched, header_timeout));
    let mut closing = false;
    loop {
        tokio::select! {
            result = served.as_mut() => return result,
            _ = stopping.changed(), if !closing => {
                closing = true;
                served.as_mut().graceful_shutdown();
            }
            () = overdue.as_mut(), if !closing => {
                tracing::debug!(peer = %connection.peer, "no request in time; closing the connection");
                closing = true;
                served.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Completes once the connection has gone `limit` without a request in
/// progress, unless it turned out to be HTTP/1.
async fn deadline(mut activity: watch::Receiver<Activity>, limit: Duration) {
    loop {
        let now = *activity.borrow_and_update();
        if now.http1 {
            return std::future::pending().await;
        }
        // Any change, a request started or done, restarts the clock.
        if now.in_progress == 0 {
            tokio::select! {
                () = tokio::time::sleep(limit) => return,
                changed = activity.changed() => if changed.is_err() { return std::future::pending().await },
            }
        } else if activity.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// Gives each request what the transport knows of its connection, and
/// keeps the connection's count of requests in progress.
async fn on_request(
    State((connection, activity)): State<(Connection, Arc<watch::Sender<Activity>>)>,
    mut req: Request,
    next: Next,
) -> Response {
    let http1 = req.version() < axum::http::Version::HTTP_2;
    req.extensions_mut().insert(connection);
    activity.send_modify(|a| {
        a.in_progress += 1;
        a.http1 |= http1;
    });
    // Counted down however the request ends, cancelled included.
    struct Done(Arc<watch::Sender<Activity>>);
    impl Drop for Done {
        fn drop(&mut self) {
            self.0.send_modify(|a| a.in_progress -= 1);
        }
    }
    let _done = Done(activity);
    next.run(req).await
}

/// A TLS configuration from PEM files: the certificate chain (leaf first)
/// and its private key.
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    use anyhow::Context;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let chain = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading the certificates of {}", cert.display()))?;
    anyhow::ensure!(!chain.is_empty(), "{} holds no certificate", cert.display());
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading the private key of {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the certificate and the key do not go together")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
