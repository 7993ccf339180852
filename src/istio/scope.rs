//! The hosts a client's own sidecar has outbound clusters for (its `SidecarScope`): the services
//! exported to the client's namespace ([`exported_to`]), as a `Sidecar`'s egress listeners import
//! them (Istio's `sidecar.go`, read at istio/istio 86c9f01fd735). Pure: no I/O.
//!
//! A Sidecar without `egress` imports `*/*` (`initSidecarScopeInternalIndexes`). Otherwise each
//! listener's `hosts` are `namespace/dnsName` entries (`convertIstioListenerToWrapper`): `.` is
//! the client's namespace (also for the root namespace's Sidecar, which Istio converts for each
//! namespace), `*` every namespace, a `~` prefix excludes the hosts it names (`~/h` in every
//! namespace), and an entry without exactly one `/` imports nothing. A service is imported
//! (`selectServices`) unless an exclusion of its namespace or of `*` covers it; then if the
//! entries of its namespace match its hostname, else if those of `*` do; a hostname matches an
//! exact entry only when equal, as written (`bookinfo/reviews` names no
//! `reviews.bookinfo.svc.cluster.local`), and a wildcard entry by suffix
//! (`hostClassification.Matches`, `host.Name.SubsetOf`). A listener with a port imports the
//! service on that port only, unless its protocol is `HTTP_PROXY` (`needsPortMatch`).
//!
//! A listener also imports the destinations of the VirtualServices it selects
//! (`SelectVirtualServices`, `collectImportedServices`): a VirtualService bound to the sidecars
//! (`gateways` none or `mesh`) and exported to the client's namespace, one of whose hosts (short
//! names in its own namespace, `ResolveShortnameToFQDN`) matches the listener's entries of its
//! namespace or of `*` (`VSMatches`: a wildcard on either side) and no exclusion; its routes'
//! destinations for the client's namespace (`sourceNamespace`), on the listener's port if it has
//! one, else on the routes' ports (all of them for a route without one). A route that delegates
//! stands for the `http` routes of its delegate, merged as `mergeVirtualServices` merges them.
//!
//! ServiceEntries: a host's namespace is that of the entries visible to the client that define
//! it exactly on the port, the client's own or else the oldest ([`service_entry_namespace`]); a
//! host none of them defines but a wildcard host covers is served by that wildcard's service
//! ([`service_entry_wildcard`]). Not modelled: MeshConfig's `serviceEntryVisibility`, the pick
//! among namespaces for a host only a VirtualService imports (`pickBestVisibleNamespace`, which
//! leaves equal creation times to map order), the conflicts of a delegate's matches other than
//! `sourceNamespace`, and Gateway API routes.

use std::collections::BTreeMap;

use super::MeshConfig;
use super::model::{
    ServiceEntry, Sidecar, SidecarEgress, VirtualService, VirtualServiceRoute, namespace_or,
};

/// The namespace part of an egress host that stands for every namespace.
const EVERY_NAMESPACE: &str = "*";

/// Whether a service of `namespace` whose `exportTo` is `export_to` (a Service's
/// `networking.istio.io/exportTo` annotation, a ServiceEntry's `exportTo`) is visible to
/// clients of `client_namespace` (Istio's `PushContext.IsServiceVisible` and `serviceExportTo`):
/// that list, else MeshConfig's `defaultServiceExportTo`, else `*`; `*` exports to every
/// namespace, `.` to its own, a name to that namespace, `~` to none.
pub(crate) fn exported_to(
    export_to: Option<&[String]>,
    namespace: &str,
    mesh: &MeshConfig,
    client_namespace: &str,
) -> bool {
    let export_to: Vec<&str> = match export_to {
        Some(list) => list.iter().map(String::as_str).collect(),
        None if !mesh.default_service_export_to.is_empty() => mesh
            .default_service_export_to
            .iter()
            .map(|e| e.value.as_str())
            .collect(),
        None => vec!["*"],
    };
    export_to.iter().any(|e| {
        *e == "*" || (*e == "." && namespace == client_namespace) || *e == client_namespace
    })
}

/// The namespace of the ServiceEntries among `entries` that define the host `fqdn` on `port`
/// ([`serves_on`]) for a client of `client_namespace`, as its sidecar picks the service of a
/// hostname that several namespaces define (`selectServices`, `PILOT_UNIFIED_SIDECAR_SCOPE`
/// on by default): of those visible to it, one of the client's namespace, else the first in
/// Istio's order of services (`SortServicesByCreationTime`: the oldest, a missing
/// `creationTimestamp` first as Go's zero time, then by namespace). `None` when none defines
/// it. An entry without a namespace lives in `default_namespace`.
pub(crate) fn service_entry_namespace<'a>(
    entries: &'a [ServiceEntry],
    fqdn: &str,
    port: Option<u32>,
    client_namespace: &str,
    mesh: &MeshConfig,
    default_namespace: &'a str,
) -> Option<&'a str> {
    let defining: Vec<(&ServiceEntry, &str)> = entries
        .iter()
        .filter(|e| e.hosts.iter().any(|h| h == fqdn) && serves_on(&e.ports, port))
        .map(|e| (e, namespace_or(e.namespace.as_ref(), default_namespace)))
        .filter(|(e, namespace)| visible(e, namespace, mesh, client_namespace))
        .collect();
    if let Some((_, own)) = defining.iter().find(|(_, n)| *n == client_namespace) {
        return Some(own);
    }
    defining
        .iter()
        .min_by_key(|(e, namespace)| (e.creation_timestamp.as_ref().map(|t| t.value), *namespace))
        .map(|(_, namespace)| *namespace)
}

/// The wildcard host of the ServiceEntries among `entries` that serves `fqdn` on `port` for a
/// client of `client_namespace`, when none visible to it defines `fqdn` itself on that port
/// (the sidecar's routes and listeners are per port): the most specific (longest) of the
/// visible entries' wildcard hosts that covers it, as the sidecar picks a virtual host for the
/// request (an exact domain first, then the longest suffix) and its TLS listener a server name.
/// Its cluster is that host's (`outbound|443||*.example.com`), so are its import and its rules
/// (`MostSpecificHostMatch` with a wildcard needle; Istio issue 19459).
pub(crate) fn service_entry_wildcard<'a>(
    entries: &'a [ServiceEntry],
    fqdn: &str,
    port: Option<u32>,
    client_namespace: &str,
    mesh: &MeshConfig,
    default_namespace: &str,
) -> Option<&'a str> {
    let hosts = entries
        .iter()
        .filter(|e| {
            let namespace = namespace_or(e.namespace.as_ref(), default_namespace);
            serves_on(&e.ports, port) && visible(e, namespace, mesh, client_namespace)
        })
        .flat_map(|e| e.hosts.iter().map(String::as_str));
    let mut best: Option<&str> = None;
    for host in hosts {
        if host == fqdn {
            return None;
        }
        // `*` alone is no ServiceEntry host: Istio's webhook refuses it (`ValidateServiceEntry`).
        if is_wildcard(host)
            && host != "*"
            && subset_of(fqdn, host)
            && best.is_none_or(|b| host.len() > b.len())
        {
            best = Some(host);
        }
    }
    best
}

