//! Lead import shared by `outdial import` and `outdial demo`: streams rows from the parser
//! into the store in batches, computing each lead's first `next_attempt_at` through the
//! core rules, and reports every rejected or unreadable row. When the store fails part-way,
//! the error ([`ImportInterrupted`]) says how many leads were committed and from which row
//! on nothing was.

use anyhow::Context;
use chrono::{DateTime, Utc};
use outdial_core::compliance::StateRules;
use outdial_core::{NewLead, Region};
use outdial_engine::enqueue::lead_placements;
use outdial_import::LeadReader;
use outdial_store::{Campaign, LeadPlacement, Store};
use std::fmt;
use std::io::Write;
use std::path::Path;

/// Leads per store transaction: 10,000 hold SQLite's write lock for a few hundred
/// milliseconds (other writers, `serve`'s webhooks, wait up to the 10 s busy timeout), and
/// commit faster than batches of 1,000 (fewer commits, and fewer rewrites of the same index
/// pages).
pub const BATCH: usize = 10_000;

/// What an import did. `rows = inserted + duplicates + rejected + unreadable` once it ends.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportOutcome {
    /// Data rows read (header excluded).
    pub rows: u64,
    /// Leads inserted, committed to the store (or, on a dry run, valid rows).
    pub inserted: u64,
    /// Rows skipped because the campaign has the number already (including earlier rows).
    pub duplicates: u64,
    /// Rows read and rejected with a reason (an invalid number, an unknown time zone…).
    pub rejected: u64,
    /// Rows that could not be read at all (an unclosed quote, an over-long line): their
    /// content is lost, so the `import` command exits non-zero when this is not zero.
    pub unreadable: u64,
    /// Of the valid rows, those placed paused (no time zone, do-not-call, never allowed).
    pub paused: u64,
}

/// An import the store stopped part-way (the disk is full, the database went away): the
/// leads of the batches committed before the failure stay, nothing after is written.
///
/// Displays as `leads.csv: the store failed at row 2002; 2000 leads were committed (0
/// duplicates skipped) from the rows before it, and no row from row 2002 on was imported;
/// once the store takes writes again, run the same import again: the leads already committed
/// are skipped as duplicates`; the store's error is the [`std::error::Error::source`].
#[derive(Debug)]
pub struct ImportInterrupted {
    /// The file's name, as given.
    pub source_name: String,
    /// The first row (file line) of the batch that failed: it and every later row were not
    /// imported.
    pub failed_at_row: u64,
    /// What was done before the failure: `inserted` and `duplicates` are what the store
    /// committed; `rows`, `rejected` and `unreadable` count the rows read so far.
    pub outcome: ImportOutcome,
    /// Whether this was a dry run (nothing is written then).
    pub dry_run: bool,
    /// The store's error.
    pub source: anyhow::Error,
}

impl fmt::Display for ImportInterrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, row) = (&self.source_name, self.failed_at_row);
        if self.dry_run {
            return write!(
                f,
                "{name}: the store failed at row {row} during a dry run; nothing was written"
            );
        }
        write!(
            f,
            "{name}: the store failed at row {row}; {} {} committed ({} duplicates skipped) \
             from the rows before it, and no row from row {row} on was imported; once the \
             store takes writes again, run the same import again: the leads already \
             committed are skipped as duplicates",
            self.outcome.inserted,
            if self.outcome.inserted == 1 {
                "lead was"
            } else {
                "leads were"
            },
            self.outcome.duplicates,
        )
    }
}

