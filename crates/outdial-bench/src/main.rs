//! `outdial-bench`: outdial's benchmark harness (issue 13). Each workload runs beside its
//! floor — `sqlite3 .import` and PostgreSQL `COPY` for the import, the same SQL statements
//! in a bare loop for dispatch, a small Express peer for webhooks — in one run, repeated,
//! and prints min / median / max and the ratio; `--out` writes the markdown report
//! (`docs/benchmarks.md`).
//!
//! Run from the workspace root after `cargo build --release -p outdial -p outdial-bench`:
//!
//! ```text
//! target/release/outdial-bench --size full --out docs/benchmarks.md
//! target/release/outdial-bench --size smoke          # seconds; CI runs this
//! ```
//!
//! Nothing here asserts on time: figures are printed and written, and judged by a reader
//! against the goals in the report.

mod dispatch;
mod due;
mod gen;
mod import;
mod proc;
mod report;
mod reports;
mod sim;
mod stats;
mod webhooks;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use std::path::PathBuf;

/// How big the inputs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Size {
    /// Tiny inputs, one repeat: seconds in all. What CI runs so that the harness never rots.
    Smoke,
    /// The sizes the goals are stated at (1M-row imports, 10M-attempt reports): tens of
    /// minutes.
    Full,
}

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(name = "outdial-bench", about = "outdial's benchmark harness")]
pub struct Args {
    /// Input sizes.
    #[arg(long, value_enum, default_value = "smoke")]
    pub size: Size,
    /// Runs of each measurement (default: 1 for smoke, 3 for full).
    #[arg(long)]
    pub repeat: Option<usize>,
    /// Workloads to run (default: all): import, dispatch, webhooks, due, reports, sim.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Write the markdown report here (e.g. docs/benchmarks.md).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The outdial binary measured (a release build).
    #[arg(long, default_value = "target/release/outdial")]
    pub outdial: PathBuf,
    /// PostgreSQL server for the PostgreSQL cases (a database is created and dropped per
    /// case); without it those cases are skipped and the report says so.
    #[arg(long, env = "BENCH_POSTGRES_URL")]
    pub postgres_url: Option<String>,
    /// A markdown file appended to the report as it is (the before figures, profiles).
    #[arg(long)]
    pub append: Option<PathBuf>,
    /// Import sizes in rows (default: 2,000 for smoke; 10,000, 100,000 and 1,000,000 for
    /// full).
    #[arg(long, value_delimiter = ',')]
    pub import_rows: Vec<u64>,
    /// Report sizes in attempts (default: 20,000 for smoke; 1,000,000 and 10,000,000 for
    /// full); the tick's latency is measured at the last.
    #[arg(long, value_delimiter = ',')]
    pub report_attempts: Vec<u64>,
    /// Folder for generated files and databases (default: a temporary folder, removed at
    /// the end).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}

/// What every workload is given.
pub struct Bench {
    /// Input sizes.
    pub size: Size,
    /// Runs of each measurement.
    pub repeat: usize,
    /// The outdial binary measured.
    pub outdial: PathBuf,
    /// PostgreSQL server URL, if any.
    pub postgres_url: Option<String>,
    /// Folder for files and databases.
    pub dir: PathBuf,
    /// Import sizes asked for on the command line (empty: the size's defaults).
    pub import_rows: Vec<u64>,
    /// Report sizes asked for on the command line (empty: the size's defaults).
    pub report_attempts: Vec<u64>,
}

impl Bench {
    /// `full` at full size, `smoke` in a smoke run.
    pub fn pick<T>(&self, smoke: T, full: T) -> T {
        match self.size {
            Size::Smoke => smoke,
            Size::Full => full,
        }
    }
}

/// One workload's section of the report.
pub struct Section {
    /// Title, e.g. `Import`.
    pub title: String,
    /// What is measured and against what, a paragraph.
    pub about: String,
    /// The figures.
    pub rows: Vec<stats::Row>,
    /// Cases left out, with the reason.
    pub skipped: Vec<String>,
}

const WORKLOADS: &[&str] = &["import", "dispatch", "webhooks", "due", "reports", "sim"];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tmp;
    let dir = match &args.work_dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let outdial = std::fs::canonicalize(&args.outdial).with_context(|| {
        format!(
            "no outdial binary at {} (build it: cargo build --release -p outdial)",
            args.outdial.display()
        )
    })?;
    let bench = Bench {
        size: args.size,
        repeat: args
            .repeat
            .unwrap_or(if args.size == Size::Smoke { 1 } else { 3 })
            .max(1),
        outdial,
        postgres_url: args.postgres_url.clone(),
        dir,
        import_rows: args.import_rows.clone(),
        report_attempts: args.report_attempts.clone(),
    };
    for w in &args.only {
        anyhow::ensure!(
            WORKLOADS.contains(&w.as_str()),
            "unknown workload '{w}' (known: {})",
            WORKLOADS.join(", ")
        );
    }
    let sections = workloads(&bench, &args).await;
    // The workloads' PostgreSQL databases go whatever happened: CI runs later on this
    // machine's disk, and a 10M-attempt database is several GB.
    if let Some(admin) = &bench.postgres_url {
        match import::drop_bench_databases(admin) {
            Ok(names) if !names.is_empty() => eprintln!("dropped {}", names.join(", ")),
            Ok(_) => {}
            Err(e) => eprintln!("could not drop the benchmark databases: {e:#}"),
        }
    }
    let sections = sections?;
    let mut md = report::markdown(&bench, &args, &sections);
    if let Some(extra) = &args.append {
        md.push_str(
            &std::fs::read_to_string(extra)
                .with_context(|| format!("cannot read {}", extra.display()))?,
        );
    }
    println!("{md}");
    if let Some(out) = &args.out {
        std::fs::write(out, &md).with_context(|| format!("cannot write {}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

/// Runs the workloads `args.only` names (all when empty), in a fixed order.
async fn workloads(bench: &Bench, args: &Args) -> anyhow::Result<Vec<Section>> {
    let wanted = |w: &str| args.only.is_empty() || args.only.iter().any(|o| o == w);
    let mut sections = Vec::new();
    if wanted("import") {
        sections.push(import::run(bench).await?);
    }
    if wanted("dispatch") {
        sections.push(dispatch::run(bench).await?);
    }
    if wanted("due") {
        sections.push(due::run(bench).await?);
    }
    if wanted("sim") {
        sections.push(sim::run(bench).await?);
    }
    if wanted("webhooks") {
        sections.push(webhooks::run(bench).await?);
    }
    if wanted("reports") {
        sections.push(reports::run(bench).await?);
    }
    Ok(sections)
}
