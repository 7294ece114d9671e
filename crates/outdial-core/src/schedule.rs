//! When a lead may be called: candidate time zones, calling windows, the per-local-day cap
//! and the redial policy. Together they decide `next_attempt_at`.
//!
//! All instants are UTC ([`DateTime<Utc>`]); windows are in the called party's local time, in
//! every candidate zone at once: a call is allowed only when it is allowed in each of them.
//! Daylight-saving changes are handled by `chrono-tz` (IANA tz database): a window edge that
//! falls into a skipped hour opens at the first valid local minute after it; one that falls
//! into a repeated hour uses the earlier instant.
//!
//! Federal calling hours are 08:00–21:00 in the called party's local time
//! (47 CFR § 64.1200(c)(1)); that is the default [`CallingWindow`].

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::disposition::{Disposition, DispositionCatalog};

/// A daily window in local time, `[start, end)`, on the listed weekdays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallingWindow {
    /// Local opening time (inclusive).
    pub start: NaiveTime,
    /// Local closing time (exclusive).
    pub end: NaiveTime,
    /// Weekdays on which the window opens.
    pub days: Vec<Weekday>,
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
        }
    }
}

impl CallingWindow {
    /// Errors when `start` is not before `end` or no weekday is listed.
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
        Ok(())
    }

    /// The earliest instant `>= t` inside the window in zone `tz`, or `None` when the window
    /// never opens (no weekday) within eight days.
    pub fn next_open(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let local_date = t.with_timezone(&tz).date_naive();
        for d in 0..=8 {
            let day = local_date + Duration::days(d);
            if !self.days.contains(&day.weekday()) {
                continue;
            }
            let open = local_instant(tz, day, self.start);
            let close = local_instant(tz, day, self.end);
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

/// The redial policy of a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedialPolicy {
    /// Progressive intervals in minutes: the n-th attempt (1-based) waits `intervals_min[n-1]`
    /// minutes after the previous attempt ended; past the end of the list the last value
    /// repeats. Default `[0, 2, 5, 10, 30, 60, 120]`.
    pub intervals_min: Vec<u32>,
    /// Most attempts per lead per local day (every candidate zone's day). Default 8.
    pub max_per_local_day: u32,
    /// Most attempts per lead in total; `None` redials until a terminal disposition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_total: Option<u32>,
}

impl Default for RedialPolicy {
    fn default() -> Self {
        RedialPolicy {
            intervals_min: vec![0, 2, 5, 10, 30, 60, 120],
            max_per_local_day: 8,
            max_total: None,
        }
    }
}

impl RedialPolicy {
    /// Errors when the interval list is empty or the daily cap is zero.
    pub fn validate(&self) -> Result<(), String> {
        if self.intervals_min.is_empty() {
            return Err("redial.intervals_min is empty".into());
        }
        if self.max_per_local_day == 0 {
            return Err("redial.max_per_local_day must be at least 1".into());
        }
        if self.max_total == Some(0) {
            return Err("redial.max_total must be at least 1 when set".into());
        }
        Ok(())
    }

    /// Delay before attempt number `n` (1-based; `n = 1` is the first dial).
    pub fn delay_before(&self, n: u32) -> Duration {
        let idx = (n.max(1) - 1) as usize;
        let minutes = self
            .intervals_min
            .get(idx)
            .or(self.intervals_min.last())
            .copied()
            .unwrap_or(0);
        Duration::minutes(i64::from(minutes))
    }
}

/// IANA zones a US state or Canadian province spans (two-letter code, upper case).
/// Multi-zone states list every zone. Source: IANA tz database `zone1970.tab` comments and
/// the US DOT time-zone boundaries (49 CFR part 71).
pub fn region_time_zones(state: &str) -> &'static [Tz] {
    use chrono_tz::America::*;
    use chrono_tz::Pacific::Honolulu;
    match state {
        "CT" | "DE" | "DC" | "GA" | "ME" | "MD" | "MA" | "NH" | "NJ" | "NY" | "NC" | "OH"
        | "PA" | "RI" | "SC" | "VT" | "VA" | "WV" => &[New_York],
        "MI" => &[Detroit, Chicago],
        "IN" => &[Indiana::Indianapolis, Chicago],
        "FL" => &[New_York, Chicago],
        "KY" => &[New_York, Chicago],
        "TN" => &[New_York, Chicago],
        "AL" | "AR" | "IL" | "IA" | "LA" | "MN" | "MS" | "MO" | "OK" | "WI" => &[Chicago],
        "KS" | "NE" | "ND" | "SD" | "TX" => &[Chicago, Denver],
        "CO" | "MT" | "NM" | "UT" | "WY" => &[Denver],
        "ID" => &[Boise, Los_Angeles],
        "OR" => &[Los_Angeles, Boise],
        "AZ" => &[Phoenix],
        "CA" | "WA" | "NV" => &[Los_Angeles],
        "AK" => &[Anchorage],
        "HI" => &[Honolulu],
        "PR" | "VI" => &[Puerto_Rico],
        "ON" | "QC" => &[Toronto],
        "BC" => &[Vancouver],
        "AB" => &[Edmonton],
        "MB" => &[Winnipeg],
        "SK" => &[Regina],
        "NS" | "NB" | "PE" => &[Halifax],
        "NL" => &[St_Johns],
        _ => &[],
    }
}

