//! The server keep-alive scenario (issue 15): a server that closes idle connections sooner
//! than its inbound sidecar races the sidecar's reuse of them, and the caller gets `503` with
//! response flag `UC`. For each server, two runs side by side through a fresh inbound Envoy:
//! `default` (the rule as written: Envoy's 1h idle timeout unless it sets one) and
//! `recommended` (the inbound idle timeout at [`recommended_idle_timeout`] of the server's
//! keep-alive, so the sidecar closes first).
//!
//! Servers: `deterministic` (the local upstream that closes an idle connection exactly when the
//! next request arrives, [`UpstreamOptions::keep_alive`]), `node` (Node's `http` module,
//! `server.keepAliveTimeout`) and `uvicorn` (`timeout_keep_alive`, from the project's `.venv`).
//! The real servers sit behind a TCP relay that delays the server's close by a few
//! milliseconds, as a network path does: on loopback the FIN reaches Envoy before Envoy reuses
//! the connection, and the race never shows. The counts come from Envoy:
//! `upstream_cx_destroy_remote_with_active_rq` and the access log's response flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::envoy::{RenderOptions, add_access_log, render_inbound};
use crate::error::Error;
use crate::istio::inbound::Inbound;
use crate::sidecar::{Envoy, envoy_binary, envoy_version, project_roots};
use crate::upstream::{Upstream, UpstreamOptions};

/// The application servers the scenario runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ServerKind {
    /// The local upstream that closes an idle connection exactly when the next request arrives.
    Deterministic,
    /// Node's `http` module (`node` on `PATH`, or `NODE_BIN`).
    Node,
    /// uvicorn (from the project's `.venv`, or the Python in `UVICORN_PYTHON`).
    Uvicorn,
}

impl ServerKind {
    /// The name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerKind::Deterministic => "deterministic",
            ServerKind::Node => "node",
            ServerKind::Uvicorn => "uvicorn",
        }
    }
}

/// What to run.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct KeepAliveOptions {
    /// The servers' keep-alive (idle close). Default 200ms.
    pub server_keep_alive: Duration,
    /// The idle gap each caller leaves between its requests. Default: how long after an
    /// answer the server was measured to close an idle connection.
    pub idle_gap: Option<Duration>,
    /// How long the relay in front of a real server holds back the server's close. Default 5ms.
    pub close_delay: Duration,
    /// Requests per run. Default 200.
    pub requests: usize,
    /// Concurrent callers. Default 4.
    pub concurrency: usize,
    /// The servers, in order. Default all three.
    pub servers: Vec<ServerKind>,
}

impl Default for KeepAliveOptions {
    fn default() -> Self {
        Self {
            server_keep_alive: Duration::from_millis(200),
            idle_gap: None,
            close_delay: Duration::from_millis(5),
            requests: 200,
            concurrency: 4,
            servers: vec![
                ServerKind::Deterministic,
                ServerKind::Node,
                ServerKind::Uvicorn,
            ],
        }
    }
}

impl KeepAliveOptions {
    /// The servers' keep-alive. Default 200ms.
    pub fn server_keep_alive(mut self, keep_alive: Duration) -> Self {
        self.server_keep_alive = keep_alive;
        self
    }

    /// The idle gap between a caller's requests; `None` means the server's measured idle close.
    pub fn idle_gap(mut self, gap: impl Into<Option<Duration>>) -> Self {
        self.idle_gap = gap.into();
        self
    }

    /// How long the relay holds back a real server's close. Default 5ms.
    pub fn close_delay(mut self, delay: Duration) -> Self {
        self.close_delay = delay;
        self
    }

    /// Requests per run. Default 200.
    pub fn requests(mut self, requests: usize) -> Self {
        self.requests = requests.max(1);
        self
    }

    /// Concurrent callers. Default 4.
    pub fn concurrency(mut self, callers: usize) -> Self {
        self.concurrency = callers.max(1);
        self
    }

