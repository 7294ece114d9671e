//! The state-rules data file: its types, parsing, validation and operator overrides.
//!
//! The built-in file is `crates/outdial-core/data/state-rules.toml`, embedded at compile time
//! ([`StateRules::builtin`]); operators may layer their own file on top
//! ([`StateRules::from_toml_str`], [`StateRules::merge`]). The file format is documented at the
//! top of the built-in file. All hours in it are **local wall-clock times** of the called party
//! (no time zone, no UTC): the caller converts an instant to each candidate zone first.
//!
//! Validation (every error names the state and the field): times are `HH:MM` (00:00–23:59),
//! each window's start is before its end, state codes are two upper-case ASCII letters, caps
//! are greater than zero, holiday rules name valid months, days and weekdays, a holiday ban
//! lists at least one holiday rule, and unknown keys are rejected (a misspelt cap must not be
//! silently ignored).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

use super::holidays;

/// The built-in rules file, embedded at compile time.
pub const BUILTIN_TOML: &str = include_str!("../../data/state-rules.toml");

/// The weekday keys of an `hours` table, in order from Monday.
pub const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A versioned set of per-state calling rules, keyed by two-letter upper-case state code.
///
/// States without an entry have no state rule (the federal baseline still applies; see
/// [`super::FEDERAL_HOURS`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawStateRules", into = "RawStateRules")]
pub struct StateRules {
    /// Version of the data (the built-in file uses the date it was compiled, `YYYY-MM-DD`;
    /// a merged set reads `base+override`).
    pub version: String,
    /// Where the data comes from, for operators.
    pub source_note: String,
    /// Rules by state code (`"FL"`).
    pub states: BTreeMap<String, StateRule>,
}

/// The rules of one state. All times are the called party's local time.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "RawStateRule", into = "RawStateRule")]
pub struct StateRule {
    /// Display name (`"Florida"`).
    pub name: Option<String>,
    /// Where the rule comes from: statute and/or URL, as the reference gives it. Carried by
    /// every [`super::StateBlock`] this rule produces.
    pub source: String,
    /// When the rule took effect, as precisely as the source gives it (`YYYY`, `YYYY-MM` or
    /// `YYYY-MM-DD`).
    pub effective: Option<String>,
    /// Date of the reference the entry was read from (when `effective` is unknown).
    pub as_of: Option<String>,
    /// Allowed local hours per weekday.
    pub hours: WeekHours,
    /// No calls on the state's legal holidays, as listed in [`StateRule::holidays`].
    pub no_calls_on_state_holidays: bool,
    /// The holidays on which calls are banned (non-empty exactly when
    /// `no_calls_on_state_holidays`).
    pub holidays: Vec<HolidayRule>,
    /// Source of the holiday ban when it differs from [`StateRule::source`].
    pub holiday_source: Option<String>,
    /// Calls are also restricted during declared emergencies. Data only: nothing in this
    /// crate knows when an emergency is declared; the engine must supply it (a blackout).
    pub no_calls_during_declared_emergency: bool,
    /// Most calls to one phone number in any rolling 24 hours (greater than zero).
    pub max_calls_per_24h_per_number: Option<u32>,
    /// The rolling cap counts text messages as well as calls.
    pub cap_counts_texts: bool,
    /// A number with one of the state's area codes is presumed to belong to a resident.
    pub area_code_presumption: bool,
    /// Free text for operators: scope of the rule, exemptions, disagreements between sources.
    pub notes: Vec<String>,
}

impl StateRule {
    /// The source to cite for a holiday block: `holiday_source`, else `source`.
    pub fn holiday_source(&self) -> &str {
        self.holiday_source.as_deref().unwrap_or(&self.source)
    }

    /// The name of the banned holiday `date` is, when the state bans calls on holidays.
    pub fn banned_holiday(&self, date: NaiveDate) -> Option<String> {
        if !self.no_calls_on_state_holidays {
            return None;
        }
        self.holidays.iter().find_map(|h| h.matches(date))
    }
}

