//! Client mismatches (`ST3xx`): the settings a client runs against the plan for the sidecar in
//! front of it. Pure: no I/O.

use std::time::Duration;

use crate::diag::{Code, Finding, Location};
use crate::istio::resolve::Resolution;
use crate::plan::{Plan, UNLIMITED, fmt_duration};
use crate::settings::{ClientSettings, Field, Setting, Vocabulary};

/// Istio's default route retries: 2 retries, so 3 attempts per request the sidecar receives.
const SIDECAR_ATTEMPTS: u64 = 3;

/// Every mismatch between `client` and the plan derived for the destination of `resolution`.
/// A finding points at the client's line for a key the file sets, and at the rule's line for
/// a key left to the library's default; its help gives the value to set.
pub fn client_findings(
    client: &ClientSettings,
    resolution: &Resolution<'_>,
    plan: &Plan,
) -> Vec<Finding> {
    let check = Check {
        client,
        resolution,
        plan,
    };
    let sidecar = &plan.sidecar;
    let wanted = &plan.client;
    let mut findings = Vec::new();

    let idle = client.idle_per_host.value;
    // A client bounded to M requests in flight holds at most M connections, so an idle pool up
    // to its own bound, where that bound fits the sidecar, keeps no connection a burst does not
    // open anyway (the pool `plan --emit` writes for OkHttp, httpx and Node's agent).
    let own_bound = client
        .max_in_flight
        .value
        .filter(|own| wanted.max_in_flight.is_some_and(|planned| *own <= planned));
    if client.keep_alive.value
        && sidecar.max_connections != UNLIMITED
        && let Some(wanted_idle) = wanted.pool_max_idle_per_host
        && idle > own_bound.map_or(wanted_idle, |own| own.max(wanted_idle))
    {
        let shown = if idle == usize::MAX {
            "no limit on".to_owned()
        } else {
            format!("up to {idle}")
        };
        let (code, message) = match plan.alone.as_ref().and_then(|a| a.pool_max_idle_per_host) {
            Some(alone) if idle <= alone => (
                Code::SharedBudget,
                format!(
                    "the client keeps {shown} idle connections per host, which fits the sidecar only when it is alone: {} processes share its {} connections, {wanted_idle} each",
                    plan.processes, sidecar.max_connections
                ),
            ),
            _ if sidecar.h2_upgrade => (
                Code::IdlePoolTooLarge,
                format!(
                    "the client keeps {shown} idle connections per host; toward its HTTP/2 upstream the sidecar admits {} requests at once{}",
                    sidecar.admission().1,
                    shared_by(plan)
                ),
            ),
            _ => (
                Code::IdlePoolTooLarge,
                format!(
                    "the client keeps {shown} idle connections per host; the sidecar allows {} connection{}{}",
                    sidecar.max_connections,
                    if sidecar.max_connections == 1 {
                        ""
                    } else {
                        "s"
                    },
                    shared_by(plan)
                ),
            ),
        };
        findings.extend(check.finding(
            code,
            &client.idle_per_host,
            "pool_max_idle_per_host",
            message,
            Field::IdlePerHost,
            &wanted_idle.to_string(),
        ));
    }

    // Toward an HTTP/2 upstream the plan is sized in streams, which a client multiplexing its
    // requests over HTTP/2 to the sidecar does not change; through a TCP proxy in connections,
    // of which it then needs fewer.
    if client.http2.value
        && !sidecar.h2_upgrade
        && !sidecar.tcp_proxy
        && let Some((field, value)) = client.vocabulary.http1_setting()
    {
        findings.extend(check.finding(
            Code::Http2Enabled,
            &client.http2,
            "",
            "the client may send HTTP/2 to the sidecar, whose admission the plan sizes for HTTP/1.1"
                .to_owned(),
            field,
            value,
        ));
    }

    if let Some(ceiling) = wanted.max_in_flight {
        let (bound, formula) = sidecar.admission();
        let bound = bound.map_or_else(|| "unlimited".to_owned(), |b| b.to_string());
        let admission = if sidecar.tcp_proxy {
            format!(
                "the sidecar proxies the port as TCP and admits {formula} connections, one per request in flight"
            )
        } else if sidecar.h2_upgrade {
            format!("the sidecar admits {formula} = {bound} toward its HTTP/2 upstream")
        } else {
            format!("the sidecar admits {formula} = {bound}")
        };
        let alone = plan.alone.as_ref().and_then(|a| a.max_in_flight);
        let message = match client.max_in_flight.value {
            None => Some((
                Code::ConcurrencyAboveAdmission,
                format!(
                    "requests in flight are unbounded; {admission}{}",
                    shared_by(plan)
                ),
            )),
            Some(bound) if bound > ceiling && alone.is_some_and(|alone| bound <= alone) => Some((
                Code::SharedBudget,
                format!(
                    "up to {bound} requests in flight, which fits the sidecar only when the client is alone: {admission}, shared by {} processes, {ceiling} each",
                    plan.processes
                ),
            )),
            Some(bound) if bound > ceiling => Some((
                Code::ConcurrencyAboveAdmission,
                format!(
                    "up to {bound} requests in flight, above the plan's {ceiling}: {admission}{}",
                    shared_by(plan)
                ),
            )),
            Some(_) => None,
        };
        if let Some((code, message)) = message {
            let vocabulary = client.vocabulary;
            let help = vocabulary.how_to_bound(ceiling).unwrap_or_else(|| {
                format!("set `{}: {ceiling}`", vocabulary.key(Field::MaxInFlight))
            });
            findings.extend(check.finding_with_help(
                code,
                &client.max_in_flight,
                "max_in_flight",
                message,
                help,
            ));
        }
    }

    // Values to set are written in the library's unit (`27s`, `27.0`, `27000`, `00:00:27`).
    let unit = |d: Option<Duration>| client.vocabulary.duration_text(d);
    let too_long = |d: Option<Duration>, limit: Duration| d.is_none_or(|d| d >= limit);
    if let Some(sidecar_idle) = sidecar.idle_limit()
        && client.keep_alive.value
        && too_long(client.idle_timeout.value, sidecar_idle)
    {
        findings.extend(check.finding(
            Code::IdleTimeoutNotBelowSidecar,
            &client.idle_timeout,
            "pool_idle_timeout",
            format!(
                "the client's idle timeout is {}; the sidecar closes idle connections after {}",
                shown(client.idle_timeout.value, "none"),
                fmt_duration(sidecar_idle)
            ),
            Field::IdleTimeout,
            &unit(Some(wanted.pool_idle_timeout)),
        ));
    }

    if too_long(client.connect_timeout.value, sidecar.connect_timeout)
        && client.connect_timeout.value != Some(sidecar.connect_timeout)
    {
        findings.extend(check.finding(
            Code::ConnectTimeoutAboveSidecar,
            &client.connect_timeout,
            "connect_timeout",
            format!(
                "the client's connect timeout is {}; the sidecar gives up on the upstream after {}",
                shown(client.connect_timeout.value, "none"),
                fmt_duration(sidecar.connect_timeout)
            ),
            Field::ConnectTimeout,
            &unit(Some(sidecar.connect_timeout)),
        ));
    }

    if let Some(rule_time) = wanted.tcp_keepalive
        && client.tcp_keepalive.value.is_none_or(|t| t > rule_time)
    {
        findings.extend(check.finding(
            Code::KeepAliveOutOfLine,
            &client.tcp_keepalive,
            "tcp_keepalive",
            format!(
                "the client's TCP keep-alive is {}; the rule probes after {}",
                shown(client.tcp_keepalive.value, "off"),
                fmt_duration(rule_time)
            ),
            Field::TcpKeepalive,
            &unit(Some(rule_time)),
        ));
    }

    let retries = client.retries.value;
    if retries > 0 {
        findings.extend(check.finding(
            Code::RetriesMultiply,
            &client.retries,
            "",
            format!(
                "the client retries {retries} times on top of the sidecar's retries: up to {} attempts reach the upstream per call",
                (u64::from(retries) + 1) * SIDECAR_ATTEMPTS
            ),
            Field::Retries,
            "0",
        ));
    }

    if !client.keep_alive.value {
        let idle = wanted
            .pool_max_idle_per_host
            .map_or_else(|| "null".to_owned(), |n| n.to_string());
        // Turned off by the idle limit (reqwest's 0, Go's negative value) or an idle timeout of
        // 0 (reqwest's, httpx's, aiohttp's, .NET's, Reactor Netty's): the fix is that setting;
        // the other switch in .NET and Reactor Netty is a lifetime of 0.
        let off = &client.keep_alive;
        let (field, value) = match client.vocabulary.keep_alive_setting() {
            _ if off.set_with(&client.idle_timeout) => {
                (Field::IdleTimeout, unit(Some(wanted.pool_idle_timeout)))
            }
            Some(_) if off.set_with(&client.idle_per_host) => (Field::IdlePerHost, idle),
            Some((field, value)) => (field, value.to_owned()),
            None if client.vocabulary == Vocabulary::Undici => (Field::Pipelining, "1".into()),
            None if matches!(
                client.vocabulary,
                Vocabulary::DotNet | Vocabulary::ReactorNetty
            ) =>
            {
                (Field::Lifetime, unit(None))
            }
            None => (Field::IdlePerHost, idle),
        };
        findings.extend(check.finding(
            Code::KeepAliveDisabled,
            &client.keep_alive,
            "",
            "the client opens a new connection for every request".to_owned(),
            field,
            &value,
        ));
    }
    findings
}

