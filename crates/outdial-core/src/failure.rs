//! Why an attempt was not placed: the domain failure kind stored as an attempt's
//! `error_code`, next to the provider's own code and message (kept for display in
//! `error_message`). Provider adapters classify their codes into these kinds; nothing
//! outside the provider crate reads a provider code.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The failure kind of an attempt whose create request failed (or that the reconciler
/// proved was never placed). Stored as its [`as_str`](FailureKind::as_str) name.
///
/// | kind | attempt | what happens to the lead |
/// |---|---|---|
/// | [`BadNumber`](FailureKind::BadNumber) | `rejected` | ends `BAD_NUMBER` |
/// | [`RefusedDestination`](FailureKind::RefusedDestination) | `not-placed` | parked with the reason |
/// | [`RefusedAccount`](FailureKind::RefusedAccount), [`Auth`](FailureKind::Auth) | `not-placed` | retried later; the global kill switch trips |
/// | [`Refused`](FailureKind::Refused), [`NotSent`](FailureKind::NotSent), [`NoCallFound`](FailureKind::NoCallFound) | `not-placed` | retried later; counts toward the consecutive-failure rule |
/// | [`RateLimited`](FailureKind::RateLimited) | `not-placed` | retried later; counts neither way |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum FailureKind {
    /// The provider refused the number itself (invalid, unreachable).
    BadNumber,
    /// The provider refused this destination from this account (geographic permissions, a
    /// blocked or high-risk destination).
    RefusedDestination,
    /// The provider refused the account (caller id not verified or not owned, suspension).
    RefusedAccount,
    /// The provider refused the credentials.
    Auth,
    /// Any other refusal (a malformed request, an unknown code).
    Refused,
    /// The provider did not process the request because of a rate limit.
    RateLimited,
    /// The request never reached the provider (connection refused, DNS failure).
    NotSent,
    /// The create outcome was unknown and the provider lists no call to the number since
    /// the reservation (decided by the reconciler).
    NoCallFound,
}

impl FailureKind {
    /// Every kind, in declaration order.
    pub const ALL: [FailureKind; 8] = [
        FailureKind::BadNumber,
        FailureKind::RefusedDestination,
        FailureKind::RefusedAccount,
        FailureKind::Auth,
        FailureKind::Refused,
        FailureKind::RateLimited,
        FailureKind::NotSent,
        FailureKind::NoCallFound,
    ];

    /// The stored name: `bad-number`, `refused-destination`, `refused-account`, `auth`,
    /// `refused`, `rate-limited`, `not-sent`, `no-call-found`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::BadNumber => "bad-number",
            FailureKind::RefusedDestination => "refused-destination",
            FailureKind::RefusedAccount => "refused-account",
            FailureKind::Auth => "auth",
            FailureKind::Refused => "refused",
            FailureKind::RateLimited => "rate-limited",
            FailureKind::NotSent => "not-sent",
            FailureKind::NoCallFound => "no-call-found",
        }
    }

    /// Parses a stored name (exactly as [`as_str`](FailureKind::as_str) writes it); `None`
    /// for anything else (such as a raw provider code stored by an older version, which the
    /// provider crate interprets).
    pub fn parse(s: &str) -> Option<FailureKind> {
        FailureKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<FailureKind> for &'static str {
    fn from(k: FailureKind) -> Self {
        k.as_str()
    }
}

impl TryFrom<String> for FailureKind {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        FailureKind::parse(&s).ok_or_else(|| format!("unknown failure kind '{s}'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_name() {
        for k in FailureKind::ALL {
            assert_eq!(FailureKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(FailureKind::parse("429"), None);
        assert_eq!(FailureKind::parse("Bad-Number"), None);
    }
}
