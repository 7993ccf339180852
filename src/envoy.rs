//! An Envoy v3 bootstrap configured as Istio configures a sidecar's outbound path from the same
//! DestinationRule: an outbound HTTP listener, one static cluster for the destination with
//! what Istio's cluster builder (`pilot/pkg/networking/core/cluster_traffic_policy.go`,
//! `applyTrafficPolicy`) derives from the effective policy, defaults included: circuit breakers
//! and retry budget, timeouts, HTTP/1.1 and HTTP/2 protocol options (HTTP/2 keep-alive), TCP
//! keep-alive, outlier detection with its HTTP error codes and the panic threshold, the
//! load-balancing policy with slow start, ring hash or maglev. The route carries Istio's
//! default retry policy (`route/retry/retry.go`) and, for a consistent-hash cluster, its hash
//! policy (`route/route.go`). Pure: the bootstrap is data; the `sidecar` module runs it.
//!
//! Not rendered, because the local sidecar forwards plain HTTP to one local upstream: mesh and
//! rule TLS, `proxyProtocol` (the upstream does not speak it), `PASSTHROUGH` (an
//! original-destination cluster would forward to the listener itself), and locality or
//! zone-aware load balancing (one endpoint has no locality).

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};

use crate::istio::inbound::Inbound;
use crate::istio::model::{
    HashAlgorithm, HashKey, LoadBalancer, Located, OutlierDetection, RetryBudget,
};
use crate::istio::resolve::{EffectivePolicy, Resolution};

/// Where the rendered sidecar listens and what it forwards to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RenderOptions {
    /// The outbound listener the client sends to (port 0: any free port).
    pub listen: SocketAddr,
    /// The upstream the cluster forwards to.
    pub upstream: SocketAddr,
    /// The admin listener, for `/ready` and `/stats` (port 0: any free port).
    pub admin: SocketAddr,
}

impl RenderOptions {
    /// A sidecar forwarding to `upstream`, its listener and admin on free loopback ports.
    pub fn new(upstream: SocketAddr) -> Self {
        let any_loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            listen: any_loopback,
            upstream,
            admin: any_loopback,
        }
    }

    /// The outbound listener the client sends to.
    pub fn listen(mut self, listen: SocketAddr) -> Self {
        self.listen = listen;
        self
    }

    /// The admin listener.
    pub fn admin(mut self, admin: SocketAddr) -> Self {
        self.admin = admin;
        self
    }
}

/// The cluster name Istio gives the destination: `outbound|PORT|SUBSET|HOST`, the host being
/// the service's (a wildcard ServiceEntry's for a host it serves).
pub fn cluster_name(resolution: &Resolution<'_>) -> String {
    let d = &resolution.destination;
    format!(
        "outbound|{}|{}|{}",
        d.port.unwrap_or(80),
        d.subset.as_deref().unwrap_or(""),
        d.service_fqdn()
    )
}

/// The bootstrap for the destination of `resolution`.
pub fn render(resolution: &Resolution<'_>, options: &RenderOptions) -> Value {
    let name = cluster_name(resolution);
    let policy = &resolution.policy;
    let load_balancer = policy.load_balancer.as_ref().map(|l| l.value);
    let mut cluster = json!({
        "name": name,
        "type": "STATIC",
        "connect_timeout": duration(policy.connect_timeout().0),
        "lb_policy": "LEAST_REQUEST",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": socket(options.upstream)}}]}],
        },
        "common_lb_config": {},
        "typed_extension_protocol_options": {
            HTTP_PROTOCOL_OPTIONS: {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http_protocol_options": {}},
            }
        },
    });
    apply_connection_pool(&mut cluster, policy);
    if let Some(outlier) = &policy.outlier_detection {
        apply_outlier_detection(&mut cluster, outlier.value);
    }
    apply_load_balancer(&mut cluster, load_balancer);
    let hash_key = load_balancer
        .filter(|lb| lb.consistent_hash.is_some())
        .and_then(|lb| lb.hash_key.as_ref())
        .map(|k| &k.value);
    json!({
        "node": {"id": "sidecar-tuner", "cluster": "sidecar-tuner"},
        "admin": {"address": socket(options.admin)},
        "static_resources": {
            "listeners": [if policy.proxies_tcp() {
                tcp_listener(&name, options.listen, policy)
            } else {
                listener(&name, options.listen, hash_key)
            }],
            "clusters": [cluster],
        },
    })
}

