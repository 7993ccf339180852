//! Istio's published DestinationRule schema (OpenAPI v3, as in Istio's CRD), embedded, and a
//! walker that checks a YAML tree against it: unknown fields (with a suggestion), types,
//! enums, int32 and declared bounds, required fields, one-of groups, and the CEL rules the
//! CRD declares.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde::Deserialize;

use super::duration;
use super::yaml::{Node, Value, parse_stream};
use crate::diag::{Code, Finding, Location};

/// The schema as Istio publishes it (see `schema/destinationrule.schema.yaml`).
const SCHEMA_YAML: &str = include_str!("../../schema/destinationrule.schema.yaml");

/// Istio's published Sidecar schema (see `schema/sidecar.schema.yaml`).
const SIDECAR_SCHEMA_YAML: &str = include_str!("../../schema/sidecar.schema.yaml");

/// One node of an OpenAPI v3 schema, as far as the DestinationRule CRD uses it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema {
    #[serde(rename = "type")]
    ty: Option<String>,
    format: Option<String>,
    #[serde(default)]
    properties: BTreeMap<String, Schema>,
    items: Option<Box<Schema>>,
    additional_properties: Option<Box<Schema>>,
    #[serde(rename = "enum", default)]
    enum_values: Vec<String>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    #[serde(default)]
    required: Vec<String>,
    #[serde(default)]
    one_of: Vec<Schema>,
    #[serde(default)]
    any_of: Vec<Schema>,
    #[serde(default)]
    all_of: Vec<Schema>,
    not: Option<Box<Schema>>,
    #[serde(rename = "x-kubernetes-int-or-string", default)]
    int_or_string: bool,
    #[serde(rename = "x-kubernetes-preserve-unknown-fields", default)]
    preserve_unknown_fields: bool,
    #[serde(rename = "x-kubernetes-validations", default)]
    validations: Vec<CelRule>,
    max_items: Option<usize>,
    max_length: Option<usize>,
    max_properties: Option<usize>,
}

#[derive(Debug, Deserialize)]
struct CelRule {
    rule: String,
    message: String,
}

/// A YAML tree as JSON, for serde to read the embedded schemas from.
fn json(node: &Node) -> serde_json::Value {
    use serde_json::Value as Json;
    match &node.value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(n) => Json::from(*n),
        Value::BigInt(digits) => Json::String(digits.clone()),
        Value::Str(text) => Json::String(text.to_string()),
        Value::Float(x) => Json::from(*x),
        Value::Seq(items) => items.iter().map(json).collect(),
        Value::Map(entries) => entries
            .iter()
            .map(|(key, value)| {
                let key = key.as_str().expect("an embedded schema's keys are names");
                (key.to_owned(), json(value))
            })
            .collect(),
    }
}

/// The CEL rules the CRD declares; the walker knows each of them.
const CEL_DURATION_AT_LEAST_1MS: &str = "duration(self) >= duration('1ms')";
const CEL_NO_WILDCARD_VALUE: &str = "!self.contains(\"*\")";
const CEL_NO_WILDCARD_KEY: &str = "self.all(key, !key.contains(\"*\"))";
const CEL_NO_EMPTY_KEY: &str = "self.all(key, key.size() != 0)";

/// String fields that hold Go durations although the CRD declares no CEL rule for them.
const UNCHECKED_DURATION_FIELDS: &[&str] = &[
    "idleTimeout",
    "ttl",
    "budgetInterval",
    "weightUpdatePeriod",
    "weightStabilizationPeriod",
    "weightExpirationPeriod",
];

