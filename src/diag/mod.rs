//! Diagnostics: positions, locations, findings and their stable codes, and the texts of the
//! inputs they point into. The leaf every stage reports through: it uses nothing else of the
//! crate. Only `report` turns findings into text.

use std::fmt;

mod codes;
mod finding;

pub use codes::{Code, CodeInfo, Severity};
pub use finding::{Finding, Label, Location, Sources, Summary};

/// A 1-based line and column in an input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (in characters).
    pub column: u32,
}

impl Pos {
    /// A position at `line`, `column`.
    pub const fn new(line: u32, column: u32) -> Self {
        Self { line, column }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}
