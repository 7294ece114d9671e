//! What a call does once answered, and what happens when a machine answers: in domain terms,
//! for every provider. Which of these a provider can carry out is the provider adapter's
//! check (`outdial_providers::check_campaign`); this module only checks what holds for all.
//!
//! | setting | a flow provider (TwiML documents) | an agent provider (AI voice agent) |
//! |---|---|---|
//! | [`AnswerBehaviour::FlowUrl`], [`AnswerBehaviour::Inline`] | fetched or inline flow document | refused |
//! | [`AnswerBehaviour::Agent`] | refused | a pathway or a task prompt, a voice, a first sentence |
//! | [`DetectionMode`] | answering-machine detection mode | answered-by detection on or off |
//! | [`VoicemailAction`] | only `Continue` (the flow reads the answered-by value) | hang up, leave a message or carry on |

use serde::{Deserialize, Deserializer, Serialize};

/// Longest inline flow document accepted, in characters: the strictest limit of the
/// providers outdial speaks (each adapter cites its own).
pub const MAX_INLINE_DOCUMENT_CHARS: usize = 4000;

/// What the provider does when the call is answered.
///
/// Stored as JSON with the campaign, tagged by `kind`: `flow_url`, `inline`, `agent`.
/// Campaigns stored before this shape (`twiml_url` with `url`, `twiml` with `twiml`) load
/// as [`FlowUrl`](AnswerBehaviour::FlowUrl) and [`Inline`](AnswerBehaviour::Inline).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AnswerBehaviour {
    /// The provider fetches the call flow from this absolute http(s) URL on answer.
    #[serde(alias = "twiml_url")]
    FlowUrl {
        /// The URL.
        url: String,
    },
    /// The call flow document itself, at most [`MAX_INLINE_DOCUMENT_CHARS`] characters.
    #[serde(alias = "twiml")]
    Inline {
        /// The document.
        #[serde(alias = "twiml")]
        document: String,
    },
    /// An AI voice agent holds the conversation.
    Agent(AgentBehaviour),
}

impl AnswerBehaviour {
    /// An inline flow document.
    pub fn inline(document: impl Into<String>) -> Self {
        AnswerBehaviour::Inline {
            document: document.into(),
        }
    }

    /// A flow fetched from `url`.
    pub fn flow_url(url: impl Into<String>) -> Self {
        AnswerBehaviour::FlowUrl { url: url.into() }
    }

    /// The stable name of the kind (`flow_url`, `inline`, `agent`), as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            AnswerBehaviour::FlowUrl { .. } => "flow_url",
            AnswerBehaviour::Inline { .. } => "inline",
            AnswerBehaviour::Agent(_) => "agent",
        }
    }

    /// Checks what holds for every provider. Errors name the field: a flow URL must be an
    /// absolute http(s) URL; an inline document must be non-empty and at most
    /// [`MAX_INLINE_DOCUMENT_CHARS`]; an agent's script must be non-empty (see
    /// [`AgentBehaviour::validate`]).
    pub fn validate(&self) -> Result<(), String> {
        match self {
            AnswerBehaviour::FlowUrl { url } => {
                if url.starts_with("http://") || url.starts_with("https://") {
                    Ok(())
                } else {
                    Err(format!(
                        "answer.url must be an absolute http(s) URL, got '{url}'"
                    ))
                }
            }
            AnswerBehaviour::Inline { document } => {
                let n = document.chars().count();
                if n == 0 {
                    Err("answer.document is empty".into())
                } else if n > MAX_INLINE_DOCUMENT_CHARS {
                    Err(format!(
                        "answer.document is {n} characters, more than {MAX_INLINE_DOCUMENT_CHARS}"
                    ))
                } else {
                    Ok(())
                }
            }
            AnswerBehaviour::Agent(agent) => agent.validate(),
        }
    }
}

/// An AI voice agent's part of a campaign: what it follows and how it sounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentBehaviour {
    /// What the agent follows.
    pub script: AgentScript,
    /// The voice's name at the provider (`None`: the provider's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
    /// The first thing the agent says (`None`: the script decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_sentence: Option<String>,
    /// Wait for the called party to speak first.
    #[serde(default)]
    pub wait_for_greeting: bool,
    /// Record the call.
    #[serde(default)]
    pub record: bool,
}

impl AgentBehaviour {
    /// Checks the agent settings: a non-empty pathway id or task prompt, a non-empty voice
    /// name when one is given. Errors name the field.
    pub fn validate(&self) -> Result<(), String> {
        match &self.script {
            AgentScript::Pathway { id, .. } if id.trim().is_empty() => {
                return Err("answer.script.pathway.id is empty".into())
            }
            AgentScript::Task { prompt } if prompt.trim().is_empty() => {
                return Err("answer.script.task.prompt is empty".into())
            }
            _ => {}
        }
        if self.voice.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err("answer.voice is empty (leave it out for the provider's default)".into());
        }
        Ok(())
    }
}

/// What an AI voice agent follows: a conversation pathway built at the provider, or a task
/// prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentScript {
    /// A pathway defined at the provider.
    Pathway {
        /// The pathway's id.
        id: String,
        /// Node to start at (`None`: the pathway's start).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start_node_id: Option<String>,
        /// Pathway version (`None`: the published one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
    },
    /// A task prompt the agent follows.
    Task {
        /// The prompt.
        prompt: String,
    },
}

