//! SARIF 2.1.0, the format code-scanning services read: one rule per code with its help, one
//! result per finding with its physical location.

use std::borrow::Cow;
use std::io::{self, Write};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
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

/// The indentation of a result in the pretty-printed log (`runs[0].results[i]`).
const RESULT_INDENT: &[u8] = b"        ";

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
        let mut item = Vec::new();
        for f in part {
            item.clear();
            serde_json::to_writer_pretty(&mut item, &result(f, sources))?;
            // A comma before every result but the first.
            let first = std::ptr::eq(f, &findings[0]);
            for (i, line) in item.split(|&b| b == b'\n').enumerate() {
                text.extend_from_slice(if i == 0 && !first { b",\n" } else { b"\n" });
                text.extend_from_slice(RESULT_INDENT);
                text.extend_from_slice(line);
            }
        }
        Ok(())
    })?;
    out.write_all(b"\n")?;
    out.write_all(&RESULT_INDENT[2..])?;
    out.write_all(b"]")
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
    message: Text<String>,
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

fn result<'a>(f: &'a Finding, sources: &'a Sources) -> SarifResult<'a> {
    let text = match &f.help {
        Some(help) => format!("{}\nhelp: {help}", f.message),
        None => f.message.clone(),
    };
    SarifResult {
        level: level(f.severity),
        locations: physical_location(&f.location, sources)
            .map(|physical_location| [LocationOf { physical_location }]),
        message: Text { text },
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
}
