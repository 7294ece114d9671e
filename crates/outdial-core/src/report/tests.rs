//! Report figures on fixed attempt logs, each worked out by hand in the comments.

use super::*;
use crate::{AnswerBehaviour, Region};
use chrono_tz::America::{New_York, Phoenix};
use chrono_tz::Pacific::Honolulu;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn settings() -> CampaignSettings {
    let mut s = CampaignSettings::new(
        E164::parse("+14155550100", Region::US).unwrap(),
        AnswerBehaviour::inline("<Response/>"),
    );
    s.redial.max_per_local_day = 2;
    s
}

fn campaigns() -> BTreeMap<CampaignId, CampaignSettings> {
    [(CampaignId(1), settings())].into_iter().collect()
}

fn lead(id: i64, tz: Option<Tz>, status: LeadStatus, attempts: u32) -> LeadFact {
    LeadFact {
        id: LeadId(id),
        campaign_id: CampaignId(1),
        phone: E164::parse(&format!("+1212555{id:04}"), Region::US).unwrap(),
        time_zone: tz,
        state: None,
        status,
        status_reason: None,
        disposition: None,
        attempt_count: attempts,
        created_at: utc("2026-01-01T00:00:00Z"),
    }
}

/// An attempt: `how` is `na` (no answer), `human`, `machine`, `sale`, `xfer` or
/// `refused` (not placed).
fn attempt(id: i64, lead: i64, number: u32, at: &str, how: &str) -> AttemptFact {
    let at = utc(at);
    let placed = how != "refused";
    let answered = matches!(how, "human" | "machine" | "sale" | "xfer");
    let (status, by, disp) = match how {
        "na" => (Some(CallStatus::NoAnswer), None, "NO_ANSWER"),
        "human" => (
            Some(CallStatus::Completed),
            Some(AnsweredBy::Human),
            "ANSWERED",
        ),
        "machine" => (
            Some(CallStatus::Completed),
            Some(AnsweredBy::MachineEndBeep),
            "VOICEMAIL",
        ),
        "sale" => (Some(CallStatus::Completed), None, "SALE"),
        "xfer" => (Some(CallStatus::Completed), None, "TRANSFERRED"),
        _ => (None, None, "NOT_PLACED"),
    };
    AttemptFact {
        id: AttemptId(id),
        lead_id: LeadId(lead),
        campaign_id: CampaignId(1),
        phone: E164::parse(&format!("+1212555{lead:04}"), Region::US).unwrap(),
        number,
        state: if placed {
            AttemptState::Ended
        } else {
            AttemptState::NotPlaced
        },
        call_status: status,
        answered_by: by,
        disposition: Some(Disposition::normalise(disp).unwrap()),
        reserved_at: at,
        placed_at: placed.then_some(at),
        answered_at: answered.then_some(at + Duration::seconds(10)),
        duration_s: answered.then_some(60),
        price: None,
    }
}

fn query(from: &str, to: &str, zone: ReportZone) -> ReportQuery {
    ReportQuery {
        from: utc(from),
        to: utc(to),
        campaign: Some(CampaignId(1)),
        zone,
    }
}

fn input<'a>(
    q: &'a ReportQuery,
    attempts: &'a [AttemptFact],
    leads: &'a [LeadFact],
    campaigns: &'a BTreeMap<CampaignId, CampaignSettings>,
) -> ReportInput<'a> {
    ReportInput {
        query: q,
        attempts,
        leads,
        campaigns,
        recent: attempts,
        now: q.to,
    }
}

