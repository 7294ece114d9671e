//! Handlers of the durable jobs `serve` runs (see `outdial_engine::jobs`):
//! - `alert.email`, `alert.chat` — payload `{"alert_id": N}`: deliver the stored alert
//!   through the configured SMTP server or chat webhook;
//! - `crm.attempt_concluded` — payload `{"attempt_id": N}`: POST the concluded attempt and its
//!   lead (ids, phone, disposition, call status, duration, the lead's status and next attempt
//!   time) to the configured CRM webhook.
//!
//! Each handler loads its records by id when it runs; a record that no longer exists is a
//! permanent failure (dead letter), a payload without the id is dead-lettered at once.

use async_trait::async_trait;
use outdial_core::AttemptId;
use outdial_engine::jobs::payload_id;
use outdial_engine::{JobError, JobHandler};
use outdial_notify::{Channel, Message, SendError};
use outdial_store::{AlertId, Job, Store};
use std::sync::Arc;

/// Job kind of e-mail alert deliveries.
pub const ALERT_EMAIL: &str = "alert.email";
/// Job kind of chat alert deliveries.
pub const ALERT_CHAT: &str = "alert.chat";
/// Job kind of CRM notifications after an attempt is concluded.
pub const CRM_ATTEMPT_CONCLUDED: &str = "crm.attempt_concluded";

fn send_error(e: SendError) -> JobError {
    match e {
        SendError::Transient { code, message } => JobError::Transient { code, message },
        SendError::Permanent { code, message } => JobError::Permanent { code, message },
    }
}

fn store_error(e: outdial_store::StoreError) -> JobError {
    JobError::Transient {
        code: "store".into(),
        message: e.to_string(),
    }
}

/// Delivers stored alerts through one channel.
#[derive(Debug)]
pub struct AlertDelivery {
    /// Where to.
    pub channel: Arc<dyn Channel>,
}

#[async_trait]
impl JobHandler for AlertDelivery {
    async fn run(&self, store: &dyn Store, job: &Job) -> Result<(), JobError> {
        let id = AlertId(payload_id(job, "alert_id")?);
        let alert =
            store
                .alert(id)
                .await
                .map_err(store_error)?
                .ok_or_else(|| JobError::Permanent {
                    code: "not_found".into(),
                    message: format!("alert {id} does not exist"),
                })?;
        let msg = Message::new(alert.subject.clone(), alert.body.clone()).with_fields(
            serde_json::json!({
                "alert_id": alert.id.0,
                "kind": alert.kind,
                "scope": alert.scope,
                "raised_at": alert.raised_at,
            }),
        );
        self.channel.send(&msg).await.map_err(send_error)
    }
}

/// Posts concluded attempts to a CRM.
#[derive(Debug)]
pub struct CrmNotification {
    /// Where to.
    pub channel: Arc<dyn Channel>,
}

#[async_trait]
impl JobHandler for CrmNotification {
    async fn run(&self, store: &dyn Store, job: &Job) -> Result<(), JobError> {
        let id = AttemptId(payload_id(job, "attempt_id")?);
        let attempt = store
            .attempt(id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| JobError::Permanent {
                code: "not_found".into(),
                message: format!("attempt {id} does not exist"),
            })?;
        let lead = store
            .lead(attempt.lead_id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| JobError::Permanent {
                code: "not_found".into(),
                message: format!("lead {} does not exist", attempt.lead_id),
            })?;
        let disposition = attempt
            .disposition
            .as_ref()
            .map(|d| d.to_string())
            .unwrap_or_default();
        let msg = Message::new(
            format!("attempt {} concluded: {disposition}", attempt.id),
            format!(
                "Lead {} ({}) attempt {} ended {}; lead is now {}.",
                lead.id,
                lead.phone,
                attempt.id,
                attempt.call_status.map_or("without a call", |s| s.as_str()),
                lead.status.as_str()
            ),
        )
        .with_fields(serde_json::json!({
            "event": "attempt.concluded",
            "attempt_id": attempt.id.0,
            "lead_id": lead.id.0,
            "campaign_id": lead.campaign_id.0,
            "phone": lead.phone.to_string(),
            "external_id": lead.contact.external_id,
            "attempt_number": attempt.number,
            "call_id": attempt.call_id.as_ref().map(|c| c.as_str().to_owned()),
            "call_status": attempt.call_status.map(|s| s.as_str()),
            "answered_by": attempt.answered_by.map(|a| a.as_str()),
            "duration_s": attempt.duration_s,
            "disposition": disposition,
            "reserved_at": attempt.reserved_at,
            "ended_at": attempt.ended_at,
            "lead_status": lead.status.as_str(),
            "next_attempt_at": lead.next_attempt_at,
        }));
        self.channel.send(&msg).await.map_err(send_error)
    }
}
