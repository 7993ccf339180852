//! Validation of one DestinationRule object, as Istio does it: the CRD schema (via
//! [`super::schema`]) and then the checks of Istio's admission webhook
//! (`pkg/config/validation/validation.go`) that a schema cannot express.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::duration;
use super::model::Timestamp;
use super::schema::{Schema, Walker, suggest, truncate};
use super::yaml::{Node, Value};
use crate::diag::{Code, Finding, Location, Severity};

/// The apiVersions that serve DestinationRules.
pub const API_VERSIONS: &[&str] = &[
    "networking.istio.io/v1",
    "networking.istio.io/v1beta1",
    "networking.istio.io/v1alpha3",
];

/// Top-level fields of a Kubernetes object.
const OBJECT_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];

/// Fields of Kubernetes' ObjectMeta, as `kubectl get -o yaml` prints them.
const METADATA_FIELDS: &[&str] = &[
    "name",
    "namespace",
    "labels",
    "annotations",
    "generateName",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
    "finalizers",
    "managedFields",
    "selfLink",
];

/// Collects the findings of one object.
pub(crate) struct Validator<'a> {
    file: &'a Arc<str>,
    findings: &'a mut Vec<Finding>,
    /// `metadata.namespace`, when the object names one: Istio's `configNamespace`.
    namespace: Option<String>,
}

impl<'a> Validator<'a> {
    pub(crate) fn new(file: &'a Arc<str>, findings: &'a mut Vec<Finding>) -> Self {
        Self {
            file,
            findings,
            namespace: None,
        }
    }

    fn report(&mut self, code: Code, node: &Node, message: impl Into<String>, help: Option<&str>) {
        let mut finding = Finding::new(code, Location::new(self.file, node.pos), message);
        finding.help = help.map(str::to_owned);
        self.findings.push(finding);
    }

    /// Validates a DestinationRule object (a mapping whose `kind` is `DestinationRule`).
    pub(crate) fn destination_rule(&mut self, object: &Node) {
        self.object_header(object, "DestinationRule");
        let Some(spec) = object.get("spec") else {
            return self.report(
                Code::MissingField,
                object,
                "DestinationRule has no `spec`",
                Some("add a `spec` with at least `host`"),
            );
        };
        let spec_schema = Schema::destination_rule()
            .property("spec")
            .expect("the schema has `spec`");
        Walker::new(self.file, self.findings, &["spec"]).walk(spec, spec_schema);
        if spec.as_map().is_some() {
            self.spec(spec);
        }
    }

    /// Validates a Sidecar object: Istio's published schema, then the checks of its webhook
    /// (`validation.go` `ValidateSidecar`) on the fields this crate reads.
    pub(crate) fn sidecar(&mut self, object: &Node) {
        self.object_header(object, "Sidecar");
        let Some(spec) = object.get("spec") else {
            return self.report(
                Code::MissingField,
                object,
                "Sidecar has no `spec`",
                Some("add a `spec` with `ingress`, `egress` or `inboundConnectionPool`"),
            );
        };
        let spec_schema = Schema::sidecar()
            .property("spec")
            .expect("the schema has `spec`");
        Walker::new(self.file, self.findings, &["spec"]).walk(spec, spec_schema);
        if spec.as_map().is_none() {
            return;
        }
        if let Some(selector) = spec.get("workloadSelector")
            && selector
                .get("labels")
                .and_then(Node::as_map)
                .is_none_or(<[_]>::is_empty)
        {
            let finding = Finding::new(
                Code::InvalidSelector,
                Location::new(self.file, selector.pos),
                "sidecar: workload selector specified without labels, will be applied to all services in namespace",
            )
            .help("add `labels`, or remove `workloadSelector` to apply the Sidecar to every workload of the namespace")
            .with_severity(Severity::Warning);
            self.findings.push(finding);
        }
        if [
            "egress",
            "ingress",
            "outboundTrafficPolicy",
            "inboundConnectionPool",
        ]
        .iter()
        .all(|k| spec.get(k).is_none_or(|n| n.value == Value::Null))
        {
            self.report(
                Code::EmptyPolicy,
                spec,
                "sidecar: empty configuration provided",
                Some("set `ingress`, `egress`, `outboundTrafficPolicy` or `inboundConnectionPool`"),
            );
        }
        let mut ports = HashSet::new();
        for ingress in spec.items("ingress") {
            if let Some(number) = ingress.get("port").and_then(|p| p.get("number")) {
                self.unique_port(&mut ports, number, "ingress");
            }
            if let Some(pool) = ingress.get("connectionPool") {
                self.connection_pool(pool);
            }
        }
        if let Some(pool) = spec.get("inboundConnectionPool") {
            self.connection_pool(pool);
        }
        let namespace = object
            .get("metadata")
            .and_then(|m| m.get("namespace"))
            .and_then(Node::as_str);
        self.sidecar_egress(spec.items("egress"), namespace);
        if let Some(policy) = spec.get("outboundTrafficPolicy") {
            self.egress_proxy(policy);
        }
    }

    /// `validateSidecarOutboundTrafficPolicy`: an `egressProxy` only with `ALLOW_ANY` (the mode
    /// left out is `REGISTRY_ONLY`), its host a fully qualified name, a port set.
    fn egress_proxy(&mut self, policy: &Node) {
        let Some(proxy) = policy.get("egressProxy").filter(|p| p.value != Value::Null) else {
            return;
        };
        if policy.get("mode").and_then(Node::as_str) != Some("ALLOW_ANY") {
            return self.report(
                Code::ConflictingFields,
                proxy,
                "sidecar: egress_proxy must be set only with ALLOW_ANY outbound_traffic_policy mode",
                Some("set `mode: ALLOW_ANY` (a policy without `mode` is REGISTRY_ONLY), or remove `egressProxy`"),
            );
        }
        if let Some(host) = proxy.get("host")
            && let Some(Err(why)) = host.as_str().map(validate_fqdn)
        {
            self.report(
                Code::InvalidHost,
                host,
                why,
                Some("name the egress proxy's service by its full host name"),
            );
        }
        if proxy.get("port").is_none_or(|p| p.value == Value::Null) {
            self.report(
                Code::MissingField,
                proxy,
                "sidecar: egress_proxy port must be non-nil",
                Some("add `port: {number: ...}`"),
            );
        }
    }

