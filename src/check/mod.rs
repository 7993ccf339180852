//! Findings: the rule lints (`ST2xx`) over loaded rules, on top of the input findings
//! (`ST1xx`) of loading, and the client mismatches (`ST3xx`); [`run`] puts them together, for
//! the CLI and [`Tuner`](crate::Tuner) alike. Pure: no I/O.

mod fleet;
mod lints;
mod mismatch;
mod server;

pub use fleet::{Replicas, fleet_findings};
pub use lints::{lint_rules, resolution_findings, scope_findings};
pub use mismatch::client_findings;
pub use server::server_findings;

use crate::diag::{Code, Finding, Location};
use crate::error::{Error, ErrorKind};
use crate::istio::MeshConfig;
use crate::istio::inbound::resolve_inbound;
use crate::istio::load::Loaded;
use crate::istio::resolve::{Destination, MeshIndex};
use crate::plan::{Plan, PlanOptions, derive};
use crate::report::Report;
use crate::settings::{ClientSettings, ServerSettings};

/// What [`run`] found: one report, and the plan of each destination that resolved.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Checked {
    /// The findings (input, lints, resolutions, mismatches) with the inputs' text; its
    /// derivations are those of the first destination's plan.
    pub report: Report,
    /// The plan of each destination that resolved, in order.
    pub plans: Vec<Plan>,
}

/// The application's settings a check compares with the sidecars: its HTTP client's (ST3xx),
/// and its server's (ST4xx), against the sidecar in front of it.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct AppSettings<'a> {
    /// The client's settings.
    pub client: Option<&'a ClientSettings>,
    /// The server's settings; the destination is then the server's own service.
    pub server: Option<&'a ServerSettings>,
}

impl<'a> AppSettings<'a> {
    /// The client's settings.
    pub fn client(mut self, client: &'a ClientSettings) -> Self {
        self.client = Some(client);
        self
    }

    /// The server's settings.
    pub fn server(mut self, server: &'a ServerSettings) -> Self {
        self.server = Some(server);
        self
    }
}

/// Checks the loaded input as `sidecar-tuner check` does: the input's findings; the lints of
/// every rule over Istio's index of them under `mesh` (a rule without a namespace lives in
/// `namespace`); for each destination how it resolves and, with `app`'s client or server
/// settings, each setting that does not match its plan. A destination no rule is for is a finding (ST209), unless part of
/// the input could not be read, which already says why.
///
/// # Errors
/// [`ErrorKind::UnknownSubset`] when a destination names a subset its rules do not define;
/// [`ErrorKind::InvalidSetting`] for a headroom out of range.
pub fn run(
    loaded: &Loaded,
    mesh: &MeshConfig,
    namespace: &str,
    destinations: &[Destination],
    app: AppSettings<'_>,
    options: &PlanOptions,
) -> Result<Checked, Error> {
    let mut findings = loaded.findings.clone();
    let index = MeshIndex::new(&loaded.rules, mesh, namespace);
    findings.extend(lint_rules(&index));
    let mut plans = Vec::new();
    for destination in destinations {
        let destination = &loaded.complete(destination, mesh);
        findings.extend(scope_findings(&index, loaded, destination));
        match index.resolve(destination) {
            Ok(resolution) => {
                findings.extend(resolution_findings(&resolution));
                let plan = derive(&resolution.policy, options)?;
                if let Some(client) = app.client {
                    findings.extend(client_findings(client, &resolution, &plan));
                }
                if let Some(server) = app.server {
                    // The server's own sidecar: the inbound policy, a Sidecar's pool included.
                    let inbound = resolve_inbound(&index, &loaded.sidecars, destination, None)?;
                    let inbound_plan = derive(&inbound.resolution.policy, options)?;
                    findings.extend(server_findings(
                        server,
                        &inbound.resolution.policy,
                        &inbound_plan,
                    ));
                }
                plans.push(plan);
            }
            Err(e) if e.kind() == ErrorKind::NoMatchingRule => {
                if loaded.has_unreadable_input() {
                    continue;
                }
                let input = loaded.files.first().cloned().unwrap_or_else(|| "-".into());
                findings.push(
                    Finding::new(
                        Code::NoMatchingRule,
                        Location::new(&input, Default::default()),
                        format!(
                            "no DestinationRule applies to `{}` from namespace `{}`",
                            destination.fqdn(),
                            destination.namespace
                        ),
                    )
                    .help("the sidecar applies Istio's defaults (unlimited); check the rule's `spec.host`, the host and the client's namespace"),
                );
            }
            Err(e) => return Err(e),
        }
    }
    let mut report = Report::new(findings, loaded.sources.clone());
    report.files = loaded.files.len();
    report.rules = loaded.rules.len();
    if let Some(plan) = plans.first() {
        report = report.with_derivations(plan);
    }
    Ok(Checked { report, plans })
}