/// Whether a service with `ports` has a cluster on `port`: when one is named, the ports must
/// hold it, unless none is known (ports not in the input, or not read).
pub(crate) fn serves_on(ports: &[u32], port: Option<u32>) -> bool {
    port.is_none_or(|port| ports.is_empty() || ports.contains(&port))
}

/// Whether the ServiceEntry `entry` of `namespace` is visible to clients of `client_namespace`.
fn visible(
    entry: &ServiceEntry,
    namespace: &str,
    mesh: &MeshConfig,
    client_namespace: &str,
) -> bool {
    let export_to = entry.export_to.as_ref().map(|l| l.value.as_slice());
    exported_to(export_to, namespace, mesh, client_namespace)
}

/// The VirtualServices of the mesh: a Sidecar's egress listener imports the hosts their routes
/// send to (`collectImportedServices`).
#[derive(Clone, Copy)]
pub(crate) struct Routes<'a> {
    pub(crate) virtual_services: &'a [VirtualService],
    pub(crate) mesh: &'a MeshConfig,
    /// Where a VirtualService that names no namespace lives.
    pub(crate) default_namespace: &'a str,
}

/// Whether `sidecar`, applying to a client in `client_namespace`, imports the service `fqdn`
/// of `service_namespace` (`None`: not known, so any namespace may hold it) on `port` (`None`:
/// on some port): by its egress hosts, or by the routes of a VirtualService they import.
pub(crate) fn imports(
    sidecar: &Sidecar,
    client_namespace: &str,
    routes: Routes<'_>,
    fqdn: &str,
    service_namespace: Option<&str>,
    port: Option<u32>,
) -> bool {
    sidecar.egress.is_empty()
        || sidecar.egress.iter().any(|listener| {
            let hosts = Imports::of(listener, client_namespace);
            let on_port = match (&listener.port, port) {
                (Some(listener_port), Some(port)) => listener_port.value == port,
                _ => true,
            };
            (on_port && hosts.service(fqdn, service_namespace))
                || routes.import(&hosts, listener, client_namespace, fqdn, port)
        })
}

impl Routes<'_> {
    /// Whether a VirtualService that `hosts` (of `listener`) select routes to `fqdn` on `port`
    /// for clients of `client_namespace`.
    fn import(
        &self,
        hosts: &Imports<'_>,
        listener: &SidecarEgress,
        client_namespace: &str,
        fqdn: &str,
        port: Option<u32>,
    ) -> bool {
        self.virtual_services.iter().any(|vs| {
            let namespace = namespace_or(vs.namespace.as_ref(), self.default_namespace);
            if !self.visible(vs, namespace, client_namespace) || !hosts.select(vs, namespace) {
                return false;
            }
            // `virtualServiceDestinationsFilteredBySourceNamespace`: the routes for the
            // client's namespace (only the matches that set one count); 0 for a destination
            // without a port.
            let ports: Vec<u32> = self
                .merged_routes(vs, namespace)
                .into_iter()
                .filter(|route| {
                    let namespaces = route.source_namespaces.iter().filter(|n| !n.is_empty());
                    let mut set = namespaces.peekable();
                    set.peek().is_none() || set.any(|n| n == client_namespace)
                })
                .flat_map(|route| route.destinations)
                .filter(|(host, _)| host == fqdn)
                .map(|(_, port)| port.unwrap_or(0))
                .collect();
            !ports.is_empty()
                && match (&listener.port, port) {
                    // `serviceMatchingListenerPort`: the listener's port, whatever the route's.
                    (Some(listener_port), Some(port)) => listener_port.value == port,
                    // `serviceMatchingVirtualServicePorts`: the routes' ports, all for a 0.
                    (None, Some(port)) => ports.contains(&0) || ports.contains(&port),
                    (_, None) => true,
                }
        })
    }

    /// The routes of `vs` (of `namespace`) as the sidecars see them, once Istio has merged in
    /// the `http` routes of the VirtualServices they delegate to (`mergeVirtualServices`,
    /// `MergeHTTPRoutes`): a delegate is a VirtualService without hosts, of the namespace the
    /// route names (else `namespace`), exported to `namespace`; a route whose delegate is
    /// missing or hidden is dropped, and so is a delegate's route whose matches conflict with
    /// the root route's ([`merge_source_namespaces`]). A merged route keeps the root route's
    /// mirrors (Istio only when the delegate's route has none). Destinations fully qualified,
    /// short names in their VirtualService's namespace (`ResolveVirtualServiceShortnames`).
    fn merged_routes(&self, vs: &VirtualService, namespace: &str) -> Vec<MergedRoute> {
        let qualified =
            |route: &VirtualServiceRoute, namespace: &str| -> Vec<(String, Option<u32>)> {
                let destinations = route.destinations.iter();
                destinations
                    .map(|(host, port)| (full_name(host, namespace), *port))
                    .collect()
            };
        let mut out = Vec::new();
        for route in &vs.routes {
            let Some((name, delegate_namespace)) = &route.delegate else {
                out.push(MergedRoute {
                    source_namespaces: route.source_namespaces.clone(),
                    destinations: qualified(route, namespace),
                });
                continue;
            };
            let delegate_namespace = delegate_namespace.as_deref().unwrap_or(namespace);
            let delegate = self.virtual_services.iter().find(|d| {
                d.hosts.is_empty()
                    && d.name.value == *name
                    && namespace_or(d.namespace.as_ref(), self.default_namespace)
                        == delegate_namespace
            });
            let Some(delegate) =
                delegate.filter(|d| self.exported(d, delegate_namespace, namespace))
            else {
                continue;
            };
            for leaf in delegate.routes.iter().filter(|r| r.http) {
                let Some(source_namespaces) =
                    merge_source_namespaces(&route.source_namespaces, &leaf.source_namespaces)
                else {
                    continue;
                };
                let mut destinations = qualified(leaf, delegate_namespace);
                destinations.extend(qualified(route, namespace));
                out.push(MergedRoute {
                    source_namespaces,
                    destinations,
                });
            }
        }
        out
    }

    /// `initVirtualServices`: a VirtualService is bound to the sidecars (`gateways` none or
    /// `mesh`) and exported to the client's namespace ([`Routes::exported`]).
    fn visible(&self, vs: &VirtualService, namespace: &str, client_namespace: &str) -> bool {
        let mesh_bound = vs.gateways.is_empty() || vs.gateways.iter().any(|g| g == "mesh");
        mesh_bound && self.exported(vs, namespace, client_namespace)
    }

    /// Whether `vs` of `namespace` is exported to `to`: its `exportTo`, else MeshConfig's
    /// `defaultVirtualServiceExportTo`, else `*`; `*` wins over `~`, `~` over names.
    fn exported(&self, vs: &VirtualService, namespace: &str, to: &str) -> bool {
        let export_to: Vec<&str> = if !vs.export_to.is_empty() {
            vs.export_to.iter().map(String::as_str).collect()
        } else if !self.mesh.default_virtual_service_export_to.is_empty() {
            let defaults = &self.mesh.default_virtual_service_export_to;
            defaults.iter().map(|e| e.value.as_str()).collect()
        } else {
            vec!["*"]
        };
        let has = |e: &str| export_to.contains(&e);
        has("*") || (!has("~") && (has(to) || (has(".") && namespace == to)))
    }
}

