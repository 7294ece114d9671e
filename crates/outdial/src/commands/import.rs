//! `outdial import FILE --campaign NAME [--dry-run]`.

use anyhow::Context;
use outdial_store_sqlite::OpenMode;
use std::path::{Path, PathBuf};

use crate::config::Config;

/// Arguments of `outdial import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Lead file: CSV with a header row, or VICIdial's list-load layout (tab or pipe).
    pub file: PathBuf,
    /// Campaign to import into (see `outdial campaign create`).
    #[arg(long)]
    pub campaign: String,
    /// Parse and validate only; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Database file (overrides the configuration).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Clock flags: first attempt times are computed from this clock's "now".
    #[command(flatten)]
    pub clock: crate::app::ClockArgs,
}

/// Runs the import and prints a summary; rejected rows go to stderr.
pub async fn run(config: Option<&Path>, args: ImportArgs) -> anyhow::Result<()> {
    crate::app::init_tracing(false, "warn");
    let cfg = Config::load(config)?;
    let region = cfg.region()?;
    let db = args.db.clone().unwrap_or_else(|| cfg.database_path());
    let store = crate::app::open_store(&db, OpenMode::MustExist).await?;
    let campaign = store
        .campaign_by_name(&args.campaign)
        .await?
        .with_context(|| {
            format!(
                "no campaign named '{}' (create it with `outdial campaign create`)",
                args.campaign
            )
        })?;
    let now = args.clock.clock()?.now();
    let mut stderr = std::io::stderr();
    let state_rules = crate::app::state_rules(&cfg)?;
    let target = crate::import::ImportTarget {
        store: &*store,
        campaign: &campaign,
        region,
        state_rules: &state_rules,
        dry_run: args.dry_run,
        now,
    };
    let out = crate::import::import_file(target, &args.file, &mut stderr).await?;
    println!(
        "{}{}: {} rows read, {} {}, {} duplicates skipped, {} rejected, {} placed paused (no time zone, DNC or never allowed)",
        if args.dry_run { "dry run: " } else { "" },
        args.file.display(),
        out.rows,
        out.inserted,
        if args.dry_run { "valid" } else { "imported" },
        out.duplicates,
        out.rejected,
        out.paused,
    );
    store.close().await;
    Ok(())
}