impl std::error::Error for ImportInterrupted {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
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

/// Imports `path` into the target's campaign, [`BATCH`] leads per store transaction.
/// Rejected and unreadable rows are written to `report` as
/// `FILE:row N, field F ('value'): reason` and counted; nothing is written to the store on
/// a dry run.
///
/// Errors: the file cannot be opened or its header read; writing to `report` fails; or the
/// store fails (a lead's placement cannot be computed, a batch cannot be committed): then
/// an [`ImportInterrupted`] says how many leads were committed before and from which row
/// on none was.
pub async fn import_file(
    target: ImportTarget<'_>,
    path: &Path,
    report: &mut dyn Write,
) -> anyhow::Result<ImportOutcome> {
    let ImportTarget {
        region, dry_run, ..
    } = target;
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open lead file {}", path.display()))?;
    let name = path.display().to_string();
    let reader = LeadReader::detect(file, region, &name).map_err(|e| anyhow::anyhow!("{e}"))?;
    // The file is parsed on a thread of its own while the store writes the batch before.
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let reading = std::thread::Builder::new()
        .name("import-reader".into())
        .spawn({
            let name = name.clone();
            move || read_chunks(reader, &name, &tx)
        })
        .context("cannot start the import's reading thread")?;
    let mut outcome = ImportOutcome::default();
    let mut batch: Vec<NewLead> = Vec::with_capacity(BATCH);
    // The file row of the batch's first lead.
    let mut batch_row = 0;
    let interrupted = |failed_at_row, outcome: &ImportOutcome, source| ImportInterrupted {
        source_name: name.clone(),
        failed_at_row,
        outcome: outcome.clone(),
        dry_run,
        source,
    };
    while let Some(chunk) = rx.recv().await {
        outcome.rows += chunk.rows;
        outcome.rejected += chunk.rejected;
        outcome.unreadable += chunk.unreadable;
        for line in &chunk.errors {
            writeln!(report, "{line}")?;
        }
        if batch.is_empty() {
            batch_row = chunk.first_row;
        }
        batch.extend(chunk.leads);
        if batch.len() >= BATCH {
            if let Err(e) = flush(target, &mut batch, &mut outcome).await {
                return Err(interrupted(batch_row, &outcome, e).into());
            }
        }
    }
    // The channel closes when the thread is done: it ended or it panicked.
    if let Err(panic) = reading.join() {
        std::panic::resume_unwind(panic);
    }
    if let Err(e) = flush(target, &mut batch, &mut outcome).await {
        return Err(interrupted(batch_row, &outcome, e).into());
    }
    Ok(outcome)
}

/// The rows the reading thread read since its previous chunk, in file order.
#[derive(Debug, Default)]
struct Chunk {
    /// Rows read (data rows, the header excluded).
    rows: u64,
    /// Of them, rows rejected with a reason.
    rejected: u64,
    /// Of them, rows that could not be read.
    unreadable: u64,
    /// The rejected and unreadable rows' reports, `FILE:row N, …`, in file order.
    errors: Vec<String>,
    /// The file row of the first lead (0 when there is none).
    first_row: u64,
    /// The rows that became leads.
    leads: Vec<NewLead>,
}

/// Reads the file into chunks: one ends at each [`BATCH`]-th lead (where the importer
/// writes a batch), or after [`BATCH`] rows without one (so memory stays bounded whatever
/// the file holds), and the last at the end of the file. Stops when the importer stops
/// listening.
fn read_chunks<R: std::io::Read>(
    reader: LeadReader<R>,
    name: &str,
    tx: &tokio::sync::mpsc::Sender<Chunk>,
) {
    // Leads since the last batch boundary.
    let mut in_batch = 0;
    let mut chunk = Chunk::default();
    for item in reader {
        chunk.rows += 1;
        match item {
            Ok(row) => {
                if chunk.leads.is_empty() {
                    chunk.first_row = row.row;
                }
                chunk.leads.push(row.lead);
                in_batch += 1;
            }
            Err(e) => {
                if e.is_unreadable() {
                    chunk.unreadable += 1;
                } else {
                    chunk.rejected += 1;
                }
                chunk.errors.push(format!("{name}:{e}"));
            }
        }
        let full = in_batch == BATCH;
        if full || chunk.rows as usize >= BATCH {
            if full {
                in_batch = 0;
            }
            if tx.blocking_send(std::mem::take(&mut chunk)).is_err() {
                return;
            }
        }
    }
    let _ = tx.blocking_send(chunk);
}

/// Places the batch's leads ([`lead_placements`]) and writes them in one store transaction
/// (counts only, on a dry run), and empties it; the counts in `outcome` change only when it
/// was committed.
async fn flush(
    target: ImportTarget<'_>,
    batch: &mut Vec<NewLead>,
    outcome: &mut ImportOutcome,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let ImportTarget {
        store,
        campaign,
        state_rules,
        dry_run,
        now,
        ..
    } = target;
    let placements = lead_placements(store, batch, campaign, state_rules, now).await?;
    let rows: Vec<(NewLead, LeadPlacement)> = batch.drain(..).zip(placements).collect();
    if dry_run {
        outcome.inserted += rows.len() as u64;
    } else {
        let r = store.insert_leads(campaign.id, &rows, now).await?;
        outcome.inserted += r.inserted;
        outcome.duplicates += r.duplicates;
    }
    outcome.paused += rows
        .iter()
        .filter(|(_, p)| matches!(p, LeadPlacement::Paused(_)))
        .count() as u64;
    Ok(())
}
