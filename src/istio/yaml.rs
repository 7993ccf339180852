//! The YAML layer: a small position-carrying tree parsed with serde-saphyr.
//!
//! Every node keeps the line and column it came from, so that findings can point at the
//! exact value. Parsing is bounded: the input size is capped by the caller, and
//! serde-saphyr's budget stops alias bombs, deep nesting and node storms. A stream is
//! split into its documents (at `---` lines, which YAML forbids inside any scalar) and the
//! documents are parsed on all cores. A document made only of what needs none of
//! serde-saphyr's options (no anchor, alias, tag, merge key or number spelling beyond a
//! decimal integer) is built straight from the events of its parser, twice as fast; any other
//! goes through serde-saphyr (`plain_tree`).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use smol_str::SmolStr;

pub use crate::diag::Pos;
use crate::diag::{Code, Finding, Location};

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
    /// A string (up to 23 bytes inline, with no allocation: nearly every key and value).
    Str(SmolStr),
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

    /// The items of the list under `key`; none when the key is missing or its value is not a
    /// list (the schema reports that).
    pub fn items(&self, key: &str) -> &[Node] {
        self.get(key).and_then(Node::as_seq).unwrap_or_default()
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
    /// A whole number is an integer, however written (`10.0`, `1e1`): Kubernetes turns YAML
    /// into JSON, where Go's `encoding/json` writes a whole float below 1e21 as an integer, and
    /// the API server and Istio read the integer 10.
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(if v.fract() == 0.0 && v.abs() < i64::MAX as f64 {
            Value::Int(v as i64)
        } else {
            Value::Float(v)
        })
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.into()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v.into()))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Str(String::from_utf8_lossy(v).into()))
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
                value: Value::Str(key.value.0.into()),
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
    /// The numbers of the document read as octal ([`OctalNumber`]).
    pub octal: Vec<OctalNumber>,
}

impl Document {
    /// The warnings (ST115) for the numbers of the document read as octal, in `file`.
    pub(crate) fn octal_findings<'a>(
        &'a self,
        file: &'a Arc<str>,
    ) -> impl Iterator<Item = Finding> + 'a {
        self.octal.iter().map(|number| number.finding(file))
    }
}

/// A plain number written with a leading zero and octal digits only (`010`, underscores
/// dropped), read as octal (8) as Kubernetes reads it, where its decimal reading (10) differs:
/// kubectl, Helm and Argo CD turn YAML into JSON with sigs.k8s.io/yaml, whose YAML 1.1 resolver
/// (go-yaml v2, `resolve.go`) parses a plain number with Go's `strconv.ParseInt(text, 0, 64)`.
#[derive(Clone, Debug, PartialEq)]
pub struct OctalNumber {
    /// Where it is written.
    pub pos: Pos,
    /// As written.
    pub text: SmolStr,
    /// Its value: the octal reading.
    pub value: i64,
    /// Its digits read as decimal, as a reader of the file would.
    pub decimal: i64,
}

impl OctalNumber {
    /// The warning (ST115) for this number in `file`.
    fn finding(&self, file: &Arc<str>) -> Finding {
        let (text, value, decimal) = (&self.text, self.value, self.decimal);
        Finding::new(
            Code::OctalNumber,
            Location::new(file, self.pos),
            format!(
                "`{text}` has a leading zero: Kubernetes reads it as octal, {value}, not {decimal}"
            ),
        )
        .help(format!(
            "write {decimal} without the leading zero, or {value} if that is meant"
        ))
    }
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
    let parts = fold_documents(text, max_bytes, Vec::new, Vec::push)?;
    Ok(parts.into_iter().flatten().collect())
}

/// Parses a YAML stream and folds its documents, on all cores: each core parses a consecutive
/// share of the documents and hands each tree, in order, to `fold` on its own accumulator (made
/// by `init`) in the thread that parsed it, so only what `fold` keeps is kept, and nothing is
/// kept per document. The accumulators come back in stream order; a syntax error is the first
/// in the stream.
pub fn fold_documents<A: Send>(
    text: &str,
    max_bytes: usize,
    init: impl Fn() -> A + Sync,
    fold: impl Fn(&mut A, Document) + Sync,
) -> Result<Vec<A>, SyntaxError> {
    let chunks = split_documents(text);
    let run = |share: &[Chunk<'_>]| -> Result<A, SyntaxError> {
        let mut folded = init();
        for chunk in share {
            for document in parse_chunk(chunk, max_bytes)? {
                fold(&mut folded, document);
            }
        }
        Ok(folded)
    };
    if chunks.len() < 64 {
        return Ok(vec![run(&chunks)?]);
    }
    parallel_shares(&chunks, run).into_iter().collect()
}

