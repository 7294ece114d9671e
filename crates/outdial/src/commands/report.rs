//! `outdial report NAME --from --to [--campaign] [--tz campaign|lead|UTC|ZONE]
//! [--format table|csv|json]`: a report from the attempt log (`outdial_engine::reports`).

use anyhow::Context;
use outdial_clock::{Clock, SystemClock};
use outdial_core::report::{ReportQuery, ReportZone};
use outdial_engine::reports::{range_bound, run_report, zone_of_dates, ReportName};
use std::path::Path;

use crate::app::StoreArgs;
use crate::config::Config;

/// Arguments of `outdial report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The report: outcomes, kpis, hourly, daily, best-time, funnel or compliance.
    #[arg(value_parser = |s: &str| ReportName::parse(s))]
    pub name: ReportName,
    /// Start of the range, inclusive: an RFC 3339 instant, or a date read as local midnight
    /// in the report's zone.
    #[arg(long)]
    pub from: String,
    /// End of the range, exclusive (same forms; default: now).
    #[arg(long)]
    pub to: Option<String>,
    /// One campaign, by name or id (default: every campaign).
    #[arg(long)]
    pub campaign: Option<String>,
    /// The zone of days and hours: `campaign` (its fallback zone), `lead` (each lead's local
    /// time), `UTC`, or an IANA zone name.
    #[arg(long, default_value = "campaign", value_parser = |s: &str| ReportZone::parse(s))]
    pub tz: ReportZone,
    /// Output: an aligned table with the filters and formulas, RFC 4180 CSV, or JSON.
    #[arg(long, default_value = "table")]
    pub format: ReportFormat,
    /// Database and pool size.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Output formats of `outdial report`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ReportFormat {
    /// Aligned columns, after the filters and the formula of every rate.
    Table,
    /// RFC 4180 CSV with a header row (formula-like fields neutralised).
    Csv,
    /// The report's JSON, as the admin API serves it.
    Json,
}

/// Runs `outdial report`.
pub async fn run(config: Option<&Path>, args: ReportArgs) -> anyhow::Result<()> {
    crate::app::init_tracing(false, "warn");
    let cfg = Config::load(config)?;
    let store = args.store.open_existing(&cfg).await?;
    let campaign = match &args.campaign {
        None => None,
        Some(c) => {
            let found = outdial_store::campaign_by_id_or_name(&*store, c).await?;
            Some(found.with_context(|| format!("no campaign named '{c}'"))?)
        }
    };
    let tz = zone_of_dates(args.tz, campaign.as_ref().map(|c| &c.settings));
    let now = SystemClock.now();
    let from = range_bound(&args.from, tz).map_err(|e| anyhow::anyhow!("--from: {e}"))?;
    let to = match &args.to {
        Some(t) => range_bound(t, tz).map_err(|e| anyhow::anyhow!("--to: {e}"))?,
        None => now,
    };
    let query = ReportQuery {
        from,
        to,
        campaign: campaign.as_ref().map(|c| c.id),
        zone: args.tz,
    };
    let report = run_report(&*store, args.name, &query, now).await;
    store.close().await;
    let report = report?;
    match args.format {
        ReportFormat::Table => print!("{}", report.table().to_text()),
        ReportFormat::Csv => print!("{}", report.table().to_csv()),
        ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&report.to_json())?),
    }
    Ok(())
}
