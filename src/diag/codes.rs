//! The registry of finding codes: one entry per code, read by detection, `explain`, JSON and
//! SARIF alike. Codes are stable: never renumber or reuse one.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// How serious a finding is. Ordered: `Note < Warning < Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Information worth knowing; nothing is wrong.
    Note,
    /// Probably a mistake, or a setting that will hurt in production.
    Warning,
    /// Invalid input, or a setting that will make requests fail.
    Error,
}

impl Severity {
    /// The lowercase name, as printed and as accepted by `--fail-on`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a registry entry says about one code.
#[derive(Debug)]
pub struct CodeInfo {
    /// The code, e.g. `ST101`.
    pub id: &'static str,
    /// A short kebab-case name, e.g. `unknown-field`.
    pub name: &'static str,
    /// The severity findings of this code have.
    pub severity: Severity,
    /// One line: what the code is about.
    pub summary: &'static str,
    /// The long explanation printed by `sidecar-tuner explain`: what the sidecar does, why
    /// it matters, and an example with its fix.
    pub explanation: &'static str,
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = ($id:literal, $name:literal, $severity:ident, $summary:literal, $explanation:literal), )*) => {
        /// A stable finding code. `ST1xx`: input; `ST2xx`: rule lints; `ST3xx`: client
        /// settings that do not match the sidecar; `ST4xx`: server settings that do not.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, in order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The registry entry of this code.
            pub fn info(self) -> &'static CodeInfo {
                match self {
                    $( Code::$variant => &CodeInfo {
                        id: $id,
                        name: $name,
                        severity: Severity::$severity,
                        summary: $summary,
                        explanation: $explanation,
                    }, )*
                }
            }
        }
    };
}

impl Code {
    /// The code as printed, e.g. `ST101`.
    pub fn as_str(self) -> &'static str {
        self.info().id
    }

    /// The severity of findings with this code.
    pub fn severity(self) -> Severity {
        self.info().severity
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The text given was not a known code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown code `{0}` (codes look like ST101; `sidecar-tuner explain --list` lists them)")]
pub struct UnknownCode(pub String);

impl FromStr for Code {
    type Err = UnknownCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()) || c.info().name == s.trim())
            .ok_or_else(|| UnknownCode(s.to_owned()))
    }
}