/// Four leads, nine attempts:
/// - lead 1: na, na, sale (3 dials, the last a human contact and a conversion; done SALE);
/// - lead 2: machine, human (2 dials; still active);
/// - lead 3: refused (reserved, not placed), xfer (1 dial, transferred; done other);
/// - lead 4: na, na (2 dials; done by the attempt limit).
///
/// Dials 8 (9 reserved − 1 refused); answered 4 (sale, machine, human, xfer);
/// human 3 (sale and xfer by their flags, human by detection); machine 1.
/// Connect 4/8 = 0.5; contact 3/8 = 0.375; lead contact 3/4 (leads 1, 2, 3);
/// transfer 1/3; conversion 1/3; machine rate 1/4; attempts per lead 8/4 = 2, max 3;
/// redials: numbers above 1 among dials: lead 1 ×2, lead 2 ×1, lead 3 ×1 (xfer is its
/// 2nd), lead 4 ×1 = 5. Talk time: 4 answered × 60 s → 60 s.
fn log() -> (Vec<AttemptFact>, Vec<LeadFact>) {
    let attempts = vec![
        attempt(1, 1, 1, "2026-01-05T15:00:00Z", "na"),
        attempt(2, 1, 2, "2026-01-05T17:00:00Z", "na"),
        attempt(3, 1, 3, "2026-01-06T15:00:00Z", "sale"),
        attempt(4, 2, 1, "2026-01-05T15:05:00Z", "machine"),
        attempt(5, 2, 2, "2026-01-06T15:05:00Z", "human"),
        attempt(6, 3, 1, "2026-01-05T15:10:00Z", "refused"),
        attempt(7, 3, 2, "2026-01-05T19:10:00Z", "xfer"),
        attempt(8, 4, 1, "2026-01-05T15:15:00Z", "na"),
        attempt(9, 4, 2, "2026-01-06T15:15:00Z", "na"),
    ];
    let mut l1 = lead(1, Some(New_York), LeadStatus::Done, 3);
    l1.disposition = Some(Disposition::normalise("SALE").unwrap());
    l1.status_reason = Some("terminal disposition SALE".into());
    let l2 = lead(2, Some(New_York), LeadStatus::Active, 2);
    let mut l3 = lead(3, Some(New_York), LeadStatus::Done, 2);
    l3.disposition = Some(Disposition::normalise("TRANSFERRED").unwrap());
    l3.status_reason = Some("terminal disposition TRANSFERRED".into());
    let mut l4 = lead(4, Some(New_York), LeadStatus::Done, 2);
    l4.disposition = Some(Disposition::normalise("NO_ANSWER").unwrap());
    l4.status_reason = Some("attempt limit reached (2 of 2), last disposition NO_ANSWER".into());
    (attempts, vec![l1, l2, l3, l4])
}

