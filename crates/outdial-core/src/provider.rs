//! The closed set of voice providers a campaign may use, by name. The names are data (stored
//! with each campaign as `twilio` / `bland`); everything a provider means on the wire lives
//! in its adapter in `outdial-providers`.

use serde::{Deserialize, Serialize};

/// Which provider places a campaign's calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Twilio Programmable Voice.
    Twilio,
    /// Bland.ai.
    Bland,
}
