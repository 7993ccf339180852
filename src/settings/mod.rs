//! The client settings a team runs today: a small YAML file with keys named after one HTTP
//! library's own settings, in that library's units. A key left out takes the named library's
//! documented default, so a check compares what really runs.
//!
//! ```yaml
//! library: httpx             # or reqwest, go, okhttp, ...; else inferred from the keys
//! max_connections: 20
//! keepalive_expiry: 5.0      # httpx takes seconds
//! ```
//!
//! The vocabularies, their units and their defaults are in [`Vocabulary`]: reqwest and Go
//! (durations as `30s`), OkHttp, HttpClient 5 and Reactor Netty (durations with their unit,
//! `5m`), httpx, aiohttp and urllib3 (seconds), undici and Node's `http.Agent` (milliseconds),
//! and .NET's `SocketsHttpHandler` (`TimeSpan`, `00:01:00`).

mod read;
mod server;
mod vocabulary;
mod write;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::diag::{Code, Finding, Location, Sources};
use crate::error::Error;
use crate::istio::load::{LoadOptions, decode, open_input, read_input, unreadable};
use crate::istio::schema::suggest;
use crate::istio::yaml::{self, Node, Pos, Value};
use read::Reader;
pub use server::{
    ServerFile, ServerLibrary, ServerSettings, load_server_file, server_file_from_bytes,
};
use vocabulary::GO_DEFAULT_IDLE_PER_HOST;
pub use vocabulary::{Field, Kind, Vocabulary};
pub(crate) use write::{idle_pool, write_file};

/// One effective setting: its value, the key that names it, and where the file sets it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting<T> {
    /// The value in effect: the file's, or the library's default.
    pub value: T,
    /// Where the file sets it; `None` when the library's default applies.
    pub pos: Option<Pos>,
    /// The file sets it to a value that could not be read (an input finding says why): the
    /// value in effect is unknown, so no mismatch is reported for it.
    pub unreadable: bool,
}

impl<T> Setting<T> {
    fn default(value: T) -> Self {
        Self::file(value, None)
    }

    fn file(value: T, pos: Option<Pos>) -> Self {
        Self {
            value,
            pos,
            unreadable: false,
        }
    }

    /// Whether one value of the file set both this and `other` (reqwest's
    /// `pool_max_idle_per_host: 0` is its idle limit and keep-alive off): a fix for this one is
    /// a fix of that value.
    pub(crate) fn set_with<U>(&self, other: &Setting<U>) -> bool {
        self.pos.is_some() && self.pos == other.pos
    }
}

/// The client's settings in effect, library defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSettings {
    /// The file they come from.
    pub file: Arc<str>,
    /// Whose names and defaults.
    pub vocabulary: Vocabulary,
    /// Idle connections kept per host (`usize::MAX`: no limit; 0: no pooling).
    pub idle_per_host: Setting<usize>,
    /// The bound on requests in flight to the destination; `None`: unbounded.
    pub max_in_flight: Setting<Option<usize>>,
    /// Whether the client may send HTTP/2 to the sidecar.
    pub http2: Setting<bool>,
    /// Whether connections are kept for reuse at all.
    pub keep_alive: Setting<bool>,
    /// How long an idle pooled connection is kept; `None`: no limit.
    pub idle_timeout: Setting<Option<Duration>>,
    /// The connect timeout; `None`: no limit.
    pub connect_timeout: Setting<Option<Duration>>,
    /// TCP keep-alive time; `None`: off.
    pub tcp_keepalive: Setting<Option<Duration>>,
    /// How many times the client retries a failed request itself.
    pub retries: Setting<u32>,
}

/// Bounds that combine into `max_in_flight` once every key is read.
struct Bounds {
    per_host: Setting<Option<usize>>,
    total: Setting<Option<usize>>,
    block: Setting<bool>,
    pipelining: Setting<usize>,
}

impl ClientSettings {
    /// The library's defaults, as a client that sets nothing runs.
    pub fn defaults(vocabulary: Vocabulary, file: &Arc<str>) -> Self {
        let d = vocabulary.defaults();
        let mut bounds = Bounds::defaults(vocabulary);
        let mut settings = Self {
            file: Arc::clone(file),
            vocabulary,
            idle_per_host: Setting::default(d.idle_per_host),
            max_in_flight: Setting::default(None),
            http2: Setting::default(d.http2),
            keep_alive: Setting::default(d.keep_alive),
            idle_timeout: Setting::default(d.idle_timeout),
            connect_timeout: Setting::default(d.connect_timeout),
            tcp_keepalive: Setting::default(d.tcp_keepalive),
            retries: Setting::default(0),
        };
        settings.combine(&mut bounds);
        settings
    }