#[test]
fn kpis_match_the_hand_worked_log() {
    let (attempts, leads) = log();
    let c = campaigns();
    let q = query(
        "2026-01-05T00:00:00Z",
        "2026-01-07T00:00:00Z",
        ReportZone::Utc,
    );
    let k = kpis(&input(&q, &attempts, &leads, &c));
    assert_eq!(k.attempts.reserved, 9);
    assert_eq!(k.attempts.dials, 8);
    assert_eq!(k.attempts.not_placed, 1);
    assert_eq!(k.attempts.answered, 4);
    assert_eq!(k.attempts.human, 3);
    assert_eq!(k.attempts.machine, 1);
    assert_eq!(k.attempts.redials, 5);
    assert_eq!(k.connect_rate.value, Some(0.5));
    assert_eq!(k.contact_rate.value, Some(0.375));
    assert_eq!(k.lead_contact_rate.value, Some(0.75));
    assert_eq!(k.transfer_rate, Rate::of(1, 3));
    assert_eq!(k.transfer_rate.value, Some(0.3333));
    assert_eq!(k.conversion_rate, Rate::of(1, 3));
    assert_eq!(k.answering_machine_rate.value, Some(0.25));
    assert_eq!(k.attempts_per_lead_mean, Some(2.0));
    assert_eq!(k.attempts_per_lead_max, 3);
    assert_eq!(k.list_penetration.value, Some(1.0));
    assert_eq!(k.average_talk_time_s, Some(60.0));
    // No provider reported a price: no cost, and the count says so.
    assert_eq!(k.cost_per_attempt, None);
    assert_eq!(k.priced_dials, Rate::of(0, 8));
    assert_eq!(k.cost_currency, None);

    // Prices on three dials: the not-placed attempt's price does not count (not a dial).
    // 0.09 + 0.036 + 0.015 = 0.141 USD over 3 priced dials = 0.047 per attempt; two of
    // them are human contacts (the sale and a human answer): 0.0705 per contact.
    let mut priced = attempts.clone();
    let usd = |amount| crate::CallPrice::from_amount(amount, "USD");
    let mut set = |how: &str, amount: f64| {
        let a = priced
            .iter_mut()
            .find(|a| a.price.is_none() && classify(a) == how)
            .unwrap_or_else(|| panic!("a {how} attempt"));
        a.price = usd(amount);
    };
    set("human", 0.09);
    set("na", 0.036);
    set("sale", 0.015);
    set("refused", 5.0);
    let k = kpis(&input(&q, &priced, &leads, &c));
    assert_eq!(k.priced_dials, Rate::of(3, 8));
    assert_eq!(k.cost_currency.as_deref(), Some("USD"));
    assert_eq!(k.cost_total, Some(0.141));
    assert_eq!(k.cost_per_attempt, Some(0.047));
    assert_eq!(k.priced_contacts, 2);
    assert_eq!(k.cost_per_contact, Some(0.0705));
    // A second currency: nothing is added up.
    let eur = priced
        .iter_mut()
        .find(|a| a.price.is_none() && classify(a) == "na");
    eur.expect("another no-answer").price = crate::CallPrice::from_amount(0.02, "EUR");
    let k = kpis(&input(&q, &priced, &leads, &c));
    assert_eq!(k.priced_dials, Rate::of(4, 8));
    assert_eq!(
        (k.cost_currency, k.cost_total, k.cost_per_attempt),
        (None, None, None)
    );
}

/// The `how` an attempt of [`attempt`] was made with.
fn classify(a: &AttemptFact) -> &'static str {
    match (a.placed_at, a.disposition.as_ref().map(|d| d.as_str())) {
        (None, _) => "refused",
        (_, Some("NO_ANSWER")) => "na",
        (_, Some("ANSWERED")) => "human",
        (_, Some("VOICEMAIL")) => "machine",
        (_, Some("SALE")) => "sale",
        (_, Some("TRANSFERRED")) => "xfer",
        _ => "other",
    }
}

#[test]
fn outcome_breakdown_matches_the_hand_worked_log() {
    let (attempts, leads) = log();
    let c = campaigns();
    let q = query(
        "2026-01-05T00:00:00Z",
        "2026-01-07T00:00:00Z",
        ReportZone::Utc,
    );
    let o = outcome_breakdown(&input(&q, &attempts, &leads, &c));
    assert_eq!(o.leads_in_scope, 4);
    // Imported on 2026-01-01, before the range.
    assert_eq!(o.leads_imported, 0);
    assert_eq!(o.still_redialing, 1);
    assert_eq!(o.paused, 0);
    assert_eq!(o.done_by_reason["SALE"], 1);
    assert_eq!(o.done_by_reason["other_terminal"], 1);
    assert_eq!(o.done_by_reason["attempt_limit"], 1);
    assert_eq!(o.done_by_reason["DNC"], 0);
    assert_eq!(o.by_call_status["no-answer"], 4);
    assert_eq!(o.by_call_status["completed"], 4);
    assert_eq!(o.by_call_status["not_placed"], 1);
    assert_eq!(o.by_disposition["NO_ANSWER"], 4);
    assert_eq!(o.by_disposition["SALE"], 1);
    // "Today" is the local day of now = 2026-01-07T00:00Z, 19:00 on the 6th in New York:
    // leads 1, 2 and 4 have one dial each on the 6th, below the maximum of 2.
    assert_eq!(o.reached_daily_max_today, 0);
    let q2 = query(
        "2026-01-05T00:00:00Z",
        "2026-01-06T00:00:00Z",
        ReportZone::Utc,
    );
    // Now = 2026-01-06T00:00Z = 19:00 on the 5th in New York: lead 1 (15:00Z, 17:00Z) and
    // lead 3 (one dial, one refusal: only dials count) → lead 1 alone.
    let o = outcome_breakdown(&input(&q2, &attempts, &leads, &c));
    assert_eq!(o.reached_daily_max_today, 1);
}

