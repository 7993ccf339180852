//! The YAML layer: a small position-carrying tree parsed with serde-saphyr.
//!
//! Every node keeps the line and column it came from, so that findings can point at the
//! exact value. Parsing is bounded: the input size is capped by the caller, and
//! serde-saphyr's budget stops alias bombs, deep nesting and node storms. A stream is
//! split into its documents (at `---` lines, which YAML forbids inside any scalar) and the
//! documents are parsed on all cores.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

pub use crate::diag::Pos;

/// A YAML node with its source position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Where the node starts.
    pub pos: Pos,
    /// What the node holds.
    pub value: Value,
}

/// The value of a [`Node`].
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`, `~` or an empty value.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// An integer too large for 64 bits, kept as its decimal text.
    BigInt(String),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order.
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// The YAML kind, as a user would name it in an error message.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::BigInt(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl Node {
    /// The string value, if this node is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The mapping entries, if this node is a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The items, if this node is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The value under `key`, if this node is a mapping that has it (a null value counts as absent,
    /// as the Kubernetes API server prunes it).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
            .filter(|v| v.value != Value::Null)
    }

    /// The key node of `key`, if this node is a mapping that has it.
    pub fn key(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .map(|(k, _)| k)
            .find(|k| k.as_str() == Some(key))
    }

    fn shift_lines(&mut self, by: u32) {
        self.pos.line += by;
        match &mut self.value {
            Value::Seq(items) => items.iter_mut().for_each(|n| n.shift_lines(by)),
            Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
                k.shift_lines(by);
                v.shift_lines(by);
            }),
            _ => {}
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<Value>::deserialize(deserializer)?;
        let at = spanned.referenced;
        Ok(Node {
            pos: Pos::new(saturate(at.line()), saturate(at.column())),
            value: spanned.value,
        })
    }
}

fn saturate(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or_else(|_| Value::BigInt(v.to_string()), Value::Int))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or_else(|_| Value::BigInt(v.to_string()), Value::Int))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or_else(|_| Value::BigInt(v.to_string()), Value::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(key) = map.next_key::<serde_saphyr::Spanned<KeyText>>()? {
            let value = map.next_value::<Node>()?;
            let at = key.referenced;
            let key = Node {
                pos: Pos::new(saturate(at.line()), saturate(at.column())),
                value: Value::Str(key.value.0),
            };
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }
}

/// A mapping key, read as text: `n` or `on` as a key is a name, not a YAML 1.1 boolean.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar mapping key")
            }
            fn visit_str<E>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<KeyText, E> {
                Ok(KeyText(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
        }
        deserializer.deserialize_string(KeyVisitor)
    }
}

/// A YAML document of a stream: its root node, or `None` for an empty document.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// The line of the stream where the document starts (1-based).
    pub line: u32,
    /// The root node; `None` when the document is empty.
    pub root: Option<Node>,
}

/// A YAML syntax error, or a budget the input exceeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where the parser stopped, when known.
    pub pos: Option<Pos>,
    /// What went wrong.
    pub message: String,
    /// How to fix it, when there is something to say.
    pub help: Option<String>,
}

/// Parses a YAML stream into its documents.
///
/// `max_bytes` is the input cap the caller enforced; the parser's node and event budgets grow
/// with it, while the alias, anchor and depth limits stay at serde-saphyr's defaults.
pub fn parse_stream(text: &str, max_bytes: usize) -> Result<Vec<Document>, SyntaxError> {
    map_documents(text, max_bytes, |doc| doc)
}

/// Parses a YAML stream and maps `f` over its documents, in order, on all cores: each tree is
/// handed to `f` in the thread that parsed it, and only what `f` returns is kept.
pub fn map_documents<R: Send>(
    text: &str,
    max_bytes: usize,
    f: impl Fn(Document) -> R + Sync,
) -> Result<Vec<R>, SyntaxError> {
    let chunks = split_documents(text);
    let run = |chunk: &Chunk<'_>| -> Result<Vec<R>, SyntaxError> {
        Ok(parse_chunk(chunk, max_bytes)?.into_iter().map(&f).collect())
    };
    let results: Vec<Result<Vec<R>, SyntaxError>> = if chunks.len() < 64 {
        chunks.iter().map(run).collect()
    } else {
        parallel_map(&chunks, run)
    };
    let mut out = Vec::with_capacity(chunks.len());
    for result in results {
        out.extend(result?);
    }
    Ok(out)
}

/// Maps `f` over `items` on all available cores, keeping the order (also the report's
/// rendering of many findings).
pub(crate) fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    if items.len() < 2 || workers < 2 {
        return items.iter().map(f).collect();
    }
    let per_worker = items.len().div_ceil(workers).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per_worker)
            .map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

struct Chunk<'a> {
    text: &'a str,
    /// Lines before the chunk in the stream.
    line_offset: u32,
}

/// Splits a stream at its `---` lines. A directive (`%YAML`) makes the stream one chunk, as
/// directives belong to the document that follows them.
fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut start_line = 0u32;
    let mut offset = 0;
    for (line, raw) in (0u32..).zip(text.split_inclusive('\n')) {
        if raw.starts_with('%') {
            return vec![Chunk {
                text,
                line_offset: 0,
            }];
        }
        if offset > start && is_document_start(raw) {
            chunks.push(Chunk {
                text: &text[start..offset],
                line_offset: start_line,
            });
            start = offset;
            start_line = line;
        }
        offset += raw.len();
    }
    if start < text.len() || chunks.is_empty() {
        chunks.push(Chunk {
            text: &text[start..],
            line_offset: start_line,
        });
    }
    chunks
}

fn is_document_start(line: &str) -> bool {
    line.strip_prefix("---")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
}

fn parse_chunk(chunk: &Chunk<'_>, max_bytes: usize) -> Result<Vec<Document>, SyntaxError> {
    // A 10,000-rule export of 9.4 MB has about 980,000 nodes and 1,230,000 events: allow one node
    // for every 4 bytes and two events per node, whatever the input, and keep the rest.
    let scale = (max_bytes / 4).max(250_000);
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_nodes: scale,
            max_events: scale * 2,
            max_documents: scale,
            max_total_scalar_bytes: max_bytes.max(1 << 20),
        },
        with_snippet: false,
        // `1e400` reaches the schema as infinity, to be reported on its field as out of range.
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::PassThrough,
    };
    let roots: Vec<Option<Node>> = serde_saphyr::from_multiple_with_options(chunk.text, options)
        .map_err(|e| syntax_error(&e, chunk.line_offset))?;
    // `from_multiple` skips empty documents; keep the chunk's line for each one it returns.
    Ok(roots
        .into_iter()
        .map(|root| {
            let root = root.map(|mut n| {
                n.shift_lines(chunk.line_offset);
                n
            });
            let line = root.as_ref().map_or(chunk.line_offset + 1, |n| n.pos.line);
            Document { line, root }
        })
        .collect())
}

/// The error under serde-saphyr's snippet and alias wrappers.
fn innermost(mut error: &serde_saphyr::Error) -> &serde_saphyr::Error {
    loop {
        match error.without_snippet() {
            serde_saphyr::Error::AliasError { error: inner, .. } => error = inner,
            other => return other,
        }
    }
}

/// A budget breach in words, with the count the parser reached.
fn describe_breach(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    match breach {
        B::Events { events } => format!("{events} parser events"),
        B::Aliases { aliases } => format!("{aliases} aliases"),
        B::Anchors { anchors } => format!("{anchors} anchors"),
        B::Depth { depth } => format!("nesting {depth} levels deep"),
        B::Documents { documents } => format!("{documents} documents"),
        B::Nodes { nodes } => format!("{nodes} nodes"),
        B::ScalarBytes { total_scalar_bytes } => format!("{total_scalar_bytes} bytes of values"),
        B::MergeKeys { merge_keys } => format!("{merge_keys} merge keys"),
        B::AliasAnchorRatio { aliases, anchors } => {
            format!("{aliases} aliases for {anchors} anchors")
        }
        B::RecordedAnchorEvents {
            recorded_anchor_events,
        } => format!("{recorded_anchor_events} events copied through aliases"),
        B::RecordedAnchorBytes {
            recorded_anchor_bytes,
        } => format!("{recorded_anchor_bytes} bytes copied through aliases"),
        B::InputBytes { input_bytes } => format!("{input_bytes} bytes of input"),
        _ => "a limit of the parser".into(),
    }
}

fn syntax_error(error: &serde_saphyr::Error, line_offset: u32) -> SyntaxError {
    let pos = error.location().filter(|l| l.line() > 0).map(|l| {
        Pos::new(
            saturate(l.line()).saturating_add(line_offset),
            saturate(l.column()),
        )
    });
    if let serde_saphyr::Error::Budget { breach, .. } = innermost(error) {
        return SyntaxError {
            pos,
            message: format!(
                "the YAML exceeds the parser's safety budget: {}",
                describe_breach(breach)
            ),
            help: Some(
                "aliases that expand into huge trees (an alias bomb) and nesting deeper than 64 levels are refused"
                    .into(),
            ),
        };
    }
    let mut message = error.without_snippet().to_string();
    // serde-saphyr appends " at line L column C"; the position is reported separately.
    if let Some(cut) = message.find(" at line ") {
        message.truncate(cut);
    }
    SyntaxError {
        pos,
        message,
        help: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_shifted_per_document() {
        let docs = parse_stream("a: 1\n---\nb:\n  c: [x, 2]\n", 1 << 20).unwrap();
        assert_eq!(docs.len(), 2);
        let a = docs[0].root.as_ref().unwrap().get("a").unwrap();
        assert_eq!((a.pos, &a.value), (Pos::new(1, 4), &Value::Int(1)));
        let c = docs[1]
            .root
            .as_ref()
            .unwrap()
            .get("b")
            .unwrap()
            .get("c")
            .unwrap();
        assert_eq!(c.pos, Pos::new(4, 6));
        let items = c.as_seq().unwrap();
        assert_eq!(items[0].value, Value::Str("x".into()));
        assert_eq!(items[1].pos, Pos::new(4, 10));
    }

    #[test]
    fn dashes_inside_a_line_do_not_split() {
        let docs = parse_stream("a: |\n  text --- more\nb: '---'\n", 1 << 20).unwrap();
        assert_eq!(docs.len(), 1);
    }

    #[test]
    fn keys_are_text_and_huge_integers_are_not_truncated() {
        let docs = parse_stream(
            "n: 123456789012345678901234567890\non: 9223372036854775808\n",
            1 << 20,
        )
        .unwrap();
        let root = docs[0].root.as_ref().unwrap();
        let n = root.get("n").unwrap();
        assert!(matches!(n.value, Value::Float(f) if f > 1e29), "{n:?}");
        assert_eq!(
            root.get("on").unwrap().value,
            Value::BigInt("9223372036854775808".into())
        );
    }

    #[test]
    fn syntax_errors_carry_the_stream_line() {
        let err = parse_stream("a: 1\n---\nb: [1, 2\n", 1 << 20).unwrap_err();
        assert_eq!(err.pos, Some(Pos::new(3, 4)), "{err:?}");
    }

    #[test]
    fn large_streams_parse_in_parallel_in_order() {
        let text: String = (0..200).map(|i| format!("---\ni: {i}\n")).collect();
        let docs = parse_stream(&text, 1 << 20).unwrap();
        assert_eq!(docs.len(), 200);
        for (i, doc) in docs.iter().enumerate() {
            let root = doc.root.as_ref().unwrap();
            assert_eq!(root.get("i").unwrap().value, Value::Int(i as i64));
            assert_eq!(doc.line, 2 * i as u32 + 2);
        }
    }
}