/// The allowed local hours of one weekday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub enum DayHours {
    /// No calls at all that day (`sun = []`).
    Closed,
    /// Calls allowed from `start` (inclusive) to `end` (exclusive), local time
    /// (`mon = ["08:00", "20:00"]`).
    Window {
        /// Local opening time, inclusive.
        start: NaiveTime,
        /// Local closing time, exclusive; always after `start`.
        end: NaiveTime,
    },
}

impl DayHours {
    /// True when a call at local time `t` is allowed by these hours.
    pub fn allows(&self, t: NaiveTime) -> bool {
        match *self {
            DayHours::Closed => false,
            DayHours::Window { start, end } => start <= t && t < end,
        }
    }

    /// Parses `[]` or `["HH:MM", "HH:MM"]`.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<DayHours, String> {
        match items {
            [] => Ok(DayHours::Closed),
            [start, end] => {
                let start = parse_hhmm(start.as_ref())?;
                let end = parse_hhmm(end.as_ref())?;
                if start >= end {
                    return Err(format!(
                        "start {} must be before end {}",
                        start.format("%H:%M"),
                        end.format("%H:%M")
                    ));
                }
                Ok(DayHours::Window { start, end })
            }
            other => Err(format!(
                "expected [] (no calls) or [\"HH:MM\", \"HH:MM\"], got {} item(s)",
                other.len()
            )),
        }
    }
}

impl TryFrom<Vec<String>> for DayHours {
    type Error = String;
    fn try_from(items: Vec<String>) -> Result<Self, String> {
        DayHours::parse(&items)
    }
}

impl From<DayHours> for Vec<String> {
    fn from(h: DayHours) -> Vec<String> {
        match h {
            DayHours::Closed => Vec::new(),
            DayHours::Window { start, end } => vec![
                start.format("%H:%M").to_string(),
                end.format("%H:%M").to_string(),
            ],
        }
    }
}

impl fmt::Display for DayHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DayHours::Closed => f.write_str("no calls"),
            DayHours::Window { start, end } => {
                write!(f, "{}–{}", start.format("%H:%M"), end.format("%H:%M"))
            }
        }
    }
}

/// A strict `HH:MM` (two digits each, 00:00–23:59).
fn parse_hhmm(s: &str) -> Result<NaiveTime, String> {
    let b = s.as_bytes();
    let ok_shape =
        b.len() == 5 && b[2] == b':' && [0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit());
    let bad = || format!("{s:?} is not a time HH:MM (00:00–23:59)");
    if !ok_shape {
        return Err(bad());
    }
    let hour = u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0');
    let minute = u32::from(b[3] - b'0') * 10 + u32::from(b[4] - b'0');
    NaiveTime::from_hms_opt(hour, minute, 0).ok_or_else(bad)
}

/// Allowed local hours for each weekday; a day without an entry has no state hour rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WeekHours {
    /// Indexed by [`Weekday::num_days_from_monday`] (0 = Monday … 6 = Sunday).
    pub days: [Option<DayHours>; 7],
}

impl WeekHours {
    /// The hours of `day`, or `None` when the state sets none that day.
    pub fn get(&self, day: Weekday) -> Option<&DayHours> {
        self.days[day.num_days_from_monday() as usize].as_ref()
    }

    /// Sets (or clears, with `None`) the hours of `day`.
    pub fn set(&mut self, day: Weekday, hours: Option<DayHours>) {
        self.days[day.num_days_from_monday() as usize] = hours;
    }

    /// True when no weekday has hours set.
    pub fn is_empty(&self) -> bool {
        self.days.iter().all(Option::is_none)
    }
}

