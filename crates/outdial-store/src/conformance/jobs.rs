//! Conformance cases of jobs.

use super::*;

/// Conformance case `jobs_lifecycle`.
pub async fn jobs_lifecycle(store: Arc<dyn Store>) {
    let s = |n: i64| t0() + Duration::seconds(n);
    let lock = Duration::seconds(30);
    assert!(store.job_counts().await.unwrap().is_empty());
    let a = store
        .enqueue_job(&new_job("crm.notify", t0(), Some("a")), t0())
        .await
        .unwrap()
        .expect("enqueue refused");
    assert_eq!(
        store
            .enqueue_job(&new_job("crm.notify", s(5), Some("a")), t0())
            .await
            .unwrap(),
        None,
        "a job with a known dedupe key was enqueued"
    );
    let b = store
        .enqueue_job(&new_job("alert.email", s(60), None), t0())
        .await
        .unwrap()
        .unwrap();
    let c = store
        .enqueue_job(&new_job("alert.chat", s(-1), None), t0())
        .await
        .unwrap()
        .unwrap();
    let got = store.job(a).await.unwrap().unwrap();
    assert_eq!(
        got,
        Job {
            id: a,
            kind: "crm.notify".into(),
            payload: "{\"kind\":\"crm.notify\"}".into(),
            state: JobState::Pending,
            attempts: 0,
            run_at: t0(),
            locked_until: None,
            error_code: None,
            error_message: None,
            created_at: t0(),
            updated_at: t0(),
        }
    );
    assert_eq!(store.job(JobId(a.0 + 1000)).await.unwrap(), None);

    // Due jobs, oldest run_at first; b is not due yet.
    assert!(store
        .claim_jobs("w1", t0(), lock, 0)
        .await
        .unwrap()
        .is_empty());
    let claimed = store.claim_jobs("w1", t0(), lock, 10).await.unwrap();
    assert_eq!(ids(&claimed), vec![c, a]);
    for j in &claimed {
        assert_eq!(j.state, JobState::Running);
        assert_eq!(j.attempts, 1);
        assert_eq!(j.locked_until, Some(s(30)));
    }
    assert_eq!(store.job(a).await.unwrap().unwrap(), claimed[1]);
    assert!(
        store
            .claim_jobs("w2", s(10), lock, 10)
            .await
            .unwrap()
            .is_empty(),
        "a held job was claimed again"
    );
    assert!(
        store
            .claim_jobs("w2", s(30), lock, 10)
            .await
            .unwrap()
            .is_empty(),
        "a claim was taken at the instant it expires"
    );
    // w1 died: its claims expired and are claimable again, oldest first.
    let again = store.claim_jobs("w2", s(31), lock, 1).await.unwrap();
    assert_eq!(ids(&again), vec![c], "an expired claim was not re-claimed");
    assert_eq!((again[0].attempts, again[0].locked_until), (2, Some(s(61))));
    assert!(store.finish_job(c, s(32)).await.unwrap());
    assert!(!store.finish_job(c, s(32)).await.unwrap(), "finished twice");
    let done = store.job(c).await.unwrap().unwrap();
    assert_eq!(
        (done.state, done.locked_until, done.updated_at),
        (JobState::Done, None, s(32))
    );
    assert!(
        !store.retry_job(c, s(40), "x", "y", s(33)).await.unwrap(),
        "a done job was retried"
    );
    assert!(
        !store.dead_letter_job(c, "x", "y", s(33)).await.unwrap(),
        "a done job was dead-lettered"
    );

    // a (still running, its claim expired) fails and is retried later, keeping the error.
    assert!(store
        .retry_job(a, s(300), "http-503", "unavailable", s(33))
        .await
        .unwrap());
    assert!(!store
        .retry_job(a, s(300), "http-503", "unavailable", s(33))
        .await
        .unwrap());
    assert!(
        !store.finish_job(a, s(33)).await.unwrap(),
        "finished a pending job"
    );
    let retried = store.job(a).await.unwrap().unwrap();
    assert_eq!(
        (
            retried.state,
            retried.run_at,
            retried.locked_until,
            retried.attempts,
            retried.error_code.as_deref(),
            retried.error_message.as_deref(),
        ),
        (
            JobState::Pending,
            s(300),
            None,
            1,
            Some("http-503"),
            Some("unavailable")
        )
    );
    assert!(
        store
            .claim_jobs("w3", s(299), lock, 10)
            .await
            .unwrap()
            .iter()
            .all(|j| j.id != a),
        "a retried job ran before its time"
    );
    // Dead letters take running jobs (b, due at s(60), was just claimed) and pending ones (a).
    let b_job = store.job(b).await.unwrap().unwrap();
    assert_eq!(b_job.state, JobState::Running);
    assert!(store
        .dead_letter_job(b, "bad_payload", "no such alert", s(300))
        .await
        .unwrap());
    assert!(
        !store
            .dead_letter_job(b, "bad_payload", "again", s(300))
            .await
            .unwrap(),
        "dead-lettered twice"
    );
    assert!(!store.finish_job(b, s(300)).await.unwrap());
    assert!(store
        .dead_letter_job(a, "unknown_kind", "no handler", s(301))
        .await
        .unwrap());
    let dead = store.job(b).await.unwrap().unwrap();
    assert_eq!(
        (
            dead.state,
            dead.locked_until,
            dead.error_code.as_deref(),
            dead.error_message.as_deref()
        ),
        (
            JobState::Dead,
            None,
            Some("bad_payload"),
            Some("no such alert")
        )
    );
    assert!(
        store
            .claim_jobs("w3", s(400), lock, 10)
            .await
            .unwrap()
            .is_empty(),
        "a dead letter was claimed"
    );
    assert_eq!(
        ids(&store.jobs(Some(JobState::Dead), 10).await.unwrap()),
        vec![b, a]
    );
    let counts = store.job_counts().await.unwrap();
    let expected: std::collections::BTreeMap<String, u64> =
        [("dead".to_owned(), 2), ("done".to_owned(), 1)]
            .into_iter()
            .collect();
    assert_eq!(counts, expected);

    // The operator requeues b: pending now, attempts reset, error kept.
    assert!(
        !store.requeue_job(c, s(500)).await.unwrap(),
        "requeued a done job"
    );
    assert!(store.requeue_job(b, s(500)).await.unwrap());
    assert!(
        !store.requeue_job(b, s(500)).await.unwrap(),
        "requeued twice"
    );
    let requeued = store.job(b).await.unwrap().unwrap();
    assert_eq!(
        (
            requeued.state,
            requeued.attempts,
            requeued.run_at,
            requeued.error_code.as_deref()
        ),
        (JobState::Pending, 0, s(500), Some("bad_payload"))
    );
    assert_eq!(ids(&store.jobs(None, 10).await.unwrap()), vec![c, b, a]);
    assert_eq!(ids(&store.jobs(None, 2).await.unwrap()), vec![c, b]);
    assert_eq!(
        ids(&store.jobs(Some(JobState::Pending), 10).await.unwrap()),
        vec![b]
    );
    assert!(store
        .jobs(Some(JobState::Running), 10)
        .await
        .unwrap()
        .is_empty());
    let claimed = store.claim_jobs("w4", s(500), lock, 10).await.unwrap();
    assert_eq!(ids(&claimed), vec![b]);
    assert_eq!(claimed[0].attempts, 1);
}

