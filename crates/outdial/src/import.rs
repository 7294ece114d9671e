//! Lead import shared by `outdial import` and `outdial demo`: streams rows from the parser
//! into the store in batches, computing each lead's first `next_attempt_at` through the
//! core rules, and reports every rejected row.

use anyhow::Context;
use chrono::{DateTime, Utc};
use outdial_core::schedule::{candidate_zones, LeadRules};
use outdial_core::{NewLead, Region};
use outdial_import::LeadReader;
use outdial_store::{Campaign, LeadPlacement, Store};
use std::io::Write;
use std::path::Path;

/// Rows per store transaction.
const BATCH: usize = 1000;

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportOutcome {
    /// Data rows read (header excluded).
    pub rows: u64,
    /// Leads inserted (or, on a dry run, valid rows).
    pub inserted: u64,
    /// Rows skipped because the campaign has the number already (including earlier rows).
    pub duplicates: u64,
    /// Rows rejected with a reason.
    pub rejected: u64,
    /// Of the inserted leads, those paused because no time zone could be determined.
    pub paused_no_zone: u64,
}

/// Where a new lead starts: active at the first allowed instant, or paused with the reason.
pub fn placement(lead: &NewLead, campaign: &Campaign, now: DateTime<Utc>) -> LeadPlacement {
    let zones = candidate_zones(
        lead.contact.time_zone,
        lead.contact.state.as_deref(),
        campaign.settings.fallback_time_zone,
    );
    let rules = LeadRules {
        zones: &zones,
        window: &campaign.settings.calling_window,
        policy: &campaign.settings.redial,
        history: &[],
    };
    match rules.next_allowed(now) {
        Ok(at) => LeadPlacement::Active(at),
        Err(block) => LeadPlacement::Paused(block.to_string()),
    }
}

/// Imports `path` into `campaign`. Rejected rows are written to `report` as
/// `FILE:ROW: field FIELD: REASON`; nothing is written to the store on a dry run.
pub async fn import_file(
    store: &dyn Store,
    campaign: &Campaign,
    path: &Path,
    region: Region,
    dry_run: bool,
    now: DateTime<Utc>,
    report: &mut dyn Write,
) -> anyhow::Result<ImportOutcome> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open lead file {}", path.display()))?;
    let name = path.display().to_string();
    let reader = LeadReader::detect(file, region, &name).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut outcome = ImportOutcome::default();
    let mut batch: Vec<(NewLead, LeadPlacement)> = Vec::with_capacity(BATCH);
    for item in reader {
        outcome.rows += 1;
        match item {
            Ok(row) => {
                let p = placement(&row.lead, campaign, now);
                if matches!(p, LeadPlacement::Paused(_)) {
                    outcome.paused_no_zone += 1;
                }
                batch.push((row.lead, p));
                if batch.len() >= BATCH {
                    flush(store, campaign, &mut batch, dry_run, now, &mut outcome).await?;
                }
            }
            Err(e) => {
                outcome.rejected += 1;
                writeln!(report, "{name}:{e}")?;
            }
        }
    }
    flush(store, campaign, &mut batch, dry_run, now, &mut outcome).await?;
    Ok(outcome)
}

async fn flush(
    store: &dyn Store,
    campaign: &Campaign,
    batch: &mut Vec<(NewLead, LeadPlacement)>,
    dry_run: bool,
    now: DateTime<Utc>,
    outcome: &mut ImportOutcome,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    if dry_run {
        outcome.inserted += batch.len() as u64;
    } else {
        let r = store.insert_leads(campaign.id, batch, now).await?;
        outcome.inserted += r.inserted;
        outcome.duplicates += r.duplicates;
    }
    batch.clear();
    Ok(())
}
