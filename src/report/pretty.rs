//! serde_json's pretty printing, with a long array's items rendered in parts on all cores:
//! the same bytes as `serde_json::to_writer_pretty`, for SARIF's results and JSON's findings.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::Formatter;

use super::write_in_parts;

/// Writes `doc` as `serde_json::to_writer_pretty` does, and a line break, with the array under
/// `key` (serialized empty in `doc`, before any other array of that name) holding `items`,
/// each as `item` gives it, `depth` levels in, rendered in parts on all cores.
pub(super) fn write_pretty_with_items<'a, T: Sync, S: Serialize>(
    out: &mut impl Write,
    doc: &impl Serialize,
    key: &str,
    items: &'a [T],
    depth: usize,
    item: impl Fn(&'a T) -> S + Sync,
) -> io::Result<()> {
    let skeleton = serde_json::to_vec_pretty(doc)?;
    let empty = format!("\"{key}\": []");
    // The first unescaped occurrence is the key's: inside strings, quotes are escaped.
    let at = memchr::memmem::find(&skeleton, empty.as_bytes())
        .ok_or_else(|| io::Error::other(format!("no empty `{key}` array to fill")))?
        + empty.len();
    if items.is_empty() {
        out.write_all(&skeleton)?;
        return writeln!(out);
    }
    out.write_all(&skeleton[..at - 1])?;
    write_in_parts(out, items, |part, text| {
        for x in part {
            let mut formatter = Pretty::at(depth);
            formatter.begin_array_value(text, std::ptr::eq(x, &items[0]))?;
            let mut serializer = serde_json::Serializer::with_formatter(&mut *text, formatter);
            item(x).serialize(&mut serializer)?;
        }
        Ok(())
    })?;
    Pretty::at(depth).end_array(out)?;
    out.write_all(&skeleton[at..])?;
    writeln!(out)
}

/// serde_json's `PrettyFormatter` (two spaces a level) starting `depth` levels in, so that an
/// item is written straight in its place in the document: the same bytes as pretty-printing it
/// alone and indenting each of its lines, without the second pass over them.
struct Pretty {
    depth: usize,
    has_value: bool,
}

impl Pretty {
    /// At `depth`; as if it had just written a value, so that one made to close an array
    /// (`end_array`) closes one with items, on a line of its own.
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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

    /// The array filled in place: the bytes of the whole document pretty-printed at once, with
    /// one item, with items across several parts, and empty.
    #[test]
    fn filled_arrays_print_as_serde_json_prints_the_whole() {
        for n in [0, 1, 3, 5000] {
            let items: Vec<u32> = (0..n).collect();
            let item = |&i: &u32| json!({"i": i, "empty": [], "nested": [{"a": i}]});
            let doc = json!({"a": 1, "items": [], "z": {"items": []}});
            let mut out = Vec::new();
            write_pretty_with_items(&mut out, &doc, "items", &items, 2, item).unwrap();
            let whole = json!({
                "a": 1, "items": items.iter().map(item).collect::<Vec<_>>(), "z": {"items": []},
            });
            let expected = serde_json::to_string_pretty(&whole).unwrap() + "\n";
            assert!(String::from_utf8(out).unwrap() == expected, "{n} items");
        }
    }
}
