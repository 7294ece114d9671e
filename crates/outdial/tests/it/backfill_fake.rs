//! `outdial backfill --provider bland` against the real fake carrier (issue 11, "Must show").
//!
//! The fake Bland holds 5,000 past calls over three weeks to 1,200 numbers (seeded): a mix of
//! statuses, `answered_by` and `disposition_tag`s (terminal ones: SALE, DNC, BAD_NUMBER,
//! NOT_INTERESTED, ANSWERED; and non-terminal ones), 40 numbers called 8 times in their local
//! today, 13 numbers called 31 times (past the campaign's `max_total` of 30), one call still
//! live, one left non-final for hours, and calls before `--since`. Two days hold more calls
//! than the client's page `limit` (1,000, not configurable), so pages end inside a day.
//!
//! The backfill talks to the carrier through a recording proxy in this process: on given
//! requests (a second page of a window) it inserts new past calls into the carrier and places
//! a live call through the fake's API before forwarding, so calls arrive while the client
//! pages, at a point that does not depend on timing. Bland's default order is newest first:
//! arrivals would shift every index; the client's ascending order, windows and dedupe by
//! call id must still read every call exactly once.
//!
//! Every printed figure (calls fetched, unique numbers, each skip reason, what is added, the
//! calls-per-day forecast) is compared with what this file computes itself from the calls it
//! inserted, with its own small model of the campaign's policy (progressive intervals, 8 per
//! local day, 08:00–21:00 local, 30 in total; New York and California numbers only, which
//! have no state rules).

use crate::support::{bin, dnc_add, import_leads, SimClock};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use outdial_carrier::{
    Answerer, Carrier, CarrierConfig, FinalStatus, PastCall, ProviderApi, DEFAULT_BLAND_API_KEY,
    DEFAULT_BLAND_WEBHOOK_SECRET,
};
use outdial_core::answer::{AgentBehaviour, AgentScript};
use outdial_core::E164;
use outdial_core::{AnswerBehaviour, CampaignSettings, LeadId, LeadStatus, ProviderKind, Region};
use outdial_store::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The simulated "now" of the test (a Wednesday): 15:40 in New York, 12:40 in California.
const NOW: &str = "2026-04-22T19:40:00Z";
const SINCE: &str = "2026-04-02";
const UNTIL: &str = "2026-04-22";
const SEED: u64 = 0x0b_ac_cf_11;
/// The campaign's `redial.max_total`.
const MAX_TOTAL: usize = 30;
/// The default policy: intervals (minutes) and the daily cap.
const INTERVALS: [i64; 7] = [0, 2, 5, 10, 30, 60, 120];
const DAILY_CAP: usize = 8;
/// The calls of the initial data set inside `[SINCE, UNTIL]`.
const CALLS: usize = 5000;
const NUMBERS: usize = 1200;
/// Longest an attempt may stay unfinished (ring 30 s + 5 s + call 3,600 s), seconds.
const SPAN_S: i64 = 3635;
const TERMINAL: [&str; 7] = [
    "SALE",
    "DNC",
    "BAD_NUMBER",
    "ANSWERED",
    "NOT_INTERESTED",
    "TRANSFERRED",
    "FAX",
];

fn now() -> DateTime<Utc> {
    NOW.parse().unwrap()
}

fn at(day: NaiveDate, secs: i64) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap().and_utc() + Duration::seconds(secs)
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A call in the fake, as this test knows it.
#[derive(Debug, Clone)]
struct Known {
    id: String,
    to: String,
    created: DateTime<Utc>,
    status: FinalStatus,
    answerer: Option<Answerer>,
    length_s: u32,
    tag: Option<&'static str>,
    /// The disposition the call must get (`FAILED` for a call left non-final too long).
    code: &'static str,
    /// Placed through the fake's API on a never-ending number.
    live: bool,
}

impl Known {
    fn past(&self) -> PastCall {
        let mut p = PastCall::new(
            ProviderApi::Bland,
            &self.to,
            "+14155550100",
            self.created,
            self.status,
        );
        p.answered_by = self.answerer;
        p.length_s = self.length_s;
        p.disposition_tag = self.tag.map(str::to_owned);
        p
    }

    /// When the fake says it ends (see `outdial_carrier::past`), as the client reads it:
    /// `started_at` plus the whole seconds of its length.
    fn ends(&self) -> DateTime<Utc> {
        let ms = match self.status {
            FinalStatus::Failed => 2200,
            FinalStatus::Busy => 4200,
            FinalStatus::NoAnswer => 60_200,
            FinalStatus::Canceled => 6200,
            FinalStatus::Completed => 6200 + 1000 * i64::from(self.length_s),
        };
        self.created + Duration::milliseconds(ms)
    }

    /// `None`: still in progress at `now`; else the end the backfill gives it.
    fn ended(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if !self.live && self.ends() <= now {
            return Some(self.ends());
        }
        // Non-final: failed once past the longest span, ended at its start.
        (self.created + Duration::seconds(SPAN_S) <= now).then_some(self.created)
    }
}

fn zone(phone: &str) -> Tz {
    if phone.starts_with("+1212") {
        chrono_tz::America::New_York
    } else {
        assert!(phone.starts_with("+1415"), "{phone}");
        chrono_tz::America::Los_Angeles
    }
}

fn number(i: usize) -> String {
    const EXCH: [u32; 8] = [234, 345, 456, 567, 678, 789, 258, 369];
    let area = ["212", "415"][i % 2];
    format!("+1{area}{}{:04}", EXCH[(i / 2) % 8], 1000 + i)
}

