//! The vocabularies: each library's key names, the units its durations take, and its documented
//! defaults for the keys a file leaves out. The defaults come from the library's own source or
//! reference docs, cited beside each value with the version they are from.

use std::fmt;
use std::time::Duration;

use crate::istio::duration::GoDuration;

/// Whose names the file uses, and so whose defaults apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Vocabulary {
    /// reqwest's `ClientBuilder` (`pool_max_idle_per_host`, `pool_idle_timeout`, ...).
    Reqwest,
    /// Go's `http.Transport` and `net.Dialer` (`MaxIdleConnsPerHost`, `IdleConnTimeout`, ...);
    /// defaults are those of `http.DefaultTransport`.
    Go,
    /// Java: OkHttp's `ConnectionPool`, `Dispatcher` and `OkHttpClient.Builder`.
    OkHttp,
    /// Java: Apache HttpClient 5's `PoolingHttpClientConnectionManager` and `ConnectionConfig`.
    HttpClient5,
    /// Java: Reactor Netty's `ConnectionProvider` (Spring `WebClient`).
    ReactorNetty,
    /// Python: httpx's `Limits` and `Client`.
    Httpx,
    /// Python: aiohttp's `TCPConnector`.
    Aiohttp,
    /// Python: urllib3's `PoolManager` (and requests' `HTTPAdapter`, which builds one).
    Urllib3,
    /// Node: undici's `Agent` / `Pool`.
    Undici,
    /// Node: `http.Agent`.
    NodeHttp,
    /// .NET: `SocketsHttpHandler`.
    DotNet,
}

/// How a library takes durations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Text with its unit, Go's form: `30s`, `5m`, `250ms` (Go; Rust and Java take a count and a
    /// unit, written here the same way).
    Text,
    /// A number of seconds, `5.0` (Python).
    Seconds,
    /// A number of milliseconds, `4000` (Node).
    Millis,
    /// A .NET `TimeSpan`, `00:01:30` (`[d.]hh:mm:ss[.fffffff]`).
    TimeSpan,
}

/// A client setting, whatever a vocabulary calls it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// Idle connections kept per host.
    IdlePerHost,
    /// Idle connections kept across hosts (Go's `MaxIdleConns`).
    IdleTotal,
    /// The bound on requests in flight to one host (HTTP/1.1: connections per host, one
    /// request each).
    MaxInFlight,
    /// The bound on requests in flight across hosts (OkHttp's `maxRequests`, HttpClient 5's
    /// `maxTotal`, aiohttp's `limit`, Node's `maxTotalSockets`).
    TotalInFlight,
    /// HTTP/2 towards the sidecar (reqwest's prior knowledge, HttpClient 5's `FORCE_HTTP_2`;
    /// httpx's `http2` with its `http1` off).
    Http2,
    /// HTTP/1.1 only (reqwest).
    Http1Only,
    /// HTTP/1.1 on or off (httpx's `http1`): off, with `http2`, HTTP/2 goes out in clear.
    Http1,
    /// The protocols the client may use (OkHttp's `protocols`, Reactor Netty's `protocol`, Go's
    /// `Protocols`).
    Protocols,
    /// The HTTP version of requests (.NET's `DefaultRequestVersion`).
    HttpVersion,
    /// Whether that version may be lowered (.NET's `DefaultVersionPolicy`): to `http://`,
    /// `RequestVersionOrLower` sends HTTP/1.1 whatever the version.
    VersionPolicy,
    /// Keep-alive turned off (Go's `DisableKeepAlives`, aiohttp's `force_close`).
    KeepAliveDisabled,
    /// Keep-alive turned on (Node's `keepAlive`).
    KeepAlive,
    /// Whether the pool size bounds connections (urllib3's `block`).
    Block,
    /// Requests sent on one connection before their answers (undici's `pipelining`).
    Pipelining,
    /// How long an idle pooled connection is kept.
    IdleTimeout,
    /// The connect timeout.
    ConnectTimeout,
    /// TCP keep-alive time.
    TcpKeepalive,
    /// How long a pooled connection is reused at most, idle or not (.NET's
    /// `PooledConnectionLifetime`, HttpClient 5's `timeToLive`, Reactor Netty's `maxLifeTime`):
    /// no check compares it, but .NET's 0 keeps no connection for reuse.
    Lifetime,
    /// The client's own retries of failed requests.
    Retries,
    /// The client's own retries of an overload answer (a `503`, with `x-envoy-overloaded` where
    /// the library can tell; else the application's `503` is retried too) for idempotent
    /// requests, after a backoff: the sidecar refused those before any upstream saw them, so
    /// retrying them multiplies nothing (OkHttp's `overloadRetries` is the interceptor `plan
    /// --emit okhttp` writes).
    OverloadRetries,
    /// A setting read and checked for its type, that no check compares with the sidecar: a
    /// pending-acquire bound, a connection-failure retry switch.
    Other(Kind),
}

