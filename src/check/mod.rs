//! Findings: the rule lints (`ST2xx`) over loaded rules, on top of the input findings
//! (`ST1xx`) of loading. Pure: no I/O.

pub mod codes;
mod finding;
mod lints;

pub use codes::{Code, CodeInfo, Severity};
pub use finding::{Finding, Label, Location, Summary};
pub use lints::{lint_rules, resolution_findings};
