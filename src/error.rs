//! The library's error type.

use std::path::PathBuf;

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

    /// The `help:` line for the user, when there is one.
    pub fn help(&self) -> Option<&str> {
        match self {
            Error::Input { help, .. } => help.as_deref(),
            Error::NoMatchingRule { .. } => {
                Some("check `spec.host` in the rules, `--host` and `--namespace`")
            }
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
