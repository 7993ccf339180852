//! Reading one value of a client or server settings file in its library's types and units,
//! reporting what is wrong with it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::vocabulary::{Kind, Unit, Vocabulary, parse_timespan};
use crate::diag::{Code, Finding, Location};
use crate::istio::duration;
use crate::istio::schema::suggest;
use crate::istio::yaml::{Node, Value};

/// A library whose settings a [`Reader`] reads: its name, and the unit its durations take.
pub(super) trait Library: Copy + fmt::Display {
    /// The unit of its durations.
    fn unit(self) -> Unit;
    /// Whether its durations are Go's own (`time.Duration`), so the help names Go's form.
    fn go_durations(self) -> bool;
}

impl Library for Vocabulary {
    fn unit(self) -> Unit {
        Vocabulary::unit(self)
    }

    fn go_durations(self) -> bool {
        matches!(self, Vocabulary::Reqwest | Vocabulary::Go)
    }
}

/// Reads one value, reporting what is wrong with it.
pub(super) struct Reader<'a, L: Library = Vocabulary> {
    findings: &'a mut Vec<Finding>,
    file: &'a Arc<str>,
    key: &'a str,
    pub(super) node: &'a Node,
    library: L,
}

const GO_DURATION_HELP: &str = "write a Go duration such as `30s`, `1m30s` or `250ms`";

impl<'a, L: Library> Reader<'a, L> {
    pub(super) fn new(
        findings: &'a mut Vec<Finding>,
        file: &'a Arc<str>,
        key: &'a str,
        node: &'a Node,
        library: L,
    ) -> Self {
        Self {
            findings,
            file,
            key,
            node,
            library,
        }
    }

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
    pub(super) fn out_of_range(&mut self, range: &str) -> bool {
        let message = format!("`{}` is out of range: {range}", self.key);
        self.report(Code::OutOfRange, message, "");
        false
    }

