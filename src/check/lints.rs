//! The rule lints (`ST2xx`) and the findings that describe a resolution. Pure: no I/O.

use crate::diag::Pos;
use crate::diag::{Code, Finding, Location};
use crate::istio::inbound::{SidecarStep, select_sidecar};
use crate::istio::load::Loaded;
use crate::istio::model::{
    ConnectionPool, DestinationRule, H2UpgradePolicy, PolicyGroups, Sidecar, TrafficPolicy,
};
use crate::istio::model::{Located, Origin, ServicePort, namespace_or};
use crate::istio::resolve::{
    CLUSTER_DOMAIN, Destination, EffectivePolicy, MergedRule, MeshIndex, PolicySource, Resolution,
};
use crate::istio::scope;
use crate::istio::yaml::parallel_map;

/// Rules linted by one thread at a time; a mesh of fewer is linted without a thread.
const RULES_PER_PART: usize = 512;

/// The lints of every indexed rule, and of rules Istio merges with each other.
pub fn lint_rules(index: &MeshIndex<'_>) -> Vec<Finding> {
    // Each rule's lints are its own: a large mesh is linted in parts on all cores, in order.
    let parts: Vec<&[DestinationRule]> = index.rules().chunks(RULES_PER_PART).collect();
    let mut findings: Vec<Finding> = parallel_map(&parts, |part| {
        let mut findings = Vec::new();
        for rule in *part {
            RuleLint {
                rule,
                findings: &mut findings,
            }
            .rule();
        }
        findings
    })
    .into_iter()
    .flatten()
    .collect();
    for merged in index.merged() {
        merged_rules(merged, &mut findings);
    }
    findings
}

struct RuleLint<'a> {
    rule: &'a DestinationRule,
    findings: &'a mut Vec<Finding>,
}