    /// `ValidateSidecar`'s checks of the egress listeners: one listener without a port, and
    /// last; distinct ports; at least one host per listener, each `namespace/dnsName`; hosts
    /// that repeat what the listener already imports (warnings).
    fn sidecar_egress(&mut self, listeners: &[Node], namespace: Option<&str>) {
        let mut ports = HashSet::new();
        let mut catch_all = false;
        for (index, egress) in listeners.iter().enumerate() {
            if egress.value == Value::Null {
                self.report(
                    Code::WrongType,
                    egress,
                    "egress listener may not be null",
                    Some("remove the empty entry from `egress`"),
                );
                continue;
            }
            match egress.get("port").filter(|p| p.value != Value::Null) {
                None if catch_all => {
                    self.report(
                        Code::ConflictingFields,
                        egress,
                        "sidecar: egress can have only one listener with empty port",
                        Some("give the other listeners a `port`"),
                    );
                    continue;
                }
                None if index + 1 == listeners.len() => catch_all = true,
                None => self.report(
                    Code::ConflictingFields,
                    egress,
                    "sidecar: the egress listener with empty port should be the last listener in the list",
                    Some("move it to the end of `egress`"),
                ),
                Some(port) => {
                    // Port 0 is a Unix domain socket's listener, not IP bound.
                    if let Some(number) = port.get("number").filter(|n| n.value != Value::Int(0)) {
                        self.unique_port(&mut ports, number, "egress");
                    }
                }
            }
            self.egress_hosts(egress, namespace);
        }
    }

    fn egress_hosts(&mut self, egress: &Node, namespace: Option<&str>) {
        let hosts = egress.items("hosts");
        // A `hosts` that is no list is the schema's error (ST102).
        let listed = egress.get("hosts").is_none_or(|h| h.as_seq().is_some());
        if hosts.is_empty() && listed {
            return self.report(
                Code::MissingField,
                egress,
                "sidecar: egress listener must contain at least one host",
                Some("add `hosts`, e.g. `[\"./*\", \"istio-system/*\"]`"),
            );
        }
        let mut by_namespace: HashMap<&str, HashSet<&str>> = HashMap::new();
        for host in hosts {
            let Some(text) = host.as_str() else { continue };
            if let Some((ns, name)) = text.split_once('/')
                && !ns.starts_with('~')
            {
                let ns = if ns == "." {
                    namespace.unwrap_or(ns)
                } else {
                    ns
                };
                let names = by_namespace.entry(ns).or_default();
                let duplicate = if name == "*" {
                    !names.is_empty()
                } else {
                    names.contains(name) || names.contains("*")
                };
                if duplicate {
                    self.warn(
                        host,
                        format!("duplicated egress host: {}", truncate(text)),
                        "remove it: the listener already imports it",
                    );
                }
                names.insert(name);
            }
            if let Err(why) = validate_egress_host(text) {
                self.report(
                    Code::InvalidHost,
                    host,
                    why,
                    Some("write `namespace/dnsName`: a namespace, `.` (the workload's), `*` or `~` (exclude), and a full host name, `*` or `*.suffix`"),
                );
            }
        }
        if by_namespace.get("*").is_some_and(|n| n.contains("*")) && by_namespace.len() != 1 {
            self.warn(
                egress,
                "`*/*` host select all resources, no other hosts can be added",
                "keep `*/*` alone, or name the namespaces instead",
            );
        }
    }

    /// `ValidateSidecar`: the ports of one kind of listener (`ingress`, `egress`) are unique.
    fn unique_port(&mut self, ports: &mut HashSet<i64>, number: &Node, listener: &str) {
        if let Value::Int(n) = number.value
            && !ports.insert(n)
        {
            let help = format!("give each {listener} listener its own port");
            self.report(
                Code::ConflictingFields,
                number,
                "sidecar: ports on IP bound listeners must be unique",
                Some(&help),
            );
        }
    }

    /// An egress host warning of Istio's webhook (ST107 as a warning).
    fn warn(&mut self, node: &Node, message: impl Into<String>, help: &str) {
        let finding = Finding::new(
            Code::InvalidHost,
            Location::new(self.file, node.pos),
            message,
        )
        .help(help)
        .with_severity(Severity::Warning);
        self.findings.push(finding);
    }

