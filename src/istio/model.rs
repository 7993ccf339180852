//! The DestinationRule model: the fields that decide how the sidecar admits traffic, each with
//! the position it was read from.
//!
//! The model is built from a YAML tree that validation has checked; a value of the
//! wrong type is left out here (its finding was reported there).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::duration;
use super::protocol::Protocol;
use super::yaml::{Node, Pos, Value};

/// A value with the position it was read from.
#[derive(Clone, Debug, PartialEq)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub pos: Pos,
}

impl<T> Located<T> {
    /// `value` at `pos`.
    pub fn new(value: T, pos: Pos) -> Self {
        Self { value, pos }
    }
}

/// Where a rule came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Origin {
    /// The file as the user named it (`-` for standard input).
    pub file: Arc<str>,
    /// The position of the rule object.
    pub pos: Pos,
}

/// A DestinationRule (`networking.istio.io/v1`, `v1beta1` or `v1alpha3`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DestinationRule {
    /// The `apiVersion`, e.g. `networking.istio.io/v1`.
    pub api_version: String,
    /// `metadata.name`.
    pub name: Located<String>,
    /// `metadata.namespace`, when the rule names one.
    pub namespace: Option<Located<String>>,
    /// `spec.host`, as written.
    pub host: Located<String>,
    /// `spec.trafficPolicy`.
    pub traffic_policy: Option<TrafficPolicy>,
    /// `spec.subsets`.
    pub subsets: Vec<Subset>,
    /// `spec.exportTo`; empty means exported to every namespace.
    pub export_to: Vec<Located<String>>,
    /// `spec.workloadSelector.matchLabels`, when the rule has a selector.
    pub workload_selector: Option<Located<BTreeMap<String, String>>>,
    /// `metadata.creationTimestamp`, which orders rules for Istio (oldest first); a rule
    /// without one sorts first, as Istio's zero time does.
    pub creation_timestamp: Option<Located<Timestamp>>,
    /// Where the rule was read.
    pub origin: Origin,
}

/// A Kubernetes timestamp (RFC 3339, as `metadata.creationTimestamp`), in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub seconds: i64,
    /// Nanoseconds within the second.
    pub nanos: u32,
}

impl Timestamp {
    /// Parses RFC 3339 (`2024-05-01T10:00:00Z`, `2024-05-01T12:00:00.5+02:00`).
    pub fn parse(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        let digits = |from: usize, len: usize| -> Option<i64> {
            let part = text.get(from..from + len)?;
            part.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
        let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
        if b.get(4) != Some(&b'-')
            || b.get(7) != Some(&b'-')
            || !matches!(b.get(10), Some(b'T' | b't' | b' '))
            || b.get(13) != Some(&b':')
            || b.get(16) != Some(&b':')
            || !(1..=12).contains(&month)
            || !(1..=31).contains(&day)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let mut rest = &text[19..];
        let mut nanos = 0u32;
        if let Some(fraction) = rest.strip_prefix('.') {
            let len = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if len == 0 || len > 9 {
                return None;
            }
            nanos = fraction[..len].parse::<u32>().ok()? * 10u32.pow(9 - len as u32);
            rest = &fraction[len..];
        }
        let offset = match rest.as_bytes() {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let two = |a: u8, b: u8| -> Option<i64> {
                    (a.is_ascii_digit() && b.is_ascii_digit())
                        .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
                };
                let minutes = two(*h1, *h2)? * 60 + two(*m1, *m2)?;
                if *sign == b'-' {
                    -minutes * 60
                } else {
                    minutes * 60
                }
            }
            _ => return None,
        };
        // Days from the civil date (Howard Hinnant's algorithm).
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (month + 9) % 12;
        let doy = (153 * mp + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        Some(Self {
            seconds: days * 86_400 + hour * 3600 + minute * 60 + second - offset,
            nanos,
        })
    }
}

impl DestinationRule {
    /// `namespace/name`, with `default` for a rule that names no namespace.
    pub fn id(&self) -> String {
        format!(
            "{}/{}",
            self.namespace
                .as_ref()
                .map_or("default", |n| n.value.as_str()),
            self.name.value
        )
    }
}

/// A traffic policy, top-level or a subset's.
#[derive(Clone, Debug, PartialEq, Default)]
#[non_exhaustive]
pub struct TrafficPolicy {
    /// Where the policy starts.
    pub pos: Pos,
    /// The policy groups it sets.
    pub groups: PolicyGroups,
    /// `portLevelSettings`.
    pub port_level_settings: Vec<PortTrafficPolicy>,
    /// `tunnel`, when set (kept as written).
    pub tunnel: Option<Located<()>>,
    /// `proxyProtocol`, when set.
    pub proxy_protocol: Option<Located<()>>,
    /// `retryBudget`, when set.
    pub retry_budget: Option<RetryBudget>,
}

/// The four groups a port-level entry can set, which Istio replaces whole.
///
/// Each group is boxed: most policies set one or two of them, and an absent one then takes a
/// pointer's room, not its fields' (a `ConnectionPool` alone is 432 bytes).
#[derive(Clone, Debug, PartialEq, Default)]
#[non_exhaustive]
pub struct PolicyGroups {
    /// `connectionPool`.
    pub connection_pool: Option<Box<ConnectionPool>>,
    /// `outlierDetection`.
    pub outlier_detection: Option<Box<OutlierDetection>>,
    /// `loadBalancer`.
    pub load_balancer: Option<Box<LoadBalancer>>,
    /// `tls`.
    pub tls: Option<Box<ClientTls>>,
}

/// A `portLevelSettings` entry.
#[derive(Clone, Debug, PartialEq, Default)]
#[non_exhaustive]
pub struct PortTrafficPolicy {
    /// Where the entry starts.
    pub pos: Pos,
    /// `port.number`.
    pub port: Option<Located<u32>>,
    /// The groups the entry sets.
    pub groups: PolicyGroups,
}

/// `connectionPool`.
#[derive(Clone, Debug, PartialEq, Default)]
#[non_exhaustive]
pub struct ConnectionPool {
    /// Where the block starts.
    pub pos: Pos,
    /// `tcp`.
    pub tcp: Option<TcpSettings>,
    /// `http`.
    pub http: Option<HttpSettings>,
}

/// `connectionPool.tcp`.
#[derive(Clone, Debug, PartialEq, Default)]
#[non_exhaustive]
pub struct TcpSettings {
    /// Where the block starts.
    pub pos: Pos,
    /// `maxConnections`.
    pub max_connections: Option<Located<i64>>,
    /// `connectTimeout`.
    pub connect_timeout: Option<Located<Duration>>,
    /// `tcpKeepalive`.
    pub tcp_keepalive: Option<TcpKeepalive>,
    /// `maxConnectionDuration`.
    pub max_connection_duration: Option<Located<Duration>>,
    /// `idleTimeout`.
    pub idle_timeout: Option<Located<Duration>>,
}

/// `connectionPool.tcp.tcpKeepalive`.
#[derive(Clone, Debug, PartialEq, Default)]
#[non_exhaustive]
pub struct TcpKeepalive {
    /// Where the block starts.
    pub pos: Pos,
    /// `probes`.
    pub probes: Option<Located<i64>>,
    /// `time`.
    pub time: Option<Located<Duration>>,
    /// `interval`.
    pub interval: Option<Located<Duration>>,
}

/// `connectionPool.http.h2UpgradePolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum H2UpgradePolicy {
    /// `DEFAULT`: the mesh-wide setting.
    Default,
    /// `DO_NOT_UPGRADE`.
    DoNotUpgrade,
    /// `UPGRADE`: the sidecar speaks HTTP/2 to the upstream.
    Upgrade,
}

