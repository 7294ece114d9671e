//! `outdial backfill --provider NAME --campaign NAME --since DATE [--until DATE] [--dry-run]
//! [--exclude FILE…]`: reads the provider's log of outbound calls an earlier system placed,
//! and adds the numbers worth calling to the campaign as leads with those calls as their
//! history, so caps and the redial policy go on where that system stopped (issue 11).
//! Planning and writing are `outdial_engine::backfill`; the log is the provider's
//! `outdial_providers::CallLog`, read from the configured account (its `api_base` included,
//! so tests point it at a fake).

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use outdial_core::{ProviderKind, Region, E164};
use outdial_engine::backfill::{self, BackfillPlan, SkipReason};
use outdial_providers::{LogProgress, LogQuery};
use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::app::StoreArgs;
use crate::config::Config;

/// Arguments of `outdial backfill`.
#[derive(Debug, clap::Args)]
pub struct BackfillArgs {
    /// Provider whose call log is read (its account from the configuration).
    #[arg(long)]
    pub provider: ProviderKind,
    /// Campaign the numbers join (see `outdial campaign create`).
    #[arg(long)]
    pub campaign: String,
    /// First day (UTC, `YYYY-MM-DD`) or instant (RFC 3339) of the calls read.
    #[arg(long, value_parser = parse_since)]
    pub since: DateTime<Utc>,
    /// Last day read, included (UTC, `YYYY-MM-DD`), or an instant (RFC 3339, excluded).
    /// Default: now.
    #[arg(long, value_parser = parse_until)]
    pub until: Option<DateTime<Utc>>,
    /// Fetch and plan, print the breakdown, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Numbers never to add (a CRM's export of sales and opt-outs): a CSV with a phone
    /// column, or one number per line. May be given several times.
    #[arg(long = "exclude", value_name = "FILE")]
    pub exclude: Vec<PathBuf>,
    /// Days of the calls-per-day forecast.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=31))]
    pub forecast_days: u32,
    /// Database and pool size.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Clock flags: "now" for next attempt times.
    #[command(flatten)]
    pub clock: crate::app::ClockArgs,
}

fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    match parse_day(s) {
        Some(d) => Ok(d.and_time(chrono::NaiveTime::MIN).and_utc()),
        None => crate::app::parse_rfc3339(s)
            .map_err(|_| format!("'{s}' is neither a day (2026-03-02) nor an RFC 3339 instant")),
    }
}

fn parse_until(s: &str) -> Result<DateTime<Utc>, String> {
    match parse_day(s) {
        Some(d) => Ok((d + chrono::Duration::days(1))
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()),
        None => parse_since(s),
    }
}

