//! Findings: the rule lints (`ST2xx`) over loaded rules, on top of the input findings
//! (`ST1xx`) of loading, and the client mismatches (`ST3xx`). Pure: no I/O.

mod lints;
mod mismatch;

pub use lints::{lint_rules, resolution_findings};
pub use mismatch::client_findings;