impl RuleLint<'_> {
    fn at(&self, pos: Pos) -> Location {
        Location::new(&self.rule.origin.file, pos)
    }

    fn push(&mut self, code: Code, pos: Pos, message: String, help: &str) {
        let finding = Finding::new(code, self.at(pos), message).help(help);
        self.findings.push(finding);
    }

    fn rule(&mut self) {
        let top = self.rule.traffic_policy.as_ref();
        if let Some(top) = top {
            self.policy(top, None);
        }
        for subset in &self.rule.subsets {
            if let Some(policy) = &subset.traffic_policy {
                self.policy(policy, top);
            }
        }
    }

    /// Lints one traffic policy; `parent` is the top-level policy when `policy` is a subset's.
    fn policy(&mut self, policy: &TrafficPolicy, parent: Option<&TrafficPolicy>) {
        self.groups(&policy.groups);
        if let Some(parent) = parent {
            self.dropped_within_pool(
                parent.groups.connection_pool.as_deref(),
                &policy.groups,
                "the subset's `connectionPool`",
            );
        }
        // What a port-level entry of this policy replaces: the subset's groups over the top
        // level's, as Istio's cluster builder merges them (`EffectivePolicy`, one rule).
        let file = &self.rule.origin.file;
        let own = EffectivePolicy::groups(&policy.groups, &PolicySource::TopLevel, file);
        let inherited = match parent {
            Some(parent) => EffectivePolicy::groups(&parent.groups, &PolicySource::TopLevel, file)
                .merge(own, false),
            None => own,
        };
        for entry in &policy.port_level_settings {
            self.groups(&entry.groups);
            let port = entry
                .port
                .as_ref()
                .map_or_else(|| "?".to_owned(), |p| p.value.to_string());
            let what = format!("the port {port} settings");
            for (name, above, here) in [
                (
                    "connectionPool",
                    inherited.connection_pool.as_ref().map(|g| g.value.pos),
                    entry.groups.connection_pool.is_some(),
                ),
                (
                    "outlierDetection",
                    inherited.outlier_detection.as_ref().map(|g| g.value.pos),
                    entry.groups.outlier_detection.is_some(),
                ),
            ] {
                if let (Some(above), false) = (above, here) {
                    let finding = Finding::new(
                        Code::PolicyDropsLimit,
                        self.at(entry.pos),
                        format!("{what} drop the `{name}` set above: port {port} falls back to Istio's defaults for it"),
                    )
                    .help(format!("repeat the `{name}` block inside this portLevelSettings entry"))
                    .label(self.at(above), format!("`{name}` set here does not apply to port {port}"));
                    self.findings.push(finding);
                }
            }
            self.dropped_within_pool(
                inherited.connection_pool.as_ref().map(|p| p.value),
                &entry.groups,
                &format!("the `connectionPool` of {what}"),
            );
        }
    }

    /// A replacing `connectionPool` drops every field of the pool above that it does not restate.
    fn dropped_within_pool(
        &mut self,
        above: Option<&ConnectionPool>,
        here: &PolicyGroups,
        what: &str,
    ) {
        let (Some(above), Some(here)) = (above, &here.connection_pool) else {
            return;
        };
        let kept: Vec<&str> = pool_fields(here)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        let dropped: Vec<(&str, Pos)> = pool_fields(above)
            .into_iter()
            .filter(|(name, _)| !kept.contains(name))
            .collect();
        let Some((_, first)) = dropped.first() else {
            return;
        };
        let mut message = format!("{what} replaces the pool above whole and drops ");
        for (i, (name, _)) in dropped.iter().enumerate() {
            if i > 0 {
                message.push_str(", ");
            }
            message.push('`');
            message.push_str(name);
            message.push('`');
        }
        let finding = Finding::new(Code::PolicyDropsLimit, self.at(here.pos), message)
            .help("restate those fields here; Istio never merges a group field by field")
            .label(
                self.at(*first),
                "set here, not applied under the replacing pool",
            );
        self.findings.push(finding);
    }

    fn groups(&mut self, groups: &PolicyGroups) {
        if let Some(pool) = &groups.connection_pool {
            self.pool(pool);
        }
        // Above 100 the value is out of range (ST103, Istio rejects it): no lint on top.
        if let Some(outlier) = &groups.outlier_detection
            && let Some(max) = outlier
                .max_ejection_percent
                .as_ref()
                .filter(|m| m.value == 100)
        {
            self.push(
                Code::OutlierCanEjectAll,
                max.pos,
                "maxEjectionPercent 100 lets outlier detection eject every host".to_owned(),
                "keep some hosts in rotation: `maxEjectionPercent: 50`",
            );
        }
        if let Some(mode) = groups.tls.as_ref().and_then(|t| t.mode.as_ref())
            && mode.value == "DISABLE"
            && is_mesh_host(&self.rule.host.value)
        {
            self.push(
                Code::TlsDisabled,
                mode.pos,
                format!("TLS is disabled for mesh host `{}`", self.rule.host.value),
                "use `mode: ISTIO_MUTUAL`, or leave `tls` out for automatic mutual TLS",
            );
        }
    }

    fn pool(&mut self, pool: &ConnectionPool) {
        let http = pool.http.as_ref();
        let pending = http
            .and_then(|h| h.http1_max_pending_requests.as_ref())
            .filter(|p| p.value > 0);
        let connections = pool
            .tcp
            .as_ref()
            .and_then(|t| t.max_connections.as_ref())
            .filter(|n| n.value > 0);
        if let (Some(pending), None) = (pending, connections) {
            self.push(
                Code::PendingWithoutConnectionLimit,
                pending.pos,
                format!("http1MaxPendingRequests {} is set but maxConnections is unlimited", pending.value),
                "bound `tcp.maxConnections` too; without it Envoy opens connections instead of queueing",
            );
        }
        if let Some(per_conn) = http
            .and_then(|h| h.max_requests_per_connection.as_ref())
            .filter(|m| m.value == 1)
        {
            self.push(
                Code::UpstreamKeepAliveDisabled,
                per_conn.pos,
                "maxRequestsPerConnection 1 opens a new upstream connection for every request"
                    .into(),
                "leave it unset, or allow many requests per connection (e.g. 1000)",
            );
        }
        let upgrade = http
            .and_then(|h| h.h2_upgrade_policy.as_ref())
            .filter(|u| u.value == H2UpgradePolicy::Upgrade);
        if let (Some(upgrade), Some(pending)) = (upgrade, pending) {
            let finding = Finding::new(
                Code::H2UpgradeWithHttp1Limits,
                self.at(upgrade.pos),
                "h2UpgradePolicy UPGRADE makes http1MaxPendingRequests a poor description of the sidecar's admission".to_owned(),
            )
            .help("bound `http2MaxRequests` for an HTTP/2 upstream, or do not upgrade")
            .label(self.at(pending.pos), "HTTP/1 pending limit");
            self.findings.push(finding);
        }
    }
}

