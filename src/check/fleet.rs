//! The fleet check: C client pods, each within its own sidecar's outbound limits, against the
//! inbound admission of S server pods (ST214). Pure: no I/O.

use crate::diag::{Code, Finding, Location};
use crate::istio::inbound::Inbound;
use crate::istio::resolve::{EffectivePolicy, Resolution, Thresholds, UNLIMITED};

/// How many pods are on each side, and where the counts come from.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Replicas {
    /// Client pods calling the service.
    pub clients: u32,
    /// Server pods behind it.
    pub servers: u32,
    /// Where the client count was written (a Deployment's `spec.replicas`), if in a file.
    pub clients_at: Option<Location>,
    /// Where the server count was written, if in a file.
    pub servers_at: Option<Location>,
}

impl Replicas {
    /// `clients` client pods and `servers` server pods, as given on the command line.
    pub fn new(clients: u32, servers: u32) -> Self {
        Self {
            clients,
            servers,
            clients_at: None,
            servers_at: None,
        }
    }
}

/// The most requests one client pod's sidecar sends upstream at once: over HTTP/1.1 one per
/// connection, so `min(maxConnections, http2MaxRequests)` (the pending queue waits in the
/// client's sidecar); over an upgraded HTTP/2 upstream `http2MaxRequests`. `None`: unbounded.
fn forwarded(policy: &EffectivePolicy<'_>) -> Option<u64> {
    let t = policy.thresholds();
    let n = if policy.h2_upgrade() {
        t.max_requests
    } else {
        t.max_connections.min(t.max_requests)
    };
    (n != UNLIMITED).then_some(u64::from(n))
}

/// The most requests one server pod's sidecar admits at once on its inbound cluster:
/// `min(maxConnections + http1MaxPendingRequests, http2MaxRequests)`. `None`: unbounded.
fn admitted(t: Thresholds) -> Option<u64> {
    let queue = if t.max_connections == UNLIMITED || t.max_pending_requests == UNLIMITED {
        u64::from(UNLIMITED)
    } else {
        u64::from(t.max_connections) + u64::from(t.max_pending_requests)
    };
    let n = queue.min(u64::from(t.max_requests));
    (n != u64::from(UNLIMITED)).then_some(n)
}

/// ST214 when `replicas.clients` pods resolving `client` can send more requests at once than
/// `replicas.servers` pods with the inbound policy `server` admit (requests spread evenly).
/// The finding points at the server's inbound pool (else its rule, else the server count).
pub fn fleet_findings(
    client: &Resolution<'_>,
    server: &Inbound<'_>,
    replicas: &Replicas,
) -> Vec<Finding> {
    let server_policy = &server.resolution.policy;
    let Some(per_server) = admitted(server_policy.thresholds()) else {
        return Vec::new();
    };
    let total_admitted = per_server * u64::from(replicas.servers);
    let (sent, per_client) = match forwarded(&client.policy) {
        Some(f) if f * u64::from(replicas.clients) <= total_admitted => return Vec::new(),
        Some(f) => (
            (f * u64::from(replicas.clients)).to_string(),
            format!("{f} each"),
        ),
        None => ("without bound".to_owned(), "no outbound limit".to_owned()),
    };
    let location = server_policy
        .connection_pool
        .as_ref()
        .map(|p| p.at(p.value.pos))
        .or_else(|| {
            server
                .resolution
                .rule()
                .map(|r| Location::new(&r.origin.file, r.origin.pos))
        })
        .or_else(|| replicas.servers_at.clone())
        .unwrap_or_else(|| Location::new(&"<command line>".into(), Default::default()));
    let message = format!(
        "{} client pods send {sent} requests at once ({per_client}), more than {} server pods admit ({total_admitted}: {per_server} each)",
        replicas.clients, replicas.servers
    );
    let help = match forwarded(&client.policy) {
        Some(f) => {
            let total = f * u64::from(replicas.clients);
            format!(
                "raise the server's inbound admission to at least {} per pod (a Sidecar `inboundConnectionPool`), run at least {} server pods, or lower the clients' limits",
                total.div_ceil(u64::from(replicas.servers.max(1))),
                total.div_ceil(per_server.max(1))
            )
        }
        None => "bound the clients' outbound requests (`tcp.maxConnections` in the rule they resolve), or give the server a Sidecar `inboundConnectionPool` sized for all of them".to_owned(),
    };
    let mut finding =
        Finding::new(Code::FleetExceedsInboundAdmission, location, message).help(help);
    for (at, what) in [
        (&replicas.clients_at, "client pods counted here"),
        (&replicas.servers_at, "server pods counted here"),
    ] {
        if let Some(at) = at {
            finding = finding.label(at.clone(), what);
        }
    }
    vec![finding]
}
