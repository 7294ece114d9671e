//! US federal legal public holidays, computed from their rules (no table of dates), and the
//! observed-date rule.
//!
//! Source: 5 U.S.C. § 6103(a) (the list of legal public holidays, as amended in 2021 to add
//! Juneteenth) and § 6103(b) with Executive Order 11582 (a holiday falling on a Saturday is
//! observed on the Friday before, one falling on a Sunday on the Monday after).
//!
//! All dates are calendar dates ([`NaiveDate`]) with no time zone: a holiday is a whole local
//! day wherever the called party is. Inauguration Day (a holiday only in the Washington, D.C.
//! area, every fourth year) is not included.
//!
//! History is not modelled beyond Juneteenth: years before 2021 omit it, and every other
//! holiday is computed with today's rule for any year (before 1971 several were on fixed
//! dates, and the Birthday of Martin Luther King, Jr. dates from 1986).

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Name of New Year's Day (January 1).
pub const NEW_YEARS_DAY: &str = "New Year's Day";
/// Name of the third Monday in January.
pub const MLK_DAY: &str = "Birthday of Martin Luther King, Jr.";
/// Name of the third Monday in February.
pub const WASHINGTONS_BIRTHDAY: &str = "Washington's Birthday";
/// Name of the last Monday in May.
pub const MEMORIAL_DAY: &str = "Memorial Day";
/// Name of June 19 (since 2021).
pub const JUNETEENTH: &str = "Juneteenth National Independence Day";
/// Name of July 4.
pub const INDEPENDENCE_DAY: &str = "Independence Day";
/// Name of the first Monday in September.
pub const LABOR_DAY: &str = "Labor Day";
/// Name of the second Monday in October.
pub const COLUMBUS_DAY: &str = "Columbus Day";
/// Name of November 11.
pub const VETERANS_DAY: &str = "Veterans Day";
/// Name of the fourth Thursday in November.
pub const THANKSGIVING_DAY: &str = "Thanksgiving Day";
/// Name of December 25.
pub const CHRISTMAS_DAY: &str = "Christmas Day";

/// The first year Juneteenth is a legal public holiday (Pub. L. 117-17, June 17 2021).
pub const JUNETEENTH_SINCE: i32 = 2021;

/// The `n`-th (1-based) `weekday` of `month` in `year`, or `None` when the month has fewer
/// than `n` such weekdays, `n` is 0, or the date is outside chrono's range.
pub fn nth_weekday_of_month(year: i32, month: u32, weekday: Weekday, n: u8) -> Option<NaiveDate> {
    if n == 0 {
        return None;
    }
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let offset = (7 + weekday.num_days_from_monday() - first.weekday().num_days_from_monday()) % 7;
    let date = first + Duration::days(i64::from(offset) + 7 * (i64::from(n) - 1));
    (date.month() == month).then_some(date)
}

/// The last `weekday` of `month` in `year`, or `None` for an invalid month or a date outside
/// chrono's range.
pub fn last_weekday_of_month(year: i32, month: u32, weekday: Weekday) -> Option<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let last = first
        .checked_add_months(chrono::Months::new(1))?
        .pred_opt()?;
    let back = (7 + last.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
    Some(last - Duration::days(i64::from(back)))
}

/// The day on which a holiday falling on `date` is observed: the Friday before when `date`
/// is a Saturday, the Monday after when it is a Sunday, else `date` itself
/// (5 U.S.C. § 6103(b); Executive Order 11582). The result can fall in another year:
/// Saturday January 1 2022 was observed on Friday December 31 2021.
pub fn observed_date(date: NaiveDate) -> NaiveDate {
    match date.weekday() {
        Weekday::Sat => date - Duration::days(1),
        Weekday::Sun => date + Duration::days(1),
        _ => date,
    }
}

/// The US federal legal public holidays of `year` on their **actual** dates (not the
/// observed ones; see [`observed_date`]), in calendar order, with their names as written in
/// 5 U.S.C. § 6103(a). Juneteenth is listed from 2021 on.
pub fn federal_holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    use Weekday::{Mon, Thu};
    let fixed = |m, d| NaiveDate::from_ymd_opt(year, m, d);
    let candidates = [
        (fixed(1, 1), NEW_YEARS_DAY),
        (nth_weekday_of_month(year, 1, Mon, 3), MLK_DAY),
        (nth_weekday_of_month(year, 2, Mon, 3), WASHINGTONS_BIRTHDAY),
        (last_weekday_of_month(year, 5, Mon), MEMORIAL_DAY),
        (
            fixed(6, 19).filter(|_| year >= JUNETEENTH_SINCE),
            JUNETEENTH,
        ),
        (fixed(7, 4), INDEPENDENCE_DAY),
        (nth_weekday_of_month(year, 9, Mon, 1), LABOR_DAY),
        (nth_weekday_of_month(year, 10, Mon, 2), COLUMBUS_DAY),
        (fixed(11, 11), VETERANS_DAY),
        (nth_weekday_of_month(year, 11, Thu, 4), THANKSGIVING_DAY),
        (fixed(12, 25), CHRISTMAS_DAY),
    ];
    candidates
        .into_iter()
        .filter_map(|(date, name)| date.map(|d| (d, name)))
        .collect()
}

