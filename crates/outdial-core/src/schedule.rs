//! When a lead may be called: candidate time zones and states, the federal hours, campaign
//! windows, state rules, holidays and blackout dates, caps, and the redial policy. Together
//! they decide `next_attempt_at`, and the same rules are checked again at dial time.
//!
//! All instants are UTC ([`DateTime<Utc>`]); windows are in the called party's local time, in
//! every candidate zone at once: a call is allowed only when it is allowed in each of them and
//! under the rules of every candidate state. Daylight-saving changes are handled by
//! `chrono-tz` (IANA tz database): a window edge that falls into a skipped hour opens at the
//! first valid local minute after it; one that falls into a repeated hour uses the earlier
//! instant.
//!
//! Federal calling hours are 08:00–21:00 in the called party's local time
//! (47 CFR § 64.1200(c)(1)); they always apply, whatever the campaign window says.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::campaign::CampaignSettings;
use crate::compliance::{self, StateBlock, StateRules};
use crate::disposition::{Disposition, DispositionCatalog};
use crate::phone::E164;

/// Source of the federal calling hours.
pub const FEDERAL_HOURS_SOURCE: &str =
    "47 CFR 64.1200(c)(1) (TCPA): 08:00-21:00 called party's local time";
/// Source of the seven-calls-in-seven-days presumption.
pub const REG_F_SOURCE: &str =
    "12 CFR 1006.14(b)(2)(i) (Regulation F): 7 calls within 7 consecutive days";

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

/// A delay that applies to some dispositions on some attempt numbers (Convoso-style
/// workflow dialing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedialRule {
    /// Dispositions the rule applies to.
    pub dispositions: Vec<Disposition>,
    /// First attempt number (1-based, of the attempt just ended) the rule applies to.
    #[serde(default = "one")]
    pub from_attempt: u32,
    /// Last attempt number it applies to; `None` for no end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_attempt: Option<u32>,
    /// Delay before the next attempt, minutes.
    pub delay_min: u32,
}

fn one() -> u32 {
    1
}

/// What to do when the same no-contact outcome repeats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum RepeatAction {
    /// End the lead as `BAD_NUMBER`.
    BadNumber,
    /// Wait this many days before the next attempt.
    ParkDays {
        /// Days.
        days: u32,
    },
}

/// A rule for numbers that are busy or fail again and again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepeatLimit {
    /// Dispositions that count (default `BUSY`, `FAILED`).
    pub dispositions: Vec<Disposition>,
    /// How many in a row (the last attempts of the lead) trigger the action.
    pub in_a_row: u32,
    /// The action.
    #[serde(flatten)]
    pub action: RepeatAction,
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
    /// Delays per (disposition, attempt-number range); the first matching rule wins over
    /// `intervals_min`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RedialRule>,
    /// Rule for repeated busy / failed outcomes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_limit: Option<RepeatLimit>,
}

impl Default for RedialPolicy {
    fn default() -> Self {
        RedialPolicy {
            intervals_min: vec![0, 2, 5, 10, 30, 60, 120],
            max_per_local_day: 8,
            max_total: None,
            rules: Vec::new(),
            repeat_limit: None,
        }
    }
}

impl RedialPolicy {
    /// Errors when the interval list is empty, a cap is zero, or a rule is inconsistent.
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
        for (i, r) in self.rules.iter().enumerate() {
            if r.dispositions.is_empty() {
                return Err(format!("redial.rules[{i}] lists no disposition"));
            }
            if r.from_attempt == 0 || r.to_attempt.is_some_and(|t| t < r.from_attempt) {
                return Err(format!(
                    "redial.rules[{i}]: attempts must be 1-based and from <= to"
                ));
            }
        }
        if let Some(r) = &self.repeat_limit {
            if r.in_a_row < 2 || r.dispositions.is_empty() {
                return Err(
                    "redial.repeat_limit needs in_a_row >= 2 and at least one disposition".into(),
                );
            }
        }
        Ok(())
    }

    /// Delay before attempt number `n` (1-based; `n = 1` is the first dial) by the
    /// progressive intervals.
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

    /// Delay after attempt number `ended` (1-based) ended with `disposition`: the first
    /// matching [`RedialRule`], else the progressive interval before attempt `ended + 1`.
    pub fn delay_after(&self, ended: u32, disposition: &Disposition) -> Duration {
        self.rules
            .iter()
            .find(|r| {
                r.dispositions.contains(disposition)
                    && ended >= r.from_attempt
                    && r.to_attempt.is_none_or(|t| ended <= t)
            })
            .map_or_else(
                || self.delay_before(ended + 1),
                |r| Duration::minutes(i64::from(r.delay_min)),
            )
    }
}

/// Caps on one phone number, across campaigns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberCaps {
    /// Most calls to the number in any rolling 24 hours, across campaigns (on top of any state
    /// cap such as Florida's 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_number_24h: Option<u32>,
    /// Regulation F mode: at most 7 calls to the lead in any 7 consecutive days.
    #[serde(default)]
    pub reg_f_7_in_7: bool,
    /// Least time between two calls to the number, minutes (any campaign).
    #[serde(default)]
    pub min_gap_min: u32,
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
        "AK" => &[Anchorage, Adak],
        "HI" => &[Honolulu],
        "PR" | "VI" => &[Puerto_Rico],
        "ON" | "QC" => &[Toronto],
        "BC" => &[Vancouver],
        "AB" => &[Edmonton],
        "MB" => &[Winnipeg],
        "SK" => &[Regina],
        "NS" | "NB" | "PE" => &[Halifax],
        "NL" => &[St_Johns],
        "YT" => &[Whitehorse],
        "NT" => &[Yellowknife],
        "NU" => &[Iqaluit, Winnipeg, Cambridge_Bay],
        "GU" | "MP" => &[chrono_tz::Pacific::Guam],
        "AS" => &[chrono_tz::Pacific::Pago_Pago],
        _ => &[],
    }
}