/// What applies to a subset away from its port-level entries: each group it sets replaces the
/// parent's.
fn located_pos<T>(value: &Option<crate::istio::Located<T>>) -> Option<Pos> {
    value.as_ref().map(|v| v.pos)
}

/// The fields a connection pool sets, by their path inside the pool, with their positions.
fn pool_fields(pool: &ConnectionPool) -> Vec<(&'static str, Pos)> {
    let mut fields = Vec::new();
    let mut add = |name, pos: Option<Pos>| fields.extend(pos.map(|p| (name, p)));
    if let Some(t) = &pool.tcp {
        add("tcp.maxConnections", located_pos(&t.max_connections));
        add("tcp.connectTimeout", located_pos(&t.connect_timeout));
        add("tcp.tcpKeepalive", t.tcp_keepalive.as_ref().map(|k| k.pos));
        add(
            "tcp.maxConnectionDuration",
            located_pos(&t.max_connection_duration),
        );
        add("tcp.idleTimeout", located_pos(&t.idle_timeout));
    }
    if let Some(h) = &pool.http {
        add(
            "http.http1MaxPendingRequests",
            located_pos(&h.http1_max_pending_requests),
        );
        add("http.http2MaxRequests", located_pos(&h.http2_max_requests));
        add(
            "http.maxRequestsPerConnection",
            located_pos(&h.max_requests_per_connection),
        );
        add("http.maxRetries", located_pos(&h.max_retries));
        add("http.idleTimeout", located_pos(&h.idle_timeout));
        add("http.h2UpgradePolicy", located_pos(&h.h2_upgrade_policy));
        add(
            "http.useClientProtocol",
            located_pos(&h.use_client_protocol),
        );
        add(
            "http.maxConcurrentStreams",
            located_pos(&h.max_concurrent_streams),
        );
        add("http.http2KeepAlive", located_pos(&h.http2_keep_alive));
    }
    fields
}

/// A host inside the cluster: a short name, or one under the cluster domain.
fn is_mesh_host(host: &str) -> bool {
    !host.contains('.') || host.trim_end_matches('.').ends_with(CLUSTER_DOMAIN)
}

/// ST206: what Istio's merge of several rules for one host ignores (`mergeDestinationRule`):
/// the top-level `trafficPolicy` of every rule but the oldest that has one, and subsets whose
/// name an older rule took.
fn merged_rules(merged: &MergedRule<'_>, findings: &mut Vec<Finding>) {
    let Some(winner) = merged.policy_rule() else {
        return;
    };
    let at = |rule: &DestinationRule, pos| Location::new(&rule.origin.file, pos);
    for &rule in merged.rules() {
        if let Some(policy) = rule
            .traffic_policy
            .as_ref()
            .filter(|_| !std::ptr::eq(rule, winner))
        {
            findings.push(
                Finding::new(
                    Code::ConflictingRules,
                    at(rule, policy.pos),
                    format!(
                        "Istio merges {} into {} for host `{}` and ignores this trafficPolicy: the older rule's applies",
                        rule.id(),
                        winner.id(),
                        rule.host.value
                    ),
                )
                .help("move the settings into one rule; a merged rule adds only its subsets")
                .label(at(winner, winner.host.pos), "the older rule, whose trafficPolicy applies"),
            );
        }
        for subset in &rule.subsets {
            if let Some((_, first)) = merged
                .subset(&subset.name.value)
                .filter(|(_, by)| !std::ptr::eq(*by, rule))
            {
                findings.push(
                    Finding::new(
                        Code::ConflictingRules,
                        at(rule, subset.name.pos),
                        format!(
                            "subset `{}` of {} is ignored: {} defines it first for host `{}`",
                            subset.name.value,
                            rule.id(),
                            first.id(),
                            rule.host.value
                        ),
                    )
                    .help("rename the subset, or define it in one rule only")
                    .label(at(first, first.host.pos), "the rule whose subset applies"),
                );
            }
        }
    }
}