/// `(212) 234-1029`.
fn pretty(e164: &str) -> String {
    format!("({}) {}-{}", &e164[2..5], &e164[5..8], &e164[8..])
}

/// Draws a call's outcome: `(status, answerer, tag, expected disposition)`.
fn outcome(
    rng: &mut impl Rng,
    terminal_ok: bool,
) -> (
    FinalStatus,
    Option<Answerer>,
    Option<&'static str>,
    &'static str,
) {
    use Answerer::{Human, Machine};
    use FinalStatus::*;
    type Row = (
        FinalStatus,
        Option<Answerer>,
        Option<&'static str>,
        &'static str,
    );
    const TERMINALS: [Row; 9] = [
        (Completed, Some(Human), Some("SALE"), "SALE"),
        (Completed, None, Some("TRANSFER_SALE"), "SALE"),
        (Completed, Some(Human), Some("DNC"), "DNC"),
        (Completed, Some(Human), Some("DO_NOT_CALL"), "DNC"),
        (Completed, Some(Human), Some("wrong number"), "BAD_NUMBER"),
        (Completed, Some(Human), Some("BAD_NUMBER"), "BAD_NUMBER"),
        (Completed, Some(Human), Some("NI"), "NOT_INTERESTED"),
        (Completed, Some(Human), None, "ANSWERED"),
        (Completed, Some(Human), Some("follow up"), "ANSWERED"),
    ];
    const OTHERS: [(u32, Row); 8] = [
        (38, (NoAnswer, None, None, "NO_ANSWER")),
        (14, (Busy, None, None, "BUSY")),
        (5, (Failed, None, None, "FAILED")),
        (4, (Canceled, None, None, "CANCELED")),
        (14, (Completed, Some(Machine), None, "VOICEMAIL")),
        (
            5,
            (
                Completed,
                Some(Machine),
                Some("NO_CONTACT_MADE"),
                "VOICEMAIL",
            ),
        ),
        (4, (Completed, Some(Human), Some("CALLBACK"), "CALLBACK")),
        (2, (Completed, None, Some("call back"), "CALLBACK")),
    ];
    if terminal_ok && rng.gen_bool(0.06) {
        return *TERMINALS.choose(rng).unwrap();
    }
    let total: u32 = OTHERS.iter().map(|(w, _)| w).sum();
    let mut roll = rng.gen_range(0..total);
    for (w, row) in OTHERS {
        if roll < w {
            return row;
        }
        roll -= w;
    }
    unreachable!()
}

/// Adds a call to `to` created at `created` with a drawn outcome (terminal ones only if
/// `terminal_ok`).
fn push_call(
    out: &mut Vec<Known>,
    rng: &mut rand_chacha::ChaCha8Rng,
    to: &str,
    created: DateTime<Utc>,
    terminal_ok: bool,
) {
    let (status, answerer, tag, code) = outcome(rng, terminal_ok);
    let length_s = if status == FinalStatus::Completed {
        rng.gen_range(20..=600)
    } else {
        0
    };
    out.push(Known {
        id: String::new(),
        to: to.to_owned(),
        created,
        status,
        answerer,
        length_s,
        tag,
        code,
        live: false,
    });
}

/// The data set: the calls to insert before the run, and the two batches that arrive
/// while the dry run pages (inserted by the proxy), with the never-ending live number.
struct Data {
    initial: Vec<Known>,
    arrive_a: Vec<Known>,
    arrive_b: Vec<Known>,
    live: String,
    eight_today: Vec<String>,
    heavy: Vec<String>,
    in_progress: String,
    stale: String,
}

