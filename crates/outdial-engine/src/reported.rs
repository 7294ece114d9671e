//! A final provider event that also reports the call's business outcome: a label the
//! provider's call flow chose (an AI agent's tag from the campaign's disposition codes).
//!
//! The label is resolved through the campaign's [`DispositionCatalog`] (codes and aliases,
//! so `transfer`, `TRANSFERRED` and `TRANSFER_SALE` are each one configurable entry) and
//! recorded as the attempt's requested disposition *before* the final event is applied, so
//! concluding the attempt uses it instead of the automatic one. Rules:
//! - a call answered by a machine keeps its automatic disposition (`VOICEMAIL`, `FAX`): what
//!   the flow says after talking to a machine is not a business outcome;
//! - a label the catalog does not know changes nothing (it stays in the stored raw event and
//!   is logged); the event itself is applied as usual;
//! - a label is taken once per attempt: once the attempt has a requested disposition (from an
//!   earlier delivery of the same body, the provider's second POST, an agent or the API),
//!   later labels are left alone, so a replay changes nothing;
//! - if the attempt was concluded before the event arrived (the reconciler heard of the end
//!   first) and has no requested disposition, the label decides the lead again
//!   ([`Engine::set_disposition`]), unless it equals the disposition already given.
//!
//! [`DispositionCatalog`]: outdial_core::DispositionCatalog

use outdial_core::{AttemptId, CallEvent, CallPrice, Disposition};
use outdial_store::{EventOutcome, RawEvent, StoreError};
use serde::Serialize;

use crate::{Engine, EngineError};

/// What became of the label reported with a final event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReportedDisposition {
    /// No label was reported.
    None,
    /// Recorded as the attempt's requested disposition; conclusion applies it.
    Requested {
        /// The catalog code.
        disposition: Disposition,
    },
    /// The attempt had already been concluded: the lead was decided again from the label.
    Redisposed {
        /// The catalog code.
        disposition: Disposition,
    },
    /// The label resolves to the disposition the concluded attempt already has.
    Unchanged {
        /// The catalog code.
        disposition: Disposition,
    },
    /// The catalog knows neither a code nor an alias for the label.
    Unknown {
        /// The label as reported.
        label: String,
    },
    /// Not applied, for the reason given (a machine answered, the attempt already has a
    /// requested disposition, no attempt is known, the lead has moved on).
    Ignored {
        /// Why.
        reason: String,
    },
}

/// What [`Engine::ingest_call_result`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct CallResultOutcome {
    /// What applying the event did.
    pub event: EventOutcome,
    /// What became of the reported label.
    pub disposition: ReportedDisposition,
}

/// What to do with the label once the event is applied.
enum After {
    Nothing,
    Conclude(AttemptId),
    Redispose(AttemptId, Disposition, Option<Disposition>),
}

impl Engine {
    /// Records what the provider charged for the call of the attempt `outcome` applied to
    /// (the first price reported is kept: [`outdial_store::Attempts::record_attempt_price`]).
    /// Answers whether a price was recorded; nothing is done without a price or for a
    /// duplicate or unknown call.
    ///
    /// Errors: the store's.
    pub async fn record_price(
        &self,
        outcome: &EventOutcome,
        price: Option<&CallPrice>,
    ) -> Result<bool, EngineError> {
        let (Some(id), Some(price)) = (outcome.attempt_id(), price) else {
            return Ok(false);
        };
        Ok(self
            .store
            .record_attempt_price(id, price, self.clock.now())
            .await?)
    }