/// Where a lead may be: its candidate time zones and states.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Whereabouts {
    /// Candidate IANA zones; a call must be allowed in each.
    pub zones: Vec<Tz>,
    /// Candidate states or provinces (two letters); each one's rules apply.
    pub states: Vec<String>,
    /// Where the zones came from, for `explain`.
    pub zone_source: String,
}

/// A lead's candidate zones and states.
///
/// Zones: the explicit lead zone alone when given; else the zones of the number's NPA-NXX
/// (libphonenumber's data, [`crate::nanp::time_zones`]) together with the zones of the lead's
/// state; else the campaign's fallback zone; else none (the lead is not dialable).
/// States: the lead's own state and the state of the number's area code
/// ([`crate::nanp::region`]); Florida and Oklahoma presume the called party's location from
/// the area code, so both apply.
pub fn whereabouts(
    phone: &E164,
    explicit: Option<Tz>,
    state: Option<&str>,
    fallback: Option<Tz>,
) -> Whereabouts {
    let lead_state = state
        .map(|s| s.trim().to_ascii_uppercase())
        .filter(|s| !s.is_empty());
    let mut states: Vec<String> = lead_state.iter().cloned().collect();
    if let Some(r) = crate::nanp::region(phone) {
        if !states.iter().any(|s| s == r) {
            states.push(r.to_owned());
        }
    }
    if let Some(tz) = explicit {
        return Whereabouts {
            zones: vec![tz],
            states,
            zone_source: "lead time zone".into(),
        };
    }
    let mut zones: Vec<Tz> = crate::nanp::time_zones(phone).to_vec();
    let mut sources = Vec::new();
    if !zones.is_empty() {
        sources.push("number prefix (libphonenumber)");
    }
    if let Some(st) = &lead_state {
        let extra = region_time_zones(st);
        if !extra.is_empty() {
            sources.push("lead state");
        }
        for z in extra {
            if !zones.contains(z) {
                zones.push(*z);
            }
        }
    }
    if zones.is_empty() {
        if let Some(f) = fallback {
            zones.push(f);
            sources.push("campaign fallback zone");
        }
    }
    Whereabouts {
        zones,
        states,
        zone_source: sources.join(" + "),
    }
}

/// A lead's candidate time zones from an explicit zone, a state and a fallback only (no
/// number): see [`whereabouts`] for the full resolution.
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

/// Why a lead may not be dialed at an instant. [`Block::source`] names the rule's source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Block {
    /// No candidate time zone: no explicit zone, no zone for the number or the state, and
    /// the campaign sets no fallback zone.
    NoTimeZone,
    /// Outside the federal hours (08:00–21:00) in this zone.
    FederalHours {
        /// The zone.
        zone: Tz,
    },
    /// Outside the campaign's calling window in this zone.
    OutsideWindow {
        /// The zone whose window is closed.
        zone: Tz,
    },
    /// A state rule blocks the call in this zone's local time.
    State {
        /// The zone whose local time was checked.
        zone: Tz,
        /// The state rule.
        block: StateBlock,
    },
    /// A US federal holiday and the campaign does not call on them.
    FederalHoliday {
        /// The zone whose local date is the holiday.
        zone: Tz,
        /// The holiday.
        name: String,
    },
    /// A campaign blackout date.
    Blackout {
        /// The zone whose local date is blacked out.
        zone: Tz,
        /// The date.
        date: NaiveDate,
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
    /// A rolling cap on the number (state or campaign) is reached.
    RollingCap {
        /// Calls to the number within the window.
        count: u32,
        /// The cap.
        limit: u32,
        /// The window, hours.
        hours: u32,
        /// Where the cap comes from.
        source: String,
    },
    /// Regulation F's 7 calls in 7 days is reached for this lead.
    SevenInSeven {
        /// Calls in the last 7 days.
        count: u32,
    },
    /// Too soon after the last call to the number.
    MinGap {
        /// The last call, UTC.
        last: DateTime<Utc>,
        /// The gap, minutes.
        gap_min: u32,
    },
    /// The number is on a do-not-call list.
    Dnc {
        /// Which lists.
        lists: Vec<String>,
    },
    /// No allowed instant within a year (a window that never opens, rules that never agree).
    NeverOpen,
}

impl Block {
    /// Where the rule comes from (statute, data file entry, campaign setting).
    pub fn source(&self) -> String {
        match self {
            Block::NoTimeZone => {
                "outdial: a lead is dialed only when its local time is known".into()
            }
            Block::FederalHours { .. } => FEDERAL_HOURS_SOURCE.into(),
            Block::OutsideWindow { .. } => "campaign calling_window".into(),
            Block::State { block, .. } => block.source.clone(),
            Block::FederalHoliday { .. } => {
                "campaign no_calls_on_federal_holidays; 5 U.S.C. 6103".into()
            }
            Block::Blackout { .. } => "campaign blackout_dates".into(),
            Block::DailyCap { .. } => "campaign redial.max_per_local_day".into(),
            Block::TotalCap { .. } => "campaign redial.max_total".into(),
            Block::RollingCap { source, .. } => source.clone(),
            Block::SevenInSeven { .. } => REG_F_SOURCE.into(),
            Block::MinGap { .. } => "campaign caps.min_gap_min".into(),
            Block::Dnc { .. } => "do-not-call lists (47 CFR 64.1200(c)(2), (d))".into(),
            Block::NeverOpen => "outdial: search horizon of 366 days".into(),
        }
    }
}