/// The bootstrap of a server's sidecar for the inbound policy of `inbound`: the listener the
/// callers' sidecars reach (`options.listen`), one inbound cluster `inbound|PORT||` to the local
/// application (`options.upstream`) with what `buildInboundCluster` sets: the connection pool's
/// circuit breakers and protocol options (idle timeout: the pool's, else Envoy's 1h), connect
/// timeout and TCP keep-alive; no outlier detection, load balancing, TLS or HTTP/2 upgrade. The
/// route is Istio's default inbound route (`route.go` `BuildDefaultHTTPInboundRoute`): no
/// timeout, no stream duration limit, and the inbound retry policy of `retry.go`
/// (`reset-before-request`, 2 retries), which does not retry a request already sent.
///
/// ```
/// use sidecar_tuner::envoy::{RenderOptions, render_inbound};
/// use sidecar_tuner::istio::inbound::resolve_inbound;
/// use sidecar_tuner::istio::load::{LoadOptions, load_str};
/// use sidecar_tuner::istio::resolve::{Destination, MeshIndex};
/// use sidecar_tuner::istio::MeshConfig;
///
/// let yaml = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: api}\nspec: {host: api, trafficPolicy: {connectionPool: {http: {idleTimeout: 4s}}}}\n";
/// let loaded = load_str(yaml, &"dr.yaml".into(), &LoadOptions::default());
/// let mesh = MeshConfig::default();
/// let index = MeshIndex::new(&loaded.rules, &mesh, "default");
/// let inbound = resolve_inbound(&index, &loaded.sidecars, &Destination::new("api").port(8080), None)?;
/// let bootstrap = render_inbound(&inbound, &RenderOptions::new("127.0.0.1:8080".parse().unwrap()));
/// let cluster = &bootstrap["static_resources"]["clusters"][0];
/// assert_eq!(cluster["name"], "inbound|8080||");
/// let options = &cluster["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"];
/// assert_eq!(options["common_http_protocol_options"]["idle_timeout"], "4s");
/// # Ok::<(), sidecar_tuner::Error>(())
/// ```
pub fn render_inbound(inbound: &Inbound<'_>, options: &RenderOptions) -> Value {
    let policy = &inbound.resolution.policy;
    let port = inbound
        .resolution
        .destination
        .port
        .unwrap_or(options.upstream.port().into());
    let name = format!("inbound|{port}||");
    let mut cluster = json!({
        "name": name,
        "type": "STATIC",
        "connect_timeout": duration(policy.connect_timeout().0),
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": socket(options.upstream)}}]}],
        },
        "typed_extension_protocol_options": {
            HTTP_PROTOCOL_OPTIONS: {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http_protocol_options": {}},
            }
        },
    });
    apply_connection_pool(&mut cluster, policy);
    let route = json!({
        "cluster": name,
        "timeout": "0s",
        "max_stream_duration": {"max_stream_duration": "0s", "grpc_timeout_header_max": "0s"},
        "retry_policy": {"retry_on": "reset-before-request", "num_retries": 2},
    });
    json!({
        "node": {"id": "sidecar-tuner-inbound", "cluster": "sidecar-tuner"},
        "admin": {"address": socket(options.admin)},
        "static_resources": {
            "listeners": [http_listener("virtualInbound", &format!("inbound_0.0.0.0_{port}"), options.listen, &name, route)],
            "clusters": [cluster],
        },
    })
}