/// Maps `f` over `items` on all available cores, keeping the order (also the report's
/// rendering of many findings).
pub(crate) fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    parallel_shares(items, |share| share.iter().map(&f).collect::<Vec<R>>())
        .into_iter()
        .flatten()
        .collect()
}

/// Applies `f` to consecutive shares of `items`, one per available core, each on its own
/// thread; the results come back in the items' order.
fn parallel_shares<T: Sync, R: Send>(items: &[T], f: impl Fn(&[T]) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    if items.len() < 2 || workers < 2 {
        return vec![f(items)];
    }
    let per_worker = items.len().div_ceil(workers).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per_worker)
            .map(|share| scope.spawn(|| f(share)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
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
/// directives belong to the document that follows them. Only the lines that start with `%` or
/// `---` are looked at, found by a vectorized search (a 10 MB export has 470,000 lines).
fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    let bytes = text.as_bytes();
    if bytes.starts_with(b"%") || memchr::memmem::find(bytes, b"\n%").is_some() {
        return vec![Chunk {
            text,
            line_offset: 0,
        }];
    }
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut start_line = 0u32;
    for at in memchr::memmem::find_iter(bytes, b"\n---").map(|i| i + 1) {
        if is_document_start(&text[at..]) {
            chunks.push(Chunk {
                text: &text[start..at],
                line_offset: start_line,
            });
            let lines = memchr::memchr_iter(b'\n', &bytes[start..at]).count();
            start_line = start_line.saturating_add(u32::try_from(lines).unwrap_or(u32::MAX));
            start = at;
        }
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
    // The fast path takes no number with a leading zero.
    let (roots, octal) = match plain_tree(chunk.text, scale) {
        Some(roots) => (roots, Vec::new()),
        None => {
            let roots = serde_saphyr_tree(chunk, max_bytes, scale)?;
            let octal = if may_hold_octal(chunk.text) {
                octal_numbers(chunk.text)
            } else {
                Vec::new()
            };
            (roots, octal)
        }
    };
    // `from_multiple` skips empty documents; keep the chunk's line for each one it returns.
    let mut documents: Vec<Document> = roots
        .into_iter()
        .map(|root| {
            let root = root.map(|mut n| {
                n.shift_lines(chunk.line_offset);
                n
            });
            let line = root.as_ref().map_or(chunk.line_offset + 1, |n| n.pos.line);
            Document {
                line,
                root,
                octal: Vec::new(),
            }
        })
        .collect();
    for mut number in octal {
        number.pos.line += chunk.line_offset;
        let at = documents.iter().rposition(|d| d.line <= number.pos.line);
        if let Some(document) = documents.get_mut(at.unwrap_or(0)) {
            document.octal.push(number);
        }
    }
    Ok(documents)
}

/// Whether `text` may hold a number with a leading zero: a `0` followed by a digit or an
/// underscore, and not by a letter, digit, point or underscore. A document without one (nearly
/// every one) skips [`octal_numbers`], a second pass of the parser.
fn may_hold_octal(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b'0', bytes).any(|at| {
        let leads = bytes
            .get(at + 1)
            .is_some_and(|b| b.is_ascii_digit() || *b == b'_');
        let starts = at == 0
            || !matches!(bytes[at - 1], b'.' | b'_') && !bytes[at - 1].is_ascii_alphanumeric();
        leads && starts
    })
}

/// The values of `text` (not its keys) that are plain scalars [`octal_reading`] reads as octal.
fn octal_numbers(text: &str) -> Vec<OctalNumber> {
    use granit_parser::{Event, Parser, ScalarStyle};
    // Per open collection: `Some(expects a key)` for a mapping, `None` for a sequence.
    let mut open: Vec<Option<bool>> = Vec::new();
    let mut numbers = Vec::new();
    for (event, span) in Parser::new_from_str(text).map_while(Result::ok) {
        let done = match event {
            Event::Scalar(value, style, _, tag) => {
                let reading = (style == ScalarStyle::Plain && tag.is_none())
                    .then(|| octal_reading(&value))
                    .flatten();
                if let Some((value_read, decimal)) = reading
                    && open.last() != Some(&Some(true))
                {
                    numbers.push(OctalNumber {
                        pos: Pos::new(
                            saturate(span.start.line() as u64),
                            saturate(span.start.col() as u64 + 1),
                        ),
                        text: value.as_ref().into(),
                        value: value_read,
                        decimal,
                    });
                }
                true
            }
            Event::Alias(_) => true,
            Event::SequenceStart(..) => {
                open.push(None);
                false
            }
            Event::MappingStart(..) => {
                open.push(Some(true));
                false
            }
            Event::SequenceEnd | Event::MappingEnd => {
                open.pop();
                true
            }
            _ => false,
        };
        // A node ended: in a mapping, a key is followed by its value and a value by a key.
        if done && let Some(Some(expects_key)) = open.last_mut() {
            *expects_key = !*expects_key;
        }
    }
    numbers
}

/// A plain scalar spelled with an optional sign, a leading zero and octal digits, single
/// underscores between them dropped (as go-yaml v2 drops them; serde-saphyr reads a doubled or
/// trailing one as text): its octal and decimal readings, when they differ.
fn octal_reading(text: &str) -> Option<(i64, i64)> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if !unsigned.starts_with('0') || unsigned.ends_with('_') || unsigned.contains("__") {
        return None;
    }
    let digits: String = unsigned.chars().filter(|&c| c != '_').collect();
    if digits.len() < 2 || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    let sign = if negative { -1 } else { 1 };
    let octal = i64::from_str_radix(&digits, 8).ok()? * sign;
    let decimal = digits.parse::<i64>().ok()? * sign;
    (octal != decimal).then_some((octal, decimal))
}

