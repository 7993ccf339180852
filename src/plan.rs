//! Deriving the client settings (`ClientPlan`) from the policy the sidecar enforces. Pure: no I/O.
//!
//! | sidecar (from the rule)                 | client                                                  |
//! |-----------------------------------------|---------------------------------------------------------|
//! | `tcp.maxConnections` = N                | `pool_max_idle_per_host = max(1, floor(h·N))`; unbounded when N is unlimited |
//! | N, `http1MaxPendingRequests` = P, `http2MaxRequests` = R | `max_in_flight = max(1, floor(h·min(N+P, R)))` when finite, else unbounded |
//! | the same toward an HTTP/2 upstream, S = `maxConcurrentStreams` | `max_in_flight = max(1, floor(h·min(N·S+P, R)))` (R alone without S); the idle pool follows it |
//! | N on a port proxied as TCP (TCP, TLS, HTTPS, ...) | `max_in_flight = max(1, floor(h·N))`: a connection per request |
//! | —                                       | `http1_only = true`                                     |
//! | idle timeout (http, else tcp, else 1h; tcp alone on a TCP port; `tcp.idleTimeout: 0s` is none) | `pool_idle_timeout = min(90s, 0.9·idle, 0.9·maxConnectionDuration)` |
//! | `tcp.connectTimeout` (else MeshConfig's, else 10s) | `connect_timeout`, the same                  |
//! | `tcp.tcpKeepalive` over MeshConfig's    | `tcp_keepalive` and its interval and probes             |
//!
//! Istio writes every circuit-breaker threshold explicitly: unset or 0 means 4294967295.

use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::diag::Location;
use crate::error::Error;
use crate::istio::model::{HttpSettings, Located, TcpSettings};
use crate::istio::resolve::{EffectivePolicy, threshold};

pub use crate::istio::resolve::DEFAULT_CONNECT_TIMEOUT;
pub use crate::istio::resolve::UNLIMITED;
/// Envoy's default idle timeout for upstream HTTP connections.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(3600);
/// The longest client idle timeout the plan ever proposes.
pub const MAX_CLIENT_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// The keep-alive time Envoy (and Linux) use when `tcpKeepalive` sets none.
pub const DEFAULT_KEEPALIVE_TIME: Duration = Duration::from_secs(7200);
/// The default headroom.
pub const DEFAULT_HEADROOM: f64 = 0.95;
/// How many times a client sends an idempotent request again when the sidecar refused it with
/// an overload answer (`503`, `x-envoy-overloaded`): [`AlignOptions`](crate::client::AlignOptions)'
/// default, and what `plan --emit` writes for the libraries that can retry. The sidecar refused
/// those requests before any upstream saw them, so these retries multiply nothing upstream.
pub const OVERLOAD_RETRIES: u32 = 2;
/// The pause before the first overload retry; each next one waits twice as long.
pub const OVERLOAD_BACKOFF: Duration = Duration::from_millis(25);

/// Options of the derivation.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PlanOptions {
    /// The share of the sidecar's limits the client may use, from 0.5 to 1.0. Default 0.95.
    pub headroom: f64,
    /// How many processes of the pod call the destination through its one sidecar, each with
    /// a client planned alike. Default 1.
    pub processes: u32,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            headroom: DEFAULT_HEADROOM,
            processes: 1,
        }
    }
}

impl PlanOptions {
    /// The share of the sidecar's limits the client may use, from 0.5 to 1.0.
    pub fn headroom(mut self, headroom: f64) -> Self {
        self.headroom = headroom;
        self
    }

    /// How many processes share the sidecar's budget (workers of a gunicorn or Node cluster,
    /// containers of the pod): Envoy's circuit breakers count per sidecar and cluster, for
    /// every process behind it, so each process plans for its share. At least 1.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use sidecar_tuner::Tuner;
    ///
    /// // maxConnections 100, http1MaxPendingRequests 10: floor(0.95 x 110 / 4) = 26 each.
    /// let plan = Tuner::from_path("fixtures/reviews.yaml")?
    ///     .host("reviews")
    ///     .namespace("bookinfo")
    ///     .processes(4)
    ///     .plan()?;
    /// assert_eq!(plan.max_in_flight, Some(26));
    /// assert_eq!(plan.pool_max_idle_per_host, Some(23)); // floor(0.95 x 100 / 4)
    /// # Ok(())
    /// # }
    /// ```
    pub fn processes(mut self, processes: u32) -> Self {
        self.processes = processes;
        self
    }
}

