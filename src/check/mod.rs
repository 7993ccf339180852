//! Findings: the rule lints (`ST2xx`) over loaded rules, on top of the input findings
//! (`ST1xx`) of loading, and the client mismatches (`ST3xx`). Pure: no I/O.

pub mod codes;
mod finding;
mod lints;
mod mismatch;

pub use codes::{Code, CodeInfo, Severity};
pub use finding::{Finding, Label, Location, Sources, Summary};
pub use lints::{lint_rules, resolution_findings};
pub use mismatch::client_findings;
