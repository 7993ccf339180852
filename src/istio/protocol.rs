//! The protocol of a service port, as Istio derives it (`pkg/config/protocol`): from a
//! Kubernetes Service port's `appProtocol`, else its name's prefix (`pkg/config/kube`
//! `ConvertProtocol`), or from a ServiceEntry port's `protocol` (`convertPort`). It decides
//! what the sidecar speaks to the upstream ([`EffectivePolicy::h2_upgrade`]).
//!
//! [`EffectivePolicy::h2_upgrade`]: crate::istio::resolve::EffectivePolicy::h2_upgrade

use std::fmt;
use std::str::FromStr;

/// A port's protocol, one of Istio's `protocol.Instance` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// `HTTP`: HTTP/1.1.
    Http,
    /// `HTTP2`.
    Http2,
    /// `GRPC`.
    Grpc,
    /// `GRPC-Web`.
    GrpcWeb,
    /// `HTTP_PROXY`: a generic outbound proxy port.
    HttpProxy,
    /// `HTTPS`: TLS the application originates; the sidecar proxies it as TCP.
    Https,
    /// `TCP`.
    Tcp,
    /// `TLS`.
    Tls,
    /// `UDP`.
    Udp,
    /// `Mongo`.
    Mongo,
    /// `Redis`.
    Redis,
    /// `MySQL`.
    MySql,
    /// `UnsupportedProtocol`: none declared, so the sidecar sniffs it (an unnamed port, or a
    /// name without a known prefix).
    Unsupported,
}

/// The ports Istio takes as TCP when nothing declares their protocol: protocol sniffing
/// breaks the servers that speak first on them (SMTP, DNS, MySQL, MongoDB).
const WELL_KNOWN_TCP_PORTS: [u32; 4] = [25, 53, 3306, 27017];

/// Istio's protocol names (`protocol.Parse`), lowercase.
const NAMES: [(&str, Protocol); 12] = [
    ("tcp", Protocol::Tcp),
    ("udp", Protocol::Udp),
    ("grpc", Protocol::Grpc),
    ("grpc-web", Protocol::GrpcWeb),
    ("http", Protocol::Http),
    ("http_proxy", Protocol::HttpProxy),
    ("http2", Protocol::Http2),
    ("https", Protocol::Https),
    ("tls", Protocol::Tls),
    ("mongo", Protocol::Mongo),
    ("redis", Protocol::Redis),
    ("mysql", Protocol::MySql),
];

impl Protocol {
    /// Istio's `protocol.Parse`: a protocol name, case ignored; anything else is
    /// [`Protocol::Unsupported`].
    pub(crate) fn parse(name: &str) -> Self {
        NAMES
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map_or(Protocol::Unsupported, |(_, protocol)| *protocol)
    }

    /// Istio's `kube.ConvertProtocol` for a Kubernetes Service port: UDP when its `protocol`
    /// is `UDP`; else its `appProtocol` when set (with Kubernetes' `kubernetes.io/h2c`,
    /// `kubernetes.io/ws` and `kubernetes.io/wss`), else its name, up to the first `-` (a
    /// `grpc-web` prefix kept whole); nothing known on a well-known TCP port is TCP.
    pub(crate) fn of_kube_port(
        number: u32,
        name: Option<&str>,
        app_protocol: Option<&str>,
        udp: bool,
    ) -> Self {
        if udp {
            return Protocol::Udp;
        }
        match app_protocol {
            Some("kubernetes.io/h2c") => return Protocol::Http2,
            Some("kubernetes.io/ws") => return Protocol::Http,
            Some("kubernetes.io/wss") => return Protocol::Https,
            _ => {}
        }
        let name = app_protocol.or(name).unwrap_or_default();
        let grpc_web = "grpc-web";
        if name
            .get(..grpc_web.len())
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(grpc_web))
        {
            return Protocol::GrpcWeb;
        }
        let prefix = name.split('-').next().unwrap_or_default();
        match Protocol::parse(prefix) {
            Protocol::Unsupported if WELL_KNOWN_TCP_PORTS.contains(&number) => Protocol::Tcp,
            protocol => protocol,
        }
    }

    /// Istio's `IsHTTP2`: the sidecar always speaks HTTP/2 to such a port's upstream.
    pub fn is_http2(self) -> bool {
        matches!(self, Protocol::Http2 | Protocol::Grpc | Protocol::GrpcWeb)
    }

    /// Istio's `IsHTTP`: the sidecar proxies the port as HTTP, with its HTTP limits.
    pub fn is_http(self) -> bool {
        self.is_http2() || matches!(self, Protocol::Http | Protocol::HttpProxy)
    }
}

/// Istio's name of a protocol, case ignored (`GRPC`, `http2`, `TLS`, ...), as a ServiceEntry
/// port's `protocol` says it.
///
/// ```
/// use sidecar_tuner::istio::protocol::Protocol;
///
/// assert_eq!("grpc".parse::<Protocol>(), Ok(Protocol::Grpc));
/// assert!("h2c".parse::<Protocol>().is_err());
/// ```
impl FromStr for Protocol {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match Protocol::parse(name) {
            Protocol::Unsupported if !name.eq_ignore_ascii_case("UnsupportedProtocol") => {
                let names: Vec<String> = NAMES.iter().map(|(_, p)| p.to_string()).collect();
                Err(format!(
                    "`{name}` is no protocol Istio knows; expected one of {}",
                    names.join(", ")
                ))
            }
            protocol => Ok(protocol),
        }
    }
}

