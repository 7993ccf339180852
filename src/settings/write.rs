//! Writing a plan as a client settings file in a library's vocabulary: what `plan --emit
//! LIB-yaml` prints and the bench's drivers read. Each value is written in the library's unit,
//! under the key the vocabulary's own table names, so that the file reads back as the plan.

use std::io::{self, Write};

use super::{Field, Vocabulary};
use crate::plan::{ClientPlan, OVERLOAD_BACKOFF, OVERLOAD_RETRIES};

/// The idle pool the emitted settings keep: the plan's, raised to the bound on requests in
/// flight for the libraries that keep their idle pool apart from their own bound and close the
/// connections beyond it (OkHttp's `ConnectionPool` evicts past `maxIdleConnections`, httpx
/// closes idle connections past `max_keepalive_connections` before it hands one to a waiting
/// request, Node's agent destroys free sockets past `maxFreeSockets`). With the plan's pool
/// alone (19 under a bound of 23 on the 20 / 5 rule) such a client closes 4 connections after
/// a burst and opens 4 for the next; the kernel hands each to either of Envoy's workers, whose
/// pools are per worker while the breakers are shared, so a worker holding more downstream
/// connections than upstream ones queues the rest as pending while the other's sit idle, and
/// they overflow (OkHttp: 723 and 332 of 2,000 at 64 callers on a warm sidecar). A pool as
/// large as the bound keeps no more connections than a burst opens anyway, and the sidecar's
/// upstream connections stay bounded by `maxConnections`. urllib3's `maxsize` is both its idle
/// pool and, with `block`, its bound: the smaller of the two. reqwest and Go keep the plan's
/// pool.
pub(crate) fn idle_pool(vocabulary: Vocabulary, c: &ClientPlan) -> Option<usize> {
    let closes_past_pool = matches!(
        vocabulary,
        Vocabulary::OkHttp | Vocabulary::Httpx | Vocabulary::NodeHttp
    );
    match (c.pool_max_idle_per_host, c.max_in_flight) {
        (Some(idle), Some(bound)) if closes_past_pool => Some(idle.max(bound)),
        (Some(idle), Some(bound)) if vocabulary == Vocabulary::Urllib3 => Some(idle.min(bound)),
        (idle, bound) if vocabulary == Vocabulary::Urllib3 => idle.or(bound),
        (idle, _) => idle,
    }
}

/// A client settings file in `vocabulary`, its keys named by the vocabulary's own table (the
/// one `check --client` reads) and its values in the library's units, so that what is emitted
/// reads back as the plan.
pub(crate) fn write_file(
    out: &mut impl Write,
    vocabulary: Vocabulary,
    c: &ClientPlan,
) -> io::Result<()> {
    let has = |field| !vocabulary.key(field).is_empty();
    let go = vocabulary == Vocabulary::Go;
    let unbounded = "the sidecar's admission is unlimited";
    let unlimited = "no limit: the sidecar's connections are unlimited";
    let no_keepalive = "off: the rule sets no keep-alive";
    let key = |field| vocabulary.key(field);
    let limit = |field, n: Option<usize>, why| match n {
        Some(n) => (key(field), n.to_string(), None),
        None => (
            key(field),
            vocabulary.unlimited_text(field).to_owned(),
            Some(why),
        ),
    };
    let mut lines: Vec<(&str, String, Option<&str>)> = Vec::new();
    if vocabulary == Vocabulary::Urllib3 {
        if let Some(n) = idle_pool(vocabulary, c) {
            lines.push((key(Field::IdlePerHost), n.to_string(), None));
        }
        lines.push(match c.max_in_flight {
            Some(_) => (
                key(Field::Block),
                "true".into(),
                Some("callers beyond `maxsize` wait"),
            ),
            None => (key(Field::Block), "false".into(), Some(unbounded)),
        });
    } else if has(Field::IdlePerHost) {
        // Go has no "unlimited" for `MaxIdleConnsPerHost` (0 is its default of 2): the
        // largest int32, as for the Java and .NET libraries.
        lines.push(limit(
            Field::IdlePerHost,
            idle_pool(vocabulary, c),
            unlimited,
        ));
        if go {
            lines.push((
                key(Field::IdleTotal),
                "0".into(),
                Some("no limit across hosts"),
            ));
        }
    }
    if has(Field::MaxInFlight) {
        lines.push(limit(Field::MaxInFlight, c.max_in_flight, unbounded));
    }
    if has(Field::Pipelining) {
        lines.push((
            key(Field::Pipelining),
            "1".into(),
            Some("one request per connection"),
        ));
    }
    let default_total = vocabulary.defaults().total_in_flight;
    if let (Some(n), Some(total)) = (c.max_in_flight, default_total)
        && has(Field::TotalInFlight)
        && n > total
    {
        let why = "across hosts: at least the per-host bound";
        lines.push((key(Field::TotalInFlight), n.to_string(), Some(why)));
    }
    if let Some((field, value)) = vocabulary.http1_setting() {
        lines.push((key(field), value.to_owned(), None));
    }
    if let Some((field, value)) = vocabulary.keep_alive_setting() {
        lines.push((key(field), value.to_owned(), None));
    }
    let duration = |d| vocabulary.duration_text(Some(d));
    if has(Field::IdleTimeout) {
        lines.push((key(Field::IdleTimeout), duration(c.pool_idle_timeout), None));
    }
    if has(Field::ConnectTimeout) {
        lines.push((
            key(Field::ConnectTimeout),
            duration(c.connect_timeout),
            None,
        ));
    }
    if has(Field::TcpKeepalive) {
        let keepalive = key(Field::TcpKeepalive);
        match (c.tcp_keepalive, vocabulary) {
            (Some(t), _) => lines.push((keepalive, duration(t), None)),
            (None, Vocabulary::Go) => {
                lines.push((keepalive, "-1s".into(), Some(no_keepalive)));
            }
            (None, Vocabulary::Reqwest) => {
                lines.push((keepalive, "null".into(), Some(no_keepalive)));
            }
            // Node's agent probes whenever it keeps connections: its default stands.
            (None, _) => {}
        }
    }
    if has(Field::Retries) {
        lines.push((
            key(Field::Retries),
            "0".into(),
            Some("retries are the mesh's"),
        ));
    }
    if has(Field::OverloadRetries) {
        let why = "of idempotent requests the sidecar refused (503), after a backoff";
        lines.push((
            key(Field::OverloadRetries),
            OVERLOAD_RETRIES.to_string(),
            Some(why),
        ));
        if vocabulary == Vocabulary::HttpClient5 {
            // Its retry strategy waits a fixed interval (1 s by default).
            lines.push(("retryInterval", duration(OVERLOAD_BACKOFF), None));
        }
    }
    writeln!(out, "library: {vocabulary}")?;
    for (key, value, comment) in lines {
        write!(out, "{key}: {value}")?;
        match comment {
            Some(comment) => writeln!(out, "  # {comment}")?,
            None => writeln!(out)?,
        }
    }
    Ok(())
}