/// The name of the federal holiday that `date` is, matching **either** its actual date
/// **or** its observed date ([`observed_date`]); `None` when it is neither.
///
/// Both are matched on purpose: a calling ban "on holidays" is then honoured whichever day a
/// state or a called party treats as the holiday (the conservative reading). For example
/// both Saturday July 4 2026 and Friday July 3 2026 return `Some("Independence Day")`, and
/// Friday December 31 2021 returns `Some("New Year's Day")` (observed for January 1 2022).
pub fn is_federal_holiday(date: NaiveDate) -> Option<&'static str> {
    let year = date.year();
    // An observed date moves by one day at most, so only a holiday of the adjacent year
    // (New Year's Day) can spill into this one.
    [year - 1, year, year + 1]
        .into_iter()
        .flat_map(federal_holidays)
        .find(|&(actual, _)| actual == date || observed_date(actual) == date)
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// (year, name, actual (month, day), observed (year, month, day)), written out by hand
    /// from the calendar; `every_year_has_monday_holidays_on_mondays` cross-checks weekdays.
    type Row = (i32, &'static str, (u32, u32), (i32, u32, u32));

    const TABLE: &[Row] = &[
        // 2025
        (2025, NEW_YEARS_DAY, (1, 1), (2025, 1, 1)),
        (2025, MLK_DAY, (1, 20), (2025, 1, 20)),
        (2025, WASHINGTONS_BIRTHDAY, (2, 17), (2025, 2, 17)),
        (2025, MEMORIAL_DAY, (5, 26), (2025, 5, 26)),
        (2025, JUNETEENTH, (6, 19), (2025, 6, 19)),
        (2025, INDEPENDENCE_DAY, (7, 4), (2025, 7, 4)),
        (2025, LABOR_DAY, (9, 1), (2025, 9, 1)),
        (2025, COLUMBUS_DAY, (10, 13), (2025, 10, 13)),
        (2025, VETERANS_DAY, (11, 11), (2025, 11, 11)),
        (2025, THANKSGIVING_DAY, (11, 27), (2025, 11, 27)),
        (2025, CHRISTMAS_DAY, (12, 25), (2025, 12, 25)),
        // 2026
        (2026, NEW_YEARS_DAY, (1, 1), (2026, 1, 1)),
        (2026, MLK_DAY, (1, 19), (2026, 1, 19)),
        (2026, WASHINGTONS_BIRTHDAY, (2, 16), (2026, 2, 16)),
        (2026, MEMORIAL_DAY, (5, 25), (2026, 5, 25)),
        (2026, JUNETEENTH, (6, 19), (2026, 6, 19)),
        // Saturday → Friday July 3.
        (2026, INDEPENDENCE_DAY, (7, 4), (2026, 7, 3)),
        (2026, LABOR_DAY, (9, 7), (2026, 9, 7)),
        (2026, COLUMBUS_DAY, (10, 12), (2026, 10, 12)),
        (2026, VETERANS_DAY, (11, 11), (2026, 11, 11)),
        (2026, THANKSGIVING_DAY, (11, 26), (2026, 11, 26)),
        (2026, CHRISTMAS_DAY, (12, 25), (2026, 12, 25)),
        // 2027
        (2027, NEW_YEARS_DAY, (1, 1), (2027, 1, 1)),
        (2027, MLK_DAY, (1, 18), (2027, 1, 18)),
        (2027, WASHINGTONS_BIRTHDAY, (2, 15), (2027, 2, 15)),
        (2027, MEMORIAL_DAY, (5, 31), (2027, 5, 31)),
        // Saturday → Friday June 18.
        (2027, JUNETEENTH, (6, 19), (2027, 6, 18)),
        // Sunday → Monday July 5.
        (2027, INDEPENDENCE_DAY, (7, 4), (2027, 7, 5)),
        (2027, LABOR_DAY, (9, 6), (2027, 9, 6)),
        (2027, COLUMBUS_DAY, (10, 11), (2027, 10, 11)),
        (2027, VETERANS_DAY, (11, 11), (2027, 11, 11)),
        (2027, THANKSGIVING_DAY, (11, 25), (2027, 11, 25)),
        // Saturday → Friday December 24.
        (2027, CHRISTMAS_DAY, (12, 25), (2027, 12, 24)),
    ];

    #[test]
    fn federal_holidays_2025_to_2027() {
        for year in [2025, 2026, 2027] {
            let want: Vec<(NaiveDate, &str)> = TABLE
                .iter()
                .filter(|row| row.0 == year)
                .map(|&(y, name, (m, day), _)| (d(y, m, day), name))
                .collect();
            assert_eq!(federal_holidays(year), want, "{year}");
        }
    }

    #[test]
    fn observed_dates_2025_to_2027() {
        for &(y, name, (m, day), (oy, om, od)) in TABLE {
            let actual = d(y, m, day);
            let observed = d(oy, om, od);
            assert_eq!(observed_date(actual), observed, "{name} {y}");
            assert_eq!(is_federal_holiday(actual), Some(name), "{name} {y} actual");
            assert_eq!(
                is_federal_holiday(observed),
                Some(name),
                "{name} {y} observed"
            );
        }
    }

    #[test]
    fn named_examples() {
        assert_eq!(is_federal_holiday(d(2026, 11, 26)), Some(THANKSGIVING_DAY));
        assert_eq!(is_federal_holiday(d(2026, 5, 25)), Some(MEMORIAL_DAY));
        assert_eq!(observed_date(d(2027, 6, 19)), d(2027, 6, 18));
        assert_eq!(d(2027, 6, 18).weekday(), Weekday::Fri);
        assert_eq!(is_federal_holiday(d(2027, 6, 18)), Some(JUNETEENTH));
    }

    #[test]
    fn observed_new_year_spills_into_previous_year() {
        // January 1 2022 was a Saturday: observed Friday December 31 2021.
        assert_eq!(observed_date(d(2022, 1, 1)), d(2021, 12, 31));
        assert_eq!(is_federal_holiday(d(2021, 12, 31)), Some(NEW_YEARS_DAY));
        // January 1 2023 was a Sunday: observed Monday January 2.
        assert_eq!(is_federal_holiday(d(2023, 1, 2)), Some(NEW_YEARS_DAY));
    }

    #[test]
    fn ordinary_days_are_not_holidays() {
        for date in [
            d(2026, 11, 27), // day after Thanksgiving
            d(2026, 7, 5),   // Sunday after observed Independence Day
            d(2026, 12, 24),
            d(2026, 3, 17),
            d(2025, 12, 31), // Jan 1 2026 is a Thursday: nothing observed here
        ] {
            assert_eq!(is_federal_holiday(date), None, "{date}");
        }
    }

    #[test]
    fn juneteenth_only_from_2021() {
        assert!(federal_holidays(2020).iter().all(|&(_, n)| n != JUNETEENTH));
        assert_eq!(federal_holidays(2020).len(), 10);
        assert_eq!(federal_holidays(2021).len(), 11);
        assert_eq!(is_federal_holiday(d(2020, 6, 19)), None);
    }

    #[test]
    fn weekday_helpers() {
        use Weekday::*;
        assert_eq!(
            nth_weekday_of_month(2026, 11, Thu, 4),
            Some(d(2026, 11, 26))
        );
        assert_eq!(nth_weekday_of_month(2026, 11, Thu, 5), None);
        assert_eq!(
            nth_weekday_of_month(2026, 10, Thu, 5),
            Some(d(2026, 10, 29))
        );
        assert_eq!(nth_weekday_of_month(2026, 1, Mon, 0), None);
        assert_eq!(nth_weekday_of_month(2026, 13, Mon, 1), None);
        assert_eq!(last_weekday_of_month(2026, 5, Mon), Some(d(2026, 5, 25)));
        assert_eq!(last_weekday_of_month(2026, 12, Thu), Some(d(2026, 12, 31)));
        assert_eq!(last_weekday_of_month(2024, 2, Thu), Some(d(2024, 2, 29)));
    }

    #[test]
    fn every_year_has_monday_holidays_on_mondays() {
        for year in 1990..2100 {
            let hs = federal_holidays(year);
            assert_eq!(hs.len(), if year >= 2021 { 11 } else { 10 });
            for (date, name) in hs {
                assert_eq!(date.year(), year);
                let want = match name {
                    MLK_DAY | WASHINGTONS_BIRTHDAY | MEMORIAL_DAY | LABOR_DAY | COLUMBUS_DAY => {
                        Some(Weekday::Mon)
                    }
                    THANKSGIVING_DAY => Some(Weekday::Thu),
                    _ => None,
                };
                if let Some(w) = want {
                    assert_eq!(date.weekday(), w, "{name} {year}");
                }
                let obs = observed_date(date);
                assert!(!matches!(obs.weekday(), Weekday::Sat | Weekday::Sun));
            }
        }
    }
}