/// ST215 when the destination's client has no cluster for its host in its own sidecar
/// (Istio's `SidecarScope`): the host's Kubernetes Service (or ServiceEntries) in `loaded` is
/// not exported to the client's namespace or has no such port, or the `Sidecar` that applies
/// to the client (`doGetSidecarScope`) does not import it. No rule of `index` then applies to
/// the client's requests.
///
/// ```
/// use sidecar_tuner::check::scope_findings;
/// use sidecar_tuner::istio::MeshConfig;
/// use sidecar_tuner::istio::load::{LoadOptions, load_str};
/// use sidecar_tuner::istio::resolve::{Destination, MeshIndex};
///
/// let yaml = r#"
/// apiVersion: networking.istio.io/v1
/// kind: Sidecar
/// metadata: {name: default, namespace: web}
/// spec:
///   egress:
///   - hosts: ["./*", "istio-system/*"]
/// "#;
/// let loaded = load_str(yaml, &"in.yaml".into(), &LoadOptions::default());
/// let mesh = MeshConfig::default();
/// let index = MeshIndex::new(&loaded.rules, &mesh, "web");
/// let own = Destination::new("cart").namespace("web");
/// assert!(scope_findings(&index, &loaded, &own).is_empty());
/// let other = Destination::new("reviews.bookinfo.svc.cluster.local").namespace("web");
/// let findings = scope_findings(&index, &loaded, &other);
/// assert_eq!(findings[0].code.as_str(), "ST215");
/// ```
pub fn scope_findings(
    index: &MeshIndex<'_>,
    loaded: &Loaded,
    destination: &Destination,
) -> Vec<Finding> {
    let mesh = index.mesh();
    let sidecar = select_sidecar(
        &loaded.sidecars,
        &destination.namespace,
        &destination.labels,
        mesh.root_namespace(),
        index.default_namespace(),
    );
    let routes = scope::Routes {
        virtual_services: &loaded.virtual_services,
        mesh,
        default_namespace: index.default_namespace(),
    };
    let definitions = definitions(loaded, index.default_namespace(), destination);
    let visible = visible(&definitions, index, destination);
    let unreachable = hidden_service(index, &definitions, &visible, destination)
        .or_else(|| missing_port(&visible, destination))
        .or_else(|| {
            let (sidecar, step) = sidecar.as_ref()?;
            not_imported(sidecar, step, routes, destination)
        });
    let Some(mut finding) = unreachable else {
        return Vec::new();
    };
    // Where the requests go instead: the Sidecar's mode, else MeshConfig's
    // (`initSidecarScopeInternalIndexes`).
    let sidecar = sidecar.map(|(s, _)| s);
    let mode = sidecar
        .and_then(|s| Some((s.registry_only.as_ref()?, Some(&s.origin.file))))
        .or_else(|| Some((mesh.registry_only.as_ref()?, mesh.file.as_ref())));
    let egress_proxy = sidecar.and_then(|s| s.egress_proxy.as_ref());
    finding.message += &if mode.is_some_and(|(m, _)| m.value) {
        ": the sidecar answers its requests 502 (BlackHoleCluster: outboundTrafficPolicy REGISTRY_ONLY)".to_owned()
    } else if let Some(proxy) = egress_proxy {
        // `httproute.go`: ALLOW_ANY with an egress proxy routes to the proxy's cluster.
        format!(
            ": its requests go to the Sidecar's egressProxy `{}` (outboundTrafficPolicy ALLOW_ANY), whose own cluster and rule apply",
            proxy.value
        )
    } else {
        let limit = if mesh.default_connection_pool.is_some() {
            ", only MeshConfig's defaultTrafficPolicy connectionPool, shared by all the traffic it carries"
        } else {
            " and nothing limits them (MeshConfig sets no defaultTrafficPolicy connectionPool)"
        };
        format!(
            ": its requests leave through PassthroughCluster (outboundTrafficPolicy ALLOW_ANY), where no DestinationRule applies{limit}"
        )
    };
    if let Some((mode, Some(file))) = mode {
        finding = finding.label(
            Location::new(file, mode.pos),
            "the outbound traffic policy that applies",
        );
    }
    vec![finding]
}