    /// The servers, in order.
    pub fn servers(mut self, servers: impl Into<Vec<ServerKind>>) -> Self {
        self.servers = servers.into();
        self
    }
}

/// The inbound idle timeout that makes the sidecar close first, as `check --server` advises it
/// (ST401): 90% of the server's keep-alive, in whole milliseconds, at least 1ms.
///
/// ```
/// use std::time::Duration;
/// use sidecar_tuner::bench::keepalive::recommended_idle_timeout;
/// assert_eq!(recommended_idle_timeout(Duration::from_secs(5)), Duration::from_millis(4500));
/// ```
pub fn recommended_idle_timeout(server_keep_alive: Duration) -> Duration {
    crate::plan::rule_idle_timeout_below(server_keep_alive)
}

/// One server with one setting.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct KeepAliveRun {
    /// The server.
    pub server: ServerKind,
    /// `default` or `recommended`.
    pub settings: &'static str,
    /// The inbound idle timeout Envoy ran with; `None`: Envoy's 1h.
    pub idle_timeout_ms: Option<u64>,
    /// Requests sent.
    pub requests: usize,
    /// 2xx answers.
    pub ok: usize,
    /// 503 answers.
    pub status_503: usize,
    /// Other failures (other statuses, transport errors).
    pub errors: usize,
    /// Access-log lines `503 UC`.
    pub uc: usize,
    /// Envoy's `upstream_cx_destroy_remote_with_active_rq`.
    pub destroy_remote_with_active_rq: u64,
    /// Envoy's `upstream_cx_idle_timeout`: connections the sidecar closed first.
    pub idle_timeouts: u64,
    /// Idle connections the server closed before the sidecar did (seen by the relay, or by the
    /// deterministic server).
    pub server_closes: u64,
}

/// Every run, with what it ran against.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct KeepAliveReport {
    /// The runs, by server then settings.
    pub runs: Vec<KeepAliveRun>,
    /// Envoy's version.
    pub envoy_version: String,
    /// The servers' keep-alive, in ms.
    pub server_keep_alive_ms: u64,
    /// The idle gap between a caller's requests, in ms, when given; else each server's
    /// measured idle close.
    pub idle_gap_ms: Option<u64>,
    /// The relay's close delay, in ms.
    pub close_delay_ms: u64,
    /// Each server's version (`node v20.20.2`, `uvicorn 0.54.0`) and how long after an answer
    /// it was measured to close an idle connection, in ms.
    pub server_versions: Vec<(ServerKind, String, u64)>,
}