/// A rule naming a holiday on which calls are banned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HolidayRule {
    /// Every US federal holiday (5 U.S.C. § 6103), on its actual **or** observed date
    /// ([`holidays::is_federal_holiday`]). `{ kind = "federal" }`.
    Federal,
    /// A fixed month and day every year, optionally also on its observed date (Saturday →
    /// Friday before, Sunday → Monday after).
    /// `{ kind = "fixed", name = "Pioneer Day", month = 7, day = 24, observed = true }`.
    Fixed {
        /// Holiday name.
        name: String,
        /// Month, 1–12.
        month: u32,
        /// Day of month, 1–31 (valid for the month; February 29 only matches in leap years).
        day: u32,
        /// Also match the observed date.
        observed: bool,
    },
    /// The `n`-th weekday of a month (`n` = 1–5, or −1 for the last).
    /// `{ kind = "nth_weekday", name = "...", month = 1, weekday = "mon", n = 3 }`.
    NthWeekday {
        /// Holiday name.
        name: String,
        /// Month, 1–12.
        month: u32,
        /// The weekday.
        weekday: Weekday,
        /// 1–5 (a fifth weekday that does not exist never matches), or −1 for the last.
        n: i8,
    },
    /// One date (for holidays no rule above computes, such as Mardi Gras).
    /// `{ kind = "date", name = "...", date = "2027-02-09" }`.
    Date {
        /// Holiday name.
        name: String,
        /// The date.
        date: NaiveDate,
    },
}

impl HolidayRule {
    /// The holiday's name when `date` is that holiday, else `None`.
    pub fn matches(&self, date: NaiveDate) -> Option<String> {
        match self {
            HolidayRule::Federal => holidays::is_federal_holiday(date).map(str::to_owned),
            HolidayRule::Fixed {
                name,
                month,
                day,
                observed,
            } => {
                let y = date.year();
                let hit = [y - 1, y, y + 1].into_iter().any(|year| {
                    NaiveDate::from_ymd_opt(year, *month, *day).is_some_and(|actual| {
                        actual == date || (*observed && holidays::observed_date(actual) == date)
                    })
                });
                hit.then(|| name.clone())
            }
            HolidayRule::NthWeekday {
                name,
                month,
                weekday,
                n,
            } => {
                let y = date.year();
                let actual = if *n == -1 {
                    holidays::last_weekday_of_month(y, *month, *weekday)
                } else {
                    u8::try_from(*n)
                        .ok()
                        .and_then(|n| holidays::nth_weekday_of_month(y, *month, *weekday, n))
                };
                (actual == Some(date)).then(|| name.clone())
            }
            HolidayRule::Date { name, date: d } => (*d == date).then(|| name.clone()),
        }
    }
}

/// Why a rules file was refused. Every variant names the state (when the problem is inside a
/// state entry) and the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleFileError {
    /// Not TOML, or a key of the wrong type, missing or unknown.
    Parse {
        /// The state entry, when the problem is inside one.
        state: Option<String>,
        /// The field (dotted path inside the state entry), when known.
        field: Option<String>,
        /// The parser's message (with line and column for top-level problems).
        message: String,
    },
    /// Well-formed, but a value breaks a rule (bad time, start not before end, zero cap, …).
    Invalid {
        /// The state entry, when the problem is inside one (`None` for the top level, and
        /// the code itself when the code is malformed).
        state: Option<String>,
        /// The field (dotted path inside the state entry: `hours.mon`, `holidays[0].month`).
        field: String,
        /// What is wrong.
        message: String,
    },
}

impl RuleFileError {
    /// The state entry the error is in, if any.
    pub fn state(&self) -> Option<&str> {
        match self {
            RuleFileError::Parse { state, .. } | RuleFileError::Invalid { state, .. } => {
                state.as_deref()
            }
        }
    }

    /// The field the error is about, if known.
    pub fn field(&self) -> Option<&str> {
        match self {
            RuleFileError::Parse { field, .. } => field.as_deref(),
            RuleFileError::Invalid { field, .. } => Some(field),
        }
    }

    fn invalid(state: Option<&str>, field: impl Into<String>, message: impl Into<String>) -> Self {
        RuleFileError::Invalid {
            state: state.map(str::to_owned),
            field: field.into(),
            message: message.into(),
        }
    }

