//! A business disposition requested while an attempt is being concluded (an agent's tag in a
//! webhook racing the reconciler's conclusion, seen in the Bland end-to-end test) is not lost.

use super::*;

#[tokio::test]
async fn a_disposition_requested_while_the_attempt_concludes_still_decides_the_lead() {
    let dir = tempfile::tempdir().unwrap();
    let (store, mut side) = super::hardening::file_store(dir.path()).await;
    let r = rig_on(store, &["+12125550101"], |_| {}).await;
    // The interleaving, planted: the conclusion has read the attempt (no requested
    // disposition), a webhook's `SALE` tag passes the request's guard (not concluded yet),
    // then the conclusion commits what it decided from its read. The trigger lands the
    // request inside the conclusion's commit: the same end state, deterministically.
    sqlx::query(
        "CREATE TRIGGER late_request AFTER UPDATE OF concluded_at ON attempts
         WHEN OLD.concluded_at IS NULL AND NEW.concluded_at IS NOT NULL
              AND NEW.requested_disposition IS NULL
         BEGIN UPDATE attempts SET requested_disposition = 'SALE' WHERE id = NEW.id; END",
    )
    .execute(&mut side)
    .await
    .unwrap();
    r.tick(t0()).await.unwrap();
    let sid = r.provider.placed()[0].0.clone();
    let (e, raw) = ev(&sid, CallStatus::NoAnswer, 3, t0() + Duration::minutes(1));
    r.engine.ingest_call_event(None, &e, &raw).await.unwrap();

    let lead = lead_of(&r, "+12125550101").await;
    let a = r.store.lead_attempts(lead.id).await.unwrap().remove(0);
    assert_eq!(
        a.requested_disposition.as_ref().map(|d| d.as_str()),
        Some("SALE")
    );
    assert_eq!(
        a.disposition.as_ref().map(|d| d.as_str()),
        Some("SALE"),
        "the requested disposition was dropped"
    );
    assert_eq!(
        (lead.status, lead.disposition.as_ref().map(|d| d.as_str())),
        (LeadStatus::Done, Some("SALE"))
    );
}
