//! A local upstream HTTP/1.1 server for tests, examples and the bench: answers every request
//! after a configurable latency and counts what it sees.

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
use hyper_util::rt::TokioIo;
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
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    connections: AtomicU64,
    open_connections: AtomicUsize,
    concurrent: AtomicUsize,
    max_concurrent: AtomicUsize,
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
            let service = service_fn(|request| answer(request, &options, &counters));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
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

struct Busy<'a>(&'a AtomicUsize);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
