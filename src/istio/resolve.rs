//! Which rules apply to a destination, and the policy the sidecar enforces, as Istio's control
//! plane computes them (read at istio/istio 86c9f01fd735). Pure: no I/O.
//!
//! 1. **Index** ([`MeshIndex::new`]; `push_context.go` `setDestinationRules`): rules sorted with
//!    workload-selector rules first, then by `metadata.creationTimestamp` (oldest first; none
//!    sorts first), then name, then namespace. Short hosts resolve in the rule's namespace. Each
//!    namespace keeps the rules visible in it (no `exportTo`, `*`, `.` or its own name) and,
//!    apart, the rules it exports (all but private ones); the root namespace also keeps its
//!    private rules. A selector rule is private to its namespace.
//! 2. **Merge** (`destination_rule.go` `mergeDestinationRule`): rules for one host in one index
//!    are consolidated: subsets appended (the first wins on a duplicate name), the top-level
//!    `trafficPolicy` of the first rule that has one. Rules whose `exportTo` sets differ stay
//!    apart, but a newer superset is merged into the older entry (and also kept on its own when
//!    a selector is involved); a selector rule merges with rules of an equal selector, and
//!    (Istio issue 58322) with a rule without selector when their `exportTo` sets are equal.
//! 3. **Lookup** (`push_context.go` `destinationRule`): the most specific host match (exact,
//!    then the longest wildcard) among the rules visible in the client's namespace; else among
//!    those the service's namespace exports to the client; else among those the root namespace
//!    exports to it. A client in the root namespace looks at the root's private rules first.
//! 4. **Choice** (`sidecar.go` `SidecarScope.DestinationRule`): a selector rule of the client's
//!    namespace whose labels are a subset of the client's; else the last entry without a
//!    selector; else none, and the mesh defaults apply.
//! 5. **Policy** (`GetPortLevelTrafficPolicy`, `applyDefaultTrafficPolicy`,
//!    `MergeSubsetTrafficPolicy`): a `portLevelSettings` entry for the port replaces the
//!    top-level groups (omitted ones fall back to defaults; tunnel, proxyProtocol and
//!    retryBudget are dropped); MeshConfig's `defaultTrafficPolicy` fills a `connectionPool` or
//!    `outlierDetection` still missing; then the subset's port-level entry replaces all four
//!    groups, or each group the subset sets replaces that group whole.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::mesh::MeshConfig;
use super::model::{
    ClientTls, ConnectionPool, DestinationRule, H2UpgradePolicy, LoadBalancer, Located,
    OutlierDetection, PolicyGroups, RetryBudget, Subset, TcpKeepalive, TrafficPolicy, namespace_or,
};
use super::protocol::Protocol;
use super::validate::{
    is_label_key, is_label_value, is_lowercase_dns1123_label, validate_fqdn,
    validate_wildcard_domain,
};
use crate::diag::Location;
use crate::error::Error;

/// The cluster DNS suffix short names are completed with.
pub const CLUSTER_DOMAIN: &str = "svc.cluster.local";
/// The mesh's connect timeout when MeshConfig sets none.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The value Istio gives an unset circuit-breaker threshold: unlimited.
pub const UNLIMITED: u32 = u32::MAX;

/// Istio's rule for a circuit-breaker threshold (`getDefaultCircuitBreakerThresholds`, then
/// `applyConnectionPool`): the value when positive, else 4294967295 (0 counts as unset).
pub(crate) fn threshold(v: Option<&Located<i64>>) -> u32 {
    v.and_then(|l| u32::try_from(l.value).ok())
        .filter(|n| *n > 0)
        .unwrap_or(UNLIMITED)
}

/// The circuit-breaker thresholds Envoy gets for a destination, all four written explicitly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Thresholds {
    /// `max_connections`, from `tcp.maxConnections`.
    pub max_connections: u32,
    /// `max_pending_requests`, from `http.http1MaxPendingRequests`.
    pub max_pending_requests: u32,
    /// `max_requests`, from `http.http2MaxRequests`.
    pub max_requests: u32,
    /// `max_retries`, from `http.maxRetries`.
    pub max_retries: u32,
}

/// The destination a client calls, and the client.
///
/// ```
/// use sidecar_tuner::istio::resolve::Destination;
///
/// let to = Destination::new("reviews").namespace("shop").port(9080).subset("v2");
/// assert_eq!(to.to_string(), "reviews.shop.svc.cluster.local:9080 (subset v2)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Destination {
    /// The host as the client names it: short (`reviews`) or fully qualified.
    pub host: String,
    /// The client's namespace, where a short host is looked up. Default `default`.
    pub namespace: String,
    /// The client workload's labels, which workload-selector rules match.
    pub labels: BTreeMap<String, String>,
    /// The namespace of the service behind the host: by default the one a
    /// `NAME.NAMESPACE.svc.cluster.local` host names; set it for a ServiceEntry host.
    pub service_namespace: Option<String>,
    /// The host of the service behind the host when it is a wildcard: a ServiceEntry for
    /// `*.example.com` serves `api.example.com` when no ServiceEntry names that host, and Istio
    /// builds its cluster, imports it and looks its rules up for `*.example.com`.
    /// [`Loaded::complete`](crate::istio::load::Loaded::complete) sets it from the input.
    pub service_host: Option<String>,
    /// The port, which selects `portLevelSettings`.
    pub port: Option<u32>,
    /// The subset, as a VirtualService route would name it.
    pub subset: Option<String>,
    /// The protocol of the port, as Istio derives it from the Service or ServiceEntry that
    /// defines it; it decides what the sidecar speaks to the upstream
    /// ([`EffectivePolicy::h2_upgrade`]). [`Loaded::complete`](crate::istio::load::Loaded::complete)
    /// sets it from the input; unknown, the port is taken to be HTTP.
    pub protocol: Option<Protocol>,
}