#[test]
fn funnel_and_passes_match_the_hand_worked_log() {
    let (attempts, leads) = log();
    let c = campaigns();
    let q = query(
        "2026-01-05T00:00:00Z",
        "2026-01-07T00:00:00Z",
        ReportZone::Utc,
    );
    let f = funnel(&input(&q, &attempts, &leads, &c));
    let stages: Vec<(&str, u64)> = f.stages.iter().map(|s| (s.stage, s.leads)).collect();
    // answered: leads 1 (sale), 2 (machine, human), 3 (xfer) = 3; human 3; converted 1.
    assert_eq!(
        stages,
        [
            ("imported", 4),
            ("eligible", 4),
            ("attempted", 4),
            ("answered", 3),
            ("human", 3),
            ("converted", 1)
        ]
    );
    assert_eq!(f.exhausted, 1);
    assert_eq!(f.pending, 1);
    // Pass 1 dials: attempts 1, 4, 8 (6 was refused) = 3, one answered (machine), 0 human.
    // Pass 2: 2, 5, 7, 9 = 4 dials; answered 5 (human) and 7 (xfer) → 2 human.
    // Pass 3: attempt 3 (sale): 1 dial, 1 human, converted.
    let p: Vec<(String, u64, u64, u64)> = f
        .passes
        .iter()
        .map(|p| (p.pass.clone(), p.dials, p.answered, p.human))
        .collect();
    assert_eq!(
        p,
        [
            ("1".to_string(), 3, 1, 0),
            ("2".to_string(), 4, 2, 2),
            ("3".to_string(), 1, 1, 1)
        ]
    );
    assert_eq!(f.passes[2].conversion_rate.value, Some(1.0));
}

/// 2026-03-08 is the spring-forward Sunday in New York (02:00 EST → 03:00 EDT).
/// Local midnights: Mar 7 05:00Z, Mar 8 05:00Z, Mar 9 04:00Z, Mar 10 04:00Z.
#[test]
fn march_clock_change_day_has_23_hours_and_no_day_repeats() {
    let c = campaigns();
    let leads = vec![lead(1, Some(New_York), LeadStatus::Active, 4)];
    let attempts = vec![
        attempt(1, 1, 1, "2026-03-08T06:30:00Z", "na"), // 01:30 EST on the 8th
        attempt(2, 1, 2, "2026-03-08T07:30:00Z", "na"), // 03:30 EDT on the 8th
        attempt(3, 1, 3, "2026-03-09T03:59:00Z", "human"), // 23:59 EDT on the 8th
        attempt(4, 1, 4, "2026-03-09T04:00:00Z", "na"), // 00:00 EDT on the 9th
    ];
    let q = query(
        "2026-03-07T05:00:00Z",
        "2026-03-10T04:00:00Z",
        ReportZone::Zone(New_York),
    );
    let days = interval(&input(&q, &attempts, &leads, &c), Granularity::Day);
    let got: Vec<(String, Option<f64>, u64)> = days
        .rows
        .iter()
        .map(|r| (r.bucket.clone(), r.hours, r.attempts.dials))
        .collect();
    assert_eq!(
        got,
        [
            ("2026-03-07".to_string(), Some(24.0), 0),
            ("2026-03-08".to_string(), Some(23.0), 3),
            ("2026-03-09".to_string(), Some(24.0), 1)
        ]
    );
    assert_eq!(days.rows[1].contact_rate, Rate::of(1, 3));
    assert_eq!(
        days.rows[1].start.unwrap().to_rfc3339(),
        "2026-03-08T00:00:00-05:00"
    );
    assert_eq!(
        days.rows[1].end.unwrap().to_rfc3339(),
        "2026-03-09T00:00:00-04:00"
    );

    // Hours of the 8th: 23 buckets, no 02:00, 01:00 and 03:00 adjacent.
    let q = query(
        "2026-03-08T05:00:00Z",
        "2026-03-09T04:00:00Z",
        ReportZone::Zone(New_York),
    );
    let hours = interval(&input(&q, &attempts, &leads, &c), Granularity::Hour);
    assert_eq!(hours.rows.len(), 23);
    let labels: Vec<&str> = hours.rows.iter().map(|r| &r.bucket[11..]).collect();
    assert_eq!(&labels[..3], ["00:00", "01:00", "03:00"]);
    assert!(hours.rows.iter().all(|r| r.hours == Some(1.0)));
    assert_eq!(hours.rows[1].attempts.dials, 1);
    assert_eq!(hours.rows[2].attempts.dials, 1);
    assert_eq!(hours.rows[22].attempts.dials, 1);
    let total: u64 = hours.rows.iter().map(|r| r.attempts.reserved).sum();
    assert_eq!(
        total, 3,
        "the 00:00 EDT attempt of the 9th is outside [from, to)"
    );
}