fn serde_saphyr_tree(
    chunk: &Chunk<'_>,
    max_bytes: usize,
    scale: usize,
) -> Result<Vec<Option<Node>>, SyntaxError> {
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_nodes: scale,
            max_events: scale * 2,
            max_documents: scale,
            max_total_scalar_bytes: max_bytes.max(1 << 20),
        },
        with_snippet: false,
        // `010` is 8, as Kubernetes reads it (`OctalNumber`).
        legacy_octal_numbers: true,
        // `1e400` reaches the schema as infinity, to be reported on its field as out of range.
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::PassThrough,
    };
    serde_saphyr::from_multiple_with_options(chunk.text, options)
        .map_err(|e| syntax_error(&e, chunk.line_offset))
}

/// The documents of `text` built straight from the events of granit-parser, the parser under
/// serde-saphyr, when every node is one whose value serde-saphyr's untyped deserialization
/// gives whatever its options: mappings and sequences without anchor, alias or tag, at most 32
/// levels deep (half serde-saphyr's depth budget), nodes and keys at most half of `max_nodes`
/// (its node budget; its event budget is twice that); keys that are quoted, or plain names or
/// decimal integers, none repeated in a mapping of at most 64 entries; scalars that are quoted, or plain
/// and null, a YAML 1.1 boolean, a decimal integer, or text no number parse accepts; roots that
/// are mappings or sequences. Anything else, a syntax error included, gives `None`, and the
/// text goes through serde-saphyr, which builds the same tree or reports what is wrong (a
/// duplicate key, a budget, the error's position). About twice as fast as the positioned
/// deserialization for a mesh export; `tests::the_plain_tree_is_what_serde_saphyr_builds`
/// compares the two on every fixture, Istio's corpus and the fuzz regressions.
fn plain_tree(text: &str, max_nodes: usize) -> Option<Vec<Option<Node>>> {
    use granit_parser::{Event, Parser, ScalarStyle};

    enum Open {
        Seq(Pos, Vec<Node>),
        /// A mapping, and the key read for the value to come.
        Map(Pos, Vec<(Node, Node)>, Option<Node>),
    }
    let mut roots = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    let mut nodes = 0usize;
    for item in Parser::new_from_str(text) {
        let (event, span) = item.ok()?;
        let pos = Pos::new(
            saturate(span.start.line() as u64),
            saturate(span.start.col() as u64 + 1),
        );
        let expects_key = matches!(open.last(), Some(Open::Map(_, _, None)));
        let node = match event {
            // A `%YAML` directive's version is left to serde-saphyr.
            Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_, None)
            | Event::DocumentEnd => {
                continue;
            }
            Event::Scalar(value, style, 0, None) => {
                let plain = style == ScalarStyle::Plain;
                if expects_key {
                    let key = Node {
                        pos,
                        value: Value::Str(plain_key(&value, plain)?),
                    };
                    let Some(Open::Map(_, _, slot)) = open.last_mut() else {
                        return None;
                    };
                    *slot = Some(key);
                    nodes += 1;
                    continue;
                }
                Node {
                    pos,
                    value: plain_scalar(&value, plain)?,
                }
            }
            Event::SequenceStart(_, 0, None) | Event::MappingStart(_, 0, None)
                if !expects_key && open.len() < 32 =>
            {
                open.push(match event {
                    Event::SequenceStart(..) => Open::Seq(pos, Vec::new()),
                    _ => Open::Map(pos, Vec::new(), None),
                });
                continue;
            }
            Event::SequenceEnd => match open.pop()? {
                Open::Seq(pos, items) => Node {
                    pos,
                    value: Value::Seq(items),
                },
                Open::Map(..) => return None,
            },
            Event::MappingEnd => match open.pop()? {
                Open::Map(pos, entries, None) => Node {
                    pos,
                    value: Value::Map(entries),
                },
                _ => return None,
            },
            _ => return None,
        };
        nodes += 1;
        if nodes > max_nodes / 2 {
            return None;
        }
        match open.last_mut() {
            None if matches!(node.value, Value::Map(_) | Value::Seq(_)) => roots.push(Some(node)),
            None => return None,
            Some(Open::Seq(_, items)) => items.push(node),
            Some(Open::Map(_, entries, slot)) => {
                let key = slot.take()?;
                if entries.len() >= 64 || entries.iter().any(|(k, _)| k.value == key.value) {
                    return None;
                }
                entries.push((key, node));
            }
        }
    }
    open.is_empty().then_some(roots)
}

