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
//! it exactly on the port, the client's own or else the oldest ([`service_entry`]); a
//! host none of them defines but a wildcard host covers is served by that wildcard's service
//! ([`service_entry_wildcard`]). Not modelled: MeshConfig's `serviceEntryVisibility`, the pick
//! among namespaces for a host only a VirtualService imports (`pickBestVisibleNamespace`, which
//! leaves equal creation times to map order), and Gateway API routes.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet};

use super::MeshConfig;
use super::model::{
    HttpMatch, ServiceEntry, ServicePort, Sidecar, SidecarEgress, StringMatch, VirtualService,
    VirtualServiceRoute, namespace_or,
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

/// The ServiceEntry, with its namespace, among `entries` that define the host `fqdn` on `port`
/// ([`serves_on`]) for a client of `client_namespace`, as its sidecar picks the service of a
/// hostname that several namespaces define (`selectServices`, `PILOT_UNIFIED_SIDECAR_SCOPE`
/// on by default): of those visible to it, one of the client's namespace, else the first in
/// Istio's order of services (`SortServicesByCreationTime`: the oldest, a missing
/// `creationTimestamp` first as Go's zero time, then by namespace). `None` when none defines
/// it. An entry without a namespace lives in `default_namespace`.
pub(crate) fn service_entry<'a>(
    entries: &'a [ServiceEntry],
    fqdn: &str,
    port: Option<u32>,
    client_namespace: &str,
    mesh: &MeshConfig,
    default_namespace: &'a str,
) -> Option<(&'a ServiceEntry, &'a str)> {
    let defining: Vec<(&ServiceEntry, &str)> = entries
        .iter()
        .filter(|e| e.hosts.iter().any(|h| h == fqdn) && serves_on(&e.ports, port))
        .map(|e| (e, namespace_or(e.namespace.as_ref(), default_namespace)))
        .filter(|(e, namespace)| visible(e, namespace, mesh, client_namespace))
        .collect();
    if let Some(own) = defining.iter().find(|(_, n)| *n == client_namespace) {
        return Some(*own);
    }
    defining
        .into_iter()
        .min_by_key(|(e, namespace)| (e.creation_timestamp.as_ref().map(|t| t.value), *namespace))
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
pub(crate) fn serves_on(ports: &[ServicePort], port: Option<u32>) -> bool {
    port.is_none_or(|port| ports.is_empty() || ports.iter().any(|p| p.number.value == port))
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
    if sidecar.egress.is_empty() {
        return true;
    }
    let budget = Budget::new();
    let delegates = routes.delegates();
    sidecar.egress.iter().any(|listener| {
        let hosts = Imports::of(listener, client_namespace);
        let on_port = match (&listener.port, port) {
            (Some(listener_port), Some(port)) => listener_port.value == port,
            _ => true,
        };
        (on_port && hosts.service(fqdn, service_namespace))
            || routes.import(
                &hosts,
                listener,
                client_namespace,
                (fqdn, port),
                (&delegates, &budget),
            )
    })
}

/// The VirtualServices without hosts, the delegates a route may name, by namespace and name
/// (the first of a name the input repeats).
struct Delegates<'a>(HashMap<(&'a str, &'a str), &'a VirtualService>);