/// 2026-11-01 is the fall-back Sunday in New York (02:00 EDT → 01:00 EST): local
/// midnight 04:00Z, next midnight Nov 2 05:00Z, 25 hours; 01:00 local happens twice.
#[test]
fn november_clock_change_day_has_25_hours_and_the_repeated_hour_twice() {
    let c = campaigns();
    let leads = vec![lead(1, Some(New_York), LeadStatus::Active, 2)];
    let attempts = vec![
        attempt(1, 1, 1, "2026-11-01T05:30:00Z", "na"), // 01:30 EDT
        attempt(2, 1, 2, "2026-11-01T06:30:00Z", "human"), // 01:30 EST
    ];
    let q = query(
        "2026-11-01T04:00:00Z",
        "2026-11-02T05:00:00Z",
        ReportZone::Zone(New_York),
    );
    let days = interval(&input(&q, &attempts, &leads, &c), Granularity::Day);
    assert_eq!(days.rows.len(), 1);
    assert_eq!(days.rows[0].hours, Some(25.0));
    assert_eq!(days.rows[0].attempts.dials, 2);

    let hours = interval(&input(&q, &attempts, &leads, &c), Granularity::Hour);
    assert_eq!(hours.rows.len(), 25);
    let ones: Vec<(String, u64)> = hours
        .rows
        .iter()
        .filter(|r| r.bucket.ends_with("T01:00"))
        .map(|r| (r.start.unwrap().to_rfc3339(), r.attempts.dials))
        .collect();
    assert_eq!(
        ones,
        [
            ("2026-11-01T01:00:00-04:00".to_string(), 1),
            ("2026-11-01T01:00:00-05:00".to_string(), 1)
        ]
    );
    // A range of local days in UTC instead: the same attempts, one UTC day.
    let q = query(
        "2026-11-01T00:00:00Z",
        "2026-11-02T00:00:00Z",
        ReportZone::Utc,
    );
    let days = interval(&input(&q, &attempts, &leads, &c), Granularity::Day);
    assert_eq!(days.rows.len(), 1);
    assert_eq!(days.rows[0].hours, Some(24.0));
}