impl std::fmt::Display for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Block::NoTimeZone => f.write_str("no time zone known for the lead (no explicit zone, no zone for the number or state, no campaign fallback)"),
            Block::FederalHours { zone } => write!(f, "outside federal calling hours (08:00-21:00) in {zone}"),
            Block::OutsideWindow { zone } => write!(f, "outside the calling window in {zone}"),
            Block::State { zone, block } => write!(f, "{block} (in {zone})"),
            Block::FederalHoliday { zone, name } => write!(f, "federal holiday in {zone}: {name}"),
            Block::Blackout { zone, date } => write!(f, "campaign blackout date {date} in {zone}"),
            Block::DailyCap { zone, count, limit } => {
                write!(f, "daily cap reached in {zone}: {count} of {limit} attempts this local day")
            }
            Block::TotalCap { count, limit } => write!(f, "total cap reached: {count} of {limit} attempts"),
            Block::RollingCap { count, limit, hours, source } => {
                write!(f, "{count} of {limit} calls to this number in the last {hours} h ({source})")
            }
            Block::SevenInSeven { count } => write!(f, "{count} of 7 calls in the last 7 days (Regulation F)"),
            Block::MinGap { last, gap_min } => write!(f, "less than {gap_min} min since the last call to this number at {last}"),
            Block::Dnc { lists } => write!(f, "on do-not-call list(s): {}", lists.join(", ")),
            Block::NeverOpen => f.write_str("no allowed instant within a year"),
        }
    }
}

/// Everything the rules need to know about one lead at one moment.
#[derive(Debug, Clone)]
pub struct LeadRules<'a> {
    /// Campaign settings (window, policy, caps, holidays, blackout dates).
    pub campaign: &'a CampaignSettings,
    /// State rules in force.
    pub state_rules: &'a StateRules,
    /// Candidate zones and states (see [`whereabouts`]).
    pub whereabouts: &'a Whereabouts,
    /// Start instants (UTC) of the lead's attempts that count against caps: every attempt
    /// except those rejected or proven never placed, including in-flight and unknown ones.
    pub history: &'a [DateTime<Utc>],
    /// The same for every attempt to the number in any campaign (at least the last 7 days).
    pub number_history: &'a [DateTime<Utc>],
    /// Widens every rolling window (number caps, Regulation F, minimum gap) by this much, to
    /// absorb the delay between reserving an attempt and the provider creating the call
    /// (request latency, provider queueing). The engine uses its window margin; checks of a
    /// finished run use zero.
    pub slack: Duration,
}

/// The horizon of [`LeadRules::next_allowed`], days.
pub const SEARCH_HORIZON_DAYS: i64 = 366;

