//! `outdial import FILE --campaign NAME [--dry-run]`.

use anyhow::Context;
use std::path::{Path, PathBuf};

use crate::app::StoreArgs;
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
    /// Database and pool size.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Clock flags: first attempt times are computed from this clock's "now".
    #[command(flatten)]
    pub clock: crate::app::ClockArgs,
}

/// Runs the import and prints a summary; rejected and unreadable rows go to stderr.
///
/// Exit status: zero when every row was read (rows rejected for a bad value are reported
/// and skipped, and do not fail the import); non-zero, after the summary, when some rows
/// could not be read (an unclosed quote, an over-long line: the rest of the file is still
/// imported, but what those rows held is lost), and non-zero when the store fails part-way
/// ([`crate::import::ImportInterrupted`] says how many leads were committed).
pub async fn run(config: Option<&Path>, args: ImportArgs) -> anyhow::Result<()> {
    crate::app::init_tracing(false, "warn");
    let cfg = Config::load(config)?;
    let region = cfg.region()?;
    let store = args.store.open_existing(&cfg).await?;
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
    let result = crate::import::import_file(target, &args.file, &mut stderr).await;
    store.close().await;
    let out = result?;
    println!(
        "{}{}: {} rows read, {} {}, {} duplicates skipped, {} rejected, {} unreadable, {} placed paused (no time zone, DNC or never allowed)",
        if args.dry_run { "dry run: " } else { "" },
        args.file.display(),
        out.rows,
        out.inserted,
        if args.dry_run { "valid" } else { "imported" },
        out.duplicates,
        out.rejected,
        out.unreadable,
        out.paused,
    );
    if out.unreadable > 0 {
        anyhow::bail!(
            "{}: {} {} could not be read (see the errors above: an unclosed quote or an \
             over-long line); the other rows were {}, and what those rows held was not",
            args.file.display(),
            out.unreadable,
            if out.unreadable == 1 { "row" } else { "rows" },
            if args.dry_run { "checked" } else { "imported" },
        );
    }
    Ok(())
}