/// A lead's candidate time zones: the explicit zone alone when given; else the zones of its
/// state; else the campaign's fallback zone; else none (the lead is not dialable).
pub fn candidate_zones(explicit: Option<Tz>, state: Option<&str>, fallback: Option<Tz>) -> Vec<Tz> {
    if let Some(tz) = explicit {
        return vec![tz];
    }
    if let Some(st) = state {
        let zones = region_time_zones(&st.trim().to_ascii_uppercase());
        if !zones.is_empty() {
            return zones.to_vec();
        }
    }
    fallback.into_iter().collect()
}

/// Why a lead may not be dialed at an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Block {
    /// No candidate time zone: the lead has no explicit zone, no known state, and the
    /// campaign sets no fallback zone.
    NoTimeZone,
    /// Outside the calling window in this zone.
    OutsideWindow {
        /// The zone whose window is closed.
        zone: Tz,
    },
    /// The per-local-day cap is reached in this zone's day.
    DailyCap {
        /// The zone whose local day is full.
        zone: Tz,
        /// Attempts already in that local day.
        count: u32,
        /// The cap.
        limit: u32,
    },
    /// The total cap is reached.
    TotalCap {
        /// Attempts so far.
        count: u32,
        /// The cap.
        limit: u32,
    },
    /// The window never opens (no weekday), or no allowed instant exists within a year.
    NeverOpen,
}

impl std::fmt::Display for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Block::NoTimeZone => f.write_str("no time zone known for the lead (no explicit zone, no known state, no campaign fallback)"),
            Block::OutsideWindow { zone } => write!(f, "outside the calling window in {zone}"),
            Block::DailyCap { zone, count, limit } => {
                write!(f, "daily cap reached in {zone}: {count} of {limit} attempts this local day")
            }
            Block::TotalCap { count, limit } => write!(f, "total cap reached: {count} of {limit} attempts"),
            Block::NeverOpen => f.write_str("no allowed instant within a year"),
        }
    }
}

/// Everything the rules need to know about one lead at one moment.
#[derive(Debug, Clone)]
pub struct LeadRules<'a> {
    /// Candidate zones (see [`candidate_zones`]).
    pub zones: &'a [Tz],
    /// The campaign's calling window.
    pub window: &'a CallingWindow,
    /// The campaign's redial policy (caps).
    pub policy: &'a RedialPolicy,
    /// Start instants (UTC) of the lead's attempts that count against caps: every attempt
    /// except those rejected or proven never placed, including in-flight and unknown ones.
    pub history: &'a [DateTime<Utc>],
}