fn data() -> Data {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(SEED);
    let days: Vec<NaiveDate> = day(SINCE).iter_days().take(21).collect();
    assert_eq!(days.last().copied(), Some(day(UNTIL)));
    let (busy_mid, last) = (day("2026-04-10"), day(UNTIL));
    let quiet: Vec<NaiveDate> = days
        .iter()
        .copied()
        .filter(|d| *d != busy_mid && *d != last)
        .collect();
    let numbers: Vec<String> = (0..NUMBERS).map(number).collect();
    let mut out: Vec<Known> = Vec::new();
    // A past day's call: 13:00–24:00 UTC (the same local date in New York and California);
    // the last day's: 12:00–17:00 UTC, so every redial delay has run out by `NOW`.
    let daytime = |rng: &mut rand_chacha::ChaCha8Rng, d: NaiveDate| {
        if d == last {
            at(d, 12 * 3600 + rng.gen_range(0..5 * 3600))
        } else {
            at(d, 13 * 3600 + rng.gen_range(0..11 * 3600))
        }
    };
    let eight: Vec<usize> = (0..NUMBERS).filter(|i| i % 30 == 0).collect();
    let heavy: Vec<usize> = (0..NUMBERS).filter(|i| i % 97 == 5).collect();
    for &i in &eight {
        let d = *quiet.choose(&mut rng).unwrap();
        let t = daytime(&mut rng, d);
        push_call(&mut out, &mut rng, &numbers[i], t, false);
        for k in 0..8 {
            let t = at(last, 12 * 3600 + 300 + k * 33 * 60 + rng.gen_range(0..300));
            push_call(&mut out, &mut rng, &numbers[i], t, false);
        }
    }
    for &i in &heavy {
        for _ in 0..=MAX_TOTAL {
            let d = *quiet.choose(&mut rng).unwrap();
            let t = daytime(&mut rng, d);
            push_call(&mut out, &mut rng, &numbers[i], t, false);
        }
    }
    // Number 1: a call still live at `NOW` (answered 10 min ago, 57 min long); number 3: a
    // call left non-final for hours (the backfill takes it as failed at its start).
    let (in_progress, stale) = (numbers[1].clone(), numbers[3].clone());
    out.push(Known {
        id: String::new(),
        to: in_progress.clone(),
        created: now() - Duration::minutes(10),
        status: FinalStatus::Completed,
        answerer: Some(Answerer::Human),
        length_s: 3400,
        tag: Some("SALE"),
        code: "SALE",
        live: false,
    });
    out.push(Known {
        id: String::new(),
        to: stale.clone(),
        created: now() - Duration::hours(3),
        status: FinalStatus::Completed,
        answerer: Some(Answerer::Human),
        length_s: 4 * 3600,
        tag: None,
        code: "FAILED",
        live: false,
    });
    let rest: Vec<&String> = (0..NUMBERS)
        .filter(|i| !eight.contains(i) && !heavy.contains(i))
        .map(|i| &numbers[i])
        .collect();
    let bulk = CALLS - out.len();
    let mut bulk_days: Vec<NaiveDate> = (0..bulk)
        .map(|k| {
            if k < 1030 {
                busy_mid
            } else if k < 1810 {
                last
            } else {
                *quiet.choose(&mut rng).unwrap()
            }
        })
        .collect();
    bulk_days.shuffle(&mut rng);
    for (k, d) in bulk_days.into_iter().enumerate() {
        let to = if k < rest.len() {
            rest[k]
        } else {
            rest.choose(&mut rng).unwrap()
        };
        let t = daytime(&mut rng, d);
        push_call(&mut out, &mut rng, to, t, true);
    }
    assert_eq!(out.len(), CALLS);
    // Before --since (read in the client's first window, then filtered out): 25 calls to
    // numbers of the set, 5 to numbers called only then.
    for k in 0..30 {
        let to = if k < 25 {
            numbers[rng.gen_range(0..NUMBERS)].clone()
        } else {
            format!("+1212643{:04}", 3000 + k)
        };
        let t = at(day("2026-04-01"), 13 * 3600 + rng.gen_range(0..11 * 3600));
        push_call(&mut out, &mut rng, &to, t, true);
    }
    let initial = out;

    // Arrivals: to numbers of the set that stay addable with at least 6 calls (their next
    // call is then 120 min after this one: later today), a sale, and new numbers.
    let mut calls_of: BTreeMap<&str, Vec<&Known>> = BTreeMap::new();
    for c in initial.iter().filter(|c| c.created >= at(day(SINCE), 0)) {
        calls_of.entry(c.to.as_str()).or_default().push(c);
    }
    let special = |i: usize| i % 100 == 7 || i % 200 == 13 || i % 60 == 29 || i <= 3;
    let addable: Vec<String> = (0..NUMBERS)
        .filter(|&i| !special(i) && !eight.contains(&i) && !heavy.contains(&i))
        .map(|i| &numbers[i])
        .filter(|n| {
            let cs = &calls_of[n.as_str()];
            cs.len() >= 6 && cs.iter().all(|c| !TERMINAL.contains(&c.code))
        })
        .cloned()
        .collect();
    assert!(addable.len() >= 9, "{}", addable.len());
    let arrival = |to: &str, minutes_ago: i64, status, answerer, tag, code, length_s| Known {
        id: String::new(),
        to: to.to_owned(),
        created: now() - Duration::minutes(minutes_ago),
        status,
        answerer,
        length_s,
        tag,
        code,
        live: false,
    };
    use FinalStatus::*;
    let arrive_a = vec![
        arrival(&addable[0], 30, NoAnswer, None, None, "NO_ANSWER", 0),
        arrival(&addable[1], 29, Busy, None, None, "BUSY", 0),
        arrival(&addable[2], 28, NoAnswer, None, None, "NO_ANSWER", 0),
        arrival(&addable[3], 27, Failed, None, None, "FAILED", 0),
        arrival(
            &addable[4],
            26,
            Completed,
            Some(Answerer::Human),
            Some("SALE"),
            "SALE",
            95,
        ),
        arrival(
            &addable[5],
            25,
            Completed,
            None,
            Some("TRANSFER_SALE"),
            "SALE",
            130,
        ),
        arrival("+12126423001", 24, NoAnswer, None, None, "NO_ANSWER", 0),
        arrival("+14156423002", 23, Busy, None, None, "BUSY", 0),
        arrival("+12126423003", 22, NoAnswer, None, None, "NO_ANSWER", 0),
        arrival("+14156423004", 21, Canceled, None, None, "CANCELED", 0),
        arrival(
            "+12126423005",
            20,
            Completed,
            Some(Answerer::Human),
            Some("do not call"),
            "DNC",
            40,
        ),
    ];
    let arrive_b = vec![
        arrival(&addable[6], 19, NoAnswer, None, None, "NO_ANSWER", 0),
        arrival(&addable[7], 18, Busy, None, None, "BUSY", 0),
        arrival(&addable[8], 17, NoAnswer, None, None, "NO_ANSWER", 0),
        arrival(
            "+14156423006",
            16,
            Completed,
            Some(Answerer::Machine),
            None,
            "VOICEMAIL",
            35,
        ),
        arrival("+12126423007", 15, NoAnswer, None, None, "NO_ANSWER", 0),
    ];
    Data {
        initial,
        arrive_a,
        arrive_b,
        live: "+12126443000".into(),
        eight_today: eight.iter().map(|&i| numbers[i].clone()).collect(),
        heavy: heavy.iter().map(|&i| numbers[i].clone()).collect(),
        in_progress,
        stale,
    }
}

