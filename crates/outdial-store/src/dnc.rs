//! Do-Not-Call lists: scopes, entries and the [`DncLists`] sub-trait.

use crate::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outdial_core::{CampaignId, E164};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Which Do-Not-Call list an entry belongs to.
///
/// Stored as a text key ([`DncScope::as_key`]): `internal`, `national`, or `campaign:{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DncScope {
    /// The company-specific (internal) list: applies to every campaign.
    Internal,
    /// The national registry (the US National DNC Registry's data files): applies to every
    /// campaign.
    National,
    /// One campaign's own list: applies to that campaign only.
    Campaign(CampaignId),
}

impl DncScope {
    /// The stored key: `internal`, `national` or `campaign:{id}`.
    pub fn as_key(&self) -> String {
        match self {
            DncScope::Internal => "internal".to_owned(),
            DncScope::National => "national".to_owned(),
            DncScope::Campaign(id) => format!("campaign:{id}"),
        }
    }

    /// Reads a stored key back; `None` for anything [`DncScope::as_key`] does not produce
    /// (the campaign id must be written exactly as `as_key` writes it: `campaign:007` is
    /// refused).
    pub fn parse(key: &str) -> Option<DncScope> {
        match key {
            "internal" => Some(DncScope::Internal),
            "national" => Some(DncScope::National),
            other => {
                let id = other.strip_prefix("campaign:")?;
                let n: i64 = id.parse().ok()?;
                (n.to_string() == id).then_some(DncScope::Campaign(CampaignId(n)))
            }
        }
    }

    /// Whether an entry of this scope blocks calls made for `campaign` (`None`: a call
    /// outside any campaign, blocked by the internal and national lists only).
    pub fn applies_to(&self, campaign: Option<CampaignId>) -> bool {
        match self {
            DncScope::Internal | DncScope::National => true,
            DncScope::Campaign(id) => campaign == Some(*id),
        }
    }
}

impl std::fmt::Display for DncScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_key())
    }
}

impl Serialize for DncScope {
    /// Serialises as the stored key ([`DncScope::as_key`]).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_key())
    }
}

/// One number on one Do-Not-Call list. A list holds a number at most once: `(scope, phone)`
/// is the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DncEntry {
    /// The number, E.164.
    pub phone: E164,
    /// The list.
    pub scope: DncScope,
    /// Where the entry came from (free text): `disposition` (a call ended with a DNC
    /// disposition), `operator` (added by hand), `import:FILE` (a list file).
    pub source: String,
    /// Why, when known (the called party's words, a ticket number, …).
    pub reason: Option<String>,
    /// When the number was put on the list, UTC.
    pub added_at: DateTime<Utc>,
}

/// Do-Not-Call lists. Part of [`Store`]; every time is a UTC instant passed in by the caller (`now`).
#[async_trait]
pub trait DncLists: Send + Sync {
    /// Puts numbers on Do-Not-Call lists, in one transaction. Idempotent: an entry whose
    /// `(scope, phone)` is already listed (stored earlier, or earlier in the same batch) is
    /// skipped and the stored entry keeps its original source, reason and time. Returns how
    /// many entries were newly added.
    ///
    /// Each call records `dnc.added` in the event log in the same transaction: one event
    /// naming the entry when `entries` holds one entry, one summary event (counts by scope and
    /// source) for a larger batch; nothing when nothing was added. Callers importing large
    /// files (a national registry download holds millions of numbers) pass batches of a few
    /// thousand entries (the CLI uses 5,000) so a transaction stays short.
    ///
    /// `now` is the event time; each entry's own `added_at` is stored as given.
    /// Errors: [`StoreError::Unavailable`].
    async fn dnc_add(&self, entries: &[DncEntry], now: DateTime<Utc>) -> StoreResult<u64>;

    /// Takes `phone` off one list. Returns `false` when it was not on that list (nothing
    /// changes). A removal records a `dnc.removed` event (source `operator`, with the removed
    /// entry's details) in the same transaction. Errors: [`StoreError::Unavailable`].
    async fn dnc_remove(
        &self,
        phone: &E164,
        scope: &DncScope,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Every list entry that blocks calling `phone` for `campaign`: the internal and national
    /// lists' entries, and `campaign`'s own list's entry (`None`: no campaign list is
    /// consulted). Empty when the number may be called. Ordered by scope key.
    /// Errors: [`StoreError::Unavailable`], [`StoreError::Corrupt`].
    async fn dnc_check(
        &self,
        phone: &E164,
        campaign: Option<CampaignId>,
    ) -> StoreResult<Vec<DncEntry>>;

    /// [`DncLists::dnc_check`] for many numbers at once (an import's batch), in one or a few
    /// statements: each number of `phones` that a list blocks for `campaign` maps to its
    /// entries, exactly the entries `dnc_check(phone, campaign)` returns and in its order
    /// (by scope key). A number that may be called is absent, so `get(phone)` is `None`
    /// exactly when `dnc_check` would return an empty list. `phones` may be empty (an empty
    /// map), may repeat a number, and may be of any length (a backend splits it as it
    /// needs; callers pass a batch of a few thousand). Errors: [`StoreError::Unavailable`],
    /// [`StoreError::Corrupt`].
    async fn dnc_check_many(
        &self,
        phones: &[E164],
        campaign: Option<CampaignId>,
    ) -> StoreResult<HashMap<E164, Vec<DncEntry>>>;

    /// Numbers listed, by scope key ([`DncScope::as_key`]); scopes with no entry are absent.
    /// Errors: [`StoreError::Unavailable`].
    async fn dnc_count(&self) -> StoreResult<BTreeMap<String, u64>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dnc_scope_keys_round_trip() {
        for scope in [
            DncScope::Internal,
            DncScope::National,
            DncScope::Campaign(CampaignId(42)),
        ] {
            assert_eq!(DncScope::parse(&scope.as_key()), Some(scope));
        }
        assert_eq!(DncScope::Campaign(CampaignId(7)).as_key(), "campaign:7");
        for bad in [
            "",
            "Internal",
            "campaign:",
            "campaign:007",
            "campaign:x",
            "campaign:+7",
        ] {
            assert_eq!(DncScope::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            serde_json::to_string(&DncScope::Campaign(CampaignId(3))).unwrap(),
            "\"campaign:3\""
        );
    }

    #[test]
    fn dnc_scope_applies_to() {
        let a = Some(CampaignId(1));
        let b = Some(CampaignId(2));
        assert!(DncScope::Internal.applies_to(a) && DncScope::Internal.applies_to(None));
        assert!(DncScope::National.applies_to(b) && DncScope::National.applies_to(None));
        assert!(DncScope::Campaign(CampaignId(1)).applies_to(a));
        assert!(!DncScope::Campaign(CampaignId(1)).applies_to(b));
        assert!(!DncScope::Campaign(CampaignId(1)).applies_to(None));
    }
}
