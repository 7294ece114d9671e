//! Conclusion: the disposition and the lead's fate once an attempt is final.

use chrono::{DateTime, Utc};

use crate::call::{AnsweredBy, CallStatus};
use crate::disposition::{auto_disposition, Disposition, DispositionCatalog};

use super::{decide_after_attempt, LeadDecision, LeadRules};

/// How a final attempt ended, as conclusion needs to know it.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptEnd<'a> {
    /// The provider placed the call and it ended.
    Call {
        /// Its final status (`failed` when none was recorded).
        status: CallStatus,
        /// Answering-machine detection result, when known.
        answered_by: Option<AnsweredBy>,
        /// A business disposition reported during the call; it wins over the automatic one.
        requested: Option<&'a Disposition>,
        /// The instant outdial learned the call ended (UTC, its own clock), from which the
        /// redial interval runs.
        ended: DateTime<Utc>,
        /// A callback time asked for during the call (UTC).
        callback_at: Option<DateTime<Utc>>,
    },
    /// The provider refused the number itself (attempt `rejected`).
    BadNumber,
    /// The provider refuses this destination from this account: no retry helps until an
    /// operator changes the account's permissions.
    RefusedDestination {
        /// The provider's message, for the parked lead's reason.
        message: Option<&'a str>,
    },
    /// Not placed for any other reason (rate limit, not sent, refused, no call found).
    NotPlaced {
        /// Earliest instant of the retry (UTC): now plus the engine's not-placed delay.
        earliest: DateTime<Utc>,
    },
}

/// The disposition of a final attempt and what becomes of its lead, at `now` (UTC).
/// `earlier` holds the dispositions of the lead's other attempts, oldest first.
///
/// - a call that ended: the requested disposition, else the automatic one, else `FAILED`;
///   the redial policy decides from the end instant;
/// - a bad number: `BAD_NUMBER`, decided by the policy at `now`;
/// - a refused destination: `NOT_PLACED`, the lead parked with the provider's message;
/// - any other not-placed attempt: `NOT_PLACED`, redialled at the first instant the rules
///   allow from `earliest` (parked when none).
pub fn conclude_attempt(
    catalog: &DispositionCatalog,
    rules: &LeadRules<'_>,
    end: AttemptEnd<'_>,
    earlier: &[Disposition],
    now: DateTime<Utc>,
) -> (Disposition, LeadDecision) {
    let decide = |d: &Disposition, at: DateTime<Utc>, callback_at: Option<DateTime<Utc>>| {
        let mut recent = earlier.to_vec();
        recent.push(d.clone());
        decide_after_attempt(catalog, rules, d, &recent, at, callback_at)
    };
    match end {
        AttemptEnd::Call {
            status,
            answered_by,
            requested,
            ended,
            callback_at,
        } => {
            let d = requested
                .cloned()
                .or_else(|| auto_disposition(status, answered_by))
                .unwrap_or_else(|| Disposition::normalise("FAILED").expect("valid code"));
            let decision = decide(&d, ended, callback_at);
            (d, decision)
        }
        AttemptEnd::BadNumber => {
            let d = Disposition::bad_number();
            let decision = decide(&d, now, None);
            (d, decision)
        }
        AttemptEnd::RefusedDestination { message } => {
            let d = Disposition::normalise("NOT_PLACED").expect("valid code");
            let reason = format!(
                "the provider refuses calls to this destination: {}",
                message.unwrap_or("no message")
            );
            (d, LeadDecision::Park { reason })
        }
        AttemptEnd::NotPlaced { earliest } => {
            let d = Disposition::normalise("NOT_PLACED").expect("valid code");
            let decision = match rules.next_allowed(earliest) {
                Ok(at) => LeadDecision::Redial { at },
                Err(b) => LeadDecision::Park {
                    reason: b.to_string(),
                },
            };
            (d, decision)
        }
    }
}
