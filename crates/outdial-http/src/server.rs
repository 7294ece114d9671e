//! The HTTP/1.1 server loop: hyper's connection builder with a header read timeout, a
//! connection limit on accept, and a graceful shutdown bounded in time.
//!
//! `axum::serve` sets none of these (no timer, so hyper's header read timeout is off, no
//! connection limit, and its graceful shutdown waits for every connection however long it
//! takes), so this loop does what it does with those settings added.
//!
//! Timeouts of a connection and its requests ([`HttpLimits`]):
//! - **header read** (hyper `http1::Builder::header_read_timeout`): the whole request head
//!   must arrive within it, else the connection is closed without an answer. hyper starts
//!   this timer whenever the connection waits for a request head, so it is also the
//!   **keep-alive idle timeout**: a connection with no new request within it is closed;
//! - **body read** ([`crate::guard::LimitedBody`]): the whole body within it, else 408;
//! - **request** (tower-http `TimeoutLayer`, in [`crate::router`]): the handler's answer
//!   within it, else 503 (retryable: providers retry a callback answered 5xx, see each
//!   adapter's webhook module);
//! - **connections**: at most `max_connections` open at once; further clients wait in the
//!   listen backlog until one closes;
//! - **shutdown grace**: when shutdown is asked for, the listener closes, idle connections
//!   are closed, requests in progress get `shutdown_grace` to finish, then every connection
//!   still open is dropped and [`serve`] returns.

use axum::body::Body;
use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Default header read timeout, also the keep-alive idle timeout: 10 s.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default body read timeout: 10 s for a body of at most 64 KiB (a provider callback arrives
/// in milliseconds, and a provider waits about 15 s for an answer: see the adapters'
/// webhook docs and `reference/telephony-apis.md` §2).
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default bound on a handler's work once the body is in: 30 s.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default most connections open at once: 256.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// Default time requests in progress get to finish at shutdown: 5 s.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Connection and request limits of the server; see the module docs for what each bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// The request head must arrive within this; also the keep-alive idle timeout.
    pub header_read_timeout: Duration,
    /// The whole request body must arrive within this (408 otherwise).
    pub body_read_timeout: Duration,
    /// A handler must answer within this (503 otherwise).
    pub request_timeout: Duration,
    /// Most connections open at once (at least 1).
    pub max_connections: usize,
    /// At shutdown, requests in progress get this long before their connections are dropped.
    pub shutdown_grace: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

/// Serves `router` on `listener` with `limits` until `shutdown` resolves, then shuts down
/// within `limits.shutdown_grace` (see the module docs). Accept errors (such as running out
/// of file descriptors) are logged and retried after 100 ms; they do not end the loop.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // Reap finished connection tasks so the set does not grow.
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // The peer's address, for handlers that decide by it (`/metrics`).
        let service = router.clone().map_request(move |req: Request<Incoming>| {
            let mut req = req.map(Body::new);
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(remote));
            req
        });
        let conn =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        connections.spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %remote, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    let open = graceful.count();
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open_at_shutdown = open,
            grace_s = limits.shutdown_grace.as_secs_f64(),
            "HTTP connections still open after the shutdown grace: closing them"
        );
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}
