//! Which rule applies to a destination, and the policy that results, merged exactly as Istio's
//! `MergeSubsetTrafficPolicy` does it. Pure: no I/O.
//!
//! 1. The rule: among the rules visible from the client's namespace (`exportTo`) and without a
//!    workload selector, the one whose host matches most specifically (an exact host before
//!    wildcards, a longer wildcard before a shorter one); on a tie, a rule in the client's
//!    namespace, then in the destination's, then the first in input order.
//! 2. Top level: a `portLevelSettings` entry for the port replaces the policy: its four groups
//!    (connectionPool, outlierDetection, loadBalancer, tls) *are* the policy, omitted ones fall
//!    back to defaults, and tunnel, proxyProtocol and retryBudget are dropped.
//! 3. Subset: a subset port-level entry for the port replaces all four groups; otherwise each
//!    group the subset sets (and tunnel, proxyProtocol, retryBudget) replaces that group whole.

use std::fmt;

use super::model::{
    ClientTls, ConnectionPool, DestinationRule, LoadBalancer, Located, OutlierDetection,
    PolicyGroups, RetryBudget, TrafficPolicy,
};
use crate::error::Error;

/// The cluster DNS suffix short names are completed with.
pub const CLUSTER_DOMAIN: &str = "svc.cluster.local";

/// The destination a client calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    /// The host as the client names it: short (`reviews`) or fully qualified.
    pub host: String,
    /// The client's namespace, where a short host is looked up. Default `default`.
    pub namespace: String,
    /// The port, which selects `portLevelSettings`.
    pub port: Option<u32>,
    /// The subset, as a VirtualService route would name it.
    pub subset: Option<String>,
}

impl Destination {
    /// A destination for `host`, from namespace `default`, any port, no subset.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            namespace: "default".into(),
            port: None,
            subset: None,
        }
    }

    /// The fully qualified host: a name without dots is completed with the client's namespace
    /// and the cluster domain, as cluster DNS does; anything else is taken as written.
    pub fn fqdn(&self) -> String {
        qualify(&self.host, &self.namespace)
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.fqdn())?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        if let Some(subset) = &self.subset {
            write!(f, " (subset {subset})")?;
        }
        Ok(())
    }
}

/// Istio's `ResolveShortnameToFQDN`: a host without dots lives in `namespace`.
fn qualify(host: &str, namespace: &str) -> String {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == "*" || host.contains('.') {
        host
    } else {
        format!("{host}.{namespace}.{CLUSTER_DOMAIN}")
    }
}

/// The namespace a rule lives in; a rule that names none is taken to live in the client's
/// namespace, as `kubectl apply -n` would put it there.
fn rule_namespace<'r>(rule: &'r DestinationRule, client_namespace: &'r str) -> &'r str {
    rule.namespace
        .as_ref()
        .map_or(client_namespace, |n| n.value.as_str())
}

/// The rule's host, fully qualified in the rule's namespace.
pub fn rule_fqdn(rule: &DestinationRule, client_namespace: &str) -> String {
    qualify(&rule.host.value, rule_namespace(rule, client_namespace))
}

/// Where an effective group was taken from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicySource {
    /// `spec.trafficPolicy`.
    TopLevel,
    /// `spec.trafficPolicy.portLevelSettings` for the port.
    PortLevel(u32),
    /// The subset's `trafficPolicy`.
    Subset(String),
    /// The subset's `trafficPolicy.portLevelSettings` for the port.
    SubsetPortLevel(String, u32),
}

impl fmt::Display for PolicySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicySource::TopLevel => f.write_str("trafficPolicy"),
            PolicySource::PortLevel(p) => write!(f, "trafficPolicy.portLevelSettings[port {p}]"),
            PolicySource::Subset(s) => write!(f, "subset {s} trafficPolicy"),
            PolicySource::SubsetPortLevel(s, p) => {
                write!(f, "subset {s} trafficPolicy.portLevelSettings[port {p}]")
            }
        }
    }
}

/// A policy group with where it was taken from.
#[derive(Clone, Debug, PartialEq)]
pub struct Sourced<'a, T> {
    /// The group, as written in the rule.
    pub value: &'a T,
    /// Which part of the rule it comes from.
    pub source: PolicySource,
}

/// The policy the sidecar applies to a destination; a group that is `None` takes Istio's
/// defaults.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct EffectivePolicy<'a> {
    /// `connectionPool`.
    pub connection_pool: Option<Sourced<'a, ConnectionPool>>,
    /// `outlierDetection`.
    pub outlier_detection: Option<Sourced<'a, OutlierDetection>>,
    /// `loadBalancer`.
    pub load_balancer: Option<Sourced<'a, LoadBalancer>>,
    /// `tls`.
    pub tls: Option<Sourced<'a, ClientTls>>,
    /// `retryBudget`.
    pub retry_budget: Option<Sourced<'a, RetryBudget>>,
    /// `tunnel` is set.
    pub tunnel: Option<Sourced<'a, Located<()>>>,
    /// `proxyProtocol` is set.
    pub proxy_protocol: Option<Sourced<'a, Located<()>>>,
}

