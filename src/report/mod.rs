//! Rendering: findings and plans as text for people and JSON for machines. The only module
//! that turns findings into text.

mod emit;
mod pretty;
mod sarif;
#[cfg(feature = "sidecar")]
mod svg;

use std::fmt;
use std::io::{self, Write};

use annotate_snippets::{AnnotationKind, Level, Origin, Renderer, Snippet};
use serde::Serialize;
use serde_json::json;

use crate::diag::Pos;
use crate::diag::{Finding, Location, Severity, Sources, Summary};
use crate::istio::inbound::Inbound;
use crate::istio::model::DestinationRule;
use crate::istio::resolve::{Destination, Resolution, rule_namespace};
use crate::istio::yaml::parallel_map;
use crate::plan::{Plan, UNLIMITED};
use pretty::write_pretty_with_items;

pub use emit::{Emit, emit};
pub use sarif::findings_sarif;
#[cfg(feature = "sidecar")]
pub use svg::bench_svg;

/// What [`Tuner::build`](crate::Tuner::build) found: the findings about the input and the
/// rule that applies, and how each client setting was derived, from which lines.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Report {
    /// Findings, in reading order. Warnings and notes do not stop a build.
    pub findings: Vec<Finding>,
    /// How each client setting was derived.
    pub derivations: Vec<DerivedSetting>,
    /// The text of the inputs, for source snippets.
    pub sources: Sources,
    /// How many files were read.
    pub files: usize,
    /// How many DestinationRules they hold.
    pub rules: usize,
}

/// One client setting, the arithmetic behind it, and where its inputs are written.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DerivedSetting {
    /// The setting, e.g. `max_in_flight`.
    pub setting: &'static str,
    /// The arithmetic, e.g. `104 = max(1, floor(0.95 x min(100 + 10, unlimited)))`.
    pub explanation: String,
    /// The rule's lines it was derived from.
    pub sources: Vec<Location>,
}

impl Report {
    /// A report of `findings`, in reading order (by file, then position; stable for equal
    /// positions); `sources` are the inputs' text, for snippets.
    pub fn new(mut findings: Vec<Finding>, sources: Sources) -> Self {
        findings.sort_by(|a, b| a.location.cmp(&b.location));
        Self {
            findings,
            sources,
            ..Self::default()
        }
    }

    /// The report with how each setting of `plan` was derived.
    pub fn with_derivations(mut self, plan: &Plan) -> Self {
        self.derivations = plan
            .derivations
            .iter()
            .map(|d| DerivedSetting {
                setting: d.setting,
                explanation: d.explanation.clone(),
                sources: d.sources.clone(),
            })
            .collect();
        self
    }

    /// Counts by severity.
    pub fn summary(&self) -> Summary {
        Summary::of(&self.findings)
    }
}

/// Writes a report's findings for people, as [`findings_text`] does (`check`'s text format).
pub fn report_text(out: &mut impl Write, report: &Report, color: bool) -> io::Result<()> {
    findings_text(out, &report.findings, &report.sources, color)
}

/// Writes a report's findings as JSON, as [`findings_json`] does (`check --format json`).
pub fn report_json(out: &mut impl Write, report: &Report) -> io::Result<()> {
    findings_json(out, &report.findings, report.files, report.rules)
}

/// Writes a report's findings as SARIF 2.1.0 (`check --format sarif`).
pub fn report_sarif(out: &mut impl Write, report: &Report) -> io::Result<()> {
    findings_sarif(out, &report.findings, &report.sources)
}

/// A report's findings, then one `note:` per derived setting with the lines it comes from.
fn report_with_derivations(out: &mut impl Write, report: &Report) -> io::Result<()> {
    report_text(out, report, false)?;
    for d in &report.derivations {
        write!(out, "note: {} {}", d.setting, d.explanation)?;
        let sources: Vec<String> = d.sources.iter().map(Location::to_string).collect();
        if sources.is_empty() {
            writeln!(out)?;
        } else {
            writeln!(out, " (from {})", sources.join(", "))?;
        }
    }
    Ok(())
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = Vec::new();
        report_with_derivations(&mut text, self).map_err(|_| fmt::Error)?;
        f.write_str(&String::from_utf8_lossy(&text))
    }
}