/// A plain or quoted scalar's value as serde-saphyr's untyped deserialization gives it, when
/// no option of it matters; `None` otherwise.
fn plain_scalar(text: &str, plain: bool) -> Option<Value> {
    if !plain {
        return Some(Value::Str(text.into()));
    }
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Some(Value::Null);
    }
    if let Some(b) = yaml11_bool(text) {
        return Some(Value::Bool(b));
    }
    if let Some(n) = decimal(text) {
        return Some(Value::Int(n));
    }
    not_a_number(text).then(|| Value::Str(text.into()))
}

/// A mapping key's text, when serde-saphyr reads the same text from it; `None` otherwise.
fn plain_key(text: &str, plain: bool) -> Option<SmolStr> {
    let name = plain
        && yaml11_bool(text).is_none()
        && text.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && not_a_number(text);
    (!plain || name || decimal(text).is_some()).then(|| text.into())
}

/// serde-saphyr's YAML 1.1 booleans (`strict_booleans` off, its default).
fn yaml11_bool(text: &str) -> Option<bool> {
    let is = |word: &str| text.eq_ignore_ascii_case(word);
    if is("true") || is("yes") || is("y") || is("on") {
        Some(true)
    } else if is("false") || is("no") || is("n") || is("off") {
        Some(false)
    } else {
        None
    }
}

/// A decimal integer of at most 18 digits without a redundant leading zero, optionally
/// negative.
fn decimal(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let plain = !digits.is_empty()
        && digits.len() <= 18
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    plain.then(|| text.parse().ok()).flatten()
}

/// Text that no integer, float or special-value spelling can match: it starts with a letter
/// and is not `inf`, `infinity` or `nan` in any case, which a float parse accepts (`INFO` is
/// text), or it starts with a digit and holds a character no number in any radix or exponent
/// form has (`30s`, `10ms`).
fn not_a_number(text: &str) -> bool {
    match text.bytes().next() {
        Some(b) if b.is_ascii_alphabetic() => !["inf", "infinity", "nan"]
            .iter()
            .any(|word| text.eq_ignore_ascii_case(word)),
        Some(b) if b.is_ascii_digit() => text
            .bytes()
            .any(|b| !b"0123456789.eE+-_xXoObBaAcCdDfF".contains(&b)),
        _ => false,
    }
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
    // Rendered (which escapes control characters a key may hold) in this tool's words.
    let mut message = error.without_snippet().render_with_formatter(&Wording);
    // serde-saphyr appends " at line L column C"; the position is reported separately.
    if let Some(cut) = message.find(" at line ") {
        message.truncate(cut);
    }
    SyntaxError {
        pos,
        message,
        help: help(innermost(error)),
    }
}