/// How answering machines are handled: whether the provider tells a human from a machine,
/// and what the call does when a machine answers.
///
/// Stored as `machine` with the campaign. Campaigns stored before this shape carry
/// `machine_detection: "Enable" | "DetectMessageEnd"`, which loads as
/// [`DetectionMode::Detect`] / [`DetectionMode::DetectMessageEnd`] with
/// [`VoicemailAction::Continue`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineHandling {
    /// Whether and how to detect a machine.
    #[serde(default)]
    pub detection: DetectionMode,
    /// What the call does when a machine answers.
    #[serde(default)]
    pub on_machine: VoicemailAction,
}

impl MachineHandling {
    /// Detection on (`Detect`), the flow or agent carries on when a machine answers.
    pub fn detect() -> Self {
        MachineHandling {
            detection: DetectionMode::Detect,
            on_machine: VoicemailAction::Continue,
        }
    }

    /// Checks what holds for every provider: an action on a machine needs detection, and a
    /// message to leave must be non-empty. Errors name the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.detection == DetectionMode::Off && self.on_machine != VoicemailAction::Continue {
            return Err(
                "machine.on_machine needs machine.detection (detect or detect_message_end)".into(),
            );
        }
        if let VoicemailAction::LeaveMessage { message } = &self.on_machine {
            if message.trim().is_empty() {
                return Err("machine.on_machine.leave_message.message is empty".into());
            }
        }
        Ok(())
    }

    /// Reads the stored value: the current object, or the string of the earlier shape.
    pub(crate) fn deserialize_stored<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Null => Ok(MachineHandling::default()),
            serde_json::Value::String(s) => {
                let detection = match s.as_str() {
                    "" => DetectionMode::Off,
                    "Enable" => DetectionMode::Detect,
                    "DetectMessageEnd" => DetectionMode::DetectMessageEnd,
                    other => {
                        return Err(D::Error::custom(format!(
                            "machine_detection must be Enable or DetectMessageEnd, got '{other}'"
                        )))
                    }
                };
                Ok(MachineHandling {
                    detection,
                    on_machine: VoicemailAction::Continue,
                })
            }
            v => serde_json::from_value(v).map_err(D::Error::custom),
        }
    }
}

/// Whether the provider tells a human from a machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectionMode {
    /// No detection: answered calls are reported without who answered.
    #[default]
    Off,
    /// Detect as soon as possible (a human or a machine), and report who answered.
    Detect,
    /// Detect, and when a machine answers wait for the end of its greeting (so a message
    /// left lands after the beep).
    DetectMessageEnd,
}

/// What the call does when a machine answers (with detection on).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum VoicemailAction {
    /// Nothing special: the flow or agent carries on (and may read who answered).
    #[default]
    Continue,
    /// Hang up.
    HangUp,
    /// Leave this message, then hang up.
    LeaveMessage {
        /// The message, spoken by the provider.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_json() {
        let kinds = [
            AnswerBehaviour::flow_url("https://flows.example.com/a"),
            AnswerBehaviour::inline("<Response/>"),
            AnswerBehaviour::Agent(AgentBehaviour {
                script: AgentScript::Pathway {
                    id: "p-1".into(),
                    start_node_id: Some("n-2".into()),
                    version: None,
                },
                voice: Some("maya".into()),
                first_sentence: None,
                wait_for_greeting: true,
                record: false,
            }),
            AnswerBehaviour::Agent(AgentBehaviour {
                script: AgentScript::Task {
                    prompt: "Book a visit.".into(),
                },
                voice: None,
                first_sentence: Some("Hi!".into()),
                wait_for_greeting: false,
                record: true,
            }),
        ];
        for k in kinds {
            let json = serde_json::to_string(&k).unwrap();
            assert!(
                json.contains(&format!("\"kind\":\"{}\"", k.kind())),
                "{json}"
            );
            assert_eq!(serde_json::from_str::<AnswerBehaviour>(&json).unwrap(), k);
            assert!(k.validate().is_ok(), "{json}");
        }
    }

    #[test]
    fn common_checks_name_the_field() {
        let e = AnswerBehaviour::flow_url("flows/a").validate().unwrap_err();
        assert!(e.contains("answer.url"), "{e}");
        let long = "x".repeat(MAX_INLINE_DOCUMENT_CHARS + 1);
        let e = AnswerBehaviour::inline(long).validate().unwrap_err();
        assert!(e.contains("answer.document"), "{e}");
        assert!(
            AnswerBehaviour::inline("x".repeat(MAX_INLINE_DOCUMENT_CHARS))
                .validate()
                .is_ok()
        );
        let agent = AnswerBehaviour::Agent(AgentBehaviour {
            script: AgentScript::Task { prompt: " ".into() },
            voice: None,
            first_sentence: None,
            wait_for_greeting: false,
            record: false,
        });
        assert!(agent.validate().unwrap_err().contains("prompt"));
        let m = MachineHandling {
            detection: DetectionMode::Off,
            on_machine: VoicemailAction::HangUp,
        };
        assert!(m.validate().unwrap_err().contains("machine.detection"));
        let m = MachineHandling {
            detection: DetectionMode::Detect,
            on_machine: VoicemailAction::LeaveMessage { message: "".into() },
        };
        assert!(m.validate().unwrap_err().contains("message"));
    }

    #[test]
    fn machine_handling_round_trips() {
        let m = MachineHandling {
            detection: DetectionMode::DetectMessageEnd,
            on_machine: VoicemailAction::LeaveMessage {
                message: "Call us back.".into(),
            },
        };
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"detection": "detect_message_end",
                "on_machine": {"action": "leave_message", "message": "Call us back."}})
        );
        assert_eq!(serde_json::from_value::<MachineHandling>(json).unwrap(), m);
    }
}