/// `connectionPool.http`.
#[derive(Clone, Debug, PartialEq, Default)]
#[non_exhaustive]
pub struct HttpSettings {
    /// Where the block starts.
    pub pos: Pos,
    /// `http1MaxPendingRequests`.
    pub http1_max_pending_requests: Option<Located<i64>>,
    /// `http2MaxRequests`.
    pub http2_max_requests: Option<Located<i64>>,
    /// `maxRequestsPerConnection`.
    pub max_requests_per_connection: Option<Located<i64>>,
    /// `maxRetries`.
    pub max_retries: Option<Located<i64>>,
    /// `idleTimeout`.
    pub idle_timeout: Option<Located<Duration>>,
    /// `h2UpgradePolicy`.
    pub h2_upgrade_policy: Option<Located<H2UpgradePolicy>>,
    /// `useClientProtocol`.
    pub use_client_protocol: Option<Located<bool>>,
    /// `maxConcurrentStreams`.
    pub max_concurrent_streams: Option<Located<i64>>,
    /// `http2KeepAlive` is set.
    pub http2_keep_alive: Option<Located<()>>,
    /// `http2KeepAlive.interval`.
    pub http2_keep_alive_interval: Option<Located<Duration>>,
    /// `http2KeepAlive.timeout`.
    pub http2_keep_alive_timeout: Option<Located<Duration>>,
}

/// `outlierDetection`.
#[derive(Clone, Debug, PartialEq, Default)]
#[non_exhaustive]
pub struct OutlierDetection {
    /// Where the block starts.
    pub pos: Pos,
    /// `consecutiveErrors` (deprecated and ignored by Istio).
    pub consecutive_errors: Option<Located<i64>>,
    /// `consecutive5xxErrors`.
    pub consecutive_5xx_errors: Option<Located<i64>>,
    /// `consecutiveGatewayErrors`.
    pub consecutive_gateway_errors: Option<Located<i64>>,
    /// `consecutiveLocalOriginFailures`.
    pub consecutive_local_origin_failures: Option<Located<i64>>,
    /// `splitExternalLocalOriginErrors`.
    pub split_external_local_origin_errors: Option<Located<bool>>,
    /// `interval`.
    pub interval: Option<Located<Duration>>,
    /// `baseEjectionTime`.
    pub base_ejection_time: Option<Located<Duration>>,
    /// `maxEjectionPercent`.
    pub max_ejection_percent: Option<Located<i64>>,
    /// `minHealthPercent`.
    pub min_health_percent: Option<Located<i64>>,
    /// `outlierDetectionHttpErrorCodes`: the HTTP statuses that count as errors.
    pub http_error_codes: Vec<Located<i64>>,
}

/// `loadBalancer`.
#[derive(Clone, Debug, PartialEq, Default)]
#[non_exhaustive]
pub struct LoadBalancer {
    /// Where the block starts.
    pub pos: Pos,
    /// `simple`, e.g. `LEAST_REQUEST`.
    pub simple: Option<Located<String>>,
    /// `consistentHash` is set.
    pub consistent_hash: Option<Located<()>>,
    /// `consistentHash`'s hash key (`httpHeaderName`, `httpCookie`, `useSourceIp`,
    /// `httpQueryParameterName`).
    pub hash_key: Option<Located<HashKey>>,
    /// `consistentHash.ringHash` or `consistentHash.maglev`.
    pub hash_algorithm: Option<Located<HashAlgorithm>>,
    /// `consistentHash.minimumRingSize` (deprecated).
    pub minimum_ring_size: Option<Located<i64>>,
    /// `warmup`.
    pub warmup: Option<Located<Warmup>>,
    /// `warmupDurationSecs` (deprecated).
    pub warmup_duration_secs: Option<Located<Duration>>,
}

/// What a consistent hash is computed over.
#[derive(Clone, Debug, PartialEq)]
pub enum HashKey {
    /// `httpHeaderName`.
    Header(String),
    /// `httpCookie`.
    Cookie(HashCookie),
    /// `useSourceIp`.
    SourceIp(bool),
    /// `httpQueryParameterName`.
    QueryParameter(String),
}

/// `consistentHash.httpCookie`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct HashCookie {
    /// `name`.
    pub name: String,
    /// `path`.
    pub path: Option<String>,
    /// `ttl`.
    pub ttl: Option<Duration>,
    /// `attributes`, as `(name, value)`.
    pub attributes: Vec<(String, String)>,
}

/// The consistent-hash algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// `ringHash`, with its `minimumRingSize` (0 when unset).
    RingHash {
        /// `minimumRingSize`.
        minimum_ring_size: u64,
    },
    /// `maglev`, with its `tableSize` (0 when unset).
    Maglev {
        /// `tableSize`.
        table_size: u64,
    },
}