impl<'a> EffectivePolicy<'a> {
    fn groups(groups: &'a PolicyGroups, source: &PolicySource) -> Self {
        Self {
            connection_pool: sourced(&groups.connection_pool, source),
            outlier_detection: sourced(&groups.outlier_detection, source),
            load_balancer: sourced(&groups.load_balancer, source),
            tls: sourced(&groups.tls, source),
            ..Self::default()
        }
    }

    fn extras(mut self, policy: &'a TrafficPolicy, source: &PolicySource) -> Self {
        self.retry_budget = sourced(&policy.retry_budget, source);
        self.tunnel = sourced(&policy.tunnel, source);
        self.proxy_protocol = sourced(&policy.proxy_protocol, source);
        self
    }

    /// Istio's `GetPortLevelTrafficPolicy` followed by the copy of the groups: the port-level
    /// entry for `port` if there is one (`true`), else the policy itself.
    fn of_policy(
        policy: &'a TrafficPolicy,
        port: Option<u32>,
        source: PolicySource,
        at_port: impl Fn(u32) -> PolicySource,
    ) -> (Self, bool) {
        let entry = port.and_then(|p| {
            policy
                .port_level_settings
                .iter()
                .find(|e| e.port.as_ref().is_some_and(|n| n.value == p))
        });
        match entry {
            Some(entry) => (
                Self::groups(&entry.groups, &at_port(port.unwrap_or_default())),
                true,
            ),
            None => (
                Self::groups(&policy.groups, &source).extras(policy, &source),
                false,
            ),
        }
    }

    /// Istio's `mergeTrafficPolicy`: the subset's groups replace the original's whole.
    fn merge(mut self, subset: Self, subset_is_port_level: bool) -> Self {
        if subset.connection_pool.is_some() || subset_is_port_level {
            self.connection_pool = subset.connection_pool;
        }
        if subset.outlier_detection.is_some() || subset_is_port_level {
            self.outlier_detection = subset.outlier_detection;
        }
        if subset.load_balancer.is_some() || subset_is_port_level {
            self.load_balancer = subset.load_balancer;
        }
        if subset.tls.is_some() || subset_is_port_level {
            self.tls = subset.tls;
        }
        if subset.tunnel.is_some() {
            self.tunnel = subset.tunnel;
        }
        if subset.proxy_protocol.is_some() {
            self.proxy_protocol = subset.proxy_protocol;
        }
        if subset.retry_budget.is_some() {
            self.retry_budget = subset.retry_budget;
        }
        self
    }
}

fn sourced<'a, T>(value: &'a Option<T>, source: &PolicySource) -> Option<Sourced<'a, T>> {
    value.as_ref().map(|value| Sourced {
        value,
        source: source.clone(),
    })
}

/// A rule that matched the destination but was not used, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct PassedOver<'a> {
    /// The rule.
    pub rule: &'a DestinationRule,
    /// Why it was not used.
    pub reason: String,
}

/// The outcome of resolving a destination.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolution<'a> {
    /// The destination, host fully qualified.
    pub destination: Destination,
    /// The rule whose policy applies.
    pub rule: &'a DestinationRule,
    /// The policy the sidecar applies.
    pub policy: EffectivePolicy<'a>,
    /// Rules that matched but were passed over.
    pub passed_over: Vec<PassedOver<'a>>,
}

/// How well a rule host matches: higher is more specific.
fn host_match(rule_host: &str, fqdn: &str) -> Option<usize> {
    if rule_host == fqdn {
        return Some(usize::MAX);
    }
    if rule_host == "*" {
        return Some(0);
    }
    let suffix = rule_host.strip_prefix('*')?;
    fqdn.ends_with(suffix).then_some(suffix.len())
}

fn visible_from(rule: &DestinationRule, rule_ns: &str, client_ns: &str) -> bool {
    rule.export_to.is_empty()
        || rule.export_to.iter().any(|e| match e.value.as_str() {
            "*" => true,
            "." => rule_ns == client_ns,
            ns => ns == client_ns,
        })
}

