//! The client settings a team runs today: a small YAML file with keys named after reqwest's
//! `ClientBuilder` or Go's `http.Transport`, durations in Go's style. A key left out takes the
//! named library's default, so a check compares what really runs.
//!
//! ```yaml
//! library: go                # or reqwest; else taken from the first key
//! MaxIdleConnsPerHost: 100
//! IdleConnTimeout: 90s
//! ```

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::diag::{Code, Finding, Location, Sources};
use crate::error::Error;
use crate::istio::duration;
use crate::istio::load::{LoadOptions, decode, open_input, read_input, unreadable};
use crate::istio::schema::suggest;
use crate::istio::yaml::{self, Node, Pos, Value};

/// Whose names the file uses, and so whose defaults apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Vocabulary {
    /// reqwest's `ClientBuilder` (`pool_max_idle_per_host`, `pool_idle_timeout`, ...).
    Reqwest,
    /// Go's `http.Transport` and `net.Dialer` (`MaxIdleConnsPerHost`, `IdleConnTimeout`, ...);
    /// defaults are those of `http.DefaultTransport`.
    Go,
}

impl Vocabulary {
    /// The value of the `library` key: `reqwest` or `go`.
    pub fn as_str(self) -> &'static str {
        match self {
            Vocabulary::Reqwest => "reqwest",
            Vocabulary::Go => "go",
        }
    }

    /// The key naming `field` in this vocabulary.
    pub fn key(self, field: Field) -> &'static str {
        self.keys()
            .iter()
            .find(|(_, f)| *f == field)
            .map_or("", |(key, _)| key)
    }

    fn keys(self) -> &'static [(&'static str, Field)] {
        match self {
            Vocabulary::Reqwest => REQWEST_KEYS,
            Vocabulary::Go => GO_KEYS,
        }
    }

    fn other(self) -> Self {
        match self {
            Vocabulary::Reqwest => Vocabulary::Go,
            Vocabulary::Go => Vocabulary::Reqwest,
        }
    }
}

impl fmt::Display for Vocabulary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A client setting, whatever a vocabulary calls it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// Idle connections kept per host.
    IdlePerHost,
    /// Idle connections kept across hosts (Go's `MaxIdleConns`).
    IdleTotal,
    /// The bound on requests in flight (Go: connections per host, one request each).
    MaxInFlight,
    /// HTTP/2 towards the sidecar.
    Http2,
    /// HTTP/1.1 only (reqwest).
    Http1Only,
    /// Keep-alive turned off (Go's `DisableKeepAlives`).
    KeepAliveDisabled,
    /// How long an idle pooled connection is kept.
    IdleTimeout,
    /// The connect timeout.
    ConnectTimeout,
    /// TCP keep-alive time.
    TcpKeepalive,
    /// The client's own retries of failed requests.
    Retries,
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
    ("ForceAttemptHTTP2", Field::Http2),
    ("DisableKeepAlives", Field::KeepAliveDisabled),
    ("IdleConnTimeout", Field::IdleTimeout),
    ("DialTimeout", Field::ConnectTimeout),
    ("KeepAlive", Field::TcpKeepalive),
    ("Retries", Field::Retries),
];

/// Go's `http.DefaultMaxIdleConnsPerHost`, used when `MaxIdleConnsPerHost` is 0 or unset.
const GO_DEFAULT_IDLE_PER_HOST: usize = 2;

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
    /// The bound on requests in flight; `None`: unbounded.
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

impl ClientSettings {
    /// The library's defaults, as a client that sets nothing runs.
    pub fn defaults(vocabulary: Vocabulary, file: &Arc<str>) -> Self {
        let (idle, http2, connect, keepalive) = match vocabulary {
            // reqwest 0.12/0.13: no idle limit, HTTP/1.1 on plain connections, no connect
            // timeout, keep-alive 15s.
            Vocabulary::Reqwest => (usize::MAX, false, None, Some(Duration::from_secs(15))),
            // http.DefaultTransport: 2 idle per host, ForceAttemptHTTP2, a dialer with a 30s
            // timeout and 30s keep-alive.
            Vocabulary::Go => (
                GO_DEFAULT_IDLE_PER_HOST,
                true,
                Some(Duration::from_secs(30)),
                Some(Duration::from_secs(30)),
            ),
        };
        Self {
            file: Arc::clone(file),
            vocabulary,
            idle_per_host: Setting::default(idle),
            max_in_flight: Setting::default(None),
            http2: Setting::default(http2),
            keep_alive: Setting::default(true),
            idle_timeout: Setting::default(Some(Duration::from_secs(90))),
            connect_timeout: Setting::default(connect),
            tcp_keepalive: Setting::default(keepalive),
            retries: Setting::default(0),
        }
    }

