//! Calling windows: a campaign's local hours per weekday, and local-time arithmetic
//! (instants of local times, local midnights) across daylight-saving changes.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Local hours of one weekday.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayWindow {
    /// The weekday.
    pub day: Weekday,
    /// Local opening time (inclusive).
    pub start: NaiveTime,
    /// Local closing time (exclusive).
    pub end: NaiveTime,
}

/// A campaign's calling window in the called party's local time: `[start, end)` on the listed
/// weekdays, with optional other hours for particular weekdays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallingWindow {
    /// Local opening time (inclusive).
    pub start: NaiveTime,
    /// Local closing time (exclusive).
    pub end: NaiveTime,
    /// Weekdays on which the window opens.
    pub days: Vec<Weekday>,
    /// Other hours for some of those weekdays (for example Saturday 10:00–17:00).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_day: Vec<DayWindow>,
}

impl Default for CallingWindow {
    /// 08:00–21:00 local, every day (the federal TCPA hours).
    fn default() -> Self {
        CallingWindow {
            start: NaiveTime::from_hms_opt(8, 0, 0).expect("valid"),
            end: NaiveTime::from_hms_opt(21, 0, 0).expect("valid"),
            days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
                Weekday::Sat,
                Weekday::Sun,
            ],
            per_day: Vec::new(),
        }
    }
}

impl CallingWindow {
    /// Errors when a window's start is not before its end, no weekday is listed, or a
    /// weekday has two `per_day` entries.
    pub fn validate(&self) -> Result<(), String> {
        if self.start >= self.end {
            return Err(format!(
                "calling_window.start ({}) must be before calling_window.end ({})",
                self.start, self.end
            ));
        }
        if self.days.is_empty() {
            return Err("calling_window.days lists no weekday".into());
        }
        for (i, d) in self.per_day.iter().enumerate() {
            if d.start >= d.end {
                return Err(format!(
                    "calling_window.per_day[{i}] ({}): start must be before end",
                    d.day
                ));
            }
            if self.per_day.iter().filter(|o| o.day == d.day).count() > 1 {
                return Err(format!("calling_window.per_day lists {} twice", d.day));
            }
        }
        Ok(())
    }

    /// The local hours on `day`, or `None` when the window does not open that day.
    pub fn hours_on(&self, day: Weekday) -> Option<(NaiveTime, NaiveTime)> {
        if !self.days.contains(&day) {
            return None;
        }
        Some(
            self.per_day
                .iter()
                .find(|d| d.day == day)
                .map_or((self.start, self.end), |d| (d.start, d.end)),
        )
    }

    /// The earliest instant `>= t` inside the window in zone `tz`, or `None` when the window
    /// never opens within eight days.
    pub fn next_open(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let local_date = t.with_timezone(&tz).date_naive();
        for d in 0..=8 {
            let day = local_date + Duration::days(d);
            let Some((start, end)) = self.hours_on(day.weekday()) else {
                continue;
            };
            let open = local_instant(tz, day, start);
            let close = local_instant(tz, day, end);
            if t < close {
                return Some(t.max(open));
            }
        }
        None
    }

    /// True when `t` lies inside the window in zone `tz`.
    pub fn contains(&self, t: DateTime<Utc>, tz: Tz) -> bool {
        self.next_open(t, tz) == Some(t)
    }

    /// The federal hours as a window (08:00–21:00 every day).
    pub fn federal() -> CallingWindow {
        CallingWindow::default()
    }
}

/// The UTC instant of local `date` at `time` in `tz`: the earlier one in a repeated hour, the
/// first valid minute after it in a skipped hour.
pub fn local_instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = date.and_time(time);
    for minutes in 0..=180 {
        let candidate = naive + Duration::minutes(minutes);
        if let Some(dt) = tz.from_local_datetime(&candidate).earliest() {
            return dt.with_timezone(&Utc);
        }
    }
    // No zone skips more than three hours; fall back to reading the time as UTC.
    Utc.from_utc_datetime(&naive)
}

/// Start of the local day after the one containing `t`, in `tz` (UTC instant).
pub fn next_local_midnight(t: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let next = t.with_timezone(&tz).date_naive() + Duration::days(1);
    local_instant(tz, next, NaiveTime::MIN)
}