codes! {
    /// The input could not be read as YAML text.
    YamlSyntax = ("ST100", "unreadable-input", Error,
        "the input is not readable YAML",
        "What it does: reports input that cannot be parsed at all: malformed YAML, a file that is not \
UTF-8 text, an empty file, a file over the size cap, or a stream that exceeds the parser's budgets \
(alias bombs, very deep nesting).\n\n\
Why is this bad: nothing in the file can be checked, and `kubectl apply` would reject it too.\n\n\
Example:\n\n    spec:\n      host: reviews\n      trafficPolicy: {connectionPool: {tcp: {maxConnections: 100}}\n\n\
The flow mapping is not closed. Fixed:\n\n    spec:\n      host: reviews\n      trafficPolicy: {connectionPool: {tcp: {maxConnections: 100}}}\n"),
    /// A field the DestinationRule schema does not have.
    UnknownField = ("ST101", "unknown-field", Error,
        "a field the DestinationRule schema does not know",
        "What it does: reports a key that Istio's published DestinationRule schema does not define, \
with the closest known field as a suggestion.\n\n\
Why is this bad: the Kubernetes API server prunes unknown fields without a word, so a typo such as \
`maxConnection` silently leaves the limit unset: the sidecar then allows 4294967295 connections, and \
the client tuned against the typo is aligned with nothing.\n\n\
Example:\n\n    connectionPool:\n      tcp:\n        maxConnection: 100\n\n\
Fixed:\n\n    connectionPool:\n      tcp:\n        maxConnections: 100\n"),
    /// A value of the wrong YAML type.
    WrongType = ("ST102", "wrong-type", Error,
        "a value of the wrong type",
        "What it does: reports a value whose YAML type is not the one the schema requires: a string \
where an integer is expected, a list where a mapping is expected, an unquoted number as a label value.\n\n\
Why is this bad: the API server rejects the object, or (for quoted numbers) Istio reads a different \
value from the one intended.\n\n\
Example:\n\n    http:\n      http1MaxPendingRequests: \"10\"\n\n\
Fixed:\n\n    http:\n      http1MaxPendingRequests: 10\n"),
    /// A number outside the range its field accepts.
    OutOfRange = ("ST103", "out-of-range", Error,
        "a number outside the range its field accepts",
        "What it does: reports negative limits, numbers that overflow the field's int32 or uint32 \
type, and percentages outside 0..100, as Istio's validation does; in client settings, values \
the library refuses or cannot work with (OkHttp's `keepAliveDuration: 0s`, a connect timeout of \
0 in urllib3, .NET and httpx).\n\n\
Why is this bad: Istio rejects the rule (`max connections must be non-negative`), or the value \
wraps around in a 32-bit field and means something else; a client throws as it is built, or \
fails every request.\n\n\
Example:\n\n    tcp:\n      maxConnections: -1\n\n\
Fixed (leave it out for unlimited, or give the real bound):\n\n    tcp:\n      maxConnections: 100\n"),
    /// A duration that is malformed or too small.
    InvalidDuration = ("ST104", "invalid-duration", Error,
        "a duration that is malformed, below 1ms, or finer than a millisecond",
        "What it does: checks Go-style durations (`30ms`, `1.5s`, `1h30m`) as Istio does: the text \
must parse, be at least 1ms, and (for the fields Istio's webhook checks) be whole milliseconds.\n\n\
Why is this bad: Istio rejects the rule with `must be a valid duration greater than 1ms`.\n\n\
Example:\n\n    http:\n      idleTimeout: 30 seconds\n\n\
Fixed:\n\n    http:\n      idleTimeout: 30s\n"),
    /// A value that is not one of the values an enum field accepts.
    InvalidEnum = ("ST105", "invalid-enum", Error,
        "a value that is not one its field accepts",
        "What it does: reports a value outside a field's enumeration, such as a TLS mode or a load \
balancer, with the closest accepted value as a suggestion.\n\n\
Why is this bad: the API server rejects the object.\n\n\
Example:\n\n    tls:\n      mode: ISTIO_MTLS\n\n\
Fixed:\n\n    tls:\n      mode: ISTIO_MUTUAL\n"),
    /// A required field is missing.
    MissingField = ("ST106", "missing-field", Error,
        "a required field is missing",
        "What it does: reports a field the schema requires: `spec.host`, `metadata.name`, a subset's \
`name`, a port-level entry's `port`, a tunnel's `targetHost`, both `interval` and `timeout` of \
`http2KeepAlive`, a client certificate and key for `MUTUAL` TLS without `credentialName`, a hash \
cookie's `name`, a maglev `tableSize`.\n\n\
Why is this bad: the API server or Istio's webhook rejects the object.\n\n\
Example:\n\n    subsets:\n    - labels: {version: v1}\n\n\
Fixed:\n\n    subsets:\n    - name: v1\n      labels: {version: v1}\n"),
    /// The host is empty or not a valid (wildcard) domain name.
    InvalidHost = ("ST107", "invalid-host", Error,
        "the host is empty or not a valid domain name",
        "What it does: checks `spec.host` as Istio's `ValidateWildcardDomain` does: not empty, at most \
255 characters, DNS labels of letters, digits and dashes, a wildcard only in the first label, and \
a last label that is not a number (`1.1.1.1` is not a host name).\n\n\
Why is this bad: Istio rejects the rule, so none of its limits reach the sidecar.\n\n\
Example:\n\n    spec:\n      host: reviews_v2.prod.svc.cluster.local\n\n\
Fixed:\n\n    spec:\n      host: reviews-v2.prod.svc.cluster.local\n"),
    /// Two subsets share a name.
    DuplicateSubset = ("ST108", "duplicate-subset", Error,
        "two subsets share a name",
        "What it does: reports a subset name used twice in one rule.\n\n\
Why is this bad: Istio rejects the rule (`duplicate subset names`); a VirtualService routing to the \
subset could not tell which one is meant.\n\n\
Example:\n\n    subsets:\n    - name: v1\n      labels: {version: v1}\n    - name: v1\n      labels: {version: v2}\n\n\
Fixed: give the second subset its own name, `v2`.\n"),
    /// Fields that must not be set together, or a combination Istio rejects.
    ConflictingFields = ("ST109", "conflicting-fields", Error,
        "fields that must not be set together",
        "What it does: reports combinations Istio's schema or webhook rejects: more than one load \
balancer kind, `useClientProtocol` with `h2UpgradePolicy: UPGRADE`, `tunnel` with `proxyProtocol`, \
`consecutiveLocalOriginFailures` without `splitExternalLocalOriginErrors`, a maglev table size that \
is not a prime below 5000011, `insecureSkipVerify` with a CA, credential or subject alt names, \
`credentialName` with certificate files or `caCrl`, `localityLbSetting` with `zoneAwareLbSetting`.\n\n\
Why is this bad: the rule is rejected at admission, or one of the settings is ignored.\n\n\
Example:\n\n    http:\n      h2UpgradePolicy: UPGRADE\n      useClientProtocol: true\n\n\
Fixed: keep one of them.\n"),
    /// A traffic policy or connection pool with no field set.
    EmptyPolicy = ("ST110", "empty-policy", Error,
        "a traffic policy or connection pool with no field set",
        "What it does: reports `trafficPolicy: {}`, `connectionPool: {}` and port-level entries that \
set nothing, which Istio's webhook rejects (`traffic policy must have at least one field`).\n\n\
Why is this bad: the rule is rejected, and an empty block usually means the intended limits were \
written at the wrong indentation.\n\n\
Example:\n\n    trafficPolicy:\n      connectionPool: {}\n\n\
Fixed:\n\n    trafficPolicy:\n      connectionPool:\n        tcp:\n          maxConnections: 100\n"),
    /// A document that is not a DestinationRule.
    NotADestinationRule = ("ST111", "not-a-destination-rule", Note,
        "a document that is not a DestinationRule, skipped",
        "What it does: notes documents of other kinds (Gateway, EnvoyFilter, ...) that the tool \
does not validate and skips; a VirtualService or ServiceEntry is noted too, and read only for what \
decides a client's Sidecar scope (the hosts its routes import; its hosts' namespace, ports and \
visibility). Services, Deployments, Sidecars and the `istio` ConfigMap are read without a note.\n\n\
Why is this bad: it is not; the note tells you the document was seen and left alone, so a rule \
mislabelled with another `kind` does not go unnoticed.\n\n\
Example:\n\n    apiVersion: networking.istio.io/v1\n    kind: VirtualService\n"),
    /// A DestinationRule with an apiVersion Istio does not serve.
    UnsupportedApiVersion = ("ST112", "unsupported-api-version", Error,
        "a DestinationRule with an apiVersion Istio does not serve",
        "What it does: accepts `networking.istio.io/v1`, `v1beta1` and `v1alpha3` and reports any other \
apiVersion on a DestinationRule.\n\n\
Why is this bad: the API server rejects the object.\n\n\
Example:\n\n    apiVersion: networking.istio.io/v2\n\n\
Fixed:\n\n    apiVersion: networking.istio.io/v1\n"),
    /// An invalid label, selector or exportTo entry.
    InvalidSelector = ("ST113", "invalid-selector", Error,
        "an invalid label, annotation, workload selector, exportTo entry or configmap credential",
        "What it does: checks subset labels, annotations, `workloadSelector.matchLabels`, `exportTo` \
and `configmap://` credentials as Istio does: no annotation its webhook rejects \
(`istio.io/dry-run`, `internal.istio.io/...`), no wildcard or empty key in selectors, valid label keys and \
values, no duplicate or contradictory exportTo entries (`.` is the rule's own namespace, so `.` and \
that namespace's name are a duplicate), a rule with a workload selector exported to its own \
namespace only, and a `configmap://NAMESPACE/NAME` credential in the rule's own namespace.\n\n\
Why is this bad: Istio rejects the rule.\n\n\
Example:\n\n    workloadSelector:\n      matchLabels:\n        app: \"*\"\n\n\
Fixed: name the workload: `app: reviews`.\n"),
    /// A load-balancer setting Istio's webhook rejects.
    InvalidLoadBalancer = ("ST114", "invalid-load-balancer", Error,
        "a locality, failover or hash-cookie setting Istio rejects",
        "What it does: checks `loadBalancer` as Istio's `validateLoadBalancer`, \
`ValidateLocalityLbSetting` and `ValidateZoneAwareLbSetting` do: `distribute` and `failover` not \
together, each `distribute` entry's weights from 1 to 100 summing to 100, localities written \
`region/zone/subzone` with a `*` only at the end and none covered twice, failover between two \
different regions named without zone or wildcard, no topology label in `failoverPriority` where \
`failover` (or zone-aware balancing) orders regions already, and hash-cookie attributes with a \
name, each once. Failover without `outlierDetection` in the same policy is a warning.\n\n\
Why is this bad: Istio rejects the rule; and failover without outlier detection never happens, \
because no endpoint is ever found unhealthy.\n\n\
Example:\n\n    loadBalancer:\n      localityLbSetting:\n        distribute:\n        - from: us-east/*\n          to:\n            \"us-east/*\": 80\n            \"us-west/*\": 15\n\n\
Fixed: weights that sum to 100: `\"us-west/*\": 20`.\n"),
    /// A number with a leading zero, which Kubernetes reads as octal.
    OctalNumber = ("ST115", "octal-number", Warning,
        "a number with a leading zero, which Kubernetes reads as octal",
        "What it does: reports a plain number written with a leading zero and octal digits only \
(`010`, `-0_17`) whose octal value differs from its decimal reading. The tool reads it as \
Kubernetes does, as octal: kubectl, Helm and Argo CD turn YAML into JSON with sigs.k8s.io/yaml, \
whose YAML 1.1 resolver (go-yaml v2, `resolve.go`) parses plain numbers with Go's \
`strconv.ParseInt(text, 0, 64)`.\n\n\
Why is this bad: the cluster holds another number than the one on the page: `maxConnections: \
010` is a limit of 8, not 10. (A leading zero before an 8 or a 9, `08`, is read as the decimal \
number, and a number with a point or an exponent that is whole, `10.0`, `1e1`, as that whole \
number, as Kubernetes reads them; neither is reported.)\n\n\
Example:\n\n    tcp:\n      maxConnections: 010\n\n\
Fixed:\n\n    tcp:\n      maxConnections: 10\n"),
    /// A pending queue limit with no connection limit.
    PendingWithoutConnectionLimit = ("ST201", "pending-without-connection-limit", Warning,
        "a pending-request limit without a connection limit",
        "What it does: reports `http.http1MaxPendingRequests` set while `tcp.maxConnections` is unset.\n\n\
Why is this bad: Envoy queues a request as pending only while it waits for a connection. With \
unlimited connections it opens a new one instead, so the pending limit almost never applies and \
the upstream takes whatever burst arrives; the limit gives a false sense of protection.\n\n\
Example:\n\n    connectionPool:\n      http:\n        http1MaxPendingRequests: 10\n\n\
Fixed:\n\n    connectionPool:\n      tcp:\n        maxConnections: 100\n      http:\n        http1MaxPendingRequests: 10\n"),
    /// `maxRequestsPerConnection: 1` turns off upstream keep-alive.
    UpstreamKeepAliveDisabled = ("ST202", "upstream-keepalive-disabled", Warning,
        "`maxRequestsPerConnection: 1` turns off keep-alive to the upstream",
        "What it does: reports `http.maxRequestsPerConnection: 1`.\n\n\
Why is this bad: the sidecar opens a new upstream connection for every request. Each request then \
waits for a connect, counts as pending meanwhile, and holds a connection slot in TIME_WAIT; with a \
small `maxConnections` the sidecar overflows (503, `UO`) at a fraction of the load it could carry. \
It does not change the application's own connection to the sidecar.\n\n\
Example:\n\n    http:\n      maxRequestsPerConnection: 1\n\n\
Fixed: leave it unset (unlimited), or allow many requests per connection:\n\n    http:\n      maxRequestsPerConnection: 1000\n"),
    /// Outlier detection that may eject every host.
    OutlierCanEjectAll = ("ST203", "outlier-can-eject-all", Warning,
        "outlier detection may eject every host",
        "What it does: reports `outlierDetection.maxEjectionPercent: 100`.\n\n\
Why is this bad: when every endpoint fails at once (a bad deploy, a dependency outage) all of them \
are ejected and, with `minHealthPercent` at its default of 0, the sidecar has no endpoint left: every \
request fails fast with 503 `UH` until the ejections expire, even after the endpoints recover.\n\n\
Example:\n\n    outlierDetection:\n      consecutive5xxErrors: 5\n      maxEjectionPercent: 100\n\n\
Fixed:\n\n    outlierDetection:\n      consecutive5xxErrors: 5\n      maxEjectionPercent: 50\n"),
    /// HTTP/2 upgrade with HTTP/1 pending limits.
    H2UpgradeWithHttp1Limits = ("ST204", "h2-upgrade-with-http1-limits", Warning,
        "an HTTP/2 upgrade while HTTP/1 pending limits are set",
        "What it does: reports `h2UpgradePolicy: UPGRADE` together with `http1MaxPendingRequests`.\n\n\
Why is this bad: with the upstream upgraded to HTTP/2, requests are multiplexed on few connections \
and `http2MaxRequests` becomes the bound that matters; the HTTP/1 pending limit no longer describes \
the sidecar's admission, and clients sized from it are sized wrong.\n\n\
Example:\n\n    http:\n      h2UpgradePolicy: UPGRADE\n      http1MaxPendingRequests: 10\n\n\
Fixed: bound `http2MaxRequests` instead, or do not upgrade.\n"),
    /// A subset or port-level policy that drops a top-level limit.
    PolicyDropsLimit = ("ST205", "policy-drops-limit", Warning,
        "a subset or port-level policy silently drops a top-level setting",
        "What it does: reports a `portLevelSettings` entry or a subset `trafficPolicy` that replaces a \
group (connectionPool, outlierDetection, ...) without restating what the top level set in it.\n\n\
Why is this bad: Istio replaces groups whole, it never merges them field by field. A port-level \
entry that sets only `http` limits drops the top-level `tcp.maxConnections` for that port, which \
falls back to unlimited; a port-level entry without a `connectionPool` drops the top-level pool \
entirely.\n\n\
Example:\n\n    trafficPolicy:\n      connectionPool:\n        tcp: {maxConnections: 100}\n      portLevelSettings:\n      - port: {number: 8080}\n        connectionPool:\n          http: {http1MaxPendingRequests: 10}\n\n\
Fixed: repeat the top-level `tcp` block inside the port-level `connectionPool`.\n"),
    /// Several rules for one host.
    ConflictingRules = ("ST206", "conflicting-rules", Warning,
        "several rules for the same host, merged by Istio",
        "What it does: reports what Istio's merge of several DestinationRules for one host ignores. \
Rules for the same host in the same namespace, with the same `exportTo` (and the same workload \
selector, or none), are merged into one (`mergeDestinationRule`): the subsets of all of them are \
appended, the first definition of a subset name wins, and the top-level `trafficPolicy` of the \
oldest rule that has one applies. The finding points at each `trafficPolicy` and each subset the \
merge ignores.\n\n\
Why is this bad: the ignored limits look as if they applied; which rule is the oldest depends on \
`metadata.creationTimestamp` (then the name), not on the file.\n\n\
Example: `reviews-a` (created first, `maxConnections: 100`) and `reviews-b` (`maxConnections: 10`, \
subset `v3`) in namespace `prod`, both with `host: reviews`: the sidecar allows 100 connections and \
knows subset `v3`.\n\n\
Fixed: keep the traffic policy in one rule; a second rule for the host should add subsets only.\n"),
    /// TLS turned off for traffic inside the mesh.
    TlsDisabled = ("ST207", "tls-disabled", Warning,
        "mutual TLS turned off for a mesh destination",
        "What it does: reports `tls.mode: DISABLE` for a host inside the cluster (`*.svc.cluster.local` \
or a short name).\n\n\
Why is this bad: it turns off Istio's automatic mutual TLS for the destination; with a STRICT \
PeerAuthentication on the server side every request fails with a connection reset, and without it \
traffic travels in plain text.\n\n\
Example:\n\n    trafficPolicy:\n      tls:\n        mode: DISABLE\n\n\
Fixed:\n\n    trafficPolicy:\n      tls:\n        mode: ISTIO_MUTUAL\n"),
    /// Which rule a destination resolved to.
    RuleResolution = ("ST208", "rule-resolution", Note,
        "which rule applies to a destination, and which were passed over",
        "What it does: for each `--host`, names the DestinationRule whose policy the sidecar applies, \
and every other rule that matched and why it was passed over (a less specific host, not exported to \
the client's namespace, a workload selector).\n\n\
Why is this bad: it is not; it shows what Istio will do, which is often not what the author of the \
second rule expected.\n\n\
Example: `reviews.prod.svc.cluster.local` resolves to `prod/reviews` (exact host); `prod/catch-all` \
(`*.prod.svc.cluster.local`) was passed over.\n"),
    /// No rule applies to a destination.
    NoMatchingRule = ("ST209", "no-matching-rule", Warning,
        "no DestinationRule applies to a destination",
        "What it does: reports a `--host` that no loaded rule matches.\n\n\
Also reports a destination for which rules exist but Istio's lookup gives none to this client \
(not exported to its namespace, in a namespace it never looks at, or hidden by a workload-selector \
rule of the client's namespace).\n\n\
Why is this bad: the sidecar then applies Istio's defaults, 4294967295 for every circuit-breaker \
threshold (or MeshConfig's `defaultTrafficPolicy`, read with `--mesh`): there is no bound to align \
the client with, and a misspelt host or a missing `exportTo` is the usual cause.\n\n\
Example: `--host ratings` while the rule says `host: rating`.\n\n\
Fixed: correct the host in the rule or on the command line.\n"),
    /// A policy group left to mesh-wide defaults.
    MeshDefaultApplies = ("ST210", "mesh-default-applies", Note,
        "a connection pool or outlier detection left to mesh-wide defaults",
        "What it does: notes that the effective policy of a destination has no `connectionPool` (or \
no `outlierDetection`).\n\n\
Why is this bad: it is not necessarily; the sidecar then uses MeshConfig's `defaultTrafficPolicy` \
when the mesh sets one (read with `--mesh`, or from the `istio` ConfigMap in the input), else \
Istio's defaults (unlimited). The note is given only when neither sets the group.\n\n\
Example: a rule with only `tls` and `loadBalancer` settings.\n"),
    /// A deprecated field.
    DeprecatedField = ("ST211", "deprecated-field", Warning,
        "a deprecated field",
        "What it does: reports fields Istio still accepts but ignores or will remove: \
`outlierDetection.consecutiveErrors` (ignored by Istio's cluster builder) and \
`consistentHash.minimumRingSize`.\n\n\
Why is this bad: the setting has no effect, so the outlier detection you think you have is off.\n\n\
Example:\n\n    outlierDetection:\n      consecutiveErrors: 5\n\n\
Fixed:\n\n    outlierDetection:\n      consecutive5xxErrors: 5\n"),
    /// A rule with port-level policies, planned without a port.
    PortPolicyNotSelected = ("ST212", "port-policy-not-selected", Warning,
        "a rule has port-level policies and no port was given",
        "What it does: reports a destination planned without a port whose rule (or subset) has \
`portLevelSettings`.\n\n\
Why is this bad: Istio builds one cluster per service port, and a port with its own entry gets \
that entry's policy instead of the top-level one; the plan made without a port is right only for \
the other ports.\n\n\
Example: `portLevelSettings` for port 9080 with `maxConnections: 10`, top level 100, planned \
without `--port`: the client on port 9080 would be allowed 95 connections.\n\n\
Fixed: `sidecar-tuner plan ... --port 9080` (or put a Kubernetes Service in the input: `check \
--host` then plans each of its ports).\n"),
    /// A workload-selector rule that hides the other namespaces' rules from its namespace.
    RuleHiddenBySelector = ("ST213", "rule-hidden-by-selector", Warning,
        "a workload-selector rule hides the other rules for a host from clients it does not select",
        "What it does: reports a destination whose host matches a workload-selector rule in the \
client's namespace that does not select the client.\n\n\
Why is this bad: Istio's lookup stops at the client's namespace as soon as a rule there matches \
the host, selector or not (`push_context.go` `destinationRule`); when the selector does not select \
the client, no rule applies to it and the rules of the service's and the root namespace are never \
consulted (Istio issue 57719). The client gets Istio's defaults: no limit at all.\n\n\
Example: in namespace `web`, a rule for `reviews.prod.svc.cluster.local` with `workloadSelector: \
{matchLabels: {app: batch}}`; the `frontend` pods of `web` lose the limits of `prod`'s own rule.\n\n\
Fixed: add a rule without selector for the host in the client's namespace, or move the selector \
rule's settings elsewhere.\n"),
    /// Client pods together send more than the server pods' sidecars admit inbound.
    FleetExceedsInboundAdmission = ("ST214", "fleet-exceeds-inbound-admission", Warning,
        "client pods together send more requests than the server pods admit inbound",
        "What it does: with `--client-replicas C --server-replicas S` (or the `replicas` of the \
clients' and the server's Deployments in the input), compares what C client pods' sidecars send \
at once, `C x min(maxConnections, http2MaxRequests)` of the rule they resolve (the pending queue \
waits in each client's sidecar; `http2MaxRequests` alone toward an upgraded HTTP/2 upstream), \
with what S server pods' sidecars admit on their inbound cluster, \
`S x min(maxConnections + http1MaxPendingRequests, http2MaxRequests)` of the inbound policy.\n\n\
Why is this bad: Istio applies the rule's top-level or port-level `connectionPool` to the \
inbound cluster of every server pod too (`cluster_builder.go` `buildInboundCluster`), and a \
`Sidecar`'s `inboundConnectionPool` or `ingress[].connectionPool` replaces it. The limits are \
per pod on both sides: each client pod is within its own budget, yet together they can send \
more than the server pods let through, and the server sidecars answer the rest 503 `UO`.\n\n\
Example: the rule `maxConnections: 100, http1MaxPendingRequests: 10` for both sides, 3 client \
pods and 2 server pods: the clients send up to 300 at once, the servers admit 220.\n\n\
Fixed: a Sidecar for the server with room for all clients:\n\n    apiVersion: networking.istio.io/v1\n    kind: Sidecar\n    metadata: {name: reviews, namespace: prod}\n    spec:\n      workloadSelector: {labels: {app: reviews}}\n      inboundConnectionPool:\n        tcp: {maxConnections: 150}\n\n\
or 3 server pods, or lower client limits.\n"),
    /// The client's sidecar has no cluster for the destination's host.
    HostNotImported = ("ST215", "host-not-imported", Warning,
        "the client's sidecar has no cluster for the host: its Sidecar does not import it, or the Service is not exported to the client or has no such port",
        "What it does: reports a destination whose host the client's own sidecar has no cluster \
for, as Istio computes its scope: the host's Kubernetes Service in the input, or every \
ServiceEntry that defines it, is not exported to the client's namespace (`push_context.go` \
`IsServiceVisible`: the annotation `networking.istio.io/exportTo` or the entry's `exportTo`, else \
MeshConfig's `defaultServiceExportTo`, else `*`), or none of those exported to it has the \
destination's port (a cluster per port of the service, `buildOutboundClusters`: a call on the \
container's `targetPort` instead of the Service's port has none), or the \
`Sidecar` that applies to the client (by its `workloadSelector`, else its namespace's, else the \
root namespace's) does not import it in any of its `egress` listeners' `hosts` (`sidecar.go` \
`selectServices`: `namespace/dnsName`, `.` for the client's namespace, `*` for every namespace, \
`~` to exclude, a listener with a port importing on that port only).\n\n\
Why is this bad: without a cluster for the host, no DestinationRule applies to these requests \
and the plan's limits are not what the sidecar enforces. With `outboundTrafficPolicy` \
`ALLOW_ANY` (Istio's default) they leave through `PassthroughCluster`, limited only by \
MeshConfig's `defaultTrafficPolicy.connectionPool` (`buildDefaultPassthroughCluster`), shared by \
every host it carries; with `REGISTRY_ONLY` (the Sidecar's, else MeshConfig's; a Sidecar's \
`outboundTrafficPolicy` without `mode` is `REGISTRY_ONLY`) the sidecar answers them 502 \
(`BlackHoleCluster`). A listener imports the destinations of the VirtualServices it selects \
too (bound to the sidecars, exported to the client's namespace, a host matching its entries), \
which is read from the VirtualServices in the input. A host that no ServiceEntry names \
but a wildcard one covers (`*.example.com` for `api.example.com`) is that wildcard's service: \
the Sidecar must import the wildcard host.\n\n\
Example: a namespace-wide Sidecar in `web` that keeps its sidecars' configuration small,\n\n    egress:\n    - hosts: [\"./*\", \"istio-system/*\"]\n\n\
and a client of `web` calling `reviews.bookinfo.svc.cluster.local`.\n\n\
Fixed:\n\n    egress:\n    - hosts: [\"./*\", \"istio-system/*\", \"bookinfo/reviews.bookinfo.svc.cluster.local\"]\n"),
    /// The client keeps more idle connections than the sidecar allows.
    IdlePoolTooLarge = ("ST301", "idle-pool-too-large", Warning,
        "the client keeps more idle connections than the sidecar allows",
        "What it does: compares the client's idle pool per host (`pool_max_idle_per_host`, \
`MaxIdleConnsPerHost`) with the plan's `max(1, floor(h x maxConnections))`. A client that bounds \
its own requests in flight within the plan holds no more connections than that bound, so a pool \
up to it passes (`plan --emit` writes one for OkHttp, httpx and Node's agent, which close idle \
connections past their pool and would open new ones for every burst).\n\n\
Why is this bad: every connection the application opens to its sidecar becomes, once used, an \
upstream connection counted against `tcp.maxConnections`. An idle pool larger than that limit \
keeps connections the sidecar cannot back: after a burst the client holds them, the next burst \
spreads over all of them, and the requests beyond `maxConnections` wait as pending or overflow \
with 503 `UO`. A pool sized just under the limit reuses warm connections without asking for more.\n\n\
Example:\n\n    # DestinationRule\n    connectionPool:\n      tcp: {maxConnections: 100}\n    # client\n    pool_max_idle_per_host: 500\n\n\
Fixed:\n\n    pool_max_idle_per_host: 95\n"),
    /// The client may speak HTTP/2 to the sidecar.
    Http2Enabled = ("ST302", "http2-enabled", Warning,
        "the client may speak HTTP/2 to the sidecar",
        "What it does: reports a client that sends HTTP/2 to its sidecar. The hop is plain text \
(`http://`), where only prior knowledge speaks HTTP/2: reqwest's `http2: true`, Go's \
`Protocols` with `UnencryptedHTTP2` and without `HTTP1` (Go 1.24), OkHttp's \
`H2_PRIOR_KNOWLEDGE`, Reactor Netty's `H2C`, HttpClient 5's `http2` (`FORCE_HTTP_2`), httpx's \
`http2: true` with `http1: false`, undici's `connect.useH2c`, .NET's `DefaultRequestVersion: \"2.0\"` with a \
`DefaultVersionPolicy` that may not lower it. Settings that offer HTTP/2 in TLS's ALPN (Go's \
`ForceAttemptHTTP2`, httpx's `http2` alone, undici's `allowH2`, .NET's 2.0 under its default \
`RequestVersionOrLower`) send HTTP/1.1 to `http://` and are not reported.\n\n\
Why is this bad: the sidecar's admission for HTTP/1.1 is sized in connections and a pending queue; \
over HTTP/2 the client multiplexes many requests on one connection, so the idle pool and \
connection bounds no longer bound anything, `http2MaxRequests` alone decides, and one slow stream \
can hold a whole connection's worth of requests. The plan assumes HTTP/1.1 and so does every \
number it derives.\n\n\
Example:\n\n    # client (Go 1.24)\n    Protocols: [UnencryptedHTTP2]\n\n\
Fixed:\n\n    Protocols: [HTTP1]\n"),
    /// Requests in flight unbounded, or above the sidecar's admission.
    ConcurrencyAboveAdmission = ("ST303", "concurrency-above-admission", Error,
        "requests in flight are unbounded or above the sidecar's admission",
        "What it does: compares the client's bound on requests in flight (`max_in_flight`, Go's \
`MaxConnsPerHost`, which bounds HTTP/1.1 requests in flight) with the plan's ceiling \
`max(1, floor(h x min(maxConnections + http1MaxPendingRequests, http2MaxRequests)))`.\n\n\
Why is this bad: the sidecar admits at most `maxConnections` requests on connections plus \
`http1MaxPendingRequests` waiting for one, and at most `http2MaxRequests` at once (Envoy applies \
it to HTTP/1.1 too). Every request beyond that is answered at once with 503 and \
`x-envoy-overloaded: true` (flag `UO`), although the service is healthy. An idle-pool limit does \
not help: it bounds idle connections, not requests in flight. Measured with a real Envoy and \
Istio's circuit-breaking rule (1 connection, 1 pending), a Go client with `MaxIdleConnsPerHost` \
near `maxConnections` and HTTP/2 off still got 503 for 178 of 200 requests at 3 workers.\n\n\
Example:\n\n    # DestinationRule\n    connectionPool:\n      tcp: {maxConnections: 100}\n      http: {http1MaxPendingRequests: 10}\n    # client (Go): MaxConnsPerHost unset, unlimited\n    MaxIdleConnsPerHost: 100\n\n\
Fixed:\n\n    MaxConnsPerHost: 104\n"),
    /// The client keeps idle connections as long as the sidecar, or longer.
    IdleTimeoutNotBelowSidecar = ("ST304", "idle-timeout-not-below-sidecar", Warning,
        "the client's idle timeout is not below the sidecar's",
        "What it does: compares the client's idle timeout (`pool_idle_timeout`, `IdleConnTimeout`; \
none means no limit) with the sidecar's effective idle timeout (`http.idleTimeout`, else \
`tcp.idleTimeout`, else Envoy's 1h) and `tcp.maxConnectionDuration`.\n\n\
Why is this bad: the side that closes an idle connection first must be the client. When the \
sidecar closes it, a request the client sends on it at that moment is lost: the client sees a reset \
or an empty reply (503 `UC` in the sidecar's log) on a healthy service, typically after a quiet \
period. The plan keeps the client at 0.9 of the sidecar's timeout, and at most 90s.\n\n\
Example:\n\n    # DestinationRule\n    http: {idleTimeout: 30s}\n    # client\n    pool_idle_timeout: 90s\n\n\
Fixed:\n\n    pool_idle_timeout: 27s\n"),
    /// The client's connect timeout is longer than the sidecar's.
    ConnectTimeoutAboveSidecar = ("ST305", "connect-timeout-above-sidecar", Note,
        "the client's connect timeout is longer than the sidecar's",
        "What it does: compares the client's connect timeout (`connect_timeout`, Go's \
`DialTimeout`; none means no limit) with `tcp.connectTimeout` (10s by default in the mesh).\n\n\
Why is this bad: the application connects to its local sidecar, which accepts at once; the \
connect that can hang is the sidecar's to the upstream, and it gives up after its own timeout \
with 503 `UF`. A longer client connect timeout never fires and hides the budget the request \
really has; aligning it keeps the client's timeouts consistent with what the mesh enforces.\n\n\
Example:\n\n    # DestinationRule\n    tcp: {connectTimeout: 2s}\n    # client (Go)\n    DialTimeout: 30s\n\n\
Fixed:\n\n    DialTimeout: 2s\n"),
    /// The client's TCP keep-alive does not match the rule's.
    KeepAliveOutOfLine = ("ST306", "keepalive-out-of-line", Note,
        "the client's TCP keep-alive is out of line with the rule's",
        "What it does: when the rule sets `tcp.tcpKeepalive`, compares the client's keep-alive \
time (`tcp_keepalive`, Go's `KeepAlive`) with the rule's `time`: off, or longer, is reported.\n\n\
Why is this bad: a rule sets keep-alive because something between the pods drops quiet \
connections (a NAT or a firewall with an idle timer). The client's connections idle in its pool \
as long as the sidecar's; without probes at least as frequent, a pooled connection can be dead \
when the client reuses it, and the request fails with a reset.\n\n\
Example:\n\n    # DestinationRule\n    tcp:\n      tcpKeepalive: {time: 300s}\n    # client\n    tcp_keepalive: 2h\n\n\
Fixed:\n\n    tcp_keepalive: 5m\n"),
    /// Client retries multiply the sidecar's.
    RetriesMultiply = ("ST307", "retries-multiply", Warning,
        "the client's retries multiply the sidecar's",
        "What it does: reports a client that retries failed requests itself (`retries`, Go's \
`Retries`) while the sidecar retries too (Istio's default route retries 2 times; \
`http.maxRetries` bounds retries in flight).\n\n\
Why is this bad: every client attempt goes through the sidecar, which makes its own attempts, so \
the upstream sees up to (client retries + 1) x (sidecar retries + 1) requests per call, exactly \
when it is least able to serve them. Retrying a 503 with `x-envoy-overloaded` at once makes the \
overload worse: the sidecar refused it to protect the upstream.\n\n\
Example:\n\n    # client\n    retries: 3\n\n\
Fixed: `retries: 0`, and leave retries to the mesh; retry overload answers only for idempotent \
requests, with backoff, as `AlignedClient` does.\n"),
    /// The client closes its connection after every request.
    KeepAliveDisabled = ("ST308", "keepalive-disabled", Warning,
        "the client closes its connection after every request",
        "What it does: reports Go's `DisableKeepAlives: true` or negative `MaxIdleConnsPerHost` \
(which net/http treats alike), reqwest's `pool_max_idle_per_host: 0` (which turns pooling \
off), an idle timeout of 0 in reqwest, httpx and aiohttp (which expires every idle \
connection at once), and a lifetime or idle timeout of 0 in .NET (`PooledConnectionLifetime`, \
`PooledConnectionIdleTimeout`: `SocketsHttpHandler` then stores no connection for reuse), in \
Reactor Netty (`maxLifeTime`, `maxIdleTime`: its pool evicts every connection) and in HttpClient 5 \
(`evictIdleConnections`: its evictor thread closes every idle connection at once).\n\n\
Why is this bad: each request opens a new connection to the sidecar and the sidecar's upstream \
connection is not reused either: a connect per request, sockets in TIME_WAIT, and requests \
counted as pending while they wait for a connection, so a small `http1MaxPendingRequests` \
overflows under load far below what the pool could carry.\n\n\
Example:\n\n    # client (Go)\n    DisableKeepAlives: true\n\n\
Fixed:\n\n    DisableKeepAlives: false\n    MaxIdleConnsPerHost: 95\n"),
    /// The client fits the sidecar only when it is the pod's one process calling it.
    SharedBudget = ("ST309", "shared-budget", Error,
        "the client's settings fit the sidecar only when it is alone",
        "What it does: with `--processes N` (`Tuner::processes`), compares the client's idle pool \
and bound on requests in flight with one process's share of the sidecar: \
`max(1, floor(h x limit / N))`; a client above its share but within the whole budget is reported \
here (above the whole budget, ST301 and ST303 report it).\n\n\
Why is this bad: Envoy's circuit breakers count per sidecar and cluster, for every worker thread \
and so for every process and container of the pod. A gunicorn app with 4 workers, or 3 containers \
calling the same service, each sized to the whole budget, overflow it together: each is within \
the limits alone, and the pod gets 503 `UO` under load.\n\n\
Example:\n\n    # DestinationRule\n    connectionPool:\n      tcp: {maxConnections: 100}\n      http: {http1MaxPendingRequests: 10}\n    # client (Go), one of 4 gunicorn-like workers: --processes 4\n    MaxConnsPerHost: 104\n\n\
Fixed:\n\n    MaxConnsPerHost: 26\n"),
    /// The server closes idle connections before its sidecar does.
    ServerClosesIdleFirst = ("ST401", "server-closes-idle-first", Error,
        "the server closes idle connections before its sidecar does",
        "What it does: compares when the application server closes an idle keep-alive \
connection (Go's `IdleTimeout`, else `ReadTimeout`; Node's `keepAliveTimeout` plus its \
`keepAliveTimeoutBuffer`, 5s + 1s; gunicorn's \
`keepalive`, 2s; uvicorn's `timeout_keep_alive`, 5s; Tomcat's `keep-alive-timeout`, else \
`connection-timeout`, 60s; hyper's `header_read_timeout` with a timer) with the idle timeout of \
the sidecar in front of it (the rule's `http.idleTimeout`, else `tcp.idleTimeout`, else \
Envoy's 1h).\n\n\
Why is this bad: the server's sidecar keeps idle connections to the application for its idle \
timeout and sends the next request on one of them. When the server closes that connection just \
as the request goes out, the request is lost: the caller gets 503 with response flag `UC` \
(\"upstream connection termination\"), although the service is healthy. Most servers close \
idle connections far sooner than Envoy's hour. The side that closes first must be the sidecar: \
its idle timeout below the server's keep-alive, or the server's keep-alive above it.\n\n\
Example:\n\n    # DestinationRule: no idleTimeout, so Envoy's 1h\n    # server (Node)\n    keepAliveTimeout: 5000\n\n\
Fixed (either):\n\n    # DestinationRule\n    http: {idleTimeout: 5400ms}\n    # server (Node)\n    keepAliveTimeout: 3960000\n"),
    /// The server keeps no connection alive.
    ServerKeepAliveOff = ("ST402", "server-keepalive-off", Warning,
        "the server closes the connection after every response",
        "What it does: reports a server that keeps no connection for a next request: gunicorn's \
default `sync` worker, `keepalive: 0`, uvicorn's `timeout_keep_alive: 0`, Tomcat's \
`max-keep-alive-requests: 1`, Node's \
`maxRequestsPerSocket: 1`, hyper's `keep_alive: false` or, with a `timer`, \
`header_read_timeout: 0s`, Go's `SetKeepAlivesEnabled: false`.\n\n\
Why is this bad: the sidecar in front of the server connects anew for every request: a \
connect per request on the pod's loopback, sockets in TIME_WAIT, and requests waiting for those \
connections count as pending in the inbound pool, which a small `http1MaxPendingRequests` \
overflows under load.\n\n\
Example:\n\n    # server (gunicorn)\n    worker_class: sync\n\n\
Fixed:\n\n    worker_class: gthread\n    keepalive: 75\n"),
    /// The server runs several worker processes behind one sidecar.
    ServerWorkers = ("ST403", "server-workers", Note,
        "the server runs several worker processes behind one sidecar",
        "What it does: notes a server with more than one worker process (gunicorn's and \
uvicorn's `workers`) while the client plan assumes one process.\n\n\
Why is this bad: each worker that calls other services has its own HTTP client, and all of \
them go through the pod's one sidecar, whose circuit breakers count for the whole pod. Clients \
planned for one process each overflow it together.\n\n\
Example:\n\n    # server (gunicorn)\n    workers: 4\n\n\
Fixed: plan the clients with `--processes 4` (`Tuner::processes(4)`), so that each worker \
takes a quarter of the budget.\n"),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            let info = code.info();
            assert!(seen.insert(info.id), "duplicate {}", info.id);
            assert!(seen.insert(info.name), "duplicate name {}", info.name);
            assert!(
                info.id.starts_with("ST") && info.id.len() == 5,
                "{}",
                info.id
            );
            let first = info.summary.chars().next().unwrap();
            assert!(
                !first.is_uppercase(),
                "{}: summary starts lowercase",
                info.id
            );
            assert!(!info.summary.ends_with('.'), "{}: no final period", info.id);
            assert!(info.explanation.contains("What it does:"), "{}", info.id);
            assert!(info.explanation.contains("Why is this bad:"), "{}", info.id);
            assert!(info.explanation.contains("Example"), "{}", info.id);
        }
    }

    #[test]
    fn codes_parse_by_id_and_name() {
        assert_eq!("st101".parse::<Code>(), Ok(Code::UnknownField));
        assert_eq!(
            "policy-drops-limit".parse::<Code>(),
            Ok(Code::PolicyDropsLimit)
        );
        assert!("ST999".parse::<Code>().is_err());
    }
}