/// What defines a host: a Kubernetes Service or a ServiceEntry, with its ports and visibility.
struct Definition<'a> {
    kind: &'static str,
    namespace: &'a str,
    name: &'a str,
    /// Its ports; none when the input gives none.
    ports: &'a [ServicePort],
    /// Where its ports are written, else where it is.
    ports_at: Pos,
    export_to: Option<&'a Located<Vec<String>>>,
    origin: &'a Origin,
    /// Where its visibility is set, for the fix.
    setting: &'static str,
}

/// The Kubernetes Services and ServiceEntries in `loaded` that define the host of the service
/// behind the destination's host.
fn definitions<'a>(
    loaded: &'a Loaded,
    default_namespace: &'a str,
    destination: &Destination,
) -> Vec<Definition<'a>> {
    let fqdn = destination.service_fqdn();
    let services = loaded
        .services
        .iter()
        .filter(|s| s.fqdn(default_namespace) == fqdn)
        .map(|s| Definition {
            kind: "Service",
            namespace: s.namespace_or(default_namespace),
            name: &s.name.value,
            ports: &s.ports,
            ports_at: s.ports.first().map_or(s.origin.pos, |p| p.number.pos),
            export_to: s.export_to.as_ref(),
            origin: &s.origin,
            setting: "the Service's annotation `networking.istio.io/exportTo`",
        });
    let entries = loaded
        .service_entries
        .iter()
        .filter(|e| e.hosts.contains(&fqdn))
        .map(|e| Definition {
            kind: "ServiceEntry",
            namespace: namespace_or(e.namespace.as_ref(), default_namespace),
            name: &e.name.value,
            ports: &e.ports,
            ports_at: e.origin.pos,
            export_to: e.export_to.as_ref(),
            origin: &e.origin,
            setting: "the ServiceEntry's `exportTo`",
        });
    services.chain(entries).collect()
}

/// The definitions of the destination's service host that are exported to its client.
fn visible<'d, 'a>(
    definitions: &'d [Definition<'a>],
    index: &MeshIndex<'_>,
    destination: &Destination,
) -> Vec<&'d Definition<'a>> {
    definitions
        .iter()
        .filter(|d| {
            let export_to = d.export_to.map(|l| l.value.as_slice());
            scope::exported_to(export_to, d.namespace, index.mesh(), &destination.namespace)
        })
        .collect()
}