/// Hawaii (UTC−10, no daylight time) and Arizona (America/Phoenix, UTC−7 all year) by the
/// lead's local hour; the Arizona lead's zone comes from its number (602).
/// - 2026-07-15 (a Wednesday) 20:00Z: Honolulu 10:00, Phoenix 13:00 (New York would be 16:00);
/// - 2026-01-14 (a Wednesday) 20:00Z: Phoenix 13:00 again (no daylight time).
#[test]
fn best_time_buckets_hawaii_and_arizona_by_local_hour() {
    let c = campaigns();
    let hawaii = lead(1, Some(Honolulu), LeadStatus::Active, 1);
    let mut arizona = lead(2, None, LeadStatus::Active, 2);
    arizona.phone = E164::parse("+16022250100", Region::US).unwrap();
    assert_eq!(lead_zone(&arizona, None), Phoenix);
    let leads = vec![hawaii, arizona];
    let attempts = vec![
        attempt(1, 1, 1, "2026-07-15T20:00:00Z", "human"),
        attempt(2, 2, 1, "2026-07-15T20:00:00Z", "human"),
        attempt(3, 2, 2, "2026-01-14T20:00:00Z", "na"),
    ];
    let q = query(
        "2026-01-01T00:00:00Z",
        "2026-08-01T00:00:00Z",
        ReportZone::Utc,
    );
    let b = best_time(&input(&q, &attempts, &leads, &c));
    let cells: Vec<(&str, u32, u64, u64)> = b
        .cells
        .iter()
        .map(|c| (c.weekday, c.hour, c.dials, c.human))
        .collect();
    assert_eq!(cells, [("Wed", 10, 1, 1), ("Wed", 13, 2, 1)]);
    assert_eq!(b.cells[1].human_rate.value, Some(0.5));

    // The interval report by lead-local hour puts them in the same two hour labels.
    let q = ReportQuery {
        zone: ReportZone::Lead,
        ..q
    };
    let hours = interval(&input(&q, &attempts, &leads, &c), Granularity::Hour);
    let with: Vec<(String, u64)> = hours
        .rows
        .iter()
        .filter(|r| r.attempts.dials > 0)
        .map(|r| (r.bucket.clone(), r.attempts.dials))
        .collect();
    assert_eq!(
        with,
        [
            ("2026-01-14T13:00".to_string(), 1),
            ("2026-07-15T10:00".to_string(), 1),
            ("2026-07-15T13:00".to_string(), 1)
        ]
    );
}

#[test]
fn empty_logs_give_no_rate_rather_than_zero() {
    let c = campaigns();
    let q = query(
        "2026-01-05T00:00:00Z",
        "2026-01-06T00:00:00Z",
        ReportZone::Utc,
    );
    let k = kpis(&input(&q, &[], &[], &c));
    assert_eq!(k.connect_rate.value, None);
    assert_eq!(k.attempts_per_lead_mean, None);
    assert_eq!(k.connect_rate.percent(), "-");
}

#[test]
fn zones_parse_and_name_round_trip() {
    for s in ["campaign", "lead", "UTC", "America/Phoenix"] {
        assert_eq!(ReportZone::parse(s).unwrap().name(), s);
    }
    let e = ReportZone::parse("Mars/Olympus").unwrap_err();
    assert!(e.contains("Mars/Olympus"), "{e}");
}

fn event(at: &str, source: &str, detail: &str) -> EventFact {
    EventFact {
        at: utc(at),
        lead_id: Some(LeadId(1)),
        source: source.into(),
        detail: detail.into(),
    }
}

