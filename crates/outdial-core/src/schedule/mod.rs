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

mod admission;
mod block;
mod caps;
mod conclusion;
mod redial;
mod rules;
#[cfg(test)]
mod tests;
mod whereabouts;
mod window;

pub use admission::Admission;
pub use block::Block;
pub use caps::NumberCaps;
pub use conclusion::{conclude_attempt, AttemptEnd};
pub use redial::{
    decide_after_attempt, LeadDecision, RedialPolicy, RedialRule, RepeatAction, RepeatLimit,
};
pub use rules::{number_history_since, LeadRules, NUMBER_HISTORY_DAYS, SEARCH_HORIZON_DAYS};
pub use whereabouts::{candidate_zones, region_time_zones, whereabouts, Whereabouts};
pub use window::{local_instant, next_local_midnight, CallingWindow, DayWindow};

/// Source of the federal calling hours.
pub const FEDERAL_HOURS_SOURCE: &str =
    "47 CFR 64.1200(c)(1) (TCPA): 08:00-21:00 called party's local time";
/// Source of the seven-calls-in-seven-days presumption.
pub const REG_F_SOURCE: &str =
    "12 CFR 1006.14(b)(2)(i) (Regulation F): 7 calls within 7 consecutive days";