/// ST215 when the Kubernetes Service or the ServiceEntries that define the destination's host
/// and are exported to its client (`visible`) have ports, none the destination's: Istio builds
/// a cluster per port of a service (`buildOutboundClusters`), and the sidecar's listeners and
/// routes are per port. Its message says why, not yet where the requests go.
fn missing_port(visible: &[&Definition<'_>], destination: &Destination) -> Option<Finding> {
    let port = destination.port?;
    let first = visible.first()?;
    if visible
        .iter()
        .any(|d| scope::serves_on(d.ports, Some(port)))
    {
        return None;
    }
    let ports: Vec<String> = first
        .ports
        .iter()
        .map(|p| p.number.value.to_string())
        .collect();
    let finding = Finding::new(
        Code::HostNotImported,
        Location::new(&first.origin.file, first.ports_at),
        format!(
            "the {} {}/{} has no port {port} (its ports: {}), so the client's sidecar has no cluster for `{}:{port}`",
            first.kind,
            first.namespace,
            first.name,
            ports.join(", "),
            destination.service_fqdn()
        ),
    )
    .help(format!(
        "call one of the {kind}'s ports (a container's `targetPort` is not one), or add {port} to them",
        kind = first.kind
    ));
    Some(finding)
}

/// ST215 when the Kubernetes Service or the ServiceEntries that define the destination's host
/// (`definitions`) are none of them exported to the client's namespace (`visible` is empty);
/// its message says why, not yet where the requests go.
fn hidden_service(
    index: &MeshIndex<'_>,
    definitions: &[Definition<'_>],
    visible: &[&Definition<'_>],
    destination: &Destination,
) -> Option<Finding> {
    let mesh = index.mesh();
    let client = destination.namespace.as_str();
    let fqdn = destination.service_fqdn();
    if !visible.is_empty() {
        return None;
    }
    let hidden = definitions.first()?;
    let (at, export_to) = match hidden.export_to {
        Some(list) => (
            list.pos,
            format!("its exportTo is `{}`", list.value.join(",")),
        ),
        None => {
            let default: Vec<&str> = mesh
                .default_service_export_to
                .iter()
                .map(|e| e.value.as_str())
                .collect();
            (
                hidden.origin.pos,
                format!(
                    "MeshConfig's defaultServiceExportTo is `{}`",
                    default.join(",")
                ),
            )
        }
    };
    let finding = Finding::new(
        Code::HostNotImported,
        Location::new(&hidden.origin.file, at),
        format!(
            "the {} {}/{} is not exported to `{client}` ({export_to}), so the client's sidecar has no cluster for `{fqdn}`",
            hidden.kind, hidden.namespace, hidden.name
        ),
    )
    .help(format!("add `{client}` (or `*`) to {}", hidden.setting));
    Some(finding)
}

/// ST215 when `sidecar`, applying to the destination's client for `step`, does not import the
/// destination's host, by its egress hosts or a VirtualService's `routes`; its message says
/// why, not yet where the requests go.
fn not_imported(
    sidecar: &Sidecar,
    step: &SidecarStep,
    routes: scope::Routes<'_>,
    destination: &Destination,
) -> Option<Finding> {
    let fqdn = destination.service_fqdn();
    let service_namespace = destination.effective_service_namespace();
    let port = destination.port;
    if scope::imports(
        sidecar,
        &destination.namespace,
        routes,
        &fqdn,
        service_namespace.as_deref(),
        port,
    ) {
        return None;
    }
    let on_port = port.map(|p| format!(" on port {p}")).unwrap_or_default();
    let serving = match destination.fqdn() {
        host if host != fqdn => format!(" (the ServiceEntry host that serves `{host}`)"),
        _ => String::new(),
    };
    let at = sidecar.egress.first().map_or(sidecar.origin.pos, |e| e.pos);
    let namespace = service_namespace.as_deref().unwrap_or("NAMESPACE");
    let finding = Finding::new(
        Code::HostNotImported,
        Location::new(&sidecar.origin.file, at),
        format!(
            "the Sidecar {} of this client does not import `{fqdn}`{serving}{on_port}, so its sidecar has no cluster for it",
            sidecar.id()
        ),
    )
    .label(
        Location::new(&sidecar.origin.file, sidecar.origin.pos),
        format!("{} applies to the client: {step}", sidecar.id()),
    )
    .help(format!(
        "add `{namespace}/{fqdn}` (or `{namespace}/*`) to an egress listener's `hosts` (or route to it from a VirtualService that a listener imports)"
    ));
    Some(finding)
}

/// Findings that describe how a destination resolved: the rules used and those passed over
/// (ST208), no rule for this client (ST209), a selector rule that hides the others (ST213),
/// port-level policies left aside (ST212), and groups left to defaults (ST210).
pub fn resolution_findings(resolution: &Resolution<'_>) -> Vec<Finding> {
    let destination = &resolution.destination;
    let host_at = |rule: &DestinationRule| Location::new(&rule.origin.file, rule.host.pos);
    let mut findings = Vec::new();
    let passed = |mut finding: Finding| {
        for p in &resolution.passed_over {
            finding = finding.label(
                host_at(p.rule),
                format!("{} passed over: {}", p.rule.id(), p.reason),
            );
        }
        finding
    };
    let Some(rule) = resolution.rule() else {
        if let Some(at) = resolution
            .hidden_by_selector
            .or_else(|| resolution.passed_over.first().map(|p| p.rule))
        {
            findings.push(passed(
                Finding::new(
                    Code::NoMatchingRule,
                    host_at(at),
                    format!(
                        "no DestinationRule applies to `{}` from namespace `{}`: the sidecar uses Istio's and the mesh's defaults",
                        destination.host, destination.namespace
                    ),
                )
                .help("see why each rule was passed over; export the rule to the client's namespace or give the client a rule"),
            ));
        }
        if let Some(selector_rule) = resolution.hidden_by_selector {
            findings.push(
                Finding::new(
                    Code::RuleHiddenBySelector,
                    host_at(selector_rule),
                    format!(
                        "{} has a workload selector that does not select this client, yet it hides every rule of other namespaces for `{}` from the clients of `{}`",
                        selector_rule.id(),
                        destination.host,
                        destination.namespace
                    ),
                )
                .help("add a rule without selector for this host in the client's namespace (Istio issue 57719)"),
            );
        }
        return findings;
    };
    let found = resolution
        .found
        .as_ref()
        .map(|f| f.step.to_string())
        .unwrap_or_default();
    let mut used = Finding::new(
        Code::RuleResolution,
        host_at(rule),
        format!(
            "{destination} resolves to DestinationRule {}, found in {found}",
            resolution.describe()
        ),
    );
    for (contributor, what) in resolution.contributions() {
        if !std::ptr::eq(contributor, rule) {
            used = used.label(
                host_at(contributor),
                format!("{} merged: {what}", contributor.id()),
            );
        }
    }
    findings.push(passed(used));
    if destination.port.is_none() {
        let subset = destination
            .subset
            .as_deref()
            .and_then(|s| resolution.found.as_ref()?.rule.subset(s))
            .and_then(|(s, _)| s.traffic_policy.as_ref());
        for policy in [rule.traffic_policy.as_ref(), subset].into_iter().flatten() {
            let ports: Vec<String> = policy
                .port_level_settings
                .iter()
                .filter_map(|e| e.port.as_ref().map(|p| p.value.to_string()))
                .collect();
            if let Some(first) = policy.port_level_settings.first() {
                findings.push(
                    Finding::new(
                        Code::PortPolicyNotSelected,
                        Location::new(&rule.origin.file, first.pos),
                        format!(
                            "{} {} {} its own policy, and no port was given: the plan uses the policy for the other ports",
                            if ports.len() == 1 { "port" } else { "ports" },
                            ports.join(", "),
                            if ports.len() == 1 { "has" } else { "have" },
                        ),
                    )
                    .help("name the port the client calls (`--port`, `Tuner::port`): Istio builds one cluster per service port"),
                );
            }
        }
    }
    let policy_pos = rule
        .traffic_policy
        .as_ref()
        .map_or(rule.host.pos, |p| p.pos);
    for (group, missing) in [
        (
            "connectionPool",
            resolution.policy.connection_pool.is_none(),
        ),
        (
            "outlierDetection",
            resolution.policy.outlier_detection.is_none(),
        ),
    ] {
        if missing {
            findings.push(
                Finding::new(
                    Code::MeshDefaultApplies,
                    Location::new(&rule.origin.file, policy_pos),
                    format!("no `{group}` applies to {destination}: Istio's defaults apply"),
                )
                .help("the mesh sets no `defaultTrafficPolicy` for it either; set the group in the rule to be explicit"),
            );
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::istio::load::{LoadOptions, load_str};

    fn lint(spec: &str) -> Vec<Finding> {
        let yaml = format!(
            "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: r, namespace: prod}}\nspec:\n  host: reviews\n{spec}"
        );
        let loaded = load_str(
            &yaml,
            &std::sync::Arc::from("t.yaml"),
            &LoadOptions::default(),
        );
        assert!(loaded.findings.is_empty(), "{:?}", loaded.findings);
        let mesh = crate::istio::MeshConfig::default();
        lint_rules(&MeshIndex::new(&loaded.rules, &mesh, "default"))
    }

    fn codes(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.code.as_str()).collect()
    }

    #[test]
    fn pool_lints() {
        let f = lint(
            "  trafficPolicy:\n    connectionPool:\n      http: {http1MaxPendingRequests: 10, maxRequestsPerConnection: 1, h2UpgradePolicy: UPGRADE}\n    outlierDetection: {maxEjectionPercent: 100}\n    tls: {mode: DISABLE}\n",
        );
        assert_eq!(codes(&f), ["ST201", "ST202", "ST204", "ST203", "ST207"]);
        assert_eq!(f[0].location.pos, Pos::new(8, 39));
    }

    /// A quoted limit is an error (ST102) and read as the number meant: not also an unlimited
    /// pool (ST201), as it was when the model dropped it.
    #[test]
    fn a_quoted_limit_is_no_unset_one() {
        let yaml = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r, namespace: prod}\nspec:\n  host: reviews\n  trafficPolicy:\n    connectionPool:\n      tcp: {maxConnections: \"10\"}\n      http: {http1MaxPendingRequests: 5}\n";
        let loaded = load_str(
            yaml,
            &std::sync::Arc::from("t.yaml"),
            &LoadOptions::default(),
        );
        assert_eq!(codes(&loaded.findings), ["ST102"]);
        let mesh = crate::istio::MeshConfig::default();
        let f = lint_rules(&MeshIndex::new(&loaded.rules, &mesh, "default"));
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn dropped_limits() {
        let f = lint(
            "  trafficPolicy:\n    connectionPool:\n      tcp: {maxConnections: 100}\n    outlierDetection: {consecutive5xxErrors: 5}\n    portLevelSettings:\n    - port: {number: 8080}\n      connectionPool:\n        http: {http1MaxPendingRequests: 10}\n  subsets:\n  - name: v1\n    trafficPolicy:\n      connectionPool:\n        http: {http2MaxRequests: 10}\n",
        );
        assert_eq!(codes(&f), ["ST201", "ST205", "ST205", "ST205"]);
        assert!(
            f[1].message.contains("drop the `outlierDetection`"),
            "{}",
            f[1].message
        );
        assert!(
            f[2].message.ends_with("drops `tcp.maxConnections`"),
            "{}",
            f[2].message
        );
        assert_eq!(f[2].labels[0].location.pos, Pos::new(8, 29));
        assert!(
            f[3].message.starts_with("the subset's `connectionPool`"),
            "{}",
            f[3].message
        );
    }

    /// A mesh of more rules than one part is linted on all cores: each rule's findings once,
    /// in the rules' order.
    #[test]
    fn a_large_mesh_is_linted_in_rule_order() {
        let rules = 2 * RULES_PER_PART + 3;
        let yaml: String = (0..rules)
            .map(|i| format!("---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: r{i}, namespace: prod}}\nspec:\n  host: svc-{i}\n  trafficPolicy:\n    connectionPool:\n      http: {{http1MaxPendingRequests: 10, maxRequestsPerConnection: 1}}\n"))
            .collect();
        let loaded = load_str(
            &yaml,
            &std::sync::Arc::from("t.yaml"),
            &LoadOptions::default(),
        );
        let mesh = crate::istio::MeshConfig::default();
        let f = lint_rules(&MeshIndex::new(&loaded.rules, &mesh, "default"));
        // Per rule: ST201 (no maxConnections) and ST202 (one request per connection), both at
        // the `http:` line, the 9th of each rule's 9.
        assert_eq!(f.len(), 2 * rules);
        assert!(f.chunks(2).all(|pair| codes(pair) == ["ST201", "ST202"]));
        let lines: Vec<u32> = f.iter().step_by(2).map(|f| f.location.pos.line).collect();
        let expected: Vec<u32> = (0..rules as u32).map(|i| 9 * i + 9).collect();
        assert_eq!(lines, expected);
    }

    #[test]
    fn clean_rules_have_no_lint() {
        assert!(lint("  trafficPolicy:\n    connectionPool:\n      tcp: {maxConnections: 100}\n      http: {http1MaxPendingRequests: 10}\n").is_empty());
    }
}