/// Milliseconds: an integer when whole, else a fraction (a 900us idle timeout is `0.9`).
fn ms<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    if d.subsec_nanos().is_multiple_of(1_000_000) {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    } else {
        s.serialize_f64(d.as_secs_f64() * 1000.0)
    }
}

fn opt_ms<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => ms(d, s),
        None => s.serialize_none(),
    }
}

/// What the sidecar enforces for the destination, Istio's defaults filled in.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SidecarLimits {
    /// `max_connections` circuit breaker (N).
    pub max_connections: u32,
    /// `max_pending_requests` circuit breaker (P).
    pub max_pending_requests: u32,
    /// `max_requests` circuit breaker (R); Envoy applies it to HTTP/1.1 too.
    pub max_requests: u32,
    /// `max_retries` circuit breaker.
    pub max_retries: u32,
    /// Requests per upstream connection; `None` is unlimited.
    pub max_requests_per_connection: Option<u32>,
    /// The upstream idle timeout; zero is none (`tcp.idleTimeout: 0s`, which Envoy reads as
    /// "never close an idle connection").
    #[serde(rename = "idle_timeout_ms", serialize_with = "ms")]
    pub idle_timeout: Duration,
    /// The upstream connect timeout.
    #[serde(rename = "connect_timeout_ms", serialize_with = "ms")]
    pub connect_timeout: Duration,
    /// The longest an upstream connection lives; `None` is unlimited.
    #[serde(skip)]
    pub max_connection_duration: Option<Duration>,
    /// Whether the sidecar upgrades the upstream to HTTP/2.
    #[serde(skip)]
    pub h2_upgrade: bool,
    /// Whether the sidecar proxies the port as TCP: a connection per client connection, up to
    /// `max_connections`, and none of the HTTP limits.
    #[serde(skip)]
    pub tcp_proxy: bool,
    /// Streams per upstream connection toward HTTP/2 (S, `maxConcurrentStreams`); 4294967295
    /// when unlimited.
    #[serde(skip)]
    pub max_concurrent_streams: u32,
}

impl SidecarLimits {
    /// The most requests the sidecar takes at once, `None` when unbounded, and its formula.
    /// Toward an HTTP/1.1 upstream each request in flight holds a connection or waits in the
    /// pending queue: `min(N + P, R)`. Toward an HTTP/2 upstream (measured with Envoy 1.40
    /// and an h2c upstream, tests/sidecar_h2.rs) a connection carries up to S streams, so N
    /// bounds connections, not requests: `min(N x S + P, R)`, R alone without S. On a port
    /// proxied as TCP, N: each request in flight needs a connection of its own, and one beyond
    /// N is reset at once instead of waiting for one to free (measured with Envoy 1.40,
    /// tests/sidecar.rs).
    pub(crate) fn admission(&self) -> (Option<u64>, String) {
        let (n, p, r) = (
            self.max_connections,
            self.max_pending_requests,
            self.max_requests,
        );
        if self.tcp_proxy {
            return ((n != UNLIMITED).then_some(u64::from(n)), show(n));
        }
        let streams = self.max_concurrent_streams;
        let queue = if n == UNLIMITED || p == UNLIMITED {
            None
        } else if !self.h2_upgrade {
            Some(u64::from(n) + u64::from(p))
        } else if streams == UNLIMITED {
            None
        } else {
            Some(u64::from(n) * u64::from(streams) + u64::from(p))
        };
        let bound = match (queue, r) {
            (None, UNLIMITED) => None,
            (None, r) => Some(u64::from(r)),
            (Some(a), UNLIMITED) => Some(a),
            (Some(a), r) => Some(a.min(u64::from(r))),
        };
        let queue = if self.h2_upgrade {
            format!("{} x {} + {}", show(n), show(streams), show(p))
        } else {
            format!("{} + {}", show(n), show(p))
        };
        (bound, format!("min({queue}, {})", show(r)))
    }