/// The type of a [`Field::Other`] value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// `true` or `false`.
    Bool,
    /// A count.
    Count,
    /// A duration in the vocabulary's unit.
    Duration,
    /// A duration above 0: the library throws on 0 as the client is built (undici's
    /// `keepAliveMaxTimeout`).
    PositiveDuration,
}

const REQWEST_KEYS: &[(&str, Field)] = &[
    ("pool_max_idle_per_host", Field::IdlePerHost),
    ("max_in_flight", Field::MaxInFlight),
    ("http2", Field::Http2),
    ("http1_only", Field::Http1Only),
    ("pool_idle_timeout", Field::IdleTimeout),
    ("connect_timeout", Field::ConnectTimeout),
    ("tcp_keepalive", Field::TcpKeepalive),
    ("retries", Field::Retries),
];

const GO_KEYS: &[(&str, Field)] = &[
    ("MaxIdleConnsPerHost", Field::IdlePerHost),
    ("MaxIdleConns", Field::IdleTotal),
    ("MaxConnsPerHost", Field::MaxInFlight),
    // Offers HTTP/2 in TLS's ALPN only: a request to `http://` is HTTP/1.1 whatever its value
    // (Go 1.19.8's `http.DefaultTransport`, tried; golang/go#67816).
    ("ForceAttemptHTTP2", Field::Other(Kind::Bool)),
    ("Protocols", Field::Protocols),
    ("DisableKeepAlives", Field::KeepAliveDisabled),
    ("IdleConnTimeout", Field::IdleTimeout),
    ("DialTimeout", Field::ConnectTimeout),
    ("KeepAlive", Field::TcpKeepalive),
    ("Retries", Field::Retries),
];

/// `new ConnectionPool(maxIdleConnections, keepAliveDuration, unit)`, `Dispatcher`'s
/// `maxRequests` / `maxRequestsPerHost`, and `OkHttpClient.Builder`.
const OKHTTP_KEYS: &[(&str, Field)] = &[
    ("maxIdleConnections", Field::IdlePerHost),
    ("keepAliveDuration", Field::IdleTimeout),
    ("maxRequests", Field::TotalInFlight),
    ("maxRequestsPerHost", Field::MaxInFlight),
    ("retryOnConnectionFailure", Field::Other(Kind::Bool)),
    ("connectTimeout", Field::ConnectTimeout),
    ("protocols", Field::Protocols),
    ("overloadRetries", Field::OverloadRetries),
];

/// `PoolingHttpClientConnectionManagerBuilder` (`setMaxConnTotal`, `setMaxConnPerRoute`),
/// `ConnectionConfig` (`setConnectTimeout`, `setTimeToLive`), `HttpClientBuilder`
/// (`evictIdleConnections`, `setRetryStrategy(new DefaultHttpRequestRetryStrategy(maxRetries,
/// retryInterval))`, which retries 429 and 503 answers and I/O errors of idempotent requests),
/// and `http2` for the async client's `HttpVersionPolicy.FORCE_HTTP_2`.
const HTTPCLIENT5_KEYS: &[(&str, Field)] = &[
    ("maxTotal", Field::TotalInFlight),
    ("defaultMaxPerRoute", Field::MaxInFlight),
    ("connectTimeout", Field::ConnectTimeout),
    ("evictIdleConnections", Field::IdleTimeout),
    ("timeToLive", Field::Lifetime),
    ("maxRetries", Field::OverloadRetries),
    ("retryInterval", Field::Other(Kind::Duration)),
    ("http2", Field::Http2),
];

/// `ConnectionProvider.builder(name)` and `HttpClient` (`protocol`, `CONNECT_TIMEOUT_MILLIS`).
const REACTOR_NETTY_KEYS: &[(&str, Field)] = &[
    ("maxConnections", Field::MaxInFlight),
    ("pendingAcquireMaxCount", Field::Other(Kind::Count)),
    ("pendingAcquireTimeout", Field::Other(Kind::Duration)),
    ("maxIdleTime", Field::IdleTimeout),
    ("maxLifeTime", Field::Lifetime),
    ("connectTimeout", Field::ConnectTimeout),
    ("protocol", Field::Protocols),
];

