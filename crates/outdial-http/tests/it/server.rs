//! `server::serve` over real sockets, with short limits (issue 9, item 6): slow and idle
//! clients are cut off, connections are limited, shutdown is bounded.

use super::{app_with, KEY};
use outdial_http::HttpLimits;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A server with `limits` on a free port; send on the channel to shut it down.
async fn spawn_server(
    limits: HttpLimits,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (router, _, _) = app_with(limits).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(outdial_http::server::serve(
        listener,
        router,
        limits,
        async move {
            let _ = rx.await;
        },
    ));
    (addr, tx, task)
}

/// Limits with everything long except what a test sets.
fn long() -> HttpLimits {
    HttpLimits {
        header_read_timeout: Duration::from_secs(60),
        body_read_timeout: Duration::from_secs(60),
        request_timeout: Duration::from_secs(60),
        max_connections: 64,
        shutdown_grace: Duration::from_secs(60),
    }
}

/// Reads until the peer closes the connection (or `within` passes: then panics); returns
/// what was read.
async fn read_to_close(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    within: Duration,
) -> String {
    let mut out = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "connection still open after {within:?}");
    String::from_utf8_lossy(&out).into_owned()
}

/// Sends a request head announcing a 1,000-byte body, then one byte every 100 ms (for
/// longer than any test waits) from a task of its own; returns the read half.
async fn dribble(addr: SocketAddr, path: &str) -> tokio::net::tcp::OwnedReadHalf {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n\
         X-Twilio-Signature: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
    );
    write.write_all(head.as_bytes()).await.unwrap();
    tokio::spawn(async move {
        for _ in 0..1000 {
            if write.write_all(b"a").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    read
}

#[tokio::test]
async fn a_dribbled_body_is_cut_off_after_the_body_timeout() {
    let limits = HttpLimits {
        body_read_timeout: Duration::from_secs(1),
        ..long()
    };
    let (addr, _stop, _task) = spawn_server(limits).await;
    for path in ["/webhooks/twilio/status?attempt=1", "/api/v1/dialer/stop"] {
        let started = Instant::now();
        let mut read = dribble(addr, path).await;
        let text = read_to_close(&mut read, Duration::from_secs(10)).await;
        let took = started.elapsed();
        assert!(text.starts_with("HTTP/1.1 408"), "{path}: {text}");
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(5),
            "{path}: cut off after {took:?}"
        );
    }
}

#[tokio::test]
async fn half_a_header_is_dropped_after_the_header_timeout() {
    let limits = HttpLimits {
        header_read_timeout: Duration::from_secs(1),
        ..long()
    };
    let (addr, _stop, _task) = spawn_server(limits).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(b"POST /webhooks/twilio/status HTTP/1.1\r\nHost: x\r\nX-Twil")
        .await
        .unwrap();
    let text = read_to_close(&mut stream, Duration::from_secs(10)).await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "dropped after {took:?}: {text}"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let limits = HttpLimits {
        header_read_timeout: Duration::from_secs(1),
        ..long()
    };
    let (addr, _stop, _task) = spawn_server(limits).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Kept alive, then closed once idle for the header read timeout.
    let started = Instant::now();
    let rest = read_to_close(&mut stream, Duration::from_secs(10)).await;
    assert!(rest.is_empty(), "{rest}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

#[tokio::test]
async fn connections_over_the_limit_wait_for_a_free_one() {
    let limits = HttpLimits {
        max_connections: 2,
        ..long()
    };
    let (addr, _stop, _task) = spawn_server(limits).await;
    let first = TcpStream::connect(addr).await.unwrap();
    let _second = TcpStream::connect(addr).await.unwrap();
    // Let the server accept both.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(addr).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "the third connection was served: limit not applied"
    );
    drop(first);
    let text = read_to_close(&mut third, Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}

#[tokio::test]
async fn shutdown_is_bounded_while_a_client_dribbles() {
    let limits = HttpLimits {
        shutdown_grace: Duration::from_secs(1),
        ..long()
    };
    let (addr, stop, task) = spawn_server(limits).await;
    let _read = dribble(addr, "/api/v1/dialer/stop").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("serve did not return within 5 s of shutdown")
        .unwrap();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "{took:?}: no grace given"
    );
    // The listener is closed.
    assert!(TcpStream::connect(addr).await.is_err());
}
