//! The closed set of voice providers a campaign may use, by name. The names are data (stored
//! with each campaign as `twilio` / `bland`); everything a provider means on the wire lives
//! in its adapter in `outdial-providers`.

use serde::{Deserialize, Serialize};

/// Which provider places a campaign's calls. The default is Twilio: campaigns stored before
/// a campaign could name its provider were all Twilio's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Twilio Programmable Voice.
    #[default]
    Twilio,
    /// Bland.ai.
    Bland,
}

impl ProviderKind {
    /// Every provider, in a stable order.
    pub const ALL: [ProviderKind; 2] = [ProviderKind::Twilio, ProviderKind::Bland];

    /// The stored name (`twilio`, `bland`).
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Twilio => "twilio",
            ProviderKind::Bland => "bland",
        }
    }
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ProviderKind {
    type Err = String;

    /// Parses a stored name. The error names the input and lists every provider.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProviderKind::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = ProviderKind::ALL.iter().map(|p| p.as_str()).collect();
                format!("unknown provider '{s}' (one of {})", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for p in ProviderKind::ALL {
            assert_eq!(p.as_str().parse::<ProviderKind>().unwrap(), p);
            assert_eq!(
                serde_json::to_value(p).unwrap(),
                serde_json::Value::String(p.as_str().into())
            );
        }
        assert!("plivo"
            .parse::<ProviderKind>()
            .unwrap_err()
            .contains("plivo"));
    }
}