/// Conformance case `jobs_claimed_exclusively`.
pub async fn jobs_claimed_exclusively(store: Arc<dyn Store>) {
    for i in 0..40 {
        store
            .enqueue_job(
                &new_job("crm.notify", t0() - Duration::milliseconds(i), None),
                t0(),
            )
            .await
            .unwrap()
            .unwrap();
    }
    let lock = Duration::seconds(60);
    let claim_all = |now: DateTime<Utc>| {
        let mut tasks = Vec::new();
        for w in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let batch = store
                        .claim_jobs(&format!("worker-{w}"), now, lock, 3)
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        break got;
                    }
                    got.extend(batch.into_iter().map(|j| (j.id, j.attempts)));
                }
            }));
        }
        async move {
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await.expect("claim task panicked"));
            }
            all
        }
    };
    let mut all = claim_all(t0()).await;
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(n, all.len(), "a job was claimed twice");
    assert_eq!(n, 40);
    assert!(all.iter().all(|(_, attempts)| *attempts == 1));
    // Every claim expires together: each job is claimed once more.
    let mut all = claim_all(t0() + Duration::seconds(61)).await;
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(n, all.len(), "an expired job was re-claimed twice");
    assert_eq!(n, 40);
    assert!(all.iter().all(|(_, attempts)| *attempts == 2));
    assert_eq!(store.job_counts().await.unwrap().get("running"), Some(&40));
}

/// Conformance case `conclude_enqueues_follow_up_once`.
pub async fn conclude_enqueues_follow_up_once(store: Arc<dyn Store>) {
    let leads = seed(&*store, "a", &["+12125550101"]).await;
    let a = store
        .reserve_attempt(leads[0].id, t0())
        .await
        .unwrap()
        .unwrap();
    let d = Disposition::normalise("BUSY").unwrap();
    let next = LeadDecision::Redial {
        at: t0() + Duration::minutes(2),
    };
    let follow_up = vec![
        NewJob {
            kind: "attempt.concluded".into(),
            payload: serde_json::json!({ "attempt_id": a.id.0 }).to_string(),
            run_at: t0(),
            dedupe_key: Some(format!("attempt.concluded:{}", a.id)),
        },
        new_job("crm.notify", t0(), None),
    ];
    assert!(!store
        .conclude_attempt(a.id, &d, &next, &follow_up, t0())
        .await
        .unwrap());
    assert!(
        store.job_counts().await.unwrap().is_empty(),
        "follow-up enqueued for an attempt that was not concluded"
    );
    store
        .apply_call_event(
            Some(a.id),
            &ev("CA1", CallStatus::Busy, 2),
            &raw("CA1:2"),
            t0(),
        )
        .await
        .unwrap();
    assert!(store
        .conclude_attempt(a.id, &d, &next, &follow_up, t0())
        .await
        .unwrap());
    let jobs = store.jobs(None, 10).await.unwrap();
    let mut kinds: Vec<&str> = jobs.iter().map(|j| j.kind.as_str()).collect();
    kinds.sort();
    assert_eq!(kinds, vec!["attempt.concluded", "crm.notify"]);
    assert!(jobs.iter().all(|j| j.state == JobState::Pending));
    assert!(
        !store
            .conclude_attempt(a.id, &d, &next, &follow_up, t0())
            .await
            .unwrap(),
        "concluded twice"
    );
    assert_eq!(
        store.jobs(None, 10).await.unwrap().len(),
        2,
        "a second conclusion enqueued follow-up"
    );
}
