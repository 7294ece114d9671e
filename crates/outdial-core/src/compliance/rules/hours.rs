//! A state's calling hours: the hours of one weekday and of a week (local wall-clock
//! times of the called party).

use std::fmt;

use chrono::{NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

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
pub(super) fn parse_hhmm(s: &str) -> Result<NaiveTime, String> {
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