/// Progress on stderr: an indicatif bar (rate, ETA) on a terminal, plain lines otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    what: &'static str,
    last_line: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Progress {
    fn new(what: &'static str, total: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new(total);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg:>10} [{bar:30}] {pos}/{len} ({per_sec}, ETA {eta})",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            b.set_message(what);
            b
        });
        Progress {
            bar,
            what,
            last_line: std::sync::Mutex::new(None),
        }
    }

    /// Shows `done` of `total`, with `detail`; plain lines at most once a second (and at the
    /// end).
    fn set(&self, done: u64, total: u64, detail: &str) {
        if let Some(b) = &self.bar {
            b.set_length(total);
            b.set_position(done);
            return;
        }
        let mut last = self.last_line.lock().expect("not poisoned");
        let due = last.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(1));
        if due || done == total {
            eprintln!("{}: {done}/{total}{detail}", self.what);
            *last = Some(std::time::Instant::now());
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// The numbers of an exclude file: one number per line when its first non-blank line is a
/// number, else a lead list (CSV with a phone column) read by the import crate's reader.
/// Lines that are not numbers are reported on `report` and counted (second value).
fn read_exclude(
    path: &Path,
    region: Region,
    report: &mut dyn Write,
) -> anyhow::Result<(HashSet<E164>, u64)> {
    let text = std::fs::read(path)
        .with_context(|| format!("cannot read exclude file {}", path.display()))?;
    let name = path.display().to_string();
    let first = String::from_utf8_lossy(&text)
        .lines()
        .map(|l| l.trim().trim_start_matches('\u{feff}').to_owned())
        .find(|l| !l.is_empty());
    let mut numbers = HashSet::new();
    let mut bad = 0;
    if first.is_some_and(|l| E164::parse(&l, region).is_ok()) {
        for (i, line) in String::from_utf8_lossy(&text).lines().enumerate() {
            let line = line.trim().trim_start_matches('\u{feff}');
            if line.is_empty() {
                continue;
            }
            match E164::parse(line, region) {
                Ok(n) => {
                    numbers.insert(n);
                }
                Err(e) => {
                    bad += 1;
                    let shown: String = line.chars().take(80).collect();
                    writeln!(report, "{name}:row {}: '{shown}': {e}", i + 1)?;
                }
            }
        }
        return Ok((numbers, bad));
    }
    let reader = outdial_import::LeadReader::detect(text.as_slice(), region, &name)
        .map_err(|e| anyhow::anyhow!("exclude file: {e}"))?;
    for row in reader {
        match row {
            Ok(r) => {
                numbers.insert(r.lead.phone);
            }
            Err(e) => {
                bad += 1;
                writeln!(report, "{name}:{e}")?;
            }
        }
    }
    Ok((numbers, bad))
}

/// Runs the backfill and prints the breakdown (see the module docs). Exit status non-zero
/// when the log cannot be read, an exclude file cannot be read, or the store fails (what
/// was committed before stays; a rerun skips it).
pub async fn run(config: Option<&Path>, args: BackfillArgs) -> anyhow::Result<()> {
    crate::app::init_tracing(false, "warn");
    let cfg = Config::load(config)?;
    let region = cfg.region()?;
    let now = args.clock.clock()?.now();
    let until = args.until.unwrap_or(now);
    anyhow::ensure!(
        args.since < until,
        "--since ({}) must be before --until ({})",
        args.since.to_rfc3339(),
        until.to_rfc3339()
    );
    let mut stderr = std::io::stderr();
    let mut excluded = HashSet::new();
    for path in &args.exclude {
        let (numbers, bad) = read_exclude(path, region, &mut stderr)?;
        eprintln!(
            "{}: {} numbers to exclude{}",
            path.display(),
            numbers.len(),
            if bad > 0 {
                format!(", {bad} rows not read (above)")
            } else {
                String::new()
            }
        );
        excluded.extend(numbers);
    }
    let log = crate::app::call_log(&cfg, args.provider)?;
    let store = args.store.open_existing(&cfg).await?;
    let state_rules = crate::app::state_rules(&cfg)?;
    let target = Target {
        store: &*store,
        log: &*log,
        state_rules: &state_rules,
        excluded: &excluded,
        until,
        now,
    };
    let result = backfill_into(target, &args).await;
    store.close().await;
    result
}

/// What a backfill reads from and writes to.
struct Target<'a> {
    store: &'a dyn outdial_store::Store,
    log: &'a dyn outdial_providers::CallLog,
    state_rules: &'a outdial_core::compliance::StateRules,
    excluded: &'a HashSet<E164>,
    /// End of the calls read (exclusive), UTC.
    until: DateTime<Utc>,
    now: DateTime<Utc>,
}

