//! The accept loop both listeners share (plain HTTP and the built-in TLS): each connection is
//! served by hyper's HTTP/1.1 with a deadline for its request headers, so a client that sends
//! half a request is dropped instead of holding a file descriptor (slowloris), the client's
//! address goes in as `ConnectInfo`, and shutdown drains what is in flight for `DRAIN_TIMEOUT`.

use crate::app::DRAIN_TIMEOUT;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// How long a client has to send a request's headers (and, over TLS, to finish the handshake).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown`. `open` turns an accepted connection into the
/// stream to speak HTTP on (the TLS handshake; `None` drops the connection), and `mark` adds
/// what the connection says about each of its requests (that it came over TLS).
pub async fn serve<S, Open, Opened>(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    open: Open,
    mark: fn(&mut hyper::Request<hyper::body::Incoming>),
) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    Open: Fn(TcpStream) -> Opened,
    Opened: Future<Output = Option<S>> + Send + 'static,
{
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer): (TcpStream, SocketAddr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %err, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let opened = open(tcp);
        let router = router.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let Some(stream) = opened.await else { return };
            let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                mark(&mut request);
                router.clone().oneshot(request)
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(err) = watcher.watch(connection).await {
                tracing::debug!(error = %err, "a connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still running {} s after shutdown began were cut off", DRAIN_TIMEOUT.as_secs());
    }
    Ok(())
}