    /// How long the sidecar keeps a connection open at most when idle: the idle timeout
    /// (none when zero), cut by the longest connection duration; `None` when neither is set.
    pub fn idle_limit(&self) -> Option<Duration> {
        let idle = Some(self.idle_timeout).filter(|d| !d.is_zero());
        match (idle, self.max_connection_duration) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The client settings aligned with the sidecar.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClientPlan {
    /// Idle connections kept per host: `max(1, floor(h·N))`, never 0 (0 turns pooling off);
    /// `None` is no bound, when the sidecar's connections are unlimited.
    pub pool_max_idle_per_host: Option<usize>,
    /// The ceiling on requests in flight: `max(1, floor(h·min(N+P, R)))`; `None` is unbounded.
    pub max_in_flight: Option<usize>,
    /// The adaptive limit's starting point: `max(1, floor(h·P))`, or the ceiling when P is
    /// unlimited.
    #[serde(skip)]
    pub initial_in_flight: Option<usize>,
    /// The adaptive limit's growth per round trip in slow start while the sidecar keeps up:
    /// the sidecar's pending queue P, `max(1, floor(P / k))` when k processes share it; half of
    /// it, rounded up, after a round whose round trips were slow
    /// ([`AdaptiveLimit`](crate::client::AdaptiveLimit)). `None` (P unlimited, or a plan from
    /// [`bounded`](Self::bounded)) grows by the start.
    #[serde(skip)]
    pub slow_start_step: Option<usize>,
    /// Always `true`: the sidecar's HTTP/1 admission is what the plan sizes.
    pub http1_only: bool,
    /// How long an idle pooled connection is kept.
    #[serde(rename = "pool_idle_timeout_ms", serialize_with = "ms")]
    pub pool_idle_timeout: Duration,
    /// The connect timeout.
    #[serde(rename = "connect_timeout_ms", serialize_with = "ms")]
    pub connect_timeout: Duration,
    /// TCP keep-alive idle time; `None` leaves keep-alive off, as the rule does.
    #[serde(rename = "tcp_keepalive_ms", serialize_with = "opt_ms")]
    pub tcp_keepalive: Option<Duration>,
    /// TCP keep-alive probe interval, when the rule sets one.
    #[serde(skip)]
    pub tcp_keepalive_interval: Option<Duration>,
    /// TCP keep-alive probes, when the rule sets them.
    #[serde(skip)]
    pub tcp_keepalive_retries: Option<u32>,
}

impl ClientPlan {
    /// A plan that bounds requests in flight at `ceiling`, the adaptive limit starting at
    /// `initial` (at most `ceiling`), Istio's defaults for the rest: for a client or layer
    /// whose bound comes from elsewhere than a rule.
    ///
    /// ```
    /// let plan = sidecar_tuner::ClientPlan::bounded(8, 2);
    /// assert_eq!((plan.max_in_flight, plan.initial_in_flight), (Some(8), Some(2)));
    /// ```
    pub fn bounded(ceiling: usize, initial: usize) -> Self {
        let ceiling = ceiling.max(1);
        Self {
            max_in_flight: Some(ceiling),
            initial_in_flight: Some(initial.clamp(1, ceiling)),
            ..Self::default()
        }
    }
}

impl Default for ClientPlan {
    /// The plan for a destination whose rule sets no connection pool: Istio's defaults, so
    /// in flight is unbounded.
    fn default() -> Self {
        derive(&EffectivePolicy::default(), &PlanOptions::default())
            .expect("the default headroom is in range")
            .client
    }
}

/// How one client setting was derived, and from which lines of the rule.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Derivation {
    /// The setting, e.g. `max_in_flight`.
    pub setting: &'static str,
    /// The arithmetic, e.g. `104 = floor(0.95 x min(100 + 10, 4294967295))`.
    pub explanation: String,
    /// Where the inputs were written.
    pub sources: Vec<Location>,
}

/// The sidecar's limits, the client plan, and how each setting was derived.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Plan {
    /// What the sidecar enforces.
    pub sidecar: SidecarLimits,
    /// What the client should do.
    pub client: ClientPlan,
    /// How each client setting was derived.
    pub derivations: Vec<Derivation>,
    /// How many processes share the sidecar's budget (the plan is one process's share).
    pub processes: u32,
    /// The plan of a process alone behind the sidecar, when `processes` is above 1.
    pub(crate) alone: Option<ClientPlan>,
}

