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
//! Not modelled: the hosts a listener also imports from the routes of the VirtualServices it
//! imports (`collectImportedServices`), so a host found not imported here may still be imported
//! by a VirtualService's route; and ServiceEntries (their `exportTo`, MeshConfig's
//! `serviceEntryVisibility`).

use std::collections::BTreeMap;

use super::MeshConfig;
use super::model::{Service, Sidecar, SidecarEgress};

/// The namespace part of an egress host that stands for every namespace.
const EVERY_NAMESPACE: &str = "*";

/// Whether `service`, of `namespace`, is visible to clients of `client_namespace` (Istio's
/// `PushContext.IsServiceVisible` and `serviceExportTo`): its `networking.istio.io/exportTo`
/// annotation, else MeshConfig's `defaultServiceExportTo`, else `*`; `*` exports to every
/// namespace, `.` to its own, a name to that namespace, `~` to none.
pub(crate) fn exported_to(
    service: &Service,
    namespace: &str,
    mesh: &MeshConfig,
    client_namespace: &str,
) -> bool {
    let export_to: Vec<&str> = match &service.export_to {
        Some(list) => list.value.iter().map(String::as_str).collect(),
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

/// Whether `sidecar`, applying to a client in `client_namespace`, imports the service `fqdn`
/// of `service_namespace` (`None`: not known, so any namespace may hold it) on `port` (`None`:
/// on some port).
pub(crate) fn imports(
    sidecar: &Sidecar,
    client_namespace: &str,
    fqdn: &str,
    service_namespace: Option<&str>,
    port: Option<u32>,
) -> bool {
    sidecar.egress.is_empty()
        || sidecar.egress.iter().any(|listener| {
            let on_port = match (&listener.port, port) {
                (Some(listener_port), Some(port)) => listener_port.value == port,
                _ => true,
            };
            on_port && Imports::of(listener, client_namespace).service(fqdn, service_namespace)
        })
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
            imports(sidecar, client, host, Some(namespace), None)
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
        assert!(imports(&none, "web", fqdn, Some("bookinfo"), None));
        let own = hosts(&["./*", "istio-system/*"]);
        assert!(imports(&own, "bookinfo", fqdn, Some("bookinfo"), None));
        assert!(!imports(&own, "web", fqdn, Some("bookinfo"), None));
        assert!(!imports(
            &hosts(&["bookinfo/reviews"]),
            "web",
            fqdn,
            Some("bookinfo"),
            None
        ));
        assert!(imports(
            &hosts(&[&format!("bookinfo/{fqdn}")]),
            "web",
            fqdn,
            Some("bookinfo"),
            None
        ));
        assert!(imports(
            &hosts(&["*/*.bookinfo.svc.cluster.local"]),
            "web",
            fqdn,
            Some("bookinfo"),
            None
        ));
        assert!(!imports(
            &hosts(&["*/*.prod.svc.cluster.local"]),
            "web",
            fqdn,
            Some("bookinfo"),
            None
        ));
        assert!(!imports(
            &hosts(&["bookinfo/a/b", "*"]),
            "web",
            fqdn,
            Some("bookinfo"),
            None
        ));
        assert!(!imports(
            &hosts(&["~/*", "*/*"]),
            "web",
            fqdn,
            Some("bookinfo"),
            None
        ));
        // A ServiceEntry host whose namespace is not known: any listed namespace may hold it.
        let host = "api.example.com";
        assert!(imports(
            &hosts(&["ext/api.example.com"]),
            "web",
            host,
            None,
            None
        ));
        assert!(imports(
            &hosts(&["*/*.example.com"]),
            "web",
            host,
            None,
            None
        ));
        assert!(imports(&hosts(&["./*"]), "web", host, None, None));
        let elsewhere = hosts(&["ext/*.other.com", "istio-system/*.svc.cluster.local"]);
        assert!(!imports(&elsewhere, "web", host, None, None));
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
            exported_to(&loaded.services[0], namespace, &mesh, "foo")
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

    /// `needsPortMatch`, `serviceMatchingListenerPort`: a listener with a port imports its
    /// hosts on that port only; an `HTTP_PROXY` listener, or one without port, on every port.
    #[test]
    fn a_listener_with_a_port_imports_on_that_port() {
        let fqdn = "reviews.bookinfo.svc.cluster.local";
        let s = sidecar(
            "  egress:\n  - port: {number: 9080, protocol: HTTP, name: http}\n    hosts: [bookinfo/*]\n  - hosts: [./*]\n",
        );
        assert!(imports(&s, "web", fqdn, Some("bookinfo"), Some(9080)));
        assert!(!imports(&s, "web", fqdn, Some("bookinfo"), Some(9443)));
        assert!(imports(&s, "web", fqdn, Some("bookinfo"), None));
        let proxy = sidecar(
            "  egress:\n  - port: {number: 3128, protocol: HTTP_PROXY, name: proxy}\n    hosts: [bookinfo/*]\n",
        );
        assert!(imports(&proxy, "web", fqdn, Some("bookinfo"), Some(9443)));
    }
}
