//! Lead import shared by `outdial import` and `outdial demo`: streams rows from the parser
//! into the store in batches, computing each lead's first `next_attempt_at` through the
//! core rules, and reports every rejected row.

use anyhow::Context;
use chrono::{DateTime, Utc};
use outdial_core::compliance::StateRules;
use outdial_core::schedule::{whereabouts, Block, LeadRules};
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
    /// Of the valid rows, those placed paused (no time zone, do-not-call, never allowed).
    pub paused: u64,
}

/// Where a new lead starts: active at the first instant every rule allows, or paused with
/// the reason (no time zone, on a do-not-call list, no allowed instant). The enqueue-time
/// check; the engine checks again at dial time.
pub async fn placement(
    store: &dyn Store,
    lead: &NewLead,
    campaign: &Campaign,
    state_rules: &StateRules,
    now: DateTime<Utc>,
) -> anyhow::Result<LeadPlacement> {
    let dnc = store.dnc_check(&lead.phone, Some(campaign.id)).await?;
    if !dnc.is_empty() {
        let lists = dnc.into_iter().map(|e| e.scope.as_key()).collect();
        return Ok(LeadPlacement::Paused(Block::Dnc { lists }.to_string()));
    }
    let w = whereabouts(
        &lead.phone,
        lead.contact.time_zone,
        lead.contact.state.as_deref(),
        campaign.settings.fallback_time_zone,
    );
    let number_history = store
        .phone_attempt_times(&lead.phone, now - chrono::Duration::days(8))
        .await?;
    let rules = LeadRules {
        campaign: &campaign.settings,
        state_rules,
        whereabouts: &w,
        history: &[],
        number_history: &number_history,
        slack: chrono::Duration::zero(),
    };
    Ok(match rules.next_allowed(now) {
        Ok(at) => LeadPlacement::Active(at),
        Err(block) => LeadPlacement::Paused(block.to_string()),
    })
}

/// Where and how an import writes.
#[derive(Debug, Clone, Copy)]
pub struct ImportTarget<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// The campaign the leads join.
    pub campaign: &'a Campaign,
    /// Region for numbers without a country code.
    pub region: Region,
    /// State rules used for each lead's first attempt time.
    pub state_rules: &'a StateRules,
    /// Parse and validate only.
    pub dry_run: bool,
    /// "Now" for first attempt times (UTC).
    pub now: DateTime<Utc>,
}

/// Imports `path` into the target's campaign. Rejected rows are written to `report` as
/// `FILE:row N, field F ('value'): reason`; nothing is written to the store on a dry run.
pub async fn import_file(
    target: ImportTarget<'_>,
    path: &Path,
    report: &mut dyn Write,
) -> anyhow::Result<ImportOutcome> {
    let ImportTarget {
        store,
        campaign,
        region,
        state_rules,
        dry_run,
        now,
    } = target;
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
                let p = placement(store, &row.lead, campaign, state_rules, now).await?;
                if matches!(p, LeadPlacement::Paused(_)) {
                    outcome.paused += 1;
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