/// Adds a file access log to every HTTP listener of `bootstrap`: one line per request,
/// `STATUS FLAGS` (Envoy's `%RESPONSE_CODE% %RESPONSE_FLAGS%`, e.g. `503 UC`), appended to
/// `path`.
pub fn add_access_log(bootstrap: &mut Value, path: &std::path::Path) {
    let log = json!([{
        "name": "envoy.access_loggers.file",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
            "path": path.display().to_string(),
            "log_format": {"text_format_source": {"inline_string": "%RESPONSE_CODE% %RESPONSE_FLAGS%\n"}},
        },
    }]);
    let listeners = bootstrap["static_resources"]["listeners"].as_array_mut();
    for listener in listeners.into_iter().flatten() {
        let chains = listener["filter_chains"].as_array_mut();
        for filter in chains
            .into_iter()
            .flatten()
            .flat_map(|c| c["filters"].as_array_mut().into_iter().flatten())
        {
            if filter["name"] == "envoy.filters.network.http_connection_manager" {
                filter["typed_config"]["access_log"] = log.clone();
            }
        }
    }
}

/// Sets the idle timeout of every cluster of `bootstrap` (the bench's "recommended" run).
#[cfg(feature = "sidecar")]
pub(crate) fn set_idle_timeout(bootstrap: &mut Value, idle: Duration) {
    let clusters = bootstrap["static_resources"]["clusters"].as_array_mut();
    for cluster in clusters.into_iter().flatten() {
        cluster["typed_extension_protocol_options"][HTTP_PROTOCOL_OPTIONS]["common_http_protocol_options"]
            ["idle_timeout"] = json!(duration(idle));
    }
}

/// The idle timeout of the first cluster of `bootstrap`, when it sets one.
#[cfg(feature = "sidecar")]
pub(crate) fn idle_timeout_of(bootstrap: &Value) -> Option<Duration> {
    let text = bootstrap["static_resources"]["clusters"][0]["typed_extension_protocol_options"]
        [HTTP_PROTOCOL_OPTIONS]["common_http_protocol_options"]["idle_timeout"]
        .as_str()?;
    Duration::try_from_secs_f64(text.strip_suffix('s')?.parse().ok()?).ok()
}

/// The key of the cluster's upstream HTTP protocol options.
const HTTP_PROTOCOL_OPTIONS: &str = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

fn socket(addr: SocketAddr) -> Value {
    json!({"socket_address": {"address": addr.ip().to_string(), "port_value": addr.port()}})
}

