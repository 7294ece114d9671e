//! Caps on one phone number across campaigns (rolling 24 h, Regulation F 7-in-7,
//! minimum gap).

use serde::{Deserialize, Serialize};

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
