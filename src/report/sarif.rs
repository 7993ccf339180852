//! SARIF 2.1.0, the format code-scanning services read: one rule per code with its help, one
//! result per finding with its physical location.

use std::io::{self, Write};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde_json::{Value, json};

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
    // The results are serialized one by one as the log is written, never all held at once
    // (a 10,000-rule mesh draws 20,000); the keys in the order serde_json's sorted map gives.
    #[derive(Serialize)]
    struct Log<'a> {
        #[serde(rename = "$schema")]
        schema: &'static str,
        runs: [Run<'a>; 1],
        version: &'static str,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Run<'a> {
        column_kind: &'static str,
        results: Results<'a>,
        tool: Value,
    }
    struct Results<'a>(&'a [Finding], &'a Sources);
    impl Serialize for Results<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(self.0.iter().map(|f| result(f, self.1)))
        }
    }
    let log = Log {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        runs: [Run {
            column_kind: "unicodeCodePoints",
            results: Results(findings, sources),
            tool: json!({"driver": {
                "name": "sidecar-tuner",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }}),
        }],
        version: "2.1.0",
    };
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn result(f: &Finding, sources: &Sources) -> Value {
    let rule_index = Code::ALL.iter().position(|c| *c == f.code);
    let text = match &f.help {
        Some(help) => format!("{}\nhelp: {help}", f.message),
        None => f.message.clone(),
    };
    let mut result = json!({
        "ruleId": f.code.as_str(),
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": {"text": text},
    });
    if let Some(location) = physical_location(&f.location, sources) {
        result["locations"] = json!([{"physicalLocation": location}]);
    }
    let related: Vec<Value> = f
        .labels
        .iter()
        .enumerate()
        .filter_map(|(i, label)| {
            let location = physical_location(&label.location, sources)?;
            Some(json!({"id": i, "physicalLocation": location, "message": {"text": label.message}}))
        })
        .collect();
    if !related.is_empty() {
        result["relatedLocations"] = Value::Array(related);
    }
    result
}

/// The file and region; none for a place that is not a file (a command-line flag, stdin).
fn physical_location(location: &Location, sources: &Sources) -> Option<Value> {
    let file = &*location.file;
    if file == "-" || file.starts_with("--") || file.starts_with('<') {
        return None;
    }
    let mut physical = json!({"artifactLocation": {"uri": uri(file)}});
    if location.pos.line > 0 {
        let mut region = json!({
            "startLine": location.pos.line,
            "startColumn": location.pos.column.max(1),
        });
        if let Some(line) = sources.line(location) {
            region["snippet"] = json!({"text": line});
        }
        physical["region"] = region;
    }
    Some(physical)
}

/// A relative path as a URI reference: `/` kept, everything outside RFC 3986's unreserved
/// characters percent-encoded.
fn uri(path: &str) -> String {
    /// Every byte but RFC 3986's unreserved characters and `/`.
    const ENCODED: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'/');
    let path = path.strip_prefix("./").unwrap_or(path);
    utf8_percent_encode(path, ENCODED).to_string()
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
