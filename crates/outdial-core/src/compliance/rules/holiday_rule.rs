//! The holiday rules of a state's file: a fixed date or the n-th weekday of a month.

use chrono::{Datelike, NaiveDate, Weekday};

use super::holidays;

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