    fn with_state(self, code: &str) -> Self {
        match self {
            RuleFileError::Parse { field, message, .. } => RuleFileError::Parse {
                state: Some(code.to_owned()),
                field,
                message,
            },
            RuleFileError::Invalid { field, message, .. } => RuleFileError::Invalid {
                state: Some(code.to_owned()),
                field,
                message,
            },
        }
    }
}

impl fmt::Display for RuleFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("state rules file")?;
        if let Some(state) = self.state() {
            write!(f, ", state {state}")?;
        }
        if let Some(field) = self.field() {
            write!(f, ", field `{field}`")?;
        }
        let message = match self {
            RuleFileError::Parse { message, .. } | RuleFileError::Invalid { message, .. } => {
                message
            }
        };
        write!(f, ": {}", message.trim_end())
    }
}

impl std::error::Error for RuleFileError {}

impl StateRules {
    /// The built-in rules (`data/state-rules.toml`, embedded at compile time). A unit test
    /// guarantees the embedded file parses, so this never panics in a tested build.
    pub fn builtin() -> StateRules {
        StateRules::from_toml_str(BUILTIN_TOML)
            .unwrap_or_else(|e| panic!("embedded data/state-rules.toml is invalid: {e}"))
    }

    /// Parses and validates a rules file (the built-in one, or an operator override with the
    /// same format). Pure: the caller reads the file.
    pub fn from_toml_str(text: &str) -> Result<StateRules, RuleFileError> {
        let doc: RawDocument = toml::from_str(text).map_err(|e| toml_error(None, &e))?;
        let mut states = BTreeMap::new();
        for (code, value) in doc.states {
            let raw = RawStateRule::deserialize(value).map_err(|e| toml_error(Some(&code), &e))?;
            states.insert(code, raw);
        }
        StateRules::try_from(RawStateRules {
            version: doc.version,
            source_note: doc.source_note,
            states,
        })
    }

    /// The rule of `state` (two-letter code, any case, surrounding spaces ignored).
    pub fn get(&self, state: &str) -> Option<&StateRule> {
        let code = state.trim();
        self.states
            .get(code)
            .or_else(|| self.states.get(&code.to_ascii_uppercase()))
    }

    /// These rules with `overrides` applied: an override entry **replaces** the whole entry of
    /// its state (no field-by-field mix, so an override is always read as one complete rule);
    /// states only in `overrides` are added; the others are kept. An override entry with no
    /// hours, holidays or cap lifts every state rule for that state (the federal baseline
    /// still applies). The result's version is `"{base}+{override}"`.
    pub fn merge(&self, overrides: &StateRules) -> StateRules {
        let mut states = self.states.clone();
        for (code, rule) in &overrides.states {
            states.insert(code.clone(), rule.clone());
        }
        let source_note = if overrides.source_note.trim().is_empty() {
            self.source_note.clone()
        } else {
            format!(
                "{}; overridden by {}: {}",
                self.source_note, overrides.version, overrides.source_note
            )
        };
        StateRules {
            version: format!("{}+{}", self.version, overrides.version),
            source_note,
            states,
        }
    }
}

