//! An Envoy v3 bootstrap configured as Istio configures a sidecar's outbound path from the same
//! DestinationRule: an outbound HTTP listener, one static cluster for the destination with the
//! circuit breakers, timeouts, protocol options, keep-alive and outlier detection Istio's
//! cluster builder (`pilot/pkg/networking/core/cluster_traffic_policy.go`) derives from the
//! effective policy, defaults included, and Istio's default route retry policy. Pure: the
//! bootstrap is data; [`sidecar`](crate::sidecar) runs it.
//!
//! Not rendered: mesh TLS (the local sidecar talks plain HTTP to a local upstream) and
//! locality load balancing (there is one endpoint).

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};

use crate::istio::model::{Located, OutlierDetection};
use crate::istio::resolve::{EffectivePolicy, Resolution};
use crate::plan::UNLIMITED;

/// Where the rendered sidecar listens and what it forwards to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenderOptions {
    /// The outbound listener the client sends to (port 0: any free port).
    pub listen: SocketAddr,
    /// The upstream the cluster forwards to.
    pub upstream: SocketAddr,
    /// The admin listener, for `/ready` and `/stats` (port 0: any free port).
    pub admin: SocketAddr,
}

/// The cluster name Istio gives the destination: `outbound|PORT|SUBSET|HOST`.
pub fn cluster_name(resolution: &Resolution<'_>) -> String {
    let d = &resolution.destination;
    format!(
        "outbound|{}|{}|{}",
        d.port.unwrap_or(80),
        d.subset.as_deref().unwrap_or(""),
        d.fqdn()
    )
}

/// The bootstrap for the destination of `resolution`.
pub fn render(resolution: &Resolution<'_>, options: &RenderOptions) -> Value {
    let name = cluster_name(resolution);
    let policy = &resolution.policy;
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
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http_protocol_options": {}},
            }
        },
    });
    apply_connection_pool(&mut cluster, policy);
    if let Some(outlier) = &policy.outlier_detection {
        apply_outlier_detection(&mut cluster, outlier.value);
    }
    if let Some(lb) = &policy.load_balancer {
        let lb = lb.value;
        let simple = lb.simple.as_ref().map(|s| s.value.as_str());
        cluster["lb_policy"] = json!(match simple {
            Some("RANDOM") => "RANDOM",
            Some("ROUND_ROBIN") => "ROUND_ROBIN",
            _ => "LEAST_REQUEST",
        });
        if lb.consistent_hash.is_some() {
            cluster["lb_policy"] = json!("RING_HASH");
        }
    }
    json!({
        "node": {"id": "sidecar-tuner", "cluster": "sidecar-tuner"},
        "admin": {"address": socket(options.admin)},
        "static_resources": {
            "listeners": [listener(&name, options.listen)],
            "clusters": [cluster],
        },
    })
}

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
/// MeshConfig's keep-alive under the rule's, HTTP protocol options only for what the rule sets.
fn apply_connection_pool(cluster: &mut Value, policy: &EffectivePolicy<'_>) {
    let pool = policy.connection_pool.as_ref().map(|p| p.value);
    let http = pool.and_then(|p| p.http.as_ref());
    let tcp = pool.and_then(|p| p.tcp.as_ref());
    let threshold = |v: Option<u32>| v.unwrap_or(UNLIMITED);
    cluster["circuit_breakers"] = json!({"thresholds": [{
        "max_connections": threshold(positive(tcp.and_then(|t| t.max_connections.as_ref()))),
        "max_pending_requests": threshold(positive(http.and_then(|h| h.http1_max_pending_requests.as_ref()))),
        "max_requests": threshold(positive(http.and_then(|h| h.http2_max_requests.as_ref()))),
        "max_retries": threshold(positive(http.and_then(|h| h.max_retries.as_ref()))),
        "track_remaining": true,
    }]});
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
    let options = &mut cluster["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"];
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
    let upgrade = policy.h2_upgrade();
    let client_protocol = http
        .and_then(|h| h.use_client_protocol.as_ref())
        .is_some_and(|u| u.value);
    if client_protocol {
        options
            .as_object_mut()
            .map(|o| o.remove("explicit_http_config"));
        options["use_downstream_protocol_config"] =
            json!({"http_protocol_options": {}, "http2_protocol_options": {}});
    } else if upgrade {
        let mut h2 = json!({});
        if let Some(n) = positive(http.and_then(|h| h.max_concurrent_streams.as_ref())) {
            h2["max_concurrent_streams"] = json!(n);
        }
        options["explicit_http_config"] = json!({"http2_protocol_options": h2});
    }
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
    let min_health = outlier
        .min_health_percent
        .as_ref()
        .map_or(0, |m| m.value.clamp(0, 100));
    cluster["common_lb_config"]["healthy_panic_threshold"] = json!({"value": min_health});
}

/// The outbound listener: HTTP connection manager, one route to the cluster with Istio's
/// default retry policy (2 retries on connect failure, refused stream, 503 and the like).
fn listener(cluster: &str, listen: SocketAddr) -> Value {
    json!({
        "name": "outbound",
        "address": socket(listen),
        "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": "outbound",
                "codec_type": "AUTO",
                "route_config": {
                    "name": "outbound",
                    "virtual_hosts": [{
                        "name": "destination",
                        "domains": ["*"],
                        "routes": [{
                            "match": {"prefix": "/"},
                            "route": {
                                "cluster": cluster,
                                "timeout": "0s",
                                "retry_policy": {
                                    "retry_on": "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
                                    "num_retries": 2,
                                    "retriable_status_codes": [503],
                                    "host_selection_retry_max_attempts": 5,
                                    "retry_host_predicate": [{
                                        "name": "envoy.retry_host_predicates.previous_hosts",
                                        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"},
                                    }],
                                },
                            },
                        }],
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
        let options = &cluster["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"];
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
