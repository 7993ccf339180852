//! A local upstream HTTP/1.1 server for tests, examples and the bench: answers every request
//! after a configurable latency and counts what it sees; optionally with a keep-alive limit
//! that closes an idle connection exactly when its next request arrives, or speaking HTTP/2,
//! as the upstream of a cluster the sidecar upgrades.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::client::OVERLOADED_HEADER;

/// How the upstream answers.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct UpstreamOptions {
    /// How long each request takes before its answer. Default is 0.
    pub latency: Duration,
    /// Answer the first this many requests `503` with `x-envoy-overloaded`, as an overflowing
    /// sidecar would. Default is 0.
    pub overloaded_first: u64,
    /// The server's keep-alive: a connection idle at least this long since its last answer is
    /// closed, unanswered, when its next request arrives. `None` (the default) keeps
    /// connections open.
    pub keep_alive: Option<Duration>,
    /// Speak HTTP/2 with prior knowledge instead of HTTP/1.1. Default is `false`.
    pub http2: bool,
}

impl UpstreamOptions {
    /// How long each request takes before its answer.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Answer the first `n` requests as an overflowing sidecar would (`503` with
    /// `x-envoy-overloaded`), to try a client's overload handling without Envoy.
    pub fn overloaded_first(mut self, n: u64) -> Self {
        self.overloaded_first = n;
        self
    }

    /// Close a connection that has been idle for `keep_alive` the moment its next request
    /// arrives, without answering it: a server whose keep-alive timer fires exactly as the
    /// request comes in, the race behind the `503 UC` a sidecar reports, made deterministic.
    /// Default is no keep-alive limit.
    ///
    /// With it, the upstream speaks a minimal HTTP/1.1 of its own (requests without a body,
    /// answers `200 ok` with `Content-Length`).
    pub fn keep_alive(mut self, keep_alive: impl Into<Option<Duration>>) -> Self {
        self.keep_alive = keep_alive.into();
        self
    }

    /// Speak HTTP/2 with prior knowledge (h2c) instead of HTTP/1.1, as the upstream of a
    /// cluster the sidecar speaks HTTP/2 to ([`EffectivePolicy::h2_upgrade`]). Default is
    /// `false`. With a [keep-alive limit](Self::keep_alive) the upstream speaks its own
    /// HTTP/1.1 whatever this says.
    ///
    /// [`EffectivePolicy::h2_upgrade`]: crate::istio::resolve::EffectivePolicy::h2_upgrade
    pub fn http2(mut self, http2: bool) -> Self {
        self.http2 = http2;
        self
    }
}

/// What the upstream has seen so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UpstreamStats {
    /// Requests received.
    pub requests: u64,
    /// Connections accepted.
    pub connections: u64,
    /// Connections open now.
    pub open_connections: usize,
    /// Requests being answered now.
    pub concurrent: usize,
    /// The most requests ever answered at once.
    pub max_concurrent: usize,
    /// Connections closed because a request arrived after the keep-alive
    /// ([`UpstreamOptions::keep_alive`]): each left that request unanswered.
    pub closed_at_request: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    connections: AtomicU64,
    open_connections: AtomicUsize,
    concurrent: AtomicUsize,
    max_concurrent: AtomicUsize,
    closed_at_request: AtomicU64,
}

/// A running upstream on `127.0.0.1`; it stops, with all its connections, when dropped.
#[derive(Debug)]
pub struct Upstream {
    addr: SocketAddr,
    counters: Arc<Counters>,
    server: JoinHandle<()>,
}

impl Upstream {
    /// Starts an upstream on a free loopback port.
    ///
    /// # Errors
    /// The listener cannot be bound.
    pub async fn start(options: UpstreamOptions) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let server = tokio::spawn(serve(listener, options, Arc::clone(&counters)));
        Ok(Self {
            addr,
            counters,
            server,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The counts so far.
    pub fn stats(&self) -> UpstreamStats {
        let c = &self.counters;
        UpstreamStats {
            requests: c.requests.load(Ordering::SeqCst),
            connections: c.connections.load(Ordering::SeqCst),
            open_connections: c.open_connections.load(Ordering::SeqCst),
            concurrent: c.concurrent.load(Ordering::SeqCst),
            max_concurrent: c.max_concurrent.load(Ordering::SeqCst),
            closed_at_request: c.closed_at_request.load(Ordering::SeqCst),
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection.
        self.server.abort();
    }
}

async fn serve(listener: TcpListener, options: UpstreamOptions, counters: Arc<Counters>) {
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next() => continue,
        };
        let Ok((stream, _)) = accepted else {
            // Out of file descriptors and the like: let open connections drain a little.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        counters.connections.fetch_add(1, Ordering::SeqCst);
        counters.open_connections.fetch_add(1, Ordering::SeqCst);
        let counters = Arc::clone(&counters);
        let options = options.clone();
        connections.spawn(async move {
            if let Some(keep_alive) = options.keep_alive {
                let _ = serve_keep_alive(stream, keep_alive, &counters).await;
                counters.open_connections.fetch_sub(1, Ordering::SeqCst);
                return;
            }
            if options.http2 {
                // Each stream is a task of its own, so its answer owns what it reads.
                let shared = Arc::new((options, Arc::clone(&counters)));
                let service = service_fn(move |request| {
                    let shared = Arc::clone(&shared);
                    async move { answer(request, &shared.0, &shared.1).await }
                });
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            } else {
                let service = service_fn(|request| answer(request, &options, &counters));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            }
            counters.open_connections.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

async fn answer(
    request: Request<Incoming>,
    options: &UpstreamOptions,
    counters: &Counters,
) -> Result<Response<http_body_util::Full<Bytes>>, Infallible> {
    drop(request);
    let seq = counters.requests.fetch_add(1, Ordering::SeqCst);
    let now = counters.concurrent.fetch_add(1, Ordering::SeqCst) + 1;
    counters.max_concurrent.fetch_max(now, Ordering::SeqCst);
    // Counts down also when the client goes away mid-answer and the future is dropped.
    let _busy = Busy(&counters.concurrent);
    if !options.latency.is_zero() {
        tokio::time::sleep(options.latency).await;
    }
    let response = if seq < options.overloaded_first {
        Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .header(OVERLOADED_HEADER, "true")
            .body(
                "upstream connect error or disconnect/reset before headers. reset reason: overflow"
                    .into(),
            )
    } else {
        Response::builder().body(Bytes::from_static(b"ok").into())
    };
    Ok(response.expect("static parts are valid"))
}

/// One connection of an upstream with a keep-alive limit: answers request after request, and
/// closes the connection unanswered when a request arrives after `keep_alive` of idleness.
async fn serve_keep_alive(
    mut stream: tokio::net::TcpStream,
    keep_alive: Duration,
    counters: &Counters,
) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = Vec::with_capacity(1024);
    let mut idle_since = tokio::time::Instant::now();
    loop {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        if buffer.is_empty() && idle_since.elapsed() >= keep_alive {
            // The keep-alive timer fires as the request arrives: close without an answer.
            counters.closed_at_request.fetch_add(1, Ordering::SeqCst);
            return stream.shutdown().await;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if buffer.len() > 64 * 1024 {
            return Ok(());
        }
        // Requests without a body: each ends with an empty line.
        while let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            buffer.drain(..end + 4);
            counters.requests.fetch_add(1, Ordering::SeqCst);
            stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok",
                )
                .await?;
            idle_since = tokio::time::Instant::now();
        }
    }
}

struct Busy<'a>(&'a AtomicUsize);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