/// `loadBalancer.warmup`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Warmup {
    /// `duration`.
    pub duration: Option<Duration>,
    /// `minimumPercent`.
    pub minimum_percent: Option<f64>,
    /// `aggression`.
    pub aggression: Option<f64>,
}

/// `tls` (client TLS settings of the sidecar towards the destination).
#[derive(Clone, Debug, PartialEq, Default)]
#[non_exhaustive]
pub struct ClientTls {
    /// Where the block starts.
    pub pos: Pos,
    /// `mode`: `DISABLE`, `SIMPLE`, `MUTUAL` or `ISTIO_MUTUAL`.
    pub mode: Option<Located<String>>,
    /// `sni`.
    pub sni: Option<Located<String>>,
    /// `credentialName`.
    pub credential_name: Option<Located<String>>,
}

/// `retryBudget`.
#[derive(Clone, Debug, PartialEq, Default)]
#[non_exhaustive]
pub struct RetryBudget {
    /// Where the block starts.
    pub pos: Pos,
    /// `percent` of active requests that may be retries (a percentage: 0.3 means 0.3%).
    pub percent: Option<Located<f64>>,
    /// `minRetryConcurrency`.
    pub min_retry_concurrency: Option<Located<i64>>,
    /// `budgetInterval`.
    pub budget_interval: Option<Located<Duration>>,
}

/// A subset.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Subset {
    /// `name`.
    pub name: Located<String>,
    /// `labels`.
    pub labels: BTreeMap<String, String>,
    /// `trafficPolicy`.
    pub traffic_policy: Option<TrafficPolicy>,
}

// ---- building the model from a checked tree -------------------------------------------------

fn located<T>(node: &Node, f: impl FnOnce(&Value) -> Option<T>) -> Option<Located<T>> {
    f(&node.value).map(|v| Located::new(v, node.pos))
}

/// An integer field of a DestinationRule or Sidecar, which the schema walk has checked: a quoted
/// number there is an error (ST102, as the API server's type check rejects it), and is read as
/// the number meant, so that what follows does not take the field for unset (a `"10"` for
/// `maxConnections` is not also an unlimited pool, ST201).
fn int(node: Option<&Node>) -> Option<Located<i64>> {
    located(node?, |v| match v {
        Value::Int(i) => Some(*i),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// An integer of an object no schema walk checks (a Service's port, a Deployment's replicas):
/// the caller reports anything else.
fn strict_int(node: &Node) -> Option<Located<i64>> {
    located(node, |v| match v {
        Value::Int(i) => Some(*i),
        _ => None,
    })
}

fn boolean(node: Option<&Node>) -> Option<Located<bool>> {
    located(node?, |v| match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    })
}

pub(crate) fn string(node: Option<&Node>) -> Option<Located<String>> {
    located(node?, |v| match v {
        Value::Str(s) => Some(s.to_string()),
        _ => None,
    })
}

fn number(node: Option<&Node>) -> Option<Located<f64>> {
    located(node?, |v| match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    })
}

pub(crate) fn dur(node: Option<&Node>) -> Option<Located<Duration>> {
    located(node?, |v| match v {
        Value::Str(s) => duration::parse(s.trim()).ok()?.to_std(),
        _ => None,
    })
}

fn present(node: Option<&Node>) -> Option<Located<()>> {
    node.map(|n| Located::new((), n.pos))
}

pub(crate) fn block<T>(node: Option<&Node>, build: impl FnOnce(&Node) -> T) -> Option<T> {
    node.filter(|n| n.as_map().is_some()).map(build)
}

/// The namespace an object lives in: its own, else `default_namespace` (where it would be
/// applied, as `kubectl apply -n` puts an object that names none).
pub(crate) fn namespace_or<'a>(
    namespace: Option<&'a Located<String>>,
    default_namespace: &'a str,
) -> &'a str {
    namespace.map_or(default_namespace, |n| n.value.as_str())
}

/// The strings of a list, other items left out.
fn texts(list: &[Node]) -> Vec<String> {
    kept(list, |n| n.as_str().map(str::to_owned))
}

/// What `keep` makes of the items of `list`, in a vector of room for the list's length:
/// collecting a filtered iterator reserves room for four, so a rule's two subsets took four
/// subsets' room.
fn kept<T>(list: &[Node], keep: impl FnMut(&Node) -> Option<T>) -> Vec<T> {
    let mut kept = Vec::with_capacity(list.len());
    kept.extend(list.iter().filter_map(keep));
    kept
}

/// `port.number` of a port-level entry, a Sidecar's listener or a route's destination, when it
/// is a port.
fn port_number(entry: &Node) -> Option<Located<u32>> {
    let number = int(entry.get("port")?.get("number"))?;
    Some(Located::new(u32::try_from(number.value).ok()?, number.pos))
}

/// A port of a Service or ServiceEntry: an integer from 1 to 65535.
fn valid_port(node: &Node) -> Option<u32> {
    let number = u32::try_from(strict_int(node)?.value).ok()?;
    (1..=65535).contains(&number).then_some(number)
}

/// [`block`], on the heap: a policy group, absent from most policies, then takes a pointer's
/// room in each rule, not its own (a few hundred bytes).
fn boxed<T>(node: Option<&Node>, build: impl FnOnce(&Node) -> T) -> Option<Box<T>> {
    block(node, build).map(Box::new)
}

/// `metadata.creationTimestamp`, when it is an RFC 3339 time.
fn creation_timestamp(metadata: Option<&Node>) -> Option<Located<Timestamp>> {
    located(metadata?.get("creationTimestamp")?, |v| match v {
        Value::Str(s) => Timestamp::parse(s),
        _ => None,
    })
}

/// `metadata.namespace`, when set and not empty.
fn namespace(metadata: Option<&Node>) -> Option<Located<String>> {
    string(metadata?.get("namespace")).filter(|n| !n.value.is_empty())
}

fn string_map(node: Option<&Node>) -> BTreeMap<String, String> {
    node.and_then(Node::as_map)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
        .collect()
}