    /// The checks every Istio object gets: top-level fields, `apiVersion`, `metadata`.
    fn object_header(&mut self, object: &Node, kind: &str) {
        let entries = object.as_map().unwrap_or_default();
        for (key, _) in entries {
            let name = key.as_str().unwrap_or_default();
            if !OBJECT_FIELDS.contains(&name) {
                let help = suggest(name, OBJECT_FIELDS.iter().copied())
                    .map(|s| format!("did you mean `{s}`?"));
                self.report(
                    Code::UnknownField,
                    key,
                    format!("unknown field `{}`", truncate(name)),
                    help.as_deref(),
                );
            }
        }
        if let Some(version) = object.get("apiVersion")
            && !version.as_str().is_some_and(|v| API_VERSIONS.contains(&v))
        {
            let shown = version
                .as_str()
                .map_or_else(|| version.value.kind().to_owned(), truncate);
            self.report(
                Code::UnsupportedApiVersion,
                version,
                format!("{kind} has apiVersion `{shown}`, which Istio does not serve"),
                Some("use `networking.istio.io/v1` (or `v1beta1`, `v1alpha3`)"),
            );
        }
        self.namespace = object
            .get("metadata")
            .and_then(|m| m.get("namespace"))
            .and_then(Node::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        match object.get("metadata") {
            Some(metadata) => self.metadata(metadata),
            None => self.report(
                Code::MissingField,
                object,
                format!("{kind} has no `metadata.name`"),
                Some("add `metadata: {name: ...}`"),
            ),
        }
    }

    fn metadata(&mut self, metadata: &Node) {
        let Some(entries) = metadata.as_map() else {
            return self.report(
                Code::WrongType,
                metadata,
                format!(
                    "`metadata` must be a mapping, found {}",
                    metadata.value.kind()
                ),
                None,
            );
        };
        for (key, value) in entries {
            let name = key.as_str().unwrap_or_default();
            match name {
                "name" | "namespace" => match value.as_str() {
                    Some(s) if !s.is_empty() && is_dns1123_subdomain(s) => {}
                    _ => self.report(
                        Code::WrongType,
                        value,
                        format!("`metadata.{name}` must be a DNS-1123 name (lowercase letters, digits, `-` and `.`)"),
                        None,
                    ),
                },
                "labels" => self.string_map(value, "metadata.labels"),
                "annotations" => {
                    self.string_map(value, "metadata.annotations");
                    self.annotations(value);
                }
                // Istio orders rules by it (oldest first), so a time it cannot read matters.
                "creationTimestamp" => {
                    // `kubectl create --dry-run -o yaml` prints `creationTimestamp: null`.
                    if value.value != Value::Null
                        && value.as_str().is_none_or(|t| Timestamp::parse(t).is_none())
                    {
                        self.report(Code::WrongType, value, "`metadata.creationTimestamp` must be an RFC 3339 time", Some("write it as Kubernetes does: `2024-05-01T10:00:00Z`"));
                    }
                }
                known if METADATA_FIELDS.contains(&known) => {}
                _ => {
                    let help = suggest(name, METADATA_FIELDS.iter().copied()).map(|s| format!("did you mean `{s}`?"));
                    self.report(Code::UnknownField, key, format!("unknown field `{}` in `metadata`", truncate(name)), help.as_deref());
                }
            }
        }
        if metadata.get("name").is_none() && metadata.get("generateName").is_none() {
            self.report(
                Code::MissingField,
                metadata,
                "`metadata` has no `name`",
                Some("name the rule: `name: reviews`"),
            );
        }
    }

    /// Istio's `validateMetadata`: annotations its webhook rejects on a DestinationRule.
    fn annotations(&mut self, annotations: &Node) {
        for (key, _) in annotations.as_map().unwrap_or_default() {
            let message = match key.as_str().unwrap_or_default() {
                "istio.io/dry-run" => {
                    "the rule has unsupported annotation istio.io/dry-run, please remove the annotation"
                        .to_owned()
                }
                name @ "internal.istio.io/webhook-always-reject" => {
                    format!("\"{name}\" annotation found, rejecting")
                }
                name @ ("internal.istio.io/parent-namespace" | "internal.istio.io/parents") => {
                    format!("\"{name}\" annotation found, this may not be set by users")
                }
                _ => continue,
            };
            self.report(
                Code::InvalidSelector,
                key,
                message,
                Some("remove the annotation: Istio rejects DestinationRules that carry it"),
            );
        }
    }

    fn string_map(&mut self, node: &Node, path: &str) {
        match &node.value {
            Value::Map(entries) => {
                for (key, value) in entries {
                    if value.as_str().is_none() && value.value != Value::Null {
                        let message = format!(
                            "`{path}.{}` must be a string, found {}",
                            key.as_str().unwrap_or_default(),
                            value.value.kind()
                        );
                        self.report(
                            Code::WrongType,
                            value,
                            message,
                            Some("quote the value to make it a string"),
                        );
                    }
                }
            }
            Value::Null => {}
            other => self.report(
                Code::WrongType,
                node,
                format!("`{path}` must be a mapping, found {}", other.kind()),
                None,
            ),
        }
    }

    fn spec(&mut self, spec: &Node) {
        // A missing or null host is reported by the schema's `required`.
        if let Some(host) = spec.get("host")
            && let Some(text) = host.as_str()
            && let Err(why) = validate_wildcard_domain(text)
        {
            self.report(
                Code::InvalidHost,
                host,
                why,
                Some("use a service name such as `reviews` or `reviews.prod.svc.cluster.local`, or `*.example.com`"),
            );
        }
        if let Some(policy) = spec.get("trafficPolicy") {
            self.traffic_policy(policy, "spec.trafficPolicy");
        }
        self.subsets(spec);
        self.export_to(spec);
        if let Some(selector) = spec.get("workloadSelector")
            && selector
                .get("matchLabels")
                .and_then(Node::as_map)
                .is_none_or(<[_]>::is_empty)
        {
            let finding = Finding::new(
                Code::InvalidSelector,
                Location::new(self.file, selector.pos),
                "workload selector specified without labels",
            )
            .help(
                "add `matchLabels`, or remove `workloadSelector` to apply the rule to every client",
            )
            .with_severity(Severity::Warning);
            self.findings.push(finding);
        }
    }

    fn subsets(&mut self, spec: &Node) {
        let mut names = HashSet::new();
        for subset in spec.items("subsets") {
            if subset.value == Value::Null {
                self.report(
                    Code::WrongType,
                    subset,
                    "subset may not be null",
                    Some("remove the empty `-` entry, or give it a `name`"),
                );
                continue;
            }
            if let Some(name_node) = subset.get("name")
                && let Some(name) = name_node.as_str()
            {
                if !names.insert(name) {
                    self.report(
                        Code::DuplicateSubset,
                        name_node,
                        format!("duplicate subset name `{}`", truncate(name)),
                        Some("give each subset its own name"),
                    );
                } else if !is_dns1123_label(name) {
                    self.report(
                        Code::InvalidSelector,
                        name_node,
                        format!("subset name `{}` is not a DNS-1123 label", truncate(name)),
                        Some("use lowercase letters, digits and `-`, at most 63 characters"),
                    );
                }
            }
            if let Some(labels) = subset.get("labels").and_then(Node::as_map) {
                for (key, value) in labels {
                    let (Some(k), Some(v)) = (key.as_str(), value.as_str()) else {
                        continue;
                    };
                    if !is_label_key(k) {
                        self.report(Code::InvalidSelector, key, format!("invalid label key `{}`", truncate(k)), Some("a label key is an optional DNS prefix and `/`, then up to 63 letters, digits, `-`, `_`, `.`"));
                    }
                    if !is_label_value(v) {
                        self.report(Code::InvalidSelector, value, format!("invalid label value `{}`", truncate(v)), Some("a label value has up to 63 letters, digits, `-`, `_`, `.`, starting and ending with a letter or digit"));
                    }
                }
            }
            if let Some(policy) = subset.get("trafficPolicy") {
                self.traffic_policy(policy, "trafficPolicy");
            }
        }
    }

    /// Istio's `validateExportTo`: `.` stands for the rule's own namespace, so `.` and that
    /// namespace's name are one entry; a rule with a workload selector is exported to its own
    /// namespace only. Without `metadata.namespace` a named entry may be the rule's own
    /// namespace, so only what is wrong for every namespace is reported.
    fn export_to(&mut self, spec: &Node) {
        let Some(list) = spec.get("exportTo") else {
            return;
        };
        let Some(entries) = list.as_seq() else {
            return;
        };
        let own = self.namespace.clone();
        let own_key = own.as_deref().unwrap_or(".");
        let mut keys: Vec<&str> = Vec::new();
        for entry in entries {
            let Some(e) = entry.as_str() else { continue };
            let key = if e == "." { own_key } else { e };
            if keys.contains(&key) {
                let message = if key == e {
                    format!("duplicate entries in exportTo for entry {}", truncate(e))
                } else {
                    format!(
                        "duplicate entries in exportTo: . and current namespace {}",
                        truncate(key)
                    )
                };
                self.report(
                    Code::InvalidSelector,
                    entry,
                    message,
                    Some("remove the repeated entry (`.` is the rule's own namespace)"),
                );
            } else if e == "~" {
                self.report(
                    Code::InvalidSelector,
                    entry,
                    "exportTo ~ (none) is not allowed for Istio configuration objects",
                    Some("`~` is for ServiceEntries; use `.` to keep the rule in its namespace"),
                );
            } else if !matches!(key, "." | "*") && !is_dns1123_label(key) {
                self.report(
                    Code::InvalidSelector,
                    entry,
                    format!(
                        "exportTo entry `{}`: only .,*, or a valid DNS 1123 label is allowed as exportTo entry",
                        truncate(e)
                    ),
                    None,
                );
            } else {
                keys.push(key);
            }
        }
        if spec.get("workloadSelector").is_some() && !keys.is_empty() {
            let message = if keys.contains(&own_key) {
                (keys.len() > 1).then_some(
                    "destination rule with workload selector cannot have multiple entries in exportTo",
                )
            } else if own.is_some() || keys.len() > 1 || keys.contains(&"*") {
                Some(
                    "destination rule with workload selector cannot have exportTo beyond current namespace",
                )
            } else {
                None
            };
            if let Some(message) = message {
                self.report(
                    Code::InvalidSelector,
                    list,
                    message,
                    Some("use `exportTo: [\".\"]`: a rule with a workload selector stays in its namespace"),
                );
            }
        }
        if keys.contains(&"*") && entries.len() > 1 {
            self.report(
                Code::InvalidSelector,
                list,
                "cannot have both public (*) and non-public exportTo values for a resource",
                Some("keep `*` alone, or list the namespaces"),
            );
        }
    }

    fn traffic_policy(&mut self, policy: &Node, path: &str) {
        const FIELDS: &[&str] = &[
            "outlierDetection",
            "connectionPool",
            "loadBalancer",
            "tls",
            "portLevelSettings",
            "tunnel",
            "proxyProtocol",
            "retryBudget",
        ];
        if policy.as_map().is_none() {
            return;
        }
        if FIELDS.iter().all(|f| policy.get(f).is_none()) {
            return self.report(
                Code::EmptyPolicy,
                policy,
                format!("`{path}`: traffic policy must have at least one field"),
                Some("set a field, or remove the empty `trafficPolicy`"),
            );
        }
        if let (Some(tunnel), Some(_)) = (policy.get("tunnel"), policy.get("proxyProtocol")) {
            self.report(
                Code::ConflictingFields,
                tunnel,
                "tunnel and proxyProtocol must not be set together",
                Some("keep one of `tunnel` and `proxyProtocol`"),
            );
        }
        self.policy_groups(policy);
        if let Some(tunnel) = policy.get("tunnel") {
            self.tunnel(tunnel);
        }
        for entry in policy.items("portLevelSettings") {
            if entry.value == Value::Null {
                self.report(
                    Code::WrongType,
                    entry,
                    "traffic policy may not be null",
                    Some("remove the empty `-` entry, or give it a `port` and settings"),
                );
                continue;
            }
            if entry.as_map().is_none() {
                continue;
            }
            if entry.get("port").is_none() {
                self.report(
                    Code::MissingField,
                    entry,
                    "portTrafficPolicy must have valid port",
                    Some("add `port: {number: 8080}`"),
                );
            }
            if ["outlierDetection", "connectionPool", "loadBalancer", "tls"]
                .iter()
                .all(|f| entry.get(f).is_none())
            {
                self.report(Code::EmptyPolicy, entry, "port traffic policy must have at least one field", Some("set connectionPool, outlierDetection, loadBalancer or tls, or remove the entry"));
            } else {
                self.policy_groups(entry);
            }
        }
    }

    fn policy_groups(&mut self, policy: &Node) {
        if let Some(pool) = policy.get("connectionPool") {
            self.connection_pool(pool);
        }
        if let Some(outlier) = policy.get("outlierDetection") {
            self.outlier_detection(outlier);
        }
        if let Some(lb) = policy.get("loadBalancer") {
            self.load_balancer(lb, policy.get("outlierDetection").is_some());
        }
        if let Some(tls) = policy.get("tls") {
            self.tls(tls);
        }
    }

    pub(crate) fn connection_pool(&mut self, pool: &Node) {
        if pool.as_map().is_none() {
            return;
        }
        if pool.get("http").is_none() && pool.get("tcp").is_none() {
            return self.report(
                Code::EmptyPolicy,
                pool,
                "connection pool must have at least one field",
                Some("set `tcp` or `http` limits, or remove the empty `connectionPool`"),
            );
        }
        let non_negative = [
            (
                "http",
                "http1MaxPendingRequests",
                "http1 max pending requests must be non-negative",
            ),
            (
                "http",
                "http2MaxRequests",
                "http2 max requests must be non-negative",
            ),
            (
                "http",
                "maxRequestsPerConnection",
                "max requests per connection must be non-negative",
            ),
            ("http", "maxRetries", "max retries must be non-negative"),
            (
                "http",
                "maxConcurrentStreams",
                "max concurrent streams must be non-negative",
            ),
            (
                "tcp",
                "maxConnections",
                "max connections must be non-negative",
            ),
        ];
        for (group, field, message) in non_negative {
            if let Some(node) = pool.get(group).and_then(|g| g.get(field))
                && matches!(node.value, Value::Int(i) if i < 0)
            {
                self.report(Code::OutOfRange, node, message, Some("leave the field out for Istio's default (unlimited), or set a positive bound"));
            }
        }
        if let Some(http) = pool.get("http") {
            let upgrade = http.get("h2UpgradePolicy").and_then(Node::as_str) == Some("UPGRADE");
            if let Some(ucp) = http
                .get("useClientProtocol")
                .filter(|n| n.value == Value::Bool(true))
                && upgrade
            {
                self.report(
                    Code::ConflictingFields,
                    ucp,
                    "use client protocol must not be true when H2UpgradePolicy is UPGRADE",
                    Some("remove `useClientProtocol` or the upgrade"),
                );
            }
            if let Some(ka) = http
                .get("http2KeepAlive")
                .filter(|ka| ka.as_map().is_some())
            {
                for (field, message) in [
                    ("interval", "http2 keepalive interval is required"),
                    ("timeout", "http2 keepalive timeout is required"),
                ] {
                    if ka.get(field).is_none_or(|n| n.value == Value::Null) {
                        self.report(Code::MissingField, ka, message, Some("set both `interval` (how often to ping) and `timeout` (how long to wait for the answer)"));
                    }
                }
            }
        }
        // The schema declares no duration rule for `tcp.idleTimeout`; Istio's webhook checks it
        // as any duration, except `0s`, which turns the idle timeout off.
        if let Some(idle) = pool.get("tcp").and_then(|t| t.get("idleTimeout"))
            && let Some(d) = idle.as_str().and_then(|s| duration::parse(s.trim()).ok())
            && d.as_nanos() / 1_000_000 != 0
            && let Some(problem) = if d.as_nanos() < 1_000_000 {
                Some("duration must be greater than 1ms")
            } else if d.as_nanos() % 1_000_000 != 0 {
                Some("only durations to ms precision are supported")
            } else {
                None
            }
        {
            self.report(
                Code::InvalidDuration,
                idle,
                format!("`tcp.idleTimeout`: {problem}"),
                Some("use whole milliseconds, at least 1ms, or `0s` for no idle timeout"),
            );
        }
    }

    pub(crate) fn outlier_detection(&mut self, outlier: &Node) {
        if let Some(ce) = outlier
            .get("consecutiveErrors")
            .filter(|n| n.value != Value::Int(0))
        {
            self.report(Code::DeprecatedField, ce, "outlier detection consecutive errors is deprecated, use consecutiveGatewayErrors or consecutive5xxErrors instead", Some("rename it to `consecutive5xxErrors`"));
        }
        let split = outlier
            .get("splitExternalLocalOriginErrors")
            .is_some_and(|n| n.value == Value::Bool(true));
        if let Some(local) = outlier.get("consecutiveLocalOriginFailures")
            && !split
            && matches!(local.value, Value::Int(i) if i > 0)
        {
            self.report(Code::ConflictingFields, local, "outlier detection consecutive local origin failures is specified, but split external local origin errors is set to false", Some("add `splitExternalLocalOriginErrors: true`"));
        }
        for field in ["maxEjectionPercent", "minHealthPercent"] {
            if let Some(node) = outlier.get(field)
                && let Value::Int(v) = node.value
                && !(0..=100).contains(&v)
            {
                self.report(
                    Code::OutOfRange,
                    node,
                    format!("percentage {v} is not in range 0..100"),
                    Some("use a percentage from 0 to 100"),
                );
            }
        }
    }

    /// Istio's `validateLoadBalancer`, with `agent.ValidateLocalityLbSetting` and
    /// `agent.ValidateZoneAwareLbSetting`; `has_outlier` says whether the same policy sets
    /// `outlierDetection` (failover needs it).
    fn load_balancer(&mut self, lb: &Node, has_outlier: bool) {
        if let Some(hash) = lb.get("consistentHash") {
            self.consistent_hash(hash);
        }
        let locality = lb
            .get("localityLbSetting")
            .filter(|n| n.value != Value::Null);
        let zone_aware = lb
            .get("zoneAwareLbSetting")
            .filter(|n| n.value != Value::Null);
        if let (Some(_), Some(zone_aware)) = (locality, zone_aware) {
            self.report(
                Code::ConflictingFields,
                zone_aware,
                "only one of localityLbSetting and zoneAwareLbSetting can be set",
                Some("keep one of `localityLbSetting` and `zoneAwareLbSetting`"),
            );
        }
        if let Some(locality) = locality {
            self.locality_lb(locality, has_outlier);
        }
        if let Some(zone_aware) = zone_aware {
            self.zone_aware_lb(zone_aware, has_outlier);
        }
        if let Some(aggression) = lb.get("warmup").and_then(|w| w.get("aggression"))
            && (aggression.value == Value::Int(0) || aggression.value == Value::Float(0.0))
        {
            // Negative values are out of the schema's range already.
            self.report(
                Code::OutOfRange,
                aggression,
                "aggression should be greater than 0",
                Some("use 1 for a linear ramp, more to hold new endpoints back longer"),
            );
        }
    }

    fn consistent_hash(&mut self, hash: &Node) {
        if let Some(cookie) = hash.get("httpCookie") {
            if let Some(name) = cookie.get("name")
                && name.as_str() == Some("")
            {
                self.report(
                    Code::MissingField,
                    name,
                    "name required for HttpCookie",
                    Some("name the cookie the hash is read from"),
                );
            }
            let mut seen = HashSet::new();
            for attribute in cookie.items("attributes") {
                // A missing `name` is reported by the schema's `required`.
                let Some(name_node) = attribute.get("name") else {
                    continue;
                };
                match name_node.as_str() {
                    Some("") => self.report(
                        Code::InvalidLoadBalancer,
                        name_node,
                        "cookie attribute name cannot be empty",
                        Some("name the attribute, e.g. `SameSite`"),
                    ),
                    Some(name) if !seen.insert(name) => self.report(
                        Code::InvalidLoadBalancer,
                        name_node,
                        format!("duplicate cookie attribute name: {}", truncate(name)),
                        Some("set each cookie attribute once"),
                    ),
                    _ => {}
                }
            }
        }
        if let Some(ring) = hash
            .get("minimumRingSize")
            .filter(|n| n.value != Value::Int(0))
        {
            self.report(Code::DeprecatedField, ring, "consistent hash MinimumRingSize is deprecated, use ConsistentHashLB's RingHash configuration instead", Some("move it to `ringHash: {minimumRingSize: ...}`"));
            if hash.get("ringHash").is_some() || hash.get("maglev").is_some() {
                self.report(
                    Code::ConflictingFields,
                    ring,
                    "only one of MinimumRingSize or Maglev/Ringhash can be specified",
                    None,
                );
            }
        }
        if let Some(maglev) = hash.get("maglev") {
            match maglev.get("tableSize").map(|n| (n, &n.value)) {
                None | Some((_, Value::Int(0))) => self.report(
                    Code::MissingField,
                    maglev,
                    "tableSize must be set for maglev",
                    Some("set a prime below 5000011, e.g. 65537"),
                ),
                Some((node, Value::Int(size))) if *size >= 5_000_011 => {
                    self.report(
                        Code::OutOfRange,
                        node,
                        "tableSize must be less than 5000011 for maglev",
                        Some("use a prime below 5000011, e.g. 65537"),
                    );
                }
                Some((node, Value::Int(size))) if *size > 0 && !is_prime(size.unsigned_abs()) => {
                    self.report(
                        Code::ConflictingFields,
                        node,
                        "tableSize must be a prime number for maglev",
                        Some("use a prime, e.g. 65537"),
                    );
                }
                _ => {}
            }
        }
    }

    /// `agent.ValidateLocalityLbSetting`.
    fn locality_lb(&mut self, setting: &Node, has_outlier: bool) {
        let distribute = setting.items("distribute");
        let failover = setting.items("failover");
        let priority = setting.items("failoverPriority");
        if !distribute.is_empty() && !failover.is_empty() {
            return self.report(
                Code::InvalidLoadBalancer,
                setting,
                "can not simultaneously specify 'distribute' and 'failover'",
                Some(
                    "keep `distribute` (fixed weights) or `failover` (ordered fallback), not both",
                ),
            );
        }
        if !failover.is_empty()
            && let Some(label) = priority
                .iter()
                .find(|p| p.as_str().is_some_and(is_topology_label))
        {
            let message = format!(
                "can not simultaneously set 'failover' and topology label '{}' in 'failover_priority'",
                label.as_str().unwrap_or_default()
            );
            return self.report(
                Code::InvalidLoadBalancer,
                label,
                message,
                Some("drop the topology label from `failoverPriority`: `failover` orders regions already"),
            );
        }
        let mut sources = Vec::new();
        for entry in distribute {
            let from = entry.get("from");
            sources.push((
                from.unwrap_or(entry),
                from.and_then(Node::as_str).unwrap_or(""),
            ));
            let weights = entry.get("to").and_then(Node::as_map).unwrap_or_default();
            let mut total: i128 = 0;
            for (_, weight) in weights {
                let Value::Int(w) = weight.value else {
                    continue;
                };
                if !(1..=100).contains(&w) {
                    return self.report(
                        Code::InvalidLoadBalancer,
                        weight,
                        "locality weight must be in range [1, 100]",
                        Some("give each locality a weight from 1 to 100, summing to 100"),
                    );
                }
                total += i128::from(w);
            }
            if total != 100 {
                return self.report(
                    Code::InvalidLoadBalancer,
                    entry.get("to").unwrap_or(entry),
                    format!("total locality weight {total} != 100"),
                    Some("the weights of one `distribute` entry must sum to 100"),
                );
            }
            let targets: Vec<(&Node, &str)> = weights
                .iter()
                .map(|(k, _)| (k, k.as_str().unwrap_or("")))
                .collect();
            self.localities(&targets);
        }
        self.localities(&sources);
        self.failover(setting, failover, priority, has_outlier, false);
    }

    /// `agent.ValidateZoneAwareLbSetting`.
    fn zone_aware_lb(&mut self, setting: &Node, has_outlier: bool) {
        let failover = setting.items("failover");
        let priority = setting.items("failoverPriority");
        for label in priority {
            if let Some(text) = label.as_str().filter(|l| is_topology_label(l)) {
                let message = format!(
                    "'failover_priority' for zone aware lb must not use topology label '{text}'; region- and zone-level routing are handled automatically"
                );
                self.report(
                    Code::InvalidLoadBalancer,
                    label,
                    message,
                    Some("remove the topology label; use `failover` to order regions"),
                );
            }
        }
        self.failover(setting, failover, priority, has_outlier, true);
    }

    /// The failover checks the locality and zone-aware settings share: an outlier detection
    /// to notice failed endpoints, and distinct regions without zones or wildcards.
    fn failover(
        &mut self,
        setting: &Node,
        failover: &[Node],
        priority: &[Node],
        has_outlier: bool,
        zone_aware: bool,
    ) {
        let what = if zone_aware {
            "zone aware lb"
        } else {
            "locality lb"
        };
        if (!failover.is_empty() || !priority.is_empty()) && !has_outlier {
            let finding = Finding::new(
                Code::InvalidLoadBalancer,
                Location::new(self.file, setting.pos),
                "outlier detection policy must be provided for failover",
            )
            .help("add `outlierDetection` to the same traffic policy: without it no endpoint is ever found unhealthy, so traffic never fails over")
            .with_severity(Severity::Warning);
            self.findings.push(finding);
        }
        for entry in failover {
            let from = entry.get("from").and_then(Node::as_str).unwrap_or("");
            let to = entry.get("to").and_then(Node::as_str).unwrap_or("");
            if from == to {
                self.report(
                    Code::InvalidLoadBalancer,
                    entry,
                    format!("{what} failover settings must specify different regions"),
                    Some("fail over from one region to another"),
                );
            }
            if from.contains('/') || to.contains('/') {
                let message = if zone_aware {
                    "zone aware lb failover only specifies region; zone and subzone failover are handled automatically"
                } else {
                    "locality lb failover only specify region"
                };
                self.report(
                    Code::InvalidLoadBalancer,
                    entry,
                    message,
                    Some("name regions only, e.g. `us-east`"),
                );
            }
            if from.contains('*') || to.contains('*') {
                self.report(
                    Code::InvalidLoadBalancer,
                    entry,
                    format!("{what} failover region should not contain '*' wildcard"),
                    Some("name each region"),
                );
            }
        }
    }

    /// `agent.validateLocalities`: `region[/zone[/subzone]]`, a `*` only at the end, and no
    /// locality covered by an earlier one. Reports the first problem, as Istio does.
    fn localities(&mut self, localities: &[(&Node, &str)]) {
        if let Some((node, message)) = first_locality_problem(localities) {
            self.report(
                Code::InvalidLoadBalancer,
                node,
                message,
                Some("write `region`, `region/zone` or `region/zone/subzone` (a `*` only at the end), each covered once"),
            );
        }
    }

    /// `agent.ValidateTLS`.
    fn tls(&mut self, tls: &Node) {
        let mode = tls.get("mode").and_then(Node::as_str);
        let field = |name: &str| {
            tls.get(name)
                .filter(|n| n.as_str().is_some_and(|s| !s.is_empty()))
        };
        let credential = field("credentialName");
        if let Some(node) = credential
            && let Some(reference) = node.as_str().and_then(|c| c.strip_prefix("configmap://"))
        {
            self.configmap_credential(node, reference);
        }
        let sans = !tls.items("subjectAltNames").is_empty();
        if let Some(skip) = tls
            .get("insecureSkipVerify")
            .filter(|n| n.value == Value::Bool(true))
        {
            let ca = field("caCertificates").is_some();
            let message = match mode {
                Some("SIMPLE") if ca || credential.is_some() || sans => Some(
                    "cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true",
                ),
                Some("MUTUAL") if ca || sans => Some(
                    "cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true",
                ),
                _ => None,
            };
            if let Some(message) = message {
                self.report(
                    Code::ConflictingFields,
                    skip,
                    message,
                    Some("verify the server (remove `insecureSkipVerify`), or drop what would verify it"),
                );
            }
        }
        let simple_or_mutual = matches!(mode, Some("SIMPLE" | "MUTUAL"));
        if simple_or_mutual && credential.is_some() {
            for name in ["clientCertificate", "caCertificates", "privateKey", "caCrl"] {
                if let Some(node) = field(name) {
                    self.report(
                        Code::ConflictingFields,
                        node,
                        "cannot specify client certificates or CA certificate or CA CRL If credentialName is set",
                        Some("keep either `credentialName` (which holds them all) or the file paths"),
                    );
                }
            }
            return;
        }
        if mode == Some("MUTUAL") {
            for (name, message) in [
                (
                    "clientCertificate",
                    "client certificate required for mutual tls",
                ),
                ("privateKey", "private key required for mutual tls"),
            ] {
                if field(name).is_none() {
                    self.report(
                        Code::MissingField,
                        tls,
                        message,
                        Some("set `credentialName`, or the certificate and key paths"),
                    );
                }
            }
        }
    }

    /// A `configmap://NAMESPACE/NAME` credential (`credentials.ParseResourceName`): both parts
    /// set, and the namespace the rule's own.
    fn configmap_credential(&mut self, node: &Node, reference: &str) {
        let mut parts = reference.split('/');
        let (namespace, name) = (parts.next().unwrap_or(""), parts.next());
        let problem = match name {
            None => Some("Expected namespace and name".to_owned()),
            Some(_) if namespace.is_empty() => Some("Expected namespace".to_owned()),
            Some("") => Some("Expected name".to_owned()),
            Some(_) => match &self.namespace {
                Some(own) if own != namespace => Some(format!(
                    "namespace must match the configuration namespace \"{own}\""
                )),
                _ => None,
            },
        };
        if let Some(problem) = problem {
            let message = format!(
                "invalid configmap:// credentialName `{}`: {problem}",
                truncate(&format!("configmap://{reference}"))
            );
            self.report(
                Code::InvalidSelector,
                node,
                message,
                Some("write `configmap://NAMESPACE/NAME` with the rule's own namespace"),
            );
        }
    }

    fn tunnel(&mut self, tunnel: &Node) {
        if let Some(protocol) = tunnel.get("protocol")
            && !matches!(protocol.as_str(), Some("CONNECT" | "POST"))
        {
            self.report(
                Code::InvalidEnum,
                protocol,
                "tunnel protocol must be \"CONNECT\" or \"POST\"",
                None,
            );
        }
        if let Some((node, host)) = tunnel
            .get("targetHost")
            .and_then(|h| h.as_str().map(|s| (h, s)))
            && host.parse::<std::net::IpAddr>().is_err()
            && let Err(why) = validate_fqdn(host)
        {
            self.report(
                Code::InvalidHost,
                node,
                format!("tunnel target host must be valid FQDN or IP address: {why}"),
                Some("name the tunnel's target by host name (no wildcard) or IP address"),
            );
        }
        if let Some(port) = tunnel.get("targetPort")
            && matches!(port.value, Value::Int(p) if !(1..=65535).contains(&p))
        {
            self.report(
                Code::OutOfRange,
                port,
                "tunnel target port is invalid: port number must be in the range 1..65535",
                None,
            );
        }
    }
}

/// Istio's `agent.ValidateNamespaceSlashWildcardHostname` for a Sidecar's egress host:
/// `namespace/dnsName`, the namespace `*`, `.`, a DNS label or none, `~`-prefixed or not, and
/// the name `*` or a wildcard domain with a dot (`validateSidecarOrGatewayHostnamePart`: no
/// short names, a wildcard only as `*.`); the first of Istio's errors.
fn validate_egress_host(host: &str) -> Result<(), String> {
    let Some((namespace, name)) = host.split_once('/') else {
        return Err("host must be of form namespace/dnsName".into());
    };
    if namespace.is_empty() || name.is_empty() {
        return Err("config namespace and dnsName in host entry cannot be empty".into());
    }
    let bare = namespace.strip_prefix('~').unwrap_or(namespace);
    if !matches!(bare, "" | "*" | ".") && !is_dns1123_label(bare) {
        return Err(format!(
            "invalid namespace value \"{}\" in sidecar",
            truncate(namespace)
        ));
    }
    if name != "*" && !name.contains('.') {
        return Err("short names (non FQDN) are not allowed".into());
    }
    validate_wildcard_domain(name)?;
    if name.contains('*') && name.len() != 1 && !name.starts_with("*.") {
        return Err(format!(
            "partial wildcard \"{}\" not allowed",
            truncate(name)
        ));
    }
    Ok(())
}

/// Istio's `ValidateWildcardDomain`: non-empty, at most 255 characters, DNS labels, a wildcard
/// only in the first label, and a last label that is not all digits.
pub fn validate_wildcard_domain(domain: &str) -> Result<(), String> {
    if domain.is_empty() {
        return Err("`spec.host` is empty".into());
    }
    check_length(domain)?;
    let (first, rest) = domain
        .split_once('.')
        .map_or((domain, None), |(f, r)| (f, Some(r)));
    let wildcard_ok = first == "*"
        || first
            .strip_prefix("*-")
            .or_else(|| first.strip_prefix('*'))
            .is_some_and(is_dns1123_label)
        || is_dns1123_label(first);
    if !wildcard_ok {
        return Err(invalid_label(domain, first));
    }
    rest.map_or(Ok(()), |rest| dns1123_labels(domain, rest))
}

/// Istio's `ValidateFQDN`: as a domain, without wildcards.
pub(crate) fn validate_fqdn(domain: &str) -> Result<(), String> {
    if domain.is_empty() {
        return Err("empty domain name not allowed".into());
    }
    check_length(domain)?;
    dns1123_labels(domain, domain)
}

fn check_length(domain: &str) -> Result<(), String> {
    if domain.len() > 255 {
        return Err(format!(
            "domain name \"{}\" too long (max 255)",
            truncate(domain)
        ));
    }
    Ok(())
}

fn invalid_label(domain: &str, label: &str) -> String {
    format!(
        "domain name \"{}\" invalid (label \"{}\" invalid)",
        truncate(domain),
        truncate(label)
    )
}

/// Istio's `ValidateDNS1123Labels` on `labels` (part of `domain`): DNS labels, an empty last
/// label allowed (`istio.io.`), and a last label that is not a number.
fn dns1123_labels(domain: &str, labels: &str) -> Result<(), String> {
    let parts: Vec<&str> = labels.split('.').collect();
    let top = parts[parts.len() - 1];
    if is_go_int(top) {
        return Err(format!(
            "domain name \"{}\" invalid (top level domain \"{}\" cannot be all-numeric)",
            truncate(domain),
            truncate(top)
        ));
    }
    for (i, label) in parts.iter().enumerate() {
        if i == parts.len() - 1 && label.is_empty() {
            return Ok(());
        }
        if !is_dns1123_label(label) {
            return Err(invalid_label(domain, label));
        }
    }
    Ok(())
}

/// Whether Go's `strconv.Atoi` reads `s` as a number: an optional sign, then digits.
fn is_go_int(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit())
}