async fn backfill_into(t: Target<'_>, args: &BackfillArgs) -> anyhow::Result<()> {
    let Target {
        store,
        log,
        state_rules: cfg_rules,
        excluded,
        until,
        now,
    } = t;
    let campaign = store
        .campaign_by_name(&args.campaign)
        .await?
        .with_context(|| {
            format!(
                "no campaign named '{}' (create it with `outdial campaign create`)",
                args.campaign
            )
        })?;
    if campaign.settings.provider != args.provider {
        eprintln!(
            "note: campaign '{}' places its calls through {}; reading the {} log",
            campaign.name, campaign.settings.provider, args.provider
        );
    }
    let fetching = Progress::new("fetch", 0);
    let show = |p: LogProgress| {
        let detail = format!(" windows, {} calls, {} requests", p.calls, p.requests);
        fetching.set(
            u64::from(p.windows_done),
            u64::from(p.windows_total),
            &detail,
        );
    };
    let fetched = log
        .fetch_log(&LogQuery::new(args.since, until), &show)
        .await
        .with_context(|| format!("reading the {} call log", args.provider))?;
    fetching.finish();
    let planning = Progress::new("plan", fetched.calls.len() as u64);
    let plan = backfill::plan(
        store,
        &campaign,
        cfg_rules,
        &fetched.calls,
        excluded,
        now,
        &mut |d, t| planning.set(d, t, " numbers"),
    )
    .await?;
    planning.finish();
    let mode = if args.dry_run { " (dry run)" } else { "" };
    println!(
        "backfill from {} into campaign '{}'{mode}: calls created {} to {}",
        args.provider,
        campaign.name,
        args.since.to_rfc3339(),
        until.to_rfc3339()
    );
    println!(
        "calls fetched: {} ({} requests, {} rate-limited; {} inbound and {} unusable left out)",
        fetched.calls.len(),
        fetched.requests,
        fetched.rate_limited,
        fetched.inbound,
        fetched.unusable
    );
    print_plan(&plan);
    let forecast = backfill::forecast(
        &campaign.settings,
        cfg_rules,
        &plan.additions,
        now,
        args.forecast_days,
    );
    println!("expected calls per local day (at most: if no call is answered, within caps):");
    for d in &forecast {
        println!(
            "  {}: {} leads first due, at most {} calls",
            d.day, d.due, d.calls_at_most
        );
    }
    if args.dry_run {
        println!("dry run: nothing written");
        return Ok(());
    }
    let applying = Progress::new("add", plan.additions.len() as u64);
    let r = backfill::apply(store, &campaign, &plan, now, &mut |d, t| {
        applying.set(d, t, " leads")
    })
    .await
    .context("writing the backfill (what was committed stays; run it again to go on)")?;
    applying.finish();
    println!(
        "added: {} leads ({} active, {} done, {} paused), {} past attempts stored; {} calls already stored; {} numbers had become leads meanwhile; {} numbers put on the internal DNC list",
        r.added, r.active, r.done, r.paused, r.attempts, r.known_calls, r.already_lead, r.dnc_added
    );
    Ok(())
}

/// The breakdown: numbers, each skip reason, what is to be added.
fn print_plan(plan: &BackfillPlan) {
    println!("unique numbers: {}", plan.numbers);
    println!("skipped:");
    let count = |r: &SkipReason| plan.skipped.get(r).copied().unwrap_or(0);
    println!("  already a lead: {}", count(&SkipReason::AlreadyLead));
    for code in ["SALE", "DNC", "BAD_NUMBER"] {
        let d = outdial_core::Disposition::normalise(code).expect("valid code");
        println!("  {code}: {}", count(&SkipReason::Finished(d)));
    }
    for (reason, n) in &plan.skipped {
        if let SkipReason::Finished(d) = reason {
            if !matches!(d.as_str(), "SALE" | "DNC" | "BAD_NUMBER") {
                println!("  {d} (terminal): {n}");
            }
        }
    }
    println!("  on a DNC list: {}", count(&SkipReason::DncList));
    println!("  excluded: {}", count(&SkipReason::Excluded));
    println!(
        "  call still in progress: {}",
        count(&SkipReason::CallInProgress)
    );
    let by = |f: fn(&outdial_core::schedule::LeadDecision) -> bool| {
        plan.additions.iter().filter(|a| f(&a.decision)).count()
    };
    use outdial_core::schedule::LeadDecision as D;
    println!(
        "to be added: {} ({} active, {} done: limits reached, {} paused), {} past calls",
        plan.additions.len(),
        by(|d| matches!(d, D::Redial { .. })),
        by(|d| matches!(d, D::Done { .. })),
        by(|d| matches!(d, D::Park { .. })),
        plan.additions.iter().map(|a| a.past.len()).sum::<usize>()
    );
    println!(
        "to put on the internal DNC list (a do-not-call disposition): {}",
        plan.dnc_requests.len()
    );
}
