//! [`LeadRules`]: every rule over one lead at one moment — federal hours, the campaign
//! window, state rules, holidays, blackout dates and caps — and the next instant they
//! all allow.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::campaign::CampaignSettings;
use crate::compliance::{self, StateRules};

use super::{local_instant, next_local_midnight, Block, CallingWindow, Whereabouts};

/// Everything the rules need to know about one lead at one moment.
#[derive(Debug, Clone)]
pub struct LeadRules<'a> {
    /// Campaign settings (window, policy, caps, holidays, blackout dates).
    pub campaign: &'a CampaignSettings,
    /// State rules in force.
    pub state_rules: &'a StateRules,
    /// Candidate zones and states (see [`whereabouts`](super::whereabouts)).
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

/// Days of a number's attempt history the rules read: the longest rolling window
/// (Regulation F's 7 consecutive days) plus one day for the slack and local-day edges.
pub const NUMBER_HISTORY_DAYS: i64 = 8;

/// The earliest attempt start (UTC) a number's history must hold for rules evaluated at
/// `at`: [`NUMBER_HISTORY_DAYS`] before it.
pub fn number_history_since(at: DateTime<Utc>) -> DateTime<Utc> {
    at - Duration::days(NUMBER_HISTORY_DAYS)
}

impl<'a> LeadRules<'a> {
    /// The rules over one lead: the campaign's settings, the state rules in force, where the
    /// lead may be, its attempt history and its number's (see the fields), without slack.
    pub fn new(
        campaign: &'a CampaignSettings,
        state_rules: &'a StateRules,
        whereabouts: &'a Whereabouts,
        history: &'a [DateTime<Utc>],
        number_history: &'a [DateTime<Utc>],
    ) -> LeadRules<'a> {
        LeadRules {
            campaign,
            state_rules,
            whereabouts,
            history,
            number_history,
            slack: Duration::zero(),
        }
    }

    /// The same rules with every rolling window widened by `slack` (see the field).
    pub fn with_slack(self, slack: Duration) -> LeadRules<'a> {
        LeadRules { slack, ..self }
    }
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
