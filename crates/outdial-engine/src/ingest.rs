//! Ingesting verified, parsed provider events (webhooks).

use outdial_core::{AttemptId, CallEvent};
use outdial_store::{EventOutcome, RawEvent};

use crate::{Engine, EngineError};

impl Engine {
    /// Applies a verified, parsed provider event. `attempt_hint` is the attempt id carried
    /// in the callback URL; `raw` is the payload as received, stored in the same transaction.
    /// A final event concludes the attempt at once when
    /// [`EngineConfig::conclude_on_ingest`](crate::EngineConfig::conclude_on_ingest) is set;
    /// otherwise the next tick concludes it.
    #[tracing::instrument(skip_all, fields(call_id = %event.call_id, status = event.status.as_str()))]
    pub async fn ingest_call_event(
        &self,
        attempt_hint: Option<AttemptId>,
        event: &CallEvent,
        raw: &RawEvent,
    ) -> Result<EventOutcome, EngineError> {
        let now = self.clock.now();
        let outcome = match self
            .store
            .apply_call_event(attempt_hint, event, raw, now)
            .await
        {
            Ok(o) => o,
            Err(e) => {
                let e = EngineError::Store(e);
                self.note_error(&e);
                return Err(e);
            }
        };
        match &outcome {
            EventOutcome::Applied { attempt, .. }
                if attempt.state.is_final() && self.config.conclude_on_ingest =>
            {
                self.conclude(attempt.id, now).await?;
            }
            EventOutcome::UnknownCall => {
                tracing::warn!(
                    "event for a call outdial has no attempt for; recorded, nothing changed"
                );
            }
            _ => {}
        }
        Ok(outcome)
    }
}