impl Schema {
    /// The embedded DestinationRule schema (the object with `spec` and `status`).
    pub fn destination_rule() -> &'static Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| Schema::embedded(SCHEMA_YAML))
    }

    /// The embedded Sidecar schema (the object with `spec` and `status`).
    pub fn sidecar() -> &'static Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| Schema::embedded(SIDECAR_SCHEMA_YAML))
    }

    /// An embedded schema, read by the loader's YAML layer and given to serde as JSON: 3.4 ms
    /// for the DestinationRule schema, where serde-saphyr's typed deserialization took 5.1 ms,
    /// most of a small file's `check` (test `embedded_schemas_read_as_serde_saphyr_reads_them`).
    fn embedded(yaml: &str) -> Schema {
        let root = parse_stream(yaml, yaml.len())
            .ok()
            .and_then(|documents| documents.into_iter().next()?.root)
            .expect("an embedded schema is one YAML document");
        Schema::deserialize(json(&root)).expect("an embedded schema is valid")
    }

    /// The schema of property `name`, if this is an object schema that has it.
    pub fn property(&self, name: &str) -> Option<&Schema> {
        self.properties.get(name)
    }

    /// Every dotted path this schema defines (`spec.host`, `spec.subsets[].name`, ...).
    #[cfg(test)]
    fn paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_paths("", &mut out);
        out
    }

    #[cfg(test)]
    fn collect_paths(&self, prefix: &str, out: &mut Vec<String>) {
        for (name, child) in &self.properties {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            out.push(path.clone());
            child.collect_paths(&path, out);
        }
        if let Some(items) = &self.items {
            items.collect_paths(&format!("{prefix}[]"), out);
        }
    }

    fn is_duration(&self, field: &str) -> bool {
        self.validations
            .iter()
            .any(|v| v.rule == CEL_DURATION_AT_LEAST_1MS)
            || UNCHECKED_DURATION_FIELDS.contains(&field)
    }

    /// Whether the keys present satisfy this schema's presence constraints
    /// (`required`, `not`, `anyOf`, `allOf`, `oneOf`).
    fn presence_matches(&self, present: &dyn Fn(&str) -> bool) -> bool {
        self.required.iter().all(|k| present(k))
            && self
                .not
                .as_ref()
                .is_none_or(|n| !n.presence_matches(present))
            && (self.any_of.is_empty() || self.any_of.iter().any(|s| s.presence_matches(present)))
            && self.all_of.iter().all(|s| s.presence_matches(present))
            && (self.one_of.is_empty()
                || self
                    .one_of
                    .iter()
                    .filter(|s| s.presence_matches(present))
                    .count()
                    == 1)
    }

    /// The keys a one-of group is about (every key named by a `required` inside it).
    fn one_of_keys(&self) -> Vec<&str> {
        let mut keys = Vec::new();
        self.collect_required(&mut keys);
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    fn collect_required<'a>(&'a self, keys: &mut Vec<&'a str>) {
        keys.extend(self.required.iter().map(String::as_str));
        for s in self.one_of.iter().chain(&self.any_of).chain(&self.all_of) {
            s.collect_required(keys);
        }
        if let Some(n) = &self.not {
            n.collect_required(keys);
        }
    }
}

/// Walks a YAML tree against a schema, collecting findings.
pub(crate) struct Walker<'a> {
    file: &'a Arc<str>,
    findings: &'a mut Vec<Finding>,
    /// Where the walk is; the keys are the input's own, so a step costs no allocation (the
    /// path is only spelled out for a finding).
    path: Vec<Step<'a>>,
}

/// One step of a [`Walker`]'s path.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

