//! `outdial export attempts --format csv`.

use outdial_core::AttemptId;
use outdial_store::{Attempt, Store};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::app::StoreArgs;
use crate::config::Config;

/// Export subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ExportCommand {
    /// The attempt log: one row per attempt, oldest first.
    Attempts {
        /// Output format.
        #[arg(long, default_value = "csv")]
        format: ExportFormat,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Database and pool size.
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Export formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    /// Comma-separated values with a header row; times RFC 3339 UTC.
    Csv,
}

/// Column names of the attempt CSV.
pub const ATTEMPT_HEADER: [&str; 18] = [
    "attempt_id",
    "lead_id",
    "campaign_id",
    "phone",
    "number",
    "state",
    "call_id",
    "call_status",
    "reserved_at",
    "placed_at",
    "answered_at",
    "ended_at",
    "duration_s",
    "answered_by",
    "sip_response_code",
    "disposition",
    "error_code",
    "error_message",
];

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(|x| x.to_string()).unwrap_or_default()
}

fn time(v: &Option<chrono::DateTime<chrono::Utc>>) -> String {
    v.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}

/// One CSV record of an attempt, in [`ATTEMPT_HEADER`] order.
pub fn attempt_record(a: &Attempt) -> Vec<String> {
    vec![
        a.id.to_string(),
        a.lead_id.to_string(),
        a.campaign_id.to_string(),
        a.phone.to_string(),
        a.number.to_string(),
        a.state.as_str().to_string(),
        opt(&a.call_id),
        a.call_status
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        time(&Some(a.reserved_at)),
        time(&a.placed_at),
        time(&a.answered_at),
        time(&a.ended_at),
        opt(&a.duration_s),
        a.answered_by
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        opt(&a.sip_response_code),
        opt(&a.disposition),
        opt(&a.error_code),
        opt(&a.error_message),
    ]
}

/// Streams every attempt as CSV to `out`, 1,000 at a time.
pub async fn write_attempts_csv(store: &dyn Store, out: &mut dyn Write) -> anyhow::Result<u64> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(ATTEMPT_HEADER)?;
    let mut after = AttemptId(0);
    let mut n = 0;
    loop {
        let page = store.attempts_after(after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for a in &page {
            w.write_record(attempt_record(a))?;
            n += 1;
        }
    }
    w.flush()?;
    Ok(n)
}

/// Runs an export subcommand.
pub async fn run(config: Option<&Path>, cmd: ExportCommand) -> anyhow::Result<()> {
    let cfg = Config::load(config)?;
    match cmd {
        ExportCommand::Attempts {
            format: ExportFormat::Csv,
            out,
            store,
        } => {
            let store = store.open_existing(&cfg).await?;
            let n = match out {
                Some(p) => {
                    let mut f = std::io::BufWriter::new(std::fs::File::create(&p)?);
                    let n = write_attempts_csv(&*store, &mut f).await?;
                    f.flush()?;
                    n
                }
                None => write_attempts_csv(&*store, &mut std::io::stdout().lock()).await?,
            };
            eprintln!("exported {n} attempts");
            store.close().await;
        }
    }
    Ok(())
}