impl fmt::Display for Protocol {
    /// Istio's name of the protocol.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Http => "HTTP",
            Protocol::Http2 => "HTTP2",
            Protocol::Grpc => "GRPC",
            Protocol::GrpcWeb => "GRPC-Web",
            Protocol::HttpProxy => "HTTP_PROXY",
            Protocol::Https => "HTTPS",
            Protocol::Tcp => "TCP",
            Protocol::Tls => "TLS",
            Protocol::Udp => "UDP",
            Protocol::Mongo => "Mongo",
            Protocol::Redis => "Redis",
            Protocol::MySql => "MySQL",
            Protocol::Unsupported => "UnsupportedProtocol",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::NAMES;
    use super::Protocol::{self, *};

    /// A Service port: its number, name, `appProtocol`, whether it is UDP, and the protocol
    /// Istio derives.
    type Port = (u32, &'static str, Option<&'static str>, bool, Protocol);

    /// pilot/pkg/serviceregistry/kube/conversion_test.go `TestConvertProtocol`, every case in
    /// lower and upper case as there: (port, name, appProtocol, UDP, protocol).
    #[test]
    fn a_kube_port_has_the_protocol_istio_converts() {
        let cases: [Port; 28] = [
            (8888, "", None, false, Unsupported),
            (25, "", None, false, Tcp),
            (53, "", None, false, Tcp),
            (3306, "", None, false, Tcp),
            (27017, "", None, false, Tcp),
            (8888, "http", None, false, Http),
            (8888, "http-test", None, false, Http),
            (8888, "http", None, true, Udp),
            (8888, "httptest", None, false, Unsupported),
            (25, "httptest", None, false, Tcp),
            (53, "httptest", None, false, Tcp),
            (3306, "httptest", None, false, Tcp),
            (27017, "httptest", None, false, Tcp),
            (8888, "https", None, false, Https),
            (8888, "https-test", None, false, Https),
            (8888, "http2", None, false, Http2),
            (8888, "http2-test", None, false, Http2),
            (8888, "grpc", None, false, Grpc),
            (8888, "grpc-test", None, false, Grpc),
            (8888, "grpc-web", None, false, GrpcWeb),
            (8888, "grpc-web-test", None, false, GrpcWeb),
            (8888, "mongo", None, false, Mongo),
            (8888, "mongo-test", None, false, Mongo),
            (8888, "redis", None, false, Redis),
            (8888, "redis-test", None, false, Redis),
            (8888, "mysql", None, false, MySql),
            (8888, "mysql-test", None, false, MySql),
            (8888, "tcp", Some("http"), false, Http),
        ];
        for (port, name, app, udp, want) in cases {
            for name in [name.to_lowercase(), name.to_uppercase()] {
                let got = Protocol::of_kube_port(port, Some(&name), app, udp);
                assert_eq!(got, want, "{port} {name:?} {app:?} udp={udp}");
            }
        }
    }

    /// pkg/config/kube/conversion_test.go `TestConvertProtocol`: (port, name, appProtocol, UDP,
    /// protocol), by the names of its cases.
    #[test]
    fn app_protocol_comes_before_the_name() {
        let cases: [(&str, Port); 9] = [
            ("resolves empty", (0, "", None, false, Unsupported)),
            ("resolves from protocol directly", (0, "", None, true, Udp)),
            (
                "resolves from port name",
                (0, "http-something", None, false, Http),
            ),
            (
                "prefers appProto over portName",
                (0, "http-something", Some("https"), false, Https),
            ),
            (
                "resolves from appProto",
                (0, "something-httpx", Some("https"), false, Https),
            ),
            ("resolves grpc-web", (0, "grpc-web-x", None, false, GrpcWeb)),
            (
                "makes sure grpc-web is not resolved incorrectly",
                (0, "grpcweb-x", None, false, Unsupported),
            ),
            (
                "resolves based on known ports",
                (3306, "random-name", None, false, Tcp),
            ),
            (
                "standard app protocol",
                (3306, "random-name", Some("kubernetes.io/h2c"), false, Http2),
            ),
        ];
        for (case, (port, name, app, udp, want)) in cases {
            assert_eq!(
                Protocol::of_kube_port(port, Some(name), app, udp),
                want,
                "{case}"
            );
        }
        // A port without a name: `ConvertProtocol` reads the empty string.
        assert_eq!(Protocol::of_kube_port(8080, None, None, false), Unsupported);
    }

    /// `protocol.Parse` (a ServiceEntry port's `protocol`, `convertPort`): case ignored,
    /// unknown names unsupported; `IsHTTP2` and `IsHTTP` as in pkg/config/protocol.
    #[test]
    fn a_protocol_name_parses_as_istio_reads_it() {
        assert_eq!(Protocol::parse("HTTP2"), Http2);
        assert_eq!(Protocol::parse("gRPC"), Grpc);
        assert_eq!(Protocol::parse("grpc-web"), GrpcWeb);
        assert_eq!(Protocol::parse("HTTP_PROXY"), HttpProxy);
        assert_eq!(Protocol::parse("TLS"), Tls);
        assert_eq!(Protocol::parse(""), Unsupported);
        assert_eq!(Protocol::parse("h2c"), Unsupported);
        let http2 = [Http2, Grpc, GrpcWeb];
        let http = [Http, Http2, HttpProxy, Grpc, GrpcWeb];
        for p in NAMES.iter().map(|(_, p)| *p).chain([Unsupported]) {
            assert_eq!(p.is_http2(), http2.contains(&p), "{p}");
            assert_eq!(p.is_http(), http.contains(&p), "{p}");
            assert_eq!(Protocol::parse(&p.to_string()), p, "{p}");
        }
    }
}