/// Resolves `destination` against `rules`: the rule that applies, the effective policy with
/// the provenance of each group, and the rules passed over.
///
/// # Errors
/// [`Error::NoMatchingRule`] when no visible rule matches the host; [`Error::UnknownSubset`] when
/// the subset is not defined by the rule that applies.
pub fn resolve<'a>(
    rules: &'a [DestinationRule],
    destination: &Destination,
) -> Result<Resolution<'a>, Error> {
    let fqdn = destination.fqdn();
    let client_ns = destination.namespace.as_str();
    let host_ns = fqdn
        .strip_suffix(CLUSTER_DOMAIN)
        .and_then(|h| h.trim_end_matches('.').rsplit('.').next());
    let mut candidates = Vec::new();
    let mut passed_over = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        let rule_ns = rule_namespace(rule, client_ns);
        let Some(specificity) = host_match(&qualify(&rule.host.value, rule_ns), &fqdn) else {
            continue;
        };
        if rule.workload_selector.is_some() {
            let reason =
                "it has a workload selector, which applies it to selected clients only".to_owned();
            passed_over.push(PassedOver { rule, reason });
        } else if !visible_from(rule, rule_ns, client_ns) {
            let reason = format!("it is not exported to namespace `{client_ns}`");
            passed_over.push(PassedOver { rule, reason });
        } else {
            let locality = if rule_ns == client_ns {
                0
            } else if Some(rule_ns) == host_ns {
                1
            } else {
                2
            };
            candidates.push((specificity, locality, index, rule));
        }
    }
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut ranked = candidates.into_iter();
    let Some((best_specificity, best_locality, _, rule)) = ranked.next() else {
        return Err(Error::NoMatchingRule {
            host: fqdn,
            namespace: client_ns.to_owned(),
        });
    };
    for (specificity, locality, _, other) in ranked {
        let reason = if specificity < best_specificity {
            format!(
                "its host `{}` is less specific than `{}`",
                other.host.value, rule.host.value
            )
        } else if locality > best_locality {
            format!(
                "{} is in a namespace Istio looks at after `{}`",
                other.id(),
                rule_namespace(rule, client_ns)
            )
        } else {
            format!(
                "{} defines the same host earlier in the input; Istio applies one rule's policy",
                rule.id()
            )
        };
        passed_over.push(PassedOver {
            rule: other,
            reason,
        });
    }
    let policy = effective_policy(rule, destination)?;
    Ok(Resolution {
        destination: Destination {
            host: fqdn,
            ..destination.clone()
        },
        rule,
        policy,
        passed_over,
    })
}