/// serde-saphyr's messages, except those [`reworded`] for the author of the YAML.
struct Wording;

impl serde_saphyr::MessageFormatter for Wording {
    fn format_message<'a>(&self, error: &'a serde_saphyr::Error) -> Cow<'a, str> {
        match reworded(error) {
            Some((message, _)) => message,
            None => serde_saphyr::DefaultMessageFormatter.format_message(error),
        }
    }
}

/// What to do about an error, where the message alone does not say.
fn help(error: &serde_saphyr::Error) -> Option<String> {
    reworded(error).and_then(|(_, help)| help.map(String::from))
}

/// This tool's message and help for the errors serde-saphyr words for the program that calls
/// it (its options and Rust types: "set DuplicateKeyPolicy in Options", "weak recursion types")
/// or says no more than what went wrong.
fn reworded(error: &serde_saphyr::Error) -> Option<(Cow<'_, str>, Option<&'static str>)> {
    use serde_saphyr::Error as E;
    const UNTAG: &str = "remove the tag: what this tool reads is text, numbers and booleans";
    Some(match error {
        E::DuplicateMappingKey { key, .. } => (
            match key {
                Some(key) => format!("duplicate key `{key}` in a mapping").into(),
                None => "duplicate key in a mapping".into(),
            },
            Some("YAML requires the keys of a mapping to be unique: keep one of them"),
        ),
        E::RecursiveReferencesRequireWeakTypes { .. } => (
            "an alias inside the node its anchor names (a recursive alias)".into(),
            Some("an alias (`*name`) must come after the whole node its anchor (`&name`) names"),
        ),
        E::UnknownAnchor { .. } => (
            "an alias to an anchor not defined before it".into(),
            Some("define the anchor (`&name`) before an alias (`*name`) uses it"),
        ),
        // Only keys are read as strings (`KeyText`): values are read as any node.
        E::Unexpected {
            expected: "string scalar",
            ..
        } => (
            "a list or mapping as a mapping key".into(),
            Some("a key is text: a name, or a quoted string"),
        ),
        E::InvalidScalar { ty, .. } if ty.starts_with(['i', 'u']) => (
            "a value tagged `!!int` that is no integer of 64 bits".into(),
            None,
        ),
        E::BinaryNotUtf8 { .. } => (
            "a `!!binary` value that is not UTF-8 text".into(),
            Some(UNTAG),
        ),
        E::TaggedScalarCannotDeserializeIntoString { .. } => (
            "a value with a tag this tool cannot read as text".into(),
            Some(UNTAG),
        ),
        _ => return None,
    })
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

    /// Errors serde-saphyr words for the program calling it ("set DuplicateKeyPolicy in
    /// Options", "weak recursion types") are told to the YAML's author, with what to do.
    #[test]
    fn syntax_errors_speak_to_the_author_of_the_yaml() {
        let cases = [
            (
                "a: 1\nb:\n  c: 2\n  c: 3\n",
                Pos::new(4, 3),
                "duplicate key `c` in a mapping",
                "keys of a mapping to be unique",
            ),
            (
                "a: &x\n  b: *x\n",
                Pos::new(2, 6),
                "a recursive alias",
                "after the whole node",
            ),
            (
                "a: *nope\n",
                Pos::new(1, 4),
                "an anchor not defined before it",
                "define the anchor",
            ),
            (
                "? [a]\n: 1\n",
                Pos::new(1, 3),
                "a list or mapping as a mapping key",
                "a key is text",
            ),
            (
                "a: !!int 1.5\n",
                Pos::new(1, 10),
                "tagged `!!int` that is no integer of 64 bits",
                "",
            ),
            (
                "a: !!int 18446744073709551616\n",
                Pos::new(1, 10),
                "tagged `!!int` that is no integer of 64 bits",
                "",
            ),
            (
                "a: !!binary //8=\n",
                Pos::new(1, 13),
                "not UTF-8 text",
                "remove the tag",
            ),
            (
                "a: !!timestamp 2001-12-14\n",
                Pos::new(1, 16),
                "a tag this tool cannot read as text",
                "remove the tag",
            ),
        ];
        for (text, pos, message, help) in cases {
            let err = parse_stream(text, 1 << 20).unwrap_err();
            assert_eq!(err.pos, Some(pos), "{text:?}: {err:?}");
            assert!(err.message.contains(message), "{text:?}: {err:?}");
            assert_eq!(
                err.help.as_deref().map(|h| h.contains(help)),
                (!help.is_empty()).then_some(true),
                "{text:?}: {err:?}"
            );
        }
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

    #[test]
    fn the_first_syntax_error_of_a_stream_parsed_on_all_cores_is_reported() {
        // 200 documents: the two cores' shares each hold an error; the first share's is first.
        let text: String = (0..200)
            .map(|i| match i {
                30 | 170 => format!("---\ni: [{i}\n"),
                _ => format!("---\ni: {i}\n"),
            })
            .collect();
        let err = parse_stream(&text, 1 << 20).unwrap_err();
        // Document 30's content is the stream's line 62; its `[` is at column 4.
        assert_eq!(err.pos, Some(Pos::new(62, 4)), "{err:?}");
    }

    #[test]
    fn documents_split_at_start_lines_only_and_a_directive_keeps_the_stream_whole() {
        // CRLF line ends, a start line with a comment, `---` inside a block scalar.
        let docs = parse_stream("a: 1\r\n--- # two\r\nb: |\r\n  ---\r\nc: 2\r\n", 1 << 20).unwrap();
        assert_eq!(docs.len(), 2);
        let second = docs[1].root.as_ref().unwrap();
        assert_eq!(second.get("b").unwrap().value, Value::Str("---\n".into()));
        assert_eq!(second.get("c").unwrap().pos, Pos::new(5, 4));
        // A directive after the first document belongs to the second: split at the `---`
        // before it, the second part would start with a directive and no document.
        let docs = parse_stream("a: 1\n...\n%YAML 1.2\n---\nb: 2\n", 1 << 20).unwrap();
        assert_eq!(docs.len(), 2);
        let b = docs[1].root.as_ref().unwrap().get("b").unwrap();
        assert_eq!((b.pos, &b.value), (Pos::new(5, 4), &Value::Int(2)));
    }

    /// Every YAML file of the project (fixtures, Istio's corpus, the fuzz seeds and
    /// regressions) and a mesh export, document by document: where the fast path builds a tree,
    /// serde-saphyr builds the same one, positions included; and the fast path takes most.
    #[test]
    fn the_plain_tree_is_what_serde_saphyr_builds() {
        fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    files(&path, out);
                } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                    out.push(path);
                }
            }
        }
        let mut paths = Vec::new();
        for dir in ["fixtures", "fuzz/seeds", "fuzz/regressions", "schema"] {
            files(std::path::Path::new(dir), &mut paths);
        }
        assert!(paths.len() > 70, "{} files", paths.len());
        let mut texts: Vec<(String, String)> = paths
            .iter()
            .filter_map(|p| Some((p.display().to_string(), std::fs::read_to_string(p).ok()?)))
            .collect();
        let mesh = "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r, namespace: \"ns\"}\nspec:\n  host: svc.ns.svc.cluster.local\n  trafficPolicy:\n    connectionPool:\n      tcp: {maxConnections: 100, connectTimeout: 30s}\n      http:\n        http1MaxPendingRequests: 10\n        idleTimeout: 1h\n        h2UpgradePolicy: UPGRADE\n        useClientProtocol: false\n    outlierDetection: {consecutive5xxErrors: -1, interval: 1.5s, maxEjectionPercent: 100}\n  subsets:\n  - name: v1\n    labels:\n      version: 'v1'\n      canary: yes\n";
        texts.push(("mesh export".into(), mesh.into()));
        for tricky in [
            "\u{feff}a: 1\n",
            "",
            "# only a comment\n",
            "---\n",
            "a: 1\r\nb:\r\n  - x\r\n  - 'y'\r\n",
            "a:\tb\n",
            "a: |\n  literal\n  text\nb: >\n  folded\n  text\n",
            "{a: 1, \"b\": [x, \"y\", 'z'], c: {}}\n",
            "\"quoted key\": v\n'single': w\n",
            "name: nämé\n\"ключ\": значение\nemoji: \"\\u263A\"\n",
            "a: -0\nb: 0\nc: -9223372036854775807\nd: 999999999999999999\n",
            "a:\nb: ~\nc: Null\nd: NULL\ne: ''\n",
            "a: Yes\nb: OFF\nc: y\nd: N\n",
            "a: 30s\nb: 10ms\nc: 1h30m\nd: 127.0.0.1:80\ne: 2001:db8::1\n",
            "a: multi\n  line\n  plain\n",
            "- a\n- b: 1\n  c: 2\n- [1, 2]\n",
            "a: b # comment\nc: d\n",
            "...\n",
            "a: INFO\nb: info\nc: Infinite\nd: nano\ne: NaNs\nf: infinity2\n",
        ] {
            texts.push(("tricky".into(), tricky.into()));
        }
        let (mut fast, mut all) = (0, 0);
        for (name, text) in &texts {
            for chunk in split_documents(text) {
                all += 1;
                let Some(tree) = plain_tree(chunk.text, 250_000) else {
                    continue;
                };
                fast += 1;
                let slow = serde_saphyr_tree(&chunk, 1 << 20, 250_000);
                assert_eq!(Ok(tree), slow, "{name}, line {}", chunk.line_offset + 1);
            }
        }
        assert!(
            fast * 10 >= all * 7,
            "{fast} of {all} documents on the fast path"
        );
        assert!(
            plain_tree(mesh, 250_000).is_some(),
            "the mesh export takes the fast path"
        );
        for schema in [
            "schema/destinationrule.schema.yaml",
            "schema/sidecar.schema.yaml",
        ] {
            let text = std::fs::read_to_string(schema).unwrap();
            assert!(
                plain_tree(&text, 250_000).is_some(),
                "{schema} takes the fast path"
            );
        }
    }

    /// Plain numbers read as Kubernetes reads them. kubectl, Helm and Argo CD turn YAML into
    /// JSON with sigs.k8s.io/yaml over go-yaml v2, whose `resolve.go` (v2.4.2) tries
    /// `strconv.ParseInt(text without underscores, 0, 64)` (a leading zero: octal), then a float
    /// (`08`: 8.0); Go's `encoding/json` writes a whole float below 1e21 as an integer. Each value
    /// below is Go's, by hand; a note only where the octal value is not the decimal reading.
    #[test]
    fn numbers_are_read_as_kubernetes_reads_them() {
        // The spelling, the value, and for a note, the decimal reading beside the octal value.
        let cases: &[(&str, Value, Option<i64>)] = &[
            ("010", Value::Int(8), Some(10)),
            ("0010", Value::Int(8), Some(10)),
            ("-010", Value::Int(-8), Some(-10)),
            ("+010", Value::Int(8), Some(10)),
            ("0_10", Value::Int(8), Some(10)),
            ("0777", Value::Int(511), Some(777)),
            ("07", Value::Int(7), None),
            ("00", Value::Int(0), None),
            ("08", Value::Int(8), None),
            ("019", Value::Int(19), None),
            ("0o10", Value::Int(8), None),
            ("0x0A", Value::Int(10), None),
            ("1_0", Value::Int(10), None),
            ("10.0", Value::Int(10), None),
            ("1e1", Value::Int(10), None),
            ("-2.0", Value::Int(-2), None),
            ("10.5", Value::Float(10.5), None),
            // Whole, but beyond 64 bits: kept as read, for the schema to find out of range.
            ("1e19", Value::Float(1e19), None),
            ("'010'", Value::Str("010".into()), None),
            ("!!str 010", Value::Str("010".into()), None),
            // The one spelling read otherwise: go-yaml v2 drops the underscore (8), serde-saphyr
            // keeps the text, so an integer field reports it (ST102), stricter than the cluster.
            ("010_", Value::Str("010_".into()), None),
        ];
        for (spelling, value, decimal) in cases {
            // Alone, and in a document with an anchor (serde-saphyr's path either way).
            for text in [
                format!("a: {spelling}\n"),
                format!("a: {spelling}\nb: &x 1\n"),
            ] {
                let docs = parse_stream(&text, 1 << 20).unwrap();
                let a = docs[0].root.as_ref().unwrap().get("a").unwrap();
                assert_eq!(&a.value, value, "{text:?}");
                let noted: Vec<_> = docs[0]
                    .octal
                    .iter()
                    .map(|n| (Value::Int(n.value), n.decimal))
                    .collect();
                let expected: Vec<_> = decimal.iter().map(|d| (value.clone(), *d)).collect();
                assert_eq!(noted, expected, "{text:?}");
            }
        }
        // Where the note is, and that a key or an alias of a noted value is not noted again.
        let docs = parse_stream("a: 1\n---\n010: x\nb: [1, &n 011]\nc: *n\n", 1 << 20).unwrap();
        assert!(docs[0].octal.is_empty());
        let root = docs[1].root.as_ref().unwrap();
        assert_eq!(root.get("c").unwrap().value, Value::Int(9));
        let noted: Vec<_> = docs[1]
            .octal
            .iter()
            .map(|n| (n.pos, n.text.as_str()))
            .collect();
        let item = &root.get("b").unwrap().as_seq().unwrap()[1];
        assert_eq!(item.pos, Pos::new(4, 11), "the value, after its anchor");
        assert_eq!(noted, [(item.pos, "011")]);
        // The second pass is skipped only where no number can start with a zero.
        assert!(!may_hold_octal(
            "a: 100\nb: 10.05\nc: v1.0.0\nd: 0.5\ne: 0\nf: x0_1\n"
        ));
        for text in ["010", "a: 010", "a: [1,-07]", "a: +0_1"] {
            assert!(may_hold_octal(text), "{text}");
        }
        // One chunk of two documents (a directive keeps a stream whole): each keeps its own.
        let docs = parse_stream("%YAML 1.1\n---\na: 010\n---\nb: 012\n", 1 << 20).unwrap();
        let lines: Vec<Vec<u32>> = docs
            .iter()
            .map(|d| d.octal.iter().map(|n| n.pos.line).collect())
            .collect();
        assert_eq!(lines, [[3], [5]]);
    }

    /// What the fast path leaves to serde-saphyr: anything whose value depends on its options
    /// or that it rejects.
    #[test]
    fn the_plain_tree_leaves_the_rest_to_serde_saphyr() {
        for text in [
            "a: &x {b: 1}\nc: *x\n", // anchors and aliases
            "a: !!str 1\n",          // tags
            "a: 1\na: 2\n",          // a repeated key: serde-saphyr's error
            "<<: {a: 1}\nb: 2\n",    // a merge key
            "a: 0x1F\n",             // radix
            "a: 1_000\n",            // underscores
            "a: 0127\n",             // a leading zero
            "a: 1.5\n",              // a float
            "a: .inf\n",             // a special float
            "a: nan\n",              // text a float parse takes
            "a: NaN\n",              // in any case
            "a: Infinity\n",         // infinity's spellings
            "a: INF\n",
            "a: [1, 2\n",             // a syntax error
            "plain scalar\n",         // a scalar root
            "? [a]\n: b\n",           // a key that is a sequence
            "on: 1\n",                // a key that is a YAML 1.1 boolean
            "%YAML 1.2\n---\na: 1\n", // a directive
        ] {
            assert_eq!(plain_tree(text, 250_000), None, "{text:?}");
        }
        let many: String = (0..65).map(|i| format!("k{i}: {i}\n")).collect();
        assert_eq!(
            plain_tree(&many, 250_000),
            None,
            "65 keys: duplicates left to serde-saphyr"
        );
        // 1 mapping, 1 key, 1 sequence, 3 items: 6 nodes.
        assert!(plain_tree("a: [1, 2, 3]\n", 12).is_some());
        assert_eq!(
            plain_tree("a: [1, 2, 3]\n", 11),
            None,
            "over half the node budget"
        );
        let deep = |n: usize| "[".repeat(n) + &"]".repeat(n) + "\n";
        assert!(plain_tree(&deep(32), 250_000).is_some());
        assert_eq!(
            plain_tree(&deep(33), 250_000),
            None,
            "over half the depth budget"
        );
    }
}