impl Destination {
    /// A destination for `host`, from namespace `default`, no labels, any port, no subset.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            namespace: "default".into(),
            labels: BTreeMap::new(),
            service_namespace: None,
            service_host: None,
            port: None,
            subset: None,
            protocol: None,
        }
    }

    /// The client's namespace.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// The client workload's labels.
    pub fn labels<K: Into<String>, V: Into<String>>(
        mut self,
        labels: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.labels = labels
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// The namespace of the service behind the host, for a ServiceEntry host.
    pub fn service_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.service_namespace = Some(namespace.into());
        self
    }

    /// The wildcard host of the ServiceEntry that serves the host, such as `*.example.com` for
    /// `api.example.com`.
    ///
    /// ```
    /// use sidecar_tuner::istio::resolve::Destination;
    ///
    /// let to = Destination::new("api.example.com").service_host("*.example.com").port(443);
    /// assert_eq!(to.to_string(), "api.example.com:443 (ServiceEntry host *.example.com)");
    /// ```
    pub fn service_host(mut self, host: impl Into<String>) -> Self {
        self.service_host = Some(host.into());
        self
    }

    /// The port the client calls.
    pub fn port(mut self, port: u32) -> Self {
        self.port = Some(port);
        self
    }

    /// The subset, as a VirtualService route names it.
    pub fn subset(mut self, subset: impl Into<String>) -> Self {
        self.subset = Some(subset.into());
        self
    }

    /// The protocol of the port, when the input does not define it.
    ///
    /// ```
    /// use sidecar_tuner::istio::protocol::Protocol;
    /// use sidecar_tuner::istio::resolve::Destination;
    ///
    /// let to = Destination::new("orders").port(50051).protocol(Protocol::Grpc);
    /// assert_eq!(to.protocol, Some(Protocol::Grpc));
    /// ```
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// The fully qualified host: a name without dots is completed with the client's namespace
    /// and the cluster domain, as cluster DNS does; anything else is taken as written.
    pub fn fqdn(&self) -> String {
        qualify(&self.host, &self.namespace)
    }

    /// The host of the service behind the host: the [`service_host`](Self::service_host) when
    /// set, else the [`fqdn`](Self::fqdn). Istio's cluster, Sidecar import and rule lookup are
    /// for it.
    pub(crate) fn service_fqdn(&self) -> String {
        match &self.service_host {
            Some(host) => normalized(host),
            None => self.fqdn(),
        }
    }

    /// An error when this destination names nothing a client could call: a host that Istio's
    /// `ValidateFQDN` rejects (it takes capitals, which DNS ignores), a namespace that is no
    /// lowercase DNS-1123 label, as Kubernetes names namespaces, or a label no workload can
    /// carry (Istio's `labels.Instance.Validate`). Such a destination would match no rule, or
    /// no workload-selector rule, and report only that.
    fn check(&self) -> Result<(), Error> {
        validate_fqdn(&self.host)
            .map_err(|why| Error::invalid_destination("host", &self.host, why))?;
        if let Some(service_host) = &self.service_host {
            validate_wildcard_domain(service_host)
                .map_err(|why| Error::invalid_destination("service host", service_host, why))?;
            if !host_matches(&self.service_fqdn(), &self.fqdn()) {
                return Err(Error::invalid_destination(
                    "service host",
                    service_host,
                    format!(
                        "the service host is `{}` itself or a wildcard that covers it, such as `*.example.com` for `api.example.com`",
                        self.fqdn()
                    ),
                ));
            }
        }
        let namespaces = [
            Some(("namespace", &self.namespace)),
            self.service_namespace
                .as_ref()
                .map(|namespace| ("service namespace", namespace)),
        ];
        for (field, namespace) in namespaces.into_iter().flatten() {
            if !is_lowercase_dns1123_label(namespace) {
                return Err(Error::invalid_destination(
                    field,
                    namespace,
                    "a namespace is 1 to 63 lowercase letters, digits or `-`, starting and ending with a letter or digit",
                ));
            }
        }
        for (key, value) in &self.labels {
            let why = if !is_label_key(key) {
                "a label key is an optional DNS prefix and `/`, then up to 63 letters, digits, `-`, `_`, `.`, starting and ending with a letter or digit"
            } else if !is_label_value(value) {
                "a label value is empty, or letters, digits, `-`, `_`, `.`, starting and ending with a letter or digit"
            } else {
                continue;
            };
            return Err(Error::invalid_destination(
                "label",
                format!("{key}={value}"),
                why,
            ));
        }
        Ok(())
    }

    /// The service's namespace: as set, else the one a cluster host names.
    pub(crate) fn effective_service_namespace(&self) -> Option<String> {
        self.service_namespace.clone().or_else(|| {
            let fqdn = self.fqdn();
            let name_and_namespace = fqdn.strip_suffix(CLUSTER_DOMAIN)?.strip_suffix('.')?;
            let (_, namespace) = name_and_namespace.rsplit_once('.')?;
            Some(namespace.to_owned())
        })
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fqdn = self.fqdn();
        f.write_str(&fqdn)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        let service = self.service_fqdn();
        if service != fqdn {
            write!(f, " (ServiceEntry host {service})")?;
        }
        if let Some(subset) = &self.subset {
            write!(f, " (subset {subset})")?;
        }
        Ok(())
    }
}

/// A host as DNS compares it: no trailing dot, lowercase.
fn normalized(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Istio's `ResolveShortnameToFQDN`: a host without dots lives in `namespace`.
fn qualify(host: &str, namespace: &str) -> String {
    let host = normalized(host);
    if host == "*" || host.contains('.') {
        host
    } else {
        format!("{host}.{namespace}.{CLUSTER_DOMAIN}")
    }
}

/// The namespace a rule lives in; a rule that names none lives where it would be applied,
/// `default_namespace` (the client's, as `kubectl apply -n` would put it there).
pub fn rule_namespace<'r>(rule: &'r DestinationRule, default_namespace: &'r str) -> &'r str {
    namespace_or(rule.namespace.as_ref(), default_namespace)
}

/// The rule's host, fully qualified in the rule's namespace.
pub fn rule_fqdn(rule: &DestinationRule, default_namespace: &str) -> String {
    qualify(&rule.host.value, rule_namespace(rule, default_namespace))
}

/// Istio's `labels.Instance.SubsetOf`: every selector label is among the client's.
fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Rules consolidated for one host in one namespace index: Istio's `ConsolidatedDestRule`.
#[derive(Clone, Debug, PartialEq)]
pub struct MergedRule<'a> {
    export_to: BTreeSet<String>,
    from: Vec<&'a DestinationRule>,
    subsets: Vec<(&'a Subset, &'a DestinationRule)>,
    policy: Option<&'a DestinationRule>,
}

impl<'a> MergedRule<'a> {
    fn new(rule: &'a DestinationRule, export_to: &BTreeSet<String>) -> Self {
        let mut merged = Self {
            export_to: export_to.clone(),
            from: Vec::new(),
            subsets: Vec::new(),
            policy: None,
        };
        merged.absorb(rule);
        merged
    }

    /// The rules merged here, oldest first (Istio's `from`).
    pub fn rules(&self) -> &[&'a DestinationRule] {
        &self.from
    }

    /// The first rule, whose metadata and selector stand for the entry.
    pub fn first(&self) -> &'a DestinationRule {
        self.from[0]
    }

    /// The rule whose top-level `trafficPolicy` applies, if any has one.
    pub fn policy_rule(&self) -> Option<&'a DestinationRule> {
        self.policy
    }

    /// The rule that defines a subset, as merged (the first definition wins).
    pub fn subset(&self, name: &str) -> Option<(&'a Subset, &'a DestinationRule)> {
        self.subsets
            .iter()
            .find(|(s, _)| s.name.value == name)
            .copied()
    }

    /// The subset names, in merged order.
    pub fn subset_names(&self) -> Vec<&'a str> {
        self.subsets
            .iter()
            .map(|(s, _)| s.name.value.as_str())
            .collect()
    }

    fn selector(&self) -> Option<&'a BTreeMap<String, String>> {
        self.first().workload_selector.as_ref().map(|s| &s.value)
    }

    /// The consolidation of `mergeDestinationRule`: subsets appended unless their name is
    /// taken, the top-level policy adopted only when none is there yet.
    fn absorb(&mut self, rule: &'a DestinationRule) {
        self.from.push(rule);
        for subset in &rule.subsets {
            if self.subset(&subset.name.value).is_none() {
                self.subsets.push((subset, rule));
            }
        }
        if self.policy.is_none() && rule.traffic_policy.is_some() {
            self.policy = Some(rule);
        }
    }
}

/// Istio's `mergeDestinationRule` for the entries of one host, translated branch by branch
/// (the last entry visited decides whether the rule also stands on its own).
fn merge_into<'a>(
    entries: &mut Vec<MergedRule<'a>>,
    rule: &'a DestinationRule,
    export_to: &BTreeSet<String>,
) {
    if entries.is_empty() {
        entries.push(MergedRule::new(rule, export_to));
        return;
    }
    let incoming = rule.workload_selector.as_ref().map(|s| &s.value);
    let mut append_separately = true;
    for entry in entries.iter_mut() {
        if *export_to == entry.export_to {
            append_separately = false;
        } else if !entry.export_to.is_empty() && export_to.is_superset(&entry.export_to) {
            append_separately = true;
        } else {
            append_separately = true;
            continue;
        }
        match (incoming, entry.selector()) {
            (Some(a), Some(b)) if a != b => {
                append_separately = true;
                continue;
            }
            (None, None) | (Some(_), Some(_)) => append_separately = false,
            _ => {}
        }
        entry.absorb(rule);
    }
    if append_separately {
        entries.push(MergedRule::new(rule, export_to));
    }
}

