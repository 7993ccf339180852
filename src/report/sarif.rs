//! SARIF 2.1.0, the format code-scanning services read: one rule per code with its help, one
//! result per finding with its physical location.

use std::borrow::Cow;
use std::io::{self, Write};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Serialize, Serializer};
use serde_json::ser::Formatter;
use serde_json::{Value, json};

use super::write_in_parts;
use crate::diag::{Code, Finding, Location, Severity, Sources};

/// Writes findings as a SARIF 2.1.0 log with one run.
pub fn findings_sarif(
    out: &mut impl Write,
    findings: &[Finding],
    sources: &Sources,
) -> io::Result<()> {
    let rules: Vec<Value> = Code::ALL
        .iter()
        .map(|code| {
            let info = code.info();
            json!({
                "id": info.id,
                "name": info.name,
                "shortDescription": {"text": info.summary},
                "fullDescription": {"text": info.summary},
                "help": {"text": info.explanation},
                "defaultConfiguration": {"level": level(info.severity)},
            })
        })
        .collect();
    // The keys in the order serde_json's sorted map gives.
    #[derive(Serialize)]
    struct Log {
        #[serde(rename = "$schema")]
        schema: &'static str,
        runs: [Run; 1],
        version: &'static str,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Run {
        column_kind: &'static str,
        /// Left empty: the results are rendered apart, on all cores, and written in its place.
        results: [(); 0],
        tool: Value,
    }
    let log = Log {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        runs: [Run {
            column_kind: "unicodeCodePoints",
            results: [],
            tool: json!({"driver": {
                "name": "sidecar-tuner",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }}),
        }],
        version: "2.1.0",
    };
    let skeleton = serde_json::to_vec_pretty(&log)?;
    // The one unescaped occurrence: inside strings, quotes are escaped.
    let at = find(&skeleton, RESULTS_KEY)
        .ok_or_else(|| io::Error::other("the SARIF log has no results key"))?
        + RESULTS_KEY.len();
    out.write_all(&skeleton[..at - 2])?;
    write_results(out, findings, sources)?;
    out.write_all(&skeleton[at..])?;
    writeln!(out)
}

const RESULTS_KEY: &[u8] = br#""results": []"#;

/// The depth of a result in the pretty-printed log (`runs[0].results[i]`), two spaces a level.
const RESULT_DEPTH: usize = 4;

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The results array as serde_json pretty-prints it in its place in the log, its results
/// rendered in parts on all cores (a 10,000-rule mesh can draw 40,000).
fn write_results(out: &mut impl Write, findings: &[Finding], sources: &Sources) -> io::Result<()> {
    if findings.is_empty() {
        return out.write_all(b"[]");
    }
    out.write_all(b"[")?;
    write_in_parts(out, findings, |part, text| {
        for f in part {
            // A comma before every result but the first.
            let first = std::ptr::eq(f, &findings[0]);
            let mut formatter = Pretty::at(RESULT_DEPTH);
            formatter.begin_array_value(text, first)?;
            let mut serializer = serde_json::Serializer::with_formatter(&mut *text, formatter);
            result(f, sources).serialize(&mut serializer)?;
        }
        Ok(())
    })?;
    Pretty::at(RESULT_DEPTH).end_array(out)
}

/// serde_json's `PrettyFormatter` (two spaces a level) starting `depth` levels in, so that a
/// result is written straight in its place in the log: the same bytes as pretty-printing it
/// alone and indenting each of its lines, without the second pass over them.
struct Pretty {
    depth: usize,
    has_value: bool,
}

impl Pretty {
    fn at(depth: usize) -> Self {
        Self {
            depth,
            has_value: true,
        }
    }

    /// An array or object opens: one level deeper.
    fn open(&mut self, out: &mut (impl Write + ?Sized), bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        out.write_all(bracket)
    }