/// `httpx.Limits(...)`, `httpx.Client(http2=...)`, `httpx.Timeout(connect=...)`.
const HTTPX_KEYS: &[(&str, Field)] = &[
    ("max_connections", Field::MaxInFlight),
    ("max_keepalive_connections", Field::IdlePerHost),
    ("keepalive_expiry", Field::IdleTimeout),
    ("http2", Field::Http2),
    ("http1", Field::Http1),
    ("timeout.connect", Field::ConnectTimeout),
];

/// `aiohttp.TCPConnector(...)` and `aiohttp.ClientTimeout(sock_connect=...)`.
const AIOHTTP_KEYS: &[(&str, Field)] = &[
    ("limit", Field::TotalInFlight),
    ("limit_per_host", Field::MaxInFlight),
    ("keepalive_timeout", Field::IdleTimeout),
    ("force_close", Field::KeepAliveDisabled),
    ("timeout.sock_connect", Field::ConnectTimeout),
];

/// `urllib3.PoolManager(num_pools, maxsize=, block=, timeout=Timeout(connect=),
/// retries=Retry(status=, status_forcelist=[503]))`, as requests' `HTTPAdapter(pool_connections,
/// pool_maxsize, pool_block, max_retries)` builds it.
const URLLIB3_KEYS: &[(&str, Field)] = &[
    ("maxsize", Field::IdlePerHost),
    ("block", Field::Block),
    ("num_pools", Field::Other(Kind::Count)),
    ("timeout.connect", Field::ConnectTimeout),
    ("retries.status", Field::OverloadRetries),
];

/// `new undici.Agent({...})` / `new Pool(origin, {...})`, and `interceptors.retry({maxRetries,
/// statusCodes: [503]})` composed onto it.
const UNDICI_KEYS: &[(&str, Field)] = &[
    ("connections", Field::MaxInFlight),
    ("pipelining", Field::Pipelining),
    ("keepAliveTimeout", Field::IdleTimeout),
    ("keepAliveMaxTimeout", Field::Other(Kind::PositiveDuration)),
    ("connect.timeout", Field::ConnectTimeout),
    // HTTP/2 in clear, by prior knowledge: undici 7.30.2's `new Agent({connect: {useH2c:
    // true}})` sent the HTTP/2 preface to `http://` (tried; a top-level `useH2c` is lost, the
    // Agent's pools building their connector from `connect`).
    ("connect.useH2c", Field::Http2),
    // Offers HTTP/2 in TLS's ALPN only: undici 7.30.2 sent `http://` requests as HTTP/1.1 with
    // it (tried).
    ("allowH2", Field::Other(Kind::Bool)),
    ("retry.maxRetries", Field::OverloadRetries),
];

/// `new http.Agent({...})`.
const NODE_HTTP_KEYS: &[(&str, Field)] = &[
    ("keepAlive", Field::KeepAlive),
    ("keepAliveMsecs", Field::TcpKeepalive),
    ("maxSockets", Field::MaxInFlight),
    ("maxTotalSockets", Field::TotalInFlight),
    ("maxFreeSockets", Field::IdlePerHost),
    ("timeout", Field::IdleTimeout),
];

/// `new SocketsHttpHandler { ... }` and `HttpClient.DefaultRequestVersion`.
const DOTNET_KEYS: &[(&str, Field)] = &[
    ("MaxConnectionsPerServer", Field::MaxInFlight),
    ("PooledConnectionIdleTimeout", Field::IdleTimeout),
    ("PooledConnectionLifetime", Field::Lifetime),
    ("ConnectTimeout", Field::ConnectTimeout),
    ("EnableMultipleHttp2Connections", Field::Other(Kind::Bool)),
    ("DefaultRequestVersion", Field::HttpVersion),
    ("DefaultVersionPolicy", Field::VersionPolicy),
];

/// Whether a protocol list names `name` (in any case, as the readers accept it).
fn lists(protocols: &[&str], name: &str) -> bool {
    protocols.iter().any(|p| p.eq_ignore_ascii_case(name))
}

