//! Lead admission: where a new lead starts (the enqueue-time check; the engine checks
//! again at dial time).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Block, LeadRules};

/// Where a new lead starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Admission {
    /// Active, first due at this instant (UTC).
    Active(DateTime<Utc>),
    /// Paused with the reason (on a do-not-call list, no time zone, no allowed instant).
    Paused(String),
}

impl Admission {
    /// The verdict of the do-not-call check: paused when `lists` (the lists holding the
    /// number, as their keys) is not empty; `None` when it is, and the rules decide
    /// ([`Admission::from_rules`]). Checked first, so a listed number needs no history.
    pub fn from_dnc(lists: Vec<String>) -> Option<Admission> {
        (!lists.is_empty()).then(|| Admission::Paused(Block::Dnc { lists }.to_string()))
    }

    /// Active at the first instant at or after `now` (UTC) that every rule allows, else
    /// paused with the blocking rule.
    pub fn from_rules(rules: &LeadRules<'_>, now: DateTime<Utc>) -> Admission {
        match rules.next_allowed(now) {
            Ok(at) => Admission::Active(at),
            Err(block) => Admission::Paused(block.to_string()),
        }
    }
}