/// Writes findings as a compiler would print them (as annotate-snippets renders them, like
/// rustc's and cargo's; a plain short ASCII finding is written straight, in the same bytes):
/// severity and code, message, `-->` location, the source line with carets under the value
/// (when `sources` has the file), notes, `help:`; then the summary line. ANSI colours only
/// when `color` is set.
pub fn findings_text(
    out: &mut impl Write,
    findings: &[Finding],
    sources: &Sources,
    color: bool,
) -> io::Result<()> {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    write_in_parts(out, findings, |part, text| {
        for f in part {
            let line = sources.line(&f.location);
            if color || !render_plain(text, f, line)? {
                render_finding(text, &renderer, f, line);
            }
        }
        Ok(())
    })?;
    writeln!(out, "{}", Summary::of(findings))
}

/// Findings rendered per part.
const FINDINGS_PER_PART: usize = 1024;

/// Parts rendered before they are written: the rendered text held at once is that of 16,384
/// findings, whatever their number.
const PARTS_AT_ONCE: usize = 16;

/// Renders `items` in parts on all cores, `PARTS_AT_ONCE` at a time, and writes them in order
/// (text, JSON and SARIF: a 10,000-rule mesh can draw 40,000 findings, 40,000 rules 160,000).
fn write_in_parts<'a, T: Sync>(
    out: &mut impl Write,
    items: &'a [T],
    render: impl Fn(&'a [T], &mut Vec<u8>) -> io::Result<()> + Sync,
) -> io::Result<()> {
    let parts: Vec<&[T]> = items.chunks(FINDINGS_PER_PART).collect();
    for parts in parts.chunks(PARTS_AT_ONCE) {
        let rendered = parallel_map(parts, |part| {
            let mut text = Vec::new();
            render(part, &mut text).map(|()| text)
        });
        for text in rendered {
            out.write_all(&text?)?;
        }
    }
    Ok(())
}

/// One finding as annotate-snippets renders it, and a blank line; `line` is its source line,
/// when the input's text is at hand (looked up once for this and [`render_plain`]).
fn render_finding(text: &mut Vec<u8>, renderer: &Renderer, f: &Finding, line: Option<&str>) {
    let level = match f.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Note => Level::NOTE,
    };
    let title = level.primary_title(&*f.message).id(f.code.as_str());
    let mut group = match line {
        Some(line) => title.element(
            Snippet::source(line)
                .line_start(f.location.pos.line as usize)
                .path(&*f.location.file)
                .annotation(AnnotationKind::Primary.span(token(line, f.location.pos))),
        ),
        None => title.element(origin(&f.location)),
    };
    for label in &f.labels {
        group =
            group.element(Level::NOTE.message(format!("{}: {}", label.location, label.message)));
    }
    if let Some(help) = &f.help {
        group = group.element(Level::HELP.message(&**help));
    }
    text.extend_from_slice(renderer.render(&[group]).as_bytes());
    text.extend_from_slice(b"\n\n");
}

/// The longest source line [`render_plain`] writes itself; annotate-snippets cuts longer
/// ones to the terminal's width.
const PLAIN_LINE_MAX: usize = 100;

/// The deepest indentation [`render_plain`] writes itself; annotate-snippets replaces more
/// than 26 columns of it by `...`.
const PLAIN_INDENT_MAX: usize = 20;

/// Writes the plain (uncoloured) rendering of `f` straight, byte for byte what
/// [`render_finding`] prints for it, when everything in it is short printable ASCII on one
/// line: the source line (not deeply indented), the message, the notes, the help and the
/// paths. Returns false, having written nothing, for anything else (tabs, Unicode, long or
/// deeply indented lines, no source line), which annotate-snippets renders. The crate's styled
/// buffer compares every character's style, also for plain text, a third of its time; its
/// rendering of 40,000 warnings took 0.13 to 0.27 s on both cores (test
/// `plain_findings_render_as_annotate_snippets_does`).
fn render_plain(text: &mut Vec<u8>, f: &Finding, line: Option<&str>) -> io::Result<bool> {
    fn printable(s: &str) -> bool {
        s.bytes().all(|b| (b' '..=b'~').contains(&b))
    }
    let Some(line) = line else {
        return Ok(false);
    };
    let span = token(line, f.location.pos);
    let simple = line.len() <= PLAIN_LINE_MAX
        && line.len() - line.trim_start().len() <= PLAIN_INDENT_MAX
        && !span.is_empty()
        && printable(line)
        && printable(&f.message)
        && printable(&f.location.file)
        && f.help.as_deref().is_none_or(printable)
        && f.labels
            .iter()
            .all(|l| printable(&l.message) && printable(&l.location.file));
    if !simple {
        return Ok(false);
    }
    let number = f.location.pos.line.to_string();
    let pad = " ".repeat(number.len());
    let level = f.severity.as_str();
    let column = span.start + 1;
    let (file, message, code) = (&f.location.file, &f.message, f.code.as_str());
    let carets = "^".repeat(span.len());
    let indent = " ".repeat(span.start);
    write!(
        text,
        "{level}[{code}]: {message}\n{pad}--> {file}:{number}:{column}\n{pad} |\n\
         {number} | {line}\n{pad} | {indent}{carets}\n"
    )?;
    if !f.labels.is_empty() || f.help.is_some() {
        writeln!(text, "{pad} |")?;
    }
    for label in &f.labels {
        writeln!(text, "{pad} = note: {}: {}", label.location, label.message)?;
    }
    if let Some(help) = &f.help {
        writeln!(text, "{pad} = help: {help}")?;
    }
    writeln!(text)?;
    Ok(true)
}