impl LeadRules<'_> {
    fn zones(&self) -> &[Tz] {
        &self.whereabouts.zones
    }

    fn count_in_local_day(&self, t: DateTime<Utc>, zone: Tz) -> u32 {
        let day = t.with_timezone(&zone).date_naive();
        self.history
            .iter()
            .filter(|h| h.with_timezone(&zone).date_naive() == day)
            .count() as u32
    }

    /// Rolling caps on the number: (limit, hours, source), from every candidate state and
    /// the campaign.
    fn rolling_caps(&self) -> Vec<(u32, u32, String)> {
        let mut caps = Vec::new();
        for st in &self.whereabouts.states {
            if let Some((limit, hours)) = compliance::rolling_cap(self.state_rules, st) {
                let src = self
                    .state_rules
                    .get(st)
                    .map_or(String::new(), |r| r.source.clone());
                caps.push((limit, hours, format!("{st} state cap: {src}")));
            }
        }
        if let Some(limit) = self.campaign.caps.per_number_24h {
            caps.push((limit, 24, "campaign caps.per_number_24h".into()));
        }
        caps
    }

    /// Calls in `(t - hours, t]` and, when at or over `limit`, the instant the count drops
    /// below it.
    fn window_count(
        times: &[DateTime<Utc>],
        t: DateTime<Utc>,
        span: Duration,
        limit: u32,
    ) -> (u32, Option<DateTime<Utc>>) {
        let mut inside: Vec<DateTime<Utc>> = times
            .iter()
            .copied()
            .filter(|h| *h > t - span && *h <= t)
            .collect();
        inside.sort();
        let count = inside.len() as u32;
        if count < limit {
            return (count, None);
        }
        let idx = (count - limit) as usize;
        (count, Some(inside[idx] + span))
    }

    /// Every rule that blocks a dial at `t`; empty means allowed. (DNC is checked by the
    /// caller, which knows the lists.)
    pub fn blocks_at(&self, t: DateTime<Utc>) -> Vec<Block> {
        let mut out = Vec::new();
        if self.zones().is_empty() {
            out.push(Block::NoTimeZone);
            return out;
        }
        let policy = &self.campaign.redial;
        if let Some(limit) = policy.max_total {
            let count = self.history.len() as u32;
            if count >= limit {
                out.push(Block::TotalCap { count, limit });
            }
        }
        let federal = CallingWindow::federal();
        for &zone in self.zones() {
            let local = t.with_timezone(&zone).naive_local();
            if !federal.contains(t, zone) {
                out.push(Block::FederalHours { zone });
            }
            if !self.campaign.calling_window.contains(t, zone) {
                out.push(Block::OutsideWindow { zone });
            }
            if self.campaign.no_calls_on_federal_holidays {
                if let Some(name) = compliance::holidays::is_federal_holiday(local.date()) {
                    out.push(Block::FederalHoliday {
                        zone,
                        name: name.to_owned(),
                    });
                }
            }
            if self.campaign.blackout_dates.contains(&local.date()) {
                out.push(Block::Blackout {
                    zone,
                    date: local.date(),
                });
            }
            for st in &self.whereabouts.states {
                for block in compliance::state_blocks(self.state_rules, st, local) {
                    out.push(Block::State { zone, block });
                }
            }
            let count = self.count_in_local_day(t, zone);
            if count >= policy.max_per_local_day {
                out.push(Block::DailyCap {
                    zone,
                    count,
                    limit: policy.max_per_local_day,
                });
            }
        }
        for (limit, hours, source) in self.rolling_caps() {
            let (count, until) = Self::window_count(
                self.number_history,
                t,
                Duration::hours(i64::from(hours)) + self.slack,
                limit,
            );
            if until.is_some() {
                out.push(Block::RollingCap {
                    count,
                    limit,
                    hours,
                    source,
                });
            }
        }
        if self.campaign.caps.reg_f_7_in_7 {
            let (count, until) =
                Self::window_count(self.history, t, Duration::days(7) + self.slack, 7);
            if until.is_some() {
                out.push(Block::SevenInSeven { count });
            }
        }
        if let Some(last) = self.last_call_before(t) {
            let gap = Duration::minutes(i64::from(self.campaign.caps.min_gap_min)) + self.slack;
            if self.campaign.caps.min_gap_min > 0 && t < last + gap {
                out.push(Block::MinGap {
                    last,
                    gap_min: self.campaign.caps.min_gap_min,
                });
            }
        }
        out
    }

    fn last_call_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.number_history
            .iter()
            .chain(self.history)
            .filter(|h| **h <= t)
            .max()
            .copied()
    }

    /// The earliest instant `>= from` at which no rule blocks, or the rule that makes every
    /// instant within [`SEARCH_HORIZON_DAYS`] blocked ([`Block::NoTimeZone`],
    /// [`Block::TotalCap`], [`Block::NeverOpen`]).
    pub fn next_allowed(&self, from: DateTime<Utc>) -> Result<DateTime<Utc>, Block> {
        if self.zones().is_empty() {
            return Err(Block::NoTimeZone);
        }
        if let Some(limit) = self.campaign.redial.max_total {
            let count = self.history.len() as u32;
            if count >= limit {
                return Err(Block::TotalCap { count, limit });
            }
        }
        let horizon = from + Duration::days(SEARCH_HORIZON_DAYS);
        let federal = CallingWindow::federal();
        let mut t = from;
        // Each pass moves t forward to satisfy one rule at a time; a pass that moves nothing
        // means every rule holds. Every move is forward, and each is at least to the next
        // opening, midnight or cap expiry, so the loop ends within the horizon.
        while t <= horizon {
            let start = t;
            for &zone in self.zones() {
                t = federal.next_open(t, zone).ok_or(Block::NeverOpen)?;
                t = self
                    .campaign
                    .calling_window
                    .next_open(t, zone)
                    .ok_or(Block::NeverOpen)?;
                let local = t.with_timezone(&zone).naive_local();
                let holiday = self.campaign.no_calls_on_federal_holidays
                    && compliance::holidays::is_federal_holiday(local.date()).is_some();
                if holiday || self.campaign.blackout_dates.contains(&local.date()) {
                    t = next_local_midnight(t, zone);
                    continue;
                }
                for st in &self.whereabouts.states {
                    let local = t.with_timezone(&zone).naive_local();
                    if compliance::state_blocks(self.state_rules, st, local).is_empty() {
                        continue;
                    }
                    let open = compliance::next_state_open(self.state_rules, st, local)
                        .ok_or(Block::NeverOpen)?;
                    let at = local_instant(zone, open.date(), open.time());
                    // A local time that the zone skips resolves past it; always move forward.
                    t = if at > t { at } else { t + Duration::minutes(1) };
                }
                if self.count_in_local_day(t, zone) >= self.campaign.redial.max_per_local_day {
                    t = next_local_midnight(t, zone);
                }
            }
            for (limit, hours, _) in self.rolling_caps() {
                if let (_, Some(until)) = Self::window_count(
                    self.number_history,
                    t,
                    Duration::hours(i64::from(hours)) + self.slack,
                    limit,
                ) {
                    t = t.max(until);
                }
            }
            if self.campaign.caps.reg_f_7_in_7 {
                if let (_, Some(until)) =
                    Self::window_count(self.history, t, Duration::days(7) + self.slack, 7)
                {
                    t = t.max(until);
                }
            }
            if self.campaign.caps.min_gap_min > 0 {
                if let Some(last) = self.last_call_before(t) {
                    t = t.max(
                        last + Duration::minutes(i64::from(self.campaign.caps.min_gap_min))
                            + self.slack,
                    );
                }
            }
            if t == start {
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
/// `rules.history` must already include the attempt just concluded; `recent` lists the
/// dispositions of the lead's attempts, newest last, including this one (for the repeat
/// rule). `callback_at`, when the disposition asks for a callback, is honoured, or moved to
/// the next allowed instant. Terminal dispositions end the lead; reaching `max_total` ends
/// it; a repeat limit ends or parks it; otherwise the next attempt waits the policy's delay
/// and then the first instant every rule allows.
pub fn decide_after_attempt(
    catalog: &DispositionCatalog,
    rules: &LeadRules<'_>,
    disposition: &Disposition,
    recent: &[Disposition],
    ended_at: DateTime<Utc>,
    callback_at: Option<DateTime<Utc>>,
) -> LeadDecision {
    let flags = catalog.flags(disposition);
    if flags.terminal {
        return LeadDecision::Done {
            reason: format!("terminal disposition {disposition}"),
        };
    }
    let policy = &rules.campaign.redial;
    let attempts = rules.history.len() as u32;
    let mut earliest = match callback_at.filter(|_| flags.callback) {
        Some(cb) => cb.max(ended_at),
        None => ended_at + policy.delay_after(attempts.max(1), disposition),
    };
    if let Some(limit) = &policy.repeat_limit {
        let n = limit.in_a_row as usize;
        let repeated = recent.len() >= n
            && recent[recent.len() - n..]
                .iter()
                .all(|d| limit.dispositions.contains(d));
        if repeated {
            match limit.action {
                RepeatAction::BadNumber => {
                    return LeadDecision::Done {
                        reason: format!(
                            "{n} attempts in a row ended {disposition}: treated as BAD_NUMBER"
                        ),
                    }
                }
                RepeatAction::ParkDays { days } => {
                    earliest = earliest.max(ended_at + Duration::days(i64::from(days)));
                }
            }
        }
    }
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
    use crate::disposition::DispositionCatalog;
    use crate::phone::Region;
    use crate::AnswerAction;
    use chrono_tz::America::{Chicago, Los_Angeles, New_York, Phoenix};
    use chrono_tz::Pacific::Honolulu;
    use proptest::prelude::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn campaign() -> CampaignSettings {
        CampaignSettings::new(
            E164::parse("+14155550100", Region::US).unwrap(),
            AnswerAction::Twiml {
                twiml: "<Response/>".into(),
            },
        )
    }

    fn at(zones: &[Tz], states: &[&str]) -> Whereabouts {
        Whereabouts {
            zones: zones.to_vec(),
            states: states.iter().map(|s| s.to_string()).collect(),
            zone_source: "test".into(),
        }
    }

    /// Checks `next_allowed(from)` and that the answer is not blocked.
    #[allow(clippy::too_many_arguments)]
    fn check(
        c: &CampaignSettings,
        w: &Whereabouts,
        history: &[DateTime<Utc>],
        number_history: &[DateTime<Utc>],
        from: &str,
        want: Result<&str, &str>,
    ) {
        let rules_data = StateRules::builtin();
        let r = LeadRules {
            campaign: c,
            state_rules: &rules_data,
            whereabouts: w,
            history,
            number_history,
            slack: chrono::Duration::zero(),
        };
        let got = r.next_allowed(utc(from));
        match (got, want) {
            (Ok(t), Ok(w)) => {
                assert_eq!(t, utc(w), "from {from}");
                assert!(
                    r.blocks_at(t).is_empty(),
                    "blocked at {t}: {:?}",
                    r.blocks_at(t)
                );
            }
            (Err(b), Err(kind)) => {
                assert!(format!("{b:?}").starts_with(kind), "{b:?} is not {kind}")
            }
            (got, want) => panic!("from {from}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn window_table() {
        let w = CallingWindow::default();
        let cases = [
            // 07:00 EST → 08:00 EST.
            ("2026-01-15T12:00:00Z", New_York, "2026-01-15T13:00:00Z"),
            ("2026-01-15T17:00:00Z", New_York, "2026-01-15T17:00:00Z"),
            // 21:00 EST exactly is closed → next day 08:00.
            ("2026-01-16T02:00:00Z", New_York, "2026-01-16T13:00:00Z"),
            // Summer: 08:00 EDT is 12:00Z.
            ("2026-07-15T11:59:00Z", New_York, "2026-07-15T12:00:00Z"),
            // Arizona keeps MST all year: 08:00 is 15:00Z in July too.
            ("2026-07-15T14:00:00Z", Phoenix, "2026-07-15T15:00:00Z"),
            // Hawaii: 08:00 HST is 18:00Z.
            ("2026-07-15T17:00:00Z", Honolulu, "2026-07-15T18:00:00Z"),
        ];
        for (from, tz, want) in cases {
            assert_eq!(
                w.next_open(utc(from), tz),
                Some(utc(want)),
                "{from} in {tz}"
            );
        }
    }

    #[test]
    fn window_edges_across_dst() {
        let days = CallingWindow::default().days;
        // A window opening at 02:30 on the spring-forward day (2026-03-08 in New York) opens
        // at 03:00 EDT, the first valid local minute after the skipped half hour.
        let w = CallingWindow {
            start: NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
            end: NaiveTime::from_hms_opt(4, 0, 0).unwrap(),
            days: days.clone(),
            per_day: vec![],
        };
        assert_eq!(
            w.next_open(utc("2026-03-08T05:00:00Z"), New_York),
            Some(utc("2026-03-08T07:00:00Z"))
        );
        // In the repeated hour (2026-11-01 01:30 occurs twice), the earlier instant is used.
        let w2 = CallingWindow {
            start: NaiveTime::from_hms_opt(1, 30, 0).unwrap(),
            end: NaiveTime::from_hms_opt(3, 0, 0).unwrap(),
            days,
            per_day: vec![],
        };
        assert_eq!(
            w2.next_open(utc("2026-11-01T04:00:00Z"), New_York),
            Some(utc("2026-11-01T05:30:00Z"))
        );
        // Federal hours on the DST days: 08:00 local is 12:00Z after spring-forward and
        // 13:00Z after fall-back.
        let c = campaign();
        let ny = at(&[New_York], &[]);
        check(
            &c,
            &ny,
            &[],
            &[],
            "2026-03-08T07:30:00Z",
            Ok("2026-03-08T12:00:00Z"),
        );
        check(
            &c,
            &ny,
            &[],
            &[],
            "2026-11-01T07:30:00Z",
            Ok("2026-11-01T13:00:00Z"),
        );
    }

    #[test]
    fn per_day_campaign_windows() {
        let mut c = campaign();
        c.calling_window.per_day = vec![DayWindow {
            day: Weekday::Sat,
            start: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
        }];
        c.calling_window.days.retain(|d| *d != Weekday::Sun);
        let ny = at(&[New_York], &[]);
        // Saturday 2026-01-17 09:00 EST → 10:00.
        check(
            &c,
            &ny,
            &[],
            &[],
            "2026-01-17T14:00:00Z",
            Ok("2026-01-17T15:00:00Z"),
        );
        // Saturday 17:30 → Monday 08:00 (no Sunday).
        check(
            &c,
            &ny,
            &[],
            &[],
            "2026-01-17T22:30:00Z",
            Ok("2026-01-19T13:00:00Z"),
        );
    }

    #[test]
    fn federal_hours_hold_even_if_the_campaign_window_is_wider() {
        let mut c = campaign();
        c.calling_window.start = NaiveTime::from_hms_opt(6, 0, 0).unwrap();
        c.calling_window.end = NaiveTime::from_hms_opt(23, 0, 0).unwrap();
        let ny = at(&[New_York], &[]);
        check(
            &c,
            &ny,
            &[],
            &[],
            "2026-01-15T11:30:00Z",
            Ok("2026-01-15T13:00:00Z"),
        );
        let rules = StateRules::builtin();
        let r = LeadRules {
            campaign: &c,
            state_rules: &rules,
            whereabouts: &ny,
            history: &[],
            number_history: &[],
            slack: chrono::Duration::zero(),
        };
        assert_eq!(
            r.blocks_at(utc("2026-01-16T02:30:00Z")),
            vec![Block::FederalHours { zone: New_York }]
        );
    }

    #[test]
    fn every_candidate_zone_must_allow() {
        let c = campaign();
        let both = at(&[New_York, Los_Angeles], &[]);
        // 12:30Z is 07:30 EST and 04:30 PST: the later opening (08:00 PST = 16:00Z) wins.
        check(
            &c,
            &both,
            &[],
            &[],
            "2026-01-15T12:30:00Z",
            Ok("2026-01-15T16:00:00Z"),
        );
    }

    #[test]
    fn state_rules_table() {
        let c = campaign();
        // Florida 08:00–20:00: 20:30 EST on a Thursday → Friday 08:00.
        check(
            &c,
            &at(&[New_York], &["FL"]),
            &[],
            &[],
            "2026-01-16T01:30:00Z",
            Ok("2026-01-16T13:00:00Z"),
        );
        // Alabama: no Sunday calls, and no calls on holidays. Sunday 2026-01-18 10:00 CST →
        // not Monday (Martin Luther King Day, 19 January 2026) → Tuesday 08:00 CST.
        check(
            &c,
            &at(&[Chicago], &["AL"]),
            &[],
            &[],
            "2026-01-18T16:00:00Z",
            Ok("2026-01-20T14:00:00Z"),
        );
        // Sunday 2026-02-08 → Monday 2026-02-09 08:00 CST (no holiday).
        check(
            &c,
            &at(&[Chicago], &["AL"]),
            &[],
            &[],
            "2026-02-08T16:00:00Z",
            Ok("2026-02-09T14:00:00Z"),
        );
        // Texas Sunday opens at 12:00: Sunday 09:00 CST → 12:00 CST.
        check(
            &c,
            &at(&[Chicago], &["TX"]),
            &[],
            &[],
            "2026-01-18T15:00:00Z",
            Ok("2026-01-18T18:00:00Z"),
        );
        // Rhode Island Saturday 10:00–17:00.
        check(
            &c,
            &at(&[New_York], &["RI"]),
            &[],
            &[],
            "2026-01-17T14:00:00Z",
            Ok("2026-01-17T15:00:00Z"),
        );
        // Two candidate states: the stricter one decides (Kentucky opens at 10:00).
        check(
            &c,
            &at(&[New_York], &["FL", "KY"]),
            &[],
            &[],
            "2026-01-15T13:00:00Z",
            Ok("2026-01-15T15:00:00Z"),
        );
        // A state rule's block carries its source.
        let rules = StateRules::builtin();
        let w = at(&[New_York], &["FL"]);
        let r = LeadRules {
            campaign: &c,
            state_rules: &rules,
            whereabouts: &w,
            history: &[],
            number_history: &[],
            slack: chrono::Duration::zero(),
        };
        let b = r.blocks_at(utc("2026-01-16T01:30:00Z"));
        assert!(
            b.iter()
                .any(|b| matches!(b, Block::State { .. }) && !b.source().is_empty()),
            "{b:?}"
        );
    }

    #[test]
    fn florida_three_calls_per_rolling_24_hours_across_campaigns() {
        let c = campaign();
        let fl = at(&[New_York], &["FL"]);
        let calls = [
            utc("2026-01-15T14:00:00Z"),
            utc("2026-01-15T15:00:00Z"),
            utc("2026-01-15T16:00:00Z"),
        ];
        // The fourth call waits until the first drops out of the 24 hours.
        check(
            &c,
            &fl,
            &[],
            &calls,
            "2026-01-15T17:00:00Z",
            Ok("2026-01-16T14:00:00Z"),
        );
        // New York has no such cap.
        check(
            &c,
            &at(&[New_York], &["NY"]),
            &[],
            &calls,
            "2026-01-15T17:00:00Z",
            Ok("2026-01-15T17:00:00Z"),
        );
    }

    #[test]
    fn holidays_and_blackouts() {
        let mut c = campaign();
        c.no_calls_on_federal_holidays = true;
        let ny = at(&[New_York], &[]);
        // Thanksgiving 2026 is Thursday 26 November → Friday 08:00.
        check(
            &c,
            &ny,
            &[],
            &[],
            "2026-11-26T15:00:00Z",
            Ok("2026-11-27T13:00:00Z"),
        );
        let mut c2 = campaign();
        c2.blackout_dates = vec![NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()];
        check(
            &c2,
            &ny,
            &[],
            &[],
            "2026-01-15T15:00:00Z",
            Ok("2026-01-16T13:00:00Z"),
        );
        // Louisiana bans calls on state holidays (federal list as proxy): Christmas 2026.
        check(
            &campaign(),
            &at(&[Chicago], &["LA"]),
            &[],
            &[],
            "2026-12-25T16:00:00Z",
            Ok("2026-12-26T14:00:00Z"),
        );
    }

    #[test]
    fn split_area_codes_resolve_per_exchange() {
        let n = |s: &str| E164::parse(s, Region::US).unwrap();
        // 850: Pensacola exchange 432 is Central; Tallahassee 222 is Eastern.
        let w = whereabouts(&n("+18504321234"), None, None, None);
        assert_eq!(
            (w.zones.clone(), w.states.clone()),
            (vec![Chicago], vec!["FL".to_string()])
        );
        let w = whereabouts(&n("+18502221234"), None, None, None);
        assert_eq!(w.zones, vec![New_York]);
        // An explicit zone wins; the lead's state adds its rules and zones otherwise.
        let w = whereabouts(&n("+18502221234"), Some(Phoenix), Some("az"), None);
        assert_eq!(
            (w.zones.clone(), w.states.clone()),
            (vec![Phoenix], vec!["AZ".to_string(), "FL".to_string()])
        );
        let w = whereabouts(&n("+12125550123"), None, Some("CA"), None);
        assert_eq!(w.zones, vec![New_York, Los_Angeles]);
        assert_eq!(w.states, vec!["CA".to_string(), "NY".to_string()]);
        // 915 El Paso is Mountain time although Texas is mostly Central.
        assert_eq!(
            whereabouts(&n("+19155320123"), None, None, None).zones,
            vec![chrono_tz::America::Denver]
        );
    }

    #[test]
    fn daily_cap_moves_to_next_local_day() {
        let mut c = campaign();
        c.redial.max_per_local_day = 2;
        let history = [utc("2026-01-15T14:00:00Z"), utc("2026-01-15T15:00:00Z")];
        check(
            &c,
            &at(&[New_York], &[]),
            &history,
            &history,
            "2026-01-15T16:00:00Z",
            Ok("2026-01-16T13:00:00Z"),
        );
    }

    #[test]
    fn reg_f_and_min_gap() {
        let mut c = campaign();
        c.caps.reg_f_7_in_7 = true;
        let week: Vec<_> = (0..7)
            .map(|d| utc("2026-01-08T15:00:00Z") + Duration::days(d))
            .collect();
        // The eighth call waits until the first of the seven is 7 days old.
        check(
            &c,
            &at(&[New_York], &[]),
            &week,
            &week,
            "2026-01-14T16:00:00Z",
            Ok("2026-01-15T15:00:00Z"),
        );
        let mut c2 = campaign();
        c2.caps.min_gap_min = 30;
        let last = [utc("2026-01-15T15:00:00Z")];
        check(
            &c2,
            &at(&[New_York], &[]),
            &[],
            &last,
            "2026-01-15T15:10:00Z",
            Ok("2026-01-15T15:30:00Z"),
        );
    }

    #[test]
    fn no_zone_is_not_dialable() {
        check(
            &campaign(),
            &at(&[], &["FL"]),
            &[],
            &[],
            "2026-01-15T16:00:00Z",
            Err("NoTimeZone"),
        );
        assert_eq!(candidate_zones(None, Some("zz"), None), Vec::<Tz>::new());
        assert_eq!(candidate_zones(None, Some("az"), None), vec![Phoenix]);
    }

    #[test]
    fn redial_policy_table() {
        let p = RedialPolicy::default();
        let got: Vec<i64> = (1..=9).map(|n| p.delay_before(n).num_minutes()).collect();
        assert_eq!(got, [0, 2, 5, 10, 30, 60, 120, 120, 120]);
        let busy = Disposition::normalise("BUSY").unwrap();
        let na = Disposition::normalise("NO_ANSWER").unwrap();
        let p2 = RedialPolicy {
            rules: vec![
                RedialRule {
                    dispositions: vec![busy.clone()],
                    from_attempt: 1,
                    to_attempt: Some(3),
                    delay_min: 15,
                },
                RedialRule {
                    dispositions: vec![busy.clone()],
                    from_attempt: 4,
                    to_attempt: None,
                    delay_min: 240,
                },
            ],
            ..RedialPolicy::default()
        };
        assert_eq!(p2.delay_after(1, &busy).num_minutes(), 15);
        assert_eq!(p2.delay_after(3, &busy).num_minutes(), 15);
        assert_eq!(p2.delay_after(4, &busy).num_minutes(), 240);
        assert_eq!(p2.delay_after(1, &na).num_minutes(), 2);
    }

    #[test]
    fn decisions_terminal_callback_repeat_and_total() {
        let catalog = DispositionCatalog::default();
        let rules_data = StateRules::builtin();
        let mut c = campaign();
        let ny = at(&[New_York], &["NY"]);
        let history = [utc("2026-01-15T15:00:00Z")];
        let decide = |c: &CampaignSettings, d: &str, recent: &[&str], cb: Option<&str>| {
            let r = LeadRules {
                campaign: c,
                state_rules: &rules_data,
                whereabouts: &ny,
                history: &history,
                number_history: &history,
                slack: chrono::Duration::zero(),
            };
            let recent: Vec<Disposition> = recent
                .iter()
                .map(|d| Disposition::normalise(d).unwrap())
                .collect();
            decide_after_attempt(
                &catalog,
                &r,
                &Disposition::normalise(d).unwrap(),
                &recent,
                utc("2026-01-15T15:01:00Z"),
                cb.map(utc),
            )
        };
        assert_eq!(
            decide(&c, "BUSY", &["BUSY"], None),
            LeadDecision::Redial {
                at: utc("2026-01-15T15:03:00Z")
            }
        );
        assert!(matches!(
            decide(&c, "SALE", &["SALE"], None),
            LeadDecision::Done { .. }
        ));
        // A callback requested for 22:00 EST is moved to 08:00 the next morning.
        assert_eq!(
            decide(&c, "CALLBACK", &["CALLBACK"], Some("2026-01-16T03:00:00Z")),
            LeadDecision::Redial {
                at: utc("2026-01-16T13:00:00Z")
            }
        );
        // A callback inside the window is honoured to the minute.
        assert_eq!(
            decide(&c, "CALLBACK", &["CALLBACK"], Some("2026-01-15T19:45:00Z")),
            LeadDecision::Redial {
                at: utc("2026-01-15T19:45:00Z")
            }
        );
        c.redial.repeat_limit = Some(RepeatLimit {
            dispositions: vec![
                Disposition::normalise("BUSY").unwrap(),
                Disposition::normalise("FAILED").unwrap(),
            ],
            in_a_row: 3,
            action: RepeatAction::BadNumber,
        });
        assert!(matches!(
            decide(&c, "BUSY", &["BUSY", "FAILED", "BUSY"], None),
            LeadDecision::Done { .. }
        ));
        assert!(matches!(
            decide(&c, "BUSY", &["NO_ANSWER", "BUSY", "BUSY"], None),
            LeadDecision::Redial { .. }
        ));
        c.redial.repeat_limit.as_mut().unwrap().action = RepeatAction::ParkDays { days: 2 };
        assert_eq!(
            decide(&c, "BUSY", &["BUSY", "BUSY", "BUSY"], None),
            LeadDecision::Redial {
                at: utc("2026-01-17T15:01:00Z")
            }
        );
        let mut c3 = campaign();
        c3.redial.max_total = Some(1);
        assert!(matches!(
            decide(&c3, "NO_ANSWER", &["NO_ANSWER"], None),
            LeadDecision::Done { .. }
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
        /// For random leads, policies and instants, `next_allowed` never falls on a blocked
        /// instant, no earlier minute is allowed, and no cap is broken (caps are rules, so an
        /// unblocked instant breaks none).
        #[test]
        fn next_allowed_is_allowed_earliest_and_within_caps(
            start_s in 1_767_225_600i64..1_830_297_600i64, // 2026-01-01 .. 2028-01-01
            zone_pick in proptest::collection::vec(0usize..6, 1..3),
            state_pick in proptest::collection::vec(0usize..9, 0..3),
            cap in 1u32..5,
            reg_f in any::<bool>(),
            holidays in any::<bool>(),
            gap in 0u32..90,
            hist_offsets in proptest::collection::vec(-3 * 86_400i64..0, 0..10),
        ) {
            let zones_all = [New_York, Los_Angeles, Phoenix, Honolulu, Chicago, chrono_tz::America::Denver];
            let states_all = ["FL", "AL", "TX", "RI", "KY", "NY", "CA", "LA", "OK"];
            let w = Whereabouts {
                zones: zone_pick.iter().map(|&i| zones_all[i]).collect(),
                states: state_pick.iter().map(|&i| states_all[i].to_string()).collect(),
                zone_source: "test".into(),
            };
            let from = DateTime::from_timestamp(start_s, 0).unwrap();
            let history: Vec<_> = hist_offsets.iter().map(|o| from + Duration::seconds(*o)).collect();
            let mut c = campaign();
            c.redial.max_per_local_day = cap;
            c.caps.reg_f_7_in_7 = reg_f;
            c.caps.min_gap_min = gap;
            c.no_calls_on_federal_holidays = holidays;
            let rules_data = StateRules::builtin();
            let r = LeadRules { campaign: &c, state_rules: &rules_data, whereabouts: &w, history: &history, number_history: &history, slack: chrono::Duration::zero(), };
            let at = r.next_allowed(from).unwrap();
            prop_assert!(at >= from);
            prop_assert!(r.blocks_at(at).is_empty(), "blocked at {at}: {:?}", r.blocks_at(at));
            // No earlier whole minute is allowed (every minute for the first two days, then hourly).
            let mut probe = from;
            while probe + Duration::minutes(1) <= at {
                prop_assert!(!r.blocks_at(probe).is_empty(), "{probe} allowed before {at}");
                probe += if probe - from < Duration::days(2) { Duration::minutes(1) } else { Duration::hours(1) };
            }
        }
    }
}
