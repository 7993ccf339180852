//! The inbound policy of a server workload: the connection pool its own sidecar enforces on
//! the traffic that reaches it, as Istio's control plane computes it (read at istio/istio
//! 86c9f01fd735). Pure: no I/O.
//!
//! 1. **The rule** (`cluster_builder.go` `buildInboundCluster`): the DestinationRule of the
//!    workload's own service, looked up from the workload's namespace as for outbound
//!    ([`MeshIndex::resolve`]), except that workload-selector rules never apply
//!    (`sidecar.go` `SidecarScope.DestinationRule` honours them for outbound only) and subsets
//!    play no part: the rule's `portLevelSettings` entry for the service port, else its
//!    top-level policy (`GetPortLevelTrafficPolicy`).
//! 2. **The mesh** (`applyDefaultTrafficPolicy`): MeshConfig's `defaultTrafficPolicy` fills a
//!    `connectionPool` the rule leaves out.
//! 3. **The Sidecar** (`SidecarScope.InboundConnectionPoolForPort`): the `connectionPool` of
//!    the Sidecar's `ingress[]` listener for the port, else its `inboundConnectionPool`,
//!    replaces the pool of steps 1 and 2 whole.
//! 4. **Inbound only** (`applyTrafficPolicy`): the connection pool (and retry budget) is all
//!    that applies; outlier detection, load balancing, TLS and the HTTP/2 upgrade do not.
//!
//! Which Sidecar applies (`push_context.go` `initSidecarScopes`, `doGetSidecarScope`): the
//! Sidecars of the workload's namespace, those with a `workloadSelector` first, each group
//! oldest first (then by name and namespace); the first whose selector labels are a subset of
//! the workload's, else the first without a selector; else the root namespace's first Sidecar
//! without a selector; else none.
//!
//! ```
//! use sidecar_tuner::istio::inbound::resolve_inbound;
//! use sidecar_tuner::istio::load::{LoadOptions, load_str};
//! use sidecar_tuner::istio::resolve::{Destination, MeshIndex};
//! use sidecar_tuner::istio::MeshConfig;
//!
//! let yaml = r#"
//! apiVersion: networking.istio.io/v1
//! kind: DestinationRule
//! metadata: {name: reviews, namespace: prod}
//! spec:
//!   host: reviews
//!   trafficPolicy:
//!     connectionPool: {tcp: {maxConnections: 100}}
//! ---
//! apiVersion: networking.istio.io/v1
//! kind: Sidecar
//! metadata: {name: reviews, namespace: prod}
//! spec:
//!   workloadSelector: {labels: {app: reviews}}
//!   inboundConnectionPool: {tcp: {maxConnections: 20}}
//! "#;
//! let loaded = load_str(yaml, &"in.yaml".into(), &LoadOptions::default());
//! let mesh = MeshConfig::default();
//! let index = MeshIndex::new(&loaded.rules, &mesh, "prod");
//! let server = Destination::new("reviews").namespace("prod").labels([("app", "reviews")]).port(9080);
//! let inbound = resolve_inbound(&index, &loaded.sidecars, &server, None)?;
//! assert_eq!(inbound.sidecar.map(|s| s.id()).as_deref(), Some("prod/reviews"));
//! assert_eq!(inbound.resolution.policy.thresholds().max_connections, 20);
//! # Ok::<(), sidecar_tuner::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::model::{Sidecar, namespace_or};
use super::resolve::{Destination, MeshIndex, PolicySource, Resolution, Sourced};
use crate::error::Error;

/// Why a Sidecar applies to a workload.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SidecarStep {
    /// Its `workloadSelector` selects the workload, in the workload's namespace.
    Selector,
    /// It is the workload's namespace's Sidecar without a selector.
    Namespace,
    /// It is the root namespace's Sidecar without a selector.
    RootNamespace,
}

impl fmt::Display for SidecarStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SidecarStep::Selector => "its workloadSelector selects the workload",
            SidecarStep::Namespace => "the namespace's Sidecar without a workloadSelector",
            SidecarStep::RootNamespace => "the root namespace's Sidecar without a workloadSelector",
        })
    }
}

/// The inbound policy of one server workload.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Inbound<'a> {
    /// The rule part, as for outbound: the workload (its namespace, labels, port) in
    /// `destination`, the rule chosen, the rules passed over; `policy` is the inbound policy,
    /// the Sidecar's pool included.
    pub resolution: Resolution<'a>,
    /// The Sidecar that applies to the workload, if any.
    pub sidecar: Option<&'a Sidecar>,
    /// Why it applies.
    pub sidecar_step: Option<SidecarStep>,
}