/// The node topology labels Istio's locality checks know.
fn is_topology_label(label: &str) -> bool {
    matches!(
        label,
        "topology.kubernetes.io/region"
            | "topology.kubernetes.io/zone"
            | "topology.istio.io/subzone"
    )
}

/// The first locality that `agent.validateLocalities` rejects, with Istio's message.
fn first_locality_problem<'n>(localities: &[(&'n Node, &str)]) -> Option<(&'n Node, String)> {
    use std::collections::BTreeMap;
    // region -> zone -> subzones; "*" marks "all of it".
    let mut seen: BTreeMap<&str, BTreeMap<&str, HashSet<&str>>> = BTreeMap::new();
    for (node, locality) in localities {
        let overlap = || {
            Some((
                *node,
                format!("locality {locality} overlap with previous specified ones"),
            ))
        };
        let stars = locality.matches('*').count();
        if stars > 1 || stars == 1 && !locality.ends_with('*') {
            return Some((
                *node,
                format!(
                    "locality {locality} wildcard '*' number can not exceed 1 and must be in the end"
                ),
            ));
        }
        if seen.contains_key("*") {
            return overlap();
        }
        let items: Vec<&str> = locality.splitn(3, '/').collect();
        if items.iter().any(|i| i.is_empty()) {
            return Some((
                *node,
                format!("locality {locality} must not contain empty region/zone/subzone info"),
            ));
        }
        let region = items[0];
        match items[..] {
            [_] => {
                if seen.contains_key(region) {
                    return overlap();
                }
                seen.insert(region, BTreeMap::from([("*", HashSet::from(["*"]))]));
            }
            [_, zone] => {
                let zones = seen.entry(region).or_default();
                if zones.contains_key("*") || zones.contains_key(zone) {
                    return overlap();
                }
                zones.insert(zone, HashSet::from(["*"]));
            }
            [_, zone, subzone] => {
                let zones = seen.entry(region).or_default();
                if zones.contains_key("*") {
                    return overlap();
                }
                let subzones = zones.entry(zone).or_default();
                if subzones.contains("*") || !subzones.insert(subzone) {
                    return overlap();
                }
            }
            _ => {}
        }
    }
    None
}