    /// Reads the settings from a YAML document's root; problems become findings (ST101 unknown
    /// key with a suggestion, ST102 wrong type or unit, ST103 out of range, ST104 bad duration,
    /// ST105 unknown name).
    pub fn from_node(root: &Node, file: &Arc<str>) -> (Self, Vec<Finding>) {
        let mut findings = Vec::new();
        let at = |pos| Location::new(file, pos);
        let Some(entries) = root.as_map() else {
            findings.push(Finding::new(
                Code::WrongType,
                at(root.pos),
                format!(
                    "client settings must be a mapping of keys to values, found {}",
                    root.value.kind()
                ),
            ));
            return (Self::defaults(Vocabulary::Reqwest, file), findings);
        };
        let (vocabulary, named) = vocabulary_of(entries);
        let mut settings = Self::defaults(vocabulary, file);
        let mut bounds = Bounds::defaults(vocabulary);
        let mut idle_total: Option<usize> = None;
        // urllib3's `maxsize: 0` (key and value), for `block`; for aiohttp, an idle timeout
        // given and keep-alive switched off: each may come after the other.
        let mut empty_pool = None;
        let mut keep_alive_disabled = false;
        let mut idle_timeout_given = None;
        let mut http1_on = None;
        let mut version_policy = None;
        for (key, value) in entries {
            let Some(name) = key.as_str() else {
                findings.push(Finding::new(
                    Code::WrongType,
                    at(key.pos),
                    "keys must be text".to_owned(),
                ));
                continue;
            };
            if name == "library" {
                if named.is_none() {
                    let names: Vec<&str> = Vocabulary::ALL.iter().map(|v| v.as_str()).collect();
                    let finding = Finding::new(
                        Code::InvalidEnum,
                        at(value.pos),
                        format!("unknown library {}", describe(value)),
                    );
                    let close = value
                        .as_str()
                        .and_then(|v| suggest(v, names.iter().copied()));
                    findings.push(match close {
                        Some(close) => finding.help(format!("did you mean `library: {close}`?")),
                        None => finding.help(format!("write one of: {}", names.join(", "))),
                    });
                }
                continue;
            }
            let Some(field) = vocabulary.field(name) else {
                findings.push(unknown_key(
                    name,
                    key.pos,
                    vocabulary,
                    named.is_some(),
                    file,
                ));
                continue;
            };
            let mut read = Reader::new(&mut findings, file, name, value, vocabulary);
            // Findings about a setting point at its value, the part to change.
            let pos = Some(value.pos);
            let s = &mut settings;
            match (vocabulary, field) {
                (_, Field::Http2) => set(&mut s.http2, read.bool(), pos),
                (_, Field::Http1) => http1_on = read.bool(),
                (_, Field::VersionPolicy) => version_policy = read.name(&DOTNET_VERSION_POLICIES),
                (_, Field::Http1Only) => match read.bool() {
                    Some(true) => s.http2 = Setting::file(false, pos),
                    Some(false) => {}
                    None => s.http2.unreadable = true,
                },
                (_, Field::Protocols) => set(&mut s.http2, read.protocols(), pos),
                (_, Field::HttpVersion) => set(&mut s.http2, read.http_version(), pos),
                (_, Field::KeepAliveDisabled) => {
                    let disabled = read.bool();
                    keep_alive_disabled |= disabled == Some(true);
                    set(&mut s.keep_alive, disabled.map(|d| !d), pos);
                }
                (_, Field::KeepAlive) => set(&mut s.keep_alive, read.bool(), pos),
                (_, Field::Block) => set(&mut bounds.block, read.bool(), pos),
                (_, Field::Pipelining) => {
                    let n = read.count();
                    if n == Some(0) {
                        // undici: pipelining 0 turns keep-alive off.
                        s.keep_alive = Setting::file(false, pos);
                    }
                    set(&mut bounds.pipelining, n.map(|n| n.max(1)), pos);
                }
                (_, Field::Retries) => set(
                    &mut s.retries,
                    read.count().and_then(|n| u32::try_from(n).ok()),
                    pos,
                ),
                (Vocabulary::Go, Field::IdlePerHost) => {
                    // 0 is Go's default of 2; a negative value turns keep-alive off, as
                    // `DisableKeepAlives` does (net/http `Transport.tryPutIdleConn`).
                    let n = read.int();
                    if n.is_some_and(|n| n < 0) {
                        s.keep_alive = Setting::file(false, pos);
                    }
                    let n = n.map(|n| match n {
                        0 => GO_DEFAULT_IDLE_PER_HOST,
                        n => usize::try_from(n).unwrap_or(0),
                    });
                    set(&mut s.idle_per_host, n, pos);
                }
                // urllib3's pool is a `LifoQueue(maxsize)`, which 0 leaves unbounded: every
                // connection is kept (with `block`, see after the loop).
                (Vocabulary::Urllib3, Field::IdlePerHost) => {
                    let n = read.limit();
                    if n == Some(Some(0)) {
                        empty_pool = Some((name, value));
                    }
                    let n = n.map(|n| n.filter(|n| *n > 0).unwrap_or(usize::MAX));
                    set(&mut s.idle_per_host, n, pos);
                }
                // Node's Agent keeps `maxFreeSockets || 256`: 0 is the default.
                (Vocabulary::NodeHttp, Field::IdlePerHost) => {
                    let n = read.limit().map(|n| match n {
                        Some(0) => vocabulary.defaults().idle_per_host,
                        n => n.unwrap_or(usize::MAX),
                    });
                    set(&mut s.idle_per_host, n, pos);
                }
                (_, Field::IdlePerHost) => {
                    // null (or Infinity): no limit.
                    let n = read.limit().map(|n| n.unwrap_or(usize::MAX));
                    let pools_nothing = matches!(
                        vocabulary,
                        Vocabulary::Reqwest | Vocabulary::Httpx | Vocabulary::OkHttp
                    );
                    if n == Some(0) && pools_nothing {
                        s.keep_alive = Setting::file(false, pos);
                    }
                    set(&mut s.idle_per_host, n, pos);
                }
                // Go's `tryPutIdleConn` closes the oldest idle connection whenever there are
                // more than `MaxIdleConns` (unless 0): below 0, each one it has just pooled.
                (_, Field::IdleTotal) if read.is_negative() => {
                    read.out_of_range(
                        "0 or more (below 0, net/http keeps no idle connection and every request opens a new one; 0 is no limit)",
                    );
                    s.idle_per_host.unreadable = true;
                }
                (_, Field::IdleTotal) => {
                    idle_total = read.count();
                    s.idle_per_host.unreadable |= idle_total.is_none();
                }
                // Go: `MaxConnsPerHost <= 0` (or `null`) is no limit (net/http
                // `Transport.queueForDial`).
                (Vocabulary::Go, Field::MaxInFlight) => {
                    let bound = if read.is_null() {
                        Some(None)
                    } else {
                        read.int()
                            .map(|n| usize::try_from(n).ok().filter(|n| *n > 0))
                    };
                    set(&mut bounds.per_host, bound, pos);
                }
                (_, Field::MaxInFlight) => {
                    let bound = read.bound(zero_is_unlimited(vocabulary, field));
                    set(&mut bounds.per_host, bound, pos);
                }
                (_, Field::TotalInFlight) => {
                    let bound = read.bound(zero_is_unlimited(vocabulary, field));
                    set(&mut bounds.total, bound, pos);
                }
                // 0 is no limit in Go's `IdleConnTimeout`, but not everywhere: reqwest's pool
                // (hyper-util) drops an idle connection older than the timeout at checkout,
                // httpcore expires one once `now > idle_at + keepalive_expiry`, aiohttp's
                // connector closes one when `t1 - t0 > keepalive_timeout`, .NET's
                // `HttpConnectionPoolManager` stores none (`_avoidStoringConnections`), and
                // Reactor Netty's pool evicts one whose `idleTime() >= maxIdleTime` in whole
                // milliseconds, and HttpClient 5's `evictIdleConnections` starts a thread that
                // sleeps that long and closes every connection idle as long (`closeIdle`:
                // `updated <= now - idle`, in milliseconds), so 0 reuses nothing; OkHttp's
                // `ConnectionPool` throws on it
                // (`keepAliveDuration <= 0`), and so does undici's `Client` (`invalid
                // keepAliveTimeout`).
                (
                    Vocabulary::Reqwest
                    | Vocabulary::Httpx
                    | Vocabulary::Aiohttp
                    | Vocabulary::DotNet
                    | Vocabulary::ReactorNetty
                    | Vocabulary::HttpClient5
                    | Vocabulary::OkHttp
                    | Vocabulary::Undici,
                    Field::IdleTimeout,
                ) => {
                    let refused = matches!(vocabulary, Vocabulary::OkHttp | Vocabulary::Undici);
                    let idle = match read.duration() {
                        Some(Some(d)) if d.is_zero() && refused => {
                            read.thrown_on_zero();
                            None
                        }
                        Some(Some(d)) if reuses_nothing(vocabulary, d) => {
                            s.keep_alive = Setting::file(false, pos);
                            Some(Some(d))
                        }
                        idle => idle,
                    };
                    if matches!(idle, Some(Some(_))) {
                        idle_timeout_given = Some((name, value));
                    }
                    set(&mut s.idle_timeout, idle, pos);
                }
                // Go: an `IdleConnTimeout` of 0 or less is no limit (net/http sets the idle
                // timer and the `tooOld` check only when it is above 0).
                (Vocabulary::Go, Field::IdleTimeout) => {
                    let idle = if read.is_null() {
                        Some(None)
                    } else {
                        read.signed_duration().map(|d| {
                            u64::try_from(d)
                                .ok()
                                .filter(|d| *d > 0)
                                .map(Duration::from_nanos)
                        })
                    };
                    set(&mut s.idle_timeout, idle, pos);
                }
                (_, Field::IdleTimeout) => {
                    set(&mut s.idle_timeout, read.duration_or_none(), pos);
                }
                // 0 is no limit in Go's `DialTimeout`, OkHttp's, HttpClient 5's, Netty's,
                // undici's (`setupConnectTimeout`: `if (!opts.timeout) return noop`) and
                // aiohttp's (`ceil_timeout`: a delay <= 0 is none). httpx fails every connect
                // at 0 (a socket timeout of 0, `ConnectError` "Operation now in progress";
                // `ConnectTimeout` when async), urllib3's `Timeout` raises `ValueError`, and
                // .NET's `ConnectTimeout` setter `ArgumentOutOfRangeException`.
                (
                    Vocabulary::Httpx | Vocabulary::Urllib3 | Vocabulary::DotNet,
                    Field::ConnectTimeout,
                ) => {
                    let connect = match read.duration() {
                        Some(Some(d)) if d.is_zero() && vocabulary == Vocabulary::Httpx => {
                            read.out_of_range("more than 0 (httpx fails every connect at 0)");
                            None
                        }
                        Some(Some(d)) if d.is_zero() => {
                            read.thrown_on_zero();
                            None
                        }
                        connect => connect,
                    };
                    set(&mut s.connect_timeout, connect, pos);
                }
                (Vocabulary::Aiohttp, Field::ConnectTimeout) => {
                    let connect = read.duration().map(|d| d.filter(|d| !d.is_zero()));
                    set(&mut s.connect_timeout, connect, pos);
                }
                (_, Field::ConnectTimeout) => {
                    set(&mut s.connect_timeout, read.duration_or_none(), pos);
                }
                (Vocabulary::DotNet | Vocabulary::ReactorNetty, Field::Lifetime) => {
                    if read
                        .duration()
                        .is_some_and(|d| d.is_some_and(|d| reuses_nothing(vocabulary, d)))
                    {
                        s.keep_alive = Setting::file(false, pos);
                    }
                }
                (_, Field::Lifetime) => read.other(Kind::Duration),
                (Vocabulary::Go, Field::TcpKeepalive) => {
                    // net.Dialer: 0 is the default of 15s, a negative value turns it off.
                    let keepalive = read.signed_duration().map(|d| match d {
                        d if d < 0 => None,
                        0 => Some(Duration::from_secs(15)),
                        d => Some(Duration::from_nanos(d.unsigned_abs())),
                    });
                    set(&mut s.tcp_keepalive, keepalive, pos);
                }
                // A keep-alive time of 0 is another time: Node's default (`keepAliveMsecs ||
                // 1000`), and for reqwest the kernel's (hyper-util turns `SO_KEEPALIVE` on, then
                // sets `TCP_KEEPIDLE` to 0, which Linux refuses: EINVAL, logged and ignored).
                (Vocabulary::NodeHttp | Vocabulary::Reqwest, Field::TcpKeepalive) => {
                    let at_zero = match vocabulary {
                        Vocabulary::NodeHttp => vocabulary.defaults().tcp_keepalive,
                        _ => Some(LINUX_TCP_KEEPALIVE_TIME),
                    };
                    let probes = read.duration().map(|d| {
                        if d == Some(Duration::ZERO) {
                            at_zero
                        } else {
                            d
                        }
                    });
                    set(&mut s.tcp_keepalive, probes, pos);
                }
                (_, Field::TcpKeepalive) => {
                    set(&mut s.tcp_keepalive, read.duration_or_none(), pos);
                }
                // Read for its form; no check compares it: see `Field::OverloadRetries`.
                (_, Field::OverloadRetries) => read.other(Kind::Count),
                (_, Field::Other(kind)) => read.other(kind),
            }
        }
        if let Some(total) = idle_total.filter(|t| *t > 0) {
            settings.idle_per_host.value = settings.idle_per_host.value.min(total);
        }
        // With `block`, urllib3's `_get_conn` waits on the empty queue for a connection that
        // never comes: forever, or until `pool_timeout` and `EmptyPoolError`.
        if let Some((key, node)) = empty_pool.filter(|_| bounds.block.value) {
            Reader::new(&mut findings, file, key, node, vocabulary).out_of_range(
                "1 or more with `block: true` (urllib3's pool then has no connection to hand out, and every request waits for one)",
            );
            settings.idle_per_host.unreadable = true;
        }
        // aiohttp's `TCPConnector` raises `ValueError("keepalive_timeout cannot be set if
        // force_close is True")` for any timeout but `None`.
        if let (Vocabulary::Aiohttp, Some((key, node)), true) =
            (vocabulary, idle_timeout_given, keep_alive_disabled)
        {
            Reader::new(&mut findings, file, key, node, vocabulary).out_of_range(
                "null with `force_close: true` (aiohttp raises ValueError as the connector is built)",
            );
            settings.idle_timeout.unreadable = true;
        }
        // httpx offers `http2` in TLS's ALPN while HTTP/1.1 is on: to `http://` it sends HTTP/2
        // only with `http1: false`, by prior knowledge (httpx 0.28.1 and h2 4.4.1, tried: the
        // server read `GET / HTTP/1.1` with `http2=True`, the HTTP/2 preface with
        // `http1=False` as well).
        if vocabulary == Vocabulary::Httpx && http1_on != Some(false) {
            settings.http2.value = false;
        }
        // .NET's `SocketsHttpHandler` uses HTTP/2 to `http://` only when the version may not be
        // lowered: 'prefer HTTP/1.1 if connection is not secured and downgrade is possible'
        // (`HttpConnectionPool`, `VersionPolicy != RequestVersionOrLower || IsSecure`).
        if vocabulary == Vocabulary::DotNet
            && version_policy.is_none_or(|policy| policy == DOTNET_VERSION_POLICIES[0])
        {
            settings.http2.value = false;
        }
        settings.combine(&mut bounds);
        (settings, findings)
    }

