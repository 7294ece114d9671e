//! Tests of the state-rules file.

use super::*;
use chrono::{NaiveDate, NaiveTime, Weekday};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn t(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn window(a: (u32, u32), b: (u32, u32)) -> Option<DayHours> {
    Some(DayHours::Window {
        start: t(a.0, a.1),
        end: t(b.0, b.1),
    })
}

#[test]
fn builtin_parses() {
    let r = StateRules::from_toml_str(BUILTIN_TOML).expect("embedded file parses");
    assert_eq!(r, StateRules::builtin());
    assert!(!r.version.is_empty());
    assert!(!r.source_note.is_empty());
    let codes: Vec<&str> = r.states.keys().map(String::as_str).collect();
    assert_eq!(
        codes,
        [
            "AL", "CT", "FL", "KY", "LA", "MA", "MD", "MI", "MN", "MS", "NM", "NV", "OK", "RI",
            "TX", "UT", "WA"
        ]
    );
}

#[test]
fn builtin_entries_cite_a_source_and_a_date() {
    for (code, rule) in &StateRules::builtin().states {
        assert!(!rule.source.trim().is_empty(), "{code}");
        assert!(rule.effective.is_some() || rule.as_of.is_some(), "{code}");
        assert!(rule.name.is_some(), "{code}");
        // Every entry restricts something beyond the federal baseline.
        assert!(
            !rule.hours.is_empty()
                || rule.no_calls_on_state_holidays
                || rule.max_calls_per_24h_per_number.is_some(),
            "{code}"
        );
    }
}

#[test]
fn builtin_caps_and_flags() {
    let r = StateRules::builtin();
    for (code, rule) in &r.states {
        let want = matches!(code.as_str(), "FL" | "OK" | "MD").then_some(3);
        assert_eq!(rule.max_calls_per_24h_per_number, want, "{code}");
        assert_eq!(rule.cap_counts_texts, code == "MD", "{code}");
        assert_eq!(
            rule.area_code_presumption,
            matches!(code.as_str(), "FL" | "OK"),
            "{code}"
        );
        assert_eq!(
            rule.no_calls_on_state_holidays,
            matches!(code.as_str(), "AL" | "LA" | "MS" | "RI" | "UT"),
            "{code}"
        );
        assert_eq!(
            rule.no_calls_during_declared_emergency,
            code == "LA",
            "{code}"
        );
    }
    let effective = |c: &str| r.get(c).unwrap().effective.clone();
    assert_eq!(effective("FL").as_deref(), Some("2021"));
    assert_eq!(effective("OK").as_deref(), Some("2022-11-01"));
    assert_eq!(effective("MD").as_deref(), Some("2024-01-01"));
    assert_eq!(effective("WA").as_deref(), Some("2022-06-09"));
    assert_eq!(effective("CT").as_deref(), Some("2023-10"));
    assert!(r.get("FL").unwrap().source.contains("501.059"));
    assert!(r.get("OK").unwrap().source.contains("775C.4"));
    assert!(r.get("MD").unwrap().source.contains("14-4501"));
    assert!(r.get("WA").unwrap().source.contains("80.36.390"));
}

#[test]
fn builtin_hours() {
    use Weekday::*;
    let r = StateRules::builtin();
    let h = |c: &str, w: Weekday| r.get(c).unwrap().hours.get(w).copied();
    assert_eq!(h("RI", Mon), window((9, 0), (18, 0)));
    assert_eq!(h("RI", Sat), window((10, 0), (17, 0)));
    assert_eq!(h("RI", Sun), Some(DayHours::Closed));
    assert_eq!(h("TX", Sat), window((9, 0), (21, 0)));
    assert_eq!(h("TX", Sun), window((12, 0), (21, 0)));
    assert_eq!(h("KY", Wed), window((10, 0), (21, 0)));
    assert_eq!(h("CT", Sun), window((9, 0), (20, 0)));
    assert_eq!(h("UT", Mon), None);
    for c in ["AL", "LA", "MS"] {
        assert_eq!(h(c, Sat), window((8, 0), (20, 0)), "{c}");
        assert_eq!(h(c, Sun), Some(DayHours::Closed), "{c}");
    }
}

#[test]
fn round_trips_through_toml() {
    let r = StateRules::builtin();
    let text = toml::to_string(&r).expect("serializes");
    assert_eq!(StateRules::from_toml_str(&text).unwrap(), r);
    // Through serde alone as well.
    assert_eq!(toml::from_str::<StateRules>(&text).unwrap(), r);
}

#[test]
fn get_ignores_case_and_spaces() {
    let r = StateRules::builtin();
    assert!(r.get(" fl ").is_some());
    assert!(r.get("Fl").is_some());
    assert!(r.get("NY").is_none());
}

const OVERRIDE: &str = r#"
version = "ops-2026-12-01"
source_note = "counsel memo 2026-12-01"

[states.FL]
source = "counsel memo 2026-12-01"
max_calls_per_24h_per_number = 2
[states.FL.hours]
mon = ["09:00", "20:00"]

[states.NY]
source = "internal policy"
no_calls_on_state_holidays = true
holidays = [
  { kind = "fixed", name = "Lincoln's Birthday", month = 2, day = 12, observed = true },
  { kind = "nth_weekday", name = "Election Day (test)", month = 11, weekday = "tue", n = 1 },
  { kind = "nth_weekday", name = "Last Friday of June (test)", month = 6, weekday = "fri", n = -1 },
  { kind = "date", name = "Company day", date = "2027-03-15" },
]

[states.UT]
source = "counsel: no Utah rule applies to our calls"
"#;

#[test]
fn merge_override_wins_per_state() {
    let base = StateRules::builtin();
    let ov = StateRules::from_toml_str(OVERRIDE).unwrap();
    let m = base.merge(&ov);
    assert_eq!(m.version, format!("{}+ops-2026-12-01", base.version));
    assert!(m.source_note.contains("counsel memo"));
    // FL is replaced whole: new cap, only Monday hours, no area-code flag any more.
    let fl = m.get("FL").unwrap();
    assert_eq!(fl.max_calls_per_24h_per_number, Some(2));
    assert_eq!(fl.hours.get(Weekday::Mon).copied(), window((9, 0), (20, 0)));
    assert_eq!(fl.hours.get(Weekday::Tue), None);
    assert!(!fl.area_code_presumption);
    assert_eq!(fl.source, "counsel memo 2026-12-01");
    // NY is added; UT lifted; the rest untouched.
    assert!(m.get("NY").unwrap().no_calls_on_state_holidays);
    assert!(!m.get("UT").unwrap().no_calls_on_state_holidays);
    for code in base
        .states
        .keys()
        .filter(|c| !["FL", "UT"].contains(&c.as_str()))
    {
        assert_eq!(m.states[code], base.states[code], "{code}");
    }
    assert_eq!(m.states.len(), base.states.len() + 1);
    // The base is not modified.
    assert_eq!(base, StateRules::builtin());
    // Merging an empty override changes only the version.
    let empty = StateRules::from_toml_str("version = \"none\"").unwrap();
    let m2 = base.merge(&empty);
    assert_eq!(m2.states, base.states);
    assert_eq!(m2.source_note, base.source_note);
}

#[test]
fn holiday_rules_match() {
    let ov = StateRules::from_toml_str(OVERRIDE).unwrap();
    let ny = ov.get("NY").unwrap();
    let cases = [
        (d(2026, 2, 12), Some("Lincoln's Birthday")),
        // 2028-02-12 is a Saturday: observed Friday 11th, and the day itself.
        (d(2028, 2, 11), Some("Lincoln's Birthday")),
        (d(2028, 2, 12), Some("Lincoln's Birthday")),
        (d(2028, 2, 13), None),
        (d(2026, 11, 3), Some("Election Day (test)")),
        (d(2026, 11, 10), None),
        (d(2026, 6, 26), Some("Last Friday of June (test)")),
        (d(2026, 6, 19), None),
        (d(2027, 3, 15), Some("Company day")),
        (d(2026, 3, 15), None),
        // Federal holidays are not in NY's list.
        (d(2026, 11, 26), None),
    ];
    for (date, want) in cases {
        assert_eq!(ny.banned_holiday(date).as_deref(), want, "{date}");
    }
    let fed = HolidayRule::Federal;
    assert_eq!(
        fed.matches(d(2026, 11, 26)).as_deref(),
        Some("Thanksgiving Day")
    );
    assert_eq!(
        fed.matches(d(2026, 7, 3)).as_deref(),
        Some("Independence Day")
    );
    let leap = HolidayRule::Fixed {
        name: "Leap".into(),
        month: 2,
        day: 29,
        observed: false,
    };
    assert!(leap.matches(d(2028, 2, 29)).is_some());
    assert!(leap.matches(d(2027, 2, 28)).is_none());
}

#[test]
fn day_hours_serde_and_allows() {
    let h: DayHours = serde_json::from_str(r#"["08:00","20:00"]"#).unwrap();
    assert_eq!(Some(h), window((8, 0), (20, 0)));
    assert!(h.allows(t(8, 0)) && h.allows(t(19, 59)));
    assert!(!h.allows(t(7, 59)) && !h.allows(t(20, 0)));
    assert_eq!(serde_json::to_string(&h).unwrap(), r#"["08:00","20:00"]"#);
    let c: DayHours = serde_json::from_str("[]").unwrap();
    assert_eq!(c, DayHours::Closed);
    assert!(!c.allows(t(12, 0)));
    assert!(serde_json::from_str::<DayHours>(r#"["8:00","20:00"]"#).is_err());
    assert_eq!(h.to_string(), "08:00–20:00");
}

/// (what is wrong, file body after `version`, state, field, message fragment,
/// is a [`RuleFileError::Parse`]).
type BadCase = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
    bool,
);

const BAD: &[BadCase] = &[
    ("not toml", "[states.FL\nsource = 1", None, None, "TOML parse error", true),
    ("unknown top key", "verison = 1", None, Some("verison"), "unknown field", true),
    ("lower-case code", "[states.fl]\nsource = \"x\"", Some("fl"), Some("states"), "two upper-case", false),
    ("three letters", "[states.FLA]\nsource = \"x\"", Some("FLA"), Some("states"), "two upper-case", false),
    ("missing source", "[states.FL]\nname = \"x\"", Some("FL"), Some("source"), "missing field", true),
    ("empty source", "[states.FL]\nsource = \" \"", Some("FL"), Some("source"), "must not be empty", false),
    ("misspelt cap", "[states.FL]\nsource = \"x\"\nmax_calls_per_24h_per_numbr = 3", Some("FL"), Some("max_calls_per_24h_per_numbr"), "unknown field", true),
    ("cap not a number", "[states.FL]\nsource = \"x\"\nmax_calls_per_24h_per_number = \"three\"", Some("FL"), Some("max_calls_per_24h_per_number"), "invalid type", true),
    ("zero cap", "[states.FL]\nsource = \"x\"\nmax_calls_per_24h_per_number = 0", Some("FL"), Some("max_calls_per_24h_per_number"), "greater than 0", false),
    ("negative cap", "[states.OK]\nsource = \"x\"\nmax_calls_per_24h_per_number = -3", Some("OK"), Some("max_calls_per_24h_per_number"), "greater than 0", false),
    ("texts without cap", "[states.MD]\nsource = \"x\"\ncap_counts_texts = true", Some("MD"), Some("cap_counts_texts"), "not set", false),
    ("one-digit hour", "[states.FL]\nsource = \"x\"\n[states.FL.hours]\nmon = [\"8:00\", \"20:00\"]", Some("FL"), Some("hours.mon"), "HH:MM", false),
    ("hour 24", "[states.FL]\nsource = \"x\"\n[states.FL.hours]\ntue = [\"08:00\", \"24:00\"]", Some("FL"), Some("hours.tue"), "HH:MM", false),
    ("minute 60", "[states.FL]\nsource = \"x\"\n[states.FL.hours]\nwed = [\"08:60\", \"20:00\"]", Some("FL"), Some("hours.wed"), "HH:MM", false),
    ("not a time", "[states.FL]\nsource = \"x\"\n[states.FL.hours]\nthu = [\"8am\", \"8pm\"]", Some("FL"), Some("hours.thu"), "HH:MM", false),
    ("start after end", "[states.RI]\nsource = \"x\"\n[states.RI.hours]\nfri = [\"20:00\", \"08:00\"]", Some("RI"), Some("hours.fri"), "must be before", false),
    ("start equals end", "[states.RI]\nsource = \"x\"\n[states.RI.hours]\nsat = [\"10:00\", \"10:00\"]", Some("RI"), Some("hours.sat"), "must be before", false),
    ("one time only", "[states.RI]\nsource = \"x\"\n[states.RI.hours]\nsun = [\"10:00\"]", Some("RI"), Some("hours.sun"), "1 item", false),
    ("unknown day", "[states.RI]\nsource = \"x\"\n[states.RI.hours]\nsunday = []", Some("RI"), Some("hours.sunday"), "unknown field", true),
    ("hours not strings", "[states.RI]\nsource = \"x\"\n[states.RI.hours]\nmon = [8, 20]", Some("RI"), Some("hours.mon"), "invalid type", true),
    ("ban without holidays", "[states.AL]\nsource = \"x\"\nno_calls_on_state_holidays = true", Some("AL"), Some("holidays"), "no holiday rule", false),
    ("holidays without ban", "[states.AL]\nsource = \"x\"\nholidays = [{ kind = \"federal\" }]", Some("AL"), Some("no_calls_on_state_holidays"), "is false", false),
    ("unknown holiday kind", "[states.AL]\nsource = \"x\"\nno_calls_on_state_holidays = true\nholidays = [{ kind = \"easter\" }]", Some("AL"), Some("holidays.kind"), "unknown variant", true),
    ("holiday month 13", "[states.AL]\nsource = \"x\"\nno_calls_on_state_holidays = true\nholidays = [{ kind = \"federal\" }, { kind = \"fixed\", name = \"x\", month = 13, day = 1 }]", Some("AL"), Some("holidays[1].month"), "not a month", false),
    ("holiday day 31 in April", "[states.AL]\nsource = \"x\"\nno_calls_on_state_holidays = true\nholidays = [{ kind = \"fixed\", name = \"x\", month = 4, day = 31 }]", Some("AL"), Some("holidays[0].day"), "not a day", false),
    ("holiday n = 0", "[states.AL]\nsource = \"x\"\nno_calls_on_state_holidays = true\nholidays = [{ kind = \"nth_weekday\", name = \"x\", month = 1, weekday = \"mon\", n = 0 }]", Some("AL"), Some("holidays[0].n"), "1–5", false),
    ("holiday bad weekday", "[states.AL]\nsource = \"x\"\nno_calls_on_state_holidays = true\nholidays = [{ kind = \"nth_weekday\", name = \"x\", month = 1, weekday = \"monday\", n = 1 }]", Some("AL"), Some("holidays[0].weekday"), "not one of", false),
    ("holiday bad date", "[states.AL]\nsource = \"x\"\nno_calls_on_state_holidays = true\nholidays = [{ kind = \"date\", name = \"x\", date = \"2027-02-30\" }]", Some("AL"), Some("holidays[0].date"), "YYYY-MM-DD", false),
    ("holiday empty name", "[states.AL]\nsource = \"x\"\nno_calls_on_state_holidays = true\nholidays = [{ kind = \"date\", name = \"\", date = \"2027-02-01\" }]", Some("AL"), Some("holidays[0].name"), "must not be empty", false),
    ("holiday unknown key", "[states.AL]\nsource = \"x\"\nno_calls_on_state_holidays = true\nholidays = [{ kind = \"fixed\", name = \"x\", month = 1, day = 1, obsrved = true }]", Some("AL"), Some("holidays.obsrved"), "unknown field `obsrved`", true),
    ("state not a table", "[states]\nFL = 3", Some("FL"), None, "a state rule table", true),
    ("hours not a table", "[states.FL]\nsource = \"x\"\nhours = 3", Some("FL"), Some("hours"), "weekday hours", true),
    ("bad effective", "[states.CT]\nsource = \"x\"\neffective = \"Oct 2023\"", Some("CT"), Some("effective"), "YYYY", false),
    ("bad as_of", "[states.CT]\nsource = \"x\"\nas_of = \"2026-13\"", Some("CT"), Some("as_of"), "YYYY", false),
];

#[test]
fn bad_files_are_refused_naming_state_and_field() {
    for &(what, body, state, field, fragment, parse) in BAD {
        let text = format!("version = \"t\"\n{body}\n");
        let err = StateRules::from_toml_str(&text).expect_err(what);
        assert_eq!(err.state(), state, "{what}: {err}");
        assert_eq!(err.field(), field, "{what}: {err}");
        assert!(err.to_string().contains(fragment), "{what}: {err}");
        assert_eq!(
            matches!(err, RuleFileError::Parse { .. }),
            parse,
            "{what}: {err:?}"
        );
        if let Some(s) = state {
            assert!(
                err.to_string().contains(&format!("state {s}")),
                "{what}: {err}"
            );
        }
    }
}

#[test]
fn missing_version_and_empty_version() {
    let err = StateRules::from_toml_str("[states.FL]\nsource = \"x\"").unwrap_err();
    assert_eq!(err.field(), Some("version"), "{err}");
    let err = StateRules::from_toml_str("version = \"\"").unwrap_err();
    assert_eq!(err.field(), Some("version"), "{err}");
}

#[test]
fn minimal_valid_entries() {
    let r = StateRules::from_toml_str(
        "version = \"v\"\n[states.ZZ]\nsource = \"s\"\neffective = \"2024\"\n[states.ZZ.hours]\nsun = []\nmon = [\"00:00\", \"23:59\"]",
    )
    .unwrap();
    let zz = r.get("ZZ").unwrap();
    assert_eq!(zz.hours.get(Weekday::Sun), Some(&DayHours::Closed));
    assert_eq!(
        zz.hours.get(Weekday::Mon).copied(),
        window((0, 0), (23, 59))
    );
    assert_eq!(zz.hours.get(Weekday::Tue), None);
    assert_eq!(r.source_note, "");
}
