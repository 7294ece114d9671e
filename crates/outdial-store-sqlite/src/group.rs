//! Group commit of provider events: [`Attempts::apply_call_event`] calls that arrive
//! together (concurrent webhooks) are applied in one write transaction and answered only
//! once that transaction has committed. One `COMMIT` (one WAL sync under
//! `synchronous=FULL`) then serves many callbacks, instead of one each.
//!
//! A batch is first applied as it comes, event after event, with no savepoints (each
//! statement is a hand-off to the driver's worker thread, and a savepoint and its release
//! are two more per event: issue 13's webhook profile). Should one event fail, nothing of
//! that transaction is kept: it rolls back, and the batch is applied again with each event
//! inside its own savepoint, so that the one that fails is rolled back alone.
//!
//! Nothing is acknowledged before it is durable: every caller waits for the commit of the
//! batch that holds its event, and when that commit fails every caller of the batch gets
//! [`StoreError::Unavailable`] (nothing of the batch was saved). Each event is applied with
//! exactly the statements, and in the order, a transaction of its own would run, so the
//! outcome of each (applied, duplicate, late, stale, unknown call) is the one it would have
//! had alone, given the events before it in the batch. A batch holds at most
//! [`MAX_BATCH`] events and waits for nothing: it takes the events already queued when the
//! previous batch ends.
//!
//! [`Attempts::apply_call_event`]: outdial_store::Attempts::apply_call_event

use chrono::{DateTime, Utc};
use outdial_core::{AttemptId, CallEvent};
use outdial_store::{EventOutcome, RawEvent, StoreError, StoreResult};
use sqlx::{SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::tx::{backend, WriteTx};

/// Most events applied in one transaction.
pub(crate) const MAX_BATCH: usize = 128;

/// Events waiting for the writer; more callers than this wait to enqueue.
const QUEUE: usize = 4_096;

/// One queued event and where its outcome goes.
struct Job {
    hint: Option<AttemptId>,
    event: CallEvent,
    raw: RawEvent,
    now: DateTime<Utc>,
    reply: oneshot::Sender<StoreResult<EventOutcome>>,
}

/// The queue of events waiting to be applied, and the writer task draining it.
#[derive(Debug, Clone)]
pub(crate) struct EventQueue {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("call_id", &self.event.call_id)
            .finish()
    }
}

impl EventQueue {
    /// Starts the writer task on the current Tokio runtime, writing through `pool`. The task
    /// ends when every clone of the queue is dropped.
    pub(crate) fn start(pool: SqlitePool) -> EventQueue {
        let (jobs, rx) = mpsc::channel(QUEUE);
        tokio::spawn(writer(pool, rx));
        EventQueue { jobs }
    }

    /// Applies one event in the next batch and returns its outcome once the batch has
    /// committed. Errors: those of the event's own statements (nothing of it saved, the rest
    /// of the batch unaffected), or [`StoreError::Unavailable`] when the batch's transaction
    /// could not begin or commit, or the writer is gone (the store was closed).
    pub(crate) async fn apply(
        &self,
        hint: Option<AttemptId>,
        event: &CallEvent,
        raw: &RawEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<EventOutcome> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            hint,
            event: event.clone(),
            raw: raw.clone(),
            now,
            reply,
        };
        if self.jobs.send(job).await.is_err() {
            return Err(gone());
        }
        answer.await.unwrap_or_else(|_| Err(gone()))
    }
}

fn gone() -> StoreError {
    StoreError::Unavailable {
        message: "the SQLite event writer has stopped (the store is closed)".into(),
        source: None,
    }
}

async fn writer(pool: SqlitePool, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        run_batch(&pool, std::mem::take(&mut batch)).await;
    }
}

/// A failure of the batch as a whole, for each of its callers.
fn batch_failed(e: &StoreError) -> StoreError {
    StoreError::Unavailable {
        message: format!("the transaction of a batch of events failed: {e}"),
        source: None,
    }
}