/// Where a finding is, when its text is not at hand: the file, and the line and column when
/// known.
fn origin(location: &Location) -> Origin<'_> {
    let origin = Origin::path(&*location.file);
    if location.pos.line == 0 {
        origin
    } else {
        origin
            .line(location.pos.line as usize)
            .char_column(location.pos.column.max(1) as usize)
    }
}

/// The bytes of `line` the carets go under: the token at `pos` (column 1-based, in
/// characters), up to the next delimiter or space; at least one character.
fn token(line: &str, pos: Pos) -> std::ops::Range<usize> {
    let column = usize::try_from(pos.column.max(1) - 1).unwrap_or(0);
    let start = line
        .char_indices()
        .nth(column)
        .map_or(line.len(), |(i, _)| i);
    let rest = &line[start..];
    let len = rest
        .char_indices()
        .find(|&(_, c)| matches!(c, ':' | ',' | '}' | ']' | '#') || c.is_whitespace())
        .map_or(rest.len(), |(i, _)| i);
    let len = if len == 0 {
        rest.chars().next().map_or(0, char::len_utf8)
    } else {
        len
    };
    start..start + len
}

/// One finding in `check --format json`; fields in sorted order, as the keys have always been.
#[derive(Serialize)]
struct JsonFinding<'a> {
    code: &'static str,
    column: u32,
    file: &'a str,
    help: Option<&'a str>,
    line: u32,
    message: &'a str,
    related: Vec<JsonRelated<'a>>,
    severity: &'static str,
}

#[derive(Serialize)]
struct JsonRelated<'a> {
    column: u32,
    file: &'a str,
    line: u32,
    message: &'a str,
}

fn json_finding(f: &Finding) -> JsonFinding<'_> {
    JsonFinding {
        code: f.code.as_str(),
        column: f.location.pos.column,
        file: &f.location.file,
        help: f.help.as_deref(),
        line: f.location.pos.line,
        message: &f.message,
        related: f
            .labels
            .iter()
            .map(|l| JsonRelated {
                column: l.location.pos.column,
                file: &l.location.file,
                line: l.location.pos.line,
                message: &l.message,
            })
            .collect(),
        severity: f.severity.as_str(),
    }
}

/// Writes findings as `{"findings": [...], "summary": {...}}`, the findings rendered in parts
/// on all cores (a 10,000-rule mesh can draw 40,000), never the whole document held at once.
pub fn findings_json(
    out: &mut impl Write,
    findings: &[Finding],
    files: usize,
    rules: usize,
) -> io::Result<()> {
    #[derive(Serialize)]
    struct Doc {
        /// Left empty: the findings are rendered apart and written in its place.
        findings: [(); 0],
        summary: JsonSummary,
    }
    #[derive(Serialize)]
    struct JsonSummary {
        errors: usize,
        files: usize,
        notes: usize,
        rules: usize,
        warnings: usize,
    }
    let summary = Summary::of(findings);
    let doc = Doc {
        findings: [],
        summary: JsonSummary {
            errors: summary.errors,
            files,
            notes: summary.notes,
            rules,
            warnings: summary.warnings,
        },
    };
    // `findings[i]` is two levels in.
    write_pretty_with_items(out, &doc, "findings", findings, 2, json_finding)
}

fn threshold(n: u32) -> String {
    if n == UNLIMITED {
        format!("{n} (unlimited)")
    } else {
        n.to_string()
    }
}