    /// Sets `max_in_flight` from the bounds read, and what depends on keep-alive.
    fn combine(&mut self, bounds: &mut Bounds) {
        let tighter = |a: &Setting<Option<usize>>, b: &Setting<Option<usize>>| {
            let (a_n, b_n) = (a.value.unwrap_or(usize::MAX), b.value.unwrap_or(usize::MAX));
            let mut chosen = if b_n < a_n { b.clone() } else { a.clone() };
            chosen.unreadable = a.unreadable || b.unreadable;
            chosen
        };
        self.max_in_flight = match self.vocabulary {
            // urllib3 bounds connections by `maxsize` only with `block=True`.
            Vocabulary::Urllib3 => {
                let block = &bounds.block;
                let idle = &self.idle_per_host;
                Setting {
                    value: block.value.then_some(idle.value),
                    pos: if block.value {
                        idle.pos.or(block.pos)
                    } else {
                        block.pos
                    },
                    unreadable: block.unreadable || (block.value && idle.unreadable),
                }
            }
            // undici sends up to `pipelining` requests on each of its `connections`.
            Vocabulary::Undici => {
                let per_host = &bounds.per_host;
                let pipelining = &bounds.pipelining;
                Setting {
                    value: per_host.value.map(|n| n.saturating_mul(pipelining.value)),
                    pos: per_host.pos.or(pipelining.pos),
                    unreadable: per_host.unreadable || pipelining.unreadable,
                }
            }
            _ => tighter(&bounds.per_host, &bounds.total),
        };
        // Node sends TCP keep-alive probes (`keepAliveMsecs`) only for a keep-alive agent.
        if self.vocabulary == Vocabulary::NodeHttp && self.tcp_keepalive.pos.is_none() {
            let probes = self.vocabulary.defaults().tcp_keepalive;
            self.tcp_keepalive.value = probes.filter(|_| self.keep_alive.value);
        } else if self.vocabulary == Vocabulary::NodeHttp && !self.keep_alive.value {
            self.tcp_keepalive.value = None;
        }
    }
}

