//! The bench as a chart (`bench --svg`): per client, goodput and the overload 503s callers saw
//! against concurrency, and the latency of its 2xx (p50, p99, max) at the highest concurrency,
//! so that a reader sees the difference without reading the table. Drawn with plotters' SVG
//! backend (no font files: text is left to the viewer).

use std::io::{self, Write};

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::bench::{BenchReport, ClientKind, RunResult};

const WIDTH: u32 = 960;
const HEIGHT: u32 = 720;

/// One color per client, in report order (Okabe-Ito, readable by color-blind readers).
const COLORS: [RGBColor; 8] = [
    RGBColor(213, 94, 0),
    RGBColor(0, 114, 178),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

/// Writes the chart of `report` as an SVG document.
///
/// # Errors
/// Writing to `out` fails.
pub fn bench_svg(out: &mut impl Write, report: &BenchReport) -> io::Result<()> {
    let mut svg = String::new();
    draw(&mut svg, report).map_err(|e| io::Error::other(format!("drawing the chart: {e}")))?;
    out.write_all(svg.as_bytes())
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn draw(svg: &mut String, report: &BenchReport) -> DrawResult {
    let clients = clients_of(report);
    let mut concurrency: Vec<usize> = report.runs.iter().map(|r| r.concurrency).collect();
    concurrency.sort_unstable();
    concurrency.dedup();

    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!("{}, Envoy {}", report.rule, report.envoy_version);
    let root = root.titled(&title, ("sans-serif", 16))?;
    let (top, bottom) = root.split_vertically(HEIGHT / 2 - 20);
    let (goodput, overflow) = top.split_horizontally(WIDTH / 2);

    let by_concurrency =
        |area: &DrawingArea<_, _>, caption: &str, y: &dyn Fn(&RunResult) -> f64| {
            per_concurrency(area, caption, report, &clients, &concurrency, y)
        };
    by_concurrency(&goodput, "goodput (2xx/s)", &|r| r.goodput_rps)?;
    by_concurrency(&overflow, "overload 503s seen by callers", &|r| {
        r.overflow_503 as f64
    })?;
    latency(&bottom, report, &clients, concurrency.last().copied())?;
    root.present()?;
    Ok(())
}

/// The clients of the report, in the order of their first run.
fn clients_of(report: &BenchReport) -> Vec<ClientKind> {
    let mut clients = Vec::new();
    for run in &report.runs {
        if !clients.contains(&run.client) {
            clients.push(run.client);
        }
    }
    clients
}

fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

/// A chart over evenly spaced categories (`labels`, at x = 0, 1, ...) from 0 to `top`, its axes
/// drawn.
fn categories<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    labels: &[String],
    top: f64,
    x_desc: Option<&str>,
) -> Result<
    ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    Box<dyn std::error::Error>,
>
where
    DB::ErrorType: 'static,
{
    let n = labels.len();
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 14))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..top)?;
    let label = |x: &f64| {
        let i = x.round();
        match labels.get(i as usize) {
            Some(text) if (x - i).abs() < 1e-6 && i >= 0.0 => text.clone(),
            _ => String::new(),
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(n)
        .x_label_formatter(&label)
        .y_label_formatter(&|v| format!("{v:.0}"))
        .disable_x_mesh()
        .light_line_style(WHITE);
    if let Some(desc) = x_desc {
        mesh.x_desc(desc);
    }
    mesh.draw()?;
    Ok(chart)
}

/// A line per client of `y` against concurrency (evenly spaced, labelled with its values).
fn per_concurrency<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    report: &BenchReport,
    clients: &[ClientKind],
    concurrency: &[usize],
    y: &dyn Fn(&RunResult) -> f64,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    // Headroom above the highest point for the legend in the upper left corner.
    let top = report.runs.iter().map(y).fold(0.0, f64::max).max(1.0) * 1.5;
    let labels: Vec<String> = concurrency.iter().map(usize::to_string).collect();
    let mut chart = categories(area, caption, &labels, top, Some("concurrent callers"))?;
    for (i, &client) in clients.iter().enumerate() {
        let points: Vec<(f64, f64)> = concurrency
            .iter()
            .enumerate()
            .filter_map(|(x, &c)| report.run(client, c).map(|r| (x as f64, y(r))))
            .collect();
        let style = color(i).stroke_width(2);
        chart
            .draw_series(LineSeries::new(points.iter().copied(), style))?
            .label(client.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], style));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color(i).filled())))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    Ok(())
}

