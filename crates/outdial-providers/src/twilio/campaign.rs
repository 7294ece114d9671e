//! Which campaign settings Twilio carries out, and the create-call form fields they become.
//!
//! | setting | Twilio |
//! |---|---|
//! | [`AnswerBehaviour::FlowUrl`] | `Url` (TwiML fetched on answer) |
//! | [`AnswerBehaviour::Inline`] | `Twiml` (at most 4,000 characters) |
//! | [`AnswerBehaviour::Agent`] | refused: Twilio runs call flows, not AI agents |
//! | [`DetectionMode::Detect`] / [`DetectionMode::DetectMessageEnd`] | `MachineDetection=Enable` / `DetectMessageEnd` |
//! | [`VoicemailAction`] other than `Continue` | refused: the TwiML flow reads `AnsweredBy` and decides |
//! | `ring_timeout_s` | `Timeout`, 1–600 |
//! | `provider_options` | none accepted |
//!
//! Source: <https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource>
//! (`Url`, `Twiml`, `Timeout` 5–600 with values below 5 raised, `MachineDetection`) and
//! <https://www.twilio.com/docs/voice/answering-machine-detection>.

use outdial_core::campaign::{AnswerBehaviour, DetectionMode, MachineHandling, VoicemailAction};
use outdial_core::CampaignSettings;

/// Largest ring timeout Twilio accepts, in seconds (`Timeout`).
pub const MAX_RING_TIMEOUT_S: u32 = 600;

/// Checks a campaign's settings for Twilio (after [`CampaignSettings::validate`]). Errors
/// name the field.
pub fn check(settings: &CampaignSettings) -> Result<(), String> {
    if settings.ring_timeout_s > MAX_RING_TIMEOUT_S {
        return Err(format!(
            "provider twilio: ring_timeout_s must be 1..={MAX_RING_TIMEOUT_S}, got {}",
            settings.ring_timeout_s
        ));
    }
    answer_field(&settings.answer)?;
    machine_detection(&settings.machine)?;
    check_options(&settings.provider_options)
}

/// The form field that says what happens on answer: `Url` or `Twiml`. Refuses an agent.
pub fn answer_field(answer: &AnswerBehaviour) -> Result<(&'static str, String), String> {
    match answer {
        AnswerBehaviour::FlowUrl { url } => Ok(("Url", url.clone())),
        AnswerBehaviour::Inline { document } => Ok(("Twiml", document.clone())),
        AnswerBehaviour::Agent(_) => Err(
            "provider twilio: answer.kind agent is not supported (Twilio runs a call flow: flow_url or inline TwiML)"
                .into(),
        ),
    }
}

/// The `MachineDetection` value, if any. Refuses an action on a machine other than
/// `Continue`: with Twilio the flow decides (it receives `AnsweredBy`).
pub fn machine_detection(machine: &MachineHandling) -> Result<Option<&'static str>, String> {
    if machine.on_machine != VoicemailAction::Continue {
        return Err(
            "provider twilio: machine.on_machine must be continue (the TwiML flow reads AnsweredBy and decides)"
                .into(),
        );
    }
    Ok(match machine.detection {
        DetectionMode::Off => None,
        DetectionMode::Detect => Some("Enable"),
        DetectionMode::DetectMessageEnd => Some("DetectMessageEnd"),
    })
}

/// Twilio takes no `provider_options`: every key is refused, by name.
pub fn check_options(options: &serde_json::Map<String, serde_json::Value>) -> Result<(), String> {
    if options.is_empty() {
        return Ok(());
    }
    let keys: Vec<&str> = options.keys().map(String::as_str).collect();
    Err(format!(
        "provider twilio: provider_options has keys Twilio does not take: {}",
        keys.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use outdial_core::campaign::{AgentBehaviour, AgentScript};
    use outdial_core::E164;

    fn settings() -> CampaignSettings {
        CampaignSettings::new(
            E164::from_stored("+14155550100").unwrap(),
            AnswerBehaviour::inline("<Response/>"),
        )
    }

    #[test]
    fn flow_settings_pass_and_map_to_form_fields() {
        let mut s = settings();
        assert!(check(&s).is_ok());
        assert_eq!(answer_field(&s.answer).unwrap().0, "Twiml");
        s.answer = AnswerBehaviour::flow_url("https://flows.example.com/a");
        assert_eq!(answer_field(&s.answer).unwrap().0, "Url");
        s.machine = MachineHandling::detect();
        assert_eq!(machine_detection(&s.machine).unwrap(), Some("Enable"));
        s.machine.detection = DetectionMode::DetectMessageEnd;
        assert_eq!(
            machine_detection(&s.machine).unwrap(),
            Some("DetectMessageEnd")
        );
        assert!(check(&s).is_ok());
    }

    #[test]
    fn what_twilio_cannot_do_is_refused_by_field() {
        let mut s = settings();
        s.answer = AnswerBehaviour::Agent(AgentBehaviour {
            script: AgentScript::Task {
                prompt: "Book a visit.".into(),
            },
            voice: None,
            first_sentence: None,
            wait_for_greeting: false,
            record: false,
        });
        assert!(check(&s).unwrap_err().contains("answer.kind agent"));
        let mut s = settings();
        s.machine = MachineHandling {
            detection: DetectionMode::Detect,
            on_machine: VoicemailAction::HangUp,
        };
        assert!(check(&s).unwrap_err().contains("machine.on_machine"));
        let mut s = settings();
        s.ring_timeout_s = 601;
        assert!(check(&s).unwrap_err().contains("ring_timeout_s"));
        let mut s = settings();
        s.provider_options
            .insert("record".into(), serde_json::json!(true));
        assert!(check(&s).unwrap_err().contains("record"));
    }
}