fn show(n: u32) -> String {
    if n == UNLIMITED {
        "unlimited".into()
    } else {
        n.to_string()
    }
}

/// One process's share of a sidecar limit `x`: `max(1, floor(h·x / k))` for `k` processes.
#[derive(Clone, Copy)]
struct Share {
    h: f64,
    k: u32,
}

impl Share {
    fn of(self, x: f64) -> usize {
        ((self.h * x / f64::from(self.k)).floor() as usize).max(1)
    }

    /// The formula for `inner`: `max(1, floor(h x inner))`, `/ k` when shared.
    fn formula(self, inner: &str) -> String {
        match self.k {
            1 => format!("max(1, floor({} x {inner}))", self.h),
            k => format!("max(1, floor({} x {inner} / {k}))", self.h),
        }
    }
}

/// Derives the plan from the effective policy.
///
/// # Errors
/// [`ErrorKind::InvalidSetting`](crate::ErrorKind::InvalidSetting) when the headroom is outside 0.5..=1.0.
pub fn derive(policy: &EffectivePolicy<'_>, options: &PlanOptions) -> Result<Plan, Error> {
    let h = options.headroom;
    if !(0.5..=1.0).contains(&h) {
        return Err(Error::invalid_setting("headroom", h, "0.5 to 1.0"));
    }
    if options.processes == 0 {
        return Err(Error::invalid_setting("processes", 0, "1 or more"));
    }
    let share = Share {
        h,
        k: options.processes,
    };
    let sourced_pool = policy.connection_pool.as_ref();
    let pool = sourced_pool.map(|p| p.value);
    let tcp: Option<&TcpSettings> = pool.and_then(|p| p.tcp.as_ref());
    let http: Option<&HttpSettings> = pool.and_then(|p| p.http.as_ref());
    let at = |pos| sourced_pool.map(|p| p.at(pos));
    let pos = |v: Option<&Located<i64>>| v.and_then(|l| at(l.pos));
    let n_src = tcp.and_then(|t| t.max_connections.as_ref());
    let p_src = http.and_then(|h| h.http1_max_pending_requests.as_ref());
    let r_src = http.and_then(|h| h.http2_max_requests.as_ref());
    let s_src = http.and_then(|h| h.max_concurrent_streams.as_ref());
    let thresholds = policy.thresholds();
    let (n, p, r) = (
        thresholds.max_connections,
        thresholds.max_pending_requests,
        thresholds.max_requests,
    );
    // A port proxied as TCP has the `tcp_proxy`'s timeouts: the top-level pool's `tcp` ones.
    let tcp_proxy = policy.proxies_tcp();
    let timeouts_pool = if tcp_proxy {
        policy.tcp_proxy_pool()
    } else {
        sourced_pool
    };
    let timeouts_tcp = timeouts_pool.and_then(|p| p.value.tcp.as_ref());
    let idle_src = http
        .and_then(|h| h.idle_timeout.as_ref())
        .filter(|_| !tcp_proxy)
        .or_else(|| timeouts_tcp.and_then(|t| t.idle_timeout.as_ref()));
    let duration_src = timeouts_tcp.and_then(|t| t.max_connection_duration.as_ref());
    let (connect_timeout, connect_src) = policy.connect_timeout();
    let keepalive = policy.tcp_keepalive();
    let (h2, upstream) = policy.upstream();
    let sidecar = SidecarLimits {
        max_connections: n,
        max_pending_requests: p,
        max_requests: r,
        max_retries: thresholds.max_retries,
        max_requests_per_connection: http
            .and_then(|h| h.max_requests_per_connection.as_ref())
            .and_then(|m| u32::try_from(m.value).ok())
            .filter(|m| *m > 0),
        idle_timeout: idle_src.map_or(DEFAULT_IDLE_TIMEOUT, |l| l.value),
        connect_timeout,
        max_connection_duration: duration_src.map(|l| l.value),
        h2_upgrade: h2,
        tcp_proxy,
        max_concurrent_streams: threshold(s_src),
    };

    let mut derivations = Vec::new();
    let (bound, admitted) = sidecar.admission();
    let max_in_flight = bound.map(|b| share.of(b as f64));
    let upstream = match (tcp_proxy, upstream) {
        (true, _) => format!(
            ", the sidecar's connections (the port's protocol is {}, so the sidecar proxies it as TCP: each client connection, idle or not, holds one, and one beyond them is reset)",
            policy.protocol.map_or_else(String::new, |p| p.to_string())
        ),
        (false, None) => String::new(),
        (false, Some(why)) => {
            let version = if h2 { "HTTP/2" } else { "HTTP/1.1" };
            format!(", toward an {version} upstream ({why})")
        }
    };
    derivations.push(Derivation {
        setting: "max_in_flight",
        explanation: match max_in_flight {
            Some(m) => format!("{m} = {}{upstream}", share.formula(&admitted)),
            None => format!(
                "unbounded: {admitted} is unlimited{upstream}, so the sidecar never overflows on concurrency"
            ),
        },
        sources: if tcp_proxy {
            pos(n_src).into_iter().collect()
        } else {
            [pos(n_src), pos(p_src), pos(r_src), pos(s_src)].into_iter().flatten().collect()
        },
    });
    // The idle pool keeps app-to-sidecar connections: one per upstream connection toward
    // HTTP/1.1; toward HTTP/2 the sidecar multiplexes them, so one per request in flight.
    let (idle, idle_explanation) = match (sidecar.h2_upgrade, max_in_flight) {
        (true, Some(m)) => (
            Some(m),
            format!("{m} = max_in_flight (the sidecar multiplexes an HTTP/2 upstream)"),
        ),
        _ if n == UNLIMITED => (
            None,
            "unbounded: the sidecar's connections are unlimited".to_owned(),
        ),
        _ => {
            let idle = share.of(f64::from(n));
            (Some(idle), format!("{idle} = {}", share.formula(&show(n))))
        }
    };
    derivations.insert(
        0,
        Derivation {
            setting: "pool_max_idle_per_host",
            explanation: idle_explanation,
            sources: pos(n_src).into_iter().collect(),
        },
    );
    // A TCP proxy queues a client connection as pending while its upstream connection opens
    // (measured with Envoy 1.40: the sixth of nine connections opened at once to a cold
    // sidecar with 5 pending was reset), so a TCP port starts the same way.
    let initial_in_flight = max_in_flight.map(|ceiling| match p {
        UNLIMITED => ceiling,
        p => share.of(f64::from(p)).min(ceiling),
    });
    // The queue, not the start: the headroom h already sized the start and the ceiling, and a
    // step is what the model allows to wait at once, not the client's share. Floored for k
    // processes, so that their steps together never exceed the queue.
    let slow_start_step = match (max_in_flight, p) {
        (None, _) | (_, UNLIMITED) => None,
        (Some(_), p) => Some((p as usize / share.k as usize).max(1)),
    };

    let pool_idle_timeout = sidecar.idle_limit().map_or(MAX_CLIENT_IDLE_TIMEOUT, |d| {
        MAX_CLIENT_IDLE_TIMEOUT.min(d * 9 / 10)
    });
    // Whole microseconds, at least one: 0.9 of Istio's whole milliseconds is exact in them (a
    // 1ms idle timeout gives 900us, still below it), and a client file or a Go transport
    // states them exactly. Zero would mean "no limit" to Go.
    let pool_idle_timeout = Duration::from_micros(
        u64::try_from(pool_idle_timeout.as_micros())
            .unwrap_or(u64::MAX)
            .max(1),
    );
    derivations.push(Derivation {
        setting: "pool_idle_timeout",
        explanation: format!(
            "{} = min(90s, 0.9 x idle timeout {}{})",
            fmt_duration(pool_idle_timeout),
            if sidecar.idle_timeout.is_zero() {
                "none (0s)".to_owned()
            } else {
                fmt_duration(sidecar.idle_timeout)
            },
            sidecar
                .max_connection_duration
                .map_or(String::new(), |d| format!(
                    ", 0.9 x max connection duration {}",
                    fmt_duration(d)
                ))
        ),
        sources: [idle_src, duration_src]
            .into_iter()
            .flatten()
            .filter_map(|l| timeouts_pool.map(|p| p.at(l.pos)))
            .collect(),
    });
    derivations.push(Derivation {
        setting: "connect_timeout",
        explanation: format!(
            "{} = {}",
            fmt_duration(sidecar.connect_timeout),
            match (&connect_src, tcp.and_then(|t| t.connect_timeout.as_ref())) {
                (Some(_), Some(_)) => "the rule's connectTimeout",
                (Some(_), None) => "MeshConfig's connectTimeout (the rule sets none)",
                (None, _) => "the mesh default (the rule sets none)",
            }
        ),
        sources: connect_src.into_iter().collect(),
    });
    let tcp_keepalive = keepalive.as_ref().map(|k| {
        k.time
            .as_ref()
            .map_or(DEFAULT_KEEPALIVE_TIME, |(t, _)| whole_seconds(*t))
    });
    if let (Some(k), Some(time)) = (&keepalive, tcp_keepalive) {
        derivations.push(Derivation {
            setting: "tcp_keepalive",
            explanation: format!(
                "{} = {}, in whole seconds as Envoy sets it",
                fmt_duration(time),
                match (&k.time, &policy.mesh.file) {
                    (None, _) => "the Linux default (the tcpKeepalive sets no time)",
                    (Some((_, at)), Some(mesh)) if at.file == *mesh =>
                        "MeshConfig's tcpKeepalive time (the rule sets none)",
                    _ => "the rule's tcpKeepalive time",
                }
            ),
            sources: k
                .time
                .as_ref()
                .map(|(_, at)| at.clone())
                .or_else(|| k.at.clone())
                .into_iter()
                .collect(),
        });
    }
    let client = ClientPlan {
        pool_max_idle_per_host: idle,
        max_in_flight,
        initial_in_flight,
        slow_start_step,
        http1_only: true,
        pool_idle_timeout,
        connect_timeout: sidecar.connect_timeout,
        tcp_keepalive,
        tcp_keepalive_interval: keepalive
            .as_ref()
            .and_then(|k| k.interval.as_ref())
            .map(|(i, _)| whole_seconds(*i)),
        tcp_keepalive_retries: keepalive
            .as_ref()
            .and_then(|k| k.probes.as_ref())
            .map(|(p, _)| *p),
    };
    let alone = match options.processes {
        1 => None,
        _ => Some(derive(policy, &options.clone().processes(1))?.client),
    };
    Ok(Plan {
        sidecar,
        client,
        derivations,
        processes: options.processes,
        alone,
    })
}