impl PolicyGroups {
    fn from_node(n: &Node) -> Self {
        Self {
            connection_pool: boxed(n.get("connectionPool"), ConnectionPool::from_node),
            outlier_detection: boxed(n.get("outlierDetection"), OutlierDetection::from_node),
            load_balancer: boxed(n.get("loadBalancer"), LoadBalancer::from_node),
            tls: boxed(n.get("tls"), |t| ClientTls {
                pos: t.pos,
                mode: string(t.get("mode")),
                sni: string(t.get("sni")),
                credential_name: string(t.get("credentialName")),
            }),
        }
    }

    /// Whether no group is set.
    pub fn is_empty(&self) -> bool {
        self.connection_pool.is_none()
            && self.outlier_detection.is_none()
            && self.load_balancer.is_none()
            && self.tls.is_none()
    }
}

impl TrafficPolicy {
    pub(crate) fn from_node(n: &Node) -> Self {
        let port_level_settings = kept(n.items("portLevelSettings"), |p| {
            p.as_map().map(|_| PortTrafficPolicy {
                pos: p.pos,
                port: port_number(p),
                groups: PolicyGroups::from_node(p),
            })
        });
        Self {
            pos: n.pos,
            groups: PolicyGroups::from_node(n),
            port_level_settings,
            tunnel: present(n.get("tunnel")),
            proxy_protocol: present(n.get("proxyProtocol")),
            retry_budget: block(n.get("retryBudget"), |r| RetryBudget {
                pos: r.pos,
                percent: number(r.get("percent")),
                min_retry_concurrency: int(r.get("minRetryConcurrency")),
                budget_interval: dur(r.get("budgetInterval")),
            }),
        }
    }
}

impl TcpKeepalive {
    pub(crate) fn from_node(k: &Node) -> Self {
        Self {
            pos: k.pos,
            probes: int(k.get("probes")),
            time: dur(k.get("time")),
            interval: dur(k.get("interval")),
        }
    }
}

impl ConnectionPool {
    pub(crate) fn from_node(n: &Node) -> Self {
        Self {
            pos: n.pos,
            tcp: block(n.get("tcp"), |t| TcpSettings {
                pos: t.pos,
                max_connections: int(t.get("maxConnections")),
                connect_timeout: dur(t.get("connectTimeout")),
                tcp_keepalive: block(t.get("tcpKeepalive"), TcpKeepalive::from_node),
                max_connection_duration: dur(t.get("maxConnectionDuration")),
                idle_timeout: dur(t.get("idleTimeout")),
            }),
            http: block(n.get("http"), |h| HttpSettings {
                pos: h.pos,
                http1_max_pending_requests: int(h.get("http1MaxPendingRequests")),
                http2_max_requests: int(h.get("http2MaxRequests")),
                max_requests_per_connection: int(h.get("maxRequestsPerConnection")),
                max_retries: int(h.get("maxRetries")),
                idle_timeout: dur(h.get("idleTimeout")),
                h2_upgrade_policy: h.get("h2UpgradePolicy").and_then(|p| {
                    located(p, |v| match v {
                        Value::Str(s) if s == "DEFAULT" => Some(H2UpgradePolicy::Default),
                        Value::Str(s) if s == "DO_NOT_UPGRADE" => {
                            Some(H2UpgradePolicy::DoNotUpgrade)
                        }
                        Value::Str(s) if s == "UPGRADE" => Some(H2UpgradePolicy::Upgrade),
                        _ => None,
                    })
                }),
                use_client_protocol: boolean(h.get("useClientProtocol")),
                max_concurrent_streams: int(h.get("maxConcurrentStreams")),
                http2_keep_alive: present(h.get("http2KeepAlive")),
                http2_keep_alive_interval: dur(h
                    .get("http2KeepAlive")
                    .and_then(|k| k.get("interval"))),
                http2_keep_alive_timeout: dur(h
                    .get("http2KeepAlive")
                    .and_then(|k| k.get("timeout"))),
            }),
        }
    }
}

impl LoadBalancer {
    fn from_node(lb: &Node) -> Self {
        let hash = lb.get("consistentHash");
        let cookie = |c: &Node| HashCookie {
            name: c
                .get("name")
                .and_then(Node::as_str)
                .unwrap_or_default()
                .to_owned(),
            path: string(c.get("path")).map(|p| p.value),
            ttl: dur(c.get("ttl")).map(|t| t.value),
            attributes: kept(c.items("attributes"), |a| {
                let name = a.get("name")?.as_str()?.to_owned();
                let value = a.get("value").and_then(Node::as_str).unwrap_or_default();
                Some((name, value.to_owned()))
            }),
        };
        let hash_key = hash.and_then(|h| {
            string(h.get("httpHeaderName"))
                .map(|n| Located::new(HashKey::Header(n.value), n.pos))
                .or_else(|| {
                    block(h.get("httpCookie"), |c| {
                        Located::new(HashKey::Cookie(cookie(c)), c.pos)
                    })
                })
                .or_else(|| {
                    boolean(h.get("useSourceIp"))
                        .map(|b| Located::new(HashKey::SourceIp(b.value), b.pos))
                })
                .or_else(|| {
                    string(h.get("httpQueryParameterName"))
                        .map(|q| Located::new(HashKey::QueryParameter(q.value), q.pos))
                })
        });
        let size = |n: Option<&Node>, field: &str| {
            int(n.and_then(|n| n.get(field))).map_or(0, |v| u64::try_from(v.value).unwrap_or(0))
        };
        let hash_algorithm = hash.and_then(|h| {
            if let Some(ring) = h.get("ringHash") {
                let minimum_ring_size = size(Some(ring), "minimumRingSize");
                Some(Located::new(
                    HashAlgorithm::RingHash { minimum_ring_size },
                    ring.pos,
                ))
            } else {
                h.get("maglev").map(|maglev| {
                    let table_size = size(Some(maglev), "tableSize");
                    Located::new(HashAlgorithm::Maglev { table_size }, maglev.pos)
                })
            }
        });
        Self {
            pos: lb.pos,
            simple: string(lb.get("simple")),
            consistent_hash: present(hash),
            hash_key,
            hash_algorithm,
            minimum_ring_size: int(hash.and_then(|h| h.get("minimumRingSize"))),
            warmup: block(lb.get("warmup"), |w| {
                let warmup = Warmup {
                    duration: dur(w.get("duration")).map(|d| d.value),
                    minimum_percent: number(w.get("minimumPercent")).map(|m| m.value),
                    aggression: number(w.get("aggression")).map(|a| a.value),
                };
                Located::new(warmup, w.pos)
            }),
            warmup_duration_secs: dur(lb.get("warmupDurationSecs")),
        }
    }
}