/// Turns a `toml` error into a [`RuleFileError::Parse`], recovering the field from the key
/// path the value deserializer reports (`in `a.b``) or from an unknown/missing field message.
fn toml_error(state: Option<&str>, e: &toml::de::Error) -> RuleFileError {
    let text = e.to_string();
    let path = text
        .lines()
        .find_map(|l| l.strip_prefix("in `").and_then(|r| r.strip_suffix('`')))
        .map(str::to_owned);
    let message = e.message().trim().to_owned();
    let named = ["unknown field `", "missing field `", "unknown variant `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|r| r.split('`').next())
        .map(str::to_owned);
    let field = match (path, named) {
        (Some(p), Some(n)) if message.starts_with("unknown field") => Some(format!("{p}.{n}")),
        (Some(p), _) => Some(p),
        (None, Some(n)) if !message.starts_with("unknown variant") => Some(n),
        _ => None,
    };
    let message = if state.is_none() { text } else { message };
    RuleFileError::Parse {
        state: state.map(str::to_owned),
        field,
        message,
    }
}

// ----- raw file layer: what TOML holds, before validation -----

/// The document as first read: state entries stay raw so each error can name its state.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    version: String,
    #[serde(default)]
    source_note: String,
    #[serde(default)]
    states: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStateRules {
    version: String,
    #[serde(default)]
    source_note: String,
    #[serde(default)]
    states: BTreeMap<String, RawStateRule>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a state rule table")]
struct RawStateRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    effective: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    as_of: Option<String>,
    #[serde(default)]
    no_calls_on_state_holidays: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    holidays: Vec<RawHoliday>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    holiday_source: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    no_calls_during_declared_emergency: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_calls_per_24h_per_number: Option<i64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    cap_counts_texts: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    area_code_presumption: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hours: Option<RawHours>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table of weekday hours")]
struct RawHours {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mon: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tue: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    wed: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    thu: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fri: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sat: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sun: Option<Vec<String>>,
}

impl RawHours {
    fn days(&self) -> [&Option<Vec<String>>; 7] {
        [
            &self.mon, &self.tue, &self.wed, &self.thu, &self.fri, &self.sat, &self.sun,
        ]
    }

    fn from_days(mut d: [Option<Vec<String>>; 7]) -> RawHours {
        let mut take = |i: usize| d[i].take();
        RawHours {
            mon: take(0),
            tue: take(1),
            wed: take(2),
            thu: take(3),
            fri: take(4),
            sat: take(5),
            sun: take(6),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    deny_unknown_fields,
    expecting = "a holiday rule table with a `kind`"
)]
enum RawHoliday {
    Federal,
    Fixed {
        name: String,
        month: i64,
        day: i64,
        #[serde(default)]
        observed: bool,
    },
    NthWeekday {
        name: String,
        month: i64,
        weekday: String,
        n: i64,
    },
    Date {
        name: String,
        date: String,
    },
}

// ----- validation: raw → typed -----

impl TryFrom<RawStateRules> for StateRules {
    type Error = RuleFileError;

    fn try_from(raw: RawStateRules) -> Result<Self, RuleFileError> {
        if raw.version.trim().is_empty() {
            return Err(RuleFileError::invalid(None, "version", "must not be empty"));
        }
        let mut states = BTreeMap::new();
        for (code, rule) in raw.states {
            if !(code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())) {
                return Err(RuleFileError::invalid(
                    Some(&code),
                    "states",
                    format!("state code {code:?} must be two upper-case letters (\"FL\")"),
                ));
            }
            let rule = StateRule::try_from(rule).map_err(|e| e.with_state(&code))?;
            states.insert(code, rule);
        }
        Ok(StateRules {
            version: raw.version,
            source_note: raw.source_note,
            states,
        })
    }
}

impl From<StateRules> for RawStateRules {
    fn from(r: StateRules) -> Self {
        RawStateRules {
            version: r.version,
            source_note: r.source_note,
            states: r.states.into_iter().map(|(k, v)| (k, v.into())).collect(),
        }
    }
}

fn check_partial_date(field: &str, value: &Option<String>) -> Result<(), RuleFileError> {
    let Some(v) = value else { return Ok(()) };
    let ok = match v.len() {
        4 => v.parse::<i32>().is_ok() && v.bytes().all(|b| b.is_ascii_digit()),
        7 => NaiveDate::parse_from_str(&format!("{v}-01"), "%Y-%m-%d").is_ok(),
        10 => NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok(),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(RuleFileError::invalid(
            None,
            field,
            format!("{v:?} is not a date YYYY, YYYY-MM or YYYY-MM-DD"),
        ))
    }
}

fn parse_weekday(s: &str) -> Option<Weekday> {
    DAY_KEYS
        .iter()
        .position(|k| k.eq_ignore_ascii_case(s))
        .and_then(|i| Weekday::try_from(i as u8).ok())
}

fn check_month(field: &str, month: i64) -> Result<u32, RuleFileError> {
    u32::try_from(month)
        .ok()
        .filter(|m| (1..=12).contains(m))
        .ok_or_else(|| RuleFileError::invalid(None, field, format!("{month} is not a month 1–12")))
}

fn check_name(field: &str, name: &str) -> Result<String, RuleFileError> {
    if name.trim().is_empty() {
        Err(RuleFileError::invalid(None, field, "must not be empty"))
    } else {
        Ok(name.to_owned())
    }
}

impl TryFrom<RawHoliday> for HolidayRule {
    type Error = (String, String);

    /// Errors as (sub-field, message).
    fn try_from(raw: RawHoliday) -> Result<Self, (String, String)> {
        let err = |e: RuleFileError| {
            (
                e.field().unwrap_or_default().to_owned(),
                match e {
                    RuleFileError::Parse { message, .. }
                    | RuleFileError::Invalid { message, .. } => message,
                },
            )
        };
        match raw {
            RawHoliday::Federal => Ok(HolidayRule::Federal),
            RawHoliday::Fixed {
                name,
                month,
                day,
                observed,
            } => {
                let name = check_name("name", &name).map_err(err)?;
                let month = check_month("month", month).map_err(err)?;
                // Valid in a leap year (February 29 allowed; it matches only in leap years).
                let day = u32::try_from(day)
                    .ok()
                    .filter(|&d| NaiveDate::from_ymd_opt(2024, month, d).is_some())
                    .ok_or_else(|| {
                        (
                            "day".to_owned(),
                            format!("{day} is not a day of month {month}"),
                        )
                    })?;
                Ok(HolidayRule::Fixed {
                    name,
                    month,
                    day,
                    observed,
                })
            }
            RawHoliday::NthWeekday {
                name,
                month,
                weekday,
                n,
            } => {
                let name = check_name("name", &name).map_err(err)?;
                let month = check_month("month", month).map_err(err)?;
                let weekday = parse_weekday(&weekday).ok_or_else(|| {
                    (
                        "weekday".to_owned(),
                        format!("{weekday:?} is not one of {}", DAY_KEYS.join(", ")),
                    )
                })?;
                let n = i8::try_from(n)
                    .ok()
                    .filter(|n| (1..=5).contains(n) || *n == -1)
                    .ok_or_else(|| {
                        (
                            "n".to_owned(),
                            format!("{n} must be 1–5, or -1 for the last"),
                        )
                    })?;
                Ok(HolidayRule::NthWeekday {
                    name,
                    month,
                    weekday,
                    n,
                })
            }
            RawHoliday::Date { name, date } => {
                let name = check_name("name", &name).map_err(err)?;
                let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                    .ok()
                    .filter(|_| date.len() == 10)
                    .ok_or_else(|| {
                        (
                            "date".to_owned(),
                            format!("{date:?} is not a date YYYY-MM-DD"),
                        )
                    })?;
                Ok(HolidayRule::Date { name, date })
            }
        }
    }
}

impl From<HolidayRule> for RawHoliday {
    fn from(h: HolidayRule) -> Self {
        match h {
            HolidayRule::Federal => RawHoliday::Federal,
            HolidayRule::Fixed {
                name,
                month,
                day,
                observed,
            } => RawHoliday::Fixed {
                name,
                month: i64::from(month),
                day: i64::from(day),
                observed,
            },
            HolidayRule::NthWeekday {
                name,
                month,
                weekday,
                n,
            } => RawHoliday::NthWeekday {
                name,
                month: i64::from(month),
                weekday: DAY_KEYS[weekday.num_days_from_monday() as usize].to_owned(),
                n: i64::from(n),
            },
            HolidayRule::Date { name, date } => RawHoliday::Date {
                name,
                date: date.format("%Y-%m-%d").to_string(),
            },
        }
    }
}

impl TryFrom<RawStateRule> for StateRule {
    type Error = RuleFileError;

    /// Validates one entry; errors carry no state (the caller adds it).
    fn try_from(raw: RawStateRule) -> Result<Self, RuleFileError> {
        if raw.source.trim().is_empty() {
            return Err(RuleFileError::invalid(None, "source", "must not be empty"));
        }
        check_partial_date("effective", &raw.effective)?;
        check_partial_date("as_of", &raw.as_of)?;

        let mut hours = WeekHours::default();
        if let Some(h) = &raw.hours {
            for (i, day) in h.days().into_iter().enumerate() {
                if let Some(items) = day {
                    let parsed = DayHours::parse(items).map_err(|m| {
                        RuleFileError::invalid(None, format!("hours.{}", DAY_KEYS[i]), m)
                    })?;
                    hours.days[i] = Some(parsed);
                }
            }
        }

        let mut holidays = Vec::with_capacity(raw.holidays.len());
        for (i, h) in raw.holidays.into_iter().enumerate() {
            let rule = HolidayRule::try_from(h).map_err(|(sub, m)| {
                RuleFileError::invalid(None, format!("holidays[{i}].{sub}"), m)
            })?;
            holidays.push(rule);
        }
        if raw.no_calls_on_state_holidays && holidays.is_empty() {
            return Err(RuleFileError::invalid(
                None,
                "holidays",
                "no_calls_on_state_holidays is true but no holiday rule is listed",
            ));
        }
        if !raw.no_calls_on_state_holidays && !holidays.is_empty() {
            return Err(RuleFileError::invalid(
                None,
                "no_calls_on_state_holidays",
                "holidays are listed but no_calls_on_state_holidays is false",
            ));
        }

        let cap = match raw.max_calls_per_24h_per_number {
            None => None,
            Some(n) => Some(u32::try_from(n).ok().filter(|&n| n > 0).ok_or_else(|| {
                RuleFileError::invalid(
                    None,
                    "max_calls_per_24h_per_number",
                    format!("{n} must be greater than 0"),
                )
            })?),
        };
        if raw.cap_counts_texts && cap.is_none() {
            return Err(RuleFileError::invalid(
                None,
                "cap_counts_texts",
                "is true but max_calls_per_24h_per_number is not set",
            ));
        }

        Ok(StateRule {
            name: raw.name,
            source: raw.source,
            effective: raw.effective,
            as_of: raw.as_of,
            hours,
            no_calls_on_state_holidays: raw.no_calls_on_state_holidays,
            holidays,
            holiday_source: raw.holiday_source,
            no_calls_during_declared_emergency: raw.no_calls_during_declared_emergency,
            max_calls_per_24h_per_number: cap,
            cap_counts_texts: raw.cap_counts_texts,
            area_code_presumption: raw.area_code_presumption,
            notes: raw.notes,
        })
    }
}

impl From<StateRule> for RawStateRule {
    fn from(r: StateRule) -> Self {
        let hours = (!r.hours.is_empty())
            .then(|| RawHours::from_days(r.hours.days.map(|d| d.map(Vec::<String>::from))));
        RawStateRule {
            name: r.name,
            source: r.source,
            effective: r.effective,
            as_of: r.as_of,
            no_calls_on_state_holidays: r.no_calls_on_state_holidays,
            holidays: r.holidays.into_iter().map(RawHoliday::from).collect(),
            holiday_source: r.holiday_source,
            no_calls_during_declared_emergency: r.no_calls_during_declared_emergency,
            max_calls_per_24h_per_number: r.max_calls_per_24h_per_number.map(i64::from),
            cap_counts_texts: r.cap_counts_texts,
            area_code_presumption: r.area_code_presumption,
            notes: r.notes,
            hours,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