/// The effective policy of `rule` for the destination's port and subset.
///
/// # Errors
/// [`Error::UnknownSubset`] when the subset is not defined by the rule.
pub fn effective_policy<'a>(
    rule: &'a DestinationRule,
    destination: &Destination,
) -> Result<EffectivePolicy<'a>, Error> {
    let port = destination.port;
    let top = rule
        .traffic_policy
        .as_ref()
        .map(|p| {
            EffectivePolicy::of_policy(p, port, PolicySource::TopLevel, PolicySource::PortLevel).0
        })
        .unwrap_or_default();
    let Some(subset_name) = &destination.subset else {
        return Ok(top);
    };
    let subset = rule
        .subsets
        .iter()
        .find(|s| &s.name.value == subset_name)
        .ok_or_else(|| Error::UnknownSubset {
            subset: subset_name.clone(),
            rule: rule.id(),
            known: rule
                .subsets
                .iter()
                .map(|s| s.name.value.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let Some(subset_policy) = &subset.traffic_policy else {
        return Ok(top);
    };
    let (from_subset, port_level) = EffectivePolicy::of_policy(
        subset_policy,
        port,
        PolicySource::Subset(subset_name.clone()),
        |p| PolicySource::SubsetPortLevel(subset_name.clone(), p),
    );
    Ok(top.merge(from_subset, port_level))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::istio::load::{LoadOptions, load_str};

    fn rules(yaml: &str) -> Vec<DestinationRule> {
        let loaded = load_str(
            yaml,
            &std::sync::Arc::from("t.yaml"),
            &LoadOptions::default(),
        );
        assert!(
            loaded
                .findings
                .iter()
                .all(|f| f.severity < crate::check::Severity::Error),
            "{:?}",
            loaded.findings
        );
        loaded.rules
    }

    fn dr(name: &str, ns: &str, host: &str, spec: &str) -> String {
        format!(
            "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  host: {host}\n{spec}---\n"
        )
    }

    fn max_connections(p: &EffectivePolicy<'_>) -> Option<i64> {
        p.connection_pool
            .as_ref()?
            .value
            .tcp
            .as_ref()?
            .max_connections
            .as_ref()
            .map(|m| m.value)
    }

    const LAYERED: &str = "  trafficPolicy:
    connectionPool: {tcp: {maxConnections: 100}}
    outlierDetection: {consecutive5xxErrors: 5}
    tunnel: {targetHost: a.example.com, targetPort: 8443}
    portLevelSettings:
    - port: {number: 9080}
      connectionPool: {tcp: {maxConnections: 10}}
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      connectionPool: {tcp: {maxConnections: 50}}
  - name: v3
    labels: {version: v3}
    trafficPolicy:
      loadBalancer: {simple: RANDOM}
      portLevelSettings:
      - port: {number: 9080}
        tls: {mode: ISTIO_MUTUAL}
";

    #[test]
    fn port_level_replaces_groups_and_drops_extras() {
        let rules = rules(&dr("r", "prod", "reviews", LAYERED));
        let mut d = Destination {
            namespace: "prod".into(),
            ..Destination::new("reviews")
        };
        let top = resolve(&rules, &d).unwrap();
        assert_eq!(max_connections(&top.policy), Some(100));
        assert!(top.policy.outlier_detection.is_some() && top.policy.tunnel.is_some());
        d.port = Some(9080);
        let port = resolve(&rules, &d).unwrap().policy;
        assert_eq!(max_connections(&port), Some(10));
        assert_eq!(
            port.connection_pool.as_ref().unwrap().source,
            PolicySource::PortLevel(9080)
        );
        assert!(
            port.outlier_detection.is_none(),
            "not inherited from the top level"
        );
        assert!(port.tunnel.is_none(), "dropped by the port-level entry");
    }

    #[test]
    fn subsets_replace_what_they_set() {
        let rules = rules(&dr("r", "prod", "reviews", LAYERED));
        let at = |port, subset: &str| Destination {
            namespace: "prod".into(),
            port,
            subset: Some(subset.into()),
            ..Destination::new("reviews")
        };
        let v1 = resolve(&rules, &at(None, "v1")).unwrap().policy;
        assert_eq!(max_connections(&v1), Some(100));
        let v2 = resolve(&rules, &at(Some(9080), "v2")).unwrap().policy;
        assert_eq!(
            max_connections(&v2),
            Some(50),
            "the subset group replaces the port-level one"
        );
        assert_eq!(
            v2.connection_pool.unwrap().source,
            PolicySource::Subset("v2".into())
        );
        let v3 = resolve(&rules, &at(Some(9080), "v3")).unwrap().policy;
        assert!(
            v3.connection_pool.is_none(),
            "a subset port-level entry replaces all four groups"
        );
        assert!(v3.load_balancer.is_none() && v3.tls.is_some());
        let v3_other_port = resolve(&rules, &at(None, "v3")).unwrap().policy;
        assert_eq!(max_connections(&v3_other_port), Some(100));
        assert!(v3_other_port.load_balancer.is_some() && v3_other_port.tunnel.is_some());
        assert!(matches!(
            resolve(&rules, &at(None, "v9")),
            Err(Error::UnknownSubset { .. })
        ));
    }

    #[test]
    fn most_specific_host_wins_and_the_rest_are_reported() {
        let yaml = [
            dr("all", "prod", "\"*.prod.svc.cluster.local\"", ""),
            dr("exact", "prod", "reviews", ""),
            dr("other-ns", "test", "reviews.prod.svc.cluster.local", ""),
            dr(
                "private",
                "test",
                "reviews.prod.svc.cluster.local",
                "  exportTo: [\".\"]\n",
            ),
            dr(
                "selected",
                "prod",
                "reviews",
                "  workloadSelector: {matchLabels: {app: x}}\n",
            ),
            dr("star", "istio-system", "\"*\"", ""),
        ]
        .concat();
        let rules = rules(&yaml);
        let from_prod = Destination {
            namespace: "prod".into(),
            ..Destination::new("reviews")
        };
        let r = resolve(&rules, &from_prod).unwrap();
        assert_eq!(r.rule.id(), "prod/exact");
        let passed: Vec<_> = r.passed_over.iter().map(|p| p.rule.id()).collect();
        assert_eq!(
            passed,
            [
                "test/private",
                "prod/selected",
                "test/other-ns",
                "prod/all",
                "istio-system/star"
            ]
        );
        let from_test = Destination {
            namespace: "test".into(),
            ..Destination::new("reviews.prod.svc.cluster.local")
        };
        assert_eq!(
            resolve(&rules, &from_test).unwrap().rule.id(),
            "test/other-ns"
        );
        let elsewhere = Destination::new("ratings.web.svc.cluster.local");
        assert_eq!(
            resolve(&rules, &elsewhere).unwrap().rule.id(),
            "istio-system/star"
        );
    }

    #[test]
    fn short_names_resolve_in_their_namespaces() {
        let rules = rules(&dr("r", "prod", "reviews", ""));
        assert!(
            resolve(&rules, &Destination::new("reviews")).is_err(),
            "reviews in default is another service"
        );
        let d = Destination {
            namespace: "prod".into(),
            ..Destination::new("Reviews")
        };
        assert_eq!(
            resolve(&rules, &d).unwrap().destination.host,
            "reviews.prod.svc.cluster.local"
        );
    }
}