    /// It closes: on a line of its own unless it was empty.
    fn close(&mut self, out: &mut (impl Write + ?Sized), bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.line(out, b"\n")?;
        }
        out.write_all(bracket)
    }

    /// An item (an array's value, an object's key) starts a line, after a comma unless first.
    fn item(&self, out: &mut (impl Write + ?Sized), first: bool) -> io::Result<()> {
        self.line(out, if first { b"\n" } else { b",\n" })
    }

    /// A line break (after `prefix`) and the indentation of the current depth.
    fn line(&self, out: &mut (impl Write + ?Sized), prefix: &[u8]) -> io::Result<()> {
        const SPACES: &[u8] = &[b' '; 32];
        out.write_all(prefix)?;
        let mut spaces = 2 * self.depth;
        while spaces > 0 {
            let n = spaces.min(SPACES.len());
            out.write_all(&SPACES[..n])?;
            spaces -= n;
        }
        Ok(())
    }
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.open(out, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.close(out, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, out: &mut W, first: bool) -> io::Result<()> {
        self.item(out, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _out: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.open(out, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.close(out, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, out: &mut W, first: bool) -> io::Result<()> {
        self.item(out, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        out.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _out: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// One result; fields in sorted order, as the keys of a `serde_json::Value` print.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    level: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    locations: Option<[LocationOf<'a>; 1]>,
    message: Text<MessageText<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<RelatedLocation<'a>>,
    rule_id: &'static str,
    rule_index: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LocationOf<'a> {
    physical_location: PhysicalLocation<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RelatedLocation<'a> {
    id: usize,
    message: Text<&'a str>,
    physical_location: PhysicalLocation<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation<'a> {
    artifact_location: Uri<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region<'a>>,
}

#[derive(Serialize)]
struct Uri<'a> {
    uri: Cow<'a, str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    snippet: Option<Text<&'a str>>,
    start_column: u32,
    start_line: u32,
}

#[derive(Serialize)]
struct Text<T> {
    text: T,
}

/// A finding's message and its help, as one string: `message\nhelp: help`, written into the
/// log without being put together first.
struct MessageText<'a>(&'a Finding);

impl Serialize for MessageText<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Finding { message, help, .. } = self.0;
        match help {
            Some(help) => serializer.collect_str(&format_args!("{message}\nhelp: {help}")),
            None => serializer.serialize_str(message),
        }
    }
}

fn result<'a>(f: &'a Finding, sources: &'a Sources) -> SarifResult<'a> {
    SarifResult {
        level: level(f.severity),
        locations: physical_location(&f.location, sources)
            .map(|physical_location| [LocationOf { physical_location }]),
        message: Text {
            text: MessageText(f),
        },
        related_locations: f
            .labels
            .iter()
            .enumerate()
            .filter_map(|(id, label)| {
                Some(RelatedLocation {
                    id,
                    message: Text {
                        text: &label.message,
                    },
                    physical_location: physical_location(&label.location, sources)?,
                })
            })
            .collect(),
        rule_id: f.code.as_str(),
        rule_index: Code::ALL.iter().position(|c| *c == f.code),
    }
}

/// The file and region; none for a place that is not a file (a command-line flag, stdin).
fn physical_location<'a>(
    location: &'a Location,
    sources: &'a Sources,
) -> Option<PhysicalLocation<'a>> {
    let file = &*location.file;
    if file == "-" || file.starts_with("--") || file.starts_with('<') {
        return None;
    }
    Some(PhysicalLocation {
        artifact_location: Uri { uri: uri(file) },
        region: (location.pos.line > 0).then(|| Region {
            snippet: sources.line(location).map(|text| Text { text }),
            start_column: location.pos.column.max(1),
            start_line: location.pos.line,
        }),
    })
}

/// A relative path as a URI reference: `/` kept, everything outside RFC 3986's unreserved
/// characters percent-encoded; borrowed when nothing is.
fn uri(path: &str) -> Cow<'_, str> {
    /// Every byte but RFC 3986's unreserved characters and `/`.
    const ENCODED: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'/');
    let path = path.strip_prefix("./").unwrap_or(path);
    utf8_percent_encode(path, ENCODED).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(
            uri("./deploy/my rules/dr#1.yaml"),
            "deploy/my%20rules/dr%231.yaml"
        );
        assert_eq!(uri("fixtures/reviews.yaml"), "fixtures/reviews.yaml");
    }

    /// `Pretty` at depth 0 prints serde_json's `PrettyFormatter` bytes, empty arrays and
    /// objects included; `depth` levels in, the same lines with `2 * depth` more spaces after
    /// each line break.
    #[test]
    fn pretty_prints_serde_json_bytes_at_any_depth() {
        let value = json!({
            "a": [], "b": {}, "c": [1, {"d": [[], {}], "e": "x\ny"}], "f": null, "g": [[1, 2]],
        });
        let serde_json = serde_json::to_string_pretty(&value).unwrap();
        for depth in [0, 1, 4, 20] {
            let mut out = Vec::new();
            value
                .serialize(&mut serde_json::Serializer::with_formatter(
                    &mut out,
                    Pretty::at(depth),
                ))
                .unwrap();
            let indented = serde_json.replace('\n', &format!("\n{}", "  ".repeat(depth)));
            assert_eq!(String::from_utf8(out).unwrap(), indented, "depth {depth}");
        }
    }
}
