//! Server mismatches (`ST4xx`): the application server's settings against the sidecar in front
//! of it. The inbound sidecar keeps idle connections to the application for its idle timeout
//! (the rule's `http.idleTimeout`, else `tcp.idleTimeout`, else Envoy's 1h); a server that
//! closes an idle connection first races the sidecar's next request on it, which fails with
//! 503 `UC`. Pure: no I/O.

use std::time::Duration;

use crate::diag::{Code, Finding, Location};
use crate::istio::resolve::{EffectivePolicy, PolicySource};
use crate::plan::{
    Plan, fmt_duration, inbound_idle_timeout, rule_idle_timeout_below, server_idle_timeout_above,
};
use crate::settings::{ServerSettings, Setting};

/// Every mismatch between the server's settings and the sidecar of `plan`, the plan of the
/// inbound `policy`.
pub fn server_findings(
    server: &ServerSettings,
    policy: &EffectivePolicy<'_>,
    plan: &Plan,
) -> Vec<Finding> {
    let library = server.library;
    let mut findings = Vec::new();
    let sidecar_idle = inbound_idle_timeout(plan);
    let rule_line = plan
        .derivations
        .iter()
        .find(|d| d.setting == "pool_idle_timeout")
        .and_then(|d| d.sources.first().cloned());
    let shown = |d: Option<Duration>| d.map_or_else(|| "no limit".to_owned(), fmt_duration);

    if server.keep_alive.value
        && let Some(server_idle) = server.idle_timeout.value
        && sidecar_idle.is_none_or(|sidecar| server_idle <= sidecar)
    {
        let rule_fix = rule_idle_timeout_below(server_idle);
        let pool = policy.connection_pool.as_ref().map(|p| &p.source);
        let (owner, path) = idle_timeout_owner(pool);
        let mut help = format!(
            "set {owner} `{path}http.idleTimeout: {}` so that the sidecar closes first",
            fmt_duration(rule_fix)
        );
        if let Some(sidecar) = sidecar_idle {
            let (key, value) = library.idle_timeout_setting(server_idle_timeout_above(sidecar));
            help.push_str(&format!(
                ", or set `{key}: {value}` in the server settings (above the sidecar's {})",
                fmt_duration(sidecar)
            ));
        }
        if server.idle_timeout.pos.is_none()
            && let Some(note) = library.unsaid_idle_timeout_note()
        {
            help.push_str(&format!("; {note}"));
        }
        let message = format!(
            "the server closes idle connections after {}; its sidecar keeps them for {}: a request the sidecar sends on a connection as the server closes it fails with 503 UC",
            fmt_duration(server_idle),
            shown(sidecar_idle)
        );
        findings.push(at_setting(
            server,
            &server.idle_timeout,
            Code::ServerClosesIdleFirst,
            message,
            help,
            &rule_line,
        ));
    }

    if !server.keep_alive.value {
        // Turned off by an idle timeout of 0 (gunicorn's `keepalive`, uvicorn's
        // `timeout_keep_alive`): the fix is that timeout, above the sidecar's.
        let (key, value) = match sidecar_idle {
            Some(sidecar) if server.keep_alive.set_with(&server.idle_timeout) => {
                library.idle_timeout_setting(server_idle_timeout_above(sidecar))
            }
            _ => {
                let (key, value) = library.keep_alive_fix();
                (key, value.to_owned())
            }
        };
        findings.push(at_setting(
            server,
            &server.keep_alive,
            Code::ServerKeepAliveOff,
            "the server closes the connection after every response: its sidecar connects anew for each request".to_owned(),
            format!("set `{key}: {value}` in the server settings"),
            &None,
        ));
    }

    let workers = server.workers.value;
    if workers > 1 && plan.processes == 1 {
        findings.push(at_setting(
            server,
            &server.workers,
            Code::ServerWorkers,
            format!(
                "the server runs {workers} worker processes behind one sidecar: their clients, each planned for the whole budget, overflow it together"
            ),
            format!("plan the clients inside it for {workers} processes (`--processes {workers}`, `PlanOptions::processes`)"),
            &None,
        ));
    }
    findings
}

/// Where the inbound idle timeout is set: the Sidecar's pool replaces the rule's whole, so a
/// Sidecar that gives the port a pool is where it goes (Istio's `InboundConnectionPoolForPort`).
fn idle_timeout_owner(pool: Option<&PolicySource>) -> (&'static str, String) {
    match pool {
        Some(PolicySource::SidecarIngress(port)) => (
            "the Sidecar's",
            format!("ingress[port {port}].connectionPool."),
        ),
        Some(PolicySource::SidecarInbound) => {
            ("the Sidecar's", "inboundConnectionPool.".to_owned())
        }
        _ => ("the rule's", String::new()),
    }
}

/// A finding at the server file's key, or at the file when the library's default applies; with
/// the sidecar's rule line as a note when there is one.
fn at_setting<T>(
    server: &ServerSettings,
    setting: &Setting<T>,
    code: Code,
    message: String,
    help: String,
    rule_line: &Option<Location>,
) -> Finding {
    let (location, message) = match setting.pos {
        Some(pos) => (Location::new(&server.file, pos), message),
        None => (
            Location::new(&server.file, Default::default()),
            format!(
                "{message} ({}'s default, not set in the server settings)",
                server.library
            ),
        ),
    };
    let finding = Finding::new(code, location, message).help(help);
    match rule_line {
        Some(at) => finding.label(at.clone(), "the sidecar's idle timeout"),
        None => finding,
    }
}
