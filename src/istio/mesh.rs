//! MeshConfig: the mesh-wide settings that change what a sidecar enforces, read from a MeshConfig
//! YAML (the `mesh` key of the `istio` ConfigMap) or from the ConfigMap itself.
//!
//! Only the fields that shape an outbound cluster, or decide whether there is one, are read
//! (`rootNamespace`, `defaultTrafficPolicy`, `connectTimeout`, `tcpKeepalive`,
//! `h2UpgradePolicy`, `defaultDestinationRuleExportTo`, `defaultServiceExportTo`,
//! `defaultVirtualServiceExportTo`, `outboundTrafficPolicy`). The other fields of Istio's MeshConfig are ignored, but a key that
//! is no MeshConfig field and is close to one of the read ones is a typo (ST101).

use std::sync::Arc;
use std::time::Duration;

use super::model::{ConnectionPool, Located, OutlierDetection, TcpKeepalive, block, dur, string};
use super::schema::{Schema, Walker, suggest, truncate};
use super::validate::Validator;
use super::yaml::{self, Node, Value};
use crate::diag::{Code, Finding, Location, Sources};

/// Istio's root namespace when MeshConfig names none.
pub const DEFAULT_ROOT_NAMESPACE: &str = "istio-system";
/// The name of the ConfigMap that holds the mesh's MeshConfig.
pub const CONFIG_MAP_NAME: &str = "istio";

/// The fields this tool reads.
const READ_FIELDS: &[&str] = &[
    "rootNamespace",
    "defaultTrafficPolicy",
    "connectTimeout",
    "tcpKeepalive",
    "h2UpgradePolicy",
    "defaultDestinationRuleExportTo",
    "outboundTrafficPolicy",
    "defaultServiceExportTo",
    "defaultVirtualServiceExportTo",
];

/// Every top-level field of Istio's `MeshConfig` (istio/api `mesh/v1alpha1/config.proto`):
/// present in real ConfigMaps and ignored here.
const OTHER_FIELDS: &[&str] = &[
    "proxyListenPort",
    "proxyInboundListenPort",
    "proxyHttpPort",
    "hboneIdleTimeout",
    "protocolDetectionTimeout",
    "ingressClass",
    "ingressService",
    "ingressControllerMode",
    "ingressSelector",
    "enableTracing",
    "accessLogFile",
    "accessLogFormat",
    "accessLogEncoding",
    "enableEnvoyAccessLogService",
    "disableEnvoyListenerLog",
    "defaultConfig",
    "inboundTrafficPolicy",
    "configSources",
    "enableAutoMtls",
    "trustDomain",
    "trustDomainAliases",
    "caCertificates",
    "localityLbSetting",
    "zoneAwareLbSetting",
    "dnsRefreshRate",
    "inboundClusterStatName",
    "outboundClusterStatName",
    "certificates",
    "serviceSettings",
    "serviceScopeConfigs",
    "enablePrometheusMerge",
    "verifyCertificateAtClient",
    "ca",
    "extensionProviders",
    "defaultProviders",
    "discoverySelectors",
    "pathNormalization",
    "defaultHttpRetryPolicy",
    "meshMTLS",
    "tlsDefaults",
    "serviceEntryVisibility",
];

