//! Typed identifiers. Database ids are `i64` row ids; provider call ids are opaque strings
//! (each provider's own call identifier, such as a prefixed hex string or a UUID).

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

row_id!(
    /// Identifier of a lead (one phone number within one campaign).
    LeadId
);
row_id!(
    /// Identifier of a campaign.
    CampaignId
);
row_id!(
    /// Identifier of an attempt (one dial of one lead).
    AttemptId
);

/// The provider's identifier of a call (its adapter documents the shape). Opaque to outdial; never empty.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProviderCallId(String);

impl ProviderCallId {
    /// Wraps a provider call id. Returns `None` for an empty or whitespace-only string,
    /// or one longer than 128 bytes (no provider issues such ids).
    pub fn parse(raw: &str) -> Option<Self> {
        let t = raw.trim();
        if t.is_empty() || t.len() > 128 || t.chars().any(|c| c.is_control()) {
            None
        } else {
            Some(Self(t.to_owned()))
        }
    }

    /// The id as the provider wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProviderCallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_call_id_rejects_empty_and_control() {
        assert!(ProviderCallId::parse("").is_none());
        assert!(ProviderCallId::parse("  ").is_none());
        assert!(ProviderCallId::parse("CA\n1").is_none());
        assert_eq!(ProviderCallId::parse(" CA12 ").unwrap().as_str(), "CA12");
    }
}