    /// One of `names`; an unknown one is reported with the closest name.
    pub(super) fn name<'n>(&mut self, names: &[&'n str]) -> Option<&'n str> {
        let text = self.node.as_str();
        if let Some(name) = names.iter().find(|n| Some(**n) == text) {
            return Some(name);
        }
        let help = match text.and_then(|t| suggest(t, names.iter().copied())) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!("write one of: {}", names.join(", ")),
        };
        let shown = text.map_or_else(|| self.node.value.kind().to_owned(), |t| format!("`{t}`"));
        let message = format!("unknown value {shown} for `{}`", self.key);
        self.report(Code::InvalidEnum, message, &help);
        None
    }

    pub(super) fn bool(&mut self) -> Option<bool> {
        match self.node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.wrong_type("a boolean", "write `true` or `false`");
                None
            }
        }
    }

    pub(super) fn int(&mut self) -> Option<i64> {
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
    pub(super) fn count(&mut self) -> Option<usize> {
        let n = self.int()?;
        match usize::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => {
                self.out_of_range("0 or more");
                None
            }
        }
    }

    /// A count where `null` (and Node's `.inf`, `Infinity`) is "no limit": `Some(None)`.
    pub(super) fn limit(&mut self) -> Option<Option<usize>> {
        match &self.node.value {
            Value::Null => Some(None),
            Value::Float(f) if f.is_infinite() && *f > 0.0 => Some(None),
            Value::Str(s) if s == "Infinity" => Some(None),
            _ => self.count().map(Some),
        }
    }

    /// A bound on requests in flight: at least 1, `null` for none, and 0 for none where
    /// `zero_is_unlimited`.
    pub(super) fn bound(&mut self, zero_is_unlimited: bool) -> Option<Option<usize>> {
        match self.limit()? {
            Some(0) if zero_is_unlimited => Some(None),
            Some(0) => {
                let range = if zero_is_unlimited {
                    "0 or more"
                } else {
                    "at least 1, or null for unbounded"
                };
                self.out_of_range(range);
                None
            }
            n => Some(n),
        }
    }

    /// Whether the value is a number below 0.
    pub(super) fn is_negative(&self) -> bool {
        match self.node.value {
            Value::Int(n) => n < 0,
            Value::Float(f) => f < 0.0,
            _ => false,
        }
    }

    /// Whether the value is `null` (for the readers that take it as "no limit").
    pub(super) fn is_null(&self) -> bool {
        self.node.value == Value::Null
    }

    /// A Go duration in nanoseconds, sign kept.
    pub(super) fn signed_duration(&mut self) -> Option<i64> {
        let help = self.text_help();
        let Some(text) = self.node.as_str() else {
            self.wrong_type("a duration", help);
            return None;
        };
        match duration::parse(text) {
            Ok(d) => Some(d.as_nanos()),
            Err(e) => {
                let message = format!("`{}`: {e}", self.key);
                self.report(Code::InvalidDuration, message, help);
                None
            }
        }
    }

    /// How to write a duration with its unit: Go's form for Go and reqwest, and for the Java
    /// libraries, which take a count and a `TimeUnit` (or a `java.time.Duration`).
    fn text_help(&self) -> &'static str {
        if self.library.go_durations() {
            GO_DURATION_HELP
        } else {
            "write a duration with its unit, such as `5m`, `30s` or `250ms`"
        }
    }

    /// A non-negative duration in the vocabulary's unit, 0 read as 0; `null` is "no limit".
    pub(super) fn duration(&mut self) -> Option<Option<Duration>> {
        if self.node.value == Value::Null {
            return Some(None);
        }
        match self.library.unit() {
            Unit::Text => {
                let nanos = self.signed_duration()?;
                match u64::try_from(nanos) {
                    Ok(n) => Some(Some(Duration::from_nanos(n))),
                    Err(_) => {
                        self.out_of_range("a duration of 0 or more (0 or null: no limit)");
                        None
                    }
                }
            }
            Unit::Seconds => self.number(1.0, "seconds").map(Some),
            Unit::Millis => self.number(1000.0, "milliseconds").map(Some),
            Unit::TimeSpan => self.timespan(),
        }
    }

    /// [`duration`](Self::duration), where in Go's form and in milliseconds 0 is "no limit"
    /// too.
    pub(super) fn duration_or_none(&mut self) -> Option<Option<Duration>> {
        let zero_is_none = matches!(self.library.unit(), Unit::Text | Unit::Millis);
        self.duration()
            .map(|d| d.filter(|d| !(zero_is_none && d.is_zero())))
    }

    /// A non-negative number of `1/per_second` seconds (seconds: 1, milliseconds: 1000). A
    /// duration written with a unit is a unit error whose help gives the number to write.
    fn number(&mut self, per_second: f64, unit: &str) -> Option<Duration> {
        let n = match self.node.value {
            Value::Int(n) => n as f64,
            Value::Float(f) if f.is_finite() => f,
            _ => {
                let library = self.library;
                let example = if per_second == 1.0 { "5.0" } else { "4000" };
                let converted = self
                    .node
                    .as_str()
                    .and_then(|t| duration::parse(t).ok())
                    .and_then(|d| u64::try_from(d.as_nanos()).ok())
                    .map(|nanos| library.unit().text(Some(Duration::from_nanos(nanos))));
                let help = match converted {
                    Some(n) => format!("{library} takes {unit} as a number: write `{n}`"),
                    None => format!("{library} takes {unit} as a number, e.g. `{example}`"),
                };
                self.wrong_type(&format!("a number of {unit}"), &help);
                return None;
            }
        };
        if n < 0.0 {
            self.out_of_range(&format!("0 or more {unit}"));
            return None;
        }
        // To the microsecond, the finest a plan holds: `0.3` is not read as 0.2999... s.
        let micros = (n / per_second * 1e6).round();
        if micros >= u64::MAX as f64 {
            self.out_of_range(&format!("a number of {unit} that fits a duration"));
            return None;
        }
        Some(Duration::from_micros(micros as u64))
    }

    /// A .NET `TimeSpan`; `Infinite` (`Timeout.InfiniteTimeSpan`, `-00:00:00.001`) is "no
    /// limit".
    fn timespan(&mut self) -> Option<Option<Duration>> {
        const HELP: &str =
            "write a TimeSpan such as `00:01:30` (hh:mm:ss, `d.hh:mm:ss` past a day) or `Infinite`";
        let Some(text) = self.node.as_str() else {
            self.wrong_type("a TimeSpan", HELP);
            return None;
        };
        if text.eq_ignore_ascii_case("infinite") || text == "-00:00:00.001" {
            return Some(None);
        }
        match parse_timespan(text) {
            Some(Ok(d)) => Some(Some(d)),
            Some(Err(())) => {
                self.out_of_range("0 or more, or `Infinite`");
                None
            }
            None => {
                let message = format!("`{}`: `{text}` is not a TimeSpan", self.key);
                self.report(Code::InvalidDuration, message, HELP);
                None
            }
        }
    }

    /// A value no check compares: its type is still checked.
    pub(super) fn other(&mut self, kind: Kind) {
        match kind {
            Kind::Bool => {
                self.bool();
            }
            Kind::Count => {
                self.count();
            }
            Kind::Duration => {
                self.duration_or_none();
            }
            Kind::PositiveDuration => {
                if self.duration() == Some(Some(Duration::ZERO)) {
                    self.thrown_on_zero();
                }
            }
        }
    }

    /// Reports a 0 the library throws on as the client is built.
    pub(super) fn thrown_on_zero(&mut self) {
        let range = format!(
            "more than 0 ({} throws on 0 as the client is built)",
            self.library
        );
        self.out_of_range(&range);
    }
}

