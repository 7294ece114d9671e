//! `Engine::step_with`: the plan of one step (which phases run) and the cadences of
//! maintenance and the safety monitor.

use super::*;
use outdial_engine::{Maintenance, StepPlan, StepReport};

async fn step_at(r: &Rig, t: DateTime<Utc>, plan: StepPlan) -> StepReport {
    r.clock.set(t);
    r.engine.step_with(t, plan).await
}

fn maintenance_only(maintenance: Maintenance) -> StepPlan {
    StepPlan {
        tick: false,
        maintenance,
        jobs: false,
    }
}

#[tokio::test]
async fn the_default_plan_runs_every_phase_and_maintenance_on_its_cadence() {
    let r = rig(&["+12125550101"]).await;
    let first = step_at(&r, t0(), StepPlan::default()).await;
    assert_eq!(first.tick.as_ref().unwrap().as_ref().unwrap().placed, 1);
    assert!(first.jobs.as_ref().unwrap().is_ok());
    let m = first
        .maintenance
        .as_ref()
        .expect("the first step maintains");
    assert!(matches!(m.lease, Ok(true)));
    assert!(matches!(m.reconcile, Some(Ok(_))));
    // Default monitor cadence 0: the monitor runs on every maintenance turn.
    assert!(first.monitor_ran());
    let soon = step_at(&r, t0() + Duration::seconds(1), StepPlan::default()).await;
    assert!(
        soon.maintenance.is_none(),
        "not due before maintenance_every_s"
    );
    let later = step_at(&r, t0() + Duration::seconds(5), StepPlan::default()).await;
    assert!(later.monitor_ran(), "due again after maintenance_every_s");
}

#[tokio::test]
async fn a_plan_turns_phases_off_or_forces_maintenance() {
    let r = rig(&["+12125550101"]).await;
    let none = step_at(
        &r,
        t0(),
        StepPlan {
            tick: false,
            maintenance: Maintenance::Skip,
            jobs: false,
        },
    )
    .await;
    assert!(none.tick.is_none() && none.maintenance.is_none() && none.jobs.is_none());
    assert!(r.provider.calls.lock().unwrap().requests.is_empty());
    let first = step_at(&r, t0(), maintenance_only(Maintenance::Auto)).await;
    assert!(
        first.maintenance.is_some(),
        "skipping left the cadence untouched"
    );
    let forced = step_at(
        &r,
        t0() + Duration::seconds(1),
        maintenance_only(Maintenance::Force),
    )
    .await;
    assert!(forced.tick.is_none() && forced.jobs.is_none());
    assert!(forced.monitor_ran());
    // A forced turn counts for the cadence.
    let auto = step_at(
        &r,
        t0() + Duration::seconds(5),
        maintenance_only(Maintenance::Auto),
    )
    .await;
    assert!(auto.maintenance.is_none());
}

#[tokio::test]
async fn the_monitor_runs_on_its_own_cadence_within_maintenance() {
    let r = rig_with(&["+12125550101"], |c| c.monitor_every_s = 30).await;
    let at = |s: i64| t0() + Duration::seconds(s);
    let plan = maintenance_only(Maintenance::Force);
    assert_eq!(r.engine.next_monitor_at(), None);
    assert!(step_at(&r, at(0), plan).await.monitor_ran());
    assert_eq!(r.engine.next_monitor_at(), Some(at(30)));
    assert_eq!(r.engine.next_maintenance_at(), Some(at(5)));
    let mid = step_at(&r, at(10), plan).await;
    let m = mid.maintenance.as_ref().expect("forced");
    assert!(
        matches!(m.reconcile, Some(Ok(_))),
        "the reconciler still runs"
    );
    assert!(!mid.monitor_ran());
    assert!(!step_at(&r, at(29), plan).await.monitor_ran());
    assert!(step_at(&r, at(30), plan).await.monitor_ran());
}