/// The rules of one index, by host.
#[derive(Debug, Default)]
struct HostIndex<'a> {
    specific: HashMap<String, Vec<MergedRule<'a>>>,
    wildcard: HashMap<String, Vec<MergedRule<'a>>>,
}

impl<'a> HostIndex<'a> {
    fn merge(&mut self, host: &str, rule: &'a DestinationRule, export_to: &BTreeSet<String>) {
        let hosts = if host.starts_with('*') {
            &mut self.wildcard
        } else {
            &mut self.specific
        };
        let entries = match hosts.get_mut(host) {
            Some(entries) => entries,
            None => hosts.entry(host.to_owned()).or_default(),
        };
        merge_into(entries, rule, export_to);
    }

    /// Istio's `MostSpecificHostMatch`: the exact host, else the longest matching wildcard
    /// (alphabetical first on equal length).
    fn most_specific(&self, fqdn: &str) -> Option<(&str, &[MergedRule<'a>])> {
        if let Some((host, entries)) = self.specific.get_key_value(fqdn) {
            return Some((host, entries));
        }
        self.wildcard
            .iter()
            .filter(|(host, _)| fqdn.ends_with(&host[1..]))
            .min_by(|(a, _), (b, _)| b.len().cmp(&a.len()).then(a.cmp(b)))
            .map(|(host, entries)| (host.as_str(), entries.as_slice()))
    }
}

/// Where the lookup found the rules that apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupStep {
    /// Among the rules visible in the client's namespace.
    ClientNamespace(String),
    /// Among the root namespace's private rules (a client in the root namespace).
    RootNamespacePrivate(String),
    /// Among the rules the service's namespace exports to the client.
    ServiceNamespace(String),
    /// Among the rules the root namespace exports to the client.
    RootNamespace(String),
}

impl fmt::Display for LookupStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupStep::ClientNamespace(ns) => write!(f, "the client's namespace `{ns}`"),
            LookupStep::RootNamespacePrivate(ns) => {
                write!(f, "the root namespace `{ns}` (its private rules)")
            }
            LookupStep::ServiceNamespace(ns) => write!(f, "the service's namespace `{ns}`"),
            LookupStep::RootNamespace(ns) => write!(f, "the root namespace `{ns}`"),
        }
    }
}

/// Every loaded rule indexed as Istio's control plane indexes it, with the mesh's settings.
/// Built once, it resolves any number of destinations.
#[derive(Debug)]
pub struct MeshIndex<'a> {
    rules: &'a [DestinationRule],
    mesh: &'a MeshConfig,
    default_namespace: String,
    namespace_local: HashMap<String, HostIndex<'a>>,
    exported: HashMap<String, HostIndex<'a>>,
    root_local: HostIndex<'a>,
}

impl<'a> MeshIndex<'a> {
    /// Indexes `rules` (Istio's `setDestinationRules`). A rule without a namespace lives in
    /// `default_namespace`.
    pub fn new(
        rules: &'a [DestinationRule],
        mesh: &'a MeshConfig,
        default_namespace: &str,
    ) -> Self {
        let mut index = Self {
            rules,
            mesh,
            default_namespace: default_namespace.to_owned(),
            namespace_local: HashMap::new(),
            exported: HashMap::new(),
            root_local: HostIndex::default(),
        };
        let root = mesh.root_namespace();
        let mut sorted: Vec<&DestinationRule> = rules.iter().collect();
        sorted.sort_by(|a, b| {
            b.workload_selector
                .is_some()
                .cmp(&a.workload_selector.is_some())
                .then_with(|| {
                    let time = |r: &DestinationRule| r.creation_timestamp.as_ref().map(|t| t.value);
                    time(a).cmp(&time(b))
                })
                .then_with(|| a.name.value.cmp(&b.name.value))
                .then_with(|| {
                    rule_namespace(a, default_namespace).cmp(rule_namespace(b, default_namespace))
                })
        });
        for rule in sorted {
            let namespace = rule_namespace(rule, default_namespace);
            let host = rule_fqdn(rule, default_namespace);
            let export_to: BTreeSet<String> = match rule.workload_selector {
                None => rule.export_to.iter().map(|e| e.value.clone()).collect(),
                Some(_) => BTreeSet::from([".".to_owned()]),
            };
            let has = |e: &str| export_to.contains(e);
            if export_to.is_empty() || has("*") || has(".") || has(namespace) {
                index
                    .namespace_local
                    .entry(namespace.to_owned())
                    .or_default()
                    .merge(&host, rule, &export_to);
            }
            let private_only = (export_to.is_empty() && mesh.rules_private_by_default())
                || (export_to.len() == 1 && (has(".") || has(namespace)));
            if !private_only {
                index
                    .exported
                    .entry(namespace.to_owned())
                    .or_default()
                    .merge(&host, rule, &export_to);
            } else if namespace == root {
                index.root_local.merge(&host, rule, &export_to);
            }
        }
        index
    }