/// Runs the scenario for the inbound policy `inbound` (its idle timeout is the `default`).
///
/// # Errors
/// No Envoy ([`crate::ErrorKind::EnvoyNotFound`]); a server runtime that is not installed or
/// does not start, or Envoy that does not start ([`crate::ErrorKind::Sidecar`]).
pub async fn run(
    inbound: &Inbound<'_>,
    options: &KeepAliveOptions,
) -> Result<KeepAliveReport, Error> {
    let binary = envoy_binary()?;
    let envoy_version = envoy_version(&binary)?;
    let recommended = recommended_idle_timeout(options.server_keep_alive);
    let mut runs = Vec::new();
    let mut server_versions = Vec::new();
    for &server in &options.servers {
        let version = server_version(server)?;
        // The deterministic server closes at the next request, not on a timer.
        let closes_after = match server {
            ServerKind::Deterministic => options.server_keep_alive,
            _ => {
                let app = start_server(server, options.server_keep_alive).await?;
                measure_close(app.addr()).await?
            }
        };
        server_versions.push((server, version, ms(closes_after)));
        let gap = options.idle_gap.unwrap_or(closes_after);
        for (settings, idle) in [("default", None), ("recommended", Some(recommended))] {
            runs.push(run_one(&binary, inbound, options, server, gap, settings, idle).await?);
        }
    }
    Ok(KeepAliveReport {
        runs,
        envoy_version,
        server_keep_alive_ms: ms(options.server_keep_alive),
        idle_gap_ms: options.idle_gap.map(ms),
        close_delay_ms: ms(options.close_delay),
        server_versions,
    })
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A started application server: where it listens, and what keeps it alive.
enum Running {
    Deterministic(Upstream),
    Process {
        _child: tokio::process::Child,
        addr: SocketAddr,
    },
}

impl Running {
    fn addr(&self) -> SocketAddr {
        match self {
            Running::Deterministic(upstream) => upstream.addr(),
            Running::Process { addr, .. } => *addr,
        }
    }
}

fn node_binary() -> PathBuf {
    std::env::var_os("NODE_BIN").map_or_else(|| PathBuf::from("node"), PathBuf::from)
}

fn python_binary() -> Result<PathBuf, Error> {
    if let Some(python) = std::env::var_os("UVICORN_PYTHON") {
        return Ok(PathBuf::from(python));
    }
    project_roots()
        .iter()
        .map(|root| root.join(".venv/bin/python"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error::sidecar("no Python with uvicorn: run `scripts/setup.sh` (it installs uvicorn into .venv) or set UVICORN_PYTHON")
        })
}

/// The server's version, which also checks that it is installed.
fn server_version(server: ServerKind) -> Result<String, Error> {
    let (program, args): (PathBuf, &[&str]) = match server {
        ServerKind::Deterministic => return Ok("sidecar-tuner upstream".into()),
        ServerKind::Node => (node_binary(), &["--version"]),
        ServerKind::Uvicorn => (
            python_binary()?,
            &[
                "-c",
                "import uvicorn; print('uvicorn', uvicorn.__version__)",
            ],
        ),
    };
    let out = std::process::Command::new(&program)
        .args(args)
        .output()
        .map_err(|e| {
            Error::sidecar(format!(
                "cannot run {}: {e} (the {} server needs it)",
                program.display(),
                server.as_str()
            ))
        })?;
    if !out.status.success() {
        return Err(Error::sidecar(format!(
            "{} does not run: {}",
            program.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Ok(match server {
        ServerKind::Node => format!("node {version}"),
        _ => version,
    })
}

const NODE_SERVER: &str = "const http = require('http');
const server = http.createServer((req, res) => { res.end('ok'); });
server.keepAliveTimeout = Number(process.argv[1]);
server.listen(0, '127.0.0.1', () => console.log(server.address().port));";

const UVICORN_SERVER: &str = "import socket, sys, uvicorn
async def app(scope, receive, send):
    if scope['type'] != 'http':
        return
    await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'text/plain'), (b'content-length', b'2')]})
    await send({'type': 'http.response.body', 'body': b'ok'})
sock = socket.socket()
sock.bind(('127.0.0.1', 0))
print(sock.getsockname()[1], flush=True)
config = uvicorn.Config(app, timeout_keep_alive=float(sys.argv[1]) / 1000, log_level='warning', lifespan='off')
uvicorn.Server(config).run(sockets=[sock])";

async fn start_server(server: ServerKind, keep_alive: Duration) -> Result<Running, Error> {
    let keep_alive_ms = ms(keep_alive).to_string();
    let mut command = match server {
        ServerKind::Deterministic => {
            let upstream = Upstream::start(UpstreamOptions::default().keep_alive(keep_alive))
                .await
                .map_err(|e| Error::sidecar(format!("cannot start the local upstream: {e}")))?;
            return Ok(Running::Deterministic(upstream));
        }
        ServerKind::Node => {
            let mut c = tokio::process::Command::new(node_binary());
            c.args(["-e", NODE_SERVER, &keep_alive_ms]);
            c
        }
        ServerKind::Uvicorn => {
            let mut c = tokio::process::Command::new(python_binary()?);
            c.args(["-c", UVICORN_SERVER, &keep_alive_ms]);
            c
        }
    };
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| Error::sidecar(format!("cannot start the {} server: {e}", server.as_str())))?;
    let stdout = child.stdout.take().expect("piped");
    let mut line = String::new();
    let read = tokio::time::timeout(
        Duration::from_secs(20),
        BufReader::new(stdout).read_line(&mut line),
    )
    .await;
    let port: u16 = match read {
        Ok(Ok(_)) => line.trim().parse().map_err(|_| {
            Error::sidecar(format!(
                "the {} server printed `{}` instead of its port",
                server.as_str(),
                line.trim()
            ))
        })?,
        _ => {
            return Err(Error::sidecar(format!(
                "the {} server did not start within 20s",
                server.as_str()
            )));
        }
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    // uvicorn prints its port when bound, before it listens: wait until it accepts.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).await.is_err() {
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::sidecar(format!(
                "the {} server did not accept connections within 20s",
                server.as_str()
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(Running::Process {
        _child: child,
        addr,
    })
}

/// How long after its answer the server at `addr` closes an idle connection, measured on one
/// request (Node 20.20 adds 1s to `keepAliveTimeout`, for instance).
async fn measure_close(addr: SocketAddr) -> Result<Duration, Error> {
    let fail = |what: String| Error::sidecar(format!("measuring the server's idle close: {what}"));
    let measure = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|e| fail(e.to_string()))?;
        stream
            .write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n")
            .await
            .map_err(|e| fail(e.to_string()))?;
        let mut buffer = [0u8; 4096];
        let mut answered = None;
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                // The close is timed from the last byte of the answer.
                Ok(_) => answered = Some(tokio::time::Instant::now()),
            }
        }
        let answered = answered.ok_or_else(|| fail("no answer".into()))?;
        Ok(answered.elapsed())
    };
    tokio::time::timeout(Duration::from_secs(60), measure)
        .await
        .map_err(|_| fail("no close within 60s".into()))?
}