/// The Sidecar that applies to a workload of `namespace` with `labels` (Istio's
/// `doGetSidecarScope`); a Sidecar without a namespace lives in `default_namespace`.
pub fn select_sidecar<'a>(
    sidecars: &'a [Sidecar],
    namespace: &str,
    labels: &BTreeMap<String, String>,
    root_namespace: &str,
    default_namespace: &str,
) -> Option<(&'a Sidecar, SidecarStep)> {
    let ns = |s: &'a Sidecar| namespace_or(s.namespace.as_ref(), default_namespace);
    let mut ordered: Vec<&'a Sidecar> = sidecars.iter().collect();
    // initSidecarScopes: selector Sidecars first, each group by creation time (a missing one
    // is Go's zero time, first), then name, then namespace.
    ordered.sort_by(|a, b| {
        b.workload_selector
            .is_some()
            .cmp(&a.workload_selector.is_some())
            .then_with(|| {
                let time = |s: &Sidecar| s.creation_timestamp.as_ref().map(|t| t.value);
                time(a).cmp(&time(b))
            })
            .then_with(|| a.name.value.cmp(&b.name.value))
            .then_with(|| ns(a).cmp(ns(b)))
    });
    for sidecar in ordered.iter().filter(|s| ns(s) == namespace) {
        match &sidecar.workload_selector {
            Some(selector) => {
                if selector.value.iter().all(|(k, v)| labels.get(k) == Some(v)) {
                    return Some((sidecar, SidecarStep::Selector));
                }
            }
            None => return Some((sidecar, SidecarStep::Namespace)),
        }
    }
    ordered
        .into_iter()
        .find(|s| ns(s) == root_namespace && s.workload_selector.is_none())
        .map(|s| (s, SidecarStep::RootNamespace))
}

/// Resolves the inbound policy of the server workload `workload` describes: its own service
/// (`host`, short names taken in its namespace), its `namespace`, its `labels` and the service
/// `port`, which selects the rule's `portLevelSettings`. `workload_port` is the port the
/// application listens on (the Service's `targetPort`), which selects the Sidecar's
/// `ingress[]` listener (`InboundConnectionPoolForPort(clusterPort)`); `None` means the same as
/// the service port. Sidecars without a namespace live in the index's default namespace.
///
/// # Errors
/// [`crate::ErrorKind::InvalidSetting`] when `workload` names a subset: subsets do not
/// apply to inbound traffic.
pub fn resolve_inbound<'a>(
    index: &MeshIndex<'a>,
    sidecars: &'a [Sidecar],
    workload: &Destination,
    workload_port: Option<u32>,
) -> Result<Inbound<'a>, Error> {
    if let Some(subset) = &workload.subset {
        return Err(Error::invalid_setting(
            "subset",
            subset,
            "none: Istio builds the inbound cluster from the rule's top-level or port-level policy",
        ));
    }
    let mut resolution = index.resolve_direction(workload, true)?;
    let chosen = select_sidecar(
        sidecars,
        &workload.namespace,
        &workload.labels,
        index.mesh().root_namespace(),
        index.default_namespace(),
    );
    if let Some((sidecar, _)) = chosen {
        let file = Arc::clone(&sidecar.origin.file);
        let ingress = workload_port.or(workload.port).and_then(|port| {
            sidecar.ingress.iter().find_map(|i| {
                (i.port.as_ref().map(|p| p.value) == Some(port))
                    .then_some(i.connection_pool.as_ref())
                    .flatten()
                    .map(|pool| (pool, PolicySource::SidecarIngress(port)))
            })
        });
        let pool = ingress.or_else(|| {
            sidecar
                .inbound_connection_pool
                .as_ref()
                .map(|pool| (pool, PolicySource::SidecarInbound))
        });
        if let Some((value, source)) = pool {
            resolution.policy.connection_pool = Some(Sourced {
                value,
                source,
                file,
            });
        }
    }
    let policy = &mut resolution.policy;
    policy.outlier_detection = None;
    policy.load_balancer = None;
    policy.tls = None;
    policy.tunnel = None;
    policy.proxy_protocol = None;
    policy.mesh.h2_upgrade = None;
    policy.inbound = true;
    let (sidecar, sidecar_step) = chosen.unzip();
    Ok(Inbound {
        resolution,
        sidecar,
        sidecar_step,
    })
}