    pub(crate) fn mesh(&self) -> &'a MeshConfig {
        self.mesh
    }

    pub(crate) fn default_namespace(&self) -> &str {
        &self.default_namespace
    }

    /// The indexed rules, in input order.
    pub fn rules(&self) -> &'a [DestinationRule] {
        self.rules
    }

    /// Every entry that merges several rules, once each, in reading order of its oldest rule.
    pub fn merged(&self) -> Vec<&MergedRule<'a>> {
        let mut out: Vec<&MergedRule<'a>> = self
            .namespace_local
            .values()
            .chain(self.exported.values())
            .chain([&self.root_local])
            .flat_map(|i| i.specific.values().chain(i.wildcard.values()))
            .flatten()
            .filter(|e| e.from.len() > 1)
            .collect();
        // An entry of a namespace's own index and of its exported one can hold the same rules.
        out.sort_by_cached_key(|e| {
            e.from
                .iter()
                .map(|r| (Arc::clone(&r.origin.file), r.origin.pos))
                .collect::<Vec<_>>()
        });
        out.dedup_by(|a, b| {
            a.from.len() == b.from.len()
                && a.from
                    .iter()
                    .zip(&b.from)
                    .all(|(x, y)| std::ptr::eq(*x, *y))
        });
        out
    }

    /// Istio's `getExportedDestinationRuleFromNamespace`: the most specific match among the
    /// rules `owner` exports, kept only where exported to the client.
    fn exported_from(&self, owner: &str, fqdn: &str, client: &str) -> Vec<&MergedRule<'a>> {
        let Some((_, entries)) = self.exported.get(owner).and_then(|i| i.most_specific(fqdn))
        else {
            return Vec::new();
        };
        entries
            .iter()
            .filter(|e| {
                e.export_to.is_empty() || e.export_to.contains("*") || e.export_to.contains(client)
            })
            .collect()
    }

    /// Istio's `PushContext.destinationRule`: the entries that apply to the host for a client
    /// in `client`, and the step that found them.
    fn lookup(
        &self,
        client: &str,
        fqdn: &str,
        service_namespace: Option<&str>,
    ) -> Option<(LookupStep, Vec<&MergedRule<'a>>)> {
        let root = self.mesh.root_namespace();
        let local = if client == root {
            Some(&self.root_local)
        } else {
            self.namespace_local.get(client)
        };
        if let Some((_, entries)) = local.and_then(|i| i.most_specific(fqdn)) {
            let step = if client == root {
                LookupStep::RootNamespacePrivate(root.to_owned())
            } else {
                LookupStep::ClientNamespace(client.to_owned())
            };
            return Some((step, entries.iter().collect()));
        }
        if let Some(service) = service_namespace {
            let found = self.exported_from(service, fqdn, client);
            if !found.is_empty() {
                return Some((LookupStep::ServiceNamespace(service.to_owned()), found));
            }
        }
        let found = self.exported_from(root, fqdn, client);
        (!found.is_empty()).then(|| (LookupStep::RootNamespace(root.to_owned()), found))
    }

    /// Resolves `destination`: the rules that apply to its client, the effective policy with
    /// the provenance of each group, and every other rule for the host with why it was passed
    /// over.
    ///
    /// # Errors
    /// [`ErrorKind::NoMatchingRule`](crate::ErrorKind::NoMatchingRule) when no loaded rule is for the host at all and the mesh sets
    /// no default policy; [`ErrorKind::UnknownSubset`](crate::ErrorKind::UnknownSubset) when the subset is not defined by the rules
    /// that apply; [`ErrorKind::InvalidSetting`](crate::ErrorKind::InvalidSetting) when the host is not a host name (Istio's
    /// `ValidateFQDN`) or a namespace not a DNS-1123 label.
    pub fn resolve(&self, destination: &Destination) -> Result<Resolution<'a>, Error> {
        self.resolve_direction(destination, false)
    }

    /// [`MeshIndex::resolve`] for outbound traffic, or for the inbound cluster of the server
    /// workload `destination` describes (`inbound`): then workload-selector rules are skipped
    /// (`SidecarScope.DestinationRule` honours them for outbound only), no subset applies and
    /// a host without a rule takes the defaults instead of failing.
    pub(crate) fn resolve_direction(
        &self,
        destination: &Destination,
        inbound: bool,
    ) -> Result<Resolution<'a>, Error> {
        destination.check()?;
        let fqdn = destination.fqdn();
        let service = destination.service_fqdn();
        let client = destination.namespace.as_str();
        let service_namespace = destination.effective_service_namespace();
        // `buildOutboundClusters`: the rules of the service's cluster, looked up by its host.
        let lookup = self.lookup(client, &service, service_namespace.as_deref());
        let chosen = lookup.as_ref().and_then(|(_, entries)| {
            choose(
                entries,
                client,
                (!inbound).then_some(&destination.labels),
                &self.default_namespace,
            )
        });
        let mut hidden_by_selector = None;
        if let (Some((_, entries)), None, false) = (&lookup, chosen, inbound) {
            hidden_by_selector = entries.first().map(|e| e.first());
        }
        let matching: Vec<&DestinationRule> = self
            .rules
            .iter()
            .filter(|r| {
                let host = rule_fqdn(r, &self.default_namespace);
                host_matches(&host, &fqdn) || host_matches(&host, &service)
            })
            .collect();
        if matching.is_empty()
            && !inbound
            && self.mesh.default_connection_pool.is_none()
            && self.mesh.default_outlier_detection.is_none()
        {
            return Err(Error::no_matching_rule(fqdn, client));
        }
        let found = lookup.and_then(|(step, _)| {
            chosen.map(|rule| Found {
                step,
                rule: rule.clone(),
            })
        });
        let mut policy =
            EffectivePolicy::resolve(found.as_ref().map(|f| &f.rule), self.mesh, destination)?;
        policy.protocol = destination.protocol;
        let passed_over = matching
            .into_iter()
            .filter(|r| {
                !found
                    .as_ref()
                    .is_some_and(|f| f.rule.from.iter().any(|u| std::ptr::eq(*u, *r)))
            })
            .map(|rule| PassedOver {
                rule,
                reason: if inbound && rule.workload_selector.is_some() {
                    "it has a workload selector, which Istio honours for outbound traffic only (`SidecarScope.DestinationRule`)".into()
                } else {
                    self.why_passed_over(rule, found.as_ref(), hidden_by_selector, destination)
                },
            })
            .collect();
        Ok(Resolution {
            destination: Destination {
                host: fqdn,
                ..destination.clone()
            },
            found,
            hidden_by_selector,
            policy,
            passed_over,
        })
    }

    /// Why Istio does not use `rule` for this client, in Istio's terms.
    fn why_passed_over(
        &self,
        rule: &DestinationRule,
        found: Option<&Found<'_>>,
        hidden_by: Option<&DestinationRule>,
        destination: &Destination,
    ) -> String {
        let client = destination.namespace.as_str();
        let namespace = rule_namespace(rule, &self.default_namespace);
        let root = self.mesh.root_namespace();
        let service_host = destination.service_fqdn();
        if !host_matches(&rule_fqdn(rule, &self.default_namespace), &service_host) {
            return format!(
                "the requests for `{}` go to the cluster of the ServiceEntry host `{service_host}`, whose rules Istio looks up for that host, which a rule for one name under it does not match (`MostSpecificHostMatch`; Istio issue 19459)",
                destination.fqdn()
            );
        }
        let service = destination.effective_service_namespace();
        if let Some(selector) = &rule.workload_selector {
            return if namespace != client {
                format!(
                    "it has a workload selector, so it applies only to clients in its own namespace `{namespace}`"
                )
            } else if !selects(&selector.value, &destination.labels) {
                format!(
                    "its workload selector {} does not select the client's labels {}",
                    show_labels(&selector.value),
                    show_labels(&destination.labels)
                )
            } else {
                "another workload-selector rule for the same labels was merged first".into()
            };
        }
        if namespace != client && Some(namespace) != service.as_deref() && namespace != root {
            return format!(
                "a rule in namespace `{namespace}` is never used by a client in `{client}`: Istio looks in the client's namespace, the service's and the root namespace `{root}` only"
            );
        }
        let exported_to_client = rule.export_to.is_empty() && !self.mesh.rules_private_by_default()
            || rule.export_to.iter().any(|e| {
                e.value == "*" || e.value == client || (e.value == "." && namespace == client)
            });
        if !exported_to_client && namespace != client {
            return format!("it is not exported to `{client}`");
        }
        let Some(found) = found else {
            return match hidden_by {
                Some(selector_rule) => format!(
                    "{} of the client's namespace matches the host first and does not select this client, so Istio looks no further (Istio issue 57719)",
                    selector_rule.id()
                ),
                None => "Istio's lookup gives no rule to this client".into(),
            };
        };
        let step_namespace = match &found.step {
            LookupStep::ClientNamespace(ns)
            | LookupStep::RootNamespacePrivate(ns)
            | LookupStep::ServiceNamespace(ns)
            | LookupStep::RootNamespace(ns) => ns.as_str(),
        };
        let used = found.rule.first();
        if namespace != step_namespace {
            return format!("a rule in {} matched first", found.step);
        }
        let used_host = rule_fqdn(used, &self.default_namespace);
        let this_host = rule_fqdn(rule, &self.default_namespace);
        if used_host != this_host {
            return format!(
                "its host `{}` is less specific than `{}`",
                rule.host.value, used.host.value
            );
        }
        if used.workload_selector.is_some() {
            return format!(
                "the workload-selector rule {} selects this client and takes precedence",
                used.id()
            );
        }
        format!(
            "its `exportTo` differs from {}'s, so Istio keeps it as a separate entry and uses the last one, {}",
            rule.id(),
            used.id()
        )
    }
}

/// Istio's `SidecarScope.DestinationRule`: for outbound (`labels` given) a selector rule of the
/// client's namespace that selects the client, else (and always for inbound) the last entry
/// without a selector.
fn choose<'r, 'a>(
    entries: &[&'r MergedRule<'a>],
    client: &str,
    labels: Option<&BTreeMap<String, String>>,
    default_namespace: &str,
) -> Option<&'r MergedRule<'a>> {
    let mut catch_all = None;
    for entry in entries {
        match entry.selector() {
            None => catch_all = Some(*entry),
            Some(selector) => {
                if rule_namespace(entry.first(), default_namespace) == client
                    && labels.is_some_and(|labels| selects(selector, labels))
                {
                    return Some(entry);
                }
            }
        }
    }
    catch_all
}

/// Whether a rule host (fully qualified) covers `fqdn`.
fn host_matches(rule_host: &str, fqdn: &str) -> bool {
    rule_host == fqdn
        || rule_host
            .strip_prefix('*')
            .is_some_and(|suffix| fqdn.ends_with(suffix))
}

