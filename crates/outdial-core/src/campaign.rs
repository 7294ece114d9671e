//! Campaign settings: caller id, provider, what happens when a call is answered, calling
//! window, redial policy, dispositions.

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

pub use crate::answer::{
    AgentBehaviour, AgentScript, AnswerBehaviour, DetectionMode, MachineHandling, VoicemailAction,
};
use crate::disposition::DispositionCatalog;
use crate::phone::E164;
pub use crate::provider::ProviderKind;
use crate::schedule::{CallingWindow, NumberCaps, RedialPolicy};
use chrono::NaiveDate;

/// A campaign's settings, stored as JSON with the campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignSettings {
    /// Caller id presented (`From`); must be a number the provider account owns.
    pub caller_id: E164,
    /// Provider that places the calls.
    #[serde(default)]
    pub provider: ProviderKind,
    /// What happens when the call is answered; the provider checks it can carry it out.
    pub answer: AnswerBehaviour,
    /// How answering machines are handled (stored as `machine`; the earlier
    /// `machine_detection` string still loads). Default: no detection.
    #[serde(
        default,
        alias = "machine_detection",
        deserialize_with = "MachineHandling::deserialize_stored"
    )]
    pub machine: MachineHandling,
    /// Ring timeout in seconds: how long the phone rings before the call counts as not
    /// answered. Default 30; the provider checks its own upper bound.
    #[serde(default = "default_ring_timeout")]
    pub ring_timeout_s: u32,
    /// Longest call in seconds, after which the provider ends it. Default 3,600.
    #[serde(default = "default_max_call_length")]
    pub max_call_length_s: u32,
    /// Parameters only one provider understands, passed to it as given (JSON object, keys as
    /// that provider names them). The provider refuses keys it does not know. Default: none.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub provider_options: serde_json::Map<String, serde_json::Value>,
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

fn default_ring_timeout() -> u32 {
    30
}
fn default_max_call_length() -> u32 {
    3600
}

impl CampaignSettings {
    /// Settings with every default, for the given caller id and answer behaviour.
    pub fn new(caller_id: E164, answer: AnswerBehaviour) -> Self {
        CampaignSettings {
            caller_id,
            provider: ProviderKind::default(),
            answer,
            machine: MachineHandling::default(),
            ring_timeout_s: default_ring_timeout(),
            max_call_length_s: default_max_call_length(),
            provider_options: serde_json::Map::new(),
            calling_window: CallingWindow::default(),
            redial: RedialPolicy::default(),
            fallback_time_zone: None,
            dispositions: DispositionCatalog::default(),
            caps: NumberCaps::default(),
            blackout_dates: Vec::new(),
            no_calls_on_federal_holidays: false,
        }
    }

    /// Checks what holds for every provider. Errors name the field: ring timeout at least
    /// 1 s, call length at least 1 s, the answer behaviour and machine handling (see
    /// [`AnswerBehaviour::validate`], [`MachineHandling::validate`]), a valid window and
    /// policy, a catalog whose aliases resolve. What one provider accepts (its ranges, the
    /// answer kinds it carries out, its options) is checked by its adapter.
    pub fn validate(&self) -> Result<(), String> {
        if self.ring_timeout_s == 0 {
            return Err("ring_timeout_s must be at least 1".into());
        }
        if self.max_call_length_s == 0 {
            return Err("max_call_length_s must be at least 1".into());
        }
        self.answer.validate()?;
        self.machine.validate()?;
        self.calling_window.validate()?;
        self.redial.validate()?;
        self.dispositions.validate()
    }

    /// The longest an attempt can stay unfinished with the provider, in seconds: ring
    /// timeout, plus 5 s of set-up slack (a provider may ring a few seconds past the timeout),
    /// plus maximum call length.
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
        assert_eq!(s.provider, ProviderKind::default());
        assert_eq!(
            s.answer,
            AnswerBehaviour::flow_url("https://flows.example.com/answer")
        );
        assert_eq!(s.machine, MachineHandling::detect());
        assert_eq!(s.ring_timeout_s, 30);
        assert_eq!(s.max_call_length_s, 3600);
        assert!(s.validate().is_ok());
        let inline = r#"{"caller_id": "+14155550100", "provider": "bland",
            "answer": {"kind": "twiml", "twiml": "<Response/>"}}"#;
        let s: CampaignSettings = serde_json::from_str(inline).expect("inline answer loads");
        assert_eq!(s.provider, ProviderKind::Bland);
        assert_eq!(s.answer, AnswerBehaviour::inline("<Response/>"));
        assert_eq!(s.machine, MachineHandling::default());
        let end = r#"{"caller_id": "+14155550100", "answer": {"kind": "twiml", "twiml": "<R/>"},
            "machine_detection": "DetectMessageEnd"}"#;
        let s: CampaignSettings = serde_json::from_str(end).expect("old message-end loads");
        assert_eq!(s.machine.detection, DetectionMode::DetectMessageEnd);
        let bad = r#"{"caller_id": "+14155550100", "answer": {"kind": "twiml", "twiml": "<R/>"},
            "machine_detection": "Sometimes"}"#;
        let e = serde_json::from_str::<CampaignSettings>(bad).unwrap_err();
        assert!(e.to_string().contains("Sometimes"), "{e}");
    }

    /// Settings saved in the current shape load back equal, and say `machine`, not the
    /// earlier key.
    #[test]
    fn current_settings_round_trip() {
        let mut s = CampaignSettings::new(
            E164::from_stored("+14155550100").unwrap(),
            AnswerBehaviour::inline("<Response/>"),
        );
        s.machine = MachineHandling {
            detection: DetectionMode::Detect,
            on_machine: VoicemailAction::HangUp,
        };
        s.provider_options
            .insert("background_track".into(), serde_json::json!("office"));
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"machine\":"), "{json}");
        assert!(!json.contains("machine_detection"), "{json}");
        let back: CampaignSettings = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }
}
