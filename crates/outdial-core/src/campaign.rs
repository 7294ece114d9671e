//! Campaign settings: caller id, provider, what happens when a call is answered, calling
//! window, redial policy, dispositions.

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::disposition::DispositionCatalog;
use crate::phone::E164;
pub use crate::provider::ProviderKind;
use crate::schedule::{CallingWindow, NumberCaps, RedialPolicy};
use chrono::NaiveDate;

/// What the provider does when the call is answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AnswerAction {
    /// Twilio fetches TwiML from this absolute URL (`Url` parameter).
    TwimlUrl {
        /// The URL.
        url: String,
    },
    /// Inline TwiML (`Twiml` parameter, at most 4,000 characters).
    Twiml {
        /// The document.
        twiml: String,
    },
}

/// A campaign's settings, stored as JSON with the campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignSettings {
    /// Caller id presented (`From`); must be a number the provider account owns.
    pub caller_id: E164,
    /// Provider that places the calls.
    #[serde(default = "default_provider")]
    pub provider: ProviderKind,
    /// What happens when the call is answered.
    pub answer: AnswerAction,
    /// Ring timeout in seconds (Twilio `Timeout`, default 60, max 600). Default here: 30.
    #[serde(default = "default_ring_timeout")]
    pub ring_timeout_s: u32,
    /// Longest call in seconds (Twilio `TimeLimit`). Default 3,600.
    #[serde(default = "default_max_call_length")]
    pub max_call_length_s: u32,
    /// Twilio `MachineDetection` (`Enable` or `DetectMessageEnd`), when wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_detection: Option<String>,
    /// When calls may be placed, in the called party's local time.
    #[serde(default)]
    pub calling_window: CallingWindow,
    /// When the next attempt may happen.
    #[serde(default)]
    pub redial: RedialPolicy,
    /// Zone used for leads that have no other time-zone source. `None`: such leads are not
    /// dialed, and say why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_time_zone: Option<Tz>,
    /// Dispositions and aliases.
    #[serde(default)]
    pub dispositions: DispositionCatalog,
    /// Caps on each phone number across campaigns.
    #[serde(default)]
    pub caps: NumberCaps,
    /// Local dates on which the campaign places no calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blackout_dates: Vec<NaiveDate>,
    /// Place no calls on US federal holidays (actual or observed date, 5 U.S.C. 6103).
    #[serde(default)]
    pub no_calls_on_federal_holidays: bool,
}

fn default_provider() -> ProviderKind {
    ProviderKind::Twilio
}
fn default_ring_timeout() -> u32 {
    30
}
fn default_max_call_length() -> u32 {
    3600
}

impl CampaignSettings {
    /// Settings with every default, for the given caller id and answer action.
    pub fn new(caller_id: E164, answer: AnswerAction) -> Self {
        CampaignSettings {
            caller_id,
            provider: default_provider(),
            answer,
            ring_timeout_s: default_ring_timeout(),
            max_call_length_s: default_max_call_length(),
            machine_detection: None,
            calling_window: CallingWindow::default(),
            redial: RedialPolicy::default(),
            fallback_time_zone: None,
            dispositions: DispositionCatalog::default(),
            caps: NumberCaps::default(),
            blackout_dates: Vec::new(),
            no_calls_on_federal_holidays: false,
        }
    }

    /// Checks the settings. Errors name the field: ring timeout 1–600 s (Twilio's range),
    /// call length at least 1 s, inline TwiML at most 4,000 characters, a valid window and
    /// policy, a catalog whose aliases resolve.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=600).contains(&self.ring_timeout_s) {
            return Err(format!(
                "ring_timeout_s must be 1..=600, got {}",
                self.ring_timeout_s
            ));
        }
        if self.max_call_length_s == 0 {
            return Err("max_call_length_s must be at least 1".into());
        }
        match &self.answer {
            AnswerAction::Twiml { twiml } if twiml.chars().count() > 4000 => {
                return Err("answer.twiml is longer than Twilio's 4,000 characters".into())
            }
            AnswerAction::TwimlUrl { url }
                if !(url.starts_with("http://") || url.starts_with("https://")) =>
            {
                return Err(format!(
                    "answer.url must be an absolute http(s) URL, got '{url}'"
                ))
            }
            _ => {}
        }
        if let Some(md) = &self.machine_detection {
            if md != "Enable" && md != "DetectMessageEnd" {
                return Err(format!(
                    "machine_detection must be Enable or DetectMessageEnd, got '{md}'"
                ));
            }
        }
        self.calling_window.validate()?;
        self.redial.validate()?;
        self.dispositions.validate()
    }

    /// The longest an attempt can stay unfinished with the provider, in seconds: ring
    /// timeout (plus Twilio's 5 s buffer) plus maximum call length.
    pub fn max_attempt_span_s(&self) -> u64 {
        u64::from(self.ring_timeout_s) + 5 + u64::from(self.max_call_length_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A campaign as stored by earlier versions (JSON in the `campaigns` table): every later
    /// field must default, so the stored row still loads whatever the settings grow into.
    #[test]
    fn an_old_shape_stored_campaign_still_loads() {
        let stored = r#"{
            "caller_id": "+14155550100",
            "answer": {"kind": "twiml_url", "url": "https://flows.example.com/answer"},
            "machine_detection": "Enable"
        }"#;
        let s: CampaignSettings = serde_json::from_str(stored).expect("old shape loads");
        assert_eq!(s.caller_id.as_str(), "+14155550100");
        assert_eq!(s.provider, ProviderKind::Twilio);
        assert_eq!(
            s.answer,
            AnswerAction::TwimlUrl {
                url: "https://flows.example.com/answer".into()
            }
        );
        assert_eq!(s.machine_detection.as_deref(), Some("Enable"));
        assert_eq!(s.ring_timeout_s, 30);
        assert_eq!(s.max_call_length_s, 3600);
        assert!(s.validate().is_ok());
        let inline = r#"{"caller_id": "+14155550100", "provider": "bland",
            "answer": {"kind": "twiml", "twiml": "<Response/>"}}"#;
        let s: CampaignSettings = serde_json::from_str(inline).expect("inline answer loads");
        assert_eq!(s.provider, ProviderKind::Bland);
        assert_eq!(s.machine_detection, None);
    }
}