/// A DNS-1123 label: 1 to 63 letters, digits or `-`, starting and ending with a letter or digit.
fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Kubernetes' `IsDNS1123Label`: a DNS-1123 label in lowercase, such as a namespace's name.
pub(crate) fn is_lowercase_dns1123_label(s: &str) -> bool {
    is_dns1123_label(s) && !s.bytes().any(|c| c.is_ascii_uppercase())
}

fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_lowercase_dns1123_label)
}

/// A label value as Istio's `labels.Instance.Validate` takes it: empty, or letters, digits,
/// `-`, `_` and `.` with a letter or digit at each end (Istio sets no length limit).
pub(crate) fn is_label_value(s: &str) -> bool {
    let b = s.as_bytes();
    b.is_empty()
        || (b
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric())
}

/// A label key as Istio's `validateTagKey` takes it: an optional prefix of DNS labels (at most
/// 253 characters) and `/`, then a name of at most 63 characters.
pub(crate) fn is_label_key(s: &str) -> bool {
    let (prefix, name) = s.rsplit_once('/').map_or((None, s), |(p, n)| (Some(p), n));
    prefix.is_none_or(|p| p.len() <= 253 && p.split('.').all(is_dns1123_label))
        && !name.is_empty()
        && name.len() <= 63
        && is_label_value(name)
}

/// Envoy's primality test for maglev table sizes.
fn is_prime(x: u64) -> bool {
    if x != 0 && x < 4 {
        return true;
    }
    if x & 1 == 0 {
        return false;
    }
    let mut factor = 3;
    while factor * factor <= x {
        if x.is_multiple_of(factor) {
            return false;
        }
        factor += 2;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_domains_as_istio_checks_them() {
        for ok in [
            "reviews",
            "reviews.prod.svc.cluster.local",
            "*.example.com",
            "*",
            "*-foo.example.com",
            "*foo.example.com",
            "a.b.",
        ] {
            assert!(validate_wildcard_domain(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "reviews_v2.prod",
            "foo.*.com",
            "-a.b",
            "a..b",
            &"a".repeat(256),
        ] {
            assert!(validate_wildcard_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn labels_and_primes() {
        assert!(is_label_key("app.kubernetes.io/name") && is_label_key("version"));
        assert!(!is_label_key("/x") && !is_label_key("Bad_Prefix/x"));
        assert!(
            is_label_value("")
                && is_label_value("v1.2-x")
                && !is_label_value("-v")
                && !is_label_value("a*")
        );
        assert!(is_prime(65537) && is_prime(2) && !is_prime(65536) && !is_prime(9));
    }
}