/// A protobuf JSON duration: `2s`, `0.25s`.
fn duration(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

fn positive(v: Option<&Located<i64>>) -> Option<u32> {
    v.and_then(|l| u32::try_from(l.value).ok())
        .filter(|n| *n > 0)
}

/// As Istio's `applyConnectionPool`: thresholds default to 4294967295 with `track_remaining`,
/// the retry budget (`applyRetryBudget`), MeshConfig's keep-alive under the rule's, HTTP
/// protocol options only for what the rule sets, and the HTTP/2 ones only on an upgraded cluster.
fn apply_connection_pool(cluster: &mut Value, policy: &EffectivePolicy<'_>) {
    let pool = policy.connection_pool.as_ref().map(|p| p.value);
    let http = pool.and_then(|p| p.http.as_ref());
    let tcp = pool.and_then(|p| p.tcp.as_ref());
    let limits = policy.thresholds();
    let mut thresholds = json!({
        "max_connections": limits.max_connections,
        "max_pending_requests": limits.max_pending_requests,
        "max_requests": limits.max_requests,
        "max_retries": limits.max_retries,
        "track_remaining": true,
    });
    if let Some(budget) = &policy.retry_budget {
        thresholds["retry_budget"] = retry_budget_json(budget.value);
    }
    cluster["circuit_breakers"] = json!({ "thresholds": [thresholds] });
    if let Some(keepalive) = policy.tcp_keepalive() {
        // Whole seconds, truncated; probes only when positive.
        let mut options = json!({});
        if let Some((probes, _)) = keepalive.probes {
            options["keepalive_probes"] = json!(probes);
        }
        if let Some((time, _)) = keepalive.time {
            options["keepalive_time"] = json!(time.as_secs());
        }
        if let Some((interval, _)) = keepalive.interval {
            options["keepalive_interval"] = json!(interval.as_secs());
        }
        cluster["upstream_connection_options"] = json!({"tcp_keepalive": options});
    }
    let idle = http
        .and_then(|h| h.idle_timeout.as_ref())
        .or_else(|| tcp.and_then(|t| t.idle_timeout.as_ref()));
    let options = &mut cluster["typed_extension_protocol_options"][HTTP_PROTOCOL_OPTIONS];
    let mut common = json!({});
    if let Some(idle) = idle {
        common["idle_timeout"] = json!(duration(idle.value));
    }
    if let Some(n) = positive(http.and_then(|h| h.max_requests_per_connection.as_ref())) {
        common["max_requests_per_connection"] = json!(n);
    }
    if let Some(d) = tcp.and_then(|t| t.max_connection_duration.as_ref()) {
        common["max_connection_duration"] = json!(duration(d.value));
    }
    if common.as_object().is_some_and(|c| !c.is_empty()) {
        options["common_http_protocol_options"] = common;
    }
    if policy.uses_client_protocol() {
        options
            .as_object_mut()
            .map(|o| o.remove("explicit_http_config"));
        options["use_downstream_protocol_config"] =
            json!({"http_protocol_options": {}, "http2_protocol_options": {}});
    } else if policy.h2_upgrade() {
        let mut h2 = json!({});
        if let Some(n) = positive(http.and_then(|h| h.max_concurrent_streams.as_ref())) {
            h2["max_concurrent_streams"] = json!(n);
        }
        if let Some(h) = http.filter(|h| h.http2_keep_alive.is_some()) {
            let mut keepalive = json!({});
            if let Some(interval) = &h.http2_keep_alive_interval {
                keepalive["interval"] = json!(duration(interval.value));
            }
            if let Some(timeout) = &h.http2_keep_alive_timeout {
                keepalive["timeout"] = json!(duration(timeout.value));
            }
            h2["connection_keepalive"] = keepalive;
        }
        options["explicit_http_config"] = json!({"http2_protocol_options": h2});
    }
}

/// As Istio's `applyRetryBudget`: 20% and a concurrency of 3 unless the rule says otherwise
/// (`minRetryConcurrency: 0` is unset), the interval only when set.
fn retry_budget_json(budget: &RetryBudget) -> Value {
    let percent = budget.percent.as_ref().map_or(20.0, |p| p.value);
    let concurrency = positive(budget.min_retry_concurrency.as_ref()).unwrap_or(3);
    let mut out = json!({
        "budget_percent": {"value": percent},
        "min_retry_concurrency": concurrency,
    });
    if let Some(interval) = &budget.budget_interval {
        out["budget_interval"] = json!(duration(interval.value));
    }
    out
}

/// As Istio's `applyOutlierDetection`: success-rate detection off, consecutive errors enforced
/// at 100% when positive, the panic threshold set to `minHealthPercent` (0 by default).
fn apply_outlier_detection(cluster: &mut Value, outlier: &OutlierDetection) {
    let mut out = json!({"enforcing_success_rate": 0});
    let mut consecutive = |field: &str, enforcing: &str, v: Option<&Located<i64>>| {
        if let Some(v) = v {
            let n = u32::try_from(v.value).unwrap_or(0);
            out[field] = json!(n);
            out[enforcing] = json!(if n > 0 { 100 } else { 0 });
        }
    };
    consecutive(
        "consecutive_5xx",
        "enforcing_consecutive_5xx",
        outlier.consecutive_5xx_errors.as_ref(),
    );
    consecutive(
        "consecutive_gateway_failure",
        "enforcing_consecutive_gateway_failure",
        outlier.consecutive_gateway_errors.as_ref(),
    );
    if let Some(i) = &outlier.interval {
        out["interval"] = json!(duration(i.value));
    }
    if let Some(b) = &outlier.base_ejection_time {
        out["base_ejection_time"] = json!(duration(b.value));
    }
    if let Some(m) = positive(outlier.max_ejection_percent.as_ref()) {
        out["max_ejection_percent"] = json!(m);
    }
    if outlier
        .split_external_local_origin_errors
        .as_ref()
        .is_some_and(|s| s.value)
    {
        out["split_external_local_origin_errors"] = json!(true);
        if let Some(n) = positive(outlier.consecutive_local_origin_failures.as_ref()) {
            out["consecutive_local_origin_failure"] = json!(n);
            out["enforcing_consecutive_local_origin_failure"] = json!(100);
        }
        out["enforcing_local_origin_success_rate"] = json!(0);
    }
    cluster["outlier_detection"] = out;
    if !outlier.http_error_codes.is_empty() {
        apply_outlier_error_codes(cluster, &outlier.http_error_codes);
    }
    let min_health = outlier
        .min_health_percent
        .as_ref()
        .map_or(0, |m| m.value.clamp(0, 100));
    cluster["common_lb_config"]["healthy_panic_threshold"] = json!({"value": min_health});
}

/// As Istio's `applyOutlierDetectionErrorCodes`: only these statuses count as errors for
/// outlier detection, one status match, or an `or_match` of them.
fn apply_outlier_error_codes(cluster: &mut Value, codes: &[Located<i64>]) {
    let mut rules: Vec<Value> = codes
        .iter()
        .map(|code| {
            json!({"http_response_headers_match": {"headers": [
                {"name": ":status", "string_match": {"exact": code.value.to_string()}}
            ]}})
        })
        .collect();
    let predicate = if rules.len() == 1 {
        rules.remove(0)
    } else {
        json!({"or_match": {"rules": rules}})
    };
    cluster["typed_extension_protocol_options"][HTTP_PROTOCOL_OPTIONS]["outlier_detection"] =
        json!({ "error_matcher": predicate });
}

/// As Istio's `applyLoadBalancer` for one static endpoint: the simple policy with its slow
/// start (`warmup`, else the deprecated `warmupDurationSecs`), then `ApplyRingHashLoadBalancer`.
/// `PASSTHROUGH` (an original-destination cluster) is not rendered: the local sidecar forwards
/// to the given upstream, so it keeps the default policy.
fn apply_load_balancer(cluster: &mut Value, lb: Option<&LoadBalancer>) {
    let simple = lb.and_then(|l| l.simple.as_ref()).map(|s| s.value.as_str());
    let (policy, config) = match simple {
        Some("RANDOM") => ("RANDOM", None),
        Some("ROUND_ROBIN") => ("ROUND_ROBIN", Some("round_robin_lb_config")),
        Some("PASSTHROUGH") => ("LEAST_REQUEST", None),
        _ => ("LEAST_REQUEST", Some("least_request_lb_config")),
    };
    cluster["lb_policy"] = json!(policy);
    if let (Some(config), Some(slow_start)) = (config, lb.and_then(slow_start)) {
        cluster[config] = json!({ "slow_start_config": slow_start });
    }
    let Some(lb) = lb.filter(|l| l.consistent_hash.is_some()) else {
        return;
    };
    let (policy, config) = match lb.hash_algorithm.as_ref().map(|a| a.value) {
        Some(HashAlgorithm::Maglev { table_size }) => (
            "MAGLEV",
            (table_size != 0).then(|| ("maglev_lb_config", json!({"table_size": table_size}))),
        ),
        Some(HashAlgorithm::RingHash { minimum_ring_size }) => (
            "RING_HASH",
            (minimum_ring_size != 0).then(|| {
                (
                    "ring_hash_lb_config",
                    json!({"minimum_ring_size": minimum_ring_size}),
                )
            }),
        ),
        None => {
            // The deprecated `minimumRingSize`, else Envoy's default of 1024.
            let size = lb
                .minimum_ring_size
                .as_ref()
                .and_then(|m| u64::try_from(m.value).ok())
                .filter(|m| *m != 0)
                .unwrap_or(1024);
            (
                "RING_HASH",
                Some(("ring_hash_lb_config", json!({"minimum_ring_size": size}))),
            )
        }
    };
    cluster["lb_policy"] = json!(policy);
    if let Some((key, value)) = config {
        // `lb_config` is a oneof: the hash config replaces a slow-start one.
        if let Some(c) = cluster.as_object_mut() {
            c.remove("round_robin_lb_config");
            c.remove("least_request_lb_config");
        }
        cluster[key] = value;
    }
}

/// As Istio's `setWarmup` (aggression 1 and minimum weight 10% by default) or, for the
/// deprecated `warmupDurationSecs`, `setSlowStartConfig`.
fn slow_start(lb: &LoadBalancer) -> Option<Value> {
    if let Some(warmup) = &lb.warmup {
        let warmup = &warmup.value;
        let mut out = json!({
            "aggression": {"default_value": warmup.aggression.unwrap_or(1.0), "runtime_key": "("},
            "min_weight_percent": {"value": warmup.minimum_percent.unwrap_or(10.0)},
        });
        if let Some(d) = warmup.duration {
            out["slow_start_window"] = json!(duration(d));
        }
        return Some(out);
    }
    lb.warmup_duration_secs
        .as_ref()
        .map(|d| json!({"slow_start_window": duration(d.value)}))
}

/// Istio's `ConsistentHashToHashPolicy`: the route's hash policy for a consistent-hash cluster.
fn hash_policy(key: &HashKey) -> Value {
    match key {
        HashKey::Header(name) => json!({"header": {"header_name": name}}),
        HashKey::Cookie(cookie) => {
            let mut out = json!({"name": cookie.name});
            if let Some(ttl) = cookie.ttl {
                out["ttl"] = json!(duration(ttl));
            }
            if let Some(path) = &cookie.path {
                out["path"] = json!(path);
            }
            if !cookie.attributes.is_empty() {
                out["attributes"] = cookie
                    .attributes
                    .iter()
                    .map(|(name, value)| json!({"name": name, "value": value}))
                    .collect();
            }
            json!({ "cookie": out })
        }
        HashKey::SourceIp(on) => json!({"connection_properties": {"source_ip": on}}),
        HashKey::QueryParameter(name) => json!({"query_parameter": {"name": name}}),
    }
}

/// The outbound listener: HTTP connection manager, one route to the cluster with Istio's
/// default retry policy (`retry.DefaultPolicy`: 2 retries on connect failure, refused stream,
/// unavailable, cancelled and retriable status codes, none listed; other hosts first, 5
/// host-selection attempts). A consistent-hash cluster gets the route's hash policy and
/// `DefaultConsistentHashPolicy`, which keeps the previous host.
fn listener(cluster: &str, listen: SocketAddr, hash_key: Option<&HashKey>) -> Value {
    let mut retry_policy = json!({
        "retry_on": "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
        "num_retries": 2,
        "host_selection_retry_max_attempts": 5,
    });
    let mut route = json!({"cluster": cluster, "timeout": "0s"});
    match hash_key {
        Some(key) => route["hash_policy"] = json!([hash_policy(key)]),
        None => {
            retry_policy["retry_host_predicate"] = json!([{
                "name": "envoy.retry_host_predicates.previous_hosts",
                "typed_config": {"@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"},
            }]);
        }
    }
    route["retry_policy"] = retry_policy;
    http_listener("outbound", "outbound", listen, "outbound", route)
}

/// The outbound listener of a port the sidecar proxies as TCP, as networkfilter.go
/// `buildOutboundNetworkFiltersWithSingleDestination` builds it: a `tcp_proxy` to the cluster,
/// with the top-level pool's `tcp.idleTimeout` (else the `tcp_proxy`'s 1h) and
/// `tcp.maxConnectionDuration` as its downstream connection's longest life.
fn tcp_listener(cluster: &str, listen: SocketAddr, policy: &EffectivePolicy<'_>) -> Value {
    let tcp = policy.tcp_proxy_pool().and_then(|p| p.value.tcp.as_ref());
    let mut proxy = json!({
        "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
        "stat_prefix": "outbound",
        "cluster": cluster,
    });
    if let Some(idle) = tcp.and_then(|t| t.idle_timeout.as_ref()) {
        proxy["idle_timeout"] = json!(duration(idle.value));
    }
    if let Some(d) = tcp.and_then(|t| t.max_connection_duration.as_ref()) {
        proxy["max_downstream_connection_duration"] = json!(duration(d.value));
    }
    json!({
        "name": "outbound",
        "address": socket(listen),
        "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.tcp_proxy",
            "typed_config": proxy,
        }]}],
    })
}