impl OutlierDetection {
    pub(crate) fn from_node(n: &Node) -> Self {
        Self {
            pos: n.pos,
            consecutive_errors: int(n.get("consecutiveErrors")),
            consecutive_5xx_errors: int(n.get("consecutive5xxErrors")),
            consecutive_gateway_errors: int(n.get("consecutiveGatewayErrors")),
            consecutive_local_origin_failures: int(n.get("consecutiveLocalOriginFailures")),
            split_external_local_origin_errors: boolean(n.get("splitExternalLocalOriginErrors")),
            interval: dur(n.get("interval")),
            base_ejection_time: dur(n.get("baseEjectionTime")),
            max_ejection_percent: int(n.get("maxEjectionPercent")),
            min_health_percent: int(n.get("minHealthPercent")),
            http_error_codes: kept(n.items("outlierDetectionHttpErrorCodes"), |c| int(Some(c))),
        }
    }
}

impl DestinationRule {
    /// Builds the model of a checked DestinationRule object. Returns `None` when the object
    /// lacks what every rule needs (a `spec.host` string).
    pub(crate) fn from_node(object: &Node, origin: Origin) -> Option<Self> {
        let metadata = object.get("metadata");
        let spec = object.get("spec")?;
        Some(Self {
            api_version: object
                .get("apiVersion")
                .and_then(Node::as_str)
                .unwrap_or_default()
                .to_owned(),
            name: string(metadata.and_then(|m| m.get("name")))
                .unwrap_or_else(|| Located::new(String::new(), object.pos)),
            namespace: namespace(metadata),
            host: string(spec.get("host"))?,
            traffic_policy: block(spec.get("trafficPolicy"), TrafficPolicy::from_node),
            subsets: kept(spec.items("subsets"), |s| {
                Some(Subset {
                    name: string(s.get("name"))?,
                    labels: string_map(s.get("labels")),
                    traffic_policy: block(s.get("trafficPolicy"), TrafficPolicy::from_node),
                })
            }),
            export_to: kept(spec.items("exportTo"), |e| string(Some(e))),
            workload_selector: spec
                .get("workloadSelector")
                .map(|w| Located::new(string_map(w.get("matchLabels")), w.pos)),
            creation_timestamp: creation_timestamp(metadata),
            origin,
        })
    }
}

/// A port of a Kubernetes [`Service`] or a [`ServiceEntry`], with the protocol Istio derives
/// for it, which decides what the sidecar speaks to the upstream.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ServicePort {
    /// The Service's `port`, the ServiceEntry's `number`.
    pub number: Located<u32>,
    /// From the Service port's `appProtocol`, else its name (`kube.ConvertProtocol`), or the
    /// ServiceEntry port's `protocol` (`protocol.Parse`).
    pub protocol: Protocol,
}

/// A Kubernetes Service (`kind: Service`): Istio builds one outbound cluster per port, so the
/// ports say which `portLevelSettings` a client meets.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Service {
    /// `metadata.name`.
    pub name: Located<String>,
    /// `metadata.namespace`, when the object names one.
    pub namespace: Option<Located<String>>,
    /// `spec.ports[]`, those whose `port` is a number from 1 to 65535.
    pub ports: Vec<ServicePort>,
    /// The namespaces of the annotation `networking.istio.io/exportTo` (comma-separated, as
    /// Istio's `kube.ConvertService` splits it), when it is set and not empty.
    pub export_to: Option<Located<Vec<String>>>,
    /// Where the object was read.
    pub origin: Origin,
}

impl Service {
    /// The service's namespace: its own, else `default_namespace`.
    pub fn namespace_or<'a>(&'a self, default_namespace: &'a str) -> &'a str {
        namespace_or(self.namespace.as_ref(), default_namespace)
    }

    /// The service's host, `NAME.NAMESPACE.svc.cluster.local`, for a Service without a
    /// namespace in `default_namespace`.
    pub fn fqdn(&self, default_namespace: &str) -> String {
        format!(
            "{}.{}.{}",
            self.name.value,
            self.namespace_or(default_namespace),
            super::resolve::CLUSTER_DOMAIN
        )
    }

    /// Reads a Service object; `None` without a name. Ports that are not numbers from 1 to
    /// 65535 are reported into `findings` and left out.
    pub(crate) fn from_node(
        object: &Node,
        file: Arc<str>,
        findings: &mut Vec<crate::diag::Finding>,
    ) -> Option<Self> {
        use crate::diag::{Code, Finding, Location};
        let metadata = object.get("metadata");
        let mut ports = Vec::new();
        for entry in object
            .get("spec")
            .map(|spec| spec.items("ports"))
            .unwrap_or_default()
        {
            let Some(port) = entry.get("port") else {
                continue;
            };
            match valid_port(port) {
                Some(number) => ports.push(ServicePort {
                    number: Located::new(number, port.pos),
                    protocol: Protocol::of_kube_port(
                        number,
                        entry.get("name").and_then(Node::as_str),
                        entry.get("appProtocol").and_then(Node::as_str),
                        entry.get("protocol").and_then(Node::as_str) == Some("UDP"),
                    ),
                }),
                None => findings.push(
                    Finding::new(
                        Code::OutOfRange,
                        Location::new(&file, port.pos),
                        "a Service port must be a number from 1 to 65535",
                    )
                    .help("fix `spec.ports[].port`"),
                ),
            }
        }
        let export_to = metadata
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get("networking.istio.io/exportTo"))
            .and_then(|e| {
                let list = e.as_str().filter(|l| !l.is_empty())?;
                Some(Located::new(
                    list.split(',').map(|n| n.trim().to_owned()).collect(),
                    e.pos,
                ))
            });
        Some(Self {
            name: string(metadata.and_then(|m| m.get("name")))?,
            namespace: namespace(metadata),
            ports,
            export_to,
            origin: Origin {
                file,
                pos: object.pos,
            },
        })
    }
}

