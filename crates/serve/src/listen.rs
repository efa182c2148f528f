//! The accept loop: HTTP/1.1 connections served with limits a slow or
//! hostile local client cannot wear down.
//!
//! - **Header timeout.** A client must send a request's headers within
//!   [`Limits::header_timeout`] of the connection going idle (hyper's
//!   header-read timer also runs between keep-alive requests, so an idle
//!   connection closes after the same time). A body must then arrive within
//!   the same time again (`body_deadline`, a middleware).
//! - **Connection cap.** At most [`Limits::max_connections`] connections are
//!   served at once; one more is answered `503` with `Connection: close`
//!   and dropped, so a client that holds many open sockets cannot make the
//!   server take unbounded memory, and a person sees why.
//! - **Graceful stop.** When `stop` turns true, no more connections are
//!   accepted and the open ones finish their requests in flight.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use crate::error::ApiError;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What one server allows its clients.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time to send a request's headers (and, after them, its body); also
    /// how long an idle keep-alive connection stays open.
    pub header_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

/// What a connection over the cap reads before it is closed.
const BUSY: &str = "mnemo serve: too many open connections, try again\n";

/// Serve `app` on `listener` until `stop` turns true, then wait for the
/// open connections to finish (the caller bounds that wait).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let open = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather
                    // than spin, and keep serving those already open.
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.wait_for(|stop| *stop) => break,
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tokio::spawn(refuse_busy(stream));
            continue;
        };
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let connection = open.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection ended: {e}");
            }
            drop(slot);
        });
    }
    open.shutdown().await;
}

async fn refuse_busy(mut stream: TcpStream) {
    tracing::warn!("refused a connection: too many open");
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{BUSY}",
        BUSY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(answer.as_bytes())).await;
}

/// Middleware: read the request body within the header timeout (`408`
/// otherwise) and at most [`MAX_BODY_BYTES`] (`413`), so a handler never
/// waits on a client that trickles its body.
pub async fn body_deadline(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let read = axum::body::to_bytes(body, MAX_BODY_BYTES);
    match tokio::time::timeout(limits.header_timeout, read).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(_)) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body over {MAX_BODY_BYTES} bytes, or cut short"),
        )
        .into_response(),
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "the request body did not arrive in time",
        )
        .into_response(),
    }
}
