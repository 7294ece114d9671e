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

mod error;
mod file;
mod holiday_rule;
mod hours;
#[cfg(test)]
mod tests;

pub use error::RuleFileError;
pub use holiday_rule::HolidayRule;
pub use hours::{DayHours, WeekHours};

use file::{toml_error, RawDocument, RawStateRule, RawStateRules};

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::holidays;

/// The built-in rules file, embedded at compile time.
pub const BUILTIN_TOML: &str = include_str!("../../../data/state-rules.toml");

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