/// How long the inbound sidecar keeps an idle connection to the application; `None`: it never
/// closes one (`tcp.idleTimeout: 0s`).
pub(crate) fn inbound_idle_timeout(plan: &Plan) -> Option<Duration> {
    Some(plan.sidecar.idle_timeout).filter(|d| !d.is_zero())
}

/// The rule's `idleTimeout` that makes the sidecar close first: 0.9 of the server's, in whole
/// milliseconds (Istio's precision), at least 1ms.
pub(crate) fn rule_idle_timeout_below(server: Duration) -> Duration {
    let millis = u64::try_from(server.as_millis() * 9 / 10).unwrap_or(u64::MAX);
    Duration::from_millis(millis.max(1))
}

/// A server keep-alive the sidecar's idle timeout stays below: 1.1 times it, in whole seconds.
pub(crate) fn server_idle_timeout_above(sidecar: Duration) -> Duration {
    let millis = u64::try_from(sidecar.as_millis()).unwrap_or(u64::MAX / 11);
    Duration::from_secs((millis.saturating_mul(11)).div_ceil(10_000))
}

/// Envoy takes keep-alive times in whole seconds, truncated.
fn whole_seconds(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

/// A duration as a Go duration string (`1m30s`, `250ms`).
pub fn fmt_duration(d: Duration) -> String {
    crate::istio::duration::GoDuration::from_std(d).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Pos;
    use crate::istio::load::{LoadOptions, load_str};
    use crate::istio::resolve::{Destination, resolve};
    use proptest::prelude::*;

    fn plan_for(pool: &str, headroom: f64) -> Plan {
        let yaml = format!(
            "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: r}}\nspec:\n  host: svc\n  trafficPolicy:\n    connectionPool:\n{pool}"
        );
        let loaded = load_str(
            &yaml,
            &std::sync::Arc::from("t.yaml"),
            &LoadOptions::default(),
        );
        let resolution = resolve(&loaded.rules, &Destination::new("svc")).unwrap();
        derive(
            &resolution.policy,
            &PlanOptions::default().headroom(headroom),
        )
        .unwrap()
    }

    #[test]
    fn the_reference_rules() {
        let p = plan_for(
            "      tcp: {maxConnections: 100}\n      http: {http1MaxPendingRequests: 10}\n",
            0.95,
        );
        assert_eq!(p.client.pool_max_idle_per_host, Some(95));
        assert_eq!(p.client.max_in_flight, Some(104));
        assert_eq!(p.client.initial_in_flight, Some(9));
        assert_eq!(p.client.slow_start_step, Some(10), "the whole queue");
        assert_eq!(
            p.derivations[1].explanation,
            "104 = max(1, floor(0.95 x min(100 + 10, unlimited)))"
        );
        let task = plan_for(
            "      tcp: {maxConnections: 1}\n      http: {http1MaxPendingRequests: 1, maxRequestsPerConnection: 1}\n",
            0.95,
        );
        assert_eq!(
            (
                task.client.pool_max_idle_per_host,
                task.client.max_in_flight
            ),
            (Some(1), Some(1))
        );
        assert_eq!(task.sidecar.max_requests_per_connection, Some(1));
        let r_binds = plan_for(
            "      tcp: {maxConnections: 10}\n      http: {http1MaxPendingRequests: 100, http2MaxRequests: 2}\n",
            0.95,
        );
        assert_eq!(r_binds.client.max_in_flight, Some(1));
        let full = plan_for(
            "      tcp: {maxConnections: 20}\n      http: {http1MaxPendingRequests: 5}\n",
            1.0,
        );
        assert_eq!(full.client.max_in_flight, Some(25));
    }

    #[test]
    fn unset_and_zero_are_unlimited() {
        let p = plan_for(
            "      tcp: {maxConnections: 0}\n      http: {http1MaxPendingRequests: 10}\n",
            0.95,
        );
        assert_eq!(p.sidecar.max_connections, UNLIMITED);
        assert_eq!(p.client.max_in_flight, None);
        assert_eq!(
            p.client.pool_max_idle_per_host, None,
            "unbounded, not floor(0.95 x 4294967295)"
        );
        let r_only = plan_for("      http: {http2MaxRequests: 40}\n", 0.95);
        assert_eq!(r_only.client.max_in_flight, Some(38));
    }

    #[test]
    fn timeouts_and_keepalive() {
        let p = plan_for(
            "      tcp: {connectTimeout: 250ms, maxConnectionDuration: 60s, tcpKeepalive: {time: 30.9s, interval: 5s, probes: 3}}\n      http: {idleTimeout: 30s}\n",
            0.95,
        );
        assert_eq!(p.client.pool_idle_timeout, Duration::from_secs(27));
        assert_eq!(p.client.connect_timeout, Duration::from_millis(250));
        assert_eq!(p.client.tcp_keepalive, Some(Duration::from_secs(30)));
        assert_eq!(
            p.client.tcp_keepalive_interval,
            Some(Duration::from_secs(5))
        );
        assert_eq!(p.client.tcp_keepalive_retries, Some(3));
        let d = plan_for(
            "      tcp: {idleTimeout: 20m, maxConnectionDuration: 50s}\n",
            0.95,
        );
        assert_eq!(
            d.sidecar.idle_timeout,
            Duration::from_secs(1200),
            "tcp.idleTimeout applies when http sets none"
        );
        assert_eq!(d.client.pool_idle_timeout, Duration::from_secs(45));
        let defaults = plan_for("      tcp: {tcpKeepalive: {}}\n", 0.95);
        assert_eq!(defaults.client.pool_idle_timeout, MAX_CLIENT_IDLE_TIMEOUT);
        assert_eq!(defaults.client.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(defaults.client.tcp_keepalive, Some(DEFAULT_KEEPALIVE_TIME));
        // Below the sidecar's even at Istio's smallest idle timeout (a fuzzing regression: whole
        // milliseconds rounded 0.9ms up to the sidecar's own 1ms).
        let tiny = plan_for("      http: {idleTimeout: 1ms}\n", 0.95);
        assert_eq!(tiny.client.pool_idle_timeout, Duration::from_micros(900));
        let odd = plan_for("      http: {idleTimeout: 15ms}\n", 0.95);
        assert_eq!(odd.client.pool_idle_timeout, Duration::from_micros(13_500));
    }

    #[test]
    fn headroom_outside_its_range_is_an_error() {
        let policy = EffectivePolicy::default();
        for h in [0.49, 1.01, f64::NAN] {
            assert!(
                derive(&policy, &PlanOptions::default().headroom(h)).is_err(),
                "{h}"
            );
        }
    }

    fn limits() -> impl Strategy<Value = (u32, u32, u32)> {
        let t = prop_oneof![Just(UNLIMITED), 1u32..2000, 1u32..=u32::MAX];
        (t.clone(), t.clone(), t)
    }

    fn plan_with(n: u32, p: u32, r: u32, h: f64) -> ClientPlan {
        let tcp = TcpSettings {
            max_connections: Some(Located::new(i64::from(n), Pos::default())),
            ..Default::default()
        };
        let http = HttpSettings {
            http1_max_pending_requests: Some(Located::new(i64::from(p), Pos::default())),
            http2_max_requests: Some(Located::new(i64::from(r), Pos::default())),
            ..Default::default()
        };
        let pool = crate::istio::model::ConnectionPool {
            tcp: Some(tcp),
            http: Some(http),
            ..Default::default()
        };
        let policy = EffectivePolicy {
            connection_pool: Some(crate::istio::resolve::Sourced {
                value: &pool,
                source: crate::istio::resolve::PolicySource::TopLevel,
                file: std::sync::Arc::from("t.yaml"),
            }),
            ..Default::default()
        };
        derive(&policy, &PlanOptions::default().headroom(h))
            .unwrap()
            .client
    }

    proptest! {
        #[test]
        fn plan_invariants((n, p, r) in limits(), h in 0.5f64..=1.0, dh in 0.0f64..0.5) {
            let plan = plan_with(n, p, r, h);
            match plan.pool_max_idle_per_host {
                Some(idle) => prop_assert!(idle >= 1 && idle as u64 <= u64::from(n)),
                None => prop_assert_eq!(n, UNLIMITED),
            }
            let finite = |x: u32| x != UNLIMITED;
            match plan.max_in_flight {
                Some(m) => {
                    prop_assert!(m >= 1);
                    if finite(n) && finite(p) { prop_assert!(m as u64 <= u64::from(n) + u64::from(p)); }
                    if finite(r) { prop_assert!(m as u64 <= u64::from(r)); }
                    let start = plan.initial_in_flight.unwrap();
                    prop_assert!(start >= 1 && start <= m);
                    match plan.slow_start_step {
                        Some(step) => prop_assert!(finite(p) && step >= 1 && step as u64 <= u64::from(p).max(1)),
                        None => prop_assert!(!finite(p)),
                    }
                }
                None => prop_assert!(!(finite(r) || finite(n) && finite(p)), "unbounded only when R and N+P are unlimited"),
            }
            let higher = plan_with(n, p, r, (h + dh).min(1.0));
            prop_assert!(higher.pool_max_idle_per_host >= plan.pool_max_idle_per_host);
            prop_assert!(higher.max_in_flight >= plan.max_in_flight);
        }
    }

    #[test]
    fn the_fixes_leave_a_margin_on_the_right_side() {
        // Node's 5s keep-alive: the rule goes to 4.5s.
        assert_eq!(
            rule_idle_timeout_below(Duration::from_secs(5)),
            Duration::from_millis(4500)
        );
        // gunicorn's 2s: 1.8s; a 1ms server still gets a valid (>= 1ms) Istio duration.
        assert_eq!(
            rule_idle_timeout_below(Duration::from_secs(2)),
            Duration::from_millis(1800)
        );
        assert_eq!(
            rule_idle_timeout_below(Duration::from_millis(1)),
            Duration::from_millis(1)
        );
        // Envoy's 1h: the server keeps 66 minutes.
        assert_eq!(
            server_idle_timeout_above(Duration::from_secs(3600)),
            Duration::from_secs(3960)
        );
        assert_eq!(
            server_idle_timeout_above(Duration::from_secs(30)),
            Duration::from_secs(33)
        );
    }
}