/// The result of one event's statements (inner), inside its savepoint (outer: the
/// savepoint itself failed). Boxed, so that the writer task's future is `Send` (the
/// compiler cannot see it through sqlx's executor lifetimes otherwise).
fn one_event<'a>(
    tx: &'a mut SqliteConnection,
    j: &'a Job,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = StoreResult<StoreResult<EventOutcome>>> + Send + 'a>,
> {
    Box::pin(async move {
        sqlx::query("SAVEPOINT event")
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let r = crate::attempts::apply_in_tx(tx, j.hint, &j.event, &j.raw, j.now).await;
        if r.is_err() {
            sqlx::query("ROLLBACK TO event")
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        sqlx::query("RELEASE event")
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        Ok(r)
    })
}

/// How the optimistic pass over a batch ended.
enum Pass {
    /// Every event applied and the transaction committed: their outcomes, in order.
    Committed(Vec<EventOutcome>),
    /// The transaction could not begin or commit: nothing of the batch was saved.
    Failed(StoreError),
    /// An event failed; the transaction was rolled back (nothing saved).
    EventFailed,
}

/// Applies the batch's events in one transaction without savepoints.
async fn optimistic(pool: &SqlitePool, jobs: &[Job]) -> Pass {
    let mut tx = match WriteTx::begin(pool).await {
        Ok(tx) => tx,
        Err(e) => return Pass::Failed(e),
    };
    let mut outcomes = Vec::with_capacity(jobs.len());
    for j in jobs {
        match crate::attempts::apply_in_tx(&mut tx, j.hint, &j.event, &j.raw, j.now).await {
            Ok(outcome) => outcomes.push(outcome),
            // Dropping the transaction rolls it back.
            Err(_) => return Pass::EventFailed,
        }
    }
    match tx.commit().await {
        Ok(()) => Pass::Committed(outcomes),
        Err(e) => Pass::Failed(e),
    }
}

async fn run_batch(pool: &SqlitePool, jobs: Vec<Job>) {
    match optimistic(pool, &jobs).await {
        Pass::Committed(outcomes) => {
            for (j, outcome) in jobs.into_iter().zip(outcomes) {
                let _ = j.reply.send(Ok(outcome));
            }
        }
        Pass::Failed(e) => {
            for j in jobs {
                let _ = j.reply.send(Err(batch_failed(&e)));
            }
        }
        Pass::EventFailed => one_by_one(pool, jobs).await,
    }
}

/// The batch again, each event inside its own savepoint: one that fails is rolled back
/// alone and its caller gets its error; the others commit together.
async fn one_by_one(pool: &SqlitePool, jobs: Vec<Job>) {
    let mut tx = match WriteTx::begin(pool).await {
        Ok(tx) => tx,
        Err(e) => {
            for j in jobs {
                let _ = j.reply.send(Err(batch_failed(&e)));
            }
            return;
        }
    };
    let mut done: Vec<(oneshot::Sender<StoreResult<EventOutcome>>, EventOutcome)> =
        Vec::with_capacity(jobs.len());
    let mut jobs = jobs.into_iter();
    while let Some(j) = jobs.next() {
        let step = one_event(&mut tx, &j).await;
        match step {
            Ok(Ok(outcome)) => done.push((j.reply, outcome)),
            // This event alone failed; nothing of it is kept.
            Ok(Err(e)) if !matches!(e, StoreError::Unavailable { .. }) => {
                let _ = j.reply.send(Err(e));
            }
            // The storage failed (or a savepoint could not be handled): nothing of the batch
            // is committed.
            Ok(Err(e)) | Err(e) => {
                let shared = batch_failed(&e);
                let _ = j.reply.send(Err(e));
                for (reply, _) in done {
                    let _ = reply.send(Err(batch_failed(&shared)));
                }
                for rest in jobs {
                    let _ = rest.reply.send(Err(batch_failed(&shared)));
                }
                return;
            }
        }
    }
    match tx.commit().await {
        Ok(()) => {
            for (reply, outcome) in done {
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(e) => {
            for (reply, _) in done {
                let _ = reply.send(Err(batch_failed(&e)));
            }
        }
    }
}
