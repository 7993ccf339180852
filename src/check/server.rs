//! Server mismatches (`ST4xx`): the application server's settings against the sidecar in front
//! of it. The inbound sidecar keeps idle connections to the application for its idle timeout
//! (the rule's `http.idleTimeout`, else `tcp.idleTimeout`, else Envoy's 1h); a server that
//! closes an idle connection first races the sidecar's next request on it, which fails with
//! 503 `UC`. Pure: no I/O.

use std::time::Duration;

use crate::diag::{Code, Finding, Location};
use crate::plan::{Plan, fmt_duration};
use crate::settings::{ServerSettings, Setting};

/// How long the inbound sidecar keeps an idle connection to the application; `None`: it never
/// closes one (`tcp.idleTimeout: 0s`).
pub(crate) fn inbound_idle_timeout(plan: &Plan) -> Option<Duration> {
    Some(plan.sidecar.idle_timeout).filter(|d| !d.is_zero())
}

/// The rule's `idleTimeout` that makes the sidecar close first: 0.9 of the server's, in whole
/// milliseconds (Istio's precision), at least 1ms.
pub(crate) fn rule_idle_timeout_below(server: Duration) -> Duration {
    let millis = u64::try_from(server.as_millis() * 9 / 10).unwrap_or(u64::MAX);
    Duration::from_millis(millis.max(1))
}

/// A server keep-alive the sidecar's idle timeout stays below: 1.1 times it, in whole seconds.
pub(crate) fn server_idle_timeout_above(sidecar: Duration) -> Duration {
    let millis = u64::try_from(sidecar.as_millis()).unwrap_or(u64::MAX / 11);
    Duration::from_secs((millis.saturating_mul(11)).div_ceil(10_000))
}

/// Every mismatch between the server's settings and the sidecar of `plan`.
pub fn server_findings(server: &ServerSettings, plan: &Plan) -> Vec<Finding> {
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
        let mut help = format!(
            "set the rule's `http.idleTimeout: {}` so that the sidecar closes first",
            fmt_duration(rule_fix)
        );
        if let Some(sidecar) = sidecar_idle {
            let (key, value) = library.idle_timeout_setting(server_idle_timeout_above(sidecar));
            help.push_str(&format!(
                ", or set `{key}: {value}` in the server settings (above the sidecar's {})",
                fmt_duration(sidecar)
            ));
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
        let (key, value) = library.keep_alive_fix();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixes_leave_a_margin_on_the_right_side() {
        // Node's 5s keep-alive: the rule goes to 4.5s.
        assert_eq!(
            rule_idle_timeout_below(Duration::from_secs(5)),
            Duration::from_millis(4500)
        );
        // gunicorn's 2s: 1.8s; a 1ms server still gets a valid (>= 1ms) Istio duration.
        assert_eq!(
            rule_idle_timeout_below(Duration::from_secs(2)),
            Duration::from_millis(1800)
        );
        assert_eq!(
            rule_idle_timeout_below(Duration::from_millis(1)),
            Duration::from_millis(1)
        );
        // Envoy's 1h: the server keeps 66 minutes.
        assert_eq!(
            server_idle_timeout_above(Duration::from_secs(3600)),
            Duration::from_secs(3960)
        );
        assert_eq!(
            server_idle_timeout_above(Duration::from_secs(30)),
            Duration::from_secs(33)
        );
    }
}
