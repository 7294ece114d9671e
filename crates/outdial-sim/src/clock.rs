//! The simulator's clock. Two readings: the *true* time of the simulated world (the fake
//! provider, its ledger and its webhooks live on it) and the engine's reading, which is the
//! true time plus an offset that a backward clock step makes negative.
//!
//! The engine's pacer sleeps [`Clock::real_delay_until`] its pacing slot; this clock never
//! sleeps: it moves the world forward to the slot and returns zero, so a call is never
//! placed before its slot and virtual time costs no real time.

use chrono::{DateTime, Duration, Utc};
use outdial_clock::Clock;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy)]
struct State {
    true_now: DateTime<Utc>,
    offset: Duration,
}

/// Virtual time for one simulated run.
#[derive(Debug)]
pub struct SimClock(Mutex<State>);

impl SimClock {
    /// A clock whose true time and engine reading are both `start`.
    pub fn new(start: DateTime<Utc>) -> SimClock {
        SimClock(Mutex::new(State {
            true_now: start,
            offset: Duration::zero(),
        }))
    }

    /// The world's time.
    pub fn true_now(&self) -> DateTime<Utc> {
        self.0.lock().expect("clock lock").true_now
    }

    /// Moves the world's time to `t` (never backwards: an earlier `t` changes nothing).
    pub fn advance_to(&self, t: DateTime<Utc>) {
        let mut g = self.0.lock().expect("clock lock");
        if t > g.true_now {
            g.true_now = t;
        }
    }

    /// How far the engine's reading is from the true time (negative: behind).
    pub fn offset(&self) -> Duration {
        self.0.lock().expect("clock lock").offset
    }

    /// Steps the engine's reading by `d` (negative: backwards) without moving the world.
    pub fn step_engine_clock(&self, d: Duration) {
        self.0.lock().expect("clock lock").offset += d;
    }

    /// The true instant at which the engine's clock reads `engine_t`.
    pub fn to_true(&self, engine_t: DateTime<Utc>) -> DateTime<Utc> {
        engine_t - self.offset()
    }
}

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        let g = self.0.lock().expect("clock lock");
        g.true_now + g.offset
    }

    /// Moves the world forward until the engine's clock reads `t`, and returns zero.
    fn real_delay_until(&self, t: DateTime<Utc>) -> std::time::Duration {
        let mut g = self.0.lock().expect("clock lock");
        let engine_now = g.true_now + g.offset;
        if t > engine_now {
            g.true_now += t - engine_now;
        }
        std::time::Duration::ZERO
    }

    fn speed(&self) -> f64 {
        1.0
    }
}