// ---------------------------------------------------------------------------------------------
// The test's own model of the backfill

/// The first instant at or after `t` inside 08:00–21:00 local with fewer than 8 calls of
/// `hist` on its local day.
fn next_allowed(mut t: DateTime<Utc>, hist: &[DateTime<Utc>], zone: Tz) -> DateTime<Utc> {
    let local_at = |d: NaiveDate, h: u32| {
        zone.from_local_datetime(&d.and_hms_opt(h, 0, 0).unwrap())
            .single()
            .unwrap()
            .with_timezone(&Utc)
    };
    loop {
        let d = t.with_timezone(&zone).date_naive();
        let n = hist
            .iter()
            .filter(|h| h.with_timezone(&zone).date_naive() == d)
            .count();
        if t < local_at(d, 8) {
            t = local_at(d, 8);
        } else if t >= local_at(d, 21) || n >= DAILY_CAP {
            t = local_at(d.succ_opt().unwrap(), 8);
        } else {
            return t;
        }
    }
}

fn delay_after(n: usize) -> Duration {
    Duration::minutes(INTERVALS[n.min(INTERVALS.len() - 1)])
}

/// An added number: its calls (oldest first) and where it starts (`None`: done).
#[derive(Debug)]
struct Add {
    calls: Vec<Known>,
    due: Option<DateTime<Utc>>,
}

#[derive(Debug)]
struct Expect {
    fetched: usize,
    numbers: usize,
    /// Skip reason as printed (`SALE`, `already a lead`, …) → numbers.
    skipped: BTreeMap<String, usize>,
    adds: BTreeMap<String, Add>,
    dnc_requests: BTreeSet<String>,
}

/// What the backfill must make of `calls` at `now`.
fn expect(
    calls: &[Known],
    now: DateTime<Utc>,
    already: &HashSet<String>,
    dnc: &HashSet<String>,
    excluded: &HashSet<String>,
) -> Expect {
    let (since, until) = (at(day(SINCE), 0), at(day(UNTIL), 86_400));
    let mut by: BTreeMap<String, Vec<Known>> = BTreeMap::new();
    let inside: Vec<&Known> = calls
        .iter()
        .filter(|c| c.created >= since && c.created < until)
        .collect();
    for c in &inside {
        by.entry(c.to.clone()).or_default().push((*c).clone());
    }
    let mut e = Expect {
        fetched: inside.len(),
        numbers: by.len(),
        skipped: BTreeMap::new(),
        adds: BTreeMap::new(),
        dnc_requests: BTreeSet::new(),
    };
    for (phone, mut cs) in by {
        cs.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        let mut terminal: Option<&str> = None;
        for c in &cs {
            if TERMINAL.contains(&c.code) && terminal.is_none_or(|t| c.code == "DNC" && t != "DNC")
            {
                terminal = Some(c.code);
            }
        }
        let reason = if already.contains(&phone) {
            Some("already a lead".to_owned())
        } else if cs.iter().any(|c| c.ended(now).is_none()) {
            Some("call still in progress".into())
        } else if let Some(t) = terminal {
            if t == "DNC" {
                e.dnc_requests.insert(phone.clone());
            }
            Some(t.to_owned())
        } else if dnc.contains(&phone) {
            Some("on a DNC list".into())
        } else if excluded.contains(&phone) {
            Some("excluded".into())
        } else {
            None
        };
        if let Some(r) = reason {
            *e.skipped.entry(r).or_default() += 1;
            continue;
        }
        let hist: Vec<DateTime<Utc>> = cs.iter().map(|c| c.created).collect();
        let due = (cs.len() < MAX_TOTAL).then(|| {
            let last = cs.last().unwrap().ended(now).unwrap();
            let first = next_allowed(last + delay_after(cs.len()), &hist, zone(&phone));
            if first < now {
                next_allowed(now, &hist, zone(&phone))
            } else {
                first
            }
        });
        e.adds.insert(phone, Add { calls: cs, due });
    }
    e
}