/// Per client at `concurrency`: a bar from p50 to max with marks at p50, p99 and max.
fn latency<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    report: &BenchReport,
    clients: &[ClientKind],
    concurrency: Option<usize>,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let Some(c) = concurrency else {
        return Ok(());
    };
    let runs: Vec<(usize, &RunResult)> = clients
        .iter()
        .enumerate()
        .filter_map(|(i, &client)| report.run(client, c).map(|r| (i, r)))
        .collect();
    let top = runs
        .iter()
        .map(|(_, r)| r.max_ms)
        .fold(0.0, f64::max)
        .max(1.0)
        * 1.1;
    let caption =
        format!("latency of 2xx at {c} callers (ms): p50 (circle), p99 (triangle), max (cross)");
    let labels: Vec<String> = clients.iter().map(|k| k.as_str().to_owned()).collect();
    let mut chart = categories(area, &caption, &labels, top, None)?;
    for &(i, run) in &runs {
        if run.ok == 0 {
            continue;
        }
        let x = i as f64;
        let shade = color(i);
        chart.draw_series([PathElement::new(
            [(x, run.p50_ms), (x, run.max_ms)],
            shade.stroke_width(3),
        )])?;
        chart.draw_series([Circle::new((x, run.p50_ms), 5, shade.filled())])?;
        chart.draw_series([TriangleMarker::new((x, run.p99_ms), 6, shade.filled())])?;
        chart.draw_series([Cross::new((x, run.max_ms), 6, shade.stroke_width(2))])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(client: ClientKind, concurrency: usize, goodput: f64, overflow: usize) -> RunResult {
        RunResult {
            client,
            concurrency,
            requests: 100,
            ok: 100 - overflow,
            overflow_503: overflow,
            errors: 0,
            envoy_pending_overflow: Some(overflow as u64),
            envoy_active_overflow: Some(0),
            goodput_rps: goodput,
            p50_ms: 5.0,
            p99_ms: 9.0,
            max_ms: 12.0,
            connections_opened: Some(3),
            final_limit: None,
        }
    }

    /// Two clients at two concurrencies. Per client (by its color): a point per concurrency in
    /// each upper chart and one at p50 below (5 circles); a line in each upper chart, its legend
    /// sample in each, and its latency bar (5 polylines); a p99 triangle; and the default
    /// client's goodput line rises from 8 to 64 callers (SVG's y grows downwards).
    #[test]
    fn every_run_is_drawn() {
        let report = BenchReport {
            runs: vec![
                run(ClientKind::Default, 8, 900.0, 0),
                run(ClientKind::Tuned, 8, 950.0, 0),
                run(ClientKind::Default, 64, 1500.0, 40),
                run(ClientKind::Tuned, 64, 2400.0, 0),
            ],
            envoy_version: "1.40.0".into(),
            rule: "default/backend (pool-20-5.yaml:2)".into(),
            processes: 1,
        };
        let mut svg = Vec::new();
        bench_svg(&mut svg, &report).unwrap();
        let svg = String::from_utf8(svg).unwrap();
        for color in ["#D55E00", "#0072B2"] {
            let count = |element: &str, paint: &str| {
                svg.lines()
                    .filter(|l| {
                        l.starts_with(element) && l.contains(&format!("{paint}=\"{color}\""))
                    })
                    .count()
            };
            assert_eq!(count("<circle", "fill"), 5, "{color}");
            assert_eq!(count("<polyline", "stroke"), 5, "{color}");
            assert_eq!(count("<polygon", "fill"), 1, "{color}");
        }
        let goodput = svg
            .lines()
            .find(|l| l.starts_with("<polyline") && l.contains("#D55E00"))
            .unwrap();
        let ys: Vec<u32> = goodput
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .filter_map(|p| p.split(',').nth(1)?.trim_end_matches('"').parse().ok())
            .collect();
        assert!(ys.len() == 2 && ys[1] < ys[0], "{goodput}");
        for text in [
            "\ndefault\n",
            "\ntuned\n",
            "at 64 callers",
            "Envoy 1.40.0",
            "\n64\n",
        ] {
            assert!(svg.contains(text), "{text}");
        }
    }
}