impl Bounds {
    fn defaults(vocabulary: Vocabulary) -> Self {
        let d = vocabulary.defaults();
        Self {
            per_host: Setting::default(d.max_in_flight),
            total: Setting::default(d.total_in_flight),
            block: Setting::default(false),
            pipelining: Setting::default(1),
        }
    }
}

/// Linux's `net.ipv4.tcp_keepalive_time` by default: when a socket with `SO_KEEPALIVE` sends
/// its first probe unless `TCP_KEEPIDLE` says otherwise.
const LINUX_TCP_KEEPALIVE_TIME: Duration = Duration::from_secs(7200);

/// Whether an idle timeout or a lifetime of `d` (not `None`) keeps no connection for reuse,
/// for the libraries that read 0 so: Reactor Netty compares in whole milliseconds
/// (`Duration.toMillis()`), the others as given.
/// .NET's `HttpVersionPolicy` names, its default first.
const DOTNET_VERSION_POLICIES: [&str; 3] = [
    "RequestVersionOrLower",
    "RequestVersionOrHigher",
    "RequestVersionExact",
];

fn reuses_nothing(vocabulary: Vocabulary, d: Duration) -> bool {
    match vocabulary {
        Vocabulary::ReactorNetty | Vocabulary::HttpClient5 => d.as_millis() == 0,
        _ => d.is_zero(),
    }
}

/// Whether 0 means "no limit" for a bound: aiohttp's `limit` and
/// `limit_per_host`, undici's `connections` (its `Pool` keeps `connections || null`) and Node's
/// `maxSockets` (`maxSockets || Infinity`); elsewhere 0 is out of range (Node's
/// `maxTotalSockets` throws on it).
fn zero_is_unlimited(vocabulary: Vocabulary, field: Field) -> bool {
    match vocabulary {
        Vocabulary::Aiohttp | Vocabulary::Undici => true,
        Vocabulary::NodeHttp => field == Field::MaxInFlight,
        _ => false,
    }
}

/// The file's value where it could be read; else the setting is marked unreadable.
fn set<T>(setting: &mut Setting<T>, value: Option<T>, pos: Option<Pos>) {
    match value {
        Some(value) => *setting = Setting::file(value, pos),
        None => setting.unreadable = true,
    }
}

/// The vocabulary the `library` key names, else the one that knows the most of the file's keys
/// (the first in [`Vocabulary::ALL`] on a tie), else reqwest's; with the vocabulary the
/// `library` key named, if any.
fn vocabulary_of(entries: &[(Node, Node)]) -> (Vocabulary, Option<Vocabulary>) {
    let named = entries
        .iter()
        .find(|(k, _)| k.as_str() == Some("library"))
        .and_then(|(_, v)| Vocabulary::from_name(v.as_str()?));
    let inferred = || {
        most_known(entries, Vocabulary::ALL, Vocabulary::Reqwest, |v, k| {
            v.field(k).is_some()
        })
    };
    (named.unwrap_or_else(inferred), named)
}

/// The library of `all` that knows the most of the file's keys (the first on a tie), else
/// `fallback`: how a settings file without a `library` key is read.
fn most_known<L: Copy>(
    entries: &[(Node, Node)],
    all: impl IntoIterator<Item = L>,
    fallback: L,
    knows: impl Fn(L, &str) -> bool,
) -> L {
    let mut best = (0, fallback);
    for library in all {
        let n = entries
            .iter()
            .filter(|(k, _)| k.as_str().is_some_and(|k| knows(library, k)))
            .count();
        if n > best.0 {
            best = (n, library);
        }
    }
    best.1
}