/// The MeshConfig fields that shape a sidecar's outbound clusters. The default value is Istio's
/// default mesh.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct MeshConfig {
    /// `rootNamespace` (Istio's default: `istio-system`).
    pub root_namespace: Option<Located<String>>,
    /// `defaultTrafficPolicy.connectionPool`: the pool of every cluster whose policy sets none.
    pub default_connection_pool: Option<ConnectionPool>,
    /// `defaultTrafficPolicy.outlierDetection`, likewise.
    pub default_outlier_detection: Option<OutlierDetection>,
    /// `connectTimeout`, which replaces Istio's 10s default.
    pub connect_timeout: Option<Located<Duration>>,
    /// `tcpKeepalive`: the base that a rule's `tcpKeepalive` overrides field by field.
    pub tcp_keepalive: Option<TcpKeepalive>,
    /// `h2UpgradePolicy: UPGRADE` (`true`) or `DO_NOT_UPGRADE` (`false`).
    pub h2_upgrade: Option<Located<bool>>,
    /// `defaultDestinationRuleExportTo`: the visibility of rules without `exportTo`.
    pub default_destination_rule_export_to: Vec<Located<String>>,
    /// `defaultServiceExportTo`: the visibility of Services without an `exportTo`.
    pub default_service_export_to: Vec<Located<String>>,
    /// `defaultVirtualServiceExportTo`: the visibility of VirtualServices without `exportTo`.
    pub default_virtual_service_export_to: Vec<Located<String>>,
    /// `outboundTrafficPolicy.mode`: `true` for `REGISTRY_ONLY`, `false` for `ALLOW_ANY` and
    /// `ALLOW_ANY_DYNAMIC_DNS` (Istio's default is `ALLOW_ANY`).
    pub registry_only: Option<Located<bool>>,
    /// Where it was read; `None` for the default mesh.
    pub file: Option<Arc<str>>,
}

impl MeshConfig {
    /// The root namespace: `rootNamespace`, else `istio-system`.
    pub fn root_namespace(&self) -> &str {
        self.root_namespace
            .as_ref()
            .map_or(DEFAULT_ROOT_NAMESPACE, |n| n.value.as_str())
    }

    /// Whether a rule without `exportTo` is private to its namespace: MeshConfig's
    /// `defaultDestinationRuleExportTo` contains `.` (Istio honours only `.` and `*` there).
    pub fn rules_private_by_default(&self) -> bool {
        self.default_destination_rule_export_to
            .iter()
            .any(|e| e.value == ".")
    }

    /// Reads a MeshConfig object, reporting into `findings`.
    pub(crate) fn from_node(node: &Node, file: &Arc<str>, findings: &mut Vec<Finding>) -> Self {
        let mut mesh = Self {
            file: Some(Arc::clone(file)),
            ..Self::default()
        };
        let Some(entries) = node.as_map() else {
            if !matches!(node.value, Value::Null) {
                findings.push(Finding::new(
                    Code::WrongType,
                    Location::new(file, node.pos),
                    format!("MeshConfig must be a mapping, found {}", node.value.kind()),
                ));
            }
            return mesh;
        };
        let pool_schema = policy_schema("connectionPool");
        for (key, value) in entries {
            let name = key.as_str().unwrap_or_default();
            let mut walk = |schema: &Schema| {
                Walker::new(file, findings, &[name]).walk(value, schema);
            };
            match name {
                "rootNamespace" => match value.as_str() {
                    Some(_) => mesh.root_namespace = string(Some(value)),
                    None => findings.push(wrong_type(file, value, name, "a namespace name")),
                },
                "connectTimeout" => {
                    walk(field_schema(&["tcp", "connectTimeout"]));
                    mesh.connect_timeout = dur(Some(value));
                }
                "tcpKeepalive" => {
                    walk(field_schema(&["tcp", "tcpKeepalive"]));
                    mesh.tcp_keepalive = block(Some(value), TcpKeepalive::from_node);
                }
                "h2UpgradePolicy" => {
                    mesh.h2_upgrade = flag(
                        value,
                        file,
                        findings,
                        ("h2UpgradePolicy", "H2UpgradePolicy"),
                        &[("DO_NOT_UPGRADE", false), ("UPGRADE", true)],
                    );
                }
                "defaultDestinationRuleExportTo" => {
                    mesh.default_destination_rule_export_to = strings(value, file, findings, name);
                }
                "defaultServiceExportTo" => {
                    mesh.default_service_export_to = strings(value, file, findings, name);
                }
                "defaultVirtualServiceExportTo" => {
                    mesh.default_virtual_service_export_to = strings(value, file, findings, name);
                }
                "defaultTrafficPolicy" => {
                    mesh.default_traffic_policy(value, file, findings, pool_schema);
                }
                "outboundTrafficPolicy" => {
                    if value.as_map().is_none() && value.value != Value::Null {
                        findings.push(wrong_type(file, value, name, "a mapping"));
                    }
                    for (key, _) in value.as_map().unwrap_or_default() {
                        let field = key.as_str().unwrap_or_default();
                        if field != "mode" {
                            findings.push(
                                Finding::new(
                                    Code::UnknownField,
                                    Location::new(file, key.pos),
                                    format!(
                                        "unknown field `outboundTrafficPolicy.{}`",
                                        truncate(field)
                                    ),
                                )
                                .help("MeshConfig's outboundTrafficPolicy has `mode`"),
                            );
                        }
                    }
                    match value.get("mode") {
                        Some(mode) => {
                            mesh.registry_only = flag(
                                mode,
                                file,
                                findings,
                                ("outboundTrafficPolicy.mode", "outbound traffic policy mode"),
                                &[
                                    ("ALLOW_ANY", false),
                                    ("REGISTRY_ONLY", true),
                                    ("ALLOW_ANY_DYNAMIC_DNS", false),
                                ],
                            );
                        }
                        // Istio reads the file over its default mesh (`ApplyMeshConfig`), and
                        // jsonpb replaces a message field whole (`m.NewField`, `m.Set`): a policy
                        // without `mode` is the enumeration's zero value, REGISTRY_ONLY, not the
                        // default's ALLOW_ANY; `null` leaves the default.
                        None if value.as_map().is_some() => {
                            mesh.registry_only = Some(Located::new(true, value.pos));
                        }
                        None => {}
                    }
                }
                _ if OTHER_FIELDS.contains(&name) => {}
                _ => {
                    if let Some(close) = suggest(name, READ_FIELDS.iter().copied()) {
                        findings.push(
                            Finding::new(
                                Code::UnknownField,
                                Location::new(file, key.pos),
                                format!("unknown MeshConfig field `{}`", truncate(name)),
                            )
                            .help(format!("did you mean `{close}`?")),
                        );
                    }
                }
            }
        }
        mesh
    }