/// A library's settings when the code sets none: what `ClientSettings::defaults` starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Defaults {
    pub idle_per_host: usize,
    pub max_in_flight: Option<usize>,
    pub total_in_flight: Option<usize>,
    pub http2: bool,
    pub keep_alive: bool,
    pub idle_timeout: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    pub tcp_keepalive: Option<Duration>,
}

const fn secs(n: u64) -> Option<Duration> {
    Some(Duration::from_secs(n))
}

/// Go's `http.DefaultMaxIdleConnsPerHost`, used when `MaxIdleConnsPerHost` is 0 or unset.
pub(crate) const GO_DEFAULT_IDLE_PER_HOST: usize = 2;

/// The common case: unbounded, HTTP/1.1, keep-alive on, no timeouts (and no library retries a
/// failed request by default).
const BASE: Defaults = Defaults {
    idle_per_host: usize::MAX,
    max_in_flight: None,
    total_in_flight: None,
    http2: false,
    keep_alive: true,
    idle_timeout: None,
    connect_timeout: None,
    tcp_keepalive: None,
};

impl Vocabulary {
    /// Every vocabulary, in the order a file's keys are matched against them.
    pub const ALL: [Vocabulary; 11] = [
        Vocabulary::Reqwest,
        Vocabulary::Go,
        Vocabulary::OkHttp,
        Vocabulary::HttpClient5,
        Vocabulary::ReactorNetty,
        Vocabulary::Httpx,
        Vocabulary::Aiohttp,
        Vocabulary::Urllib3,
        Vocabulary::Undici,
        Vocabulary::NodeHttp,
        Vocabulary::DotNet,
    ];

