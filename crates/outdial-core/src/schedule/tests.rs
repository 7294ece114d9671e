//! Tests of the scheduling rules.

use super::*;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;

use crate::campaign::CampaignSettings;
use crate::compliance::StateRules;
use crate::disposition::Disposition;
use crate::disposition::DispositionCatalog;
use crate::phone::Region;
use crate::phone::E164;
use crate::AnswerBehaviour;
use chrono_tz::America::{Chicago, Los_Angeles, New_York, Phoenix};
use chrono_tz::Pacific::Honolulu;
use proptest::prelude::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn campaign() -> CampaignSettings {
    CampaignSettings::new(
        E164::parse("+14155550100", Region::US).unwrap(),
        AnswerBehaviour::inline("<Response/>"),
    )
}

fn at(zones: &[Tz], states: &[&str]) -> Whereabouts {
    Whereabouts {
        zones: zones.to_vec(),
        states: states.iter().map(|s| s.to_string()).collect(),
        zone_source: "test".into(),
    }
}

/// Checks `next_allowed(from)` and that the answer is not blocked.
#[allow(clippy::too_many_arguments)]
fn check(
    c: &CampaignSettings,
    w: &Whereabouts,
    history: &[DateTime<Utc>],
    number_history: &[DateTime<Utc>],
    from: &str,
    want: Result<&str, &str>,
) {
    let rules_data = StateRules::builtin();
    let r = LeadRules::new(c, &rules_data, w, history, number_history);
    let got = r.next_allowed(utc(from));
    match (got, want) {
        (Ok(t), Ok(w)) => {
            assert_eq!(t, utc(w), "from {from}");
            assert!(
                r.blocks_at(t).is_empty(),
                "blocked at {t}: {:?}",
                r.blocks_at(t)
            );
        }
        (Err(b), Err(kind)) => {
            assert!(format!("{b:?}").starts_with(kind), "{b:?} is not {kind}")
        }
        (got, want) => panic!("from {from}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn window_table() {
    let w = CallingWindow::default();
    let cases = [
        // 07:00 EST → 08:00 EST.
        ("2026-01-15T12:00:00Z", New_York, "2026-01-15T13:00:00Z"),
        ("2026-01-15T17:00:00Z", New_York, "2026-01-15T17:00:00Z"),
        // 21:00 EST exactly is closed → next day 08:00.
        ("2026-01-16T02:00:00Z", New_York, "2026-01-16T13:00:00Z"),
        // Summer: 08:00 EDT is 12:00Z.
        ("2026-07-15T11:59:00Z", New_York, "2026-07-15T12:00:00Z"),
        // Arizona keeps MST all year: 08:00 is 15:00Z in July too.
        ("2026-07-15T14:00:00Z", Phoenix, "2026-07-15T15:00:00Z"),
        // Hawaii: 08:00 HST is 18:00Z.
        ("2026-07-15T17:00:00Z", Honolulu, "2026-07-15T18:00:00Z"),
    ];
    for (from, tz, want) in cases {
        assert_eq!(
            w.next_open(utc(from), tz),
            Some(utc(want)),
            "{from} in {tz}"
        );
    }
}

#[test]
fn window_edges_across_dst() {
    let days = CallingWindow::default().days;
    // A window opening at 02:30 on the spring-forward day (2026-03-08 in New York) opens
    // at 03:00 EDT, the first valid local minute after the skipped half hour.
    let w = CallingWindow {
        start: NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
        end: NaiveTime::from_hms_opt(4, 0, 0).unwrap(),
        days: days.clone(),
        per_day: vec![],
    };
    assert_eq!(
        w.next_open(utc("2026-03-08T05:00:00Z"), New_York),
        Some(utc("2026-03-08T07:00:00Z"))
    );
    // In the repeated hour (2026-11-01 01:30 occurs twice), the earlier instant is used.
    let w2 = CallingWindow {
        start: NaiveTime::from_hms_opt(1, 30, 0).unwrap(),
        end: NaiveTime::from_hms_opt(3, 0, 0).unwrap(),
        days,
        per_day: vec![],
    };
    assert_eq!(
        w2.next_open(utc("2026-11-01T04:00:00Z"), New_York),
        Some(utc("2026-11-01T05:30:00Z"))
    );
    // Federal hours on the DST days: 08:00 local is 12:00Z after spring-forward and
    // 13:00Z after fall-back.
    let c = campaign();
    let ny = at(&[New_York], &[]);
    check(
        &c,
        &ny,
        &[],
        &[],
        "2026-03-08T07:30:00Z",
        Ok("2026-03-08T12:00:00Z"),
    );
    check(
        &c,
        &ny,
        &[],
        &[],
        "2026-11-01T07:30:00Z",
        Ok("2026-11-01T13:00:00Z"),
    );
}

#[test]
fn per_day_campaign_windows() {
    let mut c = campaign();
    c.calling_window.per_day = vec![DayWindow {
        day: Weekday::Sat,
        start: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
        end: NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
    }];
    c.calling_window.days.retain(|d| *d != Weekday::Sun);
    let ny = at(&[New_York], &[]);
    // Saturday 2026-01-17 09:00 EST → 10:00.
    check(
        &c,
        &ny,
        &[],
        &[],
        "2026-01-17T14:00:00Z",
        Ok("2026-01-17T15:00:00Z"),
    );
    // Saturday 17:30 → Monday 08:00 (no Sunday).
    check(
        &c,
        &ny,
        &[],
        &[],
        "2026-01-17T22:30:00Z",
        Ok("2026-01-19T13:00:00Z"),
    );
}

#[test]
fn federal_hours_hold_even_if_the_campaign_window_is_wider() {
    let mut c = campaign();
    c.calling_window.start = NaiveTime::from_hms_opt(6, 0, 0).unwrap();
    c.calling_window.end = NaiveTime::from_hms_opt(23, 0, 0).unwrap();
    let ny = at(&[New_York], &[]);
    check(
        &c,
        &ny,
        &[],
        &[],
        "2026-01-15T11:30:00Z",
        Ok("2026-01-15T13:00:00Z"),
    );
    let rules = StateRules::builtin();
    let r = LeadRules::new(&c, &rules, &ny, &[], &[]);
    assert_eq!(
        r.blocks_at(utc("2026-01-16T02:30:00Z")),
        vec![Block::FederalHours { zone: New_York }]
    );
}

#[test]
fn every_candidate_zone_must_allow() {
    let c = campaign();
    let both = at(&[New_York, Los_Angeles], &[]);
    // 12:30Z is 07:30 EST and 04:30 PST: the later opening (08:00 PST = 16:00Z) wins.
    check(
        &c,
        &both,
        &[],
        &[],
        "2026-01-15T12:30:00Z",
        Ok("2026-01-15T16:00:00Z"),
    );
}

#[test]
fn state_rules_table() {
    let c = campaign();
    // Florida 08:00–20:00: 20:30 EST on a Thursday → Friday 08:00.
    check(
        &c,
        &at(&[New_York], &["FL"]),
        &[],
        &[],
        "2026-01-16T01:30:00Z",
        Ok("2026-01-16T13:00:00Z"),
    );
    // Alabama: no Sunday calls, and no calls on holidays. Sunday 2026-01-18 10:00 CST →
    // not Monday (Martin Luther King Day, 19 January 2026) → Tuesday 08:00 CST.
    check(
        &c,
        &at(&[Chicago], &["AL"]),
        &[],
        &[],
        "2026-01-18T16:00:00Z",
        Ok("2026-01-20T14:00:00Z"),
    );
    // Sunday 2026-02-08 → Monday 2026-02-09 08:00 CST (no holiday).
    check(
        &c,
        &at(&[Chicago], &["AL"]),
        &[],
        &[],
        "2026-02-08T16:00:00Z",
        Ok("2026-02-09T14:00:00Z"),
    );
    // Texas Sunday opens at 12:00: Sunday 09:00 CST → 12:00 CST.
    check(
        &c,
        &at(&[Chicago], &["TX"]),
        &[],
        &[],
        "2026-01-18T15:00:00Z",
        Ok("2026-01-18T18:00:00Z"),
    );
    // Rhode Island Saturday 10:00–17:00.
    check(
        &c,
        &at(&[New_York], &["RI"]),
        &[],
        &[],
        "2026-01-17T14:00:00Z",
        Ok("2026-01-17T15:00:00Z"),
    );
    // Two candidate states: the stricter one decides (Kentucky opens at 10:00).
    check(
        &c,
        &at(&[New_York], &["FL", "KY"]),
        &[],
        &[],
        "2026-01-15T13:00:00Z",
        Ok("2026-01-15T15:00:00Z"),
    );
    // A state rule's block carries its source.
    let rules = StateRules::builtin();
    let w = at(&[New_York], &["FL"]);
    let r = LeadRules::new(&c, &rules, &w, &[], &[]);
    let b = r.blocks_at(utc("2026-01-16T01:30:00Z"));
    assert!(
        b.iter()
            .any(|b| matches!(b, Block::State { .. }) && !b.source().is_empty()),
        "{b:?}"
    );
}

#[test]
fn florida_three_calls_per_rolling_24_hours_across_campaigns() {
    let c = campaign();
    let fl = at(&[New_York], &["FL"]);
    let calls = [
        utc("2026-01-15T14:00:00Z"),
        utc("2026-01-15T15:00:00Z"),
        utc("2026-01-15T16:00:00Z"),
    ];
    // The fourth call waits until the first drops out of the 24 hours.
    check(
        &c,
        &fl,
        &[],
        &calls,
        "2026-01-15T17:00:00Z",
        Ok("2026-01-16T14:00:00Z"),
    );
    // New York has no such cap.
    check(
        &c,
        &at(&[New_York], &["NY"]),
        &[],
        &calls,
        "2026-01-15T17:00:00Z",
        Ok("2026-01-15T17:00:00Z"),
    );
}

#[test]
fn holidays_and_blackouts() {
    let mut c = campaign();
    c.no_calls_on_federal_holidays = true;
    let ny = at(&[New_York], &[]);
    // Thanksgiving 2026 is Thursday 26 November → Friday 08:00.
    check(
        &c,
        &ny,
        &[],
        &[],
        "2026-11-26T15:00:00Z",
        Ok("2026-11-27T13:00:00Z"),
    );
    let mut c2 = campaign();
    c2.blackout_dates = vec![NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()];
    check(
        &c2,
        &ny,
        &[],
        &[],
        "2026-01-15T15:00:00Z",
        Ok("2026-01-16T13:00:00Z"),
    );
    // Louisiana bans calls on state holidays (federal list as proxy): Christmas 2026.
    check(
        &campaign(),
        &at(&[Chicago], &["LA"]),
        &[],
        &[],
        "2026-12-25T16:00:00Z",
        Ok("2026-12-26T14:00:00Z"),
    );
}

#[test]
fn split_area_codes_resolve_per_exchange() {
    let n = |s: &str| E164::parse(s, Region::US).unwrap();
    // 850: Pensacola exchange 432 is Central; Tallahassee 222 is Eastern.
    let w = whereabouts(&n("+18504321234"), None, None, None);
    assert_eq!(
        (w.zones.clone(), w.states.clone()),
        (vec![Chicago], vec!["FL".to_string()])
    );
    let w = whereabouts(&n("+18502221234"), None, None, None);
    assert_eq!(w.zones, vec![New_York]);
    // An explicit zone wins; the lead's state adds its rules and zones otherwise.
    let w = whereabouts(&n("+18502221234"), Some(Phoenix), Some("az"), None);
    assert_eq!(
        (w.zones.clone(), w.states.clone()),
        (vec![Phoenix], vec!["AZ".to_string(), "FL".to_string()])
    );
    let w = whereabouts(&n("+12125550123"), None, Some("CA"), None);
    assert_eq!(w.zones, vec![New_York, Los_Angeles]);
    assert_eq!(w.states, vec!["CA".to_string(), "NY".to_string()]);
    // 915 El Paso is Mountain time although Texas is mostly Central.
    assert_eq!(
        whereabouts(&n("+19155320123"), None, None, None).zones,
        vec![chrono_tz::America::Denver]
    );
}

#[test]
fn daily_cap_moves_to_next_local_day() {
    let mut c = campaign();
    c.redial.max_per_local_day = 2;
    let history = [utc("2026-01-15T14:00:00Z"), utc("2026-01-15T15:00:00Z")];
    check(
        &c,
        &at(&[New_York], &[]),
        &history,
        &history,
        "2026-01-15T16:00:00Z",
        Ok("2026-01-16T13:00:00Z"),
    );
}

#[test]
fn reg_f_and_min_gap() {
    let mut c = campaign();
    c.caps.reg_f_7_in_7 = true;
    let week: Vec<_> = (0..7)
        .map(|d| utc("2026-01-08T15:00:00Z") + Duration::days(d))
        .collect();
    // The eighth call waits until the first of the seven is 7 days old.
    check(
        &c,
        &at(&[New_York], &[]),
        &week,
        &week,
        "2026-01-14T16:00:00Z",
        Ok("2026-01-15T15:00:00Z"),
    );
    let mut c2 = campaign();
    c2.caps.min_gap_min = 30;
    let last = [utc("2026-01-15T15:00:00Z")];
    check(
        &c2,
        &at(&[New_York], &[]),
        &[],
        &last,
        "2026-01-15T15:10:00Z",
        Ok("2026-01-15T15:30:00Z"),
    );
}

#[test]
fn no_zone_is_not_dialable() {
    check(
        &campaign(),
        &at(&[], &["FL"]),
        &[],
        &[],
        "2026-01-15T16:00:00Z",
        Err("NoTimeZone"),
    );
    assert_eq!(candidate_zones(None, Some("zz"), None), Vec::<Tz>::new());
    assert_eq!(candidate_zones(None, Some("az"), None), vec![Phoenix]);
}

#[test]
fn redial_policy_table() {
    let p = RedialPolicy::default();
    let got: Vec<i64> = (1..=9).map(|n| p.delay_before(n).num_minutes()).collect();
    assert_eq!(got, [0, 2, 5, 10, 30, 60, 120, 120, 120]);
    let busy = Disposition::normalise("BUSY").unwrap();
    let na = Disposition::normalise("NO_ANSWER").unwrap();
    let p2 = RedialPolicy {
        rules: vec![
            RedialRule {
                dispositions: vec![busy.clone()],
                from_attempt: 1,
                to_attempt: Some(3),
                delay_min: 15,
            },
            RedialRule {
                dispositions: vec![busy.clone()],
                from_attempt: 4,
                to_attempt: None,
                delay_min: 240,
            },
        ],
        ..RedialPolicy::default()
    };
    assert_eq!(p2.delay_after(1, &busy).num_minutes(), 15);
    assert_eq!(p2.delay_after(3, &busy).num_minutes(), 15);
    assert_eq!(p2.delay_after(4, &busy).num_minutes(), 240);
    assert_eq!(p2.delay_after(1, &na).num_minutes(), 2);
}

#[test]
fn decisions_terminal_callback_repeat_and_total() {
    let catalog = DispositionCatalog::default();
    let rules_data = StateRules::builtin();
    let mut c = campaign();
    let ny = at(&[New_York], &["NY"]);
    let history = [utc("2026-01-15T15:00:00Z")];
    let decide = |c: &CampaignSettings, d: &str, recent: &[&str], cb: Option<&str>| {
        let r = LeadRules::new(c, &rules_data, &ny, &history, &history);
        let recent: Vec<Disposition> = recent
            .iter()
            .map(|d| Disposition::normalise(d).unwrap())
            .collect();
        decide_after_attempt(
            &catalog,
            &r,
            &Disposition::normalise(d).unwrap(),
            &recent,
            utc("2026-01-15T15:01:00Z"),
            cb.map(utc),
        )
    };
    assert_eq!(
        decide(&c, "BUSY", &["BUSY"], None),
        LeadDecision::Redial {
            at: utc("2026-01-15T15:03:00Z")
        }
    );
    assert!(matches!(
        decide(&c, "SALE", &["SALE"], None),
        LeadDecision::Done { .. }
    ));
    // A callback requested for 22:00 EST is moved to 08:00 the next morning.
    assert_eq!(
        decide(&c, "CALLBACK", &["CALLBACK"], Some("2026-01-16T03:00:00Z")),
        LeadDecision::Redial {
            at: utc("2026-01-16T13:00:00Z")
        }
    );
    // A callback inside the window is honoured to the minute.
    assert_eq!(
        decide(&c, "CALLBACK", &["CALLBACK"], Some("2026-01-15T19:45:00Z")),
        LeadDecision::Redial {
            at: utc("2026-01-15T19:45:00Z")
        }
    );
    c.redial.repeat_limit = Some(RepeatLimit {
        dispositions: vec![
            Disposition::normalise("BUSY").unwrap(),
            Disposition::normalise("FAILED").unwrap(),
        ],
        in_a_row: 3,
        action: RepeatAction::BadNumber,
    });
    assert!(matches!(
        decide(&c, "BUSY", &["BUSY", "FAILED", "BUSY"], None),
        LeadDecision::Done { .. }
    ));
    assert!(matches!(
        decide(&c, "BUSY", &["NO_ANSWER", "BUSY", "BUSY"], None),
        LeadDecision::Redial { .. }
    ));
    c.redial.repeat_limit.as_mut().unwrap().action = RepeatAction::ParkDays { days: 2 };
    assert_eq!(
        decide(&c, "BUSY", &["BUSY", "BUSY", "BUSY"], None),
        LeadDecision::Redial {
            at: utc("2026-01-17T15:01:00Z")
        }
    );
    let mut c3 = campaign();
    c3.redial.max_total = Some(1);
    assert!(matches!(
        decide(&c3, "NO_ANSWER", &["NO_ANSWER"], None),
        LeadDecision::Done { .. }
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    /// For random leads, policies and instants, `next_allowed` never falls on a blocked
    /// instant, no earlier minute is allowed, and no cap is broken (caps are rules, so an
    /// unblocked instant breaks none).
    #[test]
    fn next_allowed_is_allowed_earliest_and_within_caps(
        start_s in 1_767_225_600i64..1_830_297_600i64, // 2026-01-01 .. 2028-01-01
        zone_pick in proptest::collection::vec(0usize..6, 1..3),
        state_pick in proptest::collection::vec(0usize..9, 0..3),
        cap in 1u32..5,
        reg_f in any::<bool>(),
        holidays in any::<bool>(),
        gap in 0u32..90,
        hist_offsets in proptest::collection::vec(-3 * 86_400i64..0, 0..10),
    ) {
        let zones_all = [New_York, Los_Angeles, Phoenix, Honolulu, Chicago, chrono_tz::America::Denver];
        let states_all = ["FL", "AL", "TX", "RI", "KY", "NY", "CA", "LA", "OK"];
        let w = Whereabouts {
            zones: zone_pick.iter().map(|&i| zones_all[i]).collect(),
            states: state_pick.iter().map(|&i| states_all[i].to_string()).collect(),
            zone_source: "test".into(),
        };
        let from = DateTime::from_timestamp(start_s, 0).unwrap();
        let history: Vec<_> = hist_offsets.iter().map(|o| from + Duration::seconds(*o)).collect();
        let mut c = campaign();
        c.redial.max_per_local_day = cap;
        c.caps.reg_f_7_in_7 = reg_f;
        c.caps.min_gap_min = gap;
        c.no_calls_on_federal_holidays = holidays;
        let rules_data = StateRules::builtin();
        let r = LeadRules::new(&c, &rules_data, &w, &history, &history);
        let at = r.next_allowed(from).unwrap();
        prop_assert!(at >= from);
        prop_assert!(r.blocks_at(at).is_empty(), "blocked at {at}: {:?}", r.blocks_at(at));
        // No earlier whole minute is allowed (every minute for the first two days, then hourly).
        let mut probe = from;
        while probe + Duration::minutes(1) <= at {
            prop_assert!(!r.blocks_at(probe).is_empty(), "{probe} allowed before {at}");
            probe += if probe - from < Duration::days(2) { Duration::minutes(1) } else { Duration::hours(1) };
        }
    }
}
