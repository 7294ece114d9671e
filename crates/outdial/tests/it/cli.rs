//! Command-line behaviour: bad input gets a clear message and loses nothing else.

use std::io::Write;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_outdial"))
}

#[test]
fn import_reports_bad_rows_and_keeps_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.db");
    let st = bin()
        .args([
            "campaign",
            "create",
            "c",
            "--caller-id",
            "+14155550100",
            "--twiml",
            "<Response/>",
            "--db",
        ])
        .arg(&db)
        .status()
        .unwrap();
    assert!(st.success());
    let csv = dir.path().join("leads.csv");
    let mut f = std::fs::File::create(&csv).unwrap();
    writeln!(f, "phone,first_name,state,timezone").unwrap();
    writeln!(f, "(212) 555-0101,Ann,NY,").unwrap();
    writeln!(f, "12,Bob,NY,").unwrap();
    writeln!(f, "212-555-0102,Cy,NY,Mars/Olympus").unwrap();
    writeln!(f, "+1 212 555 0101,Ann again,NY,").unwrap();
    writeln!(f, ",Nobody,NY,").unwrap();
    writeln!(f, "4155550103,Dee,CA,America/Los_Angeles").unwrap();
    drop(f);

    let dry = bin()
        .arg("import")
        .arg(&csv)
        .args(["--campaign", "c", "--dry-run", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(dry.status.success());
    assert!(String::from_utf8_lossy(&dry.stdout).contains("dry run"));

    let out = bin()
        .arg("import")
        .arg(&csv)
        .args(["--campaign", "c", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("6 rows read, 2 imported, 1 duplicates skipped, 3 rejected"),
        "{stdout}"
    );
    // Each bad row is named with its file, row number and field.
    let name = csv.display().to_string();
    for row in [3, 4, 6] {
        assert!(
            stderr.contains(&format!("{name}:row {row}")),
            "row {row} not reported:\n{stderr}"
        );
    }
    assert!(stderr.contains("Mars/Olympus"), "{stderr}");

    // Import into a missing campaign: a clear error, nothing written.
    let out = bin()
        .arg("import")
        .arg(&csv)
        .args(["--campaign", "nope", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no campaign named 'nope'"));
}

#[test]
fn serve_refuses_a_bad_configuration_with_a_readable_message() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("o.toml");
    std::fs::write(&cfg, "[dialer]\ncalls_per_second = \"fast\"\n").unwrap();
    let out = bin()
        .arg("--config")
        .arg(&cfg)
        .arg("serve")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("calls_per_second"), "{err}");

    // A mistyped database path is refused, not created.
    let out = bin()
        .args(["serve", "--db"])
        .arg(dir.path().join("typo.db"))
        .env("OUTDIAL_API_KEYS", "[\"0123456789abcdef0123\"]")
        .env(
            "OUTDIAL_TWILIO__ACCOUNT_SID",
            "AC0123456789abcdef0123456789abcdef",
        )
        .env("OUTDIAL_TWILIO__AUTH_TOKEN", "t")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    assert!(!dir.path().join("typo.db").exists());
}

#[test]
fn export_attempts_writes_the_header_on_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.db");
    assert!(bin()
        .args([
            "campaign",
            "create",
            "c",
            "--caller-id",
            "+14155550100",
            "--twiml",
            "<Response/>",
            "--db"
        ])
        .arg(&db)
        .status()
        .unwrap()
        .success());
    let out = bin()
        .args(["export", "attempts", "--format", "csv", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("attempt_id,lead_id,campaign_id,phone,"),
        "{text}"
    );
}

#[test]
fn compliance_check_prints_a_json_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args([
            "compliance",
            "check",
            "--phone",
            "+1 850 432 1234",
            "--at",
            "2026-01-18T16:00:00Z",
            "--state",
            "AL",
            "--json",
            "--db",
        ])
        .arg(dir.path().join("none.db"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Pensacola (850-432) is Central time; the lead's state AL adds Alabama's Sunday ban.
    assert_eq!(v["allowed"], false, "{v}");
    assert_eq!(v["zones"], serde_json::json!(["America/Chicago"]));
    assert_eq!(v["states"], serde_json::json!(["AL", "FL"]));
    assert!(
        v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["message"].as_str().unwrap().contains("no calls on Sun")),
        "{v}"
    );
    // Monday 19 January 2026 is Martin Luther King Day (Alabama's holiday ban) → Tuesday 08:00 CST.
    assert_eq!(v["next_allowed_at"], "2026-01-20T14:00:00Z");
}

/// Issue 9, item 12: a database of another program is refused, untouched, unless adopted.
#[tokio::test]
async fn serve_and_campaign_create_refuse_a_foreign_database_unless_adopted() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.db");
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", db.display()))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    let before = std::fs::read(&db).unwrap();
    let create = |adopt: bool| {
        let mut cmd = bin();
        cmd.args([
            "campaign",
            "create",
            "c",
            "--caller-id",
            "+14155550100",
            "--twiml",
            "<Response/>",
            "--db",
        ])
        .arg(&db);
        if adopt {
            cmd.arg("--adopt-database");
        }
        cmd.output().unwrap()
    };
    let out = create(false);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("not an outdial database") && err.contains("customers"),
        "{err}"
    );
    assert!(err.contains("--adopt-database"), "{err}");
    let out = bin()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--public-url",
            "http://127.0.0.1:9",
        ])
        .arg("--db")
        .arg(&db)
        .env(
            "OUTDIAL_TWILIO__ACCOUNT_SID",
            "AC0123456789abcdef0123456789abcdef",
        )
        .env("OUTDIAL_TWILIO__AUTH_TOKEN", "it-auth-token")
        .env("OUTDIAL_API_KEYS", "[\"it-api-key-0123456789\"]")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not an outdial database"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the refused file was changed"
    );
    let out = create(true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `campaign create` stores the provider-neutral answer behaviour and machine handling, and
/// refuses, naming the setting, what the campaign's provider cannot carry out; a refused
/// campaign is not stored.
#[test]
fn campaign_create_checks_the_settings_against_the_provider() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.db");
    let create = |name: &str, extra: &[&str]| {
        bin()
            .args(["campaign", "create", name, "--caller-id", "+14155550100"])
            .args(extra)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap()
    };
    let ok = create(
        "flow",
        &[
            "--answer-url",
            "https://flows.example.com/a",
            "--machine-detection",
            "detect-message-end",
        ],
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let agent = create("agent", &["--task", "Book a visit"]);
    assert!(!agent.status.success());
    let err = String::from_utf8_lossy(&agent.stderr);
    assert!(err.contains("answer.kind agent"), "{err}");
    let unknown = create("x", &["--provider", "plivo", "--task", "Book"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown provider 'plivo'"));
    let list = bin()
        .args(["campaign", "list", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let campaigns: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let campaigns = campaigns.as_array().unwrap();
    assert_eq!(campaigns.len(), 1, "{campaigns:?}");
    let s = &campaigns[0]["settings"];
    assert_eq!(s["answer"]["kind"], "flow_url");
    assert_eq!(s["machine"]["detection"], "detect_message_end");
}

/// The sample settings file documented in `samples/README.md` creates a campaign.
#[test]
fn the_sample_campaign_settings_create_a_campaign() {
    let dir = tempfile::tempdir().unwrap();
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../samples/campaign-settings.json"
    );
    let out = bin()
        .args(["campaign", "create", "sample", "--settings", sample, "--db"])
        .arg(dir.path().join("o.db"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