/// An Istio `Sidecar` (`networking.istio.io/v1`, `v1beta1` or `v1alpha3`), as far as it decides
/// the inbound connection pool of the workloads it applies to and the hosts their outbound
/// traffic reaches through a cluster of their own sidecar.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Sidecar {
    /// `metadata.name`.
    pub name: Located<String>,
    /// `metadata.namespace`, when the object names one.
    pub namespace: Option<Located<String>>,
    /// `spec.workloadSelector.labels`, when the Sidecar has a selector (`workloadSelector: {}`
    /// is a selector that selects every workload, as in Istio).
    pub workload_selector: Option<Located<BTreeMap<String, String>>>,
    /// `spec.ingress[]`: the port and connection pool of each ingress listener.
    pub ingress: Vec<SidecarIngress>,
    /// `spec.inboundConnectionPool`.
    pub inbound_connection_pool: Option<ConnectionPool>,
    /// `spec.egress[]`: the hosts each egress listener imports.
    pub egress: Vec<SidecarEgress>,
    /// `spec.outboundTrafficPolicy.mode`: `true` for `REGISTRY_ONLY` (also when the policy
    /// names no mode: it is the zero value of Istio's `OutboundTrafficPolicy.Mode`), `false`
    /// for `ALLOW_ANY`.
    pub registry_only: Option<Located<bool>>,
    /// `spec.outboundTrafficPolicy.egressProxy.host`: where `ALLOW_ANY` sends the requests
    /// for hosts the sidecar has no cluster for, instead of `PassthroughCluster`.
    pub egress_proxy: Option<Located<String>>,
    /// `metadata.creationTimestamp` (Istio orders Sidecars by it, oldest first).
    pub creation_timestamp: Option<Located<Timestamp>>,
    /// Where the object was read.
    pub origin: Origin,
}

/// One `spec.ingress[]` listener of a [`Sidecar`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SidecarIngress {
    /// Where the entry starts.
    pub pos: Pos,
    /// `port.number`.
    pub port: Option<Located<u32>>,
    /// `defaultEndpoint`, e.g. `127.0.0.1:8080`.
    pub default_endpoint: Option<Located<String>>,
    /// `connectionPool`.
    pub connection_pool: Option<ConnectionPool>,
}

/// One `spec.egress[]` listener of a [`Sidecar`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SidecarEgress {
    /// Where the entry starts.
    pub pos: Pos,
    /// `port.number`, unless the port's protocol is `HTTP_PROXY` (Istio's `needsPortMatch`:
    /// such a listener imports its hosts on every port).
    pub port: Option<Located<u32>>,
    /// `hosts`: `namespace/dnsName` entries.
    pub hosts: Vec<Located<String>>,
}

impl Sidecar {
    /// `namespace/name`, with `default` for a Sidecar that names no namespace.
    pub fn id(&self) -> String {
        format!(
            "{}/{}",
            self.namespace
                .as_ref()
                .map_or("default", |n| n.value.as_str()),
            self.name.value
        )
    }

    /// Builds the model of a checked Sidecar object; `None` without a `spec` mapping.
    pub(crate) fn from_node(object: &Node, origin: Origin) -> Option<Self> {
        let metadata = object.get("metadata");
        let spec = object.get("spec").filter(|s| s.as_map().is_some())?;
        Some(Self {
            name: string(metadata.and_then(|m| m.get("name")))
                .unwrap_or_else(|| Located::new(String::new(), object.pos)),
            namespace: namespace(metadata),
            workload_selector: spec
                .get("workloadSelector")
                .filter(|w| w.value != Value::Null)
                .map(|w| Located::new(string_map(w.get("labels")), w.pos)),
            ingress: kept(spec.items("ingress"), |i| {
                i.as_map().map(|_| SidecarIngress {
                    pos: i.pos,
                    port: port_number(i),
                    default_endpoint: string(i.get("defaultEndpoint")),
                    connection_pool: block(i.get("connectionPool"), ConnectionPool::from_node),
                })
            }),
            inbound_connection_pool: block(
                spec.get("inboundConnectionPool"),
                ConnectionPool::from_node,
            ),
            egress: kept(spec.items("egress"), |e| {
                let http_proxy = e
                    .get("port")
                    .and_then(|p| p.get("protocol"))
                    .and_then(Node::as_str)
                    .is_some_and(|p| p.eq_ignore_ascii_case("HTTP_PROXY"));
                e.as_map().map(|_| SidecarEgress {
                    pos: e.pos,
                    port: port_number(e).filter(|p| p.value != 0 && !http_proxy),
                    hosts: kept(e.items("hosts"), |h| string(Some(h))),
                })
            }),
            // A policy without `mode` is REGISTRY_ONLY, the enumeration's zero value.
            registry_only: spec
                .get("outboundTrafficPolicy")
                .filter(|t| t.as_map().is_some())
                .map(|t| match t.get("mode") {
                    Some(m) => Located::new(m.as_str() != Some("ALLOW_ANY"), m.pos),
                    None => Located::new(true, t.pos),
                }),
            egress_proxy: string(
                spec.get("outboundTrafficPolicy")
                    .and_then(|t| t.get("egressProxy"))
                    .and_then(|p| p.get("host")),
            ),
            creation_timestamp: creation_timestamp(metadata),
            origin,
        })
    }
}

/// An Istio `ServiceEntry`, as far as it names the namespace of its hosts and their
/// visibility: read, not validated.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ServiceEntry {
    /// `metadata.name`.
    pub name: Located<String>,
    /// `metadata.namespace`, when the object names one.
    pub namespace: Option<Located<String>>,
    /// `spec.hosts`, as written.
    pub hosts: Vec<String>,
    /// `spec.ports[]`, those whose `number` is a number from 1 to 65535 (ServiceEntries are
    /// read, not validated).
    pub ports: Vec<ServicePort>,
    /// `spec.exportTo`, when set.
    pub export_to: Option<Located<Vec<String>>>,
    /// `metadata.creationTimestamp`: of several namespaces defining a host, Istio keeps the
    /// oldest entry's.
    pub creation_timestamp: Option<Located<Timestamp>>,
    /// Where the object was read.
    pub origin: Origin,
}