impl LeadRules<'_> {
    /// Every rule that blocks a dial at `t`; empty means allowed.
    pub fn blocks_at(&self, t: DateTime<Utc>) -> Vec<Block> {
        let mut out = Vec::new();
        if self.zones.is_empty() {
            out.push(Block::NoTimeZone);
            return out;
        }
        if let Some(limit) = self.policy.max_total {
            let count = self.history.len() as u32;
            if count >= limit {
                out.push(Block::TotalCap { count, limit });
            }
        }
        for &zone in self.zones {
            if !self.window.contains(t, zone) {
                out.push(Block::OutsideWindow { zone });
            }
            let count = self.count_in_local_day(t, zone);
            if count >= self.policy.max_per_local_day {
                out.push(Block::DailyCap {
                    zone,
                    count,
                    limit: self.policy.max_per_local_day,
                });
            }
        }
        out
    }

    fn count_in_local_day(&self, t: DateTime<Utc>, zone: Tz) -> u32 {
        let day = t.with_timezone(&zone).date_naive();
        self.history
            .iter()
            .filter(|h| h.with_timezone(&zone).date_naive() == day)
            .count() as u32
    }

    /// The earliest instant `>= from` at which no rule blocks, or the rule that makes every
    /// instant within 366 days blocked ([`Block::NoTimeZone`], [`Block::TotalCap`],
    /// [`Block::NeverOpen`]).
    pub fn next_allowed(&self, from: DateTime<Utc>) -> Result<DateTime<Utc>, Block> {
        if self.zones.is_empty() {
            return Err(Block::NoTimeZone);
        }
        if let Some(limit) = self.policy.max_total {
            let count = self.history.len() as u32;
            if count >= limit {
                return Err(Block::TotalCap { count, limit });
            }
        }
        let horizon = from + Duration::days(366);
        let mut t = from;
        // Each pass moves t forward to satisfy one zone's window or daily cap; a pass that
        // moves nothing means every rule holds. Each move is at least to the next window
        // opening, so the loop ends within the horizon.
        while t <= horizon {
            let mut moved = false;
            for &zone in self.zones {
                let open = self.window.next_open(t, zone).ok_or(Block::NeverOpen)?;
                if open > t {
                    t = open;
                    moved = true;
                }
                if self.count_in_local_day(t, zone) >= self.policy.max_per_local_day {
                    t = next_local_midnight(t, zone);
                    moved = true;
                }
            }
            if !moved {
                return Ok(t);
            }
        }
        Err(Block::NeverOpen)
    }
}

/// What becomes of a lead once an attempt is concluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum LeadDecision {
    /// Dial again at `at` (UTC).
    Redial {
        /// Next attempt time.
        at: DateTime<Utc>,
    },
    /// Finished for good.
    Done {
        /// Why, for operators.
        reason: String,
    },
    /// Not dialable until an operator acts (no time zone, window never opens).
    Park {
        /// Why, for operators.
        reason: String,
    },
}

