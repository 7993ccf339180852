//! SARIF 2.1.0, the format code-scanning services read: one rule per code with its help, one
//! result per finding with its physical location.

use std::borrow::Cow;
use std::io::{self, Write};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Serialize, Serializer};
use serde_json::{Value, json};

use super::pretty::write_pretty_with_items;
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
        /// Left empty: the results are rendered apart and written in its place.
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
    // A 10,000-rule mesh can draw 40,000 results: rendered in parts on all cores.
    write_pretty_with_items(out, &log, "results", findings, RESULT_DEPTH, |f| {
        result(f, sources)
    })
}

/// The depth of a result in the pretty-printed log (`runs[0].results[i]`).
const RESULT_DEPTH: usize = 4;

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
}