    /// The value of the `library` key: `reqwest`, `go`, `okhttp`, `httpclient5`,
    /// `reactor-netty`, `httpx`, `aiohttp`, `urllib3`, `undici`, `node-http` or `dotnet`.
    pub fn as_str(self) -> &'static str {
        match self {
            Vocabulary::Reqwest => "reqwest",
            Vocabulary::Go => "go",
            Vocabulary::OkHttp => "okhttp",
            Vocabulary::HttpClient5 => "httpclient5",
            Vocabulary::ReactorNetty => "reactor-netty",
            Vocabulary::Httpx => "httpx",
            Vocabulary::Aiohttp => "aiohttp",
            Vocabulary::Urllib3 => "urllib3",
            Vocabulary::Undici => "undici",
            Vocabulary::NodeHttp => "node-http",
            Vocabulary::DotNet => "dotnet",
        }
    }

    /// The vocabulary named `name` (a value of the `library` key).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == name)
    }

    /// The key naming `field` in this vocabulary; empty when the library has no such setting.
    pub fn key(self, field: Field) -> &'static str {
        self.keys()
            .iter()
            .find(|(_, f)| *f == field)
            .map_or("", |(key, _)| key)
    }

    pub(crate) fn keys(self) -> &'static [(&'static str, Field)] {
        match self {
            Vocabulary::Reqwest => REQWEST_KEYS,
            Vocabulary::Go => GO_KEYS,
            Vocabulary::OkHttp => OKHTTP_KEYS,
            Vocabulary::HttpClient5 => HTTPCLIENT5_KEYS,
            Vocabulary::ReactorNetty => REACTOR_NETTY_KEYS,
            Vocabulary::Httpx => HTTPX_KEYS,
            Vocabulary::Aiohttp => AIOHTTP_KEYS,
            Vocabulary::Urllib3 => URLLIB3_KEYS,
            Vocabulary::Undici => UNDICI_KEYS,
            Vocabulary::NodeHttp => NODE_HTTP_KEYS,
            Vocabulary::DotNet => DOTNET_KEYS,
        }
    }

    pub(crate) fn field(self, key: &str) -> Option<Field> {
        self.keys().iter().find(|(k, _)| *k == key).map(|(_, f)| *f)
    }

    /// How the library takes durations.
    pub(crate) fn unit(self) -> Unit {
        match self {
            Vocabulary::Reqwest
            | Vocabulary::Go
            | Vocabulary::OkHttp
            | Vocabulary::HttpClient5
            | Vocabulary::ReactorNetty => Unit::Text,
            Vocabulary::Httpx | Vocabulary::Aiohttp | Vocabulary::Urllib3 => Unit::Seconds,
            Vocabulary::Undici | Vocabulary::NodeHttp => Unit::Millis,
            Vocabulary::DotNet => Unit::TimeSpan,
        }
    }

    /// The library's documented defaults.
    pub(crate) fn defaults(self) -> Defaults {
        match self {
            // reqwest 0.12/0.13: no idle limit, idle 90s, HTTP/1.1 on plain connections, no
            // connect timeout, TCP keep-alive 15s (docs.rs `ClientBuilder`).
            Vocabulary::Reqwest => Defaults {
                idle_timeout: secs(90),
                tcp_keepalive: secs(15),
                ..BASE
            },
            // Go 1.22+ `http.DefaultTransport`: 2 idle per host, `IdleConnTimeout` 90s,
            // HTTP/1.1 to `http://` (its `ForceAttemptHTTP2` concerns TLS), a dialer with a 30s
            // timeout and 30s keep-alive.
            Vocabulary::Go => Defaults {
                idle_per_host: GO_DEFAULT_IDLE_PER_HOST,
                idle_timeout: secs(90),
                connect_timeout: secs(30),
                tcp_keepalive: secs(30),
                ..BASE
            },
            // OkHttp 3.13-4.12 (square.github.io/okhttp; checked in Debian's okhttp 3.13.1 jar,
            // `ConnectionPool()`, `Dispatcher()` and `OkHttpClient.Builder()`):
            // 5 idle connections kept 5 minutes; `maxRequests` 64 and `maxRequestsPerHost` 5,
            // which bound only calls sent with `enqueue()`; `connectTimeout` 10s; protocols
            // `[HTTP_2, HTTP_1_1]`, and HTTP/2 needs TLS (ALPN) or `H2_PRIOR_KNOWLEDGE`, so the
            // plain-text hop to the sidecar is HTTP/1.1. No TCP keep-alive setting.
            Vocabulary::OkHttp => Defaults {
                idle_per_host: 5,
                max_in_flight: Some(5),
                total_in_flight: Some(64),
                idle_timeout: secs(5 * 60),
                connect_timeout: secs(10),
                ..BASE
            },
            // HttpClient 5.2-5.4 (hc.apache.org; checked in Debian's httpclient5 5.2.1 jar,
            // `PoolingHttpClientConnectionManager`, `ConnectionConfig`, `RequestConfig`):
            // `DEFAULT_MAX_TOTAL_CONNECTIONS` 25, `DEFAULT_MAX_CONNECTIONS_PER_ROUTE` 5, callers
            // beyond wait for a lease; `ConnectionConfig` connect timeout 3 minutes; idle
            // connections are not evicted unless `evictIdleConnections` is set, but a connection
            // without a `Keep-Alive` header is reused for at most `RequestConfig`'s default
            // keep-alive of 3 minutes; `DefaultHttpRequestRetryStrategy` retries 429 and 503 once
            // for idempotent requests, after 1 s (an overload retry, not one that multiplies the
            // sidecar's); the classic client speaks HTTP/1.1 only.
            Vocabulary::HttpClient5 => Defaults {
                max_in_flight: Some(5),
                total_in_flight: Some(25),
                idle_timeout: secs(3 * 60),
                connect_timeout: secs(3 * 60),
                ..BASE
            },
            // Reactor Netty 1.1/1.2 (projectreactor.io reference, "Connection Pool"):
            // `HttpClient.create()` (and so Spring's `WebClient`) uses a shared fixed pool of 500
            // connections with 1000 pending acquires, 45s each; no `maxIdleTime` and no
            // `maxLifeTime`; Netty's `CONNECT_TIMEOUT_MILLIS` 30s; HTTP/1.1. (A pool built with
            // `ConnectionProvider.builder(name)` defaults to 2 x processors, at least 16.)
            Vocabulary::ReactorNetty => Defaults {
                max_in_flight: Some(500),
                connect_timeout: secs(30),
                ..BASE
            },
            // httpx 0.28.1 (`httpx/_config.py`): `DEFAULT_LIMITS = Limits(max_connections=100,
            // max_keepalive_connections=20)`, `keepalive_expiry` 5.0 s, `DEFAULT_TIMEOUT_CONFIG =
            // Timeout(timeout=5.0)`, `http2=False`.
            Vocabulary::Httpx => Defaults {
                idle_per_host: 20,
                max_in_flight: Some(100),
                idle_timeout: secs(5),
                connect_timeout: secs(5),
                ..BASE
            },
            // aiohttp 3.14 (`aiohttp/connector.py`, `client.py`): `limit=100`,
            // `limit_per_host=0` (none), `keepalive_timeout` 15.0 s, `force_close=False`,
            // `DEFAULT_TIMEOUT = ClientTimeout(total=300, sock_connect=30)`; HTTP/1.1 only; every
            // released connection is kept (no idle bound of its own).
            Vocabulary::Aiohttp => Defaults {
                total_in_flight: Some(100),
                idle_timeout: secs(15),
                connect_timeout: secs(30),
                ..BASE
            },
            // urllib3 2.8 (`urllib3/connectionpool.py`, `poolmanager.py`): `maxsize=1`,
            // `block=False` (so connections past `maxsize` are opened, used and discarded:
            // nothing bounds requests in flight), `num_pools=10`, no timeout; connections are
            // kept until the server closes them; HTTP/1.1 only.
            Vocabulary::Urllib3 => Defaults {
                idle_per_host: 1,
                ..BASE
            },
            // undici 7.x (`lib/dispatcher/client.js`, `lib/core/connect.js`): `connections`
            // null (no limit), `pipelining` 1, `keepAliveTimeout` 4e3 ms (the server's
            // `Keep-Alive` hint may change it, and Envoy sends none), `keepAliveMaxTimeout`
            // 600e3 ms, connect timeout 10e3 ms, `allowH2` false.
            Vocabulary::Undici => Defaults {
                idle_timeout: Some(Duration::from_millis(4000)),
                connect_timeout: Some(Duration::from_millis(10_000)),
                ..BASE
            },
            // Node 20 `new http.Agent()` (nodejs.org/api/http.html): `keepAlive` false (a
            // connection per request), `maxSockets` and `maxTotalSockets` Infinity,
            // `maxFreeSockets` 256, `keepAliveMsecs` 1000 (used only with `keepAlive`), no
            // `timeout`. (`http.globalAgent` differs since Node 19: keepAlive true, timeout 5s.)
            Vocabulary::NodeHttp => Defaults {
                idle_per_host: 256,
                keep_alive: false,
                tcp_keepalive: Some(Duration::from_millis(1000)),
                ..BASE
            },
            // .NET 6-9 `SocketsHttpHandler` (learn.microsoft.com): `MaxConnectionsPerServer`
            // int.MaxValue, `PooledConnectionIdleTimeout` 1 minute, `PooledConnectionLifetime`
            // and `ConnectTimeout` infinite; `HttpClient.DefaultRequestVersion` 1.1.
            Vocabulary::DotNet => Defaults {
                idle_timeout: secs(60),
                ..BASE
            },
        }
    }

    /// Where the library cannot bound requests in flight with the one key the check names, how
    /// to bound them to `n` in that library.
    pub(crate) fn how_to_bound(self, n: usize) -> Option<String> {
        match self {
            Vocabulary::Urllib3 => Some(format!(
                "set `maxsize: {n}` and `block: true` (urllib3 opens connections past `maxsize` unless `block` is true)"
            )),
            Vocabulary::OkHttp => Some(format!(
                "set `maxRequestsPerHost: {n}` (it bounds calls sent with `enqueue()`; guard `execute()` calls with a `java.util.concurrent.Semaphore({n})`)"
            )),
            Vocabulary::NodeHttp => Some(format!(
                "set `maxSockets: {n}` and `keepAlive: true` (the agent then queues requests beyond {n})"
            )),
            _ => None,
        }
    }

    /// The key and value that keep the client on HTTP/1.1; `None` when the library speaks
    /// nothing else.
    pub(crate) fn http1_setting(self) -> Option<(Field, &'static str)> {
        match self {
            Vocabulary::Reqwest => Some((Field::Http1Only, "true")),
            Vocabulary::HttpClient5 | Vocabulary::Httpx | Vocabulary::Undici => {
                Some((Field::Http2, "false"))
            }
            Vocabulary::Go => Some((Field::Protocols, "[HTTP1]")),
            Vocabulary::OkHttp => Some((Field::Protocols, "[HTTP_1_1]")),
            Vocabulary::ReactorNetty => Some((Field::Protocols, "[HTTP11]")),
            Vocabulary::DotNet => Some((Field::HttpVersion, "\"1.1\"")),
            Vocabulary::Aiohttp | Vocabulary::Urllib3 | Vocabulary::NodeHttp => None,
        }
    }

    /// Whether a `protocols` / `protocol` list lets the client speak HTTP/2 to the sidecar, a
    /// plain-text hop: only prior knowledge (OkHttp's `H2_PRIOR_KNOWLEDGE`, Reactor Netty's
    /// `H2C` without `HTTP11`, Go's `UnencryptedHTTP2` without `HTTP1`, which Go 1.24's
    /// `Transport` then uses for `http://`); `HTTP_2`, `H2` and `HTTP2` need TLS. Beside
    /// `HTTP11`, Reactor Netty's `H2C` asks for an upgrade in an HTTP/1.1 request, whose
    /// `Upgrade: h2c` Envoy's HTTP/1 codec removes ('removing unsupported h2c upgrade headers',
    /// envoyproxy/envoy#7161): the request stays HTTP/1.1.
    pub(crate) fn is_cleartext_http2(self, protocols: &[&str]) -> bool {
        let has = |name| lists(protocols, name);
        match self {
            Vocabulary::OkHttp => has("H2_PRIOR_KNOWLEDGE"),
            Vocabulary::ReactorNetty => has("H2C") && !has("HTTP11"),
            Vocabulary::Go => has("UnencryptedHTTP2") && !has("HTTP1"),
            _ => false,
        }
    }

    /// Why the library refuses a `protocols` list as the client is built, if it does: OkHttp's
    /// `Builder.protocols` (3.13.1, tried) throws for `H2_PRIOR_KNOWLEDGE` beside another
    /// protocol and for a list with neither it nor `HTTP_1_1`.
    pub(crate) fn refused_protocols(self, protocols: &[&str]) -> Option<&'static str> {
        let has = |name| lists(protocols, name);
        match self {
            Vocabulary::OkHttp if has("H2_PRIOR_KNOWLEDGE") && protocols.len() > 1 => Some(
                "`[H2_PRIOR_KNOWLEDGE]` alone (OkHttp throws as the client is built: protocols containing h2_prior_knowledge cannot use other protocols)",
            ),
            Vocabulary::OkHttp if !has("H2_PRIOR_KNOWLEDGE") && !has("HTTP_1_1") => Some(
                "a list with `HTTP_1_1` or `H2_PRIOR_KNOWLEDGE` (OkHttp throws as the client is built: protocols must contain h2_prior_knowledge or http/1.1)",
            ),
            _ => None,
        }
    }

    /// The protocol names the library's list takes.
    pub(crate) fn protocol_names(self) -> &'static [&'static str] {
        match self {
            Vocabulary::OkHttp => &["HTTP_1_1", "HTTP_2", "H2_PRIOR_KNOWLEDGE", "QUIC"],
            Vocabulary::ReactorNetty => &["HTTP11", "H2", "H2C", "HTTP3"],
            Vocabulary::Go => &["HTTP1", "HTTP2", "UnencryptedHTTP2"],
            _ => &[],
        }
    }

    /// The key and value that turn keep-alive on, when the library has a switch for it.
    pub(crate) fn keep_alive_setting(self) -> Option<(Field, &'static str)> {
        match self {
            Vocabulary::Go | Vocabulary::Aiohttp => Some((Field::KeepAliveDisabled, "false")),
            Vocabulary::NodeHttp => Some((Field::KeepAlive, "true")),
            _ => None,
        }
    }

    /// How the library writes "no limit" for a count (`field`): `null` (Python's `None`,
    /// JavaScript's `null`), 0 where 0 means none, `.inf` for Node's `Infinity`, else the
    /// largest `int`.
    pub(crate) fn unlimited_text(self, field: Field) -> &'static str {
        match (self, field) {
            (Vocabulary::Reqwest | Vocabulary::Httpx | Vocabulary::Undici, _) => "null",
            (Vocabulary::Go, Field::MaxInFlight) | (Vocabulary::Aiohttp, _) => "0",
            (Vocabulary::NodeHttp, _) => ".inf",
            _ => "2147483647",
        }
    }

    /// `d` (`None`: no limit) written in the library's unit.
    pub(crate) fn duration_text(self, d: Option<Duration>) -> String {
        self.unit().text(d)
    }
}