fn show_labels(labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", pairs.join(","))
}

/// Resolves `destination` against `rules` with Istio's default mesh; a rule without a
/// namespace lives in the client's. Build a [`MeshIndex`] to resolve many destinations or to
/// use a MeshConfig.
///
/// # Errors
/// As [`MeshIndex::resolve`].
pub fn resolve<'a>(
    rules: &'a [DestinationRule],
    destination: &Destination,
) -> Result<Resolution<'a>, Error> {
    static DEFAULT_MESH: std::sync::OnceLock<MeshConfig> = std::sync::OnceLock::new();
    MeshIndex::new(
        rules,
        DEFAULT_MESH.get_or_init(MeshConfig::default),
        &destination.namespace,
    )
    .resolve(destination)
}

/// The rules that apply to a destination, and where the lookup found them.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Found<'a> {
    /// The lookup step that found them.
    pub step: LookupStep,
    /// The rules, as Istio merged them.
    pub rule: MergedRule<'a>,
}

/// A rule for the host that Istio does not use for this client, and why.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PassedOver<'a> {
    /// The rule.
    pub rule: &'a DestinationRule,
    /// Why it was not used.
    pub reason: String,
}

/// The outcome of resolving a destination.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Resolution<'a> {
    /// The destination, host fully qualified.
    pub destination: Destination,
    /// The rules that apply; `None` when Istio gives none to this client (Istio's and the
    /// mesh's defaults apply).
    pub found: Option<Found<'a>>,
    /// A workload-selector rule of the client's namespace that matched the host but not the
    /// client, and so hid the rules of the other namespaces from it (Istio issue 57719).
    pub hidden_by_selector: Option<&'a DestinationRule>,
    /// The policy the sidecar applies.
    pub policy: EffectivePolicy<'a>,
    /// Rules for the host that were passed over.
    pub passed_over: Vec<PassedOver<'a>>,
}

impl<'a> Resolution<'a> {
    /// The rule that stands for the resolution: the one whose top-level policy applies, else
    /// the first merged one; `None` when no rule applies.
    pub fn rule(&self) -> Option<&'a DestinationRule> {
        let found = self.found.as_ref()?;
        Some(
            found
                .rule
                .policy_rule()
                .unwrap_or_else(|| found.rule.first()),
        )
    }

    /// Every rule that contributed, oldest first.
    pub fn rules(&self) -> &[&'a DestinationRule] {
        self.found.as_ref().map_or(&[], |f| f.rule.rules())
    }

    /// What each contributing rule gave, in Istio's terms: its top-level policy, its subsets,
    /// or a policy ignored because an older rule's wins.
    pub fn contributions(&self) -> Vec<(&'a DestinationRule, String)> {
        let Some(found) = &self.found else {
            return Vec::new();
        };
        let merged = &found.rule;
        merged
            .rules()
            .iter()
            .map(|&rule| {
                let mut parts = Vec::new();
                match merged.policy_rule() {
                    Some(p) if std::ptr::eq(p, rule) => parts.push("its trafficPolicy applies".to_owned()),
                    Some(p) if rule.traffic_policy.is_some() => parts.push(format!(
                        "its trafficPolicy is ignored: {} is older and sets one (Istio keeps the first rule's)",
                        p.id()
                    )),
                    _ => {}
                }
                let subsets: Vec<&str> = merged
                    .subsets
                    .iter()
                    .filter(|(_, by)| std::ptr::eq(*by, rule))
                    .map(|(s, _)| s.name.value.as_str())
                    .collect();
                if !subsets.is_empty() {
                    parts.push(format!("subsets {}", subsets.join(", ")));
                }
                let dropped: Vec<&str> = rule
                    .subsets
                    .iter()
                    .filter(|s| merged.subset(&s.name.value).is_some_and(|(_, by)| !std::ptr::eq(by, rule)))
                    .map(|s| s.name.value.as_str())
                    .collect();
                if !dropped.is_empty() {
                    parts.push(format!("subsets {} ignored: defined by an older rule", dropped.join(", ")));
                }
                if parts.is_empty() {
                    parts.push("merged, nothing of it applies".into());
                }
                (rule, parts.join("; "))
            })
            .collect()
    }

    /// One line naming the rules that apply (`prod/a (a.yaml:3)`, several joined by ` + `),
    /// or that none does.
    pub fn describe(&self) -> String {
        if self.found.is_none() {
            return "none: Istio's and the mesh's defaults apply".into();
        }
        self.rules()
            .iter()
            .map(|r| format!("{} ({}:{})", r.id(), r.origin.file, r.origin.pos.line))
            .collect::<Vec<_>>()
            .join(" + ")
    }
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
    /// MeshConfig's `defaultTrafficPolicy`.
    MeshDefault,
    /// A `Sidecar`'s `ingress[]` listener for the port: its `connectionPool` (inbound only).
    SidecarIngress(u32),
    /// A `Sidecar`'s `inboundConnectionPool` (inbound only).
    SidecarInbound,
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
            PolicySource::MeshDefault => f.write_str("MeshConfig defaultTrafficPolicy"),
            PolicySource::SidecarIngress(p) => {
                write!(f, "Sidecar ingress[port {p}].connectionPool")
            }
            PolicySource::SidecarInbound => f.write_str("Sidecar inboundConnectionPool"),
        }
    }
}

/// A policy group with where it was taken from.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Sourced<'a, T> {
    /// The group, as written.
    pub value: &'a T,
    /// Which part of the rule (or of MeshConfig) it comes from.
    pub source: PolicySource,
    /// The file it was read from.
    pub file: Arc<str>,
}

impl<T> Sourced<'_, T> {
    /// The location of a position inside the group.
    pub fn at(&self, pos: super::yaml::Pos) -> Location {
        Location::new(&self.file, pos)
    }
}

/// The policy the sidecar applies to a destination; a group that is `None` takes Istio's
/// defaults.
#[derive(Clone, Debug, PartialEq, Default)]
#[non_exhaustive]
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
    /// MeshConfig's settings that every cluster starts from.
    pub mesh: MeshDefaults<'a>,
    /// Whether this is the policy of an inbound cluster, which Istio never upgrades to HTTP/2
    /// (`applyTrafficPolicy` calls `applyH2Upgrade` for outbound only).
    pub(crate) inbound: bool,
    /// The protocol of the destination's port, when known ([`Destination::protocol`]).
    pub(crate) protocol: Option<Protocol>,
    /// The `connectionPool` of the rule's top-level `trafficPolicy`, whatever the port-level
    /// settings, the subset or MeshConfig's default say: a port proxied as TCP takes its
    /// `tcp_proxy`'s idle timeout and longest connection from it ([`Self::tcp_proxy_pool`]).
    pub(crate) top_level_pool: Option<Sourced<'a, ConnectionPool>>,
}

/// The MeshConfig settings a cluster starts from, with the file they were read from.
#[derive(Clone, Debug, PartialEq, Default)]
#[non_exhaustive]
pub struct MeshDefaults<'a> {
    /// `connectTimeout`.
    pub connect_timeout: Option<&'a Located<Duration>>,
    /// `tcpKeepalive`.
    pub tcp_keepalive: Option<&'a TcpKeepalive>,
    /// `h2UpgradePolicy`: `true` for `UPGRADE`.
    pub h2_upgrade: Option<&'a Located<bool>>,
    /// The MeshConfig file.
    pub file: Option<Arc<str>>,
}