impl Reader<'_, Vocabulary> {
    /// A list of protocol names; whether one lets the client send HTTP/2 to the sidecar.
    pub(super) fn protocols(&mut self) -> Option<bool> {
        let names = self.library.protocol_names();
        let help = format!("write a list of {}", names.join(", "));
        let Value::Seq(items) = &self.node.value else {
            self.wrong_type("a list", &format!("{help}, e.g. `[{}]`", names[0]));
            return None;
        };
        let mut known = Vec::new();
        let mut bad = Vec::new();
        for item in items {
            match item.as_str() {
                Some(p) if names.iter().any(|n| n.eq_ignore_ascii_case(p)) => known.push(p),
                _ => bad.push(item),
            }
        }
        if bad.is_empty()
            && let Some(range) = self.library.refused_protocols(&known)
        {
            self.out_of_range(range);
            return None;
        }
        let http2 = self.library.is_cleartext_http2(&known);
        for item in &bad {
            let shown = item
                .as_str()
                .map_or_else(|| item.value.kind().to_owned(), |s| format!("`{s}`"));
            let close = item
                .as_str()
                .and_then(|s| suggest(s, names.iter().copied()));
            let help = close.map_or_else(|| help.clone(), |c| format!("did you mean `{c}`?"));
            let finding = Finding::new(
                Code::InvalidEnum,
                Location::new(self.file, item.pos),
                format!("unknown protocol {shown} in `{}`", self.key),
            )
            .help(help);
            self.findings.push(finding);
        }
        bad.is_empty().then_some(http2)
    }

    /// .NET's `DefaultRequestVersion` (`"1.1"`, `"2.0"`, ...); whether it is HTTP/2 or later.
    pub(super) fn http_version(&mut self) -> Option<bool> {
        let version = match &self.node.value {
            Value::Str(s) => s.parse::<f64>().ok(),
            Value::Float(f) => Some(*f),
            Value::Int(n) => Some(*n as f64),
            _ => None,
        };
        match version {
            Some(v) if [1.0, 1.1, 2.0, 3.0].contains(&v) => Some(v >= 2.0),
            _ => {
                let message = format!(
                    "`{}` must be an HTTP version: \"1.0\", \"1.1\", \"2.0\" or \"3.0\"",
                    self.key
                );
                self.report(Code::InvalidEnum, message, "write `\"1.1\"`");
                None
            }
        }
    }
}