/// A VirtualService route as the sidecars see it ([`Routes::merged_routes`]).
struct MergedRoute {
    /// The `sourceNamespace` of each match, empty for one that sets none.
    source_namespaces: Vec<String>,
    /// Fully qualified hosts, with their ports.
    destinations: Vec<(String, Option<u32>)>,
}

/// `mergeHTTPMatchRequests` for the `sourceNamespace` of the matches of a root route (`root`)
/// and of a route of its delegate (`leaf`): either side without matches takes the other's;
/// otherwise each leaf match merges with every root match it does not conflict with
/// (`hasConflict`: the root match sets a namespace and the leaf's is another, or none), and
/// keeps its own (`mergeHTTPMatchRequest` takes the root's only when the leaf's is empty, which
/// then the root's is too). `None` when a leaf match conflicts with every root match: Istio
/// drops the delegate's route. The other match fields' conflicts are not modelled.
fn merge_source_namespaces(root: &[String], leaf: &[String]) -> Option<Vec<String>> {
    if root.is_empty() {
        return Some(leaf.to_vec());
    }
    if leaf.is_empty() {
        return Some(root.to_vec());
    }
    let mut merged = Vec::new();
    for leaf_namespace in leaf {
        let before = merged.len();
        for root_namespace in root {
            if !root_namespace.is_empty() && leaf_namespace != root_namespace {
                continue;
            }
            merged.push(leaf_namespace.clone());
        }
        if merged.len() == before {
            return None;
        }
    }
    Some(merged)
}

/// `ResolveShortnameToFQDN`: a name without a dot (not `*`, not an IP address) is a service of
/// `namespace`.
fn full_name(host: &str, namespace: &str) -> String {
    if host == "*" || host.contains('.') || host.parse::<std::net::IpAddr>().is_ok() {
        host.to_owned()
    } else {
        format!("{host}.{namespace}.{}", super::resolve::CLUSTER_DOMAIN)
    }
}

/// One listener's hosts by namespace (Istio's `hostsByNamespace`).
#[derive(Default)]
struct Imports<'a> {
    by_namespace: BTreeMap<&'a str, Hosts<'a>>,
}

/// Istio's `hostClassification`.
#[derive(Default)]
struct Hosts<'a> {
    imported: Vec<&'a str>,
    excluded: Vec<&'a str>,
}

impl<'a> Imports<'a> {
    fn of(listener: &'a SidecarEgress, client_namespace: &'a str) -> Self {
        let mut imports = Self::default();
        for entry in &listener.hosts {
            if entry.value.matches('/').count() != 1 {
                continue;
            }
            let (namespace, name) = entry.value.split_once('/').expect("one slash");
            let (excluded, namespace) = match namespace.strip_prefix('~') {
                Some("") => (true, EVERY_NAMESPACE),
                Some(namespace) => (true, namespace),
                None => (false, namespace),
            };
            let namespace = if namespace == "." {
                client_namespace
            } else {
                namespace
            };
            let hosts = imports.by_namespace.entry(namespace).or_default();
            if excluded {
                hosts.excluded.push(name);
            } else {
                hosts.imported.push(name);
            }
        }
        imports
    }

    /// Istio's `selectServices` for one service.
    fn service(&self, fqdn: &str, service_namespace: Option<&str>) -> bool {
        let Some(namespace) = service_namespace else {
            // Any namespace may hold the service: one listed here, or one only `*` covers.
            return self
                .by_namespace
                .keys()
                .filter(|n| **n != EVERY_NAMESPACE)
                .any(|n| self.service(fqdn, Some(n)))
                || self.in_namespace(fqdn, None);
        };
        self.in_namespace(fqdn, Some(namespace))
    }

    /// `SelectVirtualServices`: whether the entries of the VirtualService's namespace, or of
    /// `*`, match one of its hosts that no exclusion of either covers.
    fn select(&self, vs: &VirtualService, namespace: &str) -> bool {
        let scopes: Vec<&Hosts<'_>> = [namespace, EVERY_NAMESPACE]
            .iter()
            .filter_map(|n| self.by_namespace.get(n))
            .collect();
        vs.hosts.iter().any(|host| {
            let host = full_name(host, namespace);
            scopes.iter().any(|h| h.matches_vs(&host)) && !scopes.iter().any(|h| h.excludes(&host))
        })
    }

    fn in_namespace(&self, fqdn: &str, namespace: Option<&str>) -> bool {
        let own = namespace.and_then(|n| self.by_namespace.get(n));
        let every = self.by_namespace.get(EVERY_NAMESPACE);
        if [own, every].into_iter().flatten().any(|h| h.excludes(fqdn)) {
            return false;
        }
        own.is_some_and(|h| h.matches(fqdn)) || every.is_some_and(|h| h.matches(fqdn))
    }
}

impl Hosts<'_> {
    /// `hostClassification.Matches`.
    fn matches(&self, host: &str) -> bool {
        self.imported.iter().any(|entry| {
            *entry == host || ((is_wildcard(host) || is_wildcard(entry)) && subset_of(host, entry))
        })
    }

    /// `hostClassification.VSMatches` (without Gateway API semantics): equal, or either side
    /// a wildcard covering the other (`host.Name.Matches`).
    fn matches_vs(&self, host: &str) -> bool {
        self.imported.iter().any(|entry| {
            *entry == host
                || ((is_wildcard(host) || is_wildcard(entry))
                    && (subset_of(host, entry) || subset_of(entry, host)))
        })
    }

    /// `hostClassification.Excluded`.
    fn excludes(&self, host: &str) -> bool {
        self.excluded.iter().any(|entry| subset_of(host, entry))
    }
}

fn is_wildcard(host: &str) -> bool {
    host.starts_with('*')
}

