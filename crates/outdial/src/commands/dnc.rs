//! `outdial dnc add|remove|check|import|count`: the Do-Not-Call lists.
//!
//! A number can be on three kinds of list: the internal (company-specific) list and the
//! national registry, which block every campaign, and a campaign's own list
//! (`--campaign NAME`), which blocks that campaign only. Without `--campaign` or
//! `--national`, `add`, `remove` and `import` work on the internal list.
//!
//! `import` streams a file in constant memory, writing batches of [`BATCH`] numbers, one
//! store transaction each. It reads:
//! - the US National DNC Registry's data files for telemarketers: plain text, one number per
//!   line, either ten digits (`2125550101`) or area code and number (`212,5550101`);
//! - any text file with one number per line in E.164 or a formatted national form
//!   (`+12125550101`, `(212) 555-0101`);
//! - a CSV file whose header row has a `phone` column (also `phone_number`, `number`,
//!   `telephone`), and optionally a `reason` column.
//!
//! Numbers without a country code are read in the configured `default_region`. Blank lines
//! are skipped and not counted; every other line is counted once and is either added,
//! already listed, or rejected (reported on stderr as `FILE:line N: reason`).

use anyhow::Context;
use chrono::{DateTime, Utc};
use outdial_clock::{Clock, SystemClock};
use outdial_core::{CampaignId, Region, E164};
use outdial_store::{Campaign, DncEntry, DncScope, Store};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use crate::app::StoreArgs;
use crate::config::Config;

/// Numbers per store transaction when importing.
pub const BATCH: usize = 5_000;

/// Header names (case-insensitive) taken as the phone column of a CSV file.
const PHONE_HEADERS: &[&str] = &[
    "phone",
    "phone_number",
    "phonenumber",
    "number",
    "telephone",
];

/// DNC subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum DncCommand {
    /// Put a number on a DNC list (the internal list unless --campaign or --national).
    Add(AddArgs),
    /// Take a number off one DNC list (the internal list unless --campaign or --national).
    Remove(RemoveArgs),
    /// Say whether a number is blocked, and by which lists. Exits 0 either way.
    Check(CheckArgs),
    /// Import a file of numbers: a National DNC Registry download (one number per line, or
    /// `AAA,NNNNNNN`), a one-number-per-line text file, or a CSV with a `phone` header.
    Import(ImportArgs),
    /// Count the numbers on each list.
    Count(CountArgs),
}

/// Which list: `--campaign NAME`, `--national`, or neither (the internal list).
#[derive(Debug, Clone, clap::Args)]
pub struct ScopeArgs {
    /// The campaign's own list (blocks that campaign only).
    #[arg(long, value_name = "NAME", conflicts_with = "national")]
    pub campaign: Option<String>,
    /// The national registry list (blocks every campaign).
    #[arg(long)]
    pub national: bool,
}

/// Arguments of `outdial dnc add`.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The number (E.164, or national form read in the configured region).
    pub phone: String,
    /// The list.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Why (the called party's words, a ticket number, …).
    #[arg(long)]
    pub reason: Option<String>,
    /// Database and pool size.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `outdial dnc remove`.
