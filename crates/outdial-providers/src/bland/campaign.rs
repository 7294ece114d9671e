//! Which campaign settings Bland carries out, and the `POST /v1/calls` body fields they
//! become.
//!
//! | setting | Bland body field |
//! |---|---|
//! | [`AnswerBehaviour::Agent`] with [`AgentScript::Pathway`] | `pathway_id`, `start_node_id`, `pathway_version` |
//! | [`AnswerBehaviour::Agent`] with [`AgentScript::Task`] | `task` |
//! | [`AnswerBehaviour::FlowUrl`] / [`AnswerBehaviour::Inline`] | refused: Bland runs AI agents, not call flows |
//! | agent `voice`, `first_sentence`, `wait_for_greeting`, `record` | same names |
//! | [`DetectionMode::Detect`] / [`DetectionMode::DetectMessageEnd`] | `answered_by_enabled: true` (Bland has one detection mode; its voicemail handling waits for the greeting itself) |
//! | [`VoicemailAction::Continue`] / `HangUp` / `LeaveMessage` | `voicemail: {action: "ignore"}` / `{action: "hangup"}` / `{action: "leave_message", message}` |
//! | `max_call_length_s` | `max_duration`, **minutes**, rounded up ([`max_duration_minutes`]) |
//! | `ring_timeout_s` | none: Bland has no ring-timeout field; the engine's end-call bound covers a call that rings on |
//! | `provider_options` | only the keys of [`OPTION_KEYS`], each type-checked |
//!
//! Sources: <https://docs.bland.ai/api-v1/post/calls> (fields, `max_duration` in minutes,
//! default 30), `reference/telephony-apis.md` §6 (voicemail object from Bland's cookbook
//! `01-getting-started/README.md`; `model`, `language`, `temperature` 0–1,
//! `interruption_threshold`, `block_interruptions`, `noise_cancellation`,
//! `background_track`), `reference/bland.md` A1 (`local_dialing`, `timezone`,
//! `sensitive_voicemail_detection`, `ignore_button_press`).

use outdial_core::campaign::{
    AgentBehaviour, AgentScript, AnswerBehaviour, DetectionMode, MachineHandling, VoicemailAction,
};
use outdial_core::CampaignSettings;
use serde_json::{json, Value};

/// What a `provider_options` value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionType {
    /// A JSON boolean.
    Bool,
    /// A non-empty JSON string.
    Text,
    /// A non-empty JSON string, or `null`.
    TextOrNull,
    /// A JSON number, at least 0.
    NonNegative,
    /// A JSON number from 0 to 1.
    Fraction,
}

/// The `provider_options` keys Bland takes: body fields of `POST /v1/calls` that the adapter
/// does not set itself, each with its type. `interruption_threshold` is in milliseconds;
/// `temperature` 0–1; `background_track` e.g. `office`, `cafe`, `restaurant` or null.
pub const OPTION_KEYS: [(&str, OptionType); 11] = [
    ("interruption_threshold", OptionType::NonNegative),
    ("block_interruptions", OptionType::Bool),
    ("noise_cancellation", OptionType::Bool),
    ("background_track", OptionType::TextOrNull),
    ("local_dialing", OptionType::Bool),
    ("language", OptionType::Text),
    ("model", OptionType::Text),
    ("temperature", OptionType::Fraction),
    ("timezone", OptionType::Text),
    ("sensitive_voicemail_detection", OptionType::Bool),
    ("ignore_button_press", OptionType::Bool),
];

/// Checks a campaign's settings for Bland (after [`CampaignSettings::validate`]). Errors
/// start with `provider bland:` and name the field.
pub fn check(settings: &CampaignSettings) -> Result<(), String> {
    agent(&settings.answer)?;
    check_options(&settings.provider_options)
}

/// The agent behaviour Bland carries out; refuses a call flow.
pub fn agent(answer: &AnswerBehaviour) -> Result<&AgentBehaviour, String> {
    match answer {
        AnswerBehaviour::Agent(a) => Ok(a),
        other => Err(format!(
            "provider bland: answer.kind {} is not supported (Bland runs an AI agent: a pathway or a task)",
            other.kind()
        )),
    }
}

/// The body fields of the agent's script: `pathway_id` (+ `start_node_id`,
/// `pathway_version` when set) or `task`.
pub fn script_fields(script: &AgentScript) -> Vec<(&'static str, Value)> {
    match script {
        AgentScript::Pathway {
            id,
            start_node_id,
            version,
        } => {
            let mut f = vec![("pathway_id", json!(id))];
            if let Some(n) = start_node_id {
                f.push(("start_node_id", json!(n)));
            }
            if let Some(v) = version {
                f.push(("pathway_version", json!(v)));
            }
            f
        }
        AgentScript::Task { prompt } => vec![("task", json!(prompt))],
    }
}

/// `answered_by_enabled`: true when detection is on (either mode).
pub fn answered_by_enabled(machine: &MachineHandling) -> bool {
    machine.detection != DetectionMode::Off
}