impl Unit {
    /// `d` as written in this unit; `None` (no limit) as the unit writes it.
    pub(crate) fn text(self, d: Option<Duration>) -> String {
        let Some(d) = d else {
            return match self {
                Unit::Text | Unit::Seconds => "null".into(),
                Unit::Millis => "0".into(),
                Unit::TimeSpan => "Infinite".into(),
            };
        };
        match self {
            Unit::Text => GoDuration::from_std(d).to_string(),
            Unit::Seconds => {
                let text = format!("{}", d.as_secs_f64());
                if text.contains('.') {
                    text
                } else {
                    format!("{text}.0")
                }
            }
            Unit::Millis => d.as_millis().to_string(),
            Unit::TimeSpan => timespan_text(d),
        }
    }
}

impl fmt::Display for Vocabulary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `d` as a .NET `TimeSpan` string, `hh:mm:ss[.fffffff]` (`d.hh:mm:ss` past a day).
fn timespan_text(d: Duration) -> String {
    let total = d.as_secs();
    let (days, h, m, s) = (
        total / 86_400,
        total / 3600 % 24,
        total / 60 % 60,
        total % 60,
    );
    let mut text = if days > 0 {
        format!("{days}.{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    };
    let ticks = d.subsec_nanos() / 100;
    if ticks > 0 {
        let fraction = format!("{ticks:07}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text
}

/// Parses a .NET `TimeSpan` in its invariant form `[-][d.]hh:mm:ss[.fffffff]`; `None` when
/// the text is not one. A negative value is returned as `Err(())` (only
/// `Timeout.InfiniteTimeSpan`, `-00:00:00.001`, is allowed, and the caller checks it).
pub(crate) fn parse_timespan(text: &str) -> Option<Result<Duration, ()>> {
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let first_colon = text.find(':')?;
    let (days, clock) = match text[..first_colon].split_once('.') {
        Some((d, _)) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => {
            (d.parse::<u64>().ok()?, &text[d.len() + 1..])
        }
        Some(_) => return None,
        None => (0, text),
    };
    let mut parts = clock.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (s, fraction) = s.split_once('.').unwrap_or((s, ""));
    let number = |t: &str, max: u64| {
        (!t.is_empty() && t.len() <= 2 && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse::<u64>().ok())
            .flatten()
            .filter(|n| *n <= max)
    };
    let (h, m, s) = (number(h, 23)?, number(m, 59)?, number(s, 59)?);
    if fraction.len() > 7 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<7}").parse::<u32>().ok()? * 100
    };
    let secs = days.checked_mul(86_400)? + h * 3600 + m * 60 + s;
    let d = Duration::new(secs, nanos);
    Some(if negative { Err(()) } else { Ok(d) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_keys_are_unique_per_library() {
        for v in Vocabulary::ALL {
            assert_eq!(Vocabulary::from_name(v.as_str()), Some(v));
            let mut keys: Vec<&str> = v.keys().iter().map(|(k, _)| *k).collect();
            keys.sort_unstable();
            let before = keys.len();
            keys.dedup();
            assert_eq!(keys.len(), before, "{v}");
            let bound = v.keys().iter().any(|(_, f)| *f == Field::MaxInFlight);
            assert!(bound || v.how_to_bound(1).is_some(), "{v}");
        }
    }

    #[test]
    fn timespans_read_and_write() {
        let ok = |t: &str| parse_timespan(t).unwrap().unwrap();
        assert_eq!(ok("00:01:00"), Duration::from_secs(60));
        assert_eq!(ok("1.02:03:04"), Duration::from_secs(86_400 + 7384));
        assert_eq!(ok("00:00:02.5"), Duration::from_millis(2500));
        assert_eq!(parse_timespan("-00:00:00.001"), Some(Err(())));
        for bad in [
            "60",
            "1:2",
            "00:60:00",
            "00:00:00.12345678",
            "a:b:c",
            "24:00:00",
        ] {
            assert_eq!(parse_timespan(bad), None, "{bad}");
        }
        assert_eq!(timespan_text(Duration::from_secs(60)), "00:01:00");
        assert_eq!(timespan_text(Duration::from_millis(2500)), "00:00:02.5");
        assert_eq!(timespan_text(Duration::from_secs(90_061)), "1.01:01:01");
    }

    #[test]
    fn durations_are_written_in_each_unit() {
        let d = Some(Duration::from_millis(27_500));
        assert_eq!(Vocabulary::OkHttp.duration_text(d), "27.5s");
        assert_eq!(Vocabulary::Httpx.duration_text(d), "27.5");
        assert_eq!(
            Vocabulary::Httpx.duration_text(Some(Duration::from_secs(2))),
            "2.0"
        );
        assert_eq!(Vocabulary::Undici.duration_text(d), "27500");
        assert_eq!(Vocabulary::DotNet.duration_text(d), "00:00:27.5");
        assert_eq!(Vocabulary::DotNet.duration_text(None), "Infinite");
    }
}