#[derive(Debug, clap::Args)]
pub struct RemoveArgs {
    /// The number.
    pub phone: String,
    /// The list.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Database and pool size.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `outdial dnc check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The number.
    pub phone: String,
    /// Check for this campaign (internal, national and this campaign's list). Without it,
    /// every list is shown, and the number is blocked if any list holds it.
    #[arg(long, value_name = "NAME")]
    pub campaign: Option<String>,
    /// Print JSON: `{phone, campaign, blocked, everywhere, entries}`.
    #[arg(long)]
    pub json: bool,
    /// Database and pool size.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `outdial dnc import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The file to import.
    pub file: PathBuf,
    /// The list to import into.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Reason stored with each number (a CSV `reason` column overrides it per row).
    #[arg(long)]
    pub reason: Option<String>,
    /// Parse and validate only; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Database and pool size.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `outdial dnc count`.
#[derive(Debug, clap::Args)]
pub struct CountArgs {
    /// Print JSON (counts by scope key: `internal`, `national`, `campaign:{id}`).
    #[arg(long)]
    pub json: bool,
    /// Database and pool size.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Runs a DNC subcommand.
pub async fn run(config: Option<&Path>, cmd: DncCommand) -> anyhow::Result<()> {
    crate::app::init_tracing(false, "warn");
    let cfg = Config::load(config)?;
    let region = cfg.region()?;
    match cmd {
        DncCommand::Add(a) => {
            let phone = parse_phone(&a.phone, region)?;
            let store = a.store.open_existing(&cfg).await?;
            let (scope, label) = resolve_scope(&*store, &a.scope).await?;
            let now = SystemClock.now();
            let entry = DncEntry {
                phone: phone.clone(),
                scope,
                source: "operator".into(),
                reason: a.reason.clone(),
                added_at: now,
            };
            if store.dnc_add(&[entry], now).await? == 1 {
                println!("added {phone} to {label}");
            } else {
                let existing = store
                    .dnc_check(&phone, scope_campaign(scope))
                    .await?
                    .into_iter()
                    .find(|e| e.scope == scope);
                match existing {
                    Some(e) => println!(
                        "{phone} is already on {label} (since {}, source {})",
                        e.added_at
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        e.source
                    ),
                    None => println!("{phone} is already on {label}"),
                }
            }
            store.close().await;
        }
        DncCommand::Remove(a) => {
            let phone = parse_phone(&a.phone, region)?;
            let store = a.store.open_existing(&cfg).await?;
            let (scope, label) = resolve_scope(&*store, &a.scope).await?;
            if store.dnc_remove(&phone, &scope, SystemClock.now()).await? {
                println!("removed {phone} from {label}");
            } else {
                println!("{phone} was not on {label}; nothing changed");
            }
            store.close().await;
        }
        DncCommand::Check(a) => {
            let phone = parse_phone(&a.phone, region)?;
            let store = a.store.open_existing(&cfg).await?;
            let report = check(&*store, &phone, a.campaign.as_deref()).await?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.render());
            }
            store.close().await;
        }
        DncCommand::Import(a) => {
            // A dry run without a campaign needs no database.
            let store = if a.dry_run && a.scope.campaign.is_none() {
                None
            } else {
                Some(a.store.open_existing(&cfg).await?)
            };
            let scope = match &store {
                Some(s) => resolve_scope(&**s, &a.scope).await?.0,
                None if a.scope.national => DncScope::National,
                None => DncScope::Internal,
            };
            let target = if a.dry_run {
                None
            } else {
                store.as_deref().map(|s| s as &dyn Store)
            };
            let mut stderr = std::io::stderr();
            let out = import_file(
                target,
                &a.file,
                scope,
                a.reason.as_deref(),
                region,
                SystemClock.now(),
                &mut stderr,
            )
            .await?;
            if a.dry_run {
                println!(
                    "dry run: {}: {} lines read, {} valid, {} rejected (nothing written)",
                    a.file.display(),
                    out.lines,
                    out.valid,
                    out.rejected
                );
            } else {
                println!(
                    "{}: {} lines read, {} added, {} already listed, {} rejected",
                    a.file.display(),
                    out.lines,
                    out.added,
                    out.already_listed,
                    out.rejected
                );
            }
            if let Some(s) = store {
                s.close().await;
            }
        }
        DncCommand::Count(a) => {
            let store = a.store.open_existing(&cfg).await?;
            let counts = store.dnc_count().await?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&counts)?);
            } else {
                let names = campaign_names(&*store).await?;
                if counts.is_empty() {
                    println!("no numbers on any DNC list");
                }
                for (key, n) in &counts {
                    let label = match DncScope::parse(key) {
                        Some(scope) => list_label(scope, &names),
                        None => key.clone(),
                    };
                    println!("{label}: {n}");
                }
            }
            store.close().await;
        }
    }
    Ok(())
}

fn parse_phone(raw: &str, region: Region) -> anyhow::Result<E164> {
    E164::parse(raw, region).map_err(|e| anyhow::anyhow!("PHONE: {e}"))
}

fn scope_campaign(scope: DncScope) -> Option<CampaignId> {
    match scope {
        DncScope::Campaign(id) => Some(id),
        DncScope::Internal | DncScope::National => None,
    }
}