/// The `voicemail` object for the action on a machine: `{"action":"ignore"}`,
/// `{"action":"hangup"}` or `{"action":"leave_message","message":…}`.
pub fn voicemail(machine: &MachineHandling) -> Value {
    match &machine.on_machine {
        VoicemailAction::Continue => json!({"action": "ignore"}),
        VoicemailAction::HangUp => json!({"action": "hangup"}),
        VoicemailAction::LeaveMessage { message } => {
            json!({"action": "leave_message", "message": message})
        }
    }
}

/// `max_duration` in whole **minutes** for a longest call of `seconds`, rounded up (so the
/// call is never cut before the campaign's bound), at least 1.
pub fn max_duration_minutes(seconds: u32) -> u32 {
    seconds.div_ceil(60).max(1)
}

/// Checks `provider_options` against [`OPTION_KEYS`]: unknown keys (including fields the
/// adapter sets itself, such as `phone_number` or `webhook`) and values of the wrong type are
/// refused by name.
pub fn check_options(options: &serde_json::Map<String, Value>) -> Result<(), String> {
    for (key, value) in options {
        let Some((_, ty)) = OPTION_KEYS.iter().find(|(k, _)| k == key) else {
            let known: Vec<&str> = OPTION_KEYS.iter().map(|(k, _)| *k).collect();
            return Err(format!(
                "provider bland: provider_options.{key} is not accepted (accepted: {})",
                known.join(", ")
            ));
        };
        let ok = match ty {
            OptionType::Bool => value.is_boolean(),
            OptionType::Text => value.as_str().is_some_and(|s| !s.trim().is_empty()),
            OptionType::TextOrNull => {
                value.is_null() || value.as_str().is_some_and(|s| !s.trim().is_empty())
            }
            OptionType::NonNegative => value.as_f64().is_some_and(|n| n >= 0.0),
            OptionType::Fraction => value.as_f64().is_some_and(|n| (0.0..=1.0).contains(&n)),
        };
        if !ok {
            let want = match ty {
                OptionType::Bool => "a boolean",
                OptionType::Text => "a non-empty string",
                OptionType::TextOrNull => "a non-empty string or null",
                OptionType::NonNegative => "a number >= 0",
                OptionType::Fraction => "a number from 0 to 1",
            };
            return Err(format!(
                "provider bland: provider_options.{key} must be {want}, got {value}"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use outdial_core::{ProviderKind, E164};

    pub(crate) fn agent_settings() -> CampaignSettings {
        let mut s = CampaignSettings::new(
            E164::from_stored("+14155550100").unwrap(),
            AnswerBehaviour::Agent(AgentBehaviour {
                script: AgentScript::Task {
                    prompt: "Book a visit.".into(),
                },
                voice: None,
                first_sentence: None,
                wait_for_greeting: false,
                record: false,
            }),
        );
        s.provider = ProviderKind::Bland;
        s
    }

    #[test]
    fn agent_settings_pass_with_every_voicemail_action() {
        let mut s = agent_settings();
        assert!(crate::check_campaign(&s).is_ok());
        for action in [
            VoicemailAction::Continue,
            VoicemailAction::HangUp,
            VoicemailAction::LeaveMessage {
                message: "Call us back.".into(),
            },
        ] {
            s.machine = MachineHandling {
                detection: DetectionMode::Detect,
                on_machine: action,
            };
            assert!(crate::check_campaign(&s).is_ok());
        }
        assert_eq!(
            voicemail(&s.machine),
            json!({"action":"leave_message","message":"Call us back."})
        );
        s.provider_options.insert("temperature".into(), json!(0.4));
        s.provider_options
            .insert("background_track".into(), Value::Null);
        s.provider_options
            .insert("local_dialing".into(), json!(true));
        assert!(crate::check_campaign(&s).is_ok());
    }

    #[test]
    fn flows_and_bad_options_are_refused_by_field() {
        let mut s = agent_settings();
        s.answer = AnswerBehaviour::inline("<Response/>");
        let e = crate::check_campaign(&s).unwrap_err();
        assert!(
            e.starts_with("provider bland:") && e.contains("answer.kind"),
            "{e}"
        );
        for (k, v) in [
            ("webhook", json!("https://x")),
            ("phone_number", json!("+1")),
            ("temperature", json!(1.5)),
            ("local_dialing", json!("yes")),
            ("language", json!("")),
            ("interruption_threshold", json!(-1)),
        ] {
            let mut s = agent_settings();
            s.provider_options.insert(k.into(), v);
            let e = crate::check_campaign(&s).unwrap_err();
            assert!(
                e.starts_with("provider bland:") && e.contains(&format!("provider_options.{k}")),
                "{e}"
            );
        }
    }

    #[test]
    fn minutes_round_up() {
        assert_eq!(max_duration_minutes(1), 1);
        assert_eq!(max_duration_minutes(60), 1);
        assert_eq!(max_duration_minutes(61), 2);
        assert_eq!(max_duration_minutes(3600), 60);
        assert_eq!(max_duration_minutes(u32::MAX), u32::MAX.div_ceil(60));
    }
}