/// An HTTP listener whose one route, for every host and path, is `route`.
fn http_listener(
    name: &str,
    stat_prefix: &str,
    listen: SocketAddr,
    route_name: &str,
    route: Value,
) -> Value {
    json!({
        "name": name,
        "address": socket(listen),
        "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": stat_prefix,
                "codec_type": "AUTO",
                "route_config": {
                    "name": route_name,
                    "virtual_hosts": [{
                        "name": "destination",
                        "domains": ["*"],
                        "routes": [{"match": {"prefix": "/"}, "route": route}],
                    }],
                },
                "http_filters": [{
                    "name": "envoy.filters.http.router",
                    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
                }],
            },
        }]}],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::istio::load::{LoadOptions, load_file};
    use crate::istio::resolve::{Destination, resolve};

    fn render_reviews(destination: Destination) -> Value {
        let loaded = load_file(
            std::path::Path::new("fixtures/reviews.yaml"),
            &LoadOptions::default(),
        )
        .unwrap();
        let resolution = resolve(&loaded.rules, &destination).unwrap();
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        render(
            &resolution,
            &RenderOptions {
                listen: any,
                upstream: "127.0.0.1:9".parse().unwrap(),
                admin: any,
            },
        )
    }

    fn reviews() -> Destination {
        Destination {
            namespace: "bookinfo".into(),
            ..Destination::new("reviews")
        }
    }

    #[test]
    fn the_cluster_carries_the_effective_policy() {
        let boot = render_reviews(reviews());
        let cluster = &boot["static_resources"]["clusters"][0];
        assert_eq!(
            cluster["name"],
            "outbound|80||reviews.bookinfo.svc.cluster.local"
        );
        let t = &cluster["circuit_breakers"]["thresholds"][0];
        assert_eq!(
            (
                &t["max_connections"],
                &t["max_pending_requests"],
                &t["max_requests"],
                &t["max_retries"]
            ),
            (&json!(100), &json!(10), &json!(1000), &json!(3))
        );
        assert_eq!(cluster["connect_timeout"], "2s");
        assert_eq!(
            cluster["upstream_connection_options"]["tcp_keepalive"],
            json!({"keepalive_time": 300, "keepalive_interval": 30, "keepalive_probes": 3})
        );
        let options = &cluster["typed_extension_protocol_options"][HTTP_PROTOCOL_OPTIONS];
        assert_eq!(
            options["common_http_protocol_options"]["idle_timeout"],
            "30s"
        );
        assert_eq!(cluster["outlier_detection"]["consecutive_5xx"], 5);
        assert_eq!(
            cluster["outlier_detection"]["enforcing_consecutive_5xx"],
            100
        );
        assert_eq!(cluster["lb_policy"], "LEAST_REQUEST");
    }

    #[test]
    fn a_port_level_pool_starts_from_istios_defaults() {
        let boot = render_reviews(Destination {
            port: Some(9443),
            ..reviews()
        });
        let cluster = &boot["static_resources"]["clusters"][0];
        let t = &cluster["circuit_breakers"]["thresholds"][0];
        assert_eq!(t["max_connections"], 20);
        assert_eq!(t["max_requests"], 4_294_967_295u32, "dropped: unlimited");
        assert_eq!(cluster["connect_timeout"], "10s", "the mesh default");
        assert!(cluster.get("upstream_connection_options").is_none());
        assert_eq!(cluster["outlier_detection"]["consecutive_5xx"], 3);
    }
}