async fn campaign_by_name(store: &dyn Store, name: &str) -> anyhow::Result<Campaign> {
    store.campaign_by_name(name).await?.with_context(|| {
        format!("no campaign named '{name}' (create it with `outdial campaign create`)")
    })
}

/// The scope named by the flags, and how to name it to the operator.
async fn resolve_scope(store: &dyn Store, args: &ScopeArgs) -> anyhow::Result<(DncScope, String)> {
    Ok(match (&args.campaign, args.national) {
        (Some(name), _) => {
            let c = campaign_by_name(store, name).await?;
            (
                DncScope::Campaign(c.id),
                format!("campaign '{}''s DNC list", c.name),
            )
        }
        (None, true) => (DncScope::National, "the national DNC list".to_owned()),
        (None, false) => (DncScope::Internal, "the internal DNC list".to_owned()),
    })
}

async fn campaign_names(store: &dyn Store) -> anyhow::Result<BTreeMap<CampaignId, String>> {
    Ok(store
        .campaigns()
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect())
}

fn list_label(scope: DncScope, names: &BTreeMap<CampaignId, String>) -> String {
    match scope {
        DncScope::Internal => "internal list".to_owned(),
        DncScope::National => "national list".to_owned(),
        DncScope::Campaign(id) => match names.get(&id) {
            Some(name) => format!("campaign '{name}' list"),
            None => format!("campaign {id} list (campaign not found)"),
        },
    }
}

/// One list entry as `dnc check` shows it.
#[derive(Debug, Serialize)]
pub struct CheckEntry {
    /// The entry.
    #[serde(flatten)]
    pub entry: DncEntry,
    /// For a campaign list, the campaign's name.
    pub campaign: Option<String>,
}

/// What `dnc check` found.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    /// The number, E.164.
    pub phone: E164,
    /// The campaign checked for (`--campaign`), if any.
    pub campaign: Option<String>,
    /// With a campaign: calling the number for it is blocked. Without: some list holds it.
    pub blocked: bool,
    /// The internal or national list holds it: blocked for every campaign.
    pub everywhere: bool,
    /// Every list entry found, by scope key.
    pub entries: Vec<CheckEntry>,
}