/// `, shared by N processes` when the plan is one process's share.
fn shared_by(plan: &Plan) -> String {
    match plan.processes {
        1 => String::new(),
        k => format!(", shared by {k} processes"),
    }
}

/// A duration as a Go duration string, or `none` for no duration.
fn shown(d: Option<Duration>, none: &str) -> String {
    d.map_or_else(|| none.to_owned(), fmt_duration)
}

struct Check<'a> {
    client: &'a ClientSettings,
    resolution: &'a Resolution<'a>,
    plan: &'a Plan,
}

impl Check<'_> {
    /// A finding at the client's key, or at the rule line behind `derived` when the key is
    /// left to the library's default; the help names the value to set. None when the file's
    /// value for the setting could not be read (its input finding stands alone), or when the
    /// library has no such setting.
    fn finding<T>(
        &self,
        code: Code,
        setting: &Setting<T>,
        derived: &str,
        message: String,
        field: Field,
        value: &str,
    ) -> Option<Finding> {
        let key = self.client.vocabulary.key(field);
        if key.is_empty() {
            return None;
        }
        let help = format!("set `{key}: {value}`");
        self.finding_with_help(code, setting, derived, message, help)
    }

    /// As [`Check::finding`], with the help's first part given (`set ...`); the rest says
    /// where.
    fn finding_with_help<T>(
        &self,
        code: Code,
        setting: &Setting<T>,
        derived: &str,
        message: String,
        help: String,
    ) -> Option<Finding> {
        if setting.unreadable {
            return None;
        }
        let vocabulary = self.client.vocabulary;
        let rule_location = self
            .plan
            .derivations
            .iter()
            .find(|d| d.setting == derived)
            .and_then(|d| d.sources.first().cloned())
            .or_else(|| {
                let rule = self.resolution.rule()?;
                Some(Location::new(&rule.origin.file, rule.host.pos))
            });
        let help = format!("{help} in the client settings");
        let policy = format!(
            "the sidecar's policy: DestinationRule {}",
            self.resolution.describe()
        );
        Some(match (setting.pos, rule_location) {
            (Some(pos), rule_location) => {
                let finding =
                    Finding::new(code, Location::new(&self.client.file, pos), message).help(help);
                match rule_location {
                    Some(at) => finding.label(at, policy),
                    None => finding,
                }
            }
            (None, at) => Finding::new(
                code,
                at.unwrap_or_else(|| Location::new(&self.client.file, Default::default())),
                format!("{message} ({vocabulary}'s default, not set in the client settings)"),
            )
            .help(format!("{help} ({})", self.client.file)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::istio::load::{LoadOptions, load_file};
    use crate::istio::resolve::{Destination, resolve};
    use crate::plan::{PlanOptions, derive};
    use crate::settings::client_file_from_bytes;
    use std::sync::Arc;

    fn findings(client: &str) -> Vec<String> {
        let (input, mismatches) = checked(client);
        assert!(input.is_empty(), "{input:?}");
        mismatches
    }

    /// The input findings' codes and the mismatches of `client` against reviews' plan.
    fn checked(client: &str) -> (Vec<Code>, Vec<String>) {
        let loaded = load_file(
            std::path::Path::new("fixtures/reviews.yaml"),
            &LoadOptions::default(),
        )
        .unwrap();
        let destination = Destination {
            namespace: "bookinfo".into(),
            ..Destination::new("reviews")
        };
        let resolution = resolve(&loaded.rules, &destination).unwrap();
        let plan = derive(&resolution.policy, &PlanOptions::default()).unwrap();
        let file = client_file_from_bytes(
            client.as_bytes(),
            &Arc::from("client.yaml"),
            &LoadOptions::default(),
        );
        let mismatches = client_findings(&file.settings.unwrap(), &resolution, &plan)
            .iter()
            .map(|f| format!("{} {} {}", f.code, f.location, f.help.as_deref().unwrap()))
            .collect();
        (file.findings.iter().map(|f| f.code).collect(), mismatches)
    }

    #[test]
    fn a_value_that_cannot_be_read_is_not_also_a_mismatch() {
        // Go's default idle timeout would give ST304 (90s): the file sets it to a value that
        // cannot be read, so only its input error is reported (beside `ForceAttemptHTTP2`'s).
        let (input, mismatches) =
            checked("ForceAttemptHTTP2: maybe\nIdleConnTimeout: forever\nMaxConnsPerHost: 1000\n");
        assert_eq!(input, [Code::WrongType, Code::InvalidDuration]);
        let codes: Vec<&str> = mismatches.iter().map(|m| &m[..5]).collect();
        assert!(codes.contains(&"ST303"), "{mismatches:?}");
        assert!(
            !codes.contains(&"ST302") && !codes.contains(&"ST304"),
            "{mismatches:?}"
        );
    }

    #[test]
    fn go_defaults_point_at_the_rule() {
        assert_eq!(
            findings("library: go\n"),
            [
                "ST303 fixtures/reviews.yaml:13:25 set `MaxConnsPerHost: 104` in the client settings (client.yaml)",
                "ST304 fixtures/reviews.yaml:23:22 set `IdleConnTimeout: 27s` in the client settings (client.yaml)",
                "ST305 fixtures/reviews.yaml:14:25 set `DialTimeout: 2s` in the client settings (client.yaml)",
            ]
        );
    }

    #[test]
    /// Each points at the value to change (columns counted by hand: `max_in_flight: ` is 15
    /// characters, so its value starts at column 16).
    fn set_keys_point_at_the_client_file() {
        assert_eq!(
            findings(
                "pool_max_idle_per_host: 200\nmax_in_flight: 500\nhttp2: true\npool_idle_timeout: 30s\nconnect_timeout: 2s\ntcp_keepalive: null\nretries: 2\n"
            ),
            [
                "ST301 client.yaml:1:25 set `pool_max_idle_per_host: 95` in the client settings",
                "ST302 client.yaml:3:8 set `http1_only: true` in the client settings",
                "ST303 client.yaml:2:16 set `max_in_flight: 104` in the client settings",
                "ST304 client.yaml:4:20 set `pool_idle_timeout: 27s` in the client settings",
                "ST306 client.yaml:6:16 set `tcp_keepalive: 5m0s` in the client settings",
                "ST307 client.yaml:7:10 set `retries: 0` in the client settings",
            ]
        );
        assert_eq!(
            findings(
                "library: go\nDisableKeepAlives: true\nMaxConnsPerHost: 104\nForceAttemptHTTP2: false\nDialTimeout: 2s\n"
            ),
            ["ST308 client.yaml:2:20 set `DisableKeepAlives: false` in the client settings"]
        );
        // A negative idle limit turns keep-alive off too (net/http `tryPutIdleConn`): the fix
        // is the limit, not `DisableKeepAlives`, which the file does not set.
        assert_eq!(
            findings(
                "library: go\nMaxIdleConnsPerHost: -1\nMaxConnsPerHost: 104\nForceAttemptHTTP2: false\nDialTimeout: 2s\n"
            ),
            ["ST308 client.yaml:2:22 set `MaxIdleConnsPerHost: 95` in the client settings"]
        );
        // An idle timeout of 0 reuses nothing in reqwest (hyper-util's pool drops an idle
        // connection older than it), httpx (httpcore's `has_expired`), aiohttp (its
        // connector's `_get`), .NET (`HttpConnectionPoolManager._avoidStoringConnections`) and
        // Reactor Netty (its pool's eviction predicate), in the last two set by a lifetime of 0
        // too: the fix is that setting; OkHttp's ConnectionPool throws on 0 (read as an ST103
        // out-of-range value).
        for (client, expected) in [
            (
                "pool_idle_timeout: 0s\npool_max_idle_per_host: 95\nmax_in_flight: 104\nconnect_timeout: 2s\n",
                "ST308 client.yaml:1:20 set `pool_idle_timeout: 27s` in the client settings",
            ),
            (
                "library: httpx\nkeepalive_expiry: 0\nmax_keepalive_connections: 95\nmax_connections: 104\ntimeout.connect: 2.0\n",
                "ST308 client.yaml:2:19 set `keepalive_expiry: 27.0` in the client settings",
            ),
            (
                "library: aiohttp\nkeepalive_timeout: 0\nlimit_per_host: 104\ntimeout.sock_connect: 2.0\n",
                "ST308 client.yaml:2:20 set `keepalive_timeout: 27.0` in the client settings",
            ),
            (
                "library: dotnet\nPooledConnectionIdleTimeout: 00:00:00\nMaxConnectionsPerServer: 104\nConnectTimeout: 00:00:02\n",
                "ST308 client.yaml:2:30 set `PooledConnectionIdleTimeout: 00:00:27` in the client settings",
            ),
            (
                "library: dotnet\nPooledConnectionLifetime: 00:00:00\nMaxConnectionsPerServer: 104\nConnectTimeout: 00:00:02\nPooledConnectionIdleTimeout: 00:00:27\n",
                "ST308 client.yaml:2:27 set `PooledConnectionLifetime: Infinite` in the client settings",
            ),
            (
                "library: reactor-netty\nmaxIdleTime: 0s\nmaxConnections: 104\nconnectTimeout: 2s\n",
                "ST308 client.yaml:2:14 set `maxIdleTime: 27s` in the client settings",
            ),
            (
                "library: reactor-netty\nmaxLifeTime: 0s\nmaxIdleTime: 27s\nmaxConnections: 104\nconnectTimeout: 2s\n",
                "ST308 client.yaml:2:14 set `maxLifeTime: null` in the client settings",
            ),
        ] {
            assert_eq!(findings(client), [expected], "{client}");
        }
    }

    /// reviews' plan keeps 95 idle connections under a bound of 104. A client bounded to at
    /// most 104 itself holds at most that many connections, so an idle pool up to its own bound
    /// is no mismatch (what `plan --emit okhttp` writes); past its bound, or with a bound the
    /// sidecar does not fit, ST301 stands.
    #[test]
    fn an_idle_pool_up_to_the_clients_own_fitting_bound_is_no_mismatch() {
        let st301 = |yaml: &str| findings(yaml).iter().any(|f| f.starts_with("ST301"));
        assert!(!st301("pool_max_idle_per_host: 104\nmax_in_flight: 104\n"));
        assert!(!st301("pool_max_idle_per_host: 100\nmax_in_flight: 100\n"));
        let okhttp = "library: okhttp\nmaxIdleConnections: 104\nmaxRequestsPerHost: 104\n";
        assert!(!st301(&format!("{okhttp}maxRequests: 104\n")));
        // Its dispatcher's default `maxRequests` of 64 bounds it below its idle pool.
        assert!(st301(okhttp));
        assert!(st301("pool_max_idle_per_host: 101\nmax_in_flight: 100\n"));
        assert!(st301("pool_max_idle_per_host: 104\nmax_in_flight: 105\n"));
        assert!(st301("pool_max_idle_per_host: 96\nmax_in_flight: null\n"));
        assert!(!st301("pool_max_idle_per_host: 95\nmax_in_flight: null\n"));
    }

    /// Every library's defaults against reviews' plan (ceiling 104, idle 95, idle timeout 27s,
    /// connect 2s, TCP keep-alive 5m), each expected finding derived by hand from the defaults
    /// the library documents: where a library has no key for a setting, nothing is reported
    /// for it; where it cannot bound requests in flight with one key, the help says how.
    #[test]
    fn each_library_defaults_against_reviews() {
        let at = "fixtures/reviews.yaml";
        let set = |line_col: &str, what: &str| {
            format!("{at}:{line_col} set `{what}` in the client settings (client.yaml)")
        };
        let cases: [(&str, Vec<String>); 9] = [
            (
                "okhttp",
                vec![
                    format!("ST304 {}", set("23:22", "keepAliveDuration: 27s")),
                    format!("ST305 {}", set("14:25", "connectTimeout: 2s")),
                ],
            ),
            (
                "httpclient5",
                vec![
                    format!("ST304 {}", set("23:22", "evictIdleConnections: 27s")),
                    format!("ST305 {}", set("14:25", "connectTimeout: 2s")),
                    // Its default retry of a 503 (`maxRetries` 1) is an overload retry: the
                    // sidecar refused those requests before any upstream saw them. No ST307.
                ],
            ),
            (
                "reactor-netty",
                vec![
                    format!("ST303 {}", set("13:25", "maxConnections: 104")),
                    format!("ST304 {}", set("23:22", "maxIdleTime: 27s")),
                    format!("ST305 {}", set("14:25", "connectTimeout: 2s")),
                ],
            ),
            (
                "httpx",
                vec![format!("ST305 {}", set("14:25", "timeout.connect: 2.0"))],
            ),
            (
                "aiohttp",
                vec![format!(
                    "ST305 {}",
                    set("14:25", "timeout.sock_connect: 2.0")
                )],
            ),
            (
                "urllib3",
                vec![
                    format!(
                        "ST303 {at}:13:25 set `maxsize: 104` and `block: true` (urllib3 opens connections past `maxsize` unless `block` is true) in the client settings (client.yaml)"
                    ),
                    format!("ST305 {}", set("14:25", "timeout.connect: 2.0")),
                ],
            ),
            (
                "undici",
                vec![
                    format!("ST303 {}", set("13:25", "connections: 104")),
                    format!("ST305 {}", set("14:25", "connect.timeout: 2000")),
                ],
            ),
            (
                "node-http",
                vec![
                    format!(
                        "ST303 {at}:13:25 set `maxSockets: 104` and `keepAlive: true` (the agent then queues requests beyond 104) in the client settings (client.yaml)"
                    ),
                    format!("ST306 {}", set("16:17", "keepAliveMsecs: 300000")),
                    format!("ST308 {}", set("9:9", "keepAlive: true")),
                ],
            ),
            (
                "dotnet",
                vec![
                    format!("ST303 {}", set("13:25", "MaxConnectionsPerServer: 104")),
                    format!(
                        "ST304 {}",
                        set("23:22", "PooledConnectionIdleTimeout: 00:00:27")
                    ),
                    format!("ST305 {}", set("14:25", "ConnectTimeout: 00:00:02")),
                ],
            ),
        ];
        for (library, expected) in cases {
            assert_eq!(
                findings(&format!("library: {library}\n")),
                expected,
                "{library}"
            );
        }
    }
}