    fn default_traffic_policy(
        &mut self,
        node: &Node,
        file: &Arc<str>,
        findings: &mut Vec<Finding>,
        pool_schema: &Schema,
    ) {
        const FIELDS: &[&str] = &["connectionPool", "outlierDetection"];
        let Some(entries) = node.as_map() else {
            if !matches!(node.value, Value::Null) {
                findings.push(wrong_type(file, node, "defaultTrafficPolicy", "a mapping"));
            }
            return;
        };
        for (key, value) in entries {
            let name = key.as_str().unwrap_or_default();
            let path = ["defaultTrafficPolicy", name];
            match name {
                "connectionPool" => {
                    Walker::new(file, findings, &path).walk(value, pool_schema);
                    Validator::new(file, findings).connection_pool(value);
                    self.default_connection_pool = block(Some(value), ConnectionPool::from_node);
                }
                "outlierDetection" => {
                    Walker::new(file, findings, &path)
                        .walk(value, policy_schema("outlierDetection"));
                    Validator::new(file, findings).outlier_detection(value);
                    self.default_outlier_detection =
                        block(Some(value), OutlierDetection::from_node);
                }
                _ => {
                    let mut finding = Finding::new(
                        Code::UnknownField,
                        Location::new(file, key.pos),
                        format!("unknown field `defaultTrafficPolicy.{}`", truncate(name)),
                    );
                    finding.help = Some(match suggest(name, FIELDS.iter().copied()) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => "MeshConfig's defaultTrafficPolicy has `connectionPool` and `outlierDetection`".into(),
                    });
                    findings.push(finding);
                }
            }
        }
    }
}