impl<'a> Walker<'a> {
    /// A walker reporting into `findings`, for nodes of `file`, at `path` (e.g. `["spec"]`).
    pub(crate) fn new(
        file: &'a Arc<str>,
        findings: &'a mut Vec<Finding>,
        path: &[&'a str],
    ) -> Self {
        Self {
            file,
            findings,
            path: path.iter().map(|key| Step::Key(key)).collect(),
        }
    }

    /// The path as a message spells it: `spec.subsets[0].name`.
    fn dotted(&self) -> String {
        let mut dotted = String::new();
        for (i, step) in self.path.iter().enumerate() {
            match step {
                Step::Key(key) => {
                    if i > 0 {
                        dotted.push('.');
                    }
                    dotted.push_str(key);
                }
                Step::Index(index) => {
                    dotted.push('[');
                    dotted.push_str(&index.to_string());
                    dotted.push(']');
                }
            }
        }
        dotted
    }

    fn report(&mut self, code: Code, node: &Node, message: String, help: Option<String>) {
        let mut finding = Finding::new(code, Location::new(self.file, node.pos), message);
        finding.help = help;
        self.findings.push(finding);
    }

    /// Checks `node` against `schema`.
    pub(crate) fn walk(&mut self, node: &'a Node, schema: &Schema) {
        if schema.preserve_unknown_fields {
            return;
        }
        match (&node.value, schema.ty.as_deref()) {
            // The API server prunes null values before validation.
            (Value::Null, _) => {}
            (Value::Int(_) | Value::Str(_), _) if schema.int_or_string => {}
            (Value::Map(entries), Some("object")) => self.walk_object(node, entries, schema),
            (Value::Seq(items), Some("array")) => {
                if let Some(max) = schema.max_items.filter(|max| items.len() > *max) {
                    let message = format!(
                        "`{}` has {} items, more than {max}",
                        self.dotted(),
                        items.len()
                    );
                    self.report(Code::OutOfRange, node, message, None);
                }
                if let Some(item_schema) = &schema.items {
                    for (i, item) in items.iter().enumerate() {
                        self.path.push(Step::Index(i));
                        self.walk(item, item_schema);
                        self.path.pop();
                    }
                }
            }
            (Value::Str(s), Some("string")) => self.walk_string(node, s, schema),
            (Value::Int(_) | Value::BigInt(_), Some("integer")) => self.walk_integer(node, schema),
            // A number too large for any integer type is out of range, not of the wrong type.
            (Value::Float(f), Some("integer")) if !f.is_finite() || f.abs() > i64::MAX as f64 => {
                self.walk_integer(node, schema)
            }
            (Value::Int(_) | Value::BigInt(_) | Value::Float(_), Some("number")) => {
                self.walk_number(node, schema)
            }
            (Value::Bool(_), Some("boolean")) => {}
            (_, Some(expected)) => self.wrong_type(node, expected),
            (_, None) => {}
        }
    }

    fn wrong_type(&mut self, node: &Node, expected: &str) {
        let expected_text = match expected {
            "object" => "a mapping",
            "array" => "a list",
            "string" => "a string",
            "integer" => "an integer",
            "number" => "a number",
            "boolean" => "true or false",
            other => other,
        };
        let found = match &node.value {
            Value::Str(s) => format!("the string \"{}\"", truncate(s)),
            Value::Int(i) => format!("the number {i}"),
            Value::Float(f) => format!("the number {f}"),
            Value::Bool(b) => format!("`{b}`"),
            other => other.kind().to_owned(),
        };
        let help = match (&node.value, expected) {
            (Value::Str(s), "integer" | "number") if s.trim().parse::<f64>().is_ok() => {
                Some(format!("write the number without quotes: {}", s.trim()))
            }
            (Value::Str(s), "boolean") if matches!(s.as_str(), "true" | "false") => {
                Some(format!("write the boolean without quotes: {s}"))
            }
            (Value::Int(_) | Value::Float(_) | Value::Bool(_), "string") => {
                Some("quote the value to make it a string".to_owned())
            }
            _ => None,
        };
        let message = format!("`{}` must be {expected_text}, found {found}", self.dotted());
        self.report(Code::WrongType, node, message, help);
    }

    fn walk_object(&mut self, node: &Node, entries: &'a [(Node, Node)], schema: &Schema) {
        if let Some(max) = schema.max_properties.filter(|max| entries.len() > *max) {
            let message = format!(
                "`{}` has {} entries, more than {max}",
                self.dotted(),
                entries.len()
            );
            self.report(Code::OutOfRange, node, message, None);
        }
        for rule in &schema.validations {
            let bad_key = match rule.rule.as_str() {
                CEL_NO_WILDCARD_KEY => entries
                    .iter()
                    .find(|(k, _)| k.as_str().is_some_and(|k| k.contains('*'))),
                CEL_NO_EMPTY_KEY => entries.iter().find(|(k, _)| k.as_str() == Some("")),
                _ => None,
            };
            if let Some((key, _)) = bad_key {
                let message = format!("`{}`: {}", self.dotted(), rule.message);
                self.report(Code::InvalidSelector, key, message, None);
            }
        }
        for (key, value) in entries {
            let name = key.as_str().unwrap_or_default();
            let child = schema
                .properties
                .get(name)
                .or(schema.additional_properties.as_deref());
            match child {
                Some(child) => {
                    self.path.push(Step::Key(name));
                    if value.value != Value::Null
                        && child.is_duration(name)
                        && child.ty.as_deref() == Some("string")
                    {
                        self.walk_duration(value, child);
                    } else {
                        self.walk(value, child);
                    }
                    self.path.pop();
                }
                None => self.unknown_field(key, name, schema),
            }
        }
        let present = |k: &str| {
            entries
                .iter()
                .any(|(key, v)| key.as_str() == Some(k) && v.value != Value::Null)
        };
        for required in &schema.required {
            if !present(required) {
                let message = format!(
                    "`{}` is missing the required field `{required}`",
                    self.dotted()
                );
                self.report(Code::MissingField, node, message, None);
            }
        }
        let groups = schema
            .all_of
            .iter()
            .chain(std::iter::once(schema))
            .filter(|s| !s.one_of.is_empty());
        for group in groups {
            let matching = group
                .one_of
                .iter()
                .filter(|s| s.presence_matches(&present))
                .count();
            if matching != 1 {
                let keys: Vec<String> = group
                    .one_of_keys()
                    .into_iter()
                    .filter(|k| present(k))
                    .map(|k| format!("`{k}`"))
                    .collect();
                let message = format!(
                    "`{}` may set only one of {}",
                    self.dotted(),
                    keys.join(", ")
                );
                let help = format!("keep one of {} and remove the others", keys.join(", "));
                self.report(Code::ConflictingFields, node, message, Some(help));
            }
        }
    }

    fn unknown_field(&mut self, key: &Node, name: &str, schema: &Schema) {
        let known = schema.properties.keys().map(String::as_str);
        let help = match suggest(name, known) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "fields known here: {}",
                schema
                    .properties
                    .keys()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let at = if self.path.is_empty() {
            String::new()
        } else {
            format!(" in `{}`", self.dotted())
        };
        let message = format!("unknown field `{}`{at}", truncate(name));
        self.report(Code::UnknownField, key, message, Some(help));
    }

    fn walk_string(&mut self, node: &Node, s: &str, schema: &Schema) {
        if !schema.enum_values.is_empty() && !schema.enum_values.iter().any(|e| e == s) {
            let help = match suggest(s, schema.enum_values.iter().map(String::as_str)) {
                Some(best) => format!("did you mean `{best}`?"),
                None => format!("accepted values: {}", schema.enum_values.join(", ")),
            };
            let message = format!("`{}` does not accept \"{}\"", self.dotted(), truncate(s));
            self.report(Code::InvalidEnum, node, message, Some(help));
        }
        if let Some(max) = schema.max_length.filter(|max| s.chars().count() > *max) {
            let message = format!("`{}` is longer than {max} characters", self.dotted());
            self.report(Code::OutOfRange, node, message, None);
        }
        if schema
            .validations
            .iter()
            .any(|v| v.rule == CEL_NO_WILDCARD_VALUE)
            && s.contains('*')
        {
            let message = format!(
                "`{}`: wildcard not allowed in label value match",
                self.dotted()
            );
            self.report(Code::InvalidSelector, node, message, None);
        }
    }

    fn walk_duration(&mut self, node: &Node, schema: &Schema) {
        let Value::Str(text) = &node.value else {
            let message = format!(
                "`{}` must be a duration such as \"30s\", found {}",
                self.dotted(),
                node.value.kind()
            );
            let help = match node.value {
                Value::Int(n) => Some(format!("add a unit: \"{n}s\" or \"{n}ms\"")),
                _ => None,
            };
            return self.report(Code::WrongType, node, message, help);
        };
        let parsed = duration::parse(text.trim());
        let at_least_1ms = schema
            .validations
            .iter()
            .any(|v| v.rule == CEL_DURATION_AT_LEAST_1MS);
        let problem = match parsed {
            Err(e) => Some((
                e.to_string(),
                "write a Go duration such as 30s, 1.5s, 250ms or 1h30m".to_owned(),
            )),
            Ok(d) if at_least_1ms && d.as_nanos() < 1_000_000 => Some((
                "must be a valid duration greater than 1ms".to_owned(),
                "use at least 1ms".to_owned(),
            )),
            Ok(d) if at_least_1ms && d.as_nanos() % 1_000_000 != 0 => Some((
                "only durations to ms precision are supported".to_owned(),
                format!(
                    "round to whole milliseconds: {}ms",
                    d.as_nanos() / 1_000_000
                ),
            )),
            Ok(_) => None,
        };
        if let Some((what, help)) = problem {
            let message = format!("`{}`: {what}", self.dotted());
            self.report(Code::InvalidDuration, node, message, Some(help));
        }
    }

    fn walk_integer(&mut self, node: &Node, schema: &Schema) {
        let (min, max) = match schema.format.as_deref() {
            Some("int32") => (Some(f64::from(i32::MIN)), Some(f64::from(i32::MAX))),
            Some("int64") => (Some(i64::MIN as f64), Some(i64::MAX as f64)),
            _ => (None, None),
        };
        let min = schema.minimum.or(min);
        let max = schema.maximum.or(max);
        self.check_bounds(node, min, max, schema.format.as_deref());
    }

    fn walk_number(&mut self, node: &Node, schema: &Schema) {
        self.check_bounds(node, schema.minimum, schema.maximum, None);
    }

    fn check_bounds(
        &mut self,
        node: &Node,
        min: Option<f64>,
        max: Option<f64>,
        format: Option<&str>,
    ) {
        let value = match &node.value {
            Value::Int(i) => *i as f64,
            Value::BigInt(s) if s.starts_with('-') => f64::NEG_INFINITY,
            Value::BigInt(_) => f64::INFINITY,
            Value::Float(f) => *f,
            _ => return,
        };
        let below = min.is_some_and(|m| value < m);
        let above = max.is_some_and(|m| value > m);
        if below || above {
            // Spelled out only for the finding: most numbers are in range.
            let text = match &node.value {
                Value::Int(i) => i.to_string(),
                Value::BigInt(s) => s.clone(),
                _ if value.is_infinite() => "a number too large to represent".to_owned(),
                _ => value.to_string(),
            };
            let range = match (min, max, format) {
                (_, _, Some("int32")) => " (an int32 field)".to_owned(),
                (Some(lo), Some(hi), _) => format!(" (accepted: {lo} to {hi})"),
                _ => String::new(),
            };
            let bound = if below {
                format!("below {}", min.unwrap_or_default())
            } else {
                format!("above {}", max.unwrap_or_default())
            };
            let message = format!("`{}` is {}, {bound}{range}", self.dotted(), truncate(&text));
            self.report(Code::OutOfRange, node, message, None);
        }
    }
}

/// The known name closest to `name`: same text ignoring case, or within a small edit distance.
pub(crate) fn suggest<'k>(name: &str, known: impl Iterator<Item = &'k str>) -> Option<&'k str> {
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for candidate in known {
        let distance = if candidate.eq_ignore_ascii_case(name) {
            0
        } else {
            edit_distance(&lower, &candidate.to_ascii_lowercase())
        };
        let limit = (candidate.len().max(name.len()) / 3).max(1);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// Levenshtein distance (strsim), bounded to short inputs (names longer than 64 characters
/// never match).
fn edit_distance(a: &str, b: &str) -> usize {
    if a.chars().count() > 64 || b.chars().count() > 64 {
        return usize::MAX;
    }
    strsim::levenshtein(a, b)
}

/// Shortens user text quoted in a message.
pub(crate) fn truncate(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Istio's schemas read through the loader's YAML layer are what serde-saphyr's typed
    /// deserialization makes of them, every field and bound.
    #[test]
    fn embedded_schemas_read_as_serde_saphyr_reads_them() {
        for yaml in [SCHEMA_YAML, SIDECAR_SCHEMA_YAML] {
            let expected: Schema = serde_saphyr::from_str(yaml).unwrap();
            assert_eq!(
                format!("{:?}", Schema::embedded(yaml)),
                format!("{expected:?}")
            );
        }
    }

    fn walk_spec(yaml: &str) -> Vec<Finding> {
        let docs = parse_stream(yaml, 1 << 20).unwrap();
        let file: Arc<str> = Arc::from("t.yaml");
        let mut findings = Vec::new();
        let spec = Schema::destination_rule().property("spec").unwrap();
        Walker::new(&file, &mut findings, &["spec"]).walk(docs[0].root.as_ref().unwrap(), spec);
        findings
    }

    fn codes(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.code.as_str()).collect()
    }

    #[test]
    fn every_cel_rule_in_the_schema_is_known() {
        fn visit(s: &Schema) {
            for v in &s.validations {
                assert!(
                    [
                        CEL_DURATION_AT_LEAST_1MS,
                        CEL_NO_WILDCARD_VALUE,
                        CEL_NO_WILDCARD_KEY,
                        CEL_NO_EMPTY_KEY
                    ]
                    .contains(&v.rule.as_str()),
                    "unknown CEL rule {}",
                    v.rule
                );
            }
            s.properties
                .values()
                .chain(s.items.as_deref())
                .chain(s.additional_properties.as_deref())
                .for_each(visit);
        }
        visit(Schema::destination_rule());
    }

    #[test]
    fn a_typo_is_reported_with_a_suggestion() {
        let f = walk_spec(
            "host: a\ntrafficPolicy:\n  connectionPool:\n    tcp:\n      maxConnection: 100\n",
        );
        assert_eq!(codes(&f), ["ST101"]);
        assert_eq!(
            f[0].message,
            "unknown field `maxConnection` in `spec.trafficPolicy.connectionPool.tcp`"
        );
        assert_eq!(f[0].help.as_deref(), Some("did you mean `maxConnections`?"));
        assert_eq!(f[0].location.pos, crate::diag::Pos::new(5, 7));
    }

    #[test]
    fn types_ranges_enums_and_durations() {
        let f = walk_spec(
            "host: a\ntrafficPolicy:\n  connectionPool:\n    tcp:\n      maxConnections: \"100\"\n      connectTimeout: 0.5ms\n    http:\n      http2MaxRequests: 3000000000\n      idleTimeout: 30\n      h2UpgradePolicy: UPGRAED\n",
        );
        assert_eq!(codes(&f), ["ST102", "ST104", "ST103", "ST102", "ST105"]);
        assert_eq!(
            f[0].help.as_deref(),
            Some("write the number without quotes: 100")
        );
        assert_eq!(f[4].help.as_deref(), Some("did you mean `UPGRADE`?"));
    }

    #[test]
    fn huge_numbers_are_out_of_range() {
        let f = walk_spec(
            "host: a\ntrafficPolicy:\n  connectionPool:\n    tcp:\n      maxConnections: 1e400\n    http:\n      http2MaxRequests: 123456789012345678901234567890\n      maxRetries: 9223372036854775808\n",
        );
        assert_eq!(codes(&f), ["ST103", "ST103", "ST103"], "{f:?}");
        assert!(
            f[0].message.contains("is a number too large to represent"),
            "{}",
            f[0].message
        );
        // The value is spelled out (as the float it was read as) only for the finding.
        assert!(
            f[1].message
                .contains("is 123456789012345680000000000000, above 2147483647"),
            "{}",
            f[1].message
        );
        assert!(
            f[2].message.contains("is 9223372036854775808, above"),
            "{}",
            f[2].message
        );
    }

    #[test]
    fn one_of_groups_and_required_fields() {
        let f = walk_spec(
            "host: a\ntrafficPolicy:\n  loadBalancer:\n    simple: ROUND_ROBIN\n    consistentHash:\n      useSourceIp: true\n",
        );
        assert_eq!(codes(&f), ["ST109"]);
        let f = walk_spec("trafficPolicy:\n  tunnel:\n    targetPort: 8080\n");
        assert_eq!(codes(&f), ["ST106", "ST106"]);
    }

    #[test]
    fn suggestions_are_close_or_nothing() {
        let known = ["maxConnections", "connectTimeout", "tcpKeepalive"];
        assert_eq!(
            suggest("maxconnections", known.into_iter()),
            Some("maxConnections")
        );
        assert_eq!(
            suggest("connectTimout", known.into_iter()),
            Some("connectTimeout")
        );
        assert_eq!(suggest("banana", known.into_iter()), None);
    }
}