impl ServiceEntry {
    /// Reads a ServiceEntry object; `None` without a name or a `spec` mapping.
    pub(crate) fn from_node(object: &Node, origin: Origin) -> Option<Self> {
        let metadata = object.get("metadata");
        let spec = object.get("spec").filter(|s| s.as_map().is_some())?;
        Some(Self {
            name: string(metadata.and_then(|m| m.get("name")))?,
            namespace: namespace(metadata),
            hosts: texts(spec.items("hosts")),
            ports: spec
                .items("ports")
                .iter()
                .filter_map(|p| {
                    let number = p.get("number")?;
                    Some(ServicePort {
                        number: Located::new(valid_port(number)?, number.pos),
                        protocol: Protocol::parse(
                            p.get("protocol").and_then(Node::as_str).unwrap_or_default(),
                        ),
                    })
                })
                .collect(),
            export_to: spec
                .get("exportTo")
                .map(|e| Located::new(texts(e.as_seq().unwrap_or_default()), e.pos))
                .filter(|e| !e.value.is_empty()),
            creation_timestamp: creation_timestamp(metadata),
            origin,
        })
    }
}

/// An Istio `VirtualService`, as far as its routes import hosts into a client's `Sidecar`
/// scope (Istio's `collectImportedServices`): read, not validated.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct VirtualService {
    /// `metadata.name`.
    pub name: Located<String>,
    /// `metadata.namespace`, when the object names one.
    pub namespace: Option<Located<String>>,
    /// `spec.hosts`, as written.
    pub hosts: Vec<String>,
    /// `spec.gateways`; none is the sidecars' `mesh`.
    pub gateways: Vec<String>,
    /// `spec.exportTo`.
    pub export_to: Vec<String>,
    /// The destinations of each route (`http`, `tcp`, `tls`).
    pub routes: Vec<VirtualServiceRoute>,
    /// Where the object was read.
    pub origin: Origin,
}

/// One route of a [`VirtualService`]: where it sends requests, and for which requests.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct VirtualServiceRoute {
    /// An `http` route (else `tcp` or `tls`).
    pub http: bool,
    /// Each `destination` of its `route`: host as written, port.
    pub destinations: Vec<(String, Option<u32>)>,
    /// Its `mirror`.
    pub mirror: Option<(String, Option<u32>)>,
    /// The destinations of its `mirrors` (an empty list is none, as Istio's JSON decoding
    /// leaves it nil).
    pub mirrors: Vec<(String, Option<u32>)>,
    /// The VirtualService whose `http` routes replace this one (`delegate`): its name, and its
    /// namespace when given (else this VirtualService's).
    pub delegate: Option<(String, Option<String>)>,
    /// Its `match` list (`http` routes): what decides whether a delegate's route merges with
    /// it, and for which client namespaces it routes.
    pub(crate) matches: Vec<HttpMatch>,
}

/// One `HTTPMatchRequest` of an `http` route: its `sourceNamespace`, and the other fields
/// Istio's `hasConflict` compares when it merges a delegate's routes into their root's, kept
/// only for the routes a merge reads (a route that delegates, a route of a VirtualService
/// without hosts) and only when one is set: a match is then the size of a string and a
/// pointer, however many of them the input lists.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct HttpMatch {
    /// Empty for none.
    pub(crate) source_namespace: String,
    fields: Option<Box<MatchFields>>,
}

/// The fields of an [`HttpMatch`] besides its `sourceNamespace`; gateways as written.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct MatchFields {
    pub(crate) uri: Option<Box<StringMatch>>,
    pub(crate) scheme: Option<Box<StringMatch>>,
    pub(crate) method: Option<Box<StringMatch>>,
    pub(crate) authority: Option<Box<StringMatch>>,
    pub(crate) headers: BTreeMap<String, StringMatch>,
    pub(crate) without_headers: BTreeMap<String, StringMatch>,
    pub(crate) query_params: BTreeMap<String, StringMatch>,
    pub(crate) ignore_uri_case: bool,
    /// 0 for none.
    pub(crate) port: u32,
    pub(crate) source_labels: BTreeMap<String, String>,
    pub(crate) gateways: Vec<String>,
}

/// A match that sets none of [`MatchFields`].
static NO_FIELDS: MatchFields = MatchFields {
    uri: None,
    scheme: None,
    method: None,
    authority: None,
    headers: BTreeMap::new(),
    without_headers: BTreeMap::new(),
    query_params: BTreeMap::new(),
    ignore_uri_case: false,
    port: 0,
    source_labels: BTreeMap::new(),
    gateways: Vec::new(),
};

/// An Istio `StringMatch`, as its Go getters read it: each kind empty when not set, so a match
/// written `{}` sets none.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct StringMatch {
    pub(crate) exact: String,
    pub(crate) prefix: String,
    pub(crate) regex: String,
}

impl HttpMatch {
    /// A match read from `node`; with `fields` false, its `sourceNamespace` alone.
    pub(crate) fn from_node(node: &Node, fields: bool) -> Self {
        let text = |n: Option<&Node>| n.and_then(Node::as_str).unwrap_or_default().to_owned();
        let source_namespace = text(node.get("sourceNamespace"));
        if !fields {
            return Self {
                source_namespace,
                fields: None,
            };
        }
        let string_match = |n: &Node| {
            n.as_map().is_some().then(|| StringMatch {
                exact: text(n.get("exact")),
                prefix: text(n.get("prefix")),
                regex: text(n.get("regex")),
            })
        };
        let string_matches = |key: &str| -> BTreeMap<String, StringMatch> {
            let entries = node.get(key).and_then(Node::as_map).into_iter().flatten();
            entries
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), string_match(v)?)))
                .collect()
        };
        let fields = MatchFields {
            uri: node.get("uri").and_then(string_match).map(Box::new),
            scheme: node.get("scheme").and_then(string_match).map(Box::new),
            method: node.get("method").and_then(string_match).map(Box::new),
            authority: node.get("authority").and_then(string_match).map(Box::new),
            headers: string_matches("headers"),
            without_headers: string_matches("withoutHeaders"),
            query_params: string_matches("queryParams"),
            ignore_uri_case: boolean(node.get("ignoreUriCase")).is_some_and(|b| b.value),
            port: int(node.get("port"))
                .and_then(|p| u32::try_from(p.value).ok())
                .unwrap_or(0),
            source_labels: string_map(node.get("sourceLabels")),
            gateways: texts(node.items("gateways")),
        };
        Self {
            source_namespace,
            fields: (fields != NO_FIELDS).then(|| Box::new(fields)),
        }
    }

    /// Its fields besides `sourceNamespace`.
    pub(crate) fn fields(&self) -> &MatchFields {
        self.fields.as_deref().unwrap_or(&NO_FIELDS)
    }
}