/// The forecast for 7 local days from `now`'s: `(day, leads first due, calls at most)`, each
/// active lead redialed `NO_ANSWER` after every call within the policy.
fn forecast(adds: &BTreeMap<String, Add>, now: DateTime<Utc>) -> Vec<(NaiveDate, u64, u64)> {
    let mut by_day: BTreeMap<NaiveDate, (u64, u64)> = BTreeMap::new();
    let mut base: Option<NaiveDate> = None;
    for (phone, a) in adds {
        let Some(due) = a.due else { continue };
        let z = zone(phone);
        let today = now.with_timezone(&z).date_naive();
        base = Some(base.map_or(today, |b| b.min(today)));
        let last_day = today + Duration::days(6);
        let mut hist: Vec<DateTime<Utc>> = a.calls.iter().map(|c| c.created).collect();
        let (mut t, mut first) = (due, true);
        while t.with_timezone(&z).date_naive() <= last_day {
            let e = by_day.entry(t.with_timezone(&z).date_naive()).or_default();
            e.0 += u64::from(first);
            e.1 += 1;
            first = false;
            hist.push(t);
            if hist.len() >= MAX_TOTAL {
                break;
            }
            t = next_allowed(t + delay_after(hist.len()), &hist, z);
        }
    }
    let base = base.unwrap();
    (0..7)
        .map(|i| {
            let d = base + Duration::days(i);
            let (due, calls) = by_day.get(&d).copied().unwrap_or_default();
            (d, due, calls)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The recording proxy

/// Calls inserted (or placed) when the request for `(start_date, from)` comes.
struct Hook {
    start_date: &'static str,
    from: u64,
    calls: Vec<Known>,
    live: Option<String>,
}

/// One page the client asked for: its query and the `created_at` of what it got.
#[derive(Debug, Clone)]
struct Page {
    query: HashMap<String, String>,
    created: Vec<DateTime<Utc>>,
}

struct Proxy {
    carrier: Carrier,
    upstream: String,
    http: reqwest::Client,
    hooks: Mutex<Vec<Hook>>,
    /// Calls that arrived through hooks, with their ids.
    arrived: Mutex<Vec<Known>>,
    pages: Mutex<Vec<Page>>,
}

async fn list(
    State(p): State<Arc<Proxy>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let raw = raw.unwrap_or_default();
    let query: HashMap<String, String> = url::form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    let hook = {
        let mut hooks = p.hooks.lock().unwrap();
        let i = hooks.iter().position(|h| {
            query.get("start_date").map(String::as_str) == Some(h.start_date)
                && query.get("from").and_then(|f| f.parse().ok()) == Some(h.from)
        });
        i.map(|i| hooks.remove(i))
    };
    if let Some(h) = hook {
        let batch: Vec<PastCall> = h.calls.iter().map(Known::past).collect();
        let ids = p.carrier.insert_past_calls(&batch).unwrap();
        {
            let mut arrived = p.arrived.lock().unwrap();
            for (mut c, id) in h.calls.into_iter().zip(ids) {
                c.id = id;
                arrived.push(c);
            }
        }
        if let Some(live) = h.live {
            let res = p
                .http
                .post(format!("{}/v1/calls", p.upstream))
                .header("authorization", DEFAULT_BLAND_API_KEY)
                .json(&serde_json::json!({"phone_number": live, "task": "Say hello."}))
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success(), "{}", res.status());
            let v: serde_json::Value = res.json().await.unwrap();
            let created = p.carrier.ledger().last().unwrap().created_at;
            p.arrived.lock().unwrap().push(Known {
                id: v["call_id"].as_str().unwrap().to_owned(),
                to: live,
                created,
                status: FinalStatus::Completed,
                answerer: None,
                length_s: 0,
                tag: None,
                code: "ANSWERED",
                live: true,
            });
        }
    }
    let mut req = p.http.get(format!("{}/v1/calls?{raw}", p.upstream));
    if let Some(a) = headers.get("authorization") {
        req = req.header("authorization", a.clone());
    }
    let res = req.send().await.unwrap();
    let status = StatusCode::from_u16(res.status().as_u16()).unwrap();
    let body = res.bytes().await.unwrap();
    if status.is_success() {
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let created = v["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                DateTime::parse_from_rfc3339(c["created_at"].as_str().unwrap())
                    .unwrap()
                    .with_timezone(&Utc)
            })
            .collect();
        p.pages.lock().unwrap().push(Page { query, created });
    }
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

async fn start_proxy(p: Arc<Proxy>) -> String {
    let app = Router::new().route("/v1/calls", get(list)).with_state(p);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

// ---------------------------------------------------------------------------------------------
// Running the binary

struct Run {
    ok: bool,
    out: String,
    err: String,
}

async fn outdial(args: Vec<String>) -> Run {
    tokio::task::spawn_blocking(move || {
        let out = bin().args(&args).output().unwrap();
        Run {
            ok: out.status.success(),
            out: String::from_utf8_lossy(&out.stdout).into_owned(),
            err: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

fn backfill_args(dir: &Path, db: &Path, sim: &SimClock, exclude: &Path, dry: bool) -> Vec<String> {
    let mut a: Vec<String> = vec!["--config".into(), path(&dir.join("outdial.toml"))];
    a.extend(
        [
            "backfill",
            "--provider",
            "bland",
            "--campaign",
            "old-leads",
            "--since",
            SINCE,
            "--until",
            UNTIL,
        ]
        .map(String::from),
    );
    a.extend(["--exclude".into(), path(exclude), "--db".into(), path(db)]);
    a.extend(sim.args());
    if dry {
        a.push("--dry-run".into());
    }
    a
}

fn path(p: &Path) -> String {
    p.to_str().unwrap().to_owned()
}

/// Asserts `out` has the line `want` (whole line).
fn has_line(out: &str, want: &str, all: &str) {
    assert!(
        out.lines().any(|l| l == want),
        "missing line '{want}' in:\n{all}"
    );
}

/// Asserts the breakdown `plan` printed: numbers, skip reasons, additions, DNC requests.
fn assert_breakdown(out: &str, e: &Expect, all: &str) {
    has_line(out, &format!("unique numbers: {}", e.numbers), all);
    let n = |k: &str| e.skipped.get(k).copied().unwrap_or(0);
    for k in ["already a lead", "SALE", "DNC", "BAD_NUMBER"] {
        has_line(out, &format!("  {k}: {}", n(k)), all);
    }
    for k in ["on a DNC list", "excluded", "call still in progress"] {
        has_line(out, &format!("  {k}: {}", n(k)), all);
    }
    for k in ["ANSWERED", "NOT_INTERESTED", "TRANSFERRED", "FAX"] {
        let line = format!("  {k} (terminal): {}", n(k));
        assert_eq!(
            out.lines().any(|l| l == line),
            n(k) > 0,
            "'{line}' in:\n{all}"
        );
    }
    let total_skipped: usize = e.skipped.values().sum();
    assert_eq!(total_skipped + e.adds.len(), e.numbers);
    let active = e.adds.values().filter(|a| a.due.is_some()).count();
    let past: usize = e.adds.values().map(|a| a.calls.len()).sum();
    has_line(
        out,
        &format!(
            "to be added: {} ({active} active, {} done: limits reached, 0 paused), {past} past calls",
            e.adds.len(),
            e.adds.len() - active
        ),
        all,
    );
    has_line(
        out,
        &format!(
            "to put on the internal DNC list (a do-not-call disposition): {}",
            e.dnc_requests.len()
        ),
        all,
    );
}

/// `  2026-04-22: 12 leads first due, at most 30 calls` lines.
fn printed_forecast(out: &str) -> Vec<(NaiveDate, u64, u64)> {
    out.lines()
        .filter_map(|l| {
            let (d, rest) = l.strip_prefix("  ")?.split_once(": ")?;
            let d = NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?;
            let (due, rest) = rest.split_once(" leads first due, at most ")?;
            let calls = rest.strip_suffix(" calls")?;
            Some((d, due.parse().ok()?, calls.parse().ok()?))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_calls_from_the_fake_become_leads_with_their_history() {
    let started = std::time::Instant::now();
    let d = data();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.db");
    // Every process reads the same clock: `NOW` at the test's start, then real time.
    let sim = SimClock::new(now(), 1.0, 0);
    let config = CarrierConfig {
        seed: SEED,
        never_ends: vec![d.live.clone()],
        ..CarrierConfig::default()
    };
    let carrier = crate::support::start_carrier(config, sim.clock()).await;
    let initial: Vec<PastCall> = d.initial.iter().map(Known::past).collect();
    let ids = carrier.insert_past_calls(&initial).unwrap();
    let mut calls: Vec<Known> = d.initial.clone();
    for (c, id) in calls.iter_mut().zip(ids) {
        c.id = id;
    }
    let proxy = Arc::new(Proxy {
        carrier: carrier.carrier().clone(),
        upstream: carrier.bland_base_url(),
        http: reqwest::Client::new(),
        hooks: Mutex::new(vec![
            Hook {
                start_date: "2026-04-21",
                from: 1000,
                calls: d.arrive_a.clone(),
                live: None,
            },
            Hook {
                start_date: "2026-04-22",
                from: 1000,
                calls: d.arrive_b.clone(),
                live: Some(d.live.clone()),
            },
        ]),
        arrived: Mutex::new(Vec::new()),
        pages: Mutex::new(Vec::new()),
    });
    let base = start_proxy(proxy.clone()).await;
    std::fs::write(
        dir.path().join("outdial.toml"),
        format!(
            "[bland]\napi_base = \"{base}\"\napi_key = \"{DEFAULT_BLAND_API_KEY}\"\n\
             webhook_secret = \"{DEFAULT_BLAND_WEBHOOK_SECRET}\"\n"
        ),
    )
    .unwrap();

    // The campaign (on Bland, 30 calls at most per lead), numbers already in it, numbers on
    // the internal DNC list, and a CRM export of numbers to exclude.
    let mut settings = CampaignSettings::new(
        E164::parse("+14155550100", Region::US).unwrap(),
        AnswerBehaviour::Agent(AgentBehaviour {
            script: AgentScript::Task {
                prompt: "Follow up on the earlier call.".into(),
            },
            voice: None,
            first_sentence: None,
            wait_for_greeting: false,
            record: false,
        }),
    );
    settings.provider = ProviderKind::Bland;
    settings.redial.max_total = Some(MAX_TOTAL as u32);
    let settings_path = dir.path().join("campaign.json");
    std::fs::write(&settings_path, serde_json::to_string(&settings).unwrap()).unwrap();
    let r = outdial(vec![
        "campaign".into(),
        "create".into(),
        "old-leads".into(),
        "--settings".into(),
        path(&settings_path),
        "--db".into(),
        path(&db),
    ])
    .await;
    assert!(r.ok, "{}\n{}", r.out, r.err);
    let pick = |f: fn(usize) -> bool| -> Vec<String> {
        (0..NUMBERS).filter(|&i| f(i)).map(number).collect()
    };
    let already: Vec<String> = pick(|i| i % 100 == 7);
    let on_dnc: Vec<String> = pick(|i| i % 200 == 13);
    let excluded: Vec<String> = pick(|i| i % 60 == 29);
    let leads_csv = dir.path().join("already.csv");
    let mut text = String::from("Phone,Name\n");
    for n in &already {
        text.push_str(&format!("{n},Known\n"));
    }
    std::fs::write(&leads_csv, text).unwrap();
    import_leads(&db, &leads_csv, "old-leads", now());
    for n in &on_dnc {
        dnc_add(&db, n);
    }
    let crm = dir.path().join("crm.csv");
    let mut text = String::from("Phone,Status\n");
    for n in &excluded {
        text.push_str(&format!("{},sold elsewhere\n", pretty(n)));
    }
    text.push_str("(212) 777-0199,not in the log\nnot a phone,junk\n");
    std::fs::write(&crm, text).unwrap();
    let already_set: HashSet<String> = already.iter().cloned().collect();
    let dnc_set: HashSet<String> = on_dnc.iter().cloned().collect();
    let excluded_set: HashSet<String> = excluded.iter().cloned().collect();

    // The dry run: calls arrive on the second page of the last two windows.
    let dry = outdial(backfill_args(dir.path(), &db, &sim, &crm, true)).await;
    let all = format!("{}\n{}", dry.out, dry.err);
    assert!(dry.ok, "{all}");
    assert!(proxy.hooks.lock().unwrap().is_empty(), "hooks not reached");
    let arrived = proxy.arrived.lock().unwrap().clone();
    assert_eq!(arrived.len(), d.arrive_a.len() + d.arrive_b.len() + 1);
    calls.extend(arrived);
    let e = expect(&calls, now(), &already_set, &dnc_set, &excluded_set);
    assert_eq!(
        e.fetched,
        CALLS + d.arrive_a.len() + d.arrive_b.len() + 1,
        "the calls before --since are not counted"
    );
    let pages = proxy.pages.lock().unwrap().clone();
    has_line(
        &dry.out,
        &format!(
            "calls fetched: {} ({} requests, 0 rate-limited; 0 inbound and 0 unusable left out)",
            e.fetched,
            pages.len()
        ),
        &all,
    );
    assert!(
        dry.err.contains(&format!(
            "{}: {} numbers to exclude, 1 rows not read",
            crm.display(),
            excluded.len() + 1
        )),
        "{all}"
    );
    assert_breakdown(&dry.out, &e, &all);
    let want_forecast = forecast(&e.adds, now());
    assert_eq!(printed_forecast(&dry.out), want_forecast, "{all}");
    has_line(&dry.out, "dry run: nothing written", &all);
    // The requests: ascending windows of two days read by index steps of 1,000, never
    // `page`; some pages end inside a day (the previous page's last call and the next
    // page's first are created on the same UTC day).
    let mut inside_a_day = BTreeSet::new();
    for (i, p) in pages.iter().enumerate() {
        let q = &p.query;
        assert_eq!(
            q.get("ascending").map(String::as_str),
            Some("true"),
            "{q:?}"
        );
        assert!(!q.contains_key("page"), "{q:?}");
        let from: u64 = q["from"].parse().unwrap();
        assert_eq!(q["to"].parse::<u64>().unwrap(), from + 1000, "{q:?}");
        assert_eq!(q["limit"], "1000");
        let start = day(&q["start_date"]);
        assert_eq!(day(&q["end_date"]), start.succ_opt().unwrap());
        for w in p.created.windows(2) {
            assert!(w[0] <= w[1], "not ascending: {q:?}");
        }
        if from > 0 {
            let prev = &pages[i - 1];
            assert_eq!(prev.query["start_date"], q["start_date"]);
            assert_eq!(prev.created.len(), 1000);
            let (a, b) = (*prev.created.last().unwrap(), p.created[0]);
            assert!(a <= b, "pages overlap out of order: {q:?}");
            if a.date_naive() == b.date_naive() {
                inside_a_day.insert(a.date_naive());
            }
        }
    }
    // Windows overlap by a day and the arrivals show in two: the dedupe by call id was used.
    let served: usize = pages.iter().map(|p| p.created.len()).sum();
    assert!(served > e.fetched + d.arrive_a.len(), "{served}");
    assert_eq!(
        inside_a_day,
        BTreeSet::from([day("2026-04-10"), day(UNTIL)]),
        "page boundaries inside a day"
    );
    let store =
        outdial_store_sqlite::SqliteStore::open(&db, outdial_store_sqlite::OpenMode::MustExist)
            .await
            .unwrap();
    let leads_now = || async {
        store
            .leads_after(LeadId(0), 100_000)
            .await
            .unwrap()
            .into_iter()
            .map(|l| (l.phone.to_string(), l))
            .collect::<BTreeMap<String, _>>()
    };
    assert_eq!(
        leads_now().await.len(),
        already.len(),
        "a dry run adds nothing"
    );

    // The real run: the same figures, then exactly the expected leads.
    let real = outdial(backfill_args(dir.path(), &db, &sim, &crm, false)).await;
    let all = format!("{}\n{}", real.out, real.err);
    assert!(real.ok, "{all}");
    assert_breakdown(&real.out, &e, &all);
    let active = e.adds.values().filter(|a| a.due.is_some()).count();
    let past: usize = e.adds.values().map(|a| a.calls.len()).sum();
    let dnc_new = e
        .dnc_requests
        .difference(&on_dnc.iter().cloned().collect())
        .count();
    has_line(
        &real.out,
        &format!(
            "added: {} leads ({active} active, {} done, 0 paused), {past} past attempts stored; \
             0 calls already stored; 0 numbers had become leads meanwhile; {dnc_new} numbers put \
             on the internal DNC list",
            e.adds.len(),
            e.adds.len() - active
        ),
        &all,
    );
    let leads = leads_now().await;
    let want: BTreeSet<&String> = already.iter().chain(e.adds.keys()).collect();
    assert_eq!(leads.keys().collect::<BTreeSet<_>>(), want);
    for n in &excluded {
        assert!(!e.adds.contains_key(n));
    }
    assert!(e.skipped["excluded"] > 0 && e.skipped["on a DNC list"] > 0);
    assert_eq!(e.skipped["call still in progress"], 2, "{:?}", e.skipped);
    assert!(!leads.contains_key(&d.in_progress) && !leads.contains_key(&d.live));
    let eight_added: Vec<&String> = d
        .eight_today
        .iter()
        .filter(|n| e.adds.contains_key(*n))
        .collect();
    assert!(eight_added.len() >= 30, "{}", eight_added.len());
    let heavy_done = d.heavy.iter().filter(|n| e.adds.contains_key(*n)).count();
    assert!(heavy_done >= 10, "{heavy_done}");
    // Every added lead: its attempt count, state and next time; a sample (every 7th, the
    // 8-today ones, the heavy ones, those with arrivals, the stale one) attempt by attempt.
    let arrived_to: HashSet<&str> = d
        .arrive_a
        .iter()
        .chain(&d.arrive_b)
        .map(|c| c.to.as_str())
        .collect();
    let mut sampled = 0;
    for (k, (phone, a)) in e.adds.iter().enumerate() {
        let lead = &leads[phone];
        assert_eq!(lead.attempt_count as usize, a.calls.len(), "{phone}");
        match a.due {
            None => {
                assert_eq!(lead.status, LeadStatus::Done, "{phone}");
                assert!(lead.attempt_count as usize >= MAX_TOTAL, "{phone}");
            }
            Some(due) => {
                assert_eq!(lead.status, LeadStatus::Active, "{phone}");
                let next = lead.next_attempt_at.unwrap();
                // Due "now": the real run's now, some seconds after `NOW`.
                if due > now() + Duration::minutes(30) {
                    assert_eq!(next, due, "{phone}");
                } else {
                    assert_eq!(due, now(), "{phone}");
                    assert!(
                        next >= now() && next < now() + Duration::minutes(30),
                        "{phone}"
                    );
                }
            }
        }
        let sample = k % 7 == 0
            || d.eight_today.contains(phone)
            || d.heavy.contains(phone)
            || arrived_to.contains(phone.as_str())
            || *phone == d.stale;
        if !sample {
            continue;
        }
        sampled += 1;
        let attempts = store.lead_attempts(lead.id).await.unwrap();
        assert_eq!(attempts.len(), a.calls.len(), "{phone}");
        for (i, (got, c)) in attempts.iter().zip(&a.calls).enumerate() {
            assert_eq!(got.number as usize, i + 1, "{phone}");
            assert_eq!(got.call_id.as_ref().unwrap().as_str(), c.id, "{phone}");
            assert_eq!(got.reserved_at, c.created, "{phone} #{}", i + 1);
            assert_eq!(got.ended_at, c.ended(now()), "{phone} #{}", i + 1);
            assert_eq!(
                got.disposition.as_ref().unwrap().as_str(),
                c.code,
                "{phone}"
            );
        }
        assert_eq!(
            lead.disposition.as_ref().unwrap().as_str(),
            a.calls.last().unwrap().code
        );
    }
    assert!(sampled > 150, "{sampled}");
    // A number called 8 times in its local today is not due again today: tomorrow 08:00.
    for n in &eight_added {
        let z = zone(n);
        let next = leads[*n].next_attempt_at.unwrap().with_timezone(&z);
        let today = now().with_timezone(&z).date_naive();
        assert_eq!(next.date_naive(), today.succ_opt().unwrap(), "{n}");
        assert_eq!(
            next.time(),
            chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap()
        );
    }
    let probe = eight_added[0].clone();
    let ex = outdial(vec![
        "--config".into(),
        path(&dir.path().join("outdial.toml")),
        "explain".into(),
        probe.clone(),
        "--at".into(),
        (now() + Duration::minutes(10)).to_rfc3339(),
        "--json".into(),
        "--db".into(),
        path(&db),
    ])
    .await;
    assert!(ex.ok, "{}\n{}", ex.out, ex.err);
    let v: serde_json::Value = serde_json::from_str(&ex.out).unwrap();
    let v = &v[0];
    assert_eq!(v["attempts"].as_array().unwrap().len(), 9, "{v}");
    assert_eq!(v["now"]["allowed"], false, "{v}");
    assert!(
        v["caps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["count"] == 8 && c["limit"] == 8),
        "{v}"
    );
    assert_eq!(
        v["lead"]["next_attempt_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        leads[&probe].next_attempt_at.unwrap()
    );
    // The do-not-call dispositions are on the internal list now.
    for n in &e.dnc_requests {
        let phone = E164::from_stored(n).unwrap();
        assert!(
            !store.dnc_check(&phone, None).await.unwrap().is_empty(),
            "{n}"
        );
    }

    // A second run adds nothing: every added number is now "already a lead".
    let attempts_before: u32 = leads.values().map(|l| l.attempt_count).sum();
    let again = outdial(backfill_args(dir.path(), &db, &sim, &crm, false)).await;
    let all = format!("{}\n{}", again.out, again.err);
    assert!(again.ok, "{all}");
    let now_leads: HashSet<String> = leads.keys().cloned().collect();
    let dnc_after: HashSet<String> = dnc_set
        .iter()
        .cloned()
        .chain(e.dnc_requests.iter().cloned())
        .collect();
    let e2 = expect(&calls, now(), &now_leads, &dnc_after, &excluded_set);
    assert!(e2.adds.is_empty(), "{:?}", e2.adds.keys());
    assert_breakdown(&again.out, &e2, &all);
    assert!(again.out.contains("added: 0 leads"), "{all}");
    let leads2 = leads_now().await;
    assert_eq!(leads2.len(), leads.len());
    assert_eq!(
        leads2.values().map(|l| l.attempt_count).sum::<u32>(),
        attempts_before
    );
    eprintln!(
        "backfill against the fake: {} calls, {} numbers, {} added, {} pages, {:?}",
        e.fetched,
        e.numbers,
        e.adds.len(),
        pages.len(),
        started.elapsed()
    );
    drop(store);
    carrier.shutdown().await;
}
