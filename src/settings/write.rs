//! Writing a plan as a client settings file in a library's vocabulary: what `plan --emit
//! LIB-yaml` prints and the bench's drivers read. Each value is written in the library's unit,
//! under the key the vocabulary's own table names, so that the file reads back as the plan.

use std::io::{self, Write};

use super::{Field, Vocabulary};
use crate::plan::ClientPlan;

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
    let limit = |field, n: Option<usize>, why| match n {
        Some(n) => (field, n.to_string(), None),
        None => (
            field,
            vocabulary.unlimited_text(field).to_owned(),
            Some(why),
        ),
    };
    let mut lines: Vec<(Field, String, Option<&str>)> = Vec::new();
    if vocabulary == Vocabulary::Urllib3 {
        // `maxsize` is both the idle pool and, with `block`, the bound: the smaller of the two.
        let size = match (c.pool_max_idle_per_host, c.max_in_flight) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(n) = size {
            lines.push((Field::IdlePerHost, n.to_string(), None));
        }
        lines.push(match c.max_in_flight {
            Some(_) => (
                Field::Block,
                "true".into(),
                Some("callers beyond `maxsize` wait"),
            ),
            None => (Field::Block, "false".into(), Some(unbounded)),
        });
    } else if has(Field::IdlePerHost) {
        // Go has no "unlimited" for `MaxIdleConnsPerHost` (0 is its default of 2): the
        // largest int32, as for the Java and .NET libraries.
        lines.push(limit(
            Field::IdlePerHost,
            c.pool_max_idle_per_host,
            unlimited,
        ));
        if go {
            lines.push((Field::IdleTotal, "0".into(), Some("no limit across hosts")));
        }
    }
    if has(Field::MaxInFlight) {
        lines.push(limit(Field::MaxInFlight, c.max_in_flight, unbounded));
    }
    if has(Field::Pipelining) {
        lines.push((
            Field::Pipelining,
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
        lines.push((Field::TotalInFlight, n.to_string(), Some(why)));
    }
    if let Some((field, value)) = vocabulary.http1_setting() {
        lines.push((field, value.to_owned(), None));
    }
    if let Some((field, value)) = vocabulary.keep_alive_setting() {
        lines.push((field, value.to_owned(), None));
    }
    let duration = |d| vocabulary.duration_text(Some(d));
    if has(Field::IdleTimeout) {
        lines.push((Field::IdleTimeout, duration(c.pool_idle_timeout), None));
    }
    if has(Field::ConnectTimeout) {
        lines.push((Field::ConnectTimeout, duration(c.connect_timeout), None));
    }
    if has(Field::TcpKeepalive) {
        match (c.tcp_keepalive, vocabulary) {
            (Some(t), _) => lines.push((Field::TcpKeepalive, duration(t), None)),
            (None, Vocabulary::Go) => {
                lines.push((Field::TcpKeepalive, "-1s".into(), Some(no_keepalive)));
            }
            (None, Vocabulary::Reqwest) => {
                lines.push((Field::TcpKeepalive, "null".into(), Some(no_keepalive)));
            }
            // Node's agent probes whenever it keeps connections: its default stands.
            (None, _) => {}
        }
    }
    if has(Field::Retries) {
        lines.push((Field::Retries, "0".into(), Some("retries are the mesh's")));
    }
    writeln!(out, "library: {vocabulary}")?;
    for (field, value, comment) in lines {
        write!(out, "{}: {value}", vocabulary.key(field))?;
        match comment {
            Some(comment) => writeln!(out, "  # {comment}")?,
            None => writeln!(out)?,
        }
    }
    Ok(())
}
