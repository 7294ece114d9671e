//! A small axum server on 127.0.0.1 for the adapters' client tests: it records every request
//! (as the test's own view of it) and answers with a canned response.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::response::Response;
use axum::Router;

/// A canned response: status, headers, body, and an optional delay before answering.
#[derive(Clone)]
pub(crate) struct Canned {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Duration,
}

/// A JSON response with `status` and `body`, without delay.
pub(crate) fn canned(status: u16, body: impl Into<String>) -> Canned {
    Canned {
        status,
        headers: vec![("content-type", "application/json".into())],
        body: body.into(),
        delay: Duration::ZERO,
    }
}

/// The requests seen so far, in arrival order.
pub(crate) type Log<S> = Arc<Mutex<Vec<S>>>;

/// Serves `respond(seen)` for every request, where `seen = to_seen(parts, body)`; returns
/// the base URL and the request log.
pub(crate) async fn serve_with<S, M, F>(to_seen: M, respond: F) -> (String, Log<S>)
where
    S: Send + 'static,
    M: Fn(&Parts, Vec<u8>) -> S + Clone + Send + Sync + 'static,
    F: Fn(&S) -> Canned + Clone + Send + Sync + 'static,
{
    let log: Log<S> = Arc::default();
    let log2 = log.clone();
    let app = Router::new().fallback(move |req: Request| {
        let (log, respond, to_seen) = (log2.clone(), respond.clone(), to_seen.clone());
        async move {
            let (parts, body) = req.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            let seen = to_seen(&parts, bytes.to_vec());
            let c = respond(&seen);
            log.lock().unwrap().push(seen);
            if !c.delay.is_zero() {
                tokio::time::sleep(c.delay).await;
            }
            let mut b = Response::builder().status(c.status);
            for (k, v) in c.headers {
                b = b.header(k, v);
            }
            b.body(Body::from(c.body)).unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), log)
}

/// A header's value as text.
pub(crate) fn header(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}