impl<'a> Routes<'a> {
    fn delegates(&self) -> Delegates<'a> {
        let mut by_name = HashMap::new();
        for vs in self
            .virtual_services
            .iter()
            .filter(|vs| vs.hosts.is_empty())
        {
            let namespace = namespace_or(vs.namespace.as_ref(), self.default_namespace);
            by_name
                .entry((namespace, vs.name.value.as_str()))
                .or_insert(vs);
        }
        Delegates(by_name)
    }

    /// Whether a VirtualService that `hosts` (of `listener`) select routes to `fqdn` on `port`
    /// for clients of `client_namespace`, within `budget`.
    fn import(
        &self,
        hosts: &Imports<'_>,
        listener: &SidecarEgress,
        client_namespace: &str,
        (fqdn, port): (&str, Option<u32>),
        (delegates, budget): (&Delegates<'_>, &Budget),
    ) -> bool {
        // `virtualServiceDestinationsFilteredBySourceNamespace` gives each destination's port, 0
        // for one without; then `serviceMatchingListenerPort`: the listener's port, whatever
        // the routes'; else `serviceMatchingVirtualServicePorts`: the routes' ports, all for 0.
        let on_port = |route_port: Option<u32>| match (&listener.port, port) {
            (Some(listener_port), Some(port)) => listener_port.value == port,
            (None, Some(port)) => route_port.is_none_or(|p| p == 0 || p == port),
            (_, None) => true,
        };
        self.virtual_services.iter().any(|vs| {
            let namespace = namespace_or(vs.namespace.as_ref(), self.default_namespace);
            if !budget.take(1 + vs.export_to.len()) {
                return true;
            }
            self.visible(vs, namespace, client_namespace)
                && hosts.select(vs, namespace, budget)
                && self.routes_reach(
                    vs,
                    (namespace, client_namespace),
                    (delegates, budget),
                    |host, port| host == fqdn && on_port(port),
                )
        })
    }

    /// Whether a route of `vs` (of `namespace`) for clients of `client_namespace` has a
    /// destination `reached` takes (its fully qualified host, its port), the routes as the
    /// sidecars see them once Istio has merged in the `http` routes of the VirtualServices
    /// they delegate to (`mergeVirtualServices`, `MergeHTTPRoutes`): a delegate is a
    /// VirtualService without hosts, of the namespace the route names (else `namespace`),
    /// exported to `namespace`; a route whose delegate is missing or hidden is dropped, and so
    /// is a delegate's route whose matches conflict with the root route's ([`merges`]). A
    /// merged route is the delegate's, with the root route's `mirror` and `mirrors` where it
    /// has none (`mergeHTTPRoute`). Short names are in their VirtualService's namespace
    /// (`ResolveVirtualServiceShortnames`). A route is for the client's namespace unless its
    /// matches set `sourceNamespace`s and none is the client's
    /// (`virtualServiceDestinationsFilteredBySourceNamespace`); a merged route's matches are
    /// the delegate's, else the root's.
    ///
    /// Each destination read and each pair of matches compared takes one from `budget`; once
    /// it is spent, the answer is yes. A root route that delegates takes the delegate's routes
    /// times its own matches, so 100 KB of routes could ask for billions of comparisons (and
    /// Istio would build as many routes); `true` keeps the check from reporting a host as not
    /// imported on a guess.
    fn routes_reach(
        &self,
        vs: &VirtualService,
        (namespace, client_namespace): (&str, &str),
        (delegates, budget): (&Delegates<'_>, &Budget),
        mut reached: impl FnMut(&str, Option<u32>) -> bool,
    ) -> bool {
        let mut reach = |destinations: &[(String, Option<u32>)], namespace: &str| {
            destinations
                .iter()
                .any(|(host, port)| !budget.take(1) || reached(&full_name(host, namespace), *port))
        };
        for route in &vs.routes {
            let Some((name, delegate_namespace)) = &route.delegate else {
                if for_client(route, client_namespace)
                    && (reach(&route.destinations, namespace)
                        || reach(route.mirror.as_slice(), namespace)
                        || reach(&route.mirrors, namespace))
                {
                    return true;
                }
                continue;
            };
            let delegate_namespace = delegate_namespace.as_deref().unwrap_or(namespace);
            if !budget.take(1) {
                return true;
            }
            let delegate = delegates
                .0
                .get(&(delegate_namespace, name.as_str()))
                .copied();
            let Some(delegate) =
                delegate.filter(|d| self.exported(d, delegate_namespace, namespace))
            else {
                continue;
            };
            let root = (route, namespace);
            for leaf in delegate.routes.iter().filter(|r| r.http) {
                let leaf = (leaf, delegate_namespace);
                if !merges(root, leaf, budget) {
                    if budget.spent() {
                        return true;
                    }
                    continue;
                }
                let matched = if leaf.0.matches.is_empty() {
                    root.0
                } else {
                    leaf.0
                };
                if !for_client(matched, client_namespace) {
                    continue;
                }
                // The mirror and the mirrors, each the delegate's else the root's.
                let mirror = [leaf, root].into_iter().find(|(r, _)| r.mirror.is_some());
                let mirrors = [leaf, root]
                    .into_iter()
                    .find(|(r, _)| !r.mirrors.is_empty());
                if reach(&leaf.0.destinations, delegate_namespace)
                    || mirror.is_some_and(|(r, ns)| reach(r.mirror.as_slice(), ns))
                    || mirrors.is_some_and(|(r, ns)| reach(&r.mirrors, ns))
                {
                    return true;
                }
            }
        }
        false
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

/// The work one import check may do on VirtualServices: hosts compared with a listener's
/// entries, delegates looked up, destinations read and pairs of matches compared, 2^20 of them,
/// tens of milliseconds ([`Routes::routes_reach`]); once it is spent, a host counts as imported.
struct Budget(Cell<u32>);

impl Budget {
    fn new() -> Self {
        Self(Cell::new(1 << 20))
    }

    /// Takes `work`; `false` once none is left.
    fn take(&self, work: usize) -> bool {
        let work = u32::try_from(work).unwrap_or(u32::MAX);
        let left = self.0.get().saturating_sub(work);
        self.0.set(left);
        left > 0
    }

    fn spent(&self) -> bool {
        self.0.get() == 0
    }
}

/// Whether `route`'s matches take requests from clients of `client_namespace`: none sets a
/// `sourceNamespace`, or one sets theirs.
fn for_client(route: &VirtualServiceRoute, client_namespace: &str) -> bool {
    let namespaces = route.matches.iter().map(|m| m.source_namespace.as_str());
    let mut set = namespaces.filter(|n| !n.is_empty()).peekable();
    set.peek().is_none() || set.any(|n| n == client_namespace)
}

/// Whether Istio merges a route of a delegate (`leaf`) into the root route that delegates to it
/// (`root`), each with its VirtualService's namespace: `mergeHTTPMatchRequests` finds no
/// conflict when either has no matches, or when each of the delegate's matches has a root
/// match it does not conflict with ([`has_conflict`]). The merged matches are the delegate's
/// (`mergeHTTPMatchRequest` keeps the delegate's `sourceNamespace`, and a root match with one
/// conflicts with a delegate's match without it), else the root's. Each comparison takes one
/// from `budget`; `false` once it is spent.
fn merges(
    (root, root_namespace): (&VirtualServiceRoute, &str),
    (leaf, leaf_namespace): (&VirtualServiceRoute, &str),
    budget: &Budget,
) -> bool {
    leaf.matches.iter().all(|leaf_match| {
        root.matches.is_empty()
            || root.matches.iter().any(|root_match| {
                budget.take(1)
                    && !has_conflict((root_match, root_namespace), (leaf_match, leaf_namespace))
            })
    })
}

/// Istio's `hasConflict`: whether a delegate's match (`leaf`) asks for requests its root
/// route's match does not take, each with its VirtualService's namespace (for the gateway
/// names). The URI, scheme, method and authority, and the headers, absent headers and query
/// parameters the leaf names, must not conflict ([`string_match_conflict`]); `ignoreUriCase`
/// must be equal; ports and a root's `sourceNamespace` must be the leaf's when both are set;
/// source labels must agree on the keys both set; the root's gateways must include the leaf's.
fn has_conflict(
    (root, root_namespace): (&HttpMatch, &str),
    (leaf, leaf_namespace): (&HttpMatch, &str),
) -> bool {
    let (root_source, leaf_source) = (&root.source_namespace, &leaf.source_namespace);
    let (root, leaf) = (root.fields(), leaf.fields());
    let strings = [
        (&root.uri, &leaf.uri),
        (&root.scheme, &leaf.scheme),
        (&root.method, &leaf.method),
        (&root.authority, &leaf.authority),
    ];
    if strings
        .into_iter()
        .any(|(root, leaf)| string_match_conflict(root.as_deref(), leaf.as_deref()))
    {
        return true;
    }
    let maps = [
        (&root.headers, &leaf.headers),
        (&root.without_headers, &leaf.without_headers),
        (&root.query_params, &leaf.query_params),
    ];
    if maps.into_iter().any(|(root, leaf)| {
        leaf.iter()
            .any(|(key, leaf)| string_match_conflict(root.get(key), Some(leaf)))
    }) {
        return true;
    }
    if root.ignore_uri_case != leaf.ignore_uri_case
        || (root.port > 0 && leaf.port > 0 && root.port != leaf.port)
        || (!root_source.is_empty() && leaf_source != root_source)
    {
        return true;
    }
    if leaf
        .source_labels
        .iter()
        .any(|(key, leaf)| root.source_labels.get(key).is_some_and(|root| root != leaf))
    {
        return true;
    }
    if !root.gateways.is_empty() && !leaf.gateways.is_empty() {
        if root.gateways.len() < leaf.gateways.len() {
            return true;
        }
        let roots: Vec<String> = root
            .gateways
            .iter()
            .map(|g| gateway_name(g, root_namespace))
            .collect();
        return leaf
            .gateways
            .iter()
            .any(|g| !roots.contains(&gateway_name(g, leaf_namespace)));
    }
    false
}

/// Istio's `stringMatchConflict`: none when either side is absent; a regex on one side
/// conflicts with any match on the other; an exact root takes only the same exact leaf; a
/// prefix root takes a leaf prefix or exact value that starts with it; anything else (a root
/// or leaf that sets no kind) conflicts.
fn string_match_conflict(root: Option<&StringMatch>, leaf: Option<&StringMatch>) -> bool {
    let (Some(root), Some(leaf)) = (root, leaf) else {
        return false;
    };
    let any = |m: &StringMatch| !m.regex.is_empty() || !m.prefix.is_empty() || !m.exact.is_empty();
    if (!root.regex.is_empty() && any(leaf)) || (!leaf.regex.is_empty() && any(root)) {
        return true;
    }
    if !root.exact.is_empty() {
        return !leaf.prefix.is_empty() || leaf.exact != root.exact;
    }
    if !root.prefix.is_empty() {
        if !leaf.prefix.is_empty() {
            return !leaf.prefix.starts_with(&root.prefix);
        }
        if !leaf.exact.is_empty() {
            return !leaf.exact.starts_with(&root.prefix);
        }
    }
    true
}

/// Istio's `resolveGatewayName` for a gateway a VirtualService of `namespace` names:
/// `namespace/name` as written, `./name` in `namespace`, a short name in `namespace`, and the
/// legacy `name.ns.svc...` as `ns/name`; `mesh` as it is.
fn gateway_name(name: &str, namespace: &str) -> String {
    if name == "mesh" {
        return name.to_owned();
    }
    match name.split_once('/') {
        Some((".", gateway)) => format!("{namespace}/{gateway}"),
        Some(_) => name.to_owned(),
        None => match name.split_once('.') {
            None => format!("{namespace}/{name}"),
            Some((gateway, rest)) => {
                let gateway_namespace = rest.split('.').next().unwrap_or(rest);
                format!("{gateway_namespace}/{gateway}")
            }
        },
    }
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

/// Istio's `hostClassification`: one namespace's entries of a listener, imported and
/// excluded.
#[derive(Default)]
struct Hosts<'a> {
    imported: Entries<'a>,
    excluded: Entries<'a>,
}

/// Host entries, exact names apart from wildcards (Istio's `exactHosts` and `allHosts`): a
/// host is looked up among the exact ones, so that a listener of thousands of names matched
/// against thousands of VirtualService hosts does not compare each with each.
#[derive(Default)]
struct Entries<'a> {
    exact: HashSet<&'a str>,
    wildcards: Vec<&'a str>,
}

impl<'a> Entries<'a> {
    fn push(&mut self, entry: &'a str) {
        if is_wildcard(entry) {
            self.wildcards.push(entry);
        } else {
            self.exact.insert(entry);
        }
    }

    /// Whether an entry names every host `host` names (`host.Name.SubsetOf`).
    fn cover(&self, host: &str) -> bool {
        (!is_wildcard(host) && self.exact.contains(host))
            || self.wildcards.iter().any(|entry| subset_of(host, entry))
    }

    /// Whether the wildcard `host` names every host of an entry.
    fn covered_by(&self, host: &str) -> bool {
        let mut entries = self.exact.iter().chain(&self.wildcards);
        entries.any(|entry| subset_of(entry, host))
    }

    /// The entries [`Entries::cover`] and [`Entries::covered_by`] compare `host` with.
    fn compared(&self, host: &str) -> usize {
        let exact = if is_wildcard(host) {
            self.exact.len()
        } else {
            1
        };
        exact + self.wildcards.len()
    }
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
    fn select(&self, vs: &VirtualService, namespace: &str, budget: &Budget) -> bool {
        let scopes: Vec<&Hosts<'_>> = [namespace, EVERY_NAMESPACE]
            .iter()
            .filter_map(|n| self.by_namespace.get(n))
            .collect();
        vs.hosts.iter().any(|host| {
            let host = full_name(host, namespace);
            let compared = scopes.iter().map(|h| {
                let (imported, excluded) = (&h.imported, &h.excluded);
                imported.compared(&host) + excluded.compared(&host)
            });
            if !budget.take(compared.sum()) {
                return true;
            }
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
    /// `hostClassification.Matches`: an entry equal to `host` or, either being a wildcard,
    /// covering it.
    fn matches(&self, host: &str) -> bool {
        self.imported.cover(host)
    }

    /// `hostClassification.VSMatches` (without Gateway API semantics): equal, or either side
    /// a wildcard covering the other (`host.Name.Matches`).
    fn matches_vs(&self, host: &str) -> bool {
        self.imported.cover(host) || (is_wildcard(host) && self.imported.covered_by(host))
    }

    /// `hostClassification.Excluded`.
    fn excludes(&self, host: &str) -> bool {
        self.excluded.cover(host)
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
            service_entry(
                &loaded.service_entries,
                "api.example.com",
                None,
                "web",
                &mesh,
                "web",
            )
            .map(|(_, namespace)| namespace.to_owned())
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
        // The other match fields (`hasConflict`): a delegate's URI outside the root's prefix
        // drops its route, one under it merges.
        let reviews = "match: [{uri: {prefix: /reviews}}]\n    ";
        let outside = root("istio-system", in_default, reviews)
            + &leaf("match: [{uri: {prefix: /ratings}}]\n    ");
        assert!(!imported(&outside, false, "web", page));
        let under = root("istio-system", in_default, reviews)
            + &leaf("match: [{uri: {exact: /reviews/v1}}]\n    ");
        assert!(imported(&under, false, "web", page));
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
        // "virtual-service-destination-port-missing-from-service": services22, baz on 7443
        // only, which the routes' 7000 does not import.
        assert!(!routed(&vs3, &configs21, "default", baz, Some(7443)));
        // "virtual-service-2-match-service", "...-and-domain" (configs12 also imports
        // ns2/foo.svc.cluster.local), "...-all-services" (configs15): virtualServices2, hosts
        // `virtualbar` and `*`, a mirror to foo and a route to baz: both on the listener's 7443.
        let vs2 = virtual_service(
            meta,
            "  hosts: [virtualbar, '*']\n  http:\n  - mirror: {host: foo.svc.cluster.local}\n    route:\n    - destination: {host: baz.svc.cluster.local}\n",
        );
        let configs12 = sidecar(
            "  egress:\n  - port: {number: 7443, protocol: http_proxy, name: grpc-tls}\n    hosts: [foo/virtualbar.foo.svc.cluster.local, ns2/foo.svc.cluster.local]\n",
        );
        for listener in [&configs11, &configs12, &configs15] {
            assert!(routed(&vs2, listener, "default", foo, Some(7443)));
            assert!(routed(&vs2, listener, "default", baz, Some(7443)));
        }
        // Services18 has them on 7443 only; an HTTP listener on 7443 would not import another
        // port (an HTTP_PROXY one would: `needsPortMatch`).
        assert!(!routed(&vs2, &configs15, "default", baz, Some(7000)));
        assert!(routed(&vs2, &configs11, "default", baz, Some(7000)));
        // "virtual-service-6-match-source-namespace": configs24 (no port, foo/virtualbar.foo)
        // for a client of `mynamespace`, virtualServices6: baz for `mynamespace`, foo for `foo`,
        // bar for any; bar (ns2) and baz imported, foo not.
        let vs6 = virtual_service(
            meta,
            "  hosts: [virtualbar]\n  http:\n  - match: [{sourceNamespace: mynamespace}]\n    route: [{destination: {host: baz.svc.cluster.local}}]\n  - match: [{sourceNamespace: foo}]\n    route: [{destination: {host: foo.svc.cluster.local}}]\n  - route: [{destination: {host: bar.svc.cluster.local}}]\n",
        );
        let client = "mynamespace";
        assert!(routed(&vs6, &configs21, client, baz, None));
        assert!(routed(
            &vs6,
            &configs21,
            client,
            "bar.svc.cluster.local",
            None
        ));
        assert!(!routed(&vs6, &configs21, client, foo, None));
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

    fn http_match(yaml: &str) -> HttpMatch {
        let documents = crate::istio::yaml::parse_stream(&format!("{{{yaml}}}"), 1 << 16);
        HttpMatch::from_node(documents.unwrap()[0].root.as_ref().unwrap(), true)
    }

    /// virtualservice_test.go `TestHasConflict`, its 21 cases in order (root match, delegate's
    /// match, conflict), and `gatewayNameTests` through the gateways' conflict: names resolve in
    /// their VirtualService's namespace (`resolveGatewayName`) before they are compared.
    #[test]
    fn a_delegates_match_conflicts_as_istio_finds_it() {
        let cases = [
            (
                "uri: {regex: ^/productpage}",
                "uri: {prefix: /productpage/v2}",
                true,
            ),
            ("uri: {regex: ^/productpage}", "", false),
            ("", "uri: {regex: ^/productpage}", false),
            (
                "uri: {regex: ^/productpage}",
                "uri: {prefix: /productpage}",
                true,
            ),
            (
                "uri: {prefix: /productpage}",
                "uri: {regex: ^/productpage}",
                true,
            ),
            (
                "uri: {prefix: /productpage}",
                "uri: {prefix: /productpage/v2}",
                false,
            ),
            (
                "uri: {prefix: /productpage/v2}",
                "uri: {prefix: /productpage}",
                true,
            ),
            (
                "uri: {prefix: /productpage/v2}",
                "uri: {exact: /productpage/v2}",
                false,
            ),
            (
                "headers: {header: {exact: h1}}",
                "headers: {header: {exact: h2}}",
                true,
            ),
            (
                "headers: {header: {exact: h1}}",
                "headers: {header: {exact: h1}}",
                false,
            ),
            (
                "headers: {header: {prefix: h1}}",
                "headers: {header: {exact: h1-v1}}",
                false,
            ),
            (
                "headers: {header: {prefix: h1}}",
                "headers: {header: {exact: h2}}",
                true,
            ),
            (
                "headers: {header: {prefix: h1}}",
                "headers: {header: {prefix: h2}}",
                true,
            ),
            (
                "headers: {header: {exact: h1}}",
                "headers: {header-2: {exact: h2}}",
                false,
            ),
            (
                "withoutHeaders: {header: {prefix: h1}}",
                "withoutHeaders: {header: {exact: h2}}",
                true,
            ),
            ("port: 0", "port: 8080", false),
            ("port: 8080", "port: 0", false),
            ("port: 8080", "port: 8090", true),
            ("sourceLabels: {a: b}", "sourceLabels: {a: c}", true),
            ("sourceNamespace: test1", "sourceNamespace: test2", true),
            (
                "gateways: [ingress-gateway]",
                "gateways: [ingress-gateway, mesh]",
                true,
            ),
            // Beyond Istio's table: query parameters, the other string fields, a match that
            // sets no kind, ignoreUriCase.
            (
                "queryParams: {v: {exact: '1'}}",
                "queryParams: {v: {exact: '2'}}",
                true,
            ),
            ("method: {exact: GET}", "method: {exact: GET}", false),
            ("authority: {exact: a.com}", "authority: {prefix: a}", true),
            ("uri: {}", "uri: {exact: /a}", true),
            ("ignoreUriCase: true", "", true),
            // The count of gateways is compared as listed, repeats included.
            ("gateways: [gw]", "gateways: [gw, gw]", true),
        ];
        for (root, leaf, conflict) in cases {
            let (root_match, leaf_match) = (http_match(root), http_match(leaf));
            assert_eq!(
                has_conflict((&root_match, "default"), (&leaf_match, "default")),
                conflict,
                "root {{{root}}}, delegate {{{leaf}}}"
            );
        }
        // `gatewayNameTests`: (name, namespace, resolved).
        let names = [
            ("./gateway", "default", "default/gateway"),
            ("gateway", "default", "default/gateway"),
            ("default/gateway", "foo", "default/gateway"),
            ("gateway.default", "default", "default/gateway"),
            ("gateway.default", "foo", "default/gateway"),
            (
                "private.ingress.svc.cluster.local",
                "foo",
                "ingress/private",
            ),
        ];
        for (name, namespace, resolved) in names {
            assert_eq!(gateway_name(name, namespace), resolved);
        }
        assert_eq!(gateway_name("mesh", "foo"), "mesh");
        let gateways = |list: &str| http_match(&format!("gateways: [{list}]"));
        let (root, leaf) = (gateways("ingress, mesh"), gateways("istio-system/ingress"));
        assert!(!has_conflict((&root, "istio-system"), (&leaf, "web")));
        assert!(has_conflict((&root, "web"), (&leaf, "web")));
    }

    /// virtualservice_test.go `TestMergeHTTPMatchRequests`, the cases whose merge Istio keeps
    /// (`true`) or drops (`expected: nil`).
    #[test]
    fn a_delegates_route_merges_unless_a_match_conflicts_with_every_root_match() {
        let route = |matches: &[&str]| VirtualServiceRoute {
            http: true,
            destinations: Vec::new(),
            mirror: None,
            mirrors: Vec::new(),
            delegate: None,
            matches: matches.iter().map(|m| http_match(m)).collect(),
        };
        let merged = |root: &[&str], leaf: &[&str]| {
            let (root, leaf) = (route(root), route(leaf));
            merges((&root, "default"), (&leaf, "default"), &Budget::new())
        };
        let page = "uri: {prefix: /productpage}";
        let (v1, v2) = (
            "uri: {exact: /productpage/v1}",
            "uri: {exact: /productpage/v2}",
        );
        // "url match", "url regex noconflict", "url regex conflict".
        assert!(merged(&[page], &[v1]));
        assert!(merged(&["uri: {regex: ^/productpage}"], &[""]));
        assert!(!merged(&["uri: {regex: ^/productpage}"], &[page]));
        // "multi url match": each delegate's match merges with the root match it falls under.
        let reviews = "uri: {prefix: /reviews}";
        assert!(merged(&[page, reviews], &[v1, "uri: {exact: /reviews/v1}"]));
        // "url mismatch".
        assert!(!merged(&[page], &["uri: {exact: /reviews}"]));
        // "complicated merge", "conflicted merge" (a port 9090 under the root's 8080).
        let root = "uri: {prefix: /productpage}, headers: {header: {exact: h1}}, port: 8080, authority: {exact: productpage.com}";
        assert!(merged(&[root], &[v1, v2]));
        assert!(!merged(&[root], &[v1, &format!("{v2}, port: 9090")]));
        // "gateway merge", "gateway conflicted merge".
        let gateways = format!("{page}, gateways: [ingress-gateway, mesh]");
        let (ingress, mesh) = (
            format!("{v1}, gateways: [ingress-gateway]"),
            format!("{v2}, gateways: [mesh]"),
        );
        assert!(merged(&[&gateways], &[&ingress, &mesh]));
        let ingress_only = format!("{page}, gateways: [ingress-gateway]");
        assert!(!merged(&[&ingress_only], &[&ingress, &mesh]));
        // "source labels merge"; either side without matches takes the other's.
        assert!(merged(
            &["sourceLabels: {app: test}"],
            &["sourceLabels: {version: v1}"]
        ));
        assert!(merged(&[], &[v1, v2]));
        assert!(merged(&[page], &[]));
    }

    /// virtualservice_test.go `TestMergeHttpRoutes` "delegate with mirrors": a delegate's route
    /// keeps its own `mirrors` and takes the root route's when it has none; so does `mirror`.
    /// Destinations short names, each in its VirtualService's namespace.
    #[test]
    fn a_merged_route_keeps_the_delegates_mirrors_else_the_roots() {
        let yaml = virtual_service(
            "name: root, namespace: istio-system",
            "  hosts: [productpage.example.com]\n  http:\n  - mirrors: [{destination: {host: mirror-v3}}]\n    mirror: {host: mirror}\n    delegate: {name: delegate, namespace: default}\n",
        ) + "---\n"
            + &virtual_service(
                "name: delegate, namespace: default",
                "  http:\n  - match: [{uri: {prefix: /productpage/v1}}]\n    mirrors: [{destination: {host: mirror-v1}}]\n    route: [{destination: {host: v1}}]\n  - match: [{uri: {prefix: /productpage/v2}}]\n    mirrors: [{destination: {host: mirror-v2}}]\n    mirror: {host: own-mirror}\n    route: [{destination: {host: v2}}]\n  - route: [{destination: {host: v3}}]\n",
            );
        let loaded = load_str(&yaml, &Arc::from("vs.yaml"), &LoadOptions::default());
        let mesh = MeshConfig::default();
        let routes = Routes {
            virtual_services: &loaded.virtual_services,
            mesh: &mesh,
            default_namespace: "default",
        };
        let root = loaded
            .virtual_services
            .iter()
            .find(|vs| !vs.hosts.is_empty())
            .unwrap();
        let mut hosts = Vec::new();
        let walk = (&routes.delegates(), &Budget::new());
        routes.routes_reach(root, ("istio-system", "web"), walk, |host, _| {
            hosts.push(host.to_owned());
            false
        });
        let full = |name: &str, namespace: &str| format!("{name}.{namespace}.svc.cluster.local");
        assert_eq!(
            hosts,
            [
                vec![
                    full("v1", "default"),
                    full("mirror", "istio-system"),
                    full("mirror-v1", "default")
                ],
                vec![
                    full("v2", "default"),
                    full("own-mirror", "default"),
                    full("mirror-v2", "default")
                ],
                vec![
                    full("v3", "default"),
                    full("mirror", "istio-system"),
                    full("mirror-v3", "istio-system")
                ],
            ]
            .concat()
        );
    }

    /// virtualservice_test.go `TestSelectVirtualServicesExclusion` and
    /// `TestSelectVirtualServicesExclusionWildcard`: a VirtualService is selected when one of
    /// its hosts is imported and not excluded, by its namespace's entries or those of `*`; a
    /// wildcard exclusion covers an exact host, an exact one does not cover a wildcard. Istio's
    /// host classifications written as the Sidecar entries that make them.
    #[test]
    fn virtual_services_are_selected_unless_every_host_is_excluded() {
        let yaml = [("vs-a", "a", "a.com"), ("vs-b", "b", "b.com")]
            .iter()
            .chain(&[
                ("vs-multi", "a", "drop.com, keep.com"),
                ("vs-exact", "a", "x.com"),
            ])
            .chain(&[("vs-wild", "a", "'*.com'")])
            .map(|(name, namespace, hosts)| {
                virtual_service(
                    &format!("name: {name}, namespace: {namespace}"),
                    &format!("  hosts: [{hosts}]\n  gateways: [mesh]\n"),
                )
            })
            .collect::<Vec<_>>()
            .join("---\n");
        let loaded = load_str(&yaml, &Arc::from("vs.yaml"), &LoadOptions::default());
        let selected = |entries: &str, names: &[&str]| -> Vec<String> {
            let listener = &sidecar(&format!("  egress:\n  - hosts: [{entries}]\n")).egress[0];
            let imports = Imports::of(listener, "some-ns");
            let vss = loaded.virtual_services.iter();
            vss.filter(|vs| names.contains(&vs.name.value.as_str()))
                .filter(|vs| {
                    let namespace = vs.namespace.as_ref().unwrap().value.as_str();
                    imports.select(vs, namespace, &Budget::new())
                })
                .map(|vs| vs.name.value.clone())
                .collect()
        };
        let istio = ["vs-a", "vs-b", "vs-multi"];
        // "no exclusion selects all", "~b/* excludes namespace b", "~/a.com excludes the VS
        // whose only host is a.com".
        assert_eq!(selected("'*/*'", &istio), istio);
        assert_eq!(selected("'*/*', '~b/*'", &istio), ["vs-a", "vs-multi"]);
        assert_eq!(selected("'*/*', '~/a.com'", &istio), ["vs-b", "vs-multi"]);
        // "multi-host VS survives when only one host excluded", "... dropped when all hosts
        // excluded", "exclusion via ns scope while include via wildcard scope", "exclusion with
        // no include matches nothing".
        assert_eq!(selected("'*/*', '~/drop.com'", &istio), istio);
        assert_eq!(
            selected("'*/*', '~/drop.com', '~/keep.com'", &istio),
            ["vs-a", "vs-b"]
        );
        assert_eq!(selected("'*/*', '~a/a.com'", &istio), ["vs-b", "vs-multi"]);
        assert!(selected("'~/*'", &istio).is_empty());
        // ExclusionWildcard: "wildcard exclusion covers exact host", "exact exclusion does not
        // drop wildcard route".
        let wildcard = ["vs-exact", "vs-wild"];
        assert!(selected("'*/*', '~/*.com'", &wildcard).is_empty());
        assert_eq!(selected("'*/*', '~/x.com'", &wildcard), ["vs-wild"]);
    }

    /// sidecar_test.go `TestCreateSidecarScope`, its listener-port cases: "wild-card-egress-
    /// listener-match" (configs9: a GRPC listener on 7443 importing `*/*`, an HTTP one on
    /// 7442 importing `ns2/*`; services10) and "http-proxy-protocol-matches-any-port"
    /// (configs10: an HTTP_PROXY listener on 7443 importing `*/*`; services7, on 8000, 7000
    /// and 9000): a listener with a port imports services on that port, an HTTP_PROXY one on any.
    #[test]
    fn a_listeners_port_limits_its_imports_unless_it_is_an_http_proxy() {
        let configs9 = sidecar(
            "  egress:\n  - port: {number: 7443, protocol: GRPC, name: grpc-tls}\n    hosts: ['*/*']\n  - port: {number: 7442, protocol: HTTP, name: http-tls}\n    hosts: [ns2/*]\n",
        );
        let imported = |fqdn: &str, namespace: &str, port: u32| {
            plain(&configs9, "default", fqdn, Some(namespace), Some(port))
        };
        assert!(imported("foo.svc.cluster.local", "ns1", 7443));
        assert!(imported("baz.svc.cluster.local", "ns3", 7443));
        assert!(imported("bar.svc.cluster.local", "ns2", 7442));
        assert!(!imported("barprime.svc.cluster.local", "ns3", 7442));
        let configs10 = sidecar(
            "  egress:\n  - port: {number: 7443, protocol: http_proxy, name: grpc-tls}\n    hosts: ['*/*']\n",
        );
        for (host, port) in [
            ("bar", 8000),
            ("bar", 7000),
            ("barprime", 8000),
            ("foo", 9000),
        ] {
            assert!(
                plain(&configs10, "default", host, Some("foo"), Some(port)),
                "{host}:{port}"
            );
        }
    }

    /// A listener of 2,000 names and 2,000 VirtualServices, none of which selects: each host is
    /// looked up among the exact names, so the check answers within its budget (2^20) instead
    /// of spending it on 4 million comparisons and counting the host as imported.
    #[test]
    fn a_listener_of_thousands_of_names_is_answered_not_guessed() {
        let names: Vec<String> = (0..2000)
            .map(|i| format!("web/h{i}.web.svc.cluster.local"))
            .collect();
        let listener = sidecar(&format!("  egress:\n  - hosts: [{}]\n", names.join(", ")));
        let yaml: Vec<String> = (0..2000)
            .map(|i| {
                virtual_service(
                    &format!("name: v{i}, namespace: web"),
                    &format!("  hosts: [g{i}]\n  http: [{{route: [{{destination: {{host: target}}}}]}}]\n"),
                )
            })
            .collect();
        let fqdn = "target.web.svc.cluster.local";
        assert!(!routed(
            &yaml.join("---\n"),
            &listener,
            "web",
            fqdn,
            Some(80)
        ));
        // One of them for a host the listener names: imported through its route.
        let named = virtual_service(
            "name: named, namespace: web",
            "  hosts: [h1999]\n  http: [{route: [{destination: {host: target}}]}]\n",
        );
        let yaml = yaml.join("---\n") + "---\n" + &named;
        assert!(routed(&yaml, &listener, "web", fqdn, Some(80)));
    }

    /// A root of 2,000 delegating routes over 2,000 delegates: each delegate is looked up by
    /// namespace and name, so the check answers within its budget (2^20) instead of spending
    /// it on 2 million comparisons and counting the host as imported.
    #[test]
    fn two_thousand_delegates_are_looked_up_not_searched() {
        let listener = sidecar("  egress:\n  - hosts: [./front.web.svc.cluster.local]\n");
        let routes: String = (0..2000)
            .map(|i| format!("  - delegate: {{name: d{i}}}\n"))
            .collect();
        let root = virtual_service(
            "name: root, namespace: web",
            &format!("  hosts: [front]\n  http:\n{routes}"),
        );
        let delegates = |last: &str| -> Vec<String> {
            (0..2000)
                .map(|i| {
                    let host = if i == 1999 {
                        last.to_owned()
                    } else {
                        format!("h{i}")
                    };
                    virtual_service(
                        &format!("name: d{i}, namespace: web"),
                        &format!("  http: [{{route: [{{destination: {{host: {host}}}}}]}}]\n"),
                    )
                })
                .collect()
        };
        let fqdn = "target.web.svc.cluster.local";
        let yaml = |last: &str| root.clone() + "---\n" + &delegates(last).join("---\n");
        assert!(!routed(&yaml("h1999"), &listener, "web", fqdn, Some(80)));
        assert!(routed(&yaml("target"), &listener, "web", fqdn, Some(80)));
    }

    /// push_context_test.go `TestVirtualServiceWithExportTo` and
    /// `TestVirtualServiceWithDefaultExportTo`, their cases for the sidecars (`mesh`): which
    /// VirtualServices a client namespace sees (`initVirtualServices`), by their `exportTo`,
    /// else MeshConfig's `defaultVirtualServiceExportTo`, and bound to the sidecars.
    #[test]
    fn virtual_services_are_visible_as_istio_exports_them() {
        let visible = |yaml: &[(&str, &str, &str)], mesh: &MeshConfig, client: &str| {
            let yaml: Vec<String> = yaml
                .iter()
                .map(|(name, namespace, spec)| {
                    virtual_service(&format!("name: {name}, namespace: {namespace}"), spec)
                })
                .collect();
            let loaded = load_str(
                &yaml.join("---\n"),
                &Arc::from("vs.yaml"),
                &LoadOptions::default(),
            );
            let routes = Routes {
                virtual_services: &loaded.virtual_services,
                mesh,
                default_namespace: "default",
            };
            let vss = loaded.virtual_services.iter();
            vss.filter(|vs| routes.visible(vs, &vs.namespace.as_ref().unwrap().value, client))
                .flat_map(|vs| vs.hosts.clone())
                .collect::<Vec<_>>()
        };
        let rules = [
            (
                "rule1",
                "test1",
                "  hosts: [rule1.com]\n  exportTo: ['.', ns1]\n",
            ),
            (
                "rule2",
                "test2",
                "  hosts: [rule2.com]\n  exportTo: [test2, ns1, test1]\n",
            ),
            (
                "rule3",
                "test3",
                "  hosts: [rule3.com]\n  gateways: [mesh]\n  exportTo: [test1, test2, '*']\n",
            ),
            (
                "rule2Gw",
                "test2",
                "  hosts: [rule2gw.com]\n  gateways: [default/gateway, mesh]\n  exportTo: [test2, ns1, test1]\n",
            ),
            (
                "rule3Gw",
                "test3",
                "  hosts: [rule3gw.com]\n  gateways: [default/gateway]\n  exportTo: [test1, test2, '*']\n",
            ),
            ("zzz", "zzz", "  hosts: [rootNS.com]\n"),
        ];
        let mesh = MeshConfig::default();
        let cases: [(&str, &[&str]); 4] = [
            (
                "test1",
                &[
                    "rule1.com",
                    "rule2.com",
                    "rule3.com",
                    "rule2gw.com",
                    "rootNS.com",
                ],
            ),
            (
                "test2",
                &["rule2.com", "rule3.com", "rule2gw.com", "rootNS.com"],
            ),
            (
                "ns1",
                &[
                    "rule1.com",
                    "rule2.com",
                    "rule3.com",
                    "rule2gw.com",
                    "rootNS.com",
                ],
            ),
            ("random", &["rule3.com", "rootNS.com"]),
        ];
        for (client, hosts) in cases {
            assert_eq!(visible(&rules, &mesh, client), hosts, "{client}");
        }
        // Default exportTo `[., ns1]`: private to their own namespace and exported to ns1.
        let mesh = MeshConfig {
            default_virtual_service_export_to: [".", "ns1"]
                .map(|e| crate::istio::model::Located::new(e.to_owned(), Default::default()))
                .to_vec(),
            ..MeshConfig::default()
        };
        let rules = [
            ("mesh-rule1", "test1", "  hosts: [mesh-rule1.com]\n"),
            ("mesh-rule2", "test2", "  hosts: [mesh-rule2.com]\n"),
            (
                "gw-rule",
                "test1",
                "  hosts: [gw-rule.com]\n  gateways: [default/gateway]\n",
            ),
        ];
        let cases: [(&str, &[&str]); 4] = [
            ("test1", &["mesh-rule1.com"]),
            ("ns1", &["mesh-rule1.com", "mesh-rule2.com"]),
            ("test2", &["mesh-rule2.com"]),
            ("random", &[]),
        ];
        for (client, hosts) in cases {
            assert_eq!(visible(&rules, &mesh, client), hosts, "{client}");
        }
    }
}
