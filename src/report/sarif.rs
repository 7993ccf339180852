//! SARIF 2.1.0, the format code-scanning services read: one rule per code with its help, one
//! result per finding with its physical location.

use std::io::{self, Write};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
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
    let results: Vec<Value> = findings.iter().map(|f| result(f, sources)).collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "sidecar-tuner",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
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
