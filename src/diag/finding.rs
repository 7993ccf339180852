//! Findings: what detection yields, as data. Only `report` turns them into text.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use super::Pos;
use super::codes::{Code, Severity};

/// A place in an input: file (or `-` for standard input), line and column.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The file as the user named it.
    pub file: Arc<str>,
    /// Line and column (1-based); `0:0` when the problem concerns the whole file.
    pub pos: Pos,
}

impl Location {
    /// A location in `file` at `pos`.
    pub fn new(file: &Arc<str>, pos: Pos) -> Self {
        Self {
            file: Arc::clone(file),
            pos,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pos.line == 0 {
            f.write_str(&self.file)
        } else {
            write!(f, "{}:{}:{}", self.file, self.pos.line, self.pos.column)
        }
    }
}

/// A secondary place a finding refers to, with what it has to do with the finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub location: Location,
    /// What is there, e.g. "the top-level limit is set here".
    pub message: String,
}

/// One problem or observation, with the place it points at and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The stable code.
    pub code: Code,
    /// The severity (the code's, unless overridden).
    pub severity: Severity,
    /// One line: what is wrong, lowercase, no final period.
    pub message: String,
    /// Where it is.
    pub location: Location,
    /// What to do about it.
    pub help: Option<String>,
    /// Other places involved.
    pub labels: Vec<Label>,
}

impl Finding {
    /// A finding of `code` at `location`, with the code's severity.
    pub fn new(code: Code, location: Location, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: code.severity(),
            message: message.into(),
            location,
            help: None,
            labels: Vec::new(),
        }
    }

    /// Adds the `help:` line.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Gives the finding `severity` instead of its code's default.
    #[must_use]
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Adds a secondary label.
    #[must_use]
    pub fn label(mut self, location: Location, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            location,
            message: message.into(),
        });
        self
    }
}

/// Counts of findings by severity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Findings of severity error.
    pub errors: usize,
    /// Findings of severity warning.
    pub warnings: usize,
    /// Findings of severity note.
    pub notes: usize,
}

impl Summary {
    /// Counts `findings`.
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Self {
        findings.into_iter().fold(Self::default(), |mut s, f| {
            match f.severity {
                Severity::Error => s.errors += 1,
                Severity::Warning => s.warnings += 1,
                Severity::Note => s.notes += 1,
            }
            s
        })
    }
}

impl fmt::Display for Summary {
    /// `3 errors, 1 warning`: the counts that are not zero, or `no findings`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts = [
            (self.errors, "error"),
            (self.warnings, "warning"),
            (self.notes, "note"),
        ];
        let parts: Vec<String> = counts
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, word)| format!("{n} {word}{}", if *n == 1 { "" } else { "s" }))
            .collect();
        if parts.is_empty() {
            f.write_str("no findings")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// The longest source line a finding shows, in bytes ([`Sources::line`]).
const SNIPPET_LINE_MAX: usize = 1024;

/// The text of each input, kept so that reports can show the line a finding points at.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    texts: HashMap<Arc<str>, SourceText>,
}

#[derive(Clone, Debug)]
struct SourceText {
    text: Arc<str>,
    /// Byte offset of the start of each line.
    line_starts: Arc<[usize]>,
}

impl Sources {
    /// Keeps `text` as the content of `file`.
    pub fn insert(&mut self, file: &Arc<str>, text: Arc<str>) {
        let line_starts = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
            .collect();
        self.texts
            .insert(Arc::clone(file), SourceText { text, line_starts });
    }

    /// Adds the texts of `other`.
    pub fn extend(&mut self, other: Sources) {
        self.texts.extend(other.texts);
    }

    /// The line `location` points at, without its line break, for the finding's snippet (text
    /// and SARIF); `None` for a whole-file location, an unknown file, or a line longer than
    /// 1 KB. A snippet shows no more than a terminal's width of its line, and a flow list of
    /// 100,000 hosts on one line of 1.3 MB, each an error, made the text report take minutes
    /// (annotate-snippets reads the whole line for each finding) and SARIF 19 GB (a copy of
    /// the line in each result).
    pub fn line(&self, location: &Location) -> Option<&str> {
        let source = self.texts.get(&location.file)?;
        let index = usize::try_from(location.pos.line).ok()?.checked_sub(1)?;
        let start = *source.line_starts.get(index)?;
        let end = source
            .line_starts
            .get(index + 1)
            .map_or(source.text.len(), |next| next - 1);
        let line = source.text[start..end].trim_end_matches('\r');
        (line.len() <= SNIPPET_LINE_MAX).then_some(line)
    }
}
