//! The ledger: every call the carrier really placed, the ground truth invariant checks read.

use chrono::{DateTime, SecondsFormat, Utc};
use std::io;
use std::path::Path;

/// The exact header line of a ledger CSV file.
pub const LEDGER_CSV_HEADER: &str = "call_sid,to,from,created_at,answered_at,ended_at,final_status";

/// One call the carrier really placed (including ambiguous creates whose response was a 500),
/// as it stands at the simulated instant the ledger was read. All times are simulated UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Twilio call SID, `CA` + 32 hex; for a Bland call its `call_id` (a UUID).
    pub call_sid: String,
    /// Called number, as sent in `To` (Bland: `phone_number`, normalised to E.164).
    pub to: String,
    /// Caller id, as sent in `From` (Bland: `from`, or the fake Bland's default caller id).
    pub from: String,
    /// When the create request was accepted.
    pub created_at: DateTime<Utc>,
    /// When the call was answered, if it has been.
    pub answered_at: Option<DateTime<Utc>>,
    /// When the call ended, if it has.
    pub ended_at: Option<DateTime<Utc>>,
    /// `completed`, `busy`, `no-answer` or `failed` once ended, or `canceled` for a call ended
    /// through the API before it was answered; `None` while in flight. A call ended through
    /// the API after it was answered is `completed`, `ended_at` the instant of the request.
    pub final_status: Option<String>,
}

impl LedgerEntry {
    /// Which API placed the call: Twilio SIDs are `CA` + 32 hex digits; anything else is a
    /// Bland `call_id` (a UUID).
    pub fn provider(&self) -> crate::past::ProviderApi {
        let twilio = self.call_sid.len() == 34
            && self.call_sid.starts_with("CA")
            && self.call_sid[2..].bytes().all(|b| b.is_ascii_hexdigit());
        if twilio {
            crate::past::ProviderApi::Twilio
        } else {
            crate::past::ProviderApi::Bland
        }
    }
}

fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Writes `entries` as CSV: header [`LEDGER_CSV_HEADER`], then one row per entry, times in
/// RFC 3339 UTC with milliseconds (`2026-01-05T15:00:00.000Z`), empty fields for `None`.
pub fn write_ledger_csv(entries: &[LedgerEntry], path: &Path) -> io::Result<()> {
    let file = std::fs::File::create(path)?;
    write_ledger(entries, file)
}

/// Same as [`write_ledger_csv`], to any writer.
pub fn write_ledger<W: io::Write>(entries: &[LedgerEntry], w: W) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(LEDGER_CSV_HEADER.split(','))?;
    for e in entries {
        out.write_record([
            e.call_sid.as_str(),
            e.to.as_str(),
            e.from.as_str(),
            &ts(&e.created_at),
            &e.answered_at.as_ref().map(ts).unwrap_or_default(),
            &e.ended_at.as_ref().map(ts).unwrap_or_default(),
            e.final_status.as_deref().unwrap_or(""),
        ])?;
    }
    out.flush()
}