/// One New York lead (window 08:00–21:00 local, cap 2 a local day, 3 in 24 h):
/// - 2026-01-05 15:00Z (10:00), 17:00Z (12:00), 2026-01-06 02:30Z (21:30 on the 5th: outside
///   the window and the federal hours), 14:00Z (09:00 on the 6th), and one refusal (not a dial);
/// - local day of the 5th: 3 dials (> 2); rolling 24 h from 15:00Z on the 5th: 4 (> 3).
#[test]
fn compliance_counts_deferrals_holds_and_finds_calls_over_the_limits() {
    let mut c = campaigns();
    c.get_mut(&CampaignId(1)).unwrap().caps.per_number_24h = Some(3);
    let leads = vec![lead(1, Some(New_York), LeadStatus::Active, 5)];
    let mut attempts = vec![
        attempt(1, 1, 1, "2026-01-05T15:00:00Z", "na"),
        attempt(2, 1, 2, "2026-01-05T17:00:00Z", "na"),
        attempt(3, 1, 3, "2026-01-06T02:30:00Z", "na"),
        attempt(4, 1, 4, "2026-01-06T14:00:00Z", "human"),
        attempt(5, 1, 5, "2026-01-06T03:00:00Z", "refused"),
    ];
    let events = ComplianceEvents {
        deferred: vec![
            // As the store writes a deferral: JSON with the next time and the reasons.
            event(
                "2026-01-05T12:00:00Z",
                "scheduler",
                r#"{"next_attempt_at":"2026-01-05T14:00:00.000000Z","reason":"outside the calling window in America/Chicago; daily cap reached in America/Chicago: 2 of 2 attempts this local day"}"#,
            ),
            // A state rule whose source holds "; " is one block, not three.
            event(
                "2026-01-05T12:10:00Z",
                "scheduler",
                r#"{"next_attempt_at":"2026-01-05T16:00:00.000000Z","reason":"NV: outside state calling hours (Mon 09:00–20:00 local) [dropcowboy.com/state-compliance (Nov 2025); usestello.com/compliance] (in America/Los_Angeles)"}"#,
            ),
            event(
                "2026-01-05T12:30:00Z",
                "scheduler",
                "outside the calling window in America/Chicago",
            ),
            event("2026-01-05T13:00:00Z", "scheduler", "on do-not-call list(s): internal"),
        ],
        held: vec![
            event(
                "2026-01-05T13:00:00Z",
                "scheduler",
                "no time zone known for the lead (no explicit zone, no zone for the number or state, no campaign fallback)",
            ),
            event("2026-01-05T14:00:00Z", "operator", "operator: asked to wait"),
        ],
        kill_switch_trips: vec![EventFact {
            lead_id: None,
            ..event(
                "2026-01-05T16:00:00Z",
                "safety",
                r#"{"scope":"global","reason":"3 failed creates"}"#,
            )
        }],
    };
    let q = query(
        "2026-01-05T00:00:00Z",
        "2026-01-07T00:00:00Z",
        ReportZone::Utc,
    );
    let r = compliance(&input(&q, &attempts, &leads, &c), &events);
    let rules: Vec<(&str, u64)> = r
        .deferred_by_rule
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        rules,
        [
            ("daily_cap", 1),
            ("dnc", 1),
            ("outside_window", 2),
            ("state", 1)
        ]
    );
    assert_eq!(r.deferred_by_zone["outside_window America/Chicago"], 2);
    assert_eq!(r.deferred_by_zone["state America/Los_Angeles"], 1);
    assert_eq!(r.held_by_rule["no_time_zone"], 1);
    assert_eq!(r.held_by_operator, 1);
    assert_eq!(r.kill_switch_trips, 1);
    assert_eq!(r.max_calls_one_number_local_day, 3);
    assert_eq!(r.max_calls_one_number_24h, 4);
    assert_eq!(r.calls_outside_window, 1);
    assert_eq!(r.calls_outside_federal_hours, 1);
    assert_eq!(r.calls_without_zone, 0);
    let failed: Vec<&str> = r.checks.iter().filter(|c| !c.ok).map(|c| c.name).collect();
    assert_eq!(
        failed,
        [
            "calls outside any window",
            "calls outside federal hours",
            "max calls to one number in a local day",
            "max calls to one number in 24 h"
        ]
    );

    // Without the 21:30 call: 2 on the 5th, 3 in 24 h, nothing outside a window.
    attempts.remove(2);
    let r = compliance(&input(&q, &attempts, &leads, &c), &events);
    assert_eq!(r.max_calls_one_number_local_day, 2);
    assert_eq!(r.max_calls_one_number_24h, 3);
    assert!(r.checks.iter().all(|c| c.ok), "{:?}", r.checks);
}
