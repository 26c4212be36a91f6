//! Reporting: HDR histogram summaries, the human table, the JSON report and the latency plot.

use hdrhistogram::Histogram;
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

/// A latency histogram in microseconds, 1 µs to 100 s, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000, 3).expect("valid histogram bounds")
}

/// Percentiles of a latency histogram, in milliseconds.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Latency {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Self {
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        Latency {
            count: h.len(),
            p50_ms: ms(0.5),
            p90_ms: ms(0.9),
            p99_ms: ms(0.99),
            p999_ms: ms(0.999),
            max_ms: h.max() as f64 / 1000.0,
        }
    }
}

/// What a scenario run produced.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub protocol: crate::Protocol,
    /// The parameters of the run.
    pub params: Value,
    /// Named figures (rates, counts, memory).
    pub figures: Vec<(String, f64)>,
    /// Named latency summaries.
    pub latencies: Vec<(String, Latency)>,
    /// Extra rows (sweep steps, rounds).
    pub rows: Vec<Value>,
    #[serde(skip)]
    pub histograms: Vec<(String, Histogram<u64>)>,
    /// Named results at the top level of the JSON report (the `sfu` scenario's fields).
    #[serde(flatten)]
    pub fields: serde_json::Map<String, Value>,
}

impl Report {
    pub fn new(scenario: &str, protocol: crate::Protocol, params: Value) -> Self {
        Report {
            scenario: scenario.into(),
            protocol,
            params,
            figures: Vec::new(),
            latencies: Vec::new(),
            rows: Vec::new(),
            histograms: Vec::new(),
            fields: serde_json::Map::new(),
        }
    }

    pub fn figure(&mut self, name: &str, value: f64) {
        self.figures.push((name.into(), value));
    }

    pub fn get(&self, name: &str) -> Option<f64> {
        self.figures
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    pub fn latency(&mut self, name: &str, h: Histogram<u64>) {
        self.latencies.push((name.into(), Latency::of(&h)));
        self.histograms.push((name.into(), h));
    }

    /// The human summary.
    pub fn print(&self) {
        println!();
        println!("== {} ({:?}) {}", self.scenario, self.protocol, self.params);
        for (name, value) in &self.figures {
            println!("  {name:<34} {value:>14.2}");
        }
        if !self.latencies.is_empty() {
            println!(
                "  {:<26} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                "latency (ms)", "count", "p50", "p90", "p99", "p99.9", "max"
            );
            for (name, l) in &self.latencies {
                println!(
                    "  {name:<26} {:>9} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
                    l.count, l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms
                );
            }
        }
        for row in &self.rows {
            println!("  {row}");
        }
    }

    pub fn write_json(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Latency by percentile for every histogram of the run (SVG).
    pub fn write_plot(&self, path: &Path) -> Result<(), String> {
        use plotters::prelude::*;
        let curves: Vec<(&str, Vec<(f64, f64)>)> = self
            .histograms
            .iter()
            .filter(|(_, h)| !h.is_empty())
            .map(|(name, h)| {
                // x: "nines" (0 = p0, 1 = p90, 2 = p99, 3 = p99.9), y: latency in ms.
                let points = (0..=40)
                    .map(|i| {
                        let nines = i as f64 / 10.0;
                        let q = 1.0 - 10f64.powf(-nines);
                        (nines, h.value_at_quantile(q.min(0.99999)) as f64 / 1000.0)
                    })
                    .collect();
                (name.as_str(), points)
            })
            .collect();
        if curves.is_empty() {
            return Err("no latencies to plot".into());
        }
        let y_max = curves
            .iter()
            .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
            .fold(0.0, f64::max)
            .max(0.001)
            * 1.1;
        let root = SVGBackend::new(path, (900, 540)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let title = format!(
            "{} latency by percentile ({:?})",
            self.scenario, self.protocol
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..4f64, 0f64..y_max)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("percentile")
            .x_labels(5)
            .y_desc("latency (ms)")
            .x_label_formatter(&|x| match x.round() as i32 {
                0 => "p0".into(),
                1 => "p90".into(),
                2 => "p99".into(),
                3 => "p99.9".into(),
                _ => "p99.99".into(),
            })
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, (name, points)) in curves.into_iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(name.to_owned())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())
    }
}

/// A progress bar on stderr (hidden when not a terminal, e.g. in CI logs).
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}