/// Decides a lead's fate after an attempt ended with `disposition` at `ended_at`.
///
/// `rules.history` must already include the attempt just concluded. `callback_at`, when the
/// disposition asks for a callback, is honoured, or moved to the next allowed instant.
/// Terminal dispositions end the lead; reaching `max_total` ends it; otherwise the next
/// attempt waits the policy's interval and then the first instant every rule allows.
pub fn decide_after_attempt(
    catalog: &DispositionCatalog,
    rules: &LeadRules<'_>,
    disposition: &Disposition,
    ended_at: DateTime<Utc>,
    callback_at: Option<DateTime<Utc>>,
) -> LeadDecision {
    let flags = catalog.flags(disposition);
    if flags.terminal {
        return LeadDecision::Done {
            reason: format!("terminal disposition {disposition}"),
        };
    }
    let attempts = rules.history.len() as u32;
    let earliest = match callback_at.filter(|_| flags.callback) {
        Some(cb) => cb.max(ended_at),
        None => ended_at + rules.policy.delay_before(attempts + 1),
    };
    match rules.next_allowed(earliest) {
        Ok(at) => LeadDecision::Redial { at },
        Err(Block::TotalCap { count, limit }) => LeadDecision::Done {
            reason: format!(
                "attempt limit reached ({count} of {limit}), last disposition {disposition}"
            ),
        },
        Err(block) => LeadDecision::Park {
            reason: block.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::{Los_Angeles, New_York, Phoenix};
    use proptest::prelude::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn rules<'a>(
        zones: &'a [Tz],
        window: &'a CallingWindow,
        policy: &'a RedialPolicy,
        history: &'a [DateTime<Utc>],
    ) -> LeadRules<'a> {
        LeadRules {
            zones,
            window,
            policy,
            history,
        }
    }

    #[test]
    fn window_table() {
        let w = CallingWindow::default();
        let check = |at: &str, tz: Tz, want: &str| {
            assert_eq!(w.next_open(utc(at), tz), Some(utc(want)), "{at} in {tz}");
        };
        // 07:00 EST → 08:00 EST.
        check("2026-01-15T12:00:00Z", New_York, "2026-01-15T13:00:00Z");
        // 12:00 EST → now.
        check("2026-01-15T17:00:00Z", New_York, "2026-01-15T17:00:00Z");
        // 21:00 EST exactly is closed → next day 08:00.
        check("2026-01-16T02:00:00Z", New_York, "2026-01-16T13:00:00Z");
        // Summer: 08:00 EDT is 12:00Z.
        check("2026-07-15T11:59:00Z", New_York, "2026-07-15T12:00:00Z");
        // Arizona has no DST: 08:00 MST is 15:00Z all year.
        check("2026-07-15T14:00:00Z", Phoenix, "2026-07-15T15:00:00Z");
    }

    #[test]
    fn window_edges_across_dst() {
        // A window opening at 02:30 on the spring-forward day (2026-03-08 in New York) opens
        // at 03:00 EDT, the first valid local minute after the skipped half hour.
        let w = CallingWindow {
            start: NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
            end: NaiveTime::from_hms_opt(4, 0, 0).unwrap(),
            days: CallingWindow::default().days,
        };
        assert_eq!(
            w.next_open(utc("2026-03-08T05:00:00Z"), New_York),
            Some(utc("2026-03-08T07:00:00Z"))
        );
        // In the repeated hour (2026-11-01 01:30 occurs twice), the earlier instant is used.
        let w2 = CallingWindow {
            start: NaiveTime::from_hms_opt(1, 30, 0).unwrap(),
            end: NaiveTime::from_hms_opt(3, 0, 0).unwrap(),
            days: CallingWindow::default().days,
        };
        assert_eq!(
            w2.next_open(utc("2026-11-01T04:00:00Z"), New_York),
            Some(utc("2026-11-01T05:30:00Z"))
        );
    }

    #[test]
    fn every_candidate_zone_must_allow() {
        let w = CallingWindow::default();
        let p = RedialPolicy::default();
        let zones = [New_York, Los_Angeles];
        let r = rules(&zones, &w, &p, &[]);
        // 12:30Z is 07:30 EST and 04:30 PST: the later opening (08:00 PST = 16:00Z) wins.
        assert_eq!(
            r.next_allowed(utc("2026-01-15T12:30:00Z")),
            Ok(utc("2026-01-15T16:00:00Z"))
        );
        // 02:30Z on the 16th is 21:30 EST: New York has closed although LA is open.
        let b = r.blocks_at(utc("2026-01-16T02:30:00Z"));
        assert_eq!(b, vec![Block::OutsideWindow { zone: New_York }]);
    }

    #[test]
    fn daily_cap_moves_to_next_local_day() {
        let w = CallingWindow::default();
        let p = RedialPolicy {
            max_per_local_day: 2,
            ..RedialPolicy::default()
        };
        let history = [utc("2026-01-15T14:00:00Z"), utc("2026-01-15T15:00:00Z")];
        let zones = [New_York];
        let r = rules(&zones, &w, &p, &history);
        assert_eq!(
            r.next_allowed(utc("2026-01-15T16:00:00Z")),
            Ok(utc("2026-01-16T13:00:00Z"))
        );
    }

    #[test]
    fn no_zone_is_not_dialable() {
        let w = CallingWindow::default();
        let p = RedialPolicy::default();
        let r = rules(&[], &w, &p, &[]);
        assert_eq!(
            r.next_allowed(utc("2026-01-15T16:00:00Z")),
            Err(Block::NoTimeZone)
        );
        assert_eq!(candidate_zones(None, Some("zz"), None), Vec::<Tz>::new());
        assert_eq!(candidate_zones(None, Some("az"), None), vec![Phoenix]);
        assert_eq!(
            candidate_zones(Some(New_York), Some("AZ"), None),
            vec![New_York]
        );
    }

    #[test]
    fn progressive_intervals_and_terminals() {
        let p = RedialPolicy::default();
        let got: Vec<i64> = (1..=9).map(|n| p.delay_before(n).num_minutes()).collect();
        assert_eq!(got, [0, 2, 5, 10, 30, 60, 120, 120, 120]);

        let catalog = DispositionCatalog::default();
        let w = CallingWindow::default();
        let zones = [New_York];
        let history = [utc("2026-01-15T15:00:00Z")];
        let r = rules(&zones, &w, &p, &history);
        let busy = catalog.resolve("BUSY").unwrap();
        assert_eq!(
            decide_after_attempt(&catalog, &r, &busy, utc("2026-01-15T15:01:00Z"), None),
            LeadDecision::Redial {
                at: utc("2026-01-15T15:03:00Z")
            }
        );
        let sale = catalog.resolve("SALE").unwrap();
        assert!(matches!(
            decide_after_attempt(&catalog, &r, &sale, utc("2026-01-15T15:01:00Z"), None),
            LeadDecision::Done { .. }
        ));
        let cb = catalog.resolve("CALLBACK").unwrap();
        // A callback requested for 22:00 EST is moved to 08:00 the next morning.
        assert_eq!(
            decide_after_attempt(
                &catalog,
                &r,
                &cb,
                utc("2026-01-15T15:01:00Z"),
                Some(utc("2026-01-16T03:00:00Z"))
            ),
            LeadDecision::Redial {
                at: utc("2026-01-16T13:00:00Z")
            }
        );
    }

    #[test]
    fn total_cap_ends_the_lead() {
        let catalog = DispositionCatalog::default();
        let w = CallingWindow::default();
        let p = RedialPolicy {
            max_total: Some(1),
            ..RedialPolicy::default()
        };
        let zones = [New_York];
        let history = [utc("2026-01-15T15:00:00Z")];
        let r = rules(&zones, &w, &p, &history);
        let na = catalog.resolve("NO_ANSWER").unwrap();
        assert!(matches!(
            decide_after_attempt(&catalog, &r, &na, utc("2026-01-15T15:01:00Z"), None),
            LeadDecision::Done { .. }
        ));
    }

    proptest! {
        /// next_allowed never returns a blocked instant, and no earlier whole minute is allowed.
        #[test]
        fn next_allowed_is_allowed_and_earliest(
            start_s in 1_700_000_000i64..1_800_000_000i64,
            zone_pick in proptest::collection::vec(0usize..5, 1..3),
            cap in 1u32..4,
            hist_offsets in proptest::collection::vec(-86_400i64..86_400, 0..6),
        ) {
            let all = [New_York, Los_Angeles, Phoenix, chrono_tz::Pacific::Honolulu, chrono_tz::America::Chicago];
            let zones: Vec<Tz> = zone_pick.iter().map(|&i| all[i]).collect();
            let from = DateTime::from_timestamp(start_s, 0).unwrap();
            let history: Vec<_> = hist_offsets.iter().map(|o| from + Duration::seconds(*o)).collect();
            let w = CallingWindow::default();
            let p = RedialPolicy { max_per_local_day: cap, ..RedialPolicy::default() };
            let r = rules(&zones, &w, &p, &history);
            let at = r.next_allowed(from).unwrap();
            prop_assert!(at >= from);
            prop_assert!(r.blocks_at(at).is_empty(), "blocked at {at}: {:?}", r.blocks_at(at));
            let mut probe = from;
            while probe + Duration::minutes(1) < at {
                prop_assert!(!r.blocks_at(probe).is_empty(), "{probe} allowed before {at}");
                probe += Duration::minutes(15);
            }
        }
    }
}
