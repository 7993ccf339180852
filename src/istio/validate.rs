//! Validation of one DestinationRule object, as Istio does it: the CRD schema (via
//! [`super::schema`]) and then the checks of Istio's admission webhook
//! (`pkg/config/validation/validation.go`) that a schema cannot express.

use std::collections::HashSet;
use std::sync::Arc;

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
}

impl<'a> Validator<'a> {
    pub(crate) fn new(file: &'a Arc<str>, findings: &'a mut Vec<Finding>) -> Self {
        Self { file, findings }
    }

    fn report(&mut self, code: Code, node: &Node, message: impl Into<String>, help: Option<&str>) {
        let mut finding = Finding::new(code, Location::new(self.file, node.pos), message);
        finding.help = help.map(str::to_owned);
        self.findings.push(finding);
    }

    /// Validates a DestinationRule object (a mapping whose `kind` is `DestinationRule`).
    pub(crate) fn destination_rule(&mut self, object: &Node) {
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
                format!("DestinationRule has apiVersion `{shown}`, which Istio does not serve"),
                Some("use `networking.istio.io/v1` (or `v1beta1`, `v1alpha3`)"),
            );
        }
        match object.get("metadata") {
            Some(metadata) => self.metadata(metadata),
            None => self.report(
                Code::MissingField,
                object,
                "DestinationRule has no `metadata.name`",
                Some("add `metadata: {name: ...}`"),
            ),
        }
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
                "labels" | "annotations" => self.string_map(value, &format!("metadata.{name}")),
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
        let Some(subsets) = spec.get("subsets").and_then(Node::as_seq) else {
            return;
        };
        let mut names = HashSet::new();
        for subset in subsets {
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

    fn export_to(&mut self, spec: &Node) {
        let Some(entries) = spec.get("exportTo").and_then(Node::as_seq) else {
            return;
        };
        let has_selector = spec.get("workloadSelector").is_some();
        let mut seen = HashSet::new();
        for entry in entries {
            let Some(e) = entry.as_str() else { continue };
            if !seen.insert(e) {
                self.report(
                    Code::InvalidSelector,
                    entry,
                    format!("duplicate entries in exportTo for entry {}", truncate(e)),
                    Some("remove the repeated entry"),
                );
            } else if !matches!(e, "." | "*") && !is_dns1123_label(e) {
                self.report(
                    Code::InvalidSelector,
                    entry,
                    format!(
                        "exportTo entry `{}` is not `.`, `*` or a namespace name",
                        truncate(e)
                    ),
                    None,
                );
            }
            if e == "*" && entries.len() > 1 {
                self.report(
                    Code::InvalidSelector,
                    entry,
                    "cannot have both public (*) and non-public exportTo values for a resource",
                    Some("keep `*` alone, or list the namespaces"),
                );
            }
            if has_selector && e != "." {
                self.report(Code::InvalidSelector, entry, "destination rule with workload selector cannot have exportTo beyond current namespace", Some("use `exportTo: [\".\"]`"));
            }
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
        for entry in policy
            .get("portLevelSettings")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
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
            self.load_balancer(lb);
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
            if let Some(ka) = http.get("http2KeepAlive")
                && ka.get("interval").is_none()
                && ka.get("timeout").is_none()
            {
                self.report(Code::MissingField, ka, "`http2KeepAlive` sets neither `interval` nor `timeout`", Some("set `interval` (how often to ping) and `timeout` (how long to wait for the answer)"));
            }
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

    fn load_balancer(&mut self, lb: &Node) {
        let Some(hash) = lb.get("consistentHash") else {
            return;
        };
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

    fn tls(&mut self, tls: &Node) {
        let mode = tls.get("mode").and_then(Node::as_str);
        let credential = tls.get("credentialName").is_some();
        if credential && matches!(mode, Some("SIMPLE" | "MUTUAL")) {
            for field in ["clientCertificate", "privateKey", "caCertificates"] {
                if let Some(node) = tls.get(field) {
                    self.report(
                        Code::ConflictingFields,
                        node,
                        "cannot specify client certificates or CA certificate with credentialName",
                        Some("keep either `credentialName` or the file paths"),
                    );
                }
            }
        }
        if mode == Some("MUTUAL") && !credential {
            for (field, message) in [
                (
                    "clientCertificate",
                    "client certificate required for mutual tls",
                ),
                ("privateKey", "private key required for mutual tls"),
            ] {
                if tls.get(field).is_none() {
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
        if let Some(host) = tunnel
            .get("targetHost")
            .and_then(|h| h.as_str().map(|s| (h, s)))
            && (host.1.parse::<std::net::IpAddr>().is_err()
                && validate_wildcard_domain(host.1).is_err()
                || host.1.contains('*'))
        {
            self.report(
                Code::InvalidHost,
                host.0,
                "tunnel target host must be valid FQDN or IP address",
                None,
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

/// Istio's `ValidateWildcardDomain`: non-empty, at most 255 characters, DNS labels, a wildcard
/// only in the first label.
pub fn validate_wildcard_domain(domain: &str) -> Result<(), String> {
    if domain.is_empty() {
        return Err("`spec.host` is empty".into());
    }
    if domain.len() > 255 {
        return Err(format!(
            "domain name \"{}\" too long (max 255)",
            truncate(domain)
        ));
    }
    let (first, rest) = domain
        .split_once('.')
        .map_or((domain, None), |(f, r)| (f, Some(r)));
    let wildcard_ok = first == "*"
        || first
            .strip_prefix("*-")
            .or_else(|| first.strip_prefix('*'))
            .is_some_and(|l| is_dns1123_label(l) || l.is_empty() && first == "*")
        || is_dns1123_label(first);
    if !wildcard_ok {
        return Err(format!(
            "domain name \"{}\" invalid (label \"{}\" invalid)",
            truncate(domain),
            truncate(first)
        ));
    }
    if let Some(rest) = rest {
        let rest = rest.strip_suffix('.').unwrap_or(rest);
        if let Some(bad) = rest.split('.').find(|l| !is_dns1123_label(l)) {
            return Err(format!(
                "domain name \"{}\" invalid (label \"{}\" invalid)",
                truncate(domain),
                truncate(bad)
            ));
        }
    }
    Ok(())
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

fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(is_dns1123_label)
        && !s.bytes().any(|c| c.is_ascii_uppercase())
}

/// A Kubernetes label value: empty, or up to 63 of `[A-Za-z0-9-_.]` with alphanumeric ends.
fn is_label_value(s: &str) -> bool {
    let b = s.as_bytes();
    b.is_empty()
        || (b.len() <= 63
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric())
}

/// A Kubernetes label key: an optional DNS subdomain prefix and `/`, then a non-empty name.
fn is_label_key(s: &str) -> bool {
    let (prefix, name) = s.rsplit_once('/').map_or((None, s), |(p, n)| (Some(p), n));
    prefix.is_none_or(is_dns1123_subdomain) && !name.is_empty() && is_label_value(name)
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
