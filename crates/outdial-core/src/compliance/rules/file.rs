//! The raw file layer: what the TOML holds before validation, and the conversions
//! between it and the validated types (every error names the state and the field).

use std::collections::BTreeMap;

use chrono::{NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use super::{DayHours, HolidayRule, RuleFileError, StateRule, StateRules, WeekHours, DAY_KEYS};

/// Turns a `toml` error into a [`RuleFileError::Parse`], recovering the field from the key
/// path the value deserializer reports (`in `a.b``) or from an unknown/missing field message.
pub(super) fn toml_error(state: Option<&str>, e: &toml::de::Error) -> RuleFileError {
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
pub(super) struct RawDocument {
    pub(super) version: String,
    #[serde(default)]
    pub(super) source_note: String,
    #[serde(default)]
    pub(super) states: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStateRules {
    pub(super) version: String,
    #[serde(default)]
    pub(super) source_note: String,
    #[serde(default)]
    pub(super) states: BTreeMap<String, RawStateRule>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a state rule table")]
pub(super) struct RawStateRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) name: Option<String>,
    pub(super) source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) effective: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) as_of: Option<String>,
    #[serde(default)]
    pub(super) no_calls_on_state_holidays: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) holidays: Vec<RawHoliday>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) holiday_source: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) no_calls_during_declared_emergency: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_calls_per_24h_per_number: Option<i64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) cap_counts_texts: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) area_code_presumption: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) notes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) hours: Option<RawHours>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table of weekday hours")]
pub(super) struct RawHours {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) mon: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) tue: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) wed: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) thu: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) fri: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) sat: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) sun: Option<Vec<String>>,
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
pub(super) enum RawHoliday {
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

pub(super) fn check_partial_date(field: &str, value: &Option<String>) -> Result<(), RuleFileError> {
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

pub(super) fn parse_weekday(s: &str) -> Option<Weekday> {
    DAY_KEYS
        .iter()
        .position(|k| k.eq_ignore_ascii_case(s))
        .and_then(|i| Weekday::try_from(i as u8).ok())
}

pub(super) fn check_month(field: &str, month: i64) -> Result<u32, RuleFileError> {
    u32::try_from(month)
        .ok()
        .filter(|m| (1..=12).contains(m))
        .ok_or_else(|| RuleFileError::invalid(None, field, format!("{month} is not a month 1–12")))
}

pub(super) fn check_name(field: &str, name: &str) -> Result<String, RuleFileError> {
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