/// A TCP relay on loopback to `target` that forwards both ways and holds back the target's
/// close for `delay`, counting those closes.
struct Relay {
    addr: SocketAddr,
    server_closes: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Relay {
    async fn start(target: SocketAddr, delay: Duration) -> Result<Relay, Error> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| Error::sidecar(format!("cannot bind the relay: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::sidecar(e.to_string()))?;
        let server_closes = Arc::new(AtomicU64::new(0));
        let closes = Arc::clone(&server_closes);
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    Some(_) = connections.join_next() => continue,
                };
                let Ok((downstream, _)) = accepted else {
                    continue;
                };
                let closes = Arc::clone(&closes);
                connections.spawn(async move {
                    if let Ok(upstream) = TcpStream::connect(target).await {
                        relay(downstream, upstream, delay, &closes).await;
                    }
                });
            }
        });
        Ok(Relay {
            addr,
            server_closes,
            task,
        })
    }
}

async fn relay(downstream: TcpStream, upstream: TcpStream, delay: Duration, closes: &AtomicU64) {
    let _ = downstream.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (mut down_read, mut down_write) = downstream.into_split();
    let (mut up_read, mut up_write) = upstream.into_split();
    let sidecar_closed = std::sync::atomic::AtomicBool::new(false);
    let to_server = async {
        let _ = tokio::io::copy(&mut down_read, &mut up_write).await;
        sidecar_closed.store(true, Ordering::SeqCst);
        let _ = up_write.shutdown().await;
    };
    let to_client = async {
        let mut buffer = [0u8; 16 * 1024];
        loop {
            match up_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if down_write.write_all(&buffer[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
        // The server closed (first, unless the sidecar's close came before): the close reaches
        // the sidecar `delay` later, as over a network.
        if !sidecar_closed.load(Ordering::SeqCst) {
            closes.fetch_add(1, Ordering::SeqCst);
        }
        tokio::time::sleep(delay).await;
        let _ = down_write.shutdown().await;
    };
    // The connection ends when the server's close has been passed on.
    tokio::select! {
        () = to_client => {}
        () = async { to_server.await; std::future::pending::<()>().await } => {}
    }
}

async fn run_one(
    binary: &Path,
    inbound: &Inbound<'_>,
    options: &KeepAliveOptions,
    server: ServerKind,
    gap: Duration,
    settings: &'static str,
    idle_timeout: Option<Duration>,
) -> Result<KeepAliveRun, Error> {
    let app = start_server(server, options.server_keep_alive).await?;
    let relay = match server {
        ServerKind::Deterministic => None,
        _ => Some(Relay::start(app.addr(), options.close_delay).await?),
    };
    let upstream = relay.as_ref().map_or(app.addr(), |r| r.addr);
    let dir = tempfile::tempdir()
        .map_err(|e| Error::sidecar(format!("cannot create a temporary folder: {e}")))?;
    let log = dir.path().join("access.log");
    let mut bootstrap = render_inbound(inbound, &RenderOptions::new(upstream));
    if let Some(idle) = idle_timeout {
        crate::envoy::set_idle_timeout(&mut bootstrap, idle);
    }
    let idle_timeout_ms = crate::envoy::idle_timeout_of(&bootstrap).map(ms);
    add_access_log(&mut bootstrap, &log);
    let envoy = Envoy::start(binary, &bootstrap).await?;
    let cluster = bootstrap["static_resources"]["clusters"][0]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let before = envoy.admin().stats(&cluster).await?;
    let client = reqwest::Client::builder()
        .http1_only()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| Error::request(envoy.url(), e))?;
    let next = Arc::new(AtomicUsize::new(0));
    let counts = Arc::new([
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    ]);
    let jitter = options.close_delay * 2;
    let mut callers = tokio::task::JoinSet::new();
    for caller in 0..options.concurrency {
        let (client, next, counts, url) = (
            client.clone(),
            Arc::clone(&next),
            Arc::clone(&counts),
            envoy.url(),
        );
        let requests = options.requests;
        callers.spawn(async move {
            // A small linear congruential sequence spreads each caller's gaps over
            // [gap, gap + 2 x close delay): the window where a real server's close is in flight.
            let mut seed = 0x9E37_79B9_u64.wrapping_mul(caller as u64 + 1);
            let mut first = true;
            while next.fetch_add(1, Ordering::SeqCst) < requests {
                if !first {
                    seed = seed
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    let extra = jitter.mul_f64((seed >> 11) as f64 / (1u64 << 53) as f64);
                    tokio::time::sleep(gap + extra).await;
                }
                first = false;
                let slot = match client.get(&url).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        0
                    }
                    Ok(r) if r.status().as_u16() == 503 => {
                        let _ = r.bytes().await;
                        1
                    }
                    _ => 2,
                };
                counts[slot].fetch_add(1, Ordering::SeqCst);
            }
        });
    }
    while callers.join_next().await.is_some() {}
    let requests = counts
        .iter()
        .map(|c| c.load(Ordering::SeqCst))
        .sum::<usize>();
    let stats = envoy.admin().stats(&cluster).await?.since(&before);
    // Envoy flushes its access log asynchronously (every second by default).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let lines = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if lines.len() >= requests || tokio::time::Instant::now() >= deadline {
            break lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let server_closes = match (&app, &relay) {
        (Running::Deterministic(upstream), _) => upstream.stats().closed_at_request,
        (_, Some(relay)) => relay.server_closes.load(Ordering::SeqCst),
        _ => 0,
    };
    drop(envoy);
    Ok(KeepAliveRun {
        server,
        settings,
        idle_timeout_ms,
        requests,
        ok: counts[0].load(Ordering::SeqCst),
        status_503: counts[1].load(Ordering::SeqCst),
        errors: counts[2].load(Ordering::SeqCst),
        uc: lines.iter().filter(|l| l.as_str() == "503 UC").count(),
        destroy_remote_with_active_rq: stats.upstream_cx_destroy_remote_with_active_rq,
        idle_timeouts: stats.upstream_cx_idle_timeout,
        server_closes,
    })
}