    /// Applies a verified, parsed **final** provider event (as [`Engine::ingest_call_event`])
    /// that reports the call's outcome as `label` (see the module docs for the rules). The
    /// requested disposition is recorded with `raw.source` as its source. `attempt_hint` is
    /// the attempt id carried in the callback URL; without it no label is applied.
    ///
    /// Errors: the store's (the caller answers so that the provider retries; a retry
    /// completes what was left undone, and repeats nothing that was done).
    #[tracing::instrument(skip_all, fields(call_id = %event.call_id, status = event.status.as_str(), label))]
    pub async fn ingest_call_result(
        &self,
        attempt_hint: Option<AttemptId>,
        event: &CallEvent,
        raw: &RawEvent,
        label: Option<&str>,
    ) -> Result<CallResultOutcome, EngineError> {
        let (mut disposition, after) = match label {
            None => (ReportedDisposition::None, After::Nothing),
            Some(label) => self.take_label(attempt_hint, event, label, raw).await?,
        };
        let outcome = self.ingest_call_event(attempt_hint, event, raw).await?;
        match after {
            After::Nothing => {}
            After::Conclude(id) => {
                // Final but not concluded before (the reconciler ended it): conclude now.
                self.conclude(id, self.clock.now()).await?;
            }
            After::Redispose(id, d, current) => {
                disposition = if current.as_ref() == Some(&d) {
                    ReportedDisposition::Unchanged { disposition: d }
                } else {
                    match self
                        .set_disposition(id, d.as_str(), None, &raw.source)
                        .await
                    {
                        Ok(_) => ReportedDisposition::Redisposed { disposition: d },
                        Err(EngineError::Conflict(why)) => {
                            tracing::warn!(%why, "reported disposition not applied: the lead has moved on");
                            ReportedDisposition::Ignored {
                                reason: format!("the lead has moved on: {why}"),
                            }
                        }
                        Err(e) => return Err(e),
                    }
                };
            }
        }
        tracing::debug!(?disposition, "call result ingested");
        Ok(CallResultOutcome {
            event: outcome,
            disposition,
        })
    }

    /// Resolves `label` for the hinted attempt and records it as requested when the attempt is
    /// not concluded yet; says what is left to do once the event is applied.
    async fn take_label(
        &self,
        attempt_hint: Option<AttemptId>,
        event: &CallEvent,
        label: &str,
        raw: &RawEvent,
    ) -> Result<(ReportedDisposition, After), EngineError> {
        let ignored = |reason: &str| {
            tracing::info!(reason, "reported disposition not applied");
            Ok((
                ReportedDisposition::Ignored {
                    reason: reason.to_owned(),
                },
                After::Nothing,
            ))
        };
        if !event.status.is_final() {
            return ignored("the event is not final");
        }
        if event.answered_by.is_some_and(|a| a.is_machine()) {
            return ignored("a machine answered: the automatic disposition stands");
        }
        let Some(id) = attempt_hint else {
            return ignored("the event names no attempt");
        };
        let Some(attempt) = self.store.attempt(id).await? else {
            return ignored("no such attempt");
        };
        if attempt
            .call_id
            .as_ref()
            .is_some_and(|c| *c != event.call_id)
        {
            return ignored("the attempt belongs to another call");
        }
        if attempt.requested_disposition.is_some() {
            // A replay, the provider's second delivery, or an outcome reported otherwise.
            return ignored("the attempt already has a requested disposition");
        }
        let campaign = self.campaign(attempt.campaign_id).await?;
        let Some(d) = campaign.settings.dispositions.resolve(label) else {
            tracing::warn!(
                label,
                campaign = %campaign.id,
                "reported disposition is not in the campaign's catalog; kept in the raw event only"
            );
            return Ok((
                ReportedDisposition::Unknown {
                    label: label.to_owned(),
                },
                After::Nothing,
            ));
        };
        let now = self.clock.now();
        if attempt.concluded_at.is_none()
            && self
                .store
                .request_disposition(id, &d, None, &raw.source, now)
                .await
                .map_err(EngineError::Store)
                .inspect_err(|e| self.note_error(e))?
        {
            let after = if attempt.state.is_final() {
                After::Conclude(id)
            } else {
                After::Nothing
            };
            return Ok((ReportedDisposition::Requested { disposition: d }, after));
        }
        // Concluded already (before this event, or in between): decide again afterwards.
        let current = match self.store.attempt(id).await? {
            Some(a) => a.disposition,
            None => return Err(StoreError::not_found("attempt", id).into()),
        };
        // The placeholder is replaced once the redisposition is done.
        Ok((ReportedDisposition::None, After::Redispose(id, d, current)))
    }
}
