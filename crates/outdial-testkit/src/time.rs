//! Time fixtures.

use chrono::{DateTime, TimeZone, Utc};

/// The tests' usual start: Monday 2026-01-05 15:00 UTC (10:00 in New York, inside every
/// calling window).
pub fn t0() -> DateTime<Utc> {
    utc(2026, 1, 5, 15, 0, 0)
}

/// The UTC instant of a calendar date and wall time. Panics on an impossible date.
pub fn utc(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, s)
        .single()
        .expect("a valid UTC date and time")
}

/// The instant of an RFC 3339 string (`2026-01-05T15:00:00Z`). Panics when it does not parse.
pub fn rfc3339(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("an RFC 3339 instant")
        .with_timezone(&Utc)
}