/// Reads the MeshConfig of an `istio` ConfigMap object: its `data.mesh` key, a YAML text that is
/// read as a file of its own, named `FILE#data.mesh`, whose text joins `sources` for snippets.
pub(crate) fn from_config_map(
    object: &Node,
    file: &Arc<str>,
    findings: &mut Vec<Finding>,
    sources: &mut Sources,
) -> Option<MeshConfig> {
    let Some(mesh) = object.get("data").and_then(|d| d.get("mesh")) else {
        findings.push(
            Finding::new(
                Code::MissingField,
                Location::new(file, object.pos),
                "ConfigMap `istio` has no `data.mesh`",
            )
            .help("the `mesh` key of the `istio` ConfigMap holds the MeshConfig"),
        );
        return None;
    };
    let Some(text) = mesh.as_str() else {
        findings.push(wrong_type(file, mesh, "data.mesh", "a string of YAML"));
        return None;
    };
    let name: Arc<str> = Arc::from(format!("{file}#data.mesh"));
    let text: Arc<str> = Arc::from(text);
    sources.insert(&name, Arc::clone(&text));
    let documents = match yaml::parse_stream(&text, text.len()) {
        Ok(documents) => documents,
        Err(e) => {
            let mut finding = Finding::new(
                Code::YamlSyntax,
                Location::new(&name, e.pos.unwrap_or_default()),
                e.message,
            );
            finding.help = e.help;
            findings.push(finding);
            return None;
        }
    };
    let document = documents.into_iter().find(|d| d.root.is_some())?;
    findings.extend(document.octal_findings(&name));
    Some(MeshConfig::from_node(
        document.root.as_ref()?,
        &name,
        findings,
    ))
}

/// Whether an object is the mesh's ConfigMap: `kind: ConfigMap` named `istio`.
pub(crate) fn is_mesh_config_map(object: &Node) -> bool {
    object.get("kind").and_then(Node::as_str) == Some("ConfigMap")
        && object
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Node::as_str)
            == Some(CONFIG_MAP_NAME)
}

fn policy_schema(group: &str) -> &'static Schema {
    Schema::destination_rule()
        .property("spec")
        .and_then(|s| s.property("trafficPolicy"))
        .and_then(|s| s.property(group))
        .expect("the DestinationRule schema has the traffic policy groups")
}

fn field_schema(path: &[&str]) -> &'static Schema {
    path.iter()
        .try_fold(policy_schema("connectionPool"), |s, p| s.property(p))
        .expect("the DestinationRule schema has the connection pool fields")
}

/// A list of strings; an item or a value of another type is reported and left out.
fn strings(
    node: &Node,
    file: &Arc<str>,
    findings: &mut Vec<Finding>,
    field: &str,
) -> Vec<Located<String>> {
    let Some(items) = node.as_seq() else {
        findings.push(wrong_type(file, node, field, "a list"));
        return Vec::new();
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match string(Some(item)) {
            Some(e) => out.push(e),
            None => findings.push(wrong_type(file, item, field, "a string")),
        }
    }
    out
}

/// A MeshConfig enumeration read as a flag: the flag of the value among `values`, else an
/// ST105 finding naming the `(field, enumeration)` and the values.
fn flag(
    node: &Node,
    file: &Arc<str>,
    findings: &mut Vec<Finding>,
    (field, enumeration): (&str, &str),
    values: &[(&str, bool)],
) -> Option<Located<bool>> {
    let text = node.as_str();
    if let Some(&(_, on)) = values.iter().find(|(v, _)| Some(*v) == text) {
        return Some(Located::new(on, node.pos));
    }
    let names: Vec<String> = values.iter().map(|(v, _)| format!("`{v}`")).collect();
    let (last, rest) = names.split_last().expect("an enumeration has values");
    findings.push(
        Finding::new(
            Code::InvalidEnum,
            Location::new(file, node.pos),
            format!(
                "`{field}` is `{}`, not a MeshConfig {enumeration}",
                text.map_or(node.value.kind().into(), truncate)
            ),
        )
        .help(format!("use {} or {last}", rest.join(", "))),
    );
    None
}

fn wrong_type(file: &Arc<str>, node: &Node, field: &str, expected: &str) -> Finding {
    Finding::new(
        Code::WrongType,
        Location::new(file, node.pos),
        format!("`{field}` must be {expected}, found {}", node.value.kind()),
    )
}
