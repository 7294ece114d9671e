//! The issue-11 scenarios: Bland.ai campaigns through the real `outdial serve` and the fake
//! carrier's fake Bland over real HTTP, on a fast clock, checked against the carrier's ledger.
//!
//! - 500 leads (duplicates, invalid numbers, an always-busy number) in a Bland campaign
//!   created from CLI flags, a `serve` with only a `[bland]` section (no Twilio account), and
//!   every fault of the fake Bland at once (lost, duplicated, reordered and delayed webhooks,
//!   ambiguous creates, delayed second webhooks) across two simulated days;
//! - one `serve` dialing a Twilio and a Bland campaign at once, each through its own API, into
//!   the carrier's one ledger.

use super::support::{self, LeadFile, Serve, SimClock, AREAS};
use chrono::{DateTime, Duration, TimeZone, Utc};
use outdial_carrier::{BlandFake, CarrierConfig, CarrierStats, LedgerEntry, ProviderApi};
use outdial_core::{AttemptState, ProviderKind, Region, E164};
use outdial_store::prelude::*;
use outdial_store::Attempt;
use outdial_store_sqlite::{OpenMode, SqliteStore};
use std::collections::{BTreeSet, HashMap};

/// The lead file of the Bland campaign: 500 rows in the VICIdial layout (470 distinct valid
/// numbers over twelve area codes, 15 duplicates written differently, 15 invalid numbers).
const LEADS: LeadFile<'static> = LeadFile {
    areas: AREAS.split_at(12).0,
    valid: 470,
    duplicates: 15,
    duplicate_stride: 7,
    invalid: 15,
};

/// Every fault at once; webhooks wait up to 30 simulated seconds more.
const FAULTS: &str = "lose=0.3,duplicate=0.2,reorder=0.2,delay=30s,ambiguous=0.05";

/// The agent's task of the tests' Bland campaigns.
const TASK: &str =
    "Greet the lead on behalf of outdial and ask whether now is a good time to talk.";

/// Monday 2026-01-05 08:00 in New York: the simulated start of every scenario.
fn monday_morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 13, 0, 0).unwrap()
}

/// `outdial campaign create NAME --provider bland --task …` with machine detection on.
fn create_bland_campaign(db: &std::path::Path, name: &str) {
    support::create_campaign_with_flags(
        db,
        name,
        &[
            "--provider",
            "bland",
            "--task",
            TASK,
            "--caller-id",
            "+15005550006",
            "--machine-detection",
            "detect",
        ],
    );
}

/// Runs the clock to `end`, checking every half second that `serve` is still up.
async fn run_until(
    clock: &dyn outdial_clock::Clock,
    end: DateTime<Utc>,
    serve: &mut support::ServeProcess,
) {
    while clock.now() < end {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        serve.assert_running("outdial serve");
    }
}

/// Stops dialing, waits (at most 60 real seconds) until no attempt is in flight, and returns
/// how many still were.
async fn stop_and_drain(http: &reqwest::Client, base: &str) -> Option<u64> {
    support::stop_dialer(http, base).await;
    support::drain(http, base, 0, std::time::Duration::from_secs(60)).await
}

/// Whether `a` has been through `unknown` (an ambiguous create) according to its lead's
/// event log.
async fn went_unknown(store: &SqliteStore, a: &Attempt) -> bool {
    store
        .lead_events(a.lead_id)
        .await
        .unwrap()
        .iter()
        .any(|e| e.attempt_id == Some(a.id) && e.kind == "attempt.unknown")
}

/// The fake Bland's call objects by `call_id`; each must carry outdial's metadata naming the
/// attempt that owns the call and that attempt's lead and campaign. Returns the map.
fn check_metadata<'a>(
    calls: &'a [serde_json::Value],
    attempts: &[Attempt],
) -> HashMap<String, &'a serde_json::Value> {
    let by_id: HashMap<i64, &Attempt> = attempts.iter().map(|a| (a.id.0, a)).collect();
    let mut out = HashMap::new();
    for call in calls {
        let call_id = call["call_id"].as_str().expect("call_id").to_owned();
        let meta = &call["metadata"];
        let attempt_id = meta["outdial_attempt_id"]
            .as_i64()
            .unwrap_or_else(|| panic!("call {call_id} has no outdial_attempt_id: {meta}"));
        let a = by_id
            .get(&attempt_id)
            .unwrap_or_else(|| panic!("call {call_id} names attempt {attempt_id}, unknown"));
        assert_eq!(
            a.call_id.as_ref().map(|c| c.as_str()),
            Some(call_id.as_str()),
            "attempt {attempt_id} does not own call {call_id}"
        );
        assert_eq!(
            meta["lead_id"].as_i64(),
            Some(a.lead_id.0),
            "{call_id}: {meta}"
        );
        assert_eq!(
            meta["campaign_id"].as_i64(),
            Some(a.campaign_id.0),
            "{call_id}: {meta}"
        );
        assert_eq!(call["to"].as_str(), Some(a.phone.as_str()), "{call_id}");
        out.insert(call_id, call);
    }
    out
}

