//! [`CrashProvider`]: the provider as a crashing engine sees it (see the parent module).

use super::*;

/// The provider as a crashing engine sees it.
#[derive(Debug)]
pub struct CrashProvider {
    inner: Arc<dyn Provider>,
    ctl: Arc<CrashCtl>,
    generation: u64,
}

impl CrashProvider {
    /// Wraps `inner` for the engine of `generation`.
    pub fn new(inner: Arc<dyn Provider>, ctl: Arc<CrashCtl>, generation: u64) -> CrashProvider {
        CrashProvider {
            inner,
            ctl,
            generation,
        }
    }
}

fn down() -> FetchError {
    FetchError::Unavailable("simulated crash".into())
}

macro_rules! pguard {
    ($s:ident, $op:literal, $err:expr, $call:expr) => {{
        let gate = $s.ctl.enter($s.generation, $op).ok_or($err)?;
        let r = $call.await;
        if gate == Gate::CrashAfter {
            $s.ctl.crash_after($op);
        }
        if !$s.ctl.alive($s.generation) {
            return Err($err);
        }
        r
    }};
}

#[async_trait]
impl Provider for CrashProvider {
    fn status_callback_url(&self, public_url: &str, attempt: AttemptId) -> String {
        self.inner.status_callback_url(public_url, attempt)
    }

    fn webhook_source(&self) -> &'static str {
        self.inner.webhook_source()
    }

    async fn place_call(&self, req: &PlaceCall) -> Result<PlacedCall, PlaceError> {
        pguard!(
            self,
            "place_call",
            PlaceError::NotSent {
                message: "simulated crash".into()
            },
            self.inner.place_call(req)
        )
    }
    async fn fetch_call(&self, call_id: &ProviderCallId) -> Result<CallSnapshot, FetchError> {
        pguard!(self, "fetch_call", down(), self.inner.fetch_call(call_id))
    }
    async fn list_calls_to(
        &self,
        to: &E164,
        since: DateTime<Utc>,
    ) -> Result<Vec<CallSnapshot>, FetchError> {
        pguard!(
            self,
            "list_calls_to",
            down(),
            self.inner.list_calls_to(to, since)
        )
    }
    async fn end_call(&self, call_id: &ProviderCallId) -> Result<CallSnapshot, FetchError> {
        pguard!(self, "end_call", down(), self.inner.end_call(call_id))
    }
}