/// Writes a plan for people: the destination, the rule (and those passed over), the sidecar's
/// limits and the client settings with how each was derived.
pub fn plan_text(out: &mut impl Write, resolution: &Resolution<'_>, plan: &Plan) -> io::Result<()> {
    let s = &plan.sidecar;
    let c = &plan.client;
    let d = &resolution.destination;
    writeln!(out, "destination  {d}")?;
    let labels: Vec<String> = d.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    writeln!(
        out,
        "client       namespace {}{}",
        d.namespace,
        if labels.is_empty() {
            String::new()
        } else {
            format!(", labels {}", labels.join(","))
        }
    )?;
    match &resolution.found {
        Some(found) => {
            for (rule, what) in resolution.contributions() {
                writeln!(
                    out,
                    "rule         {} ({}:{}), found in {}: {what}",
                    rule.id(),
                    rule.origin.file,
                    rule.origin.pos,
                    found.step
                )?;
            }
        }
        None => writeln!(out, "rule         {}", resolution.describe())?,
    }
    for passed in &resolution.passed_over {
        writeln!(out, "passed over  {}: {}", passed.rule.id(), passed.reason)?;
    }
    writeln!(out)?;
    writeln!(out, "sidecar (what Envoy enforces)")?;
    writeln!(
        out,
        "  max_connections              {}",
        threshold(s.max_connections)
    )?;
    writeln!(
        out,
        "  max_pending_requests         {}",
        threshold(s.max_pending_requests)
    )?;
    writeln!(
        out,
        "  max_requests                 {}",
        threshold(s.max_requests)
    )?;
    writeln!(
        out,
        "  max_retries                  {}",
        threshold(s.max_retries)
    )?;
    let per_conn = s
        .max_requests_per_connection
        .map_or_else(|| "unlimited".to_owned(), |n| n.to_string());
    writeln!(out, "  max_requests_per_connection  {per_conn}")?;
    writeln!(
        out,
        "  idle_timeout                 {}",
        if s.idle_timeout.is_zero() {
            "none (0s: idle connections are never closed)".to_owned()
        } else {
            crate::plan::fmt_duration(s.idle_timeout)
        }
    )?;
    writeln!(
        out,
        "  connect_timeout              {}",
        crate::plan::fmt_duration(s.connect_timeout)
    )?;
    writeln!(out)?;
    match plan.processes {
        1 => writeln!(out, "client (what to configure)")?,
        k => writeln!(
            out,
            "client (what to configure in each of the {k} processes that share the sidecar)"
        )?,
    }
    let idle = c
        .pool_max_idle_per_host
        .map_or_else(|| "unbounded".to_owned(), |n| n.to_string());
    writeln!(out, "  pool_max_idle_per_host       {idle}")?;
    let in_flight = c
        .max_in_flight
        .map_or_else(|| "unbounded".to_owned(), |n| n.to_string());
    writeln!(out, "  max_in_flight                {in_flight}")?;
    writeln!(out, "  http1_only                   {}", c.http1_only)?;
    writeln!(
        out,
        "  pool_idle_timeout            {}",
        crate::plan::fmt_duration(c.pool_idle_timeout)
    )?;
    writeln!(
        out,
        "  connect_timeout              {}",
        crate::plan::fmt_duration(c.connect_timeout)
    )?;
    let keepalive = c.tcp_keepalive.map_or_else(
        || "off (the rule sets none)".to_owned(),
        crate::plan::fmt_duration,
    );
    writeln!(out, "  tcp_keepalive                {keepalive}")?;
    writeln!(out)?;
    writeln!(out, "derivation")?;
    for d in &plan.derivations {
        let lines: Vec<String> = d.sources.iter().map(Location::to_string).collect();
        let from = if lines.is_empty() {
            String::new()
        } else {
            format!("  [{}]", lines.join(", "))
        };
        writeln!(out, "  {:<28} {}{from}", d.setting, d.explanation)?;
    }
    Ok(())
}

/// Writes a plan as JSON: `destination`, `rule`, `passed_over`, `sidecar` and `client`.
pub fn plan_json(out: &mut impl Write, resolution: &Resolution<'_>, plan: &Plan) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &plan_doc(resolution, plan))?;
    writeln!(out)
}