impl CheckReport {
    /// The human-readable form: a headline with `BLOCKED` or `clear`, then one line per list.
    pub fn render(&self) -> String {
        let headline = match (&self.campaign, self.blocked, self.everywhere) {
            (Some(c), true, _) => format!("BLOCKED for campaign '{c}'"),
            (Some(c), false, _) => format!("clear for campaign '{c}' (on no list that applies)"),
            (None, true, true) => "BLOCKED for every campaign".to_owned(),
            (None, true, false) => {
                let names: Vec<&str> = self
                    .entries
                    .iter()
                    .filter_map(|e| e.campaign.as_deref())
                    .collect();
                format!(
                    "BLOCKED for campaign {} only",
                    names
                        .iter()
                        .map(|n| format!("'{n}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            (None, false, _) => "clear (on no DNC list)".to_owned(),
        };
        let mut out = format!("{}: {headline}\n", self.phone);
        for e in &self.entries {
            let list = match (&e.entry.scope, &e.campaign) {
                (DncScope::Campaign(_), Some(name)) => format!("campaign '{name}' list"),
                (scope, _) => format!("{scope} list"),
            };
            out.push_str(&format!(
                "  {list}: added {} by {}",
                e.entry
                    .added_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                e.entry.source
            ));
            if let Some(r) = &e.entry.reason {
                out.push_str(&format!(" (reason: {r})"));
            }
            out.push('\n');
        }
        out
    }
}

/// Looks `phone` up: for `campaign` (its list and the global ones), or, without one, on every
/// list, including each campaign's.
pub async fn check(
    store: &dyn Store,
    phone: &E164,
    campaign: Option<&str>,
) -> anyhow::Result<CheckReport> {
    let names = campaign_names(store).await?;
    let entries = match campaign {
        Some(name) => {
            let c = campaign_by_name(store, name).await?;
            store.dnc_check(phone, Some(c.id)).await?
        }
        None => {
            let mut all = store.dnc_check(phone, None).await?;
            for id in names.keys() {
                all.extend(
                    store
                        .dnc_check(phone, Some(*id))
                        .await?
                        .into_iter()
                        .filter(|e| e.scope == DncScope::Campaign(*id)),
                );
            }
            all.sort_by_key(|e| e.scope.as_key());
            all
        }
    };
    let everywhere = entries
        .iter()
        .any(|e| matches!(e.scope, DncScope::Internal | DncScope::National));
    Ok(CheckReport {
        phone: phone.clone(),
        campaign: campaign.map(str::to_owned),
        blocked: !entries.is_empty(),
        everywhere,
        entries: entries
            .into_iter()
            .map(|entry| CheckEntry {
                campaign: scope_campaign(entry.scope).and_then(|id| names.get(&id).cloned()),
                entry,
            })
            .collect(),
    })
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DncImportOutcome {
    /// Non-blank data lines read (a CSV header excluded).
    pub lines: u64,
    /// Lines holding a valid number.
    pub valid: u64,
    /// Numbers newly put on the list.
    pub added: u64,
    /// Valid numbers the list already held (including repeats within the file).
    pub already_listed: u64,
    /// Lines rejected with a reason.
    pub rejected: u64,
}

/// Imports `path` into the `scope` list of `store` (`None`: a dry run, nothing written),
/// streaming in constant memory and writing batches of [`BATCH`]. Each entry's source is
/// `import:FILE_NAME`. Rejected lines are written to `report` as `FILE:line N: reason`.
///
/// Errors: the file cannot be opened or read; a first row that looks like a CSV header but
/// has no phone column; a store error.
pub async fn import_file(
    store: Option<&dyn Store>,
    path: &Path,
    scope: DncScope,
    reason: Option<&str>,
    region: Region,
    now: DateTime<Utc>,
    report: &mut dyn Write,
) -> anyhow::Result<DncImportOutcome> {
    let name = path.display().to_string();
    let file_name = path
        .file_name()
        .map_or_else(|| name.clone(), |f| f.to_string_lossy().into_owned());
    let mut sink = Sink {
        store,
        batch: Vec::with_capacity(BATCH),
        scope,
        source: format!("import:{file_name}"),
        reason: reason.map(str::to_owned),
        now,
        outcome: DncImportOutcome::default(),
    };
    let open = || {
        std::fs::File::open(path)
            .with_context(|| format!("cannot open DNC file {}", path.display()))
    };
    let mut lines = BoundedLines::new(BufReader::new(open()?));
    // Find the first non-blank line: a CSV header, or already a number.
    let first = loop {
        let Some(line) = lines
            .next_line()
            .with_context(|| format!("reading {name}"))?
        else {
            return Ok(sink.outcome);
        };
        let Line::Text(text) = line else {
            anyhow::bail!(
                "{name}:line {}: the first line is longer than {MAX_LINE_BYTES} bytes: not a DNC list",
                lines.line_no
            );
        };
        let text = String::from_utf8_lossy(&text);
        let text = text.trim_start_matches('\u{feff}').trim();
        if !text.is_empty() {
            break text.to_owned();
        }
    };
    let line_no = lines.line_no;
    if let Some(header) = csv_header(&first) {
        let Some(phone_col) = header
            .iter()
            .position(|h| PHONE_HEADERS.contains(&h.as_str()))
        else {
            anyhow::bail!(
                "{name}:line {line_no}: this looks like a CSV header but has no phone column (one of: {})",
                PHONE_HEADERS.join(", ")
            );
        };
        let reason_col = header.iter().position(|h| h == "reason");
        import_csv(
            &mut sink, &mut lines, phone_col, reason_col, region, &name, report,
        )
        .await?;
    } else {
        sink.line(registry_line(&first, region), None, &name, line_no, report)
            .await?;
        while let Some(line) = lines
            .next_line()
            .with_context(|| format!("reading {name}"))?
        {
            let parsed = match line {
                Line::TooLong => Err(format!("line longer than {MAX_LINE_BYTES} bytes")),
                Line::Text(buf) => match std::str::from_utf8(&buf) {
                    Ok(text) if text.trim().is_empty() => continue,
                    Ok(text) => registry_line(text, region),
                    Err(_) => Err("not UTF-8 text".to_owned()),
                },
            };
            sink.line(parsed, None, &name, lines.line_no, report)
                .await?;
        }
    }
    sink.flush().await?;
    Ok(sink.outcome)
}

/// The lower-cased, trimmed field names of `line` if it is a CSV header: it has a letter,
/// and either a comma or a single field that names the phone column.
fn csv_header(line: &str) -> Option<Vec<String>> {
    if !line.bytes().any(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    let record = r.records().next()?.ok()?;
    let fields: Vec<String> = record
        .iter()
        .map(|f| f.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let is_header = fields.len() > 1 || PHONE_HEADERS.contains(&fields[0].as_str());
    is_header.then_some(fields)
}

/// One line of a registry or plain-list file: ten digits, `AAA,NNNNNNN`, or one number in
/// any form `E164::parse` reads.
fn registry_line(line: &str, region: Region) -> Result<E164, String> {
    let line = line.trim().trim_matches('"').trim();
    let raw = if line.contains(',') {
        let parts: Vec<&str> = line
            .split(',')
            .map(|p| p.trim().trim_matches('"'))
            .collect();
        match parts.as_slice() {
            [area, number]
                if area.len() == 3
                    && number.len() == 7
                    && area
                        .bytes()
                        .chain(number.bytes())
                        .all(|b| b.is_ascii_digit()) =>
            {
                format!("{area}{number}")
            }
            _ => {
                return Err(format!(
                    "'{}': expected one number per line, or area code and number as AAA,NNNNNNN",
                    shown(line)
                ))
            }
        }
    } else {
        line.to_owned()
    };
    E164::parse(&raw, region).map_err(|e| e.to_string())
}

/// Longest line a DNC file may have, bytes. A DNC line is a number and perhaps a name and
/// a reason; a longer line is reported and skipped without being held in memory.
pub const MAX_LINE_BYTES: usize = 4096;

/// Most characters of a value quoted in an error message.
const SHOWN_CHARS: usize = 80;

/// `value`, cut to [`SHOWN_CHARS`] characters for an error message.
fn shown(value: &str) -> String {
    let mut cut: String = value.chars().take(SHOWN_CHARS).collect();
    if cut.len() < value.len() {
        cut.push('…');
    }
    cut
}

/// One physical line of a DNC file.
enum Line {
    /// The line's bytes, without its line break.
    Text(Vec<u8>),
    /// The line was longer than [`MAX_LINE_BYTES`]; its bytes were skipped.
    TooLong,
}

/// Reads a file line by line, never holding more than [`MAX_LINE_BYTES`] of one line.
struct BoundedLines<R> {
    inner: R,
    /// Number of the line last returned (1-based).
    line_no: u64,
}

impl<R: BufRead> BoundedLines<R> {
    fn new(inner: R) -> Self {
        BoundedLines { inner, line_no: 0 }
    }

    /// The next line, or `None` at the end of the file.
    fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        let mut buf = Vec::new();
        let n = (&mut self.inner)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(Some(Line::Text(buf)));
        }
        if buf.len() <= MAX_LINE_BYTES {
            return Ok(Some(Line::Text(buf))); // the last line, without a line break
        }
        // Too long: skip to the end of the line.
        loop {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.inner.consume(i + 1);
                    break;
                }
                None => {
                    let len = chunk.len();
                    self.inner.consume(len);
                }
            }
        }
        Ok(Some(Line::TooLong))
    }
}

/// Reads the rows after a CSV header, one physical line per row: a DNC list has no value
/// that spans lines, so a quote left open at a line's end is that line's error (naming it)
/// and never swallows the lines after it.
async fn import_csv<R: BufRead>(
    sink: &mut Sink<'_>,
    lines: &mut BoundedLines<R>,
    phone_col: usize,
    reason_col: Option<usize>,
    region: Region,
    name: &str,
    report: &mut dyn Write,
) -> anyhow::Result<()> {
    while let Some(line) = lines
        .next_line()
        .with_context(|| format!("reading {name}"))?
    {
        let line_no = lines.line_no;
        let bytes = match line {
            Line::TooLong => {
                let why = format!("line longer than {MAX_LINE_BYTES} bytes");
                sink.line(Err(why), None, name, line_no, report).await?;
                continue;
            }
            Line::Text(bytes) => bytes,
        };
        if bytes.trim_ascii().is_empty() {
            continue;
        }
        // In a well-formed one-line CSV record every quote is paired (RFC 4180: a quoted
        // field opens and closes on the line, an embedded quote is doubled).
        if bytes.iter().filter(|&&b| b == b'"').count() % 2 == 1 {
            let why = format!(
                "a quote opened on this line is not closed on it: '{}'",
                shown(&String::from_utf8_lossy(&bytes))
            );
            sink.line(Err(why), None, name, line_no, report).await?;
            continue;
        }
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes.as_slice());
        let mut record = csv::ByteRecord::new();
        match r.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                sink.line(Err(e.to_string()), None, name, line_no, report)
                    .await?;
                continue;
            }
        }
        if record.iter().all(|f| f.trim_ascii().is_empty()) {
            continue;
        }
        let field = |i: usize| {
            record
                .get(i)
                .map(|f| String::from_utf8_lossy(f).trim().to_owned())
        };
        let parsed = match field(phone_col) {
            None => Err(format!(
                "no phone column (field {}): the row has {} fields",
                phone_col + 1,
                record.len()
            )),
            Some(raw) => E164::parse(&raw, region).map_err(|e| e.to_string()),
        };
        let reason = reason_col.and_then(field).filter(|r| !r.is_empty());
        sink.line(parsed, reason, name, line_no, report).await?;
    }
    Ok(())
}