/// The attempts whose disposition came from the call's `disposition_tag`: each was requested
/// with the tag the carrier drew, and concluded with it unless its lead had moved on (a later
/// attempt) before the tag could decide it again. Returns them.
fn tagged_attempts<'a>(
    attempts: &'a [Attempt],
    calls: &HashMap<String, &serde_json::Value>,
) -> Vec<&'a Attempt> {
    let tagged: Vec<&Attempt> = attempts
        .iter()
        .filter(|a| a.requested_disposition.is_some())
        .collect();
    for a in &tagged {
        let requested = a.requested_disposition.as_ref().unwrap().as_str();
        let call_id = a
            .call_id
            .as_ref()
            .expect("a tagged attempt has a call")
            .as_str();
        let call = calls
            .get(call_id)
            .unwrap_or_else(|| panic!("attempt {} has call {call_id} unknown to Bland", a.id));
        assert_eq!(
            call["disposition_tag"].as_str(),
            Some(requested),
            "attempt {}: requested disposition {requested}, carrier tagged {}",
            a.id,
            call["disposition_tag"]
        );
        assert!(a.concluded_at.is_some(), "attempt {} not concluded", a.id);
        let moved_on = attempts
            .iter()
            .any(|b| b.lead_id == a.lead_id && b.number > a.number);
        assert!(
            a.disposition.as_ref().map(|d| d.as_str()) == Some(requested) || moved_on,
            "attempt {} requested {requested} but concluded {:?}",
            a.id,
            a.disposition
        );
    }
    tagged
}

/// Every price stored on an attempt is the fake Bland's price of its call, nearly every
/// priced call's attempt has it (through the webhook or the reconciler's fetch), and the KPI
/// report adds them up. Answers how many attempts are priced.
async fn check_prices(
    store: &SqliteStore,
    attempts: &[Attempt],
    calls: &HashMap<String, &serde_json::Value>,
) -> usize {
    let mut priced = 0;
    let mut expected_micros = 0;
    let mut carrier_priced = 0;
    for a in attempts.iter().filter(|a| a.state.is_final()) {
        let Some(call) = a.call_id.as_ref().and_then(|c| calls.get(c.as_str())) else {
            continue;
        };
        let Some(usd) = call["price"].as_f64() else {
            continue;
        };
        carrier_priced += 1;
        if let Some(p) = &a.price {
            assert_eq!(
                p,
                &outdial_core::CallPrice::from_amount(usd, "USD").unwrap(),
                "attempt {}",
                a.id
            );
            priced += 1;
            expected_micros += p.micros;
        }
    }
    assert!(
        priced * 10 >= carrier_priced * 9,
        "{priced} of {carrier_priced} priced calls have their price"
    );
    let query = outdial_core::report::ReportQuery {
        from: monday_morning() - Duration::days(1),
        to: monday_morning() + Duration::days(10),
        campaign: None,
        zone: outdial_core::report::ReportZone::Utc,
    };
    let report = outdial_engine::reports::run_report(
        store,
        outdial_engine::reports::ReportName::Kpis,
        &query,
        monday_morning() + Duration::days(10),
    )
    .await
    .unwrap();
    let k = report.to_json();
    assert_eq!(k["cost_currency"], "USD", "{k}");
    assert_eq!(k["priced_dials"]["numerator"], priced, "{k}");
    let total = k["cost_total"].as_f64().unwrap();
    assert!((total - expected_micros as f64 / 1e6).abs() < 1e-6, "{k}");
    priced
}

/// Whether `a`'s events show its tag's path: the raw Bland webhook carrying
/// `disposition_tag` = its requested disposition, and the request recorded from that webhook.
async fn tag_came_by_webhook(store: &SqliteStore, a: &Attempt) -> bool {
    let tag = a.requested_disposition.as_ref().unwrap().as_str();
    let source = outdial_providers::bland::webhook::WEBHOOK_SOURCE;
    let events = store.lead_events(a.lead_id).await.unwrap();
    let mine: Vec<_> = events
        .iter()
        .filter(|e| e.attempt_id == Some(a.id) && e.source == source)
        .collect();
    mine.iter().any(|e| {
        e.kind == "webhook"
            && e.detail.contains("\"disposition_tag\"")
            && e.detail.contains(&format!("\"{tag}\""))
    }) && mine
        .iter()
        .any(|e| e.kind == "attempt.disposition" && e.detail.contains(tag))
}