/// Writes the plan of a server workload's inbound side as JSON: the fields of [`plan_json`]
/// (`destination` is the workload, `sidecar` what its own sidecar enforces inbound), with
/// `"direction": "inbound"`, the `Sidecar` resource that applies (`sidecar_resource`) and
/// where the pool comes from (`connection_pool_from`).
pub fn inbound_plan_json(
    out: &mut impl Write,
    inbound: &Inbound<'_>,
    plan: &Plan,
) -> io::Result<()> {
    let mut doc = plan_doc(&inbound.resolution, plan);
    doc["direction"] = json!("inbound");
    doc["sidecar_resource"] = json!(inbound.sidecar.map(|s| json!({
        "name": s.name.value,
        "namespace": crate::istio::model::namespace_or(s.namespace.as_ref(), &inbound.resolution.destination.namespace),
        "file": &*s.origin.file,
        "line": s.origin.pos.line,
        "why": inbound.sidecar_step.as_ref().map(ToString::to_string),
    })));
    doc["connection_pool_from"] = json!(
        inbound
            .resolution
            .policy
            .connection_pool
            .as_ref()
            .map(|p| p.source.to_string())
    );
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// Writes the plan of a server workload's inbound side as text: the Sidecar that applies and
/// where the pool comes from, then [`plan_text`].
pub fn inbound_plan_text(
    out: &mut impl Write,
    inbound: &Inbound<'_>,
    plan: &Plan,
) -> io::Result<()> {
    writeln!(
        out,
        "direction    inbound: the server's own sidecar, in front of the application"
    )?;
    match inbound.sidecar {
        Some(s) => writeln!(
            out,
            "Sidecar      {} ({}:{}): {}",
            s.id(),
            s.origin.file,
            s.origin.pos,
            inbound
                .sidecar_step
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default()
        )?,
        None => writeln!(out, "Sidecar      none applies")?,
    }
    match &inbound.resolution.policy.connection_pool {
        Some(p) => writeln!(
            out,
            "pool         {} ({}:{})",
            p.source, p.file, p.value.pos
        )?,
        None => writeln!(
            out,
            "pool         none: Istio's defaults (every limit 4294967295, idle timeout 1h)"
        )?,
    }
    plan_text(out, &inbound.resolution, plan)
}

fn plan_doc(resolution: &Resolution<'_>, plan: &Plan) -> serde_json::Value {
    let destination: &Destination = &resolution.destination;
    let client_ns = destination.namespace.as_str();
    let rule_json = |rule: &DestinationRule| {
        json!({
            "name": rule.name.value,
            "namespace": rule_namespace(rule, client_ns),
            "file": &*rule.origin.file,
            "line": rule.origin.pos.line,
        })
    };
    json!({
        "destination": {
            "host": destination.host,
            "namespace": destination.namespace,
            "labels": destination.labels,
            "port": destination.port,
            "subset": destination.subset,
            "service_namespace": destination.effective_service_namespace(),
            "service_host": destination.service_host,
        },
        "rule": resolution.rule().map(rule_json),
        "found_in": resolution.found.as_ref().map(|f| f.step.to_string()),
        "from": resolution.contributions().into_iter().map(|(rule, what)| {
            let mut entry = rule_json(rule);
            entry["contribution"] = json!(what);
            entry
        }).collect::<Vec<_>>(),
        "passed_over": resolution.passed_over.iter().map(|p| {
            let mut entry = rule_json(p.rule);
            entry["reason"] = json!(p.reason);
            entry
        }).collect::<Vec<_>>(),
        "sidecar": plan.sidecar,
        "processes": plan.processes,
        "client": plan.client,
    })
}

#[cfg(feature = "sidecar")]
/// Writes the keep-alive scenario's report as a table: per server, `default` and `recommended`
/// side by side, with Envoy's counts.
pub fn keepalive_text(
    out: &mut impl Write,
    report: &crate::bench::keepalive::KeepAliveReport,
) -> io::Result<()> {
    let gap = report.idle_gap_ms.map_or_else(
        || "each server's measured idle close".to_owned(),
        |g| format!("{g}ms"),
    );
    writeln!(
        out,
        "server keep-alive {}ms, idle gap {gap} (+ up to 2 x close delay), relay close delay {}ms, Envoy {}",
        report.server_keep_alive_ms, report.close_delay_ms, report.envoy_version
    )?;
    for (server, version, closes) in &report.server_versions {
        writeln!(
            out,
            "  {:<13} {version}, closes an idle connection {closes}ms after its answer",
            server.as_str()
        )?;
    }
    writeln!(
        out,
        "{:<13} {:<11} {:>9} {:>8} {:>6} {:>5} {:>6} {:>5} {:>14} {:>12} {:>13}",
        "server",
        "settings",
        "idle",
        "requests",
        "ok",
        "503",
        "errors",
        "UC",
        "cx_destroy_rq",
        "idle_closes",
        "server_closes"
    )?;
    for run in &report.runs {
        let idle = run
            .idle_timeout_ms
            .map_or_else(|| "1h".to_owned(), |ms| format!("{ms}ms"));
        writeln!(
            out,
            "{:<13} {:<11} {:>9} {:>8} {:>6} {:>5} {:>6} {:>5} {:>14} {:>12} {:>13}",
            run.server.as_str(),
            run.settings,
            idle,
            run.requests,
            run.ok,
            run.status_503,
            run.errors,
            run.uc,
            run.destroy_remote_with_active_rq,
            run.idle_timeouts,
            run.server_closes
        )?;
    }
    writeln!(
        out,
        "UC: access-log lines `503 UC`; cx_destroy_rq: upstream_cx_destroy_remote_with_active_rq; idle_closes: upstream_cx_idle_timeout"
    )
}

#[cfg(feature = "sidecar")]
/// Writes a bench report as a table: per concurrency, the clients side by side.
pub fn bench_text(out: &mut impl Write, report: &crate::bench::BenchReport) -> io::Result<()> {
    write!(out, "rule {}, Envoy {}", report.rule, report.envoy_version)?;
    match report.processes {
        1 => writeln!(out)?,
        k => writeln!(
            out,
            ", {k} processes sharing the sidecar (callers spread over them)"
        )?,
    }
    // Wide enough for the longest client name (`httpclient5-defaults`).
    let w = report
        .runs
        .iter()
        .map(|r| r.client.as_str().len())
        .max()
        .unwrap_or(0)
        .max(8);
    writeln!(
        out,
        "{:>5}  {:<w$} {:>8} {:>6} {:>9} {:>7} {:>7} {:>6} {:>10} {:>8} {:>8} {:>8} {:>6} {:>6}",
        "conc",
        "client",
        "requests",
        "ok",
        "overflow",
        "errors",
        "pending",
        "active",
        "goodput/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "conns",
        "limit"
    )?;
    let opt = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
    for r in &report.runs {
        writeln!(
            out,
            "{:>5}  {:<w$} {:>8} {:>6} {:>9} {:>7} {:>7} {:>6} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>6} {:>6}",
            r.concurrency,
            r.client.as_str(),
            r.requests,
            r.ok,
            r.overflow_503,
            r.errors,
            opt(r.envoy_pending_overflow),
            opt(r.envoy_active_overflow),
            r.goodput_rps,
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            opt(r.connections_opened),
            opt(r.final_limit.map(|l| l as u64))
        )?;
    }
    writeln!(
        out,
        "overflow: 503 with x-envoy-overloaded seen by the caller; pending/active: Envoy's \
         upstream_rq_pending_overflow / upstream_rq_active_overflow; conns: connections to the \
         sidecar; limit: the aligned client's limit at the end"
    )
}

#[cfg(feature = "sidecar")]
/// Writes a bench report as JSON: `{"runs": [...], "envoy_version", "rule"}`.
pub fn bench_json(out: &mut impl Write, report: &crate::bench::BenchReport) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::diag::Code;

    /// 2,500 findings on a 2,500-line file: one per line, some with a label and a help.
    fn findings() -> (Vec<Finding>, Sources) {
        let file: Arc<str> = Arc::from("mesh.yaml");
        let text: String = (1..=2500).map(|i| format!("key{i}: {i}\n")).collect();
        let mut sources = Sources::default();
        sources.insert(&file, Arc::from(text));
        let findings = (1..=2500u32)
            .map(|i| {
                let finding = Finding::new(
                    Code::PolicyDropsLimit,
                    Location::new(&file, Pos::new(i, 1)),
                    format!("finding {i}"),
                );
                if i % 2 == 0 {
                    finding
                        .label(Location::new(&file, Pos::new(1, 7)), "set here")
                        .help("restate it")
                } else {
                    finding
                }
            })
            .collect();
        (findings, sources)
    }

    /// The text format renders its findings in parts on all cores: every finding once, in order,
    /// each with its own line under it, then the summary.
    #[test]
    fn many_findings_print_in_order_with_their_lines() {
        let (findings, sources) = findings();
        let mut out = Vec::new();
        findings_text(&mut out, &findings, &sources, false).unwrap();
        let out = String::from_utf8(out).unwrap();
        let titles: Vec<&str> = out.lines().filter(|l| l.starts_with("warning[")).collect();
        let expected: Vec<String> = (1..=2500)
            .map(|i| format!("warning[ST205]: finding {i}"))
            .collect();
        assert_eq!(titles, expected);
        for i in [1, 1024, 1025, 2048, 2500] {
            let at = format!("--> mesh.yaml:{i}:1\n");
            let source_line = format!("{i} | key{i}: {i}");
            let after = &out[out.find(&at).unwrap()..];
            assert!(after.contains(&source_line), "{i}");
        }
        assert_eq!(out.matches("help: restate it").count(), 1250);
        assert!(
            out.ends_with("\n\n2500 warnings\n"),
            "{}",
            &out[out.len() - 40..]
        );
    }

    /// Whether [`render_plain`] takes `f`; when it does, asserts it prints what
    /// [`render_finding`] (annotate-snippets) prints.
    fn plain_renders_as_the_crate(f: &Finding, sources: &Sources) -> bool {
        let mut expected = Vec::new();
        let line = sources.line(&f.location);
        render_finding(&mut expected, &Renderer::plain(), f, line);
        let mut plain = Vec::new();
        let taken = render_plain(&mut plain, f, line).unwrap();
        if taken {
            assert_eq!(
                String::from_utf8(plain).unwrap(),
                String::from_utf8(expected).unwrap(),
                "{f:?}"
            );
        } else {
            assert!(plain.is_empty(), "wrote without taking it: {f:?}");
        }
        taken
    }

    /// The hand-written plain renderer writes what annotate-snippets writes, byte for byte, for
    /// every finding it takes: all those of the fixtures (every code, bad inputs included), and
    /// lines from empty to the longest it takes, carets at every column, line numbers of one to
    /// six digits, with and without notes and help; it leaves tabs, Unicode and long lines.
    #[test]
    fn plain_findings_render_as_annotate_snippets_does() {
        let (mut taken, mut left) = (0, 0);
        let mut compare = |f: &Finding, sources: &Sources| {
            if plain_renders_as_the_crate(f, sources) {
                taken += 1;
            } else {
                left += 1;
            }
        };
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
        let loaded = crate::istio::load::load_paths(&[fixtures], &Default::default()).unwrap();
        let mesh = Default::default();
        let index = crate::istio::resolve::MeshIndex::new(&loaded.rules, &mesh, "default");
        let fixture_findings: Vec<Finding> = loaded
            .findings
            .iter()
            .cloned()
            .chain(crate::check::lint_rules(&index))
            .collect();
        assert!(fixture_findings.len() > 100, "{}", fixture_findings.len());
        let fixture_taken = fixture_findings
            .iter()
            .filter(|f| plain_renders_as_the_crate(f, &loaded.sources))
            .count();
        assert!(
            fixture_taken * 2 > fixture_findings.len(),
            "{fixture_taken}"
        );

        let file: Arc<str> = Arc::from("mesh.yaml");
        let long = "k".repeat(PLAIN_LINE_MAX);
        let indented = |n| format!("{}x: 1", " ".repeat(n));
        let lines = [
            "",
            "a",
            "  key: value",
            "key: value   ",
            "- {a: 1, b: [2, 3]}  # note",
            "host: \"*.svc\"",
            "`~!@$%^&*()_+=|\\;'<>?/",
            &long,
            &indented(PLAIN_INDENT_MAX),
            &indented(PLAIN_INDENT_MAX + 1),
            &indented(PLAIN_LINE_MAX - 4),
            "tab\there",
            "host: r\u{e9}views",
            &format!("{long}k"),
        ];
        let numbers = [1, 9, 10, 99, 100, 12345, 999_999];
        for (n, line) in lines.iter().enumerate() {
            let number = numbers[n % numbers.len()];
            let text = "\n".repeat(number as usize - 1) + line + "\n";
            let mut sources = Sources::default();
            sources.insert(&file, Arc::from(text));
            for column in 1..=line.chars().count() as u32 + 1 {
                let f = Finding::new(
                    Code::PolicyDropsLimit,
                    Location::new(&file, Pos::new(number, column)),
                    "the pool `{a}` drops [x] | y",
                );
                compare(&f, &sources);
                let f = f.help("restate it: `a: 1`");
                compare(&f, &sources);
                let other = Location::new(&file, Pos::new(3, 4));
                compare(&f.clone().label(other.clone(), "set here"), &sources);
                compare(&f.label(other.clone(), "one").label(other, "two"), &sources);
            }
        }
        assert!(taken > 500, "{taken}");
        assert!(left > 100, "tabs, Unicode and long lines: {left}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]
        /// Any line of printable ASCII (spaces weighed in), any column, message and help: where
        /// the plain renderer takes a finding, it prints annotate-snippets' bytes.
        #[test]
        fn any_plain_finding_renders_as_annotate_snippets_does(
            line in "[ ]{0,30}[ -~]{0,90}",
            number in 1u32..200_000,
            column in 1u32..130,
            message in "[ -~]{1,80}",
            help in proptest::option::of("[ -~]{0,60}"),
            labels in 0usize..3,
        ) {
            let file: Arc<str> = Arc::from("a/b.yaml");
            let mut sources = Sources::default();
            let text = "\n".repeat(number as usize - 1) + &line;
            sources.insert(&file, Arc::from(text));
            let mut f = Finding::new(
                Code::PolicyDropsLimit,
                Location::new(&file, Pos::new(number, column)),
                message,
            );
            f.help = help;
            for i in 0..labels {
                f = f.label(Location::new(&file, Pos::new(i as u32 + 1, 2)), "here");
            }
            plain_renders_as_the_crate(&f, &sources);
        }
    }

    /// Items beyond one window of parts are written in order, each once.
    #[test]
    fn parts_are_written_in_order_window_after_window() {
        let items: Vec<usize> = (0..FINDINGS_PER_PART * (2 * PARTS_AT_ONCE + 3) + 5).collect();
        let mut out = Vec::new();
        write_in_parts(&mut out, &items, |part, text| {
            part.iter().try_for_each(|i| writeln!(text, "{i}"))
        })
        .unwrap();
        let expected: String = items.iter().map(|i| format!("{i}\n")).collect();
        assert!(String::from_utf8(out).unwrap() == expected);
    }

    /// SARIF's results are rendered in parts on all cores and spliced into the log: the bytes
    /// are those serde_json pretty-prints for the same log, every result once, in order.
    #[test]
    fn sarif_of_many_findings_prints_the_log_serde_json_would() {
        let (findings, sources) = findings();
        let mut out = Vec::new();
        findings_sarif(&mut out, &findings, &sources).unwrap();
        let out = String::from_utf8(out).unwrap();
        let log: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(out, serde_json::to_string_pretty(&log).unwrap() + "\n");
        let results = log["runs"][0]["results"].as_array().unwrap();
        let messages: Vec<&str> = results
            .iter()
            .map(|r| r["message"]["text"].as_str().unwrap())
            .collect();
        let expected: Vec<String> = (1..=2500)
            .map(|i| match i % 2 {
                0 => format!("finding {i}\nhelp: restate it"),
                _ => format!("finding {i}"),
            })
            .collect();
        assert_eq!(messages, expected);
        let region = &results[1024]["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], 1025);
        assert_eq!(region["snippet"]["text"], "key1025: 1025");
    }

    /// `check --format json` renders its findings in parts on all cores and writes them in
    /// place; the bytes are those serde_json prints for the same document as a `Value` (keys
    /// sorted), every finding once, in order, across parts.
    #[test]
    fn json_prints_the_document_serde_json_would() {
        let (findings, _) = findings();
        let mut out = Vec::new();
        findings_json(&mut out, &findings, 1, 7).unwrap();
        let finding = |i: u32, labelled: bool| {
            json!({
                "code": "ST205", "severity": "warning", "message": format!("finding {i}"),
                "file": "mesh.yaml", "line": i, "column": 1,
                "help": if labelled { json!("restate it") } else { json!(null) },
                "related": if labelled {
                    json!([{"file": "mesh.yaml", "line": 1, "column": 7, "message": "set here"}])
                } else {
                    json!([])
                },
            })
        };
        let expected = json!({
            "findings": (1..=2500).map(|i| finding(i, i % 2 == 0)).collect::<Vec<_>>(),
            "summary": {"errors": 0, "warnings": 2500, "notes": 0, "files": 1, "rules": 7},
        });
        let expected = serde_json::to_string_pretty(&expected).unwrap() + "\n";
        let out = String::from_utf8(out).unwrap();
        assert!(out == expected, "{}", &out[..out.len().min(2000)]);
    }
}