/// Collects parsed lines into batches and writes them.
struct Sink<'a> {
    store: Option<&'a dyn Store>,
    batch: Vec<DncEntry>,
    scope: DncScope,
    source: String,
    /// Default reason (`--reason`); a CSV `reason` field overrides it.
    reason: Option<String>,
    /// Event time and each entry's `added_at`.
    now: DateTime<Utc>,
    outcome: DncImportOutcome,
}

impl Sink<'_> {
    async fn line(
        &mut self,
        parsed: Result<E164, String>,
        reason: Option<String>,
        name: &str,
        line: u64,
        report: &mut dyn Write,
    ) -> anyhow::Result<()> {
        self.outcome.lines += 1;
        match parsed {
            Ok(phone) => {
                self.outcome.valid += 1;
                self.batch.push(DncEntry {
                    phone,
                    scope: self.scope,
                    source: self.source.clone(),
                    reason: reason.or_else(|| self.reason.clone()),
                    added_at: self.now,
                });
                if self.batch.len() >= BATCH {
                    self.flush().await?;
                }
            }
            Err(why) => {
                self.outcome.rejected += 1;
                writeln!(report, "{name}:line {line}: {why}")?;
            }
        }
        Ok(())
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        if let Some(store) = self.store {
            let added = store.dnc_add(&self.batch, self.now).await?;
            self.outcome.added += added;
            self.outcome.already_listed += self.batch.len() as u64 - added;
        }
        self.batch.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_lines() {
        let us = Region::US;
        let ok = |l: &str| registry_line(l, us).unwrap().as_str().to_owned();
        assert_eq!(ok("2125550101"), "+12125550101");
        assert_eq!(ok("212,5550101"), "+12125550101");
        assert_eq!(ok(" \"212\",\"5550101\"\r\n"), "+12125550101");
        assert_eq!(ok("+1 (212) 555-0101"), "+12125550101");
        assert!(registry_line("212,555010", us).is_err());
        assert!(registry_line("212,5550101,x", us).is_err());
        assert!(registry_line("12345", us).is_err());
        assert!(registry_line("call me", us).is_err());
    }

    #[test]
    fn csv_headers() {
        assert_eq!(
            csv_header("\u{feff}Phone,Reason").unwrap(),
            vec!["phone", "reason"]
        );
        assert_eq!(csv_header("phone").unwrap(), vec!["phone"]);
        assert!(csv_header("2125550101").is_none());
        assert!(csv_header("212,5550101").is_none());
        assert!(csv_header("nonsense").is_none());
        // A header without a phone column is still a header (import refuses it).
        assert_eq!(csv_header("name,email").unwrap(), vec!["name", "email"]);
    }
}