/// No attempt is left `reserved` or `unknown`.
fn assert_none_in_doubt(attempts: &[Attempt]) {
    let doubtful: Vec<_> = attempts
        .iter()
        .filter(|a| matches!(a.state, AttemptState::Unknown | AttemptState::Reserved))
        .map(|a| format!("attempt {} ({}) {}", a.id, a.phone, a.state.as_str()))
        .collect();
    assert!(doubtful.is_empty(), "attempts left in doubt: {doubtful:?}");
}

/// The faults really happened.
fn assert_faults_happened(stats: &CarrierStats) {
    assert!(stats.callbacks_lost > 0, "{stats:?}");
    assert!(stats.callbacks_duplicated > 0, "{stats:?}");
    assert!(stats.callbacks_reordered > 0, "{stats:?}");
    assert!(stats.second_webhooks > 0, "{stats:?}");
    assert!(stats.creates_ambiguous > 0, "{stats:?}");
}

/// The local (New York) days the ledger's calls were created on.
fn days(ledger: &[LedgerEntry]) -> BTreeSet<chrono::NaiveDate> {
    ledger
        .iter()
        .map(|e| {
            e.created_at
                .with_timezone(&chrono_tz::America::New_York)
                .date_naive()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_bland_leads_two_days_with_faults() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e2e-bland.db");
    let leads = dir.path().join("leads.txt");
    let numbers = LEADS.write(&leads);
    // Always busy; refused by the fake Bland (400 naming phone_number).
    let busy = numbers[1].clone();
    let invalid = numbers[3..5].to_vec();

    create_bland_campaign(&db, "e2e-bland");
    let start = monday_morning();
    let (stdout, stderr) = support::import_leads(&db, &leads, "e2e-bland", start);
    assert!(stdout.contains(&LEADS.import_summary()), "{stdout}");
    assert_eq!(
        stderr.lines().filter(|l| l.contains("leads.txt:")).count(),
        15,
        "{stderr}"
    );

    let sim = SimClock::new(start, 3000.0, 1500);
    let clock = sim.clock();
    // The carrier serves only its fake Bland: a stray Twilio request would get 404.
    let carrier = support::start_carrier(
        CarrierConfig {
            serve_twilio: false,
            bland: Some(BlandFake {
                second_webhook: 0.5,
                ..BlandFake::default()
            }),
            ..support::carrier_config(42, FAULTS, std::slice::from_ref(&busy), &[], &invalid)
        },
        clock.clone(),
    )
    .await;

    let serve = Serve::new(&db, sim, &carrier.base_url(), 5.0, 25);
    let public_url = serve.public_url();
    let mut serve = serve.spawn_for(&[ProviderKind::Bland]);
    let http = reqwest::Client::new();
    serve
        .wait_healthy(&http, std::time::Duration::from_secs(10), "outdial serve")
        .await;
    // No Twilio account: its webhook route is not there.
    let twilio = http
        .post(format!(
            "{public_url}{}",
            outdial_providers::twilio::webhook::STATUS_CALLBACK_PATH
        ))
        .form(&[("CallSid", "CA0"), ("CallStatus", "completed")])
        .send()
        .await
        .unwrap();
    assert_eq!(twilio.status(), 404, "Twilio route of a Bland-only serve");

    // Two simulated days and a bit: Monday 08:00 to Wednesday 10:00 in New York.
    run_until(&*clock, start + Duration::hours(50), &mut serve).await;
    let status = support::status(&http, &public_url, "outdial serve").await;
    assert_eq!(status["dialer"], "running", "{status}");
    let left = stop_and_drain(&http, &public_url).await;
    let code = serve.signal_and_wait("TERM");
    assert!(code.success(), "serve exited with {code}");

    let ledger = carrier.ledger();
    let stats = carrier.stats();
    let calls = support::bland_calls(&http, &carrier.base_url()).await;
    carrier.shutdown().await;
    let store = SqliteStore::open(&db, OpenMode::MustExist).await.unwrap();
    let report = support::run_checks(&store, &ledger).await;
    let attempts = outdial_sim::checks::all_attempts(&store).await.unwrap();
    eprintln!(
        "carrier: {} calls, {} attempts, {left:?} left in flight; {stats:?}",
        ledger.len(),
        attempts.len()
    );
    if !report.ok() {
        support::explain_failures(&report, &attempts, &ledger);
    }
    assert!(report.ok(), "invariant checks failed");
    assert!(ledger.len() > 470, "too few calls placed: {}", ledger.len());
    assert!(
        ledger.iter().all(|e| e.provider() == ProviderApi::Bland),
        "a call went through another API than Bland's"
    );
    assert!(days(&ledger).len() >= 2, "calls on {:?}", days(&ledger));
    assert_faults_happened(&stats);

    // Ambiguous creates were resolved: nothing is left in doubt, and attempts that were
    // `unknown` now own their carrier call (the orphan check above: every call has one).
    assert_none_in_doubt(&attempts);
    let mut resolved = 0;
    for a in attempts.iter().filter(|a| a.call_id.is_some()) {
        if went_unknown(&store, a).await {
            assert!(
                a.state.is_final(),
                "attempt {} is {}",
                a.id,
                a.state.as_str()
            );
            resolved += 1;
        }
    }
    assert!(resolved > 0, "no ambiguous create was resolved to its call");

    // Every Bland call carries outdial's metadata, and the tags came back as dispositions.
    assert_eq!(calls.len(), ledger.len(), "the fake Bland lists every call");
    let by_call = check_metadata(&calls, &attempts);
    let tagged = tagged_attempts(&attempts, &by_call);
    eprintln!(
        "{} attempts dispositioned from a disposition_tag",
        tagged.len()
    );
    assert!(
        !tagged.is_empty(),
        "no disposition came from a disposition_tag"
    );
    let mut by_webhook = 0;
    for a in tagged.iter().take(50) {
        by_webhook += usize::from(tag_came_by_webhook(&store, a).await);
    }
    assert!(
        by_webhook > 0,
        "no tag traced from a raw webhook to its request"
    );
    let priced = check_prices(&store, &attempts, &by_call).await;
    eprintln!("{priced} attempts priced");
    assert!(priced > 100, "only {priced} attempts have a price");

    // The always-busy number is redialed by the policy, never in a loop.
    let busy_calls: Vec<_> = ledger.iter().filter(|e| e.to == busy).collect();
    assert!(
        busy_calls.len() >= 3,
        "busy number called {}",
        busy_calls.len()
    );
    assert!(
        busy_calls.len() <= 3 * 8,
        "busy number called {} times",
        busy_calls.len()
    );
    assert!(busy_calls
        .iter()
        .all(|c| c.final_status.as_deref() == Some("busy")));
    // Numbers the fake Bland refuses: one attempt each, lead done as BAD_NUMBER.
    for n in &invalid {
        let leads = store
            .leads_by_phone(&E164::parse(n, Region::US).unwrap())
            .await
            .unwrap();
        assert_eq!(
            leads[0].disposition.as_ref().map(|d| d.as_str()),
            Some("BAD_NUMBER"),
            "{n}"
        );
        assert_eq!(leads[0].attempt_count, 1, "{n}");
    }
    assert!(ledger.iter().all(|e| !invalid.contains(&e.to)));
    outdial_store::Coordination::close(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_serve_dials_a_twilio_and_a_bland_campaign_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e2e-both.db");
    // Two lists of 60 rows over different area codes, so no number is in both.
    let (tw_file, bl_file) = AREAS.split_at(10);
    let lists = [
        ("both-twilio", tw_file, dir.path().join("twilio.txt")),
        ("both-bland", bl_file, dir.path().join("bland.txt")),
    ];
    support::create_campaign(&db, "both-twilio", dir.path());
    create_bland_campaign(&db, "both-bland");
    let start = monday_morning();
    let mut numbers = Vec::new();
    for (name, areas, path) in &lists {
        let file = LeadFile {
            areas,
            valid: 56,
            duplicates: 2,
            duplicate_stride: 5,
            invalid: 2,
        };
        numbers.push(file.write(path));
        let (stdout, _) = support::import_leads(&db, path, name, start);
        assert!(stdout.contains(&file.import_summary()), "{stdout}");
    }

    let sim = SimClock::new(start, 3000.0, 1500);
    let clock = sim.clock();
    let carrier = support::start_carrier(
        CarrierConfig {
            bland: Some(BlandFake {
                second_webhook: 0.5,
                ..BlandFake::default()
            }),
            ..support::carrier_config(7, FAULTS, &[], &[], &[])
        },
        clock.clone(),
    )
    .await;
    let serve = Serve::new(&db, sim, &carrier.base_url(), 5.0, 25);
    let public_url = serve.public_url();
    let mut serve = serve.spawn_for(&[ProviderKind::Twilio, ProviderKind::Bland]);
    let http = reqwest::Client::new();
    serve
        .wait_healthy(&http, std::time::Duration::from_secs(10), "outdial serve")
        .await;

    // One simulated day: Monday 08:00 New York to 08:00 Tuesday in Hawaii's evening (+20 h).
    run_until(&*clock, start + Duration::hours(20), &mut serve).await;
    let left = stop_and_drain(&http, &public_url).await;

    // `explain` names the provider of a Bland lead: the CLI (JSON) and the admin API.
    let bland_number = &numbers[1][0];
    let explained = support::explain_json(&db, bland_number);
    assert_eq!(explained[0]["provider"], "bland", "{explained:#}");
    assert_eq!(explained[0]["campaign"], "both-bland", "{explained:#}");
    let lead_id = explained[0]["lead"]["id"].as_i64().expect("lead id");
    let api = support::explain_api(&http, &public_url, lead_id).await;
    assert_eq!(api["provider"], "bland", "{api:#}");
    let twilio_lead = support::explain_json(&db, &numbers[0][0]);
    assert_eq!(twilio_lead[0]["provider"], "twilio", "{twilio_lead:#}");
    // …and so does its text form.
    let text = support::bin()
        .args(["explain", bland_number, "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("in campaign 'both-bland' (provider bland)"),
        "{text}"
    );

    let code = serve.signal_and_wait("TERM");
    assert!(code.success(), "serve exited with {code}");
    let ledger = carrier.ledger();
    let stats = carrier.stats();
    let calls = support::bland_calls(&http, &carrier.base_url()).await;
    carrier.shutdown().await;
    let store = SqliteStore::open(&db, OpenMode::MustExist).await.unwrap();
    let report = support::run_checks(&store, &ledger).await;
    let attempts = outdial_sim::checks::all_attempts(&store).await.unwrap();
    eprintln!(
        "carrier: {} calls, {} attempts, {left:?} left in flight; {stats:?}",
        ledger.len(),
        attempts.len()
    );
    if !report.ok() {
        support::explain_failures(&report, &attempts, &ledger);
    }
    assert!(report.ok(), "invariant checks failed");
    assert_none_in_doubt(&attempts);

    // Both campaigns' calls are in the one ledger, each through its own API.
    let campaigns: HashMap<String, _> = store
        .campaigns()
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.name.clone(), c.id))
        .collect();
    let mut per_api: HashMap<ProviderApi, usize> = HashMap::new();
    for (i, (name, _, _)) in lists.iter().enumerate() {
        let want = if i == 0 {
            ProviderApi::Twilio
        } else {
            ProviderApi::Bland
        };
        let mine: Vec<_> = ledger
            .iter()
            .filter(|e| numbers[i].contains(&e.to))
            .collect();
        assert!(mine.len() >= 56, "{name}: {} calls", mine.len());
        for e in &mine {
            assert_eq!(
                e.provider(),
                want,
                "{name}: call {} to {}",
                e.call_sid,
                e.to
            );
        }
        *per_api.entry(want).or_default() += mine.len();
        for a in attempts
            .iter()
            .filter(|a| numbers[i].contains(&a.phone.to_string()))
        {
            assert_eq!(a.campaign_id, campaigns[*name], "attempt {}", a.id);
        }
    }
    assert_eq!(
        per_api.values().sum::<usize>(),
        ledger.len(),
        "every call belongs to one of the two lists"
    );
    // The Bland calls carry the Bland campaign's metadata, every one.
    assert_eq!(calls.len(), per_api[&ProviderApi::Bland]);
    let by_call = check_metadata(&calls, &attempts);
    assert!(calls
        .iter()
        .all(|c| c["metadata"]["campaign_id"].as_i64() == Some(campaigns["both-bland"].0)));
    let tagged = tagged_attempts(&attempts, &by_call);
    eprintln!(
        "calls by API: {per_api:?}; {} Bland attempts dispositioned from a tag",
        tagged.len()
    );
    assert!(
        !tagged.is_empty(),
        "no disposition came from a disposition_tag"
    );
    assert!(
        stats.callbacks_lost > 0 && stats.second_webhooks > 0,
        "{stats:?}"
    );
    outdial_store::Coordination::close(&store).await;
}