/// The TCP keep-alive Envoy sets: MeshConfig's `tcpKeepalive`, each field the rule sets
/// overriding it (`cluster.go` `applyTCPKeepalive`).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Keepalive {
    /// `probes`, where set above 0, with where it was written.
    pub probes: Option<(u32, Location)>,
    /// `time`, with where it was written.
    pub time: Option<(Duration, Location)>,
    /// `interval`, with where it was written.
    pub interval: Option<(Duration, Location)>,
    /// Where the block that turned keep-alive on was written.
    pub at: Option<Location>,
}

impl<'a> EffectivePolicy<'a> {
    /// The four groups of a policy (or port-level entry), as they stand.
    pub(crate) fn groups(groups: &'a PolicyGroups, source: &PolicySource, file: &Arc<str>) -> Self {
        Self {
            connection_pool: sourced(groups.connection_pool.as_deref(), source, file),
            outlier_detection: sourced(groups.outlier_detection.as_deref(), source, file),
            load_balancer: sourced(groups.load_balancer.as_deref(), source, file),
            tls: sourced(groups.tls.as_deref(), source, file),
            ..Self::default()
        }
    }

    fn extras(mut self, policy: &'a TrafficPolicy, source: &PolicySource, file: &Arc<str>) -> Self {
        self.retry_budget = sourced(policy.retry_budget.as_ref(), source, file);
        self.tunnel = sourced(policy.tunnel.as_ref(), source, file);
        self.proxy_protocol = sourced(policy.proxy_protocol.as_ref(), source, file);
        self
    }

    /// Istio's `GetPortLevelTrafficPolicy` followed by the copy of the groups: the port-level
    /// entry for `port` if there is one (`true`), else the policy itself.
    fn of_policy(
        policy: &'a TrafficPolicy,
        port: Option<u32>,
        source: PolicySource,
        at_port: impl Fn(u32) -> PolicySource,
        file: &Arc<str>,
    ) -> (Self, bool) {
        let entry = port.and_then(|p| {
            policy
                .port_level_settings
                .iter()
                .find(|e| e.port.as_ref().is_some_and(|n| n.value == p))
                .map(|e| (e, p))
        });
        match entry {
            Some((entry, port)) => (Self::groups(&entry.groups, &at_port(port), file), true),
            None => (
                Self::groups(&policy.groups, &source, file).extras(policy, &source, file),
                false,
            ),
        }
    }

    /// Istio's `MergeTrafficPolicy`: the subset's groups replace the original's whole (all four
    /// when the subset's are a port-level entry).
    pub(crate) fn merge(mut self, subset: Self, subset_is_port_level: bool) -> Self {
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

    /// `applyDefaultTrafficPolicy`: MeshConfig's default `connectionPool` and
    /// `outlierDetection` fill the blocks the policy lacks, whole.
    fn with_mesh_defaults(mut self, mesh: &'a MeshConfig) -> Self {
        let file = mesh.file.clone().unwrap_or_else(|| Arc::from(""));
        if self.connection_pool.is_none() {
            self.connection_pool = sourced(
                mesh.default_connection_pool.as_ref(),
                &PolicySource::MeshDefault,
                &file,
            );
        }
        if self.outlier_detection.is_none() {
            self.outlier_detection = sourced(
                mesh.default_outlier_detection.as_ref(),
                &PolicySource::MeshDefault,
                &file,
            );
        }
        self.mesh = MeshDefaults {
            connect_timeout: mesh.connect_timeout.as_ref(),
            tcp_keepalive: mesh.tcp_keepalive.as_ref(),
            h2_upgrade: mesh.h2_upgrade.as_ref(),
            file: mesh.file.clone(),
        };
        self
    }

    /// The policy of `rule` (none: Istio's and the mesh's defaults) for the destination's
    /// port and subset, in the order of Istio's cluster builder (`applyDestinationRule`: port
    /// level, then the mesh defaults, then `buildSubsetCluster`'s subset merge).
    pub(crate) fn resolve(
        rule: Option<&MergedRule<'a>>,
        mesh: &'a MeshConfig,
        destination: &Destination,
    ) -> Result<Self, Error> {
        let port = destination.port;
        let top_rule = rule
            .and_then(|r| r.policy_rule())
            .and_then(|r| Some((r.traffic_policy.as_ref()?, r)));
        let mut top = top_rule
            .map(|(p, r)| {
                EffectivePolicy::of_policy(
                    p,
                    port,
                    PolicySource::TopLevel,
                    PolicySource::PortLevel,
                    &r.origin.file,
                )
                .0
            })
            .unwrap_or_default()
            .with_mesh_defaults(mesh);
        top.top_level_pool = top_rule.and_then(|(p, r)| {
            let pool = p.groups.connection_pool.as_deref();
            sourced(pool, &PolicySource::TopLevel, &r.origin.file)
        });
        let Some(subset_name) = &destination.subset else {
            return Ok(top);
        };
        let Some(rule) = rule else {
            return Err(Error::unknown_subset(
                subset_name,
                "(no rule applies)".into(),
                String::new(),
            ));
        };
        let (subset, defined_by) = rule.subset(subset_name).ok_or_else(|| {
            Error::unknown_subset(
                subset_name,
                rule.rules()
                    .iter()
                    .map(|r| r.id())
                    .collect::<Vec<_>>()
                    .join(" + "),
                rule.subset_names().join(", "),
            )
        })?;
        let Some(subset_policy) = &subset.traffic_policy else {
            return Ok(top);
        };
        let (from_subset, port_level) = EffectivePolicy::of_policy(
            subset_policy,
            port,
            PolicySource::Subset(subset_name.clone()),
            |p| PolicySource::SubsetPortLevel(subset_name.clone(), p),
            &defined_by.origin.file,
        );
        Ok(top.merge(from_subset, port_level))
    }

    /// The circuit-breaker thresholds of the effective pool.
    pub fn thresholds(&self) -> Thresholds {
        let pool = self.connection_pool.as_ref().map(|p| p.value);
        let tcp = pool.and_then(|p| p.tcp.as_ref());
        let http = pool.and_then(|p| p.http.as_ref());
        Thresholds {
            max_connections: threshold(tcp.and_then(|t| t.max_connections.as_ref())),
            max_pending_requests: threshold(
                http.and_then(|h| h.http1_max_pending_requests.as_ref()),
            ),
            max_requests: threshold(http.and_then(|h| h.http2_max_requests.as_ref())),
            max_retries: threshold(http.and_then(|h| h.max_retries.as_ref())),
        }
    }

    /// The connect timeout Envoy sets: the pool's `tcp.connectTimeout`, else MeshConfig's
    /// `connectTimeout`, else 10s; with where it was written.
    pub fn connect_timeout(&self) -> (Duration, Option<Location>) {
        let pool = self.connection_pool.as_ref();
        if let Some((t, p)) =
            pool.and_then(|p| Some((p.value.tcp.as_ref()?.connect_timeout.as_ref()?, p)))
        {
            return (t.value, Some(p.at(t.pos)));
        }
        match (self.mesh.connect_timeout, &self.mesh.file) {
            (Some(t), Some(file)) => (t.value, Some(Location::new(file, t.pos))),
            (Some(t), None) => (t.value, None),
            _ => (DEFAULT_CONNECT_TIMEOUT, None),
        }
    }

    /// The TCP keep-alive Envoy sets, `None` when neither MeshConfig nor the rule sets one.
    pub fn tcp_keepalive(&self) -> Option<Keepalive> {
        let mesh_file = self.mesh.file.clone().unwrap_or_else(|| Arc::from(""));
        let rule = self.connection_pool.as_ref().and_then(|p| {
            Some((
                p.value.tcp.as_ref()?.tcp_keepalive.as_ref()?,
                p.file.clone(),
            ))
        });
        let layers = [self.mesh.tcp_keepalive.map(|k| (k, mesh_file)), rule];
        let mut out: Option<Keepalive> = None;
        for (k, file) in layers.into_iter().flatten() {
            let at = |pos| Location::new(&file, pos);
            let keepalive = out.get_or_insert_with(Keepalive::default);
            keepalive.at = Some(at(k.pos));
            if let Some(p) = k.probes.as_ref().filter(|p| p.value > 0) {
                keepalive.probes = Some((u32::try_from(p.value).unwrap_or(u32::MAX), at(p.pos)));
            }
            if let Some(t) = &k.time {
                keepalive.time = Some((t.value, at(t.pos)));
            }
            if let Some(i) = &k.interval {
                keepalive.interval = Some((i.value, at(i.pos)));
            }
        }
        out
    }

    /// Whether the sidecar speaks HTTP/2 to the upstream of an HTTP/1.1 client, as Istio builds
    /// an outbound cluster (`buildCluster`'s `setUpstreamProtocol`, then `applyTrafficPolicy`'s
    /// `applyH2Upgrade` and `applyConnectionPool`): never for an inbound cluster; not with
    /// `useClientProtocol` (the client's protocol); on an HTTP/2 or gRPC port always; on a port
    /// whose protocol is sniffed (no name Istio knows) not, since the cluster takes the
    /// client's protocol before the policy is applied, and `setH2Options` keeps it; on a port
    /// proxied as TCP not (the client's bytes pass as they are); on an HTTP port, or one whose
    /// protocol is unknown, as `shouldH2Upgrade` says: yes with the pool's `UPGRADE`, no with
    /// `DO_NOT_UPGRADE`, else as MeshConfig's `h2UpgradePolicy` says.
    pub fn h2_upgrade(&self) -> bool {
        self.upstream().0
    }

    /// Whether the sidecar speaks HTTP/2 to the upstream ([`h2_upgrade`](Self::h2_upgrade)),
    /// and why, in words: always when it does; when it does not, only where an `UPGRADE` that
    /// was asked for does not apply.
    pub(crate) fn upstream(&self) -> (bool, Option<String>) {
        if self.inbound {
            return (false, None);
        }
        let http = self
            .connection_pool
            .as_ref()
            .and_then(|p| p.value.http.as_ref());
        let policy = http.and_then(|h| h.h2_upgrade_policy.as_ref());
        let asked = match policy.map(|p| p.value) {
            Some(H2UpgradePolicy::Upgrade) => Some("the rule's h2UpgradePolicy is UPGRADE"),
            Some(H2UpgradePolicy::DoNotUpgrade) => None,
            _ => (self.mesh.h2_upgrade.is_some_and(|u| u.value))
                .then_some("MeshConfig's h2UpgradePolicy is UPGRADE"),
        };
        let but = |why: String| (false, asked.map(|asked| format!("{asked}, but {why}")));
        if self.pool_uses_client_protocol() {
            return but("`useClientProtocol` keeps the client's protocol".into());
        }
        match self.protocol {
            Some(p) if p.is_http2() => (true, Some(format!("the port's protocol is {p}"))),
            Some(Protocol::Unsupported) => but(
                "the port declares no protocol, so the sidecar sniffs it and speaks the client's"
                    .into(),
            ),
            // `shouldH2Upgrade`: not an HTTP port (a TCP one's plan says more, a UDP one's not).
            Some(p) if !p.is_http() => {
                but(format!("the port's protocol is {p}, which is not HTTP"))
            }
            _ => (asked.is_some(), asked.map(str::to_owned)),
        }
    }

    /// Whether the sidecar proxies the destination's port as TCP, not HTTP: an outbound port
    /// whose protocol is known and neither HTTP nor sniffed (TCP, TLS, HTTPS, Mongo, Redis,
    /// MySQL; not UDP, which the sidecar does not proxy at all). Its listener is a `tcp_proxy`
    /// (networkfilter.go `buildOutboundNetworkFiltersWithSingleDestination`), which takes a connection only while
    /// the cluster's connections are below `maxConnections` and resets it otherwise; each
    /// client connection, idle or not, holds one upstream connection until it closes.
    pub(crate) fn proxies_tcp(&self) -> bool {
        !self.inbound
            && self.protocol.is_some_and(|p| {
                !p.is_http() && !matches!(p, Protocol::Unsupported | Protocol::Udp)
            })
    }

    /// The pool whose `tcp.idleTimeout` and `tcp.maxConnectionDuration` a port proxied as TCP
    /// gets on its `tcp_proxy` ([`Self::proxies_tcp`]): the rule's top-level one, as
    /// networkfilter.go `buildOutboundNetworkFiltersWithSingleDestination` reads
    /// `destinationRule.GetTrafficPolicy().GetConnectionPool().GetTcp()`, not the port-level
    /// or subset pool the cluster gets, nor MeshConfig's default.
    pub(crate) fn tcp_proxy_pool(&self) -> Option<&Sourced<'a, ConnectionPool>> {
        self.top_level_pool.as_ref()
    }