impl VirtualService {
    /// Reads a VirtualService object; `None` without a name or a `spec` mapping.
    pub(crate) fn from_node(object: &Node, origin: Origin) -> Option<Self> {
        let metadata = object.get("metadata");
        let spec = object.get("spec").filter(|s| s.as_map().is_some())?;
        let destination = |d: &Node| -> Option<(String, Option<u32>)> {
            let host = d.get("host")?.as_str()?.to_owned();
            Some((host, port_number(d).map(|p| p.value)))
        };
        let text = |n: Option<&Node>| n.and_then(Node::as_str).map(str::to_owned);
        // A route's matches are merged with others only when it delegates or its
        // VirtualService has no hosts (a delegate).
        let delegate = spec.items("hosts").is_empty();
        let mut routes = Vec::new();
        for http in spec.items("http") {
            let fields = delegate || http.get("delegate").is_some();
            routes.push(VirtualServiceRoute {
                http: true,
                destinations: kept(http.items("route"), |r| destination(r.get("destination")?)),
                mirror: http.get("mirror").and_then(destination),
                mirrors: kept(http.items("mirrors"), |m| {
                    destination(m.get("destination")?)
                }),
                delegate: http
                    .get("delegate")
                    .and_then(|d| Some((text(d.get("name"))?, text(d.get("namespace"))))),
                matches: kept(http.items("match"), |m| {
                    m.as_map()
                        .is_some()
                        .then(|| HttpMatch::from_node(m, fields))
                }),
            });
        }
        for kind in ["tcp", "tls"] {
            for route in spec.items(kind) {
                routes.push(VirtualServiceRoute {
                    http: false,
                    destinations: kept(route.items("route"), |r| {
                        destination(r.get("destination")?)
                    }),
                    mirror: None,
                    mirrors: Vec::new(),
                    delegate: None,
                    matches: Vec::new(),
                });
            }
        }
        Some(Self {
            name: string(metadata.and_then(|m| m.get("name")))?,
            namespace: namespace(metadata),
            hosts: texts(spec.items("hosts")),
            gateways: texts(spec.items("gateways")),
            export_to: texts(spec.items("exportTo")),
            routes,
            origin,
        })
    }
}

/// A Kubernetes `Deployment` (`apps/v1`), for its pod count and pod labels: how many client or
/// server pods share one rule.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Deployment {
    /// `metadata.name`.
    pub name: Located<String>,
    /// `metadata.namespace`, when the object names one.
    pub namespace: Option<Located<String>>,
    /// `spec.replicas`; Kubernetes' default is 1.
    pub replicas: Located<u32>,
    /// `spec.template.metadata.labels`: the labels of its pods.
    pub labels: BTreeMap<String, String>,
    /// Where the object was read.
    pub origin: Origin,
}

impl Deployment {
    /// Reads a Deployment object; `None` without a name. A `spec.replicas` that is not a
    /// number from 0 to 2^31-1 is reported into `findings` and taken as 1.
    pub(crate) fn from_node(
        object: &Node,
        file: Arc<str>,
        findings: &mut Vec<crate::diag::Finding>,
    ) -> Option<Self> {
        use crate::diag::{Code, Finding, Location};
        let metadata = object.get("metadata");
        let spec = object.get("spec");
        let replicas = match spec.and_then(|s| s.get("replicas")) {
            None => Located::new(1, object.pos),
            Some(node) => match strict_int(node).and_then(|r| {
                u32::try_from(r.value)
                    .ok()
                    .filter(|r| *r <= i32::MAX as u32)
            }) {
                Some(r) => Located::new(r, node.pos),
                None => {
                    findings.push(
                        Finding::new(
                            Code::OutOfRange,
                            Location::new(&file, node.pos),
                            "a Deployment's `spec.replicas` must be a whole number from 0 to 2147483647",
                        )
                        .help("fix `spec.replicas`"),
                    );
                    Located::new(1, node.pos)
                }
            },
        };
        Some(Self {
            name: string(metadata.and_then(|m| m.get("name")))?,
            namespace: namespace(metadata),
            replicas,
            labels: string_map(
                spec.and_then(|s| s.get("template"))
                    .and_then(|t| t.get("metadata"))
                    .and_then(|m| m.get("labels")),
            ),
            origin: Origin {
                file,
                pos: object.pos,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Boxed groups: with three policies per rule (the top level, a port and a subset, as in
    /// the `check` bench's mesh), a rule holds about 2.4 KB less than with the groups inline
    /// (1,056 bytes per policy), and `check` of 40,000 rules peaks at 420 MB instead of 484 MB.
    #[test]
    fn an_absent_policy_group_takes_a_pointer() {
        assert_eq!(size_of::<PolicyGroups>(), 4 * size_of::<usize>());
    }

    /// A list's vector has room for the list's items, not the four a filtered `collect`
    /// reserves: two subsets, one port-level entry, one exported namespace.
    #[test]
    fn lists_take_the_room_of_their_items() {
        let loaded = crate::istio::load::load_str(
            "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r}\n\
             spec:\n  host: r\n  exportTo: [.]\n  trafficPolicy:\n    portLevelSettings:\n\
             \x20   - port: {number: 80}\n      tls: {mode: DISABLE}\n  subsets:\n\
             \x20 - {name: v1, labels: {v: '1'}}\n  - {name: v2, labels: {v: '2'}}\n",
            &Arc::from("r.yaml"),
            &crate::istio::load::LoadOptions::default(),
        );
        let rule = &loaded.rules[0];
        assert_eq!(rule.subsets.capacity(), 2);
        assert_eq!(rule.export_to.capacity(), 1);
        let policy = rule.traffic_policy.as_ref().unwrap();
        assert_eq!(policy.port_level_settings.capacity(), 1);
        assert_eq!(
            policy.port_level_settings[0].port.as_ref().unwrap().value,
            80
        );
    }
}
