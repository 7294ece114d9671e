//! `outdial dnc`: add, check, remove, import, and scoping by campaign.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_outdial"))
}

/// Runs `outdial ARGS --db DB`, asserting success; returns (stdout, stderr).
fn ok(db: &Path, args: &[&str]) -> (String, String) {
    let out = run(db, args);
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "outdial {args:?} failed:\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

fn run(db: &Path, args: &[&str]) -> Output {
    bin().args(args).arg("--db").arg(db).output().unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn with_campaigns(dir: &Path, names: &[&str]) -> std::path::PathBuf {
    let db = dir.join("o.db");
    for name in names {
        ok(
            &db,
            &[
                "campaign",
                "create",
                name,
                "--caller-id",
                "+14155550100",
                "--twiml",
                "<Response/>",
            ],
        );
    }
    db
}

#[test]
fn dnc_add_check_remove_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let db = with_campaigns(dir.path(), &["spring"]);

    let (out, _) = ok(&db, &["dnc", "check", "(212) 555-0101"]);
    assert!(out.contains("+12125550101: clear"), "{out}");

    let (out, _) = ok(
        &db,
        &[
            "dnc",
            "add",
            "212-555-0101",
            "--reason",
            "asked on the phone",
        ],
    );
    assert!(
        out.contains("added +12125550101 to the internal DNC list"),
        "{out}"
    );
    // Adding again is harmless and says so.
    let (out, _) = ok(&db, &["dnc", "add", "+12125550101"]);
    assert!(out.contains("already on the internal DNC list"), "{out}");

    let (out, _) = ok(&db, &["dnc", "check", "2125550101"]);
    assert!(out.contains("BLOCKED for every campaign"), "{out}");
    assert!(out.contains("internal list"), "{out}");
    assert!(out.contains("asked on the phone"), "{out}");
    let (out, _) = ok(&db, &["dnc", "check", "2125550101", "--campaign", "spring"]);
    assert!(out.contains("BLOCKED for campaign 'spring'"), "{out}");

    let (json, _) = ok(&db, &["dnc", "check", "+12125550101", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["blocked"], true);
    assert_eq!(v["everywhere"], true);
    assert_eq!(v["entries"][0]["scope"], "internal");
    assert_eq!(v["entries"][0]["source"], "operator");
    assert_eq!(v["entries"][0]["reason"], "asked on the phone");

    // Removing from a list the number is not on changes nothing.
    let (out, _) = ok(&db, &["dnc", "remove", "2125550101", "--national"]);
    assert!(out.contains("was not on the national DNC list"), "{out}");
    let (out, _) = ok(&db, &["dnc", "remove", "2125550101"]);
    assert!(
        out.contains("removed +12125550101 from the internal DNC list"),
        "{out}"
    );
    let (json, _) = ok(&db, &["dnc", "check", "2125550101", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["blocked"], false);
    assert_eq!(v["entries"].as_array().unwrap().len(), 0);

    // A bad number or an unknown campaign is a clear error.
    let out = run(&db, &["dnc", "add", "12"]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("PHONE"), "{}", text(&out).1);
    let out = run(&db, &["dnc", "add", "2125550101", "--campaign", "nope"]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("no campaign named 'nope'"));
    // --campaign and --national together are refused.
    let out = run(
        &db,
        &[
            "dnc",
            "add",
            "2125550101",
            "--campaign",
            "spring",
            "--national",
        ],
    );
    assert!(!out.status.success());
}

#[test]
fn dnc_check_is_scoped_by_campaign() {
    let dir = tempfile::tempdir().unwrap();
    let db = with_campaigns(dir.path(), &["a", "b"]);
    ok(&db, &["dnc", "add", "2125550102", "--campaign", "a"]);
    ok(&db, &["dnc", "add", "2125550103", "--national"]);

    let (out, _) = ok(&db, &["dnc", "check", "2125550102", "--campaign", "a"]);
    assert!(out.contains("BLOCKED for campaign 'a'"), "{out}");
    assert!(out.contains("campaign 'a' list"), "{out}");
    let (out, _) = ok(&db, &["dnc", "check", "2125550102", "--campaign", "b"]);
    assert!(out.contains("clear for campaign 'b'"), "{out}");
    // Without a campaign every list is shown.
    let (out, _) = ok(&db, &["dnc", "check", "2125550102"]);
    assert!(out.contains("BLOCKED for campaign 'a' only"), "{out}");
    let (json, _) = ok(&db, &["dnc", "check", "2125550102", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        (v["blocked"].clone(), v["everywhere"].clone()),
        (true.into(), false.into())
    );
    assert_eq!(v["entries"][0]["campaign"], "a");

    // The national list blocks every campaign.
    for c in ["a", "b"] {
        let (out, _) = ok(&db, &["dnc", "check", "2125550103", "--campaign", c]);
        assert!(
            out.contains(&format!("BLOCKED for campaign '{c}'")),
            "{out}"
        );
        assert!(out.contains("national list"), "{out}");
    }

    // Removing from campaign a's list clears it for a.
    ok(&db, &["dnc", "remove", "2125550102", "--campaign", "a"]);
    let (out, _) = ok(&db, &["dnc", "check", "2125550102", "--campaign", "a"]);
    assert!(out.contains("clear for campaign 'a'"), "{out}");

    let (json, _) = ok(&db, &["dnc", "count", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v, serde_json::json!({"national": 1}));
}

#[test]
fn dnc_import_of_a_registry_file_reports_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let db = with_campaigns(dir.path(), &["a"]);
    ok(&db, &["dnc", "add", "2125550104", "--national"]);
    let file = dir.path().join("registry-212.txt");
    let mut f = std::fs::File::create(&file).unwrap();
    // The registry's two layouts, formatted numbers, and bad lines.
    write!(
        f,
        "2125550101\n212,5550102\r\n\n+1 (212) 555-0103\n2125550104\n12345\n212,555010\n\
         2125550101\nnot a number\n4155550105"
    )
    .unwrap();
    drop(f);

    let (out, err) = ok(
        &db,
        &[
            "dnc",
            "import",
            file.to_str().unwrap(),
            "--national",
            "--dry-run",
        ],
    );
    assert!(
        out.contains("dry run") && out.contains("9 lines read, 6 valid, 3 rejected"),
        "{out}"
    );
    assert_eq!(
        err.lines().filter(|l| l.contains(":line ")).count(),
        3,
        "{err}"
    );

    let (out, err) = ok(
        &db,
        &["dnc", "import", file.to_str().unwrap(), "--national"],
    );
    assert!(
        out.contains("9 lines read, 4 added, 2 already listed, 3 rejected"),
        "{out}"
    );
    let name = file.display().to_string();
    for line in [6, 7, 9] {
        assert!(
            err.contains(&format!("{name}:line {line}: ")),
            "line {line} not reported:\n{err}"
        );
    }
    assert!(
        !err.contains(&format!("{name}:line 3:")),
        "blank line reported:\n{err}"
    );

    for phone in ["2125550101", "2125550102", "2125550103", "4155550105"] {
        let (out, _) = ok(&db, &["dnc", "check", phone, "--campaign", "a", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["blocked"], true, "{phone}: {out}");
        assert_eq!(v["entries"][0]["scope"], "national");
        assert_eq!(v["entries"][0]["source"], "import:registry-212.txt");
    }

    // Importing the same file again adds nothing.
    let (out, _) = ok(
        &db,
        &["dnc", "import", file.to_str().unwrap(), "--national"],
    );
    assert!(
        out.contains("9 lines read, 0 added, 6 already listed, 3 rejected"),
        "{out}"
    );
}

#[test]
fn dnc_import_of_a_csv_with_a_phone_header_into_a_campaign() {
    let dir = tempfile::tempdir().unwrap();
    let db = with_campaigns(dir.path(), &["a", "b"]);
    let file = dir.path().join("optouts.csv");
    std::fs::write(
        &file,
        "name,Phone,reason\nAnn,(212) 555-0101,texted STOP\nBob,,\nCy,212-555-0102,\n",
    )
    .unwrap();
    let (out, err) = ok(
        &db,
        &[
            "dnc",
            "import",
            file.to_str().unwrap(),
            "--campaign",
            "a",
            "--reason",
            "opt-out list",
        ],
    );
    assert!(
        out.contains("3 lines read, 2 added, 0 already listed, 1 rejected"),
        "{out}\n{err}"
    );
    assert!(
        err.contains(&format!("{}:line 3: ", file.display())),
        "{err}"
    );

    let (json, _) = ok(
        &db,
        &["dnc", "check", "2125550101", "--campaign", "a", "--json"],
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["entries"][0]["reason"], "texted STOP");
    let (json, _) = ok(
        &db,
        &["dnc", "check", "2125550102", "--campaign", "a", "--json"],
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["entries"][0]["reason"], "opt-out list");
    let (out, _) = ok(&db, &["dnc", "check", "2125550101", "--campaign", "b"]);
    assert!(out.contains("clear for campaign 'b'"), "{out}");

    // A CSV header without a phone column is refused outright.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "name,email\nAnn,a@example.com\n").unwrap();
    let out = run(&db, &["dnc", "import", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("no phone column"), "{}", text(&out).1);
}

#[test]
fn a_stray_quote_or_a_huge_line_costs_one_reported_line_of_a_dnc_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = with_campaigns(dir.path(), &["a"]);
    // A quote left open on line 2 used to swallow every later number into one reason.
    let file = dir.path().join("optouts.csv");
    let mut body = String::from("phone,reason\n2125550100,\"texted STOP\n");
    for i in 1..=50 {
        body.push_str(&format!("21255501{i:02},opt-out\n"));
    }
    std::fs::write(&file, body).unwrap();
    let (out, err) = ok(
        &db,
        &["dnc", "import", file.to_str().unwrap(), "--national"],
    );
    assert!(
        out.contains("51 lines read, 50 added, 0 already listed, 1 rejected"),
        "{out}\n{err}"
    );
    assert!(
        err.contains(&format!("{}:line 2: a quote", file.display())),
        "{err}"
    );
    let (out, _) = ok(&db, &["dnc", "check", "2125550150", "--campaign", "a"]);
    assert!(
        !out.contains("clear"),
        "the last number was swallowed: {out}"
    );

    // A 20 MB line in a registry file: one rejected line, quoted briefly; the rest imported.
    let file = dir.path().join("registry.txt");
    let huge = "9".repeat(20 << 20);
    std::fs::write(&file, format!("3125550101\n{huge}\n3125550102\n")).unwrap();
    let (out, err) = ok(
        &db,
        &["dnc", "import", file.to_str().unwrap(), "--national"],
    );
    assert!(
        out.contains("3 lines read, 2 added, 0 already listed, 1 rejected"),
        "{out}"
    );
    assert!(err.contains(":line 2: line longer than"), "{err}");
    assert!(
        err.len() < 4096,
        "the error repeats the line: {} bytes",
        err.len()
    );
}