    /// Whether the cluster speaks to the upstream in the client's protocol
    /// (`use_downstream_protocol_config`): with the pool's `useClientProtocol`, or on a port
    /// whose protocol the sidecar sniffs (`setUpstreamProtocol`).
    pub(crate) fn uses_client_protocol(&self) -> bool {
        self.protocol == Some(Protocol::Unsupported) || self.pool_uses_client_protocol()
    }

    /// Whether the pool says `useClientProtocol: true`.
    fn pool_uses_client_protocol(&self) -> bool {
        let pool = self.connection_pool.as_ref();
        let http = pool.and_then(|p| p.value.http.as_ref());
        http.and_then(|h| h.use_client_protocol.as_ref())
            .is_some_and(|u| u.value)
    }
}

fn sourced<'a, T>(
    value: Option<&'a T>,
    source: &PolicySource,
    file: &Arc<str>,
) -> Option<Sourced<'a, T>> {
    value.map(|value| Sourced {
        value,
        source: source.clone(),
        file: Arc::clone(file),
    })
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
                .all(|f| f.severity < crate::diag::Severity::Error),
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
        assert_eq!(
            resolve(&rules, &at(None, "v9")).unwrap_err().kind(),
            crate::ErrorKind::UnknownSubset
        );
    }

    /// A destination that names no host is refused before the lookup, not reported as a host
    /// no rule applies to. The hosts of Istio's `TestValidateFQDN` (pkg/config/validation):
    /// its valid ones are looked up (no rule here), its invalid ones (256 characters, empty)
    /// refused; so are what users type by mistake (a port, a scheme, an address, an empty
    /// label) and namespaces that are no DNS-1123 label.
    /// Istio's `TestMostSpecificHostMatch` (pilot/pkg/model/config_test.go): rule hosts, the
    /// service host looked up, and the rule host found ("" none). A wildcard service host (a
    /// ServiceEntry's `*.foo.com`) matches wildcard rule hosts only.
    #[test]
    fn the_most_specific_host_matches_as_istio_matches_it() {
        let rule = &rules(&dr("r", "prod", "reviews", ""))[0];
        let cases: [(&[&str], &str, &str); 13] = [
            (&[], "*", ""),
            (&["*.foo.com", "*.com"], "bar.foo.com", "*.foo.com"),
            (&["*.foo.com", "*.com"], "foo.com", "*.com"),
            (&["foo.com", "*.com"], "*.foo.com", "*.com"),
            (&["*.foo.com", "foo.com"], "foo.com", "foo.com"),
            (&["*.foo.com", "foo.com"], "*.foo.com", "*.foo.com"),
            (&["bar.com", "foo.com"], "*.com", ""),
            (&["bar.com", "*.foo.com"], "*foo.com", ""),
            (&["foo.com", "*.foo.com"], "*foo.com", ""),
            (&["*.bar.com", "foo.bar.com"], "foo.bar.com", "foo.bar.com"),
            (
                &["*.foo.bar.com", "bar.foo.bar.com"],
                "bar.foo.bar.com",
                "bar.foo.bar.com",
            ),
            (&["bar.foo.com", "foo.bar.com"], "*.foo.com", ""),
            (&["foo.bar.foo.com", "bar.foo.bar.com"], "*.bar.foo.com", ""),
        ];
        for (hosts, needle, want) in cases {
            let mut index = HostIndex::default();
            for host in hosts {
                index.merge(host, rule, &BTreeSet::new());
            }
            let found = index.most_specific(needle).map(|(host, _)| host);
            assert_eq!(found.unwrap_or(""), want, "{hosts:?} {needle}");
        }
    }

    /// A host a wildcard ServiceEntry serves takes the rules of the wildcard's host: a rule for
    /// the name itself is passed over (Istio issue 19459, fixed by istio/istio#21857).
    #[test]
    fn a_wildcard_service_host_takes_the_rules_of_its_host() {
        let pool = |n: u32| {
            format!("  trafficPolicy: {{connectionPool: {{tcp: {{maxConnections: {n}}}}}}}\n")
        };
        let yaml = dr("api", "egress", "api.example.org", &pool(5))
            + &dr("domain", "egress", "'*.example.org'", &pool(40))
            + &dr("everything", "egress", "'*'", &pool(70));
        let rules = rules(&yaml);
        let to = Destination::new("api.example.org").service_namespace("egress");
        let found = |d: &Destination| {
            let resolution = resolve(&rules, d).unwrap();
            let name = resolution.rule().map(|r| r.name.value.clone());
            (name, max_connections(&resolution.policy))
        };
        assert_eq!(
            found(&to),
            (Some("api".into()), Some(5)),
            "the name's own service"
        );
        let served = to.clone().service_host("*.example.org");
        assert_eq!(found(&served), (Some("domain".into()), Some(40)));
        let resolution = resolve(&rules, &served).unwrap();
        let passed: Vec<(&str, &str)> = resolution
            .passed_over
            .iter()
            .map(|p| (p.rule.name.value.as_str(), p.reason.as_str()))
            .collect();
        assert_eq!(passed.len(), 2, "{passed:?}");
        assert!(
            passed[0].0 == "api" && passed[0].1.contains("Istio issue 19459"),
            "{passed:?}"
        );
        assert!(
            passed[1].0 == "everything" && passed[1].1.contains("less specific"),
            "{passed:?}"
        );
        // `*.org` is less specific than the service's own host; `*` still covers it.
        let served = to.service_host("*.org");
        assert_eq!(found(&served), (Some("everything".into()), Some(70)));
    }

    #[test]
    fn a_destination_that_names_no_host_is_an_invalid_setting() {
        let rules = rules(&dr("r", "prod", "reviews", ""));
        let kind = |d: &Destination| resolve(&rules, d).err().map(|e| e.kind());
        for host in [
            "istio.io",
            "istio.io.",
            "istio-pilot.istio-system.svc.cluster.local",
            "istio-pilot.istio-system.svc.cluster.local.",
            "Reviews",
        ] {
            let d = Destination::new(host);
            assert_eq!(kind(&d), Some(crate::ErrorKind::NoMatchingRule), "{host}");
        }
        let long = "x".repeat(256);
        for host in [
            long.as_str(),
            "",
            "reviews:9080",
            "http://reviews",
            "10.0.0.1",
            "reviews..prod",
            "*.prod.svc.cluster.local",
        ] {
            let d = Destination::new(host).namespace("prod");
            assert_eq!(kind(&d), Some(crate::ErrorKind::InvalidSetting), "{host}");
        }
        for namespace in ["", "a b", "-prod", "prod.svc", "Prod"] {
            let d = Destination::new("reviews").namespace(namespace);
            assert_eq!(
                kind(&d),
                Some(crate::ErrorKind::InvalidSetting),
                "{namespace:?}"
            );
        }
        let d = Destination::new("api.example.com").service_namespace("a_b");
        assert_eq!(kind(&d), Some(crate::ErrorKind::InvalidSetting));
        // A service host is the host or a wildcard that covers it (`ValidateWildcardDomain`).
        for service_host in ["*.example.org", "api.*.com", "*a.b", "other.example.com"] {
            let d = Destination::new("api.example.com").service_host(service_host);
            assert_eq!(
                kind(&d),
                Some(crate::ErrorKind::InvalidSetting),
                "{service_host}"
            );
        }
        for service_host in ["*.example.com", "*.com", "*", "api.example.com"] {
            let d = Destination::new("api.example.com").service_host(service_host);
            assert_eq!(
                kind(&d),
                Some(crate::ErrorKind::NoMatchingRule),
                "{service_host}"
            );
        }
        // Labels as Istio's `labels.Instance.Validate` takes them: the cases of
        // `TestInstanceValidate` (pkg/config/labels/instance_test.go), and a value with `=`.
        for (key, value, valid) in [
            ("^", "^", false),
            ("key", "value", true),
            ("key", "", true),
            ("k8s.io/key", "value", true),
            ("app.kubernetes.io/name", "value", true),
            ("", "value", false),
            (".key", "value", false),
            ("key_", "value", false),
            ("key$", "value", false),
            ("istio./key", "value", false),
            ("key", ".value", false),
            ("key", "value_", false),
            ("key", "value$", false),
            ("app", "a=b", false),
        ] {
            let d = Destination::new("reviews")
                .namespace("prod")
                .labels([(key, value)]);
            let expected = if valid {
                None
            } else {
                Some(crate::ErrorKind::InvalidSetting)
            };
            assert_eq!(kind(&d), expected, "{key}={value}");
        }
        let error = resolve(&rules, &Destination::new("reviews:9080").namespace("prod"))
            .err()
            .unwrap();
        assert!(
            error
                .to_string()
                .starts_with("the destination's host `reviews:9080` is not valid")
                && error
                    .help()
                    .unwrap()
                    .contains("without a scheme, port or path"),
            "{error}"
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

    #[test]
    fn timestamps_order_rules_before_names() {
        // `sortConfigBySelectorAndCreationTime`: the older rule's policy wins, whatever the
        // names and the file order say.
        let with_time = |name: &str, time: &str, max: u32| {
            format!(
                "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: {name}, namespace: prod, creationTimestamp: \"{time}\"}}\nspec:\n  host: reviews\n  trafficPolicy: {{connectionPool: {{tcp: {{maxConnections: {max}}}}}}}\n---\n"
            )
        };
        let yaml = with_time("a", "2024-05-01T10:00:01Z", 1)
            + &with_time("b", "2024-05-01T12:00:00+02:00", 2);
        let rules = rules(&yaml);
        let d = Destination {
            namespace: "prod".into(),
            ..Destination::new("reviews")
        };
        let r = resolve(&rules, &d).unwrap();
        assert_eq!(max_connections(&r.policy), Some(2), "b is 1 s older");
        assert_eq!(
            r.rules().iter().map(|r| r.id()).collect::<Vec<_>>(),
            ["prod/b", "prod/a"]
        );
    }

    #[test]
    fn timestamps_parse_as_rfc3339() {
        let t = |s| Timestamp::parse(s).map(|t| (t.seconds, t.nanos));
        assert_eq!(t("1970-01-01T00:00:00Z"), Some((0, 0)));
        // 2024-02-29 is day 19782 since the epoch (computed by hand: 54 years, 13 leap days
        // from 1972 to 2020, plus 59 days into 2024).
        assert_eq!(t("2024-02-29T00:00:01Z"), Some((19_782 * 86_400 + 1, 0)));
        assert_eq!(
            t("2024-02-29T01:00:01.25+01:00"),
            Some((19_782 * 86_400 + 1, 250_000_000))
        );
        for bad in [
            "2024-13-01T00:00:00Z",
            "2024-01-01",
            "2024-01-01T00:00:00",
            "yesterday",
        ] {
            assert_eq!(t(bad), None, "{bad}");
        }
    }

    use crate::istio::model::Timestamp;
}