#[cfg(test)]
mod model_paths {
    use super::Schema;

    /// The schema paths the typed model reads: each must exist in Istio's schema, so that a
    /// misspelt field in the model cannot silently read nothing.
    const MODEL_PATHS: &[&str] = &[
        "spec.host",
        "spec.exportTo",
        "spec.workloadSelector.matchLabels",
        "spec.subsets[].name",
        "spec.subsets[].labels",
        "spec.subsets[].trafficPolicy",
        "spec.trafficPolicy.connectionPool.tcp.maxConnections",
        "spec.trafficPolicy.connectionPool.tcp.connectTimeout",
        "spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.probes",
        "spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.time",
        "spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.interval",
        "spec.trafficPolicy.connectionPool.tcp.maxConnectionDuration",
        "spec.trafficPolicy.connectionPool.tcp.idleTimeout",
        "spec.trafficPolicy.connectionPool.http.http1MaxPendingRequests",
        "spec.trafficPolicy.connectionPool.http.http2MaxRequests",
        "spec.trafficPolicy.connectionPool.http.maxRequestsPerConnection",
        "spec.trafficPolicy.connectionPool.http.maxRetries",
        "spec.trafficPolicy.connectionPool.http.idleTimeout",
        "spec.trafficPolicy.connectionPool.http.h2UpgradePolicy",
        "spec.trafficPolicy.connectionPool.http.useClientProtocol",
        "spec.trafficPolicy.connectionPool.http.maxConcurrentStreams",
        "spec.trafficPolicy.connectionPool.http.http2KeepAlive",
        "spec.trafficPolicy.outlierDetection.consecutiveErrors",
        "spec.trafficPolicy.outlierDetection.consecutive5xxErrors",
        "spec.trafficPolicy.outlierDetection.consecutiveGatewayErrors",
        "spec.trafficPolicy.outlierDetection.consecutiveLocalOriginFailures",
        "spec.trafficPolicy.outlierDetection.splitExternalLocalOriginErrors",
        "spec.trafficPolicy.outlierDetection.interval",
        "spec.trafficPolicy.outlierDetection.baseEjectionTime",
        "spec.trafficPolicy.outlierDetection.maxEjectionPercent",
        "spec.trafficPolicy.outlierDetection.minHealthPercent",
        "spec.trafficPolicy.loadBalancer.simple",
        "spec.trafficPolicy.loadBalancer.consistentHash",
        "spec.trafficPolicy.tls.mode",
        "spec.trafficPolicy.tls.sni",
        "spec.trafficPolicy.tls.credentialName",
        "spec.trafficPolicy.portLevelSettings[].port.number",
        "spec.trafficPolicy.portLevelSettings[].connectionPool",
        "spec.trafficPolicy.tunnel",
        "spec.trafficPolicy.proxyProtocol",
        "spec.trafficPolicy.retryBudget.percent",
        "spec.trafficPolicy.retryBudget.minRetryConcurrency",
        "spec.trafficPolicy.retryBudget.budgetInterval",
    ];

    #[test]
    fn the_model_reads_only_schema_fields() {
        let paths = Schema::destination_rule().paths();
        for path in MODEL_PATHS {
            assert!(
                paths.iter().any(|p| p == path),
                "{path} is not in Istio's schema"
            );
        }
        assert!(
            paths.len() > 300,
            "the schema has its ~400 paths: {}",
            paths.len()
        );
    }

    #[test]
    fn the_embedded_schema_is_the_published_one() {
        let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/istio-schema/destinationrule.schema.yaml");
        if let Ok(published) = std::fs::read_to_string(shared) {
            assert_eq!(
                published,
                super::SCHEMA_YAML,
                "schema/ drifted from ../shared/istio-schema/"
            );
        }
    }
}