    /// Reads the settings from a YAML document's root; problems become findings (ST101 unknown
    /// key with a suggestion, ST102 wrong type, ST103 out of range, ST104 bad duration).
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
        let mut idle_total: Option<usize> = None;
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
                    findings.push(
                        Finding::new(
                            Code::InvalidEnum,
                            at(value.pos),
                            format!("unknown library {}", describe(value)),
                        )
                        .help("write `library: reqwest` or `library: go`"),
                    );
                }
                continue;
            }
            let Some(&(_, field)) = vocabulary.keys().iter().find(|(k, _)| *k == name) else {
                findings.push(unknown_key(
                    name,
                    key.pos,
                    vocabulary,
                    named.is_some(),
                    file,
                ));
                continue;
            };
            let mut read = Reader {
                findings: &mut findings,
                file,
                key: name,
                node: value,
            };
            // Findings about a setting point at its value, the part to change.
            let pos = Some(value.pos);
            match (vocabulary, field) {
                (_, Field::Http2) => set(&mut settings.http2, read.bool(), pos),
                (_, Field::Http1Only) => match read.bool() {
                    Some(true) => settings.http2 = Setting::file(false, pos),
                    Some(false) => {}
                    None => settings.http2.unreadable = true,
                },
                (_, Field::KeepAliveDisabled) => {
                    set(&mut settings.keep_alive, read.bool().map(|d| !d), pos);
                }
                (_, Field::Retries) => set(
                    &mut settings.retries,
                    read.count().and_then(|n| u32::try_from(n).ok()),
                    pos,
                ),
                (Vocabulary::Reqwest, Field::IdlePerHost) => {
                    // null: no limit, reqwest's default.
                    let n = if read.node.value == Value::Null {
                        Some(usize::MAX)
                    } else {
                        read.count()
                    };
                    if n == Some(0) {
                        settings.keep_alive = Setting::file(false, pos);
                    }
                    set(&mut settings.idle_per_host, n, pos);
                }
                (Vocabulary::Go, Field::IdlePerHost) => {
                    // 0 is Go's default of 2; a negative value keeps no idle connection.
                    let n = read.int().map(|n| match n {
                        0 => GO_DEFAULT_IDLE_PER_HOST,
                        n => usize::try_from(n).unwrap_or(0),
                    });
                    set(&mut settings.idle_per_host, n, pos);
                }
                (_, Field::IdleTotal) => {
                    idle_total = read.count();
                    settings.idle_per_host.unreadable |= idle_total.is_none();
                }
                (Vocabulary::Reqwest, Field::MaxInFlight) => {
                    if read.node.value != Value::Null {
                        let bound = read.count().filter(|n| {
                            *n > 0 || read.out_of_range("at least 1, or null for unbounded")
                        });
                        set(&mut settings.max_in_flight, bound.map(Some), pos);
                    } else {
                        settings.max_in_flight = Setting::file(None, pos);
                    }
                }
                (Vocabulary::Go, Field::MaxInFlight) => {
                    let bound = read.count().map(|n| (n > 0).then_some(n));
                    set(&mut settings.max_in_flight, bound, pos);
                }
                (_, Field::IdleTimeout) => {
                    set(&mut settings.idle_timeout, read.duration_or_none(), pos);
                }
                (_, Field::ConnectTimeout) => {
                    set(&mut settings.connect_timeout, read.duration_or_none(), pos);
                }
                (Vocabulary::Reqwest, Field::TcpKeepalive) => {
                    set(&mut settings.tcp_keepalive, read.duration_or_none(), pos);
                }
                (Vocabulary::Go, Field::TcpKeepalive) => {
                    // net.Dialer: 0 is the default of 15s, a negative value turns it off.
                    let keepalive = read.signed_duration().map(|d| match d {
                        d if d < 0 => None,
                        0 => Some(Duration::from_secs(15)),
                        d => Some(Duration::from_nanos(d.unsigned_abs())),
                    });
                    set(&mut settings.tcp_keepalive, keepalive, pos);
                }
            }
        }
        if let Some(total) = idle_total.filter(|t| *t > 0) {
            settings.idle_per_host.value = settings.idle_per_host.value.min(total);
        }
        (settings, findings)
    }
}