fn unknown_key(
    name: &str,
    pos: Pos,
    vocabulary: Vocabulary,
    named: bool,
    file: &Arc<str>,
) -> Finding {
    let finding = Finding::new(
        Code::UnknownField,
        Location::new(file, pos),
        format!("unknown key `{name}` in {vocabulary}'s vocabulary"),
    );
    let why = if named {
        "the `library` key"
    } else {
        "its keys"
    };
    let other = Vocabulary::ALL
        .into_iter()
        .filter(|v| *v != vocabulary)
        .find_map(|v| Some((v, v.field(name)?)));
    if let Some((other, field)) = other {
        let ours = vocabulary.key(field);
        let help = if ours.is_empty() {
            format!("`{name}` is {other}'s; {vocabulary} has no such setting")
        } else {
            format!(
                "`{name}` is {other}'s name: this file uses {vocabulary}'s (from {why}), write `{ours}`"
            )
        };
        return finding.help(help);
    }
    let known = vocabulary.keys().iter().map(|(k, _)| *k).chain(["library"]);
    if let Some(close) = suggest(name, known) {
        return finding.help(format!("did you mean `{close}`?"));
    }
    finding.help(format!(
        "{vocabulary}'s keys: {}",
        vocabulary
            .keys()
            .iter()
            .map(|(k, _)| *k)
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

fn describe(node: &Node) -> String {
    match &node.value {
        Value::Str(s) => format!("`{s}`"),
        other => other.kind().to_owned(),
    }
}

/// A client settings file as loaded: the settings (`None` when the file is unreadable), the
/// findings about it, and its text.
#[derive(Clone, Debug, Default)]
pub struct ClientFile {
    /// The settings in effect.
    pub settings: Option<ClientSettings>,
    /// ST1xx findings about the file.
    pub findings: Vec<Finding>,
    /// The file's text, for source snippets.
    pub sources: Sources,
}

/// Loads a client settings file (one YAML document, at most the input cap).
///
/// # Errors
/// The file cannot be opened. Problems inside it are findings.
pub fn load_client_file(path: &Path, options: &LoadOptions) -> Result<ClientFile, Error> {
    Ok(client_file(SettingsDocument::load(
        path, options, "client",
    )?))
}

/// Reads client settings from bytes.
pub fn client_file_from_bytes(bytes: &[u8], name: &Arc<str>, options: &LoadOptions) -> ClientFile {
    client_file(SettingsDocument::from_bytes(bytes, name, options, "client"))
}

fn client_file(document: SettingsDocument) -> ClientFile {
    let (settings, findings, sources) = document.read(ClientSettings::from_node);
    ClientFile {
        settings,
        findings,
        sources,
    }
}

/// The one YAML document of a settings file: its root (`None` when the file is unreadable or
/// empty), the findings about the file itself, and its text.
struct SettingsDocument {
    name: Arc<str>,
    root: Option<Node>,
    findings: Vec<Finding>,
    sources: Sources,
}

impl SettingsDocument {
    /// `side` is `client` or `server`, for the messages.
    fn load(path: &Path, options: &LoadOptions, side: &str) -> Result<Self, Error> {
        let name: Arc<str> = Arc::from(path.display().to_string());
        let bytes = open_input(path, &name, options)?.and_then(|f| read_input(f, &name, options));
        Ok(match bytes {
            Ok(bytes) => Self::from_bytes(&bytes, &name, options, side),
            Err(finding) => Self::unreadable(&name, finding, Sources::default()),
        })
    }

    fn from_bytes(bytes: &[u8], name: &Arc<str>, options: &LoadOptions, side: &str) -> Self {
        let text = match decode(bytes, name, options) {
            Ok(text) => text,
            Err(finding) => return Self::unreadable(name, finding, Sources::default()),
        };
        let mut sources = Sources::default();
        sources.insert(name, Arc::from(text));
        let cap = usize::try_from(options.max_input_bytes).unwrap_or(usize::MAX);
        let documents = match yaml::parse_stream(text, cap) {
            Ok(documents) => documents,
            Err(e) => {
                let finding = unreadable(name, e.pos.unwrap_or_default(), e.message, e.help);
                return Self::unreadable(name, finding, sources);
            }
        };
        let mut documents = documents.into_iter().filter(|d| d.root.is_some());
        let Some(first) = documents.next() else {
            let example = match side {
                "server" => "`library: node` and `keepAliveTimeout: 65000`",
                _ => "`pool_max_idle_per_host: 10`",
            };
            let finding = unreadable(
                name,
                Pos::default(),
                format!("empty {side} settings: no YAML document"),
                Some(format!("write the {side}'s settings, e.g. {example}")),
            );
            return Self::unreadable(name, finding, sources);
        };
        let findings = first
            .octal_findings(name)
            .chain(documents.next().and_then(|d| d.root).map(|extra| {
                Finding::new(
                    Code::WrongType,
                    Location::new(name, extra.pos),
                    format!("{side} settings are one YAML document; this is a second"),
                )
                .help(format!("keep one document per {side} settings file"))
            }))
            .collect();
        Self {
            name: Arc::clone(name),
            root: first.root,
            findings,
            sources,
        }
    }

    /// The settings `parse` reads from the root, with the findings about the file and then
    /// about its settings, and the file's text.
    fn read<T>(
        self,
        parse: impl FnOnce(&Node, &Arc<str>) -> (T, Vec<Finding>),
    ) -> (Option<T>, Vec<Finding>, Sources) {
        let mut findings = self.findings;
        let settings = self.root.map(|root| {
            let (settings, found) = parse(&root, &self.name);
            findings.splice(0..0, found);
            settings
        });
        (settings, findings, self.sources)
    }

    fn unreadable(name: &Arc<str>, finding: Finding, sources: Sources) -> Self {
        Self {
            name: Arc::clone(name),
            root: None,
            findings: vec![finding],
            sources,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (ClientSettings, Vec<Finding>) {
        let file = client_file_from_bytes(
            text.as_bytes(),
            &Arc::from("c.yaml"),
            &LoadOptions::default(),
        );
        (file.settings.unwrap(), file.findings)
    }

    /// Each finding as `code location help`.
    fn shown(findings: &[Finding]) -> Vec<String> {
        findings
            .iter()
            .map(|f| {
                let help = f.help.as_deref().unwrap_or("");
                format!("{} {} {help}", f.code, f.location)
            })
            .collect()
    }

    #[test]
    fn absent_keys_take_the_library_defaults() {
        let (go, findings) = parse("library: go\n");
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(go.vocabulary, Vocabulary::Go);
        assert_eq!(go.idle_per_host, Setting::default(2));
        assert_eq!(go.idle_timeout.value, Some(Duration::from_secs(90)));
        // `http.DefaultTransport` sends HTTP/1.1 to `http://`, its `ForceAttemptHTTP2` aside.
        assert!(!go.http2.value);
        assert_eq!(go.max_in_flight.value, None);
        let (reqwest, _) = parse("retries: 0\n");
        assert_eq!(reqwest.vocabulary, Vocabulary::Reqwest);
        assert_eq!(reqwest.idle_per_host.value, usize::MAX);
        assert!(!reqwest.http2.value);
        assert_eq!(reqwest.connect_timeout.value, None);
    }

    /// A settings file's numbers are read as the rules' are (`010` octal, with ST115; `20.0`
    /// the integer 20; see `yaml::tests::numbers_are_read_as_kubernetes_reads_them`).
    #[test]
    fn numbers_are_read_as_in_the_rules() {
        let (s, findings) = parse("MaxConnsPerHost: 010\nMaxIdleConnsPerHost: 20.0\n");
        assert_eq!(s.max_in_flight.value, Some(8));
        assert_eq!(s.idle_per_host.value, 20);
        assert_eq!(
            shown(&findings),
            ["ST115 c.yaml:1:18 write 10 without the leading zero, or 8 if that is meant"]
        );
    }

    /// The hop to the sidecar is `http://`, where only prior knowledge speaks HTTP/2. Tried
    /// against a loopback server reading each connection's first bytes: Go 1.19.8's
    /// `http.DefaultTransport` (`ForceAttemptHTTP2: true`), httpx 0.28.1 with `http2=True` and
    /// undici 7.30.2 with `allowH2: true` sent `GET / HTTP/1.1`; httpx with `http1=False,
    /// http2=True` and undici with `connect: {useH2c: true}` the HTTP/2 preface. Go 1.24's `Protocols` speaks it in clear with
    /// `UnencryptedHTTP2` and without `HTTP1` (golang/go#67816); .NET only with a version policy
    /// that may not lower the version (`HttpConnectionPool`, read in its source); Reactor
    /// Netty's `H2C` beside `HTTP11` is an upgrade request, which Envoy strips.
    /// OkHttp 3.13.1 (Debian's jar, a scratch program): `Builder.protocols` threw for
    /// `[h2_prior_knowledge, http/1.1]` ("protocols containing h2_prior_knowledge cannot use
    /// other protocols") and `[h2]` ("protocols must contain h2_prior_knowledge or http/1.1"),
    /// and built `[http/1.1]`, `[h2_prior_knowledge]` and `[h2, http/1.1]`.
    #[test]
    fn protocol_lists_okhttp_refuses_are_out_of_range() {
        for (list, refused) in [
            ("[HTTP_1_1]", false),
            ("[H2_PRIOR_KNOWLEDGE]", false),
            ("[HTTP_2, HTTP_1_1]", false),
            ("[H2_PRIOR_KNOWLEDGE, HTTP_1_1]", true),
            ("[HTTP_2]", true),
        ] {
            let (s, findings) = parse(&format!("library: okhttp\nprotocols: {list}\n"));
            let codes: Vec<_> = findings.iter().map(|f| f.code.as_str()).collect();
            let expected: &[&str] = if refused { &["ST103"] } else { &[] };
            assert_eq!(codes, expected, "{list}");
            assert_eq!(s.http2.unreadable, refused, "{list}");
        }
    }

    #[test]
    fn only_prior_knowledge_sends_http2_to_the_sidecar() {
        for (file, http2) in [
            ("library: go\nForceAttemptHTTP2: true\n", false),
            ("library: go\nProtocols: [HTTP2]\n", false),
            ("library: go\nProtocols: [HTTP1, UnencryptedHTTP2]\n", false),
            ("library: go\nProtocols: [UnencryptedHTTP2]\n", true),
            ("library: httpx\nhttp2: true\n", false),
            ("library: httpx\nhttp2: true\nhttp1: false\n", true),
            ("library: httpx\nhttp1: false\nhttp2: true\n", true),
            ("library: undici\nallowH2: true\n", false),
            ("library: undici\nconnect.useH2c: true\n", true),
            ("library: reactor-netty\nprotocol: [H2C]\n", true),
            ("library: reactor-netty\nprotocol: [HTTP11, H2C]\n", false),
            ("library: dotnet\nDefaultRequestVersion: \"2.0\"\n", false),
            (
                "library: dotnet\nDefaultRequestVersion: \"2.0\"\nDefaultVersionPolicy: RequestVersionExact\n",
                true,
            ),
            (
                "library: dotnet\nDefaultVersionPolicy: RequestVersionOrHigher\nDefaultRequestVersion: \"2.0\"\n",
                true,
            ),
        ] {
            let (s, findings) = parse(file);
            assert!(findings.is_empty(), "{file}: {findings:?}");
            assert_eq!(s.http2.value, http2, "{file}");
        }
    }

    #[test]
    fn values_are_read_with_their_positions() {
        let (s, findings) = parse(
            "MaxIdleConnsPerHost: 0\nMaxIdleConns: 50\nMaxConnsPerHost: 10\nIdleConnTimeout: 0s\nKeepAlive: -1s\nDisableKeepAlives: true\n",
        );
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(s.idle_per_host, Setting::file(2, Some(Pos::new(1, 22))));
        assert_eq!(s.max_in_flight.value, Some(10));
        assert_eq!(s.idle_timeout, Setting::file(None, Some(Pos::new(4, 18))));
        assert_eq!(s.tcp_keepalive.value, None);
        assert!(!s.keep_alive.value);
        let (s, _) = parse("pool_max_idle_per_host: 0\nhttp1_only: true\nmax_in_flight: null\n");
        assert!(!s.keep_alive.value);
        assert_eq!(s.http2.pos, Some(Pos::new(2, 13)));
        // Go: a negative idle limit keeps no connection, even for a request waiting for one.
        let (s, _) = parse("library: go\nMaxIdleConnsPerHost: -1\n");
        assert_eq!(s.keep_alive, Setting::file(false, Some(Pos::new(2, 22))));
        assert_eq!(s.idle_per_host.value, 0);
        // An idle timeout of 0: no limit in Go, nothing reused in reqwest, refused by OkHttp.
        let (s, _) = parse("library: go\nIdleConnTimeout: 0s\n");
        assert_eq!((s.idle_timeout.value, s.keep_alive.value), (None, true));
        // Go takes a negative `IdleConnTimeout` or `MaxConnsPerHost` as no limit too (net/http
        // acts on each only above 0); a negative `DialTimeout` sets a deadline already past.
        let (s, findings) =
            parse("library: go\nIdleConnTimeout: -1s\nMaxConnsPerHost: -1\nDialTimeout: -1s\n");
        assert_eq!(s.idle_timeout, Setting::file(None, Some(Pos::new(2, 18))));
        assert_eq!(s.max_in_flight, Setting::file(None, Some(Pos::new(3, 18))));
        assert_eq!(shown(&findings), ["ST103 c.yaml:4:14 "]);
        // Not `MaxIdleConns`: below 0, net/http closes each idle connection as it pools it
        // (`tryPutIdleConn`: `idleLRU.len() > MaxIdleConns`).
        let (_, findings) = parse("library: go\nMaxIdleConns: -1\n");
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            findings[0]
                .message
                .contains("below 0, net/http keeps no idle connection"),
            "{}",
            findings[0].message
        );
        let (s, findings) = parse("library: go\nIdleConnTimeout: null\nMaxConnsPerHost: null\n");
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!((s.idle_timeout.value, s.max_in_flight.value), (None, None));
        let (s, _) = parse("library: reqwest\npool_idle_timeout: 0s\n");
        assert_eq!(s.keep_alive, Setting::file(false, Some(Pos::new(2, 20))));
        assert_eq!(s.idle_timeout.value, Some(Duration::ZERO));
        let (_, findings) = parse("library: okhttp\nkeepAliveDuration: 0s\n");
        assert_eq!(shown(&findings), ["ST103 c.yaml:2:20 "]);
        // undici's Client: `keepAliveTimeout <= 0` is an InvalidArgumentError.
        let (_, findings) = parse("library: undici\nkeepAliveTimeout: 0\n");
        assert_eq!(shown(&findings), ["ST103 c.yaml:2:19 "]);
        // .NET: `HttpConnectionPoolManager` stores no connection when the idle timeout or the
        // lifetime is `TimeSpan.Zero` (`_avoidStoringConnections`).
        let (s, _) = parse("library: dotnet\nPooledConnectionIdleTimeout: 00:00:00\n");
        assert_eq!(s.keep_alive, Setting::file(false, Some(Pos::new(2, 30))));
        let (s, findings) = parse("library: dotnet\nPooledConnectionLifetime: 00:00:00\n");
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(s.keep_alive, Setting::file(false, Some(Pos::new(2, 27))));
        let (s, _) = parse("library: dotnet\nPooledConnectionLifetime: 00:05:00\n");
        assert!(s.keep_alive.value);
        // HttpClient 5.2.1 (Debian's jar, a scratch client, not kept): 20 requests in turn, 5 ms
        // apart, opened 20 connections with `evictIdleConnections(0 ms)` (and 1 ms), 1 with
        // 30 s or without it.
        let (s, findings) = parse("library: httpclient5\nevictIdleConnections: 0s\n");
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(s.keep_alive, Setting::file(false, Some(Pos::new(2, 23))));
        let (s, _) = parse("library: httpclient5\nevictIdleConnections: 30s\n");
        assert!(s.keep_alive.value);
        // reqwest's TCP keep-alive of 0: on, at the kernel's time (`TCP_KEEPIDLE` 0 is EINVAL on
        // Linux, tried with `setsockopt`: the socket keeps 7200).
        let (s, _) = parse("tcp_keepalive: 0s\n");
        assert_eq!(s.tcp_keepalive.value, Some(Duration::from_secs(7200)));
        let (s, _) = parse("tcp_keepalive: null\n");
        assert_eq!(s.tcp_keepalive.value, None);
        // Reactor Netty: `PooledConnectionProvider.PoolFactory` evicts a connection whose
        // `idleTime() >= maxIdleTime` or `lifeTime() >= maxLifeTime`, in whole milliseconds.
        for (text, reused) in [
            ("maxIdleTime: 0s", false),
            ("maxIdleTime: 500us", false),
            ("maxIdleTime: 1ms", true),
            ("maxLifeTime: 0s", false),
            ("maxLifeTime: 5m", true),
        ] {
            let (s, findings) = parse(&format!("library: reactor-netty\n{text}\n"));
            assert!(findings.is_empty(), "{findings:?}");
            assert_eq!(s.keep_alive.value, reused, "{text}");
        }
    }

    /// A connect timeout of 0, tried against a loopback listener with the libraries in the
    /// project's venv (httpx 0.28.1: `ConnectError` "[Errno 115] Operation now in progress",
    /// `ConnectTimeout` when async; urllib3 2.8.0: `ValueError`; aiohttp 3.14.5: every request
    /// answered) and read in the others' sources (.NET's `ConnectTimeout` setter throws
    /// `ArgumentOutOfRangeException` for `value <= TimeSpan.Zero`; Go, OkHttp and undici take
    /// 0 as no timeout).
    #[test]
    fn a_connect_timeout_of_0_is_what_each_library_makes_of_it() {
        for (text, range) in [
            (
                "library: httpx\ntimeout.connect: 0\n",
                "more than 0 (httpx fails every connect at 0)",
            ),
            (
                "library: urllib3\ntimeout.connect: 0.0\n",
                "more than 0 (urllib3 throws on 0 as the client is built)",
            ),
            (
                "library: dotnet\nConnectTimeout: 00:00:00\n",
                "more than 0 (dotnet throws on 0 as the client is built)",
            ),
        ] {
            let (s, findings) = parse(text);
            let column = text.find(": 0").unwrap() - text.find('\n').unwrap() + 2;
            assert_eq!(shown(&findings), [format!("ST103 c.yaml:2:{column} ")]);
            assert!(
                findings[0].message.ends_with(range),
                "{}",
                findings[0].message
            );
            assert!(s.connect_timeout.unreadable, "{text}");
        }
        for text in [
            "library: aiohttp\ntimeout.sock_connect: 0\n",
            "library: go\nDialTimeout: 0s\n",
            "library: okhttp\nconnectTimeout: 0s\n",
            "library: undici\nconnect.timeout: 0\n",
        ] {
            let (s, findings) = parse(text);
            assert!(findings.is_empty(), "{text}: {findings:?}");
            assert!(s.connect_timeout.pos.is_some(), "{text}");
            assert_eq!(s.connect_timeout.value, None, "{text}");
        }
    }

    #[test]
    fn bad_keys_and_values_are_findings() {
        let (_, findings) = parse(
            "library: reqwest\npool_max_idle_per_hots: 3\nMaxConnsPerHost: 3\nhttp2: yes please\npool_idle_timeout: 90\nmax_in_flight: 0\nconnect_timeout: 5 seconds\n",
        );
        let text = shown(&findings);
        assert_eq!(
            text,
            [
                "ST101 c.yaml:2:1 did you mean `pool_max_idle_per_host`?",
                "ST101 c.yaml:3:1 `MaxConnsPerHost` is go's name: this file uses reqwest's (from the `library` key), write `max_in_flight`",
                "ST102 c.yaml:4:8 write `true` or `false`",
                "ST102 c.yaml:5:20 write a Go duration such as `30s`, `1m30s` or `250ms`",
                "ST103 c.yaml:6:16 ",
                "ST104 c.yaml:7:18 write a Go duration such as `30s`, `1m30s` or `250ms`",
            ]
        );
        let (_, findings) = parse("library: java\n");
        assert_eq!(findings[0].code, Code::InvalidEnum);
    }

    /// Each library's defaults, as its docs state them (see `vocabulary.rs` for the sources):
    /// (library, idle per host, bound in flight, keep-alive, idle timeout, connect timeout).
    /// None sends a request again in ST307's sense by default (HttpClient 5's retry of a 503
    /// is an overload retry, `Field::OverloadRetries`).
    #[test]
    fn every_library_defaults_as_documented() {
        let s = |n: u64| Some(Duration::from_secs(n));
        let ms = |n: u64| Some(Duration::from_millis(n));
        type Row = (
            &'static str,
            usize,
            Option<usize>,
            bool,
            Option<Duration>,
            Option<Duration>,
        );
        let rows: [Row; 9] = [
            ("okhttp", 5, Some(5), true, s(300), s(10)),
            ("httpclient5", usize::MAX, Some(5), true, s(180), s(180)),
            ("reactor-netty", usize::MAX, Some(500), true, None, s(30)),
            ("httpx", 20, Some(100), true, s(5), s(5)),
            ("aiohttp", usize::MAX, Some(100), true, s(15), s(30)),
            ("urllib3", 1, None, true, None, None),
            ("undici", usize::MAX, None, true, ms(4000), ms(10_000)),
            ("node-http", 256, None, false, None, None),
            ("dotnet", usize::MAX, None, true, s(60), None),
        ];
        for (library, idle, bound, keep_alive, idle_timeout, connect) in rows {
            let (c, findings) = parse(&format!("library: {library}\n"));
            assert!(findings.is_empty(), "{library}: {findings:?}");
            assert_eq!(c.vocabulary.as_str(), library);
            assert_eq!(c.idle_per_host.value, idle, "{library}");
            assert_eq!(c.max_in_flight.value, bound, "{library}");
            assert!(!c.http2.value, "{library}: HTTP/1.1 to the sidecar");
            assert_eq!(c.keep_alive.value, keep_alive, "{library}");
            assert_eq!(c.idle_timeout.value, idle_timeout, "{library}");
            assert_eq!(c.connect_timeout.value, connect, "{library}");
            assert_eq!(c.retries.value, 0, "{library}");
        }
    }

    #[test]
    fn bounds_combine_as_each_library_applies_them() {
        // aiohttp: the tighter of `limit` and `limit_per_host`; 0 is none.
        let (c, _) = parse("library: aiohttp\nlimit: 0\nlimit_per_host: 7\n");
        assert_eq!(
            c.max_in_flight,
            Setting::file(Some(7), Some(Pos::new(3, 17)))
        );
        let (c, _) = parse("library: aiohttp\nlimit: 0\n");
        assert_eq!(c.max_in_flight.value, None);
        // urllib3: `maxsize` bounds only with `block: true`.
        let (c, _) = parse("library: urllib3\nmaxsize: 8\n");
        assert_eq!((c.idle_per_host.value, c.max_in_flight.value), (8, None));
        let (c, _) = parse("library: urllib3\nmaxsize: 8\nblock: true\n");
        assert_eq!(c.max_in_flight.value, Some(8));
        // `maxsize: 0` is a `LifoQueue(0)`, unbounded: 8 concurrent requests through a
        // `PoolManager(maxsize=0)` (urllib3 2.8.0, the venv's) left 8 idle connections, against
        // 2 for `maxsize=2`; with `block=True` a request got `EmptyPoolError` "Pool is empty and a
        // new connection can't be opened due to blocking mode" after its `pool_timeout`.
        let (c, findings) = parse("library: urllib3\nmaxsize: 0\n");
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(
            (c.idle_per_host.value, c.max_in_flight.value),
            (usize::MAX, None)
        );
        for text in [
            "library: urllib3\nmaxsize: 0\nblock: true\n",
            "library: urllib3\nblock: true\nmaxsize: 0\n",
        ] {
            let (c, findings) = parse(text);
            let line = if text.ends_with("0\n") { 3 } else { 2 };
            assert_eq!(
                shown(&findings),
                [format!("ST103 c.yaml:{line}:10 ")],
                "{text}"
            );
            assert!(
                c.idle_per_host.unreadable && c.max_in_flight.unreadable,
                "{text}"
            );
        }
        // undici: connections x pipelining.
        let (c, _) = parse("library: undici\nconnections: 4\npipelining: 3\n");
        assert_eq!(c.max_in_flight.value, Some(12));
        // OkHttp: the tighter of `maxRequests` and `maxRequestsPerHost`.
        let (c, _) = parse("library: okhttp\nmaxRequests: 3\nmaxRequestsPerHost: 10\n");
        assert_eq!(c.max_in_flight.value, Some(3));
        // Node: Infinity is no bound; keepAlive turns pooling and TCP probes on.
        let (c, _) = parse("library: node-http\nmaxSockets: .inf\nkeepAlive: true\n");
        assert_eq!(c.max_in_flight.value, None);
        assert_eq!(c.tcp_keepalive.value, Some(Duration::from_secs(1)));
        // HTTP/2 to a plain-text sidecar only with prior knowledge.
        let (c, _) = parse("library: okhttp\nprotocols: [HTTP_2, HTTP_1_1]\n");
        assert!(!c.http2.value);
        let (c, _) = parse("library: okhttp\nprotocols: [H2_PRIOR_KNOWLEDGE]\n");
        assert!(c.http2.value);
    }

    /// Node's zeros, as `new http.Agent({...})` of Node 20.20.2 (Debian's `nodejs`) keeps them:
    /// `maxSockets: 0` is `Infinity`, `maxFreeSockets: 0` is 256, `keepAliveMsecs: 0` is 1000,
    /// `maxTotalSockets: 0` throws `ERR_OUT_OF_RANGE`; undici 7.30.2's (the drivers'
    /// node_modules): `Pool` keeps `connections || null`, `Client` throws `invalid
    /// keepAliveMaxTimeout` for `keepAliveMaxTimeout <= 0`.
    #[test]
    fn node_and_undici_zeros_are_defaults_or_refused() {
        let (c, findings) = parse(
            "library: node-http\nkeepAlive: true\nmaxSockets: 0\nmaxFreeSockets: 0\nkeepAliveMsecs: 0\n",
        );
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(c.max_in_flight, Setting::file(None, Some(Pos::new(3, 13))));
        assert_eq!(c.idle_per_host, Setting::file(256, Some(Pos::new(4, 17))));
        assert_eq!(
            c.tcp_keepalive,
            Setting::file(Some(Duration::from_secs(1)), Some(Pos::new(5, 17)))
        );
        let (_, findings) = parse("library: node-http\nmaxTotalSockets: 0\n");
        assert_eq!(shown(&findings), ["ST103 c.yaml:2:18 "]);
        let (c, findings) = parse("library: undici\nconnections: 0\n");
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(c.max_in_flight, Setting::file(None, Some(Pos::new(2, 14))));
        let (_, findings) = parse("library: undici\nkeepAliveMaxTimeout: 0\n");
        assert_eq!(shown(&findings), ["ST103 c.yaml:2:22 "]);
        assert!(
            findings[0]
                .message
                .ends_with("more than 0 (undici throws on 0 as the client is built)")
        );
    }

    /// aiohttp 3.14.5 (the venv's): `TCPConnector(force_close=True, keepalive_timeout=30)`
    /// raises `ValueError('keepalive_timeout cannot be set if force_close is True')`;
    /// `keepalive_timeout=None` with it is accepted.
    #[test]
    fn aiohttp_refuses_a_keepalive_timeout_with_force_close() {
        for (text, line) in [
            (
                "library: aiohttp\nforce_close: true\nkeepalive_timeout: 30\n",
                3,
            ),
            (
                "library: aiohttp\nkeepalive_timeout: 0\nforce_close: true\n",
                2,
            ),
        ] {
            let (c, findings) = parse(text);
            assert_eq!(
                shown(&findings),
                [format!("ST103 c.yaml:{line}:20 ")],
                "{text}"
            );
            assert!(c.idle_timeout.unreadable && !c.keep_alive.value, "{text}");
        }
        for text in [
            "library: aiohttp\nforce_close: true\nkeepalive_timeout: null\n",
            "library: aiohttp\nforce_close: false\nkeepalive_timeout: 30\n",
        ] {
            let (_, findings) = parse(text);
            assert!(findings.is_empty(), "{text}: {findings:?}");
        }
    }

    #[test]
    fn durations_are_read_in_each_library_unit() {
        let (c, findings) = parse("library: httpx\nkeepalive_expiry: 2.5\ntimeout.connect: 1\n");
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(c.idle_timeout.value, Some(Duration::from_millis(2500)));
        assert_eq!(c.connect_timeout.value, Some(Duration::from_secs(1)));
        let (c, _) = parse("library: undici\nkeepAliveTimeout: 2500\nconnect.timeout: 0\n");
        assert_eq!(c.idle_timeout.value, Some(Duration::from_millis(2500)));
        assert_eq!(c.connect_timeout.value, None);
        let (c, _) = parse(
            "library: dotnet\nPooledConnectionIdleTimeout: 00:00:27\nConnectTimeout: Infinite\n",
        );
        assert_eq!(c.idle_timeout.value, Some(Duration::from_secs(27)));
        assert_eq!(c.connect_timeout.value, None);
        let (c, _) = parse("library: okhttp\nkeepAliveDuration: 30s\n");
        assert_eq!(c.idle_timeout.value, Some(Duration::from_secs(30)));
    }

    /// The issue's bad input: a duration without its unit, or in another library's unit, is an
    /// error that shows the expected form; an unknown key gets the same library's suggestion, or
    /// the equivalent when it is another library's.
    #[test]
    fn wrong_units_and_keys_say_what_to_write() {
        let cases = [
            (
                "library: okhttp\nkeepAliveDuration: 5\n",
                "ST102 c.yaml:2:20 write a duration with its unit, such as `5m`, `30s` or `250ms`",
            ),
            (
                "library: httpx\nkeepalive_expiry: 5s\n",
                "ST102 c.yaml:2:19 httpx takes seconds as a number: write `5.0`",
            ),
            (
                "library: undici\nkeepAliveTimeout: 4s\n",
                "ST102 c.yaml:2:19 undici takes milliseconds as a number: write `4000`",
            ),
            (
                "library: dotnet\nPooledConnectionIdleTimeout: 90\n",
                "ST102 c.yaml:2:30 write a TimeSpan such as `00:01:30` (hh:mm:ss, `d.hh:mm:ss` past a day) or `Infinite`",
            ),
            (
                "library: aiohttp\nlimit_per_hots: 3\n",
                "ST101 c.yaml:2:1 did you mean `limit_per_host`?",
            ),
            (
                "library: httpx\nmaxRequestsPerHost: 3\n",
                "ST101 c.yaml:2:1 `maxRequestsPerHost` is okhttp's name: this file uses httpx's (from the `library` key), write `max_connections`",
            ),
            (
                "library: okhttp\nprotocols: [HTTP_11]\n",
                "ST105 c.yaml:2:13 did you mean `HTTP_1_1`?",
            ),
            (
                "library: urlib3\n",
                "ST105 c.yaml:1:10 did you mean `library: urllib3`?",
            ),
        ];
        for (text, expected) in cases {
            let (_, findings) = parse(text);
            assert_eq!(shown(&findings), [expected], "{text}");
        }
    }

    #[test]
    fn the_library_is_inferred_from_the_keys() {
        let (c, _) = parse("limit_per_host: 10\nkeepalive_timeout: 5\n");
        assert_eq!(c.vocabulary, Vocabulary::Aiohttp);
        let (c, _) = parse("maxIdleConnections: 5\nconnectTimeout: 2s\n");
        assert_eq!(c.vocabulary, Vocabulary::OkHttp);
    }
}
