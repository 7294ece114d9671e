//! Table-driven tests of the evaluation API against the built-in rules.
//!
//! Calendar used: November 2026 — Tue 17, Sat 21, Sun 22, Wed 25, Thu 26 (Thanksgiving),
//! Fri 27; July 2026 — Fri 3 (Independence Day observed), Sat 4 (actual).

use super::*;
use chrono::NaiveDate;
use proptest::prelude::*;

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

const TUE: &str = "2026-11-17";
const SAT: &str = "2026-11-21";
const SUN: &str = "2026-11-22";
const THANKSGIVING: &str = "2026-11-26";
const JULY_3_OBSERVED: &str = "2026-07-03";
const JULY_4_SATURDAY: &str = "2026-07-04";

/// Short names of the blocks: "hours", "day", "holiday", joined by ",".
fn kinds(blocks: &[StateBlock]) -> String {
    blocks
        .iter()
        .map(|b| match b.reason {
            StateBlockReason::OutsideHours { .. } => "hours",
            StateBlockReason::NoCallsOnDay { .. } => "day",
            StateBlockReason::StateHoliday { .. } => "holiday",
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// (state, local date, local time, expected blocks)
const CASES: &[(&str, &str, &str, &str)] = &[
    // Alabama: 8–20 Mon–Sat, no Sunday, no holidays.
    ("AL", TUE, "07:59", "hours"),
    ("AL", TUE, "08:00", ""),
    ("AL", TUE, "19:59", ""),
    ("AL", TUE, "20:00", "hours"),
    ("AL", SAT, "12:00", ""),
    ("AL", SUN, "12:00", "day"),
    ("AL", THANKSGIVING, "12:00", "holiday"),
    ("AL", THANKSGIVING, "21:00", "hours,holiday"),
    ("AL", JULY_3_OBSERVED, "12:00", "holiday"),
    ("AL", JULY_4_SATURDAY, "12:00", "holiday"),
    // Connecticut: 9–20 every day, no holiday ban.
    ("CT", TUE, "08:59", "hours"),
    ("CT", TUE, "09:00", ""),
    ("CT", TUE, "19:59", ""),
    ("CT", TUE, "20:00", "hours"),
    ("CT", SUN, "12:00", ""),
    ("CT", THANKSGIVING, "12:00", ""),
    // Florida: 8–20 every day.
    ("FL", TUE, "07:59", "hours"),
    ("FL", TUE, "08:00", ""),
    ("FL", TUE, "19:59", ""),
    ("FL", TUE, "20:00", "hours"),
    ("FL", TUE, "20:30", "hours"),
    ("FL", SUN, "08:00", ""),
    ("FL", THANKSGIVING, "12:00", ""),
    // Kentucky: 10–21.
    ("KY", TUE, "09:59", "hours"),
    ("KY", TUE, "10:00", ""),
    ("KY", TUE, "20:59", ""),
    ("KY", TUE, "21:00", "hours"),
    ("KY", SUN, "10:00", ""),
    // Louisiana: as Alabama.
    ("LA", TUE, "07:59", "hours"),
    ("LA", TUE, "08:00", ""),
    ("LA", TUE, "20:00", "hours"),
    ("LA", SAT, "19:59", ""),
    ("LA", SUN, "12:00", "day"),
    ("LA", THANKSGIVING, "12:00", "holiday"),
    // Massachusetts: 8–20.
    ("MA", TUE, "07:59", "hours"),
    ("MA", TUE, "08:00", ""),
    ("MA", TUE, "20:00", "hours"),
    ("MA", SUN, "12:00", ""),
    // Maryland: 8–20.
    ("MD", TUE, "07:59", "hours"),
    ("MD", TUE, "08:00", ""),
    ("MD", TUE, "19:59", ""),
    ("MD", TUE, "20:00", "hours"),
    ("MD", SUN, "12:00", ""),
    // Michigan, Minnesota, New Mexico: 9–21.
    ("MI", TUE, "08:59", "hours"),
    ("MI", TUE, "09:00", ""),
    ("MI", TUE, "20:59", ""),
    ("MI", TUE, "21:00", "hours"),
    ("MN", TUE, "08:59", "hours"),
    ("MN", TUE, "09:00", ""),
    ("MN", SUN, "20:59", ""),
    ("MN", SUN, "21:00", "hours"),
    ("NM", TUE, "08:59", "hours"),
    ("NM", TUE, "09:00", ""),
    ("NM", SAT, "21:00", "hours"),
    // Mississippi: 8–20 Mon–Sat, no Sunday, no holidays.
    ("MS", TUE, "07:59", "hours"),
    ("MS", TUE, "08:00", ""),
    ("MS", TUE, "20:00", "hours"),
    ("MS", SUN, "12:00", "day"),
    ("MS", THANKSGIVING, "12:00", "holiday"),
    // Nevada: 9–20.
    ("NV", TUE, "08:59", "hours"),
    ("NV", TUE, "09:00", ""),
    ("NV", TUE, "19:59", ""),
    ("NV", TUE, "20:00", "hours"),
    // Oklahoma: 8–20.
    ("OK", TUE, "07:59", "hours"),
    ("OK", TUE, "08:00", ""),
    ("OK", TUE, "20:00", "hours"),
    ("OK", SUN, "12:00", ""),
    // Rhode Island: Mon–Fri 9–18, Sat 10–17, no Sunday, no holidays.
    ("RI", TUE, "08:59", "hours"),
    ("RI", TUE, "09:00", ""),
    ("RI", TUE, "17:59", ""),
    ("RI", TUE, "18:00", "hours"),
    ("RI", SAT, "09:59", "hours"),
    ("RI", SAT, "10:00", ""),
    ("RI", SAT, "16:59", ""),
    ("RI", SAT, "17:00", "hours"),
    ("RI", SUN, "12:00", "day"),
    ("RI", THANKSGIVING, "12:00", "holiday"),
    ("RI", THANKSGIVING, "07:00", "hours,holiday"),
    ("RI", JULY_4_SATURDAY, "12:00", "holiday"),
    // Texas: Mon–Sat 9–21, Sunday 12–21.
    ("TX", TUE, "08:59", "hours"),
    ("TX", TUE, "09:00", ""),
    ("TX", TUE, "20:59", ""),
    ("TX", TUE, "21:00", "hours"),
    ("TX", SAT, "09:00", ""),
    ("TX", SUN, "09:00", "hours"),
    ("TX", SUN, "11:59", "hours"),
    ("TX", SUN, "12:00", ""),
    ("TX", THANKSGIVING, "12:00", ""),
    // Utah: holiday ban only; no state hours.
    ("UT", TUE, "07:00", ""),
    ("UT", SUN, "12:00", ""),
    ("UT", THANKSGIVING, "12:00", "holiday"),
    ("UT", "2026-12-25", "12:00", "holiday"),
    // Washington: 8–20.
    ("WA", TUE, "07:59", "hours"),
    ("WA", TUE, "08:00", ""),
    ("WA", TUE, "20:00", "hours"),
    ("WA", SUN, "12:00", ""),
    // No entry: no state block.
    ("NY", TUE, "03:00", ""),
    ("CA", SUN, "23:00", ""),
    ("", TUE, "03:00", ""),
    // Codes in any case.
    ("fl", TUE, "07:00", "hours"),
    (" ri ", SUN, "12:00", "day"),
];

#[test]
fn state_blocks_table() {
    let rules = StateRules::builtin();
    for &(state, date, time, want) in CASES {
        let local = at(&format!("{date} {time}"));
        let blocks = state_blocks(&rules, state, local);
        assert_eq!(kinds(&blocks), want, "{state} {local}: {blocks:?}");
        // Each block cites the rule's source; the holiday one its holiday source.
        if let Some(rule) = rules.get(state) {
            for b in &blocks {
                let want_source = match b.reason {
                    StateBlockReason::StateHoliday { .. } => rule.holiday_source(),
                    _ => rule.source.as_str(),
                };
                assert_eq!(b.source, want_source, "{state} {local}");
                assert_eq!(b.state, state.trim().to_ascii_uppercase());
            }
        }
    }
}

#[test]
fn every_builtin_state_is_tested() {
    let rules = StateRules::builtin();
    for code in rules.states.keys() {
        let rows: Vec<_> = CASES.iter().filter(|c| c.0 == code).collect();
        assert!(
            rows.iter().any(|c| c.3.is_empty()),
            "{code}: no allowed case"
        );
        let rule = &rules.states[code];
        if !rule.hours.is_empty() {
            assert!(
                rows.iter().any(|c| c.3.contains("hours")),
                "{code}: no hours case"
            );
        }
        let has_closed_day = rule.hours.days.contains(&Some(DayHours::Closed));
        if has_closed_day {
            assert!(
                rows.iter().any(|c| c.3.contains("day")),
                "{code}: no day case"
            );
        }
        if rule.no_calls_on_state_holidays {
            assert!(
                rows.iter().any(|c| c.3.contains("holiday")),
                "{code}: no holiday case"
            );
        }
    }
}

#[test]
fn block_details_and_sources() {
    let rules = StateRules::builtin();
    let b = state_blocks(&rules, "FL", at("2026-11-17 20:15"));
    assert_eq!(
        b,
        vec![StateBlock {
            state: "FL".into(),
            reason: StateBlockReason::OutsideHours {
                weekday: Weekday::Tue,
                start: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
                end: NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
            },
            source: "Fla. Stat. 501.616(6)(a)-(b), 501.059 (SB 1120, 2021)".into(),
        }]
    );
    assert_eq!(
        b[0].to_string(),
        "FL: outside state calling hours (Tue 08:00–20:00 local) \
         [Fla. Stat. 501.616(6)(a)-(b), 501.059 (SB 1120, 2021)]"
    );
    let h = state_blocks(&rules, "RI", at("2026-11-26 12:00"));
    assert_eq!(
        h[0].reason,
        StateBlockReason::StateHoliday {
            name: "Thanksgiving Day".into()
        }
    );
    assert!(h[0].source.contains("dnc.com restricted call dates"));
    assert!(h[0]
        .to_string()
        .contains("no calls on a state holiday (Thanksgiving Day)"));
    let s = state_blocks(&rules, "AL", at("2026-11-22 12:00"));
    assert_eq!(
        s[0].to_string().split(" [").next(),
        Some("AL: no calls on Sun")
    );
    // Blocks serialize for `explain`.
    let json = serde_json::to_value(&b[0]).unwrap();
    assert_eq!(json["reason"]["rule"], "outside_hours");
    assert_eq!(json["reason"]["start"], "08:00:00");
}

#[test]
fn rolling_caps() {
    let rules = StateRules::builtin();
    for (state, want) in [
        ("FL", Some((3, 24))),
        ("OK", Some((3, 24))),
        ("MD", Some((3, 24))),
        ("md", Some((3, 24))),
        ("TX", None),
        ("RI", None),
        ("NY", None),
    ] {
        assert_eq!(rolling_cap(&rules, state), want, "{state}");
    }
}

/// (state, from, expected next open)
const NEXT_OPEN: &[(&str, &str, Option<&str>)] = &[
    // Inside hours: now.
    ("FL", "2026-11-17 12:00", Some("2026-11-17 12:00")),
    // Before opening: today's opening.
    ("FL", "2026-11-17 07:00", Some("2026-11-17 08:00")),
    // At closing (exclusive): tomorrow's opening.
    ("FL", "2026-11-17 20:00", Some("2026-11-18 08:00")),
    // Saturday evening in Alabama: Sunday is closed, Monday opens.
    ("AL", "2026-11-21 20:30", Some("2026-11-23 08:00")),
    ("AL", "2026-11-22 10:00", Some("2026-11-23 08:00")),
    // Rhode Island Friday after 18:00 → Saturday 10:00; Saturday after 17:00 → Monday 09:00.
    ("RI", "2026-11-20 18:00", Some("2026-11-21 10:00")),
    ("RI", "2026-11-21 17:00", Some("2026-11-23 09:00")),
    // Wednesday evening before Thanksgiving: Thursday is a holiday → Friday 09:00.
    ("RI", "2026-11-25 19:00", Some("2026-11-27 09:00")),
    // Independence Day 2026: Friday 3 observed, Saturday 4 actual, Sunday closed → Monday.
    ("RI", "2026-07-02 18:30", Some("2026-07-06 09:00")),
    // Texas Sunday morning → noon.
    ("TX", "2026-11-22 08:00", Some("2026-11-22 12:00")),
    // Utah: no state hours; on a holiday the next open is the following midnight.
    ("UT", "2026-11-26 10:00", Some("2026-11-27 00:00")),
    ("UT", "2026-11-17 03:00", Some("2026-11-17 03:00")),
    // No entry: now.
    ("NY", "2026-11-22 03:00", Some("2026-11-22 03:00")),
];

#[test]
fn next_state_open_table() {
    let rules = StateRules::builtin();
    for &(state, from, want) in NEXT_OPEN {
        let got = next_state_open(&rules, state, at(from));
        assert_eq!(got, want.map(at), "{state} from {from}");
        if let Some(o) = got {
            assert!(state_blocks(&rules, state, o).is_empty(), "{state} {o}");
        }
    }
}

const ALWAYS_CLOSED: &str = r#"
version = "t"
[states.ZZ]
source = "test"
[states.ZZ.hours]
mon = []
tue = []
wed = []
thu = []
fri = []
sat = []
sun = []
"#;

#[test]
fn next_state_open_gives_up_after_the_search_span() {
    let closed = StateRules::from_toml_str(ALWAYS_CLOSED).unwrap();
    assert_eq!(next_state_open(&closed, "ZZ", at("2026-11-17 12:00")), None);

    // Open on Tuesdays 10–11 only: from a Tuesday after closing, the next Tuesday is found.
    let tue_only = StateRules::from_toml_str(
        "version = \"t\"\n[states.ZZ]\nsource = \"t\"\n[states.ZZ.hours]\n\
         mon = []\ntue = [\"10:00\", \"11:00\"]\nwed = []\nthu = []\nfri = []\nsat = []\nsun = []",
    )
    .unwrap();
    assert_eq!(
        next_state_open(&tue_only, "ZZ", at("2026-11-17 11:00")),
        Some(at("2026-11-24 10:00"))
    );
    // The span is the day of `local` plus 14 days. With the next two Tuesdays (days 7 and
    // 14) made holidays, nothing opens within the span…
    let with_hol = StateRules::from_toml_str(
        "version = \"t\"\n[states.ZZ]\nsource = \"t\"\nno_calls_on_state_holidays = true\n\
         holidays = [{ kind = \"date\", name = \"a\", date = \"2026-11-24\" }, \
                     { kind = \"date\", name = \"b\", date = \"2026-12-01\" }]\n\
         [states.ZZ.hours]\nmon = []\ntue = [\"10:00\", \"11:00\"]\nwed = []\nthu = []\nfri = []\nsat = []\nsun = []",
    )
    .unwrap();
    assert_eq!(
        next_state_open(&with_hol, "ZZ", at("2026-11-17 11:00")),
        None,
        "Tuesdays 24th and 1st are holidays, the 8th is day 21"
    );
    assert_eq!(
        next_state_open(&with_hol, "ZZ", at("2026-11-16 11:00")),
        Some(at("2026-11-17 10:00"))
    );
    // …and day 14 itself is found.
    let one_gap = StateRules::from_toml_str(
        "version = \"t\"\n[states.ZZ]\nsource = \"t\"\nno_calls_on_state_holidays = true\n\
         holidays = [{ kind = \"date\", name = \"a\", date = \"2026-11-24\" }]\n\
         [states.ZZ.hours]\nmon = []\ntue = [\"10:00\", \"11:00\"]\nwed = []\nthu = []\nfri = []\nsat = []\nsun = []",
    )
    .unwrap();
    assert_eq!(
        next_state_open(&one_gap, "ZZ", at("2026-11-17 11:00")),
        Some(at("2026-12-01 10:00"))
    );
}

#[test]
fn override_changes_evaluation() {
    let base = StateRules::builtin();
    let ov = StateRules::from_toml_str(
        r#"
version = "ops"
[states.FL]
source = "counsel memo"
max_calls_per_24h_per_number = 2
[states.FL.hours]
sun = []
[states.UT]
source = "counsel: lifted"
"#,
    )
    .unwrap();
    let m = base.merge(&ov);
    // Florida Sunday now closed, weekday hours lifted (the override replaced the entry).
    let sun = state_blocks(&m, "FL", at("2026-11-22 12:00"));
    assert_eq!(kinds(&sun), "day");
    assert_eq!(sun[0].source, "counsel memo");
    assert!(state_blocks(&m, "FL", at("2026-11-17 07:00")).is_empty());
    assert_eq!(rolling_cap(&m, "FL"), Some((2, 24)));
    // Utah's holiday ban is lifted.
    assert!(state_blocks(&m, "UT", at("2026-11-26 12:00")).is_empty());
    // Others untouched.
    assert_eq!(
        kinds(&state_blocks(&m, "AL", at("2026-11-26 12:00"))),
        "holiday"
    );
    assert_eq!(rolling_cap(&m, "OK"), Some((3, 24)));
}

#[test]
fn federal_baseline() {
    assert_eq!(
        FEDERAL_HOURS,
        DayHours::Window {
            start: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(21, 0, 0).unwrap(),
        }
    );
    assert!(!federal_hours_allow(at("2026-11-17 07:59")));
    assert!(federal_hours_allow(at("2026-11-17 08:00")));
    assert!(federal_hours_allow(at("2026-11-17 20:59")));
    assert!(!federal_hours_allow(at("2026-11-17 21:00")));
    assert!(FEDERAL_HOURS_SOURCE.contains("64.1200(c)(1)"));
}

fn state_code() -> impl Strategy<Value = String> {
    let mut codes: Vec<String> = StateRules::builtin().states.into_keys().collect();
    codes.push("NY".into());
    proptest::sample::select(codes)
}

proptest! {
    /// `next_state_open` is exactly the first minute `state_blocks` allows.
    #[test]
    fn next_open_agrees_with_blocks(
        state in state_code(),
        day in 0i64..800,
        minute in 0i64..1440,
    ) {
        let rules = StateRules::builtin();
        let from = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap().and_time(NaiveTime::MIN)
            + Duration::days(day)
            + Duration::minutes(minute);
        let open = next_state_open(&rules, &state, from);
        let blocked_now = !state_blocks(&rules, &state, from).is_empty();
        prop_assert_eq!(open == Some(from), !blocked_now);
        if let Some(o) = open {
            prop_assert!(o >= from);
            prop_assert!(state_blocks(&rules, &state, o).is_empty());
            // Every minute boundary before it is blocked (windows open on whole minutes).
            if o > from {
                let before = o - Duration::minutes(1);
                if before >= from {
                    prop_assert!(!state_blocks(&rules, &state, before).is_empty());
                }
            }
        }
    }
}