/// The file's value where it could be read; else the setting is marked unreadable.
fn set<T>(setting: &mut Setting<T>, value: Option<T>, pos: Option<Pos>) {
    match value {
        Some(value) => *setting = Setting::file(value, pos),
        None => setting.unreadable = true,
    }
}

/// The vocabulary the `library` key names, else that of the first known key, else reqwest's;
/// with the vocabulary the `library` key named, if any.
fn vocabulary_of(entries: &[(Node, Node)]) -> (Vocabulary, Option<Vocabulary>) {
    let named = entries
        .iter()
        .find(|(k, _)| k.as_str() == Some("library"))
        .and_then(|(_, v)| match v.as_str()? {
            "reqwest" => Some(Vocabulary::Reqwest),
            "go" => Some(Vocabulary::Go),
            _ => None,
        });
    let first = || {
        entries.iter().find_map(|(k, _)| {
            let k = k.as_str()?;
            [Vocabulary::Reqwest, Vocabulary::Go]
                .into_iter()
                .find(|v| v.keys().iter().any(|(key, _)| *key == k))
        })
    };
    (named.or_else(first).unwrap_or(Vocabulary::Reqwest), named)
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
    let other = vocabulary.other();
    let why = if named {
        "the `library` key"
    } else {
        "its first key"
    };
    if let Some(&(_, field)) = other.keys().iter().find(|(k, _)| *k == name) {
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
    match suggest(name, known) {
        Some(close) => finding.help(format!("did you mean `{close}`?")),
        None => finding.help(format!(
            "{vocabulary}'s keys: {}",
            vocabulary
                .keys()
                .iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn describe(node: &Node) -> String {
    match &node.value {
        Value::Str(s) => format!("`{s}`"),
        other => other.kind().to_owned(),
    }
}

/// Reads one value, reporting what is wrong with it.
struct Reader<'a> {
    findings: &'a mut Vec<Finding>,
    file: &'a Arc<str>,
    key: &'a str,
    node: &'a Node,
}

impl Reader<'_> {
    fn report(&mut self, code: Code, message: String, help: &str) {
        let finding = Finding::new(code, Location::new(self.file, self.node.pos), message);
        self.findings.push(if help.is_empty() {
            finding
        } else {
            finding.help(help)
        });
    }

    fn wrong_type(&mut self, expected: &str, help: &str) {
        let message = format!(
            "`{}` must be {expected}, found {}",
            self.key,
            self.node.value.kind()
        );
        self.report(Code::WrongType, message, help);
    }

    /// Reports an out-of-range value; always `false`, for use in filters.
    fn out_of_range(&mut self, range: &str) -> bool {
        let message = format!("`{}` is out of range: {range}", self.key);
        self.report(Code::OutOfRange, message, "");
        false
    }

    fn bool(&mut self) -> Option<bool> {
        match self.node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.wrong_type("a boolean", "write `true` or `false`");
                None
            }
        }
    }

    fn int(&mut self) -> Option<i64> {
        match self.node.value {
            Value::Int(n) => Some(n),
            Value::BigInt(_) => {
                self.out_of_range("a 64-bit integer");
                None
            }
            _ => {
                self.wrong_type("an integer", "write a whole number, e.g. `10`");
                None
            }
        }
    }

    /// A non-negative integer.
    fn count(&mut self) -> Option<usize> {
        let n = self.int()?;
        match usize::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => {
                self.out_of_range("0 or more");
                None
            }
        }
    }

    /// A Go duration in nanoseconds, sign kept.
    fn signed_duration(&mut self) -> Option<i64> {
        let Some(text) = self.node.as_str() else {
            self.wrong_type(
                "a duration",
                "write a Go duration such as `30s`, `1m30s` or `250ms`",
            );
            return None;
        };
        match duration::parse(text) {
            Ok(d) => Some(d.as_nanos()),
            Err(e) => {
                let message = format!("`{}`: {e}", self.key);
                self.report(
                    Code::InvalidDuration,
                    message,
                    "write a Go duration such as `30s`, `1m30s` or `250ms`",
                );
                None
            }
        }
    }

    /// A non-negative duration; `null` or zero is "no limit".
    fn duration_or_none(&mut self) -> Option<Option<Duration>> {
        if self.node.value == Value::Null {
            return Some(None);
        }
        let nanos = self.signed_duration()?;
        match u64::try_from(nanos) {
            Ok(0) => Some(None),
            Ok(n) => Some(Some(Duration::from_nanos(n))),
            Err(_) => {
                self.out_of_range("a duration of 0 or more (0 or null: no limit)");
                None
            }
        }
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
    let name: Arc<str> = Arc::from(path.display().to_string());
    let bytes = open_input(path, &name, options)?.and_then(|f| read_input(f, &name, options));
    Ok(match bytes {
        Ok(bytes) => client_file_from_bytes(&bytes, &name, options),
        Err(finding) => unreadable_file(finding),
    })
}

/// Reads client settings from bytes.
pub fn client_file_from_bytes(bytes: &[u8], name: &Arc<str>, options: &LoadOptions) -> ClientFile {
    let text = match decode(bytes, name, options) {
        Ok(text) => text,
        Err(finding) => return unreadable_file(finding),
    };
    let mut sources = Sources::default();
    sources.insert(name, Arc::from(text));
    let cap = usize::try_from(options.max_input_bytes).unwrap_or(usize::MAX);
    let documents = match yaml::parse_stream(text, cap) {
        Ok(documents) => documents,
        Err(e) => {
            let finding = unreadable(name, e.pos.unwrap_or_default(), e.message, e.help);
            return ClientFile {
                sources,
                ..unreadable_file(finding)
            };
        }
    };
    let mut roots = documents.into_iter().filter_map(|d| d.root);
    let Some(root) = roots.next() else {
        let finding = unreadable(
            name,
            Pos::default(),
            "empty client settings: no YAML document".into(),
            Some("write the client's settings, e.g. `pool_max_idle_per_host: 10`".into()),
        );
        return ClientFile {
            sources,
            ..unreadable_file(finding)
        };
    };
    let (settings, mut findings) = ClientSettings::from_node(&root, name);
    if let Some(extra) = roots.next() {
        findings.push(
            Finding::new(
                Code::WrongType,
                Location::new(name, extra.pos),
                "client settings are one YAML document; this is a second".to_owned(),
            )
            .help("keep one document per client settings file"),
        );
    }
    ClientFile {
        settings: Some(settings),
        findings,
        sources,
    }
}

fn unreadable_file(finding: Finding) -> ClientFile {
    ClientFile {
        findings: vec![finding],
        ..ClientFile::default()
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

    #[test]
    fn absent_keys_take_the_library_defaults() {
        let (go, findings) = parse("library: go\n");
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(go.vocabulary, Vocabulary::Go);
        assert_eq!(go.idle_per_host, Setting::default(2));
        assert_eq!(go.idle_timeout.value, Some(Duration::from_secs(90)));
        assert!(go.http2.value);
        assert_eq!(go.max_in_flight.value, None);
        let (reqwest, _) = parse("retries: 0\n");
        assert_eq!(reqwest.vocabulary, Vocabulary::Reqwest);
        assert_eq!(reqwest.idle_per_host.value, usize::MAX);
        assert!(!reqwest.http2.value);
        assert_eq!(reqwest.connect_timeout.value, None);
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
    }

    #[test]
    fn bad_keys_and_values_are_findings() {
        let (_, findings) = parse(
            "library: reqwest\npool_max_idle_per_hots: 3\nMaxConnsPerHost: 3\nhttp2: yes please\npool_idle_timeout: 90\nmax_in_flight: 0\nconnect_timeout: 5 seconds\n",
        );
        let text: Vec<String> = findings
            .iter()
            .map(|f| {
                format!(
                    "{} {} {}",
                    f.code,
                    f.location,
                    f.help.as_deref().unwrap_or("")
                )
            })
            .collect();
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
}