/// `host.Name.SubsetOf`: whether every host `host` names is one `of` names.
fn subset_of(host: &str, of: &str) -> bool {
    match (is_wildcard(host), is_wildcard(of)) {
        (true, true) => host.len() >= of.len() && host[1..].ends_with(&of[1..]),
        (true, false) => false,
        (false, true) => host.ends_with(&of[1..]),
        (false, false) => host == of,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::istio::load::{LoadOptions, load_str};

    fn sidecar(egress: &str) -> Sidecar {
        let yaml = format!(
            "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {{name: s, namespace: a}}\nspec:\n{egress}"
        );
        let loaded = load_str(&yaml, &Arc::from("s.yaml"), &LoadOptions::default());
        // Istio's test tables name services `host` and `alt`, short names its webhook refuses
        // (ST107): the model is built all the same, as Istio's function takes what it is given.
        assert!(
            loaded
                .findings
                .iter()
                .all(|f| f.code != crate::diag::Code::UnknownField),
            "{:?}",
            loaded.findings
        );
        loaded.sidecars.into_iter().next().expect("a Sidecar")
    }

    /// `imports` without VirtualServices, in Istio's default mesh.
    fn plain(
        sidecar: &Sidecar,
        client: &str,
        fqdn: &str,
        service_namespace: Option<&str>,
        port: Option<u32>,
    ) -> bool {
        let mesh = MeshConfig::default();
        let routes = Routes {
            virtual_services: &[],
            mesh: &mesh,
            default_namespace: "default",
        };
        imports(sidecar, client, routes, fqdn, service_namespace, port)
    }

    fn hosts(hosts: &[&str]) -> Sidecar {
        let list: Vec<String> = hosts.iter().map(|h| format!("'{h}'")).collect();
        sidecar(&format!("  egress:\n  - hosts: [{}]\n", list.join(", ")))
    }

    /// `sidecar_test.go` `TestIstioEgressListenerWrapper`: its services `host` and `alt` in
    /// namespaces `a` and `b`, `*.test.wildcard.com` in `b`; a case's expected services are the
    /// ones imported. (Its cases on one hostname in two namespaces, where Istio keeps the one of
    /// the client's namespace, are about ServiceEntries of a shared host: not modelled.)
    #[test]
    fn egress_hosts_import_as_istio_selects_services() {
        let imported = |sidecar: &Sidecar, client: &str, host: &str, namespace: &str| {
            plain(sidecar, client, host, Some(namespace), None)
        };
        // "a/* imports only those in a"
        let s = hosts(&["a/*"]);
        assert!(imported(&s, "a", "host", "a") && imported(&s, "a", "alt", "a"));
        assert!(!imported(&s, "a", "host", "b"));
        // "b/*, b/* imports only those in b"
        let s = hosts(&["b/*", "b/*"]);
        assert!(imported(&s, "a", "alt", "b") && !imported(&s, "a", "alt", "a"));
        // "*/alt imports alt in namespace a"
        let s = hosts(&["*/alt"]);
        assert!(imported(&s, "a", "alt", "a") && !imported(&s, "a", "host", "a"));
        // "b/alt imports alt in a namespaces": only b's
        let s = hosts(&["b/alt"]);
        assert!(imported(&s, "a", "alt", "b") && !imported(&s, "a", "alt", "a"));
        // "multiple hosts selected same service"
        let s = hosts(&["a/*", "*/*"]);
        assert!(imported(&s, "a", "host", "a"));
        // "fall back to wildcard namespace": a/alt does not match `host`, */host does
        let s = hosts(&["*/host", "a/alt"]);
        assert!(imported(&s, "a", "host", "a") && imported(&s, "a", "alt", "a"));
        // "service is wildcard, but not listener's subset"
        let s = hosts(&["b/wildcard.com"]);
        assert!(!imported(&s, "b", "*.test.wildcard.com", "b"));
        // "service is wildcard"
        let s = hosts(&["b/*.wildcard.com"]);
        assert!(imported(&s, "b", "*.test.wildcard.com", "b"));
        // "*/* excludes whole namespace b via ~b/*"
        let s = hosts(&["*/*", "~b/*"]);
        assert!(imported(&s, "a", "host", "a") && !imported(&s, "a", "host", "b"));
        // "*/* excludes exact host (all ports) from all namespaces via ~/host"
        let s = hosts(&["*/*", "~/host"]);
        assert!(!imported(&s, "a", "host", "a") && imported(&s, "a", "alt", "a"));
        // "wildcard exclusion ~b/*.wildcard.com drops matching service"
        let s = hosts(&["b/*", "~b/*.wildcard.com"]);
        assert!(!imported(&s, "b", "*.test.wildcard.com", "b"));
        // "ns-scoped exclusion does not affect other namespace"
        let s = hosts(&["*/*", "~a/*"]);
        assert!(imported(&s, "b", "host", "b") && !imported(&s, "b", "host", "a"));
    }

    /// `initSidecarScopeInternalIndexes`: no egress is `*/*`; `convertIstioListenerToWrapper`:
    /// `.` is the client's namespace, an entry without one `/` is skipped; exact entries
    /// compare as written (a short name, which the webhook refuses, imports nothing).
    #[test]
    fn egress_hosts_are_read_as_istio_reads_them() {
        let fqdn = "reviews.bookinfo.svc.cluster.local";
        let none = sidecar("  inboundConnectionPool: {tcp: {maxConnections: 5}}\n");
        assert!(plain(&none, "web", fqdn, Some("bookinfo"), None));
        let own = hosts(&["./*", "istio-system/*"]);
        assert!(plain(&own, "bookinfo", fqdn, Some("bookinfo"), None));
        assert!(!plain(&own, "web", fqdn, Some("bookinfo"), None));
        assert!(!plain(
            &hosts(&["bookinfo/reviews"]),
            "web",
            fqdn,
            Some("bookinfo"),
            None
        ));
        assert!(plain(
            &hosts(&[&format!("bookinfo/{fqdn}")]),
            "web",
            fqdn,
            Some("bookinfo"),
            None
        ));
        assert!(plain(
            &hosts(&["*/*.bookinfo.svc.cluster.local"]),
            "web",
            fqdn,
            Some("bookinfo"),
            None
        ));
        assert!(!plain(
            &hosts(&["*/*.prod.svc.cluster.local"]),
            "web",
            fqdn,
            Some("bookinfo"),
            None
        ));
        assert!(!plain(
            &hosts(&["bookinfo/a/b", "*"]),
            "web",
            fqdn,
            Some("bookinfo"),
            None
        ));
        assert!(!plain(
            &hosts(&["~/*", "*/*"]),
            "web",
            fqdn,
            Some("bookinfo"),
            None
        ));
        // A ServiceEntry host whose namespace is not known: any listed namespace may hold it.
        let host = "api.example.com";
        assert!(plain(
            &hosts(&["ext/api.example.com"]),
            "web",
            host,
            None,
            None
        ));
        assert!(plain(&hosts(&["*/*.example.com"]), "web", host, None, None));
        assert!(plain(&hosts(&["./*"]), "web", host, None, None));
        let elsewhere = hosts(&["ext/*.other.com", "istio-system/*.svc.cluster.local"]);
        assert!(!plain(&elsewhere, "web", host, None, None));
    }

    /// The names of `services` (name, namespace, `exportTo`) visible to clients of `proxy`.
    fn seen_by<'a>(
        services: &[(&'a str, &str, Option<Vec<String>>)],
        mesh: &MeshConfig,
        proxy: &str,
    ) -> Vec<&'a str> {
        let visible = |(_, namespace, export_to): &&(&str, &str, Option<Vec<String>>)| {
            exported_to(export_to.as_deref(), namespace, mesh, proxy)
        };
        services
            .iter()
            .filter(visible)
            .map(|(name, _, _)| *name)
            .collect()
    }

    /// `push_context_test.go` `TestServiceWithExportTo` and `TestServiceIndexDefaultServiceExportTo`:
    /// the services each proxy namespace sees (`servicesExportedToNamespace`).
    #[test]
    fn services_are_exported_to_the_namespaces_istio_lists() {
        let mesh = MeshConfig::default();
        let list = |entries: &[&str]| entries.iter().map(|e| (*e).to_owned()).collect::<Vec<_>>();
        let services = [
            ("svc1", "test1", Some(list(&[".", "ns1"]))),
            ("svc2", "test2", Some(list(&["test1", "ns1", "test2"]))),
            ("svc3", "test3", Some(list(&["test1", "*", "test2"]))),
            ("svc4", "test4", None),
        ];
        for (proxy, want) in [
            ("test1", ["svc1", "svc2", "svc3", "svc4"].as_slice()),
            ("test2", &["svc2", "svc3", "svc4"]),
            ("ns1", &["svc1", "svc2", "svc3", "svc4"]),
            ("random", &["svc3", "svc4"]),
        ] {
            assert_eq!(seen_by(&services, &mesh, proxy), want, "{proxy}");
        }
        // `TestServiceIndexDefaultServiceExportTo`: MeshConfig's `defaultServiceExportTo: [".",
        // bar]` for the services without one; an explicit `exportTo` is unaffected.
        let mesh = MeshConfig {
            default_service_export_to: [".", "bar"]
                .map(|e| crate::istio::Located::new(e.to_owned(), Default::default()))
                .to_vec(),
            ..MeshConfig::default()
        };
        let services = [
            ("svc-unset-1", "test1", None),
            ("svc-unset-2", "test2", None),
            ("svc-bar-ns", "bar", None),
            ("svc-public", "test1", Some(list(&["*"]))),
        ];
        for (proxy, want) in [
            ("test1", ["svc-unset-1", "svc-public"].as_slice()),
            ("test2", &["svc-unset-2", "svc-public"]),
            (
                "bar",
                &["svc-unset-1", "svc-unset-2", "svc-bar-ns", "svc-public"],
            ),
            ("other", &["svc-public"]),
        ] {
            assert_eq!(seen_by(&services, &mesh, proxy), want, "{proxy}");
        }
    }

    /// push_context_test.go `TestIsServiceVisible`, client namespace `foo`: a Service of
    /// `namespace` with the annotation `export_to` (none: the mesh's default `mesh_default`).
    /// (Its cases on MeshConfig's `serviceEntryVisibility` concern ServiceEntries.)
    #[test]
    fn services_are_visible_as_istio_exports_them() {
        let visible = |namespace: &str, export_to: Option<&str>, mesh_default: &[&str]| {
            let annotation = export_to
                .map(|e| format!(", annotations: {{networking.istio.io/exportTo: '{e}'}}"))
                .unwrap_or_default();
            let yaml = format!(
                "apiVersion: v1\nkind: Service\nmetadata: {{name: s, namespace: {namespace}{annotation}}}\nspec: {{ports: [{{port: 80}}]}}\n"
            );
            let loaded = load_str(&yaml, &Arc::from("s.yaml"), &LoadOptions::default());
            let mesh = MeshConfig {
                default_service_export_to: mesh_default
                    .iter()
                    .map(|e| crate::istio::Located::new((*e).to_owned(), Default::default()))
                    .collect(),
                ..MeshConfig::default()
            };
            let export_to = loaded.services[0].export_to.as_ref();
            exported_to(
                export_to.map(|l| l.value.as_slice()),
                namespace,
                &mesh,
                "foo",
            )
        };
        // "... has no exportTo map with global private": foo yes, bar no; "... global public"
        assert!(visible("foo", None, &["."]));
        assert!(!visible("bar", None, &["."]));
        assert!(visible("bar", None, &["*"]));
        // No default in the mesh: `*`.
        assert!(visible("bar", None, &[]));
        // "... has exportTo map with private", "... with public", "... specific namespace foo",
        // "... specific namespace baz"
        assert!(visible("foo", Some("."), &[]));
        assert!(!visible("bar", Some("."), &[]));
        assert!(visible("bar", Some("*"), &[]));
        assert!(visible("bar", Some("foo"), &[]));
        assert!(!visible("bar", Some("baz"), &[]));
        // "service visible to none", "both public visibility and none visibility", "both none
        // visibility and private visibility" (the annotation is split at commas and trimmed)
        assert!(!visible("bar", Some("~"), &[]));
        assert!(visible("bar", Some("*, ~"), &[]));
        assert!(!visible("bar", Some(".,~"), &[]));
        assert!(visible("bar", Some("baz, foo"), &[]));
        // "... global private and target namespace foo", "... and unrelated target namespace"
        assert!(visible("bar", None, &[".", "foo"]));
        assert!(!visible("bar", None, &[".", "baz"]));
        assert!(visible("foo", None, &[".", "baz"]));
    }

    /// The namespace of a ServiceEntry host: of the entries visible to the client that define
    /// it exactly, the client's own, else the oldest (`selectServices` keeps the client
    /// namespace's service of a hostname defined in several, else the first of the services in
    /// `SortServicesByCreationTime`'s order: creation time, then name, then namespace;
    /// `sidecar_test.go`'s "virtual-service-pick-by-creation-time" has the older `ns1` win).
    #[test]
    fn a_service_entry_host_lives_in_its_entry_namespace() {
        let entry = |namespace: &str, host: &str, export_to: &str| {
            format!(
                "---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{name: e, namespace: {namespace}}}\nspec: {{hosts: ['{host}']{export_to}}}\n"
            )
        };
        let created = |namespace: &str, at: &str| {
            format!(
                "---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{name: e, namespace: {namespace}, creationTimestamp: '{at}'}}\nspec: {{hosts: [api.example.com]}}\n"
            )
        };
        let namespace_of = |yaml: &str| {
            let loaded = load_str(yaml, &Arc::from("se.yaml"), &LoadOptions::default());
            let mesh = MeshConfig::default();
            service_entry_namespace(
                &loaded.service_entries,
                "api.example.com",
                None,
                "web",
                &mesh,
                "web",
            )
            .map(str::to_owned)
        };
        let api = "api.example.com";
        assert_eq!(
            namespace_of(&entry("egress", api, "")).as_deref(),
            Some("egress")
        );
        let twice = entry("egress", api, "") + &entry("egress", api, "");
        assert_eq!(namespace_of(&twice).as_deref(), Some("egress"));
        let own = entry("egress", api, "") + &entry("web", api, "");
        assert_eq!(namespace_of(&own).as_deref(), Some("web"));
        let two = entry("other", api, "") + &entry("egress", api, "");
        assert_eq!(
            namespace_of(&two).as_deref(),
            Some("egress"),
            "no creation times: by namespace"
        );
        let ns1_older =
            created("ns2", "1970-01-01T00:33:20Z") + &created("ns1", "1970-01-01T00:16:40Z");
        assert_eq!(namespace_of(&ns1_older).as_deref(), Some("ns1"));
        let ns2_older =
            created("ns1", "2024-05-01T10:00:01Z") + &created("ns2", "2024-05-01T10:00:00Z");
        assert_eq!(namespace_of(&ns2_older).as_deref(), Some("ns2"));
        let unknown_first = created("ns1", "2024-05-01T10:00:00Z") + &entry("ns2", api, "");
        assert_eq!(
            namespace_of(&unknown_first).as_deref(),
            Some("ns2"),
            "no creation time is Go's zero time, the oldest"
        );
        let own_newer =
            created("ns1", "2024-05-01T10:00:00Z") + &created("web", "2025-01-01T00:00:00Z");
        assert_eq!(namespace_of(&own_newer).as_deref(), Some("web"));
        let private = entry("egress", api, ", exportTo: [.]") + &entry("other", api, "");
        assert_eq!(namespace_of(&private).as_deref(), Some("other"));
        assert_eq!(namespace_of(&entry("egress", "*.example.com", "")), None);
    }

    /// The host of the service behind a host no visible ServiceEntry defines: the longest
    /// visible wildcard host that covers it, as the sidecar's routes pick a virtual host
    /// (Envoy: an exact domain, then the longest suffix wildcard) and its TLS listener a
    /// server name; Istio's cluster, import and rule lookup are then for that host.
    #[test]
    fn a_wildcard_service_entry_serves_the_hosts_no_entry_names() {
        let entry = |namespace: &str, hosts: &str, export_to: &str| {
            format!(
                "---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{name: e, namespace: {namespace}}}\nspec: {{hosts: [{hosts}]{export_to}}}\n"
            )
        };
        let served_on = |yaml: &str, host: &str, port: Option<u32>| {
            let loaded = load_str(yaml, &Arc::from("se.yaml"), &LoadOptions::default());
            let mesh = MeshConfig::default();
            service_entry_wildcard(&loaded.service_entries, host, port, "web", &mesh, "web")
                .map(str::to_owned)
        };
        let served_by = |yaml: &str, host: &str| served_on(yaml, host, None);
        let domain = entry("egress", "'*.example.com'", "");
        assert_eq!(
            served_by(&domain, "api.example.com").as_deref(),
            Some("*.example.com")
        );
        assert_eq!(
            served_by(&domain, "a.b.example.com").as_deref(),
            Some("*.example.com")
        );
        assert_eq!(
            served_by(&domain, "example.com"),
            None,
            "`*.example.com` needs a label"
        );
        assert_eq!(served_by(&domain, "api.example.org"), None);
        let named = domain.clone() + &entry("egress", "api.example.com", "");
        assert_eq!(
            served_by(&named, "api.example.com"),
            None,
            "an entry names it"
        );
        let hidden = domain.clone() + &entry("egress", "api.example.com", ", exportTo: [.]");
        assert_eq!(
            served_by(&hidden, "api.example.com").as_deref(),
            Some("*.example.com"),
            "the entry that names it is not the client's to use"
        );
        let nested = entry("egress", "'*.com', '*.api.example.com'", "") + &domain;
        assert_eq!(
            served_by(&nested, "v1.api.example.com").as_deref(),
            Some("*.api.example.com")
        );
        assert_eq!(
            served_by(&nested, "www.example.com").as_deref(),
            Some("*.example.com")
        );
        assert_eq!(served_by(&nested, "example.com").as_deref(), Some("*.com"));
        // Routes and listeners are per port: an entry for the name on 443 only leaves port 80
        // to the wildcard, and a wildcard on 80 only serves nothing on 443.
        let ports = ", ports: [{number: 443, name: tls, protocol: TLS}]";
        let by_port = entry(
            "egress",
            "'*.example.com'",
            ", ports: [{number: 80, name: http, protocol: HTTP}]",
        ) + &entry("egress", "api.example.com", ports);
        assert_eq!(
            served_on(&by_port, "api.example.com", Some(80)).as_deref(),
            Some("*.example.com")
        );
        assert_eq!(served_on(&by_port, "api.example.com", Some(443)), None);
        assert_eq!(served_on(&by_port, "www.example.com", Some(443)), None);
        assert_eq!(
            served_on(&by_port, "api.example.com", None),
            None,
            "any port"
        );
        assert_eq!(
            served_by(&entry("egress", "'*'", ""), "api.example.com"),
            None,
            "a host `*` is refused"
        );
        let private = entry("egress", "'*.example.com'", ", exportTo: [.]");
        assert_eq!(
            served_by(&private, "api.example.com"),
            None,
            "not exported to `web`"
        );
    }

    /// `imports` with the VirtualServices of `yaml`, in Istio's default mesh.
    fn routed(yaml: &str, sidecar: &Sidecar, client: &str, fqdn: &str, port: Option<u32>) -> bool {
        // Istio's tables put foo in ns1 and baz in ns3; a cluster host names its namespace.
        let namespace = match fqdn {
            "foo.svc.cluster.local" => "ns1",
            "baz.svc.cluster.local" => "ns3",
            _ => fqdn
                .split('.')
                .nth(1)
                .expect("NAME.NAMESPACE.svc.cluster.local"),
        };
        let loaded = load_str(yaml, &Arc::from("vs.yaml"), &LoadOptions::default());
        assert!(!loaded.virtual_services.is_empty(), "{:?}", loaded.findings);
        let mesh = MeshConfig::default();
        let routes = Routes {
            virtual_services: &loaded.virtual_services,
            mesh: &mesh,
            default_namespace: "default",
        };
        imports(sidecar, client, routes, fqdn, Some(namespace), port)
    }

    /// `virtualservice_controller_test.go` `TestControllerMergeVirtualServices`, bound to the
    /// sidecars instead of a gateway: a root VirtualService's route that delegates
    /// (`mergeVirtualServices`) imports the destinations of the delegate's `http` routes, a
    /// delegate being a VirtualService without hosts, of the namespace the route names (else
    /// the root's), exported to the root's namespace; `virtualservice_test.go`'s "sourceNamespace
    /// mismatch" (`hasConflict`: a root match's `sourceNamespace` that the delegate's match
    /// does not repeat) drops a delegate's route.
    #[test]
    fn delegated_routes_import_the_delegates_destinations() {
        let page = "productpage.pages.svc.cluster.local";
        let example = "example.pages.svc.cluster.local";
        let listener = sidecar("  egress:\n  - hosts: ['istio-system/*.org', 'default/*.org']\n");
        let root = |namespace: &str, delegate_namespace: &str, root_match: &str| {
            virtual_service(
                &format!("name: root-vs, namespace: {namespace}"),
                &format!(
                    "  hosts: ['*.org']\n  exportTo: ['*']\n  http:\n  - {root_match}delegate: {{name: productpage-vs{delegate_namespace}}}\n  - route:\n    - destination: {{host: {example}, port: {{number: 80}}}}\n"
                ),
            )
        };
        let delegate = |namespace: &str, export_to: &str, leaf_match: &str| {
            "---\n".to_owned()
                + &virtual_service(
                    &format!("name: productpage-vs, namespace: {namespace}"),
                    &format!(
                        "{export_to}  http:\n  - {leaf_match}route:\n    - destination: {{host: {page}, port: {{number: 80}}}}\n"
                    ),
                )
        };
        let imported = |yaml: &str, default_private: bool, client: &str, fqdn: &str| {
            let loaded = load_str(yaml, &Arc::from("vs.yaml"), &LoadOptions::default());
            let mut mesh = MeshConfig::default();
            if default_private {
                let private = crate::istio::model::Located::new(".".to_owned(), Default::default());
                mesh.default_virtual_service_export_to = vec![private];
            }
            let routes = Routes {
                virtual_services: &loaded.virtual_services,
                mesh: &mesh,
                default_namespace: "default",
            };
            imports(&listener, client, routes, fqdn, Some("pages"), Some(80))
        };
        let in_default = ", namespace: default";
        let exported = "  exportTo: [istio-system]\n";
        // "root and delegate vs", "one root vs", "one delegate vs".
        let both = root("istio-system", in_default, "") + &delegate("default", exported, "");
        assert!(imported(&both, false, "web", page));
        assert!(imported(&both, false, "web", example));
        assert!(!imported(
            &root("istio-system", in_default, ""),
            false,
            "web",
            page
        ));
        assert!(!imported(
            &delegate("default", exported, ""),
            false,
            "web",
            page
        ));
        // A VirtualService with hosts is a root of its own, never a delegate.
        let named = root("istio-system", in_default, "")
            + "---\n"
            + &virtual_service(
                "name: productpage-vs, namespace: default",
                &format!(
                    "  hosts: [other.example.com]\n{exported}  http:\n  - route:\n    - destination: {{host: {page}, port: {{number: 80}}}}\n"
                ),
            );
        assert!(!imported(&named, false, "web", page));
        // "delegate not exported to root vs namespace": `.` is its own namespace only.
        let hidden = root("istio-system", ", namespace: default2", "")
            + &delegate("default2", "  exportTo: ['.']\n", "");
        assert!(!imported(&hidden, false, "web", page));
        // "root not specify delegate namespace default public / private": the root's namespace.
        let beside = root("default", "", "") + &delegate("default", "", "");
        assert!(imported(&beside, false, "web", page));
        assert!(
            imported(&beside, true, "web", page),
            "private: still its own namespace"
        );
        let across = root("istio-system", in_default, "") + &delegate("default", "", "");
        assert!(imported(&across, false, "web", page));
        assert!(
            !imported(&across, true, "web", page),
            "private to `default`"
        );
        // sourceNamespace: a delegate's match must repeat the root's (`hasConflict`), else
        // its route is dropped; a root without one leaves the delegate's.
        let from_web = "match: [{sourceNamespace: web}]\n    ";
        let leaf = |leaf_match: &str| delegate("default", exported, leaf_match);
        let conflict = root("istio-system", in_default, from_web)
            + &leaf("match: [{sourceNamespace: jobs}]\n    ");
        assert!(!imported(&conflict, false, "web", page));
        assert!(!imported(&conflict, false, "jobs", page));
        let unset = root("istio-system", in_default, from_web)
            + &leaf("match: [{uri: {prefix: /v1}}]\n    ");
        assert!(!imported(&unset, false, "web", page));
        assert!(
            imported(&unset, false, "jobs", example),
            "the root's other route"
        );
        let repeated = root("istio-system", in_default, from_web)
            + &leaf("match: [{sourceNamespace: web}]\n    ");
        assert!(imported(&repeated, false, "web", page));
        assert!(!imported(&repeated, false, "jobs", page));
        let leaf_only =
            root("istio-system", in_default, "") + &leaf("match: [{sourceNamespace: jobs}]\n    ");
        assert!(imported(&leaf_only, false, "jobs", page));
        assert!(!imported(&leaf_only, false, "web", page));
    }

    fn virtual_service(meta: &str, spec: &str) -> String {
        format!(
            "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{{meta}}}\nspec:\n{spec}"
        )
    }

    /// sidecar_test.go `TestCreateSidecarScope`, its VirtualService cases: a listener imports
    /// the destinations of the VirtualServices its hosts select (`SelectVirtualServices`,
    /// `collectImportedServices`), on the listener's port when it has one
    /// (`serviceMatchingListenerPort`), else on the routes' ports, all of them for a route
    /// without one (`serviceMatchingVirtualServicePorts`). Istio's tables resolve the short
    /// host `virtualbar` of namespace `foo` without a cluster domain (`virtualbar.foo`); a
    /// cluster names it `virtualbar.foo.svc.cluster.local`, as here.
    #[test]
    fn virtual_service_routes_import_their_destinations() {
        let (foo, baz) = ("foo.svc.cluster.local", "baz.svc.cluster.local");
        let meta = "name: virtualbar, namespace: foo";
        // virtualServices1: a mirror to foo, a route to baz, no ports.
        let vs1 = virtual_service(
            meta,
            "  hosts: [virtualbar]\n  http:\n  - mirror: {host: foo.svc.cluster.local}\n    route:\n    - destination: {host: baz.svc.cluster.local}\n",
        );
        // "virtual-service": configs11, an HTTP_PROXY listener on 7443 importing
        // foo/virtualbar.foo: foo and baz on 7443.
        let configs11 = sidecar(
            "  egress:\n  - port: {number: 7443, protocol: http_proxy, name: grpc-tls}\n    hosts: [foo/virtualbar.foo.svc.cluster.local]\n",
        );
        assert!(routed(&vs1, &configs11, "default", foo, Some(7443)));
        assert!(routed(&vs1, &configs11, "default", baz, Some(7443)));
        assert!(!plain(&configs11, "default", baz, None, Some(7443)));
        // "virtual-service-destinations-matching-ports": configs15, an HTTP listener on 7443
        // importing */*: baz (services17: port 7000) only through the listener's port.
        let configs15 = sidecar(
            "  egress:\n  - port: {number: 7443, protocol: http, name: grpc-tls}\n    hosts: ['*/*']\n",
        );
        assert!(!routed(&vs1, &configs15, "default", baz, Some(7000)));
        // configs21: no port, importing foo/virtualbar.foo.
        let configs21 = sidecar("  egress:\n  - hosts: [foo/virtualbar.foo.svc.cluster.local]\n");
        // "...-matching-http-virtual-service-ports": virtualServices3, baz and the mirror foo
        // on 7000: both on 7000 only.
        let vs3 = virtual_service(
            meta,
            "  hosts: [virtualbar]\n  http:\n  - route:\n    - destination: {host: baz.svc.cluster.local, port: {number: 7000}}\n    mirror: {host: foo.svc.cluster.local, port: {number: 7000}}\n",
        );
        assert!(routed(&vs3, &configs21, "default", baz, Some(7000)));
        assert!(routed(&vs3, &configs21, "default", foo, Some(7000)));
        assert!(!routed(&vs3, &configs21, "default", baz, Some(7443)));
        // "...-matching-tcp-virtual-service-ports" and "...-tls-...": virtualServices4 and 5,
        // baz on 7000 only.
        for kind in ["tcp", "tls"] {
            let vs = virtual_service(
                meta,
                &format!(
                    "  hosts: [virtualbar]\n  {kind}:\n  - route:\n    - destination: {{host: baz.svc.cluster.local, port: {{number: 7000}}}}\n"
                ),
            );
            assert!(
                routed(&vs, &configs21, "default", baz, Some(7000)),
                "{kind}"
            );
            assert!(
                !routed(&vs, &configs21, "default", foo, Some(7000)),
                "{kind}"
            );
        }
    }

    /// What selects a VirtualService besides its hosts: bound to the sidecars (`gateways` none
    /// or `mesh`), exported to the client (`initVirtualServices`), not excluded
    /// (`SelectVirtualServices`); a route restricted by `sourceNamespace`
    /// (`virtualServiceDestinationsFilteredBySourceNamespace`); a short destination names a
    /// service of the VirtualService's namespace (`ResolveShortnameToFQDN`).
    #[test]
    fn what_else_decides_a_virtual_service_import() {
        let fqdn = "details.bookinfo.svc.cluster.local";
        let web = sidecar("  egress:\n  - hosts: ['./*']\n");
        let route = |meta: &str, extra: &str| {
            virtual_service(
                meta,
                &format!(
                    "  hosts: [details.bookinfo.svc.cluster.local]\n{extra}  http:\n  - route:\n    - destination: {{host: details.bookinfo.svc.cluster.local}}\n"
                ),
            )
        };
        let in_web = "name: details, namespace: web";
        assert!(routed(&route(in_web, ""), &web, "web", fqdn, Some(9080)));
        assert!(!routed(
            &route(in_web, "  gateways: [edge]\n"),
            &web,
            "web",
            fqdn,
            None
        ));
        assert!(routed(
            &route(in_web, "  gateways: [edge, mesh]\n"),
            &web,
            "web",
            fqdn,
            None
        ));
        // A VirtualService of `bookinfo` for another name, exported to `bookinfo` only, to none,
        // to `web`; the listener imports that name, not details itself.
        let elsewhere = sidecar("  egress:\n  - hosts: [bookinfo/details.example.com, './*']\n");
        let aliased = |extra: &str, destination: &str| {
            virtual_service(
                "name: details, namespace: bookinfo",
                &format!(
                    "  hosts: [details.example.com]\n{extra}  http:\n  - route:\n    - destination: {{host: {destination}}}\n"
                ),
            )
        };
        let check = |extra: &str| routed(&aliased(extra, fqdn), &elsewhere, "web", fqdn, None);
        assert!(check(""));
        assert!(!check("  exportTo: [.]\n"));
        assert!(!check("  exportTo: ['~']\n"));
        assert!(check("  exportTo: [web]\n"));
        assert!(check("  exportTo: ['~', '*']\n"));
        assert!(!plain(&elsewhere, "web", fqdn, Some("bookinfo"), None));
        // A short destination in `bookinfo` is bookinfo's details.
        assert!(routed(
            &aliased("", "details"),
            &elsewhere,
            "web",
            fqdn,
            None
        ));
        // An exclusion of the VirtualService's host.
        let excluding =
            sidecar("  egress:\n  - hosts: ['./*', '~web/details.bookinfo.svc.cluster.local']\n");
        assert!(!routed(&route(in_web, ""), &excluding, "web", fqdn, None));
        // sourceNamespace.
        let sourced = virtual_service(
            in_web,
            "  hosts: [details.bookinfo.svc.cluster.local]\n  http:\n  - match: [{sourceNamespace: jobs}]\n    route:\n    - destination: {host: details.bookinfo.svc.cluster.local}\n",
        );
        assert!(!routed(&sourced, &web, "web", fqdn, None));
        let either = sourced.replace(
            "[{sourceNamespace: jobs}]",
            "[{sourceNamespace: jobs}, {sourceNamespace: web}]",
        );
        assert!(routed(&either, &web, "web", fqdn, None));
        // Without the VirtualService, `./*` does not import bookinfo's details.
        assert!(!plain(&web, "web", fqdn, Some("bookinfo"), None));
    }

    /// `needsPortMatch`, `serviceMatchingListenerPort`: a listener with a port imports its
    /// hosts on that port only; an `HTTP_PROXY` listener, or one without port, on every port.
    #[test]
    fn a_listener_with_a_port_imports_on_that_port() {
        let fqdn = "reviews.bookinfo.svc.cluster.local";
        let s = sidecar(
            "  egress:\n  - port: {number: 9080, protocol: HTTP, name: http}\n    hosts: [bookinfo/*]\n  - hosts: [./*]\n",
        );
        assert!(plain(&s, "web", fqdn, Some("bookinfo"), Some(9080)));
        assert!(!plain(&s, "web", fqdn, Some("bookinfo"), Some(9443)));
        assert!(plain(&s, "web", fqdn, Some("bookinfo"), None));
        let proxy = sidecar(
            "  egress:\n  - port: {number: 3128, protocol: HTTP_PROXY, name: proxy}\n    hosts: [bookinfo/*]\n",
        );
        assert!(plain(&proxy, "web", fqdn, Some("bookinfo"), Some(9443)));
    }
}
