//! # outdial-clock
//!
//! Time is an input (design invariant 7): engine, carrier and store code ask a [`Clock`] for
//! "now" and never read the system clock themselves. Three clocks exist:
//! - [`SystemClock`]: wall-clock UTC;
//! - [`ScaledClock`]: simulated time that starts at a given instant and runs `speed` times
//!   faster than real time, so multi-day redialing is observable in seconds. Two processes
//!   given the same start, speed and real-time anchor agree on "now";
//! - [`ManualClock`]: moves only when a test tells it to.
//!
//! A clock also converts a simulated delay into the real time to sleep
//! ([`Clock::real_delay_until`]), so loops sleep the right amount under any speed.

use chrono::{DateTime, Duration, Utc};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of "now" (UTC) that may run faster than real time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant, UTC.
    fn now(&self) -> DateTime<Utc>;

    /// How long to sleep in real time until this clock reads `t`. Zero if `t` has passed.
    fn real_delay_until(&self, t: DateTime<Utc>) -> std::time::Duration;

    /// How many simulated seconds pass per real second (1 for the system clock).
    fn speed(&self) -> f64;
}

/// Wall-clock time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn real_delay_until(&self, t: DateTime<Utc>) -> std::time::Duration {
        (t - Utc::now()).to_std().unwrap_or_default()
    }
    fn speed(&self) -> f64 {
        1.0
    }
}

/// Simulated time: `start + (real_now - anchor) * speed`.
#[derive(Debug, Clone, Copy)]
pub struct ScaledClock {
    start: DateTime<Utc>,
    anchor_unix_ms: i64,
    speed: f64,
}

impl ScaledClock {
    /// A clock reading `start` at real instant `anchor_unix_ms` (Unix milliseconds) and
    /// running `speed` times faster than real time. Errors when `speed` is not a finite
    /// number in `(0, 1_000_000]`.
    pub fn new(start: DateTime<Utc>, anchor_unix_ms: i64, speed: f64) -> Result<Self, String> {
        if !(speed.is_finite() && speed > 0.0 && speed <= 1_000_000.0) {
            return Err(format!("clock speed must be in (0, 1000000], got {speed}"));
        }
        Ok(ScaledClock {
            start,
            anchor_unix_ms,
            speed,
        })
    }

    /// A clock reading `start` now.
    pub fn starting_now(start: DateTime<Utc>, speed: f64) -> Result<Self, String> {
        Self::new(start, real_unix_ms(), speed)
    }

    /// The real-time anchor (Unix milliseconds) at which this clock read its start.
    pub fn anchor_unix_ms(&self) -> i64 {
        self.anchor_unix_ms
    }

    /// The simulated start instant.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }
}

/// Real wall-clock time in Unix milliseconds.
pub fn real_unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Clock for ScaledClock {
    fn now(&self) -> DateTime<Utc> {
        let real_elapsed_ms = (real_unix_ms() - self.anchor_unix_ms) as f64;
        let sim_ms = (real_elapsed_ms * self.speed) as i64;
        self.start + Duration::milliseconds(sim_ms)
    }
    fn real_delay_until(&self, t: DateTime<Utc>) -> std::time::Duration {
        let sim = (t - self.now()).num_milliseconds();
        if sim <= 0 {
            return std::time::Duration::ZERO;
        }
        std::time::Duration::from_micros(((sim as f64) * 1000.0 / self.speed) as u64)
    }
    fn speed(&self) -> f64 {
        self.speed
    }
}

/// A clock that only moves when told to. Real delays are always zero.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock reading `t`.
    pub fn new(t: DateTime<Utc>) -> Self {
        ManualClock(Mutex::new(t))
    }
    /// Sets the time.
    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = t;
    }
    /// Moves the time forward by `d`.
    pub fn advance(&self, d: Duration) {
        let mut g = self.0.lock().expect("clock lock");
        *g += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
    fn real_delay_until(&self, _t: DateTime<Utc>) -> std::time::Duration {
        std::time::Duration::ZERO
    }
    fn speed(&self) -> f64 {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_clock_runs_fast_and_agrees_across_instances() {
        let start = DateTime::parse_from_rfc3339("2026-01-05T13:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let anchor = real_unix_ms() - 1000; // one real second ago
        let a = ScaledClock::new(start, anchor, 60.0).unwrap();
        let b = ScaledClock::new(start, anchor, 60.0).unwrap();
        let (na, nb) = (a.now(), b.now());
        assert!((na - nb).num_seconds().abs() <= 1);
        let elapsed = (na - start).num_seconds();
        assert!((59..=70).contains(&elapsed), "elapsed {elapsed}");
        let d = a.real_delay_until(na + Duration::seconds(60));
        assert!(d <= std::time::Duration::from_millis(1010), "{d:?}");
        assert!(ScaledClock::new(start, anchor, 0.0).is_err());
        assert!(ScaledClock::new(start, anchor, f64::NAN).is_err());
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let t = DateTime::parse_from_rfc3339("2026-01-05T13:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = ManualClock::new(t);
        assert_eq!(c.now(), t);
        c.advance(Duration::minutes(5));
        assert_eq!(c.now(), t + Duration::minutes(5));
    }
}
