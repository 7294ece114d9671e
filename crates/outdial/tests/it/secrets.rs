//! No secret is ever printed (issue 9, item 5). Distinctive secrets are planted in a
//! configuration file and in the environment (the Twilio auth token, admin API keys, the SMTP
//! password and the credentials of `smtp_url`, the chat and CRM webhook URLs, the CRM bearer
//! token, the database password), then every command that loads the configuration is run,
//! `serve` included until it listens and answers, and every configuration error path; no
//! planted value may appear in standard output or standard error.
//!
//! The PostgreSQL case (a password in `database`) needs `OUTDIAL_TEST_POSTGRES_URL`; it is
//! skipped with a notice without it, and fails under `CI=true`.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use crate::support::{self, bin};
use outdial_testkit::pg::TestDb;

// Secrets of the configuration file.
const FILE_AUTH_TOKEN: &str = "filetok-AUTH-7f3a9c";
const FILE_API_KEY: &str = "filekey-API-5b8e2d41c9";
const FILE_SMTP_PASSWORD: &str = "filepw-SMTP-61d0";
const FILE_SMTP_URL_PASSWORD: &str = "fileurlpw-SMTPURL-93c1";
const FILE_CHAT_TOKEN: &str = "filechat-CHAT-48aa";
const FILE_CRM_URL_TOKEN: &str = "filecrm-CRMURL-2c7e";
const FILE_CRM_BEARER: &str = "filebearer-CRM-0d9b";
const FILE_DB_PASSWORD: &str = "filedbpw-DB-5e11";

// Secrets of the environment (which wins over the file); two are all digits.
const ENV_AUTH_TOKEN: &str = "987654321987";
const ENV_API_KEY: &str = "envkey-API-77c3e1f0a2";
const ENV_NUMERIC_API_KEY: &str = "123456789012345678";
const ENV_SMTP_PASSWORD: &str = "envpw-SMTP-c4e2";
const ENV_SMTP_URL_PASSWORD: &str = "envurlpw-SMTPURL-a1b2";
const ENV_CHAT_TOKEN: &str = "envchat-CHAT-e5f6";
const ENV_CRM_URL_TOKEN: &str = "envcrm-CRMURL-0a0b";
const ENV_CRM_BEARER: &str = "envbearer-CRM-7a7a";
const ENV_DB_PASSWORD: &str = "envdbpw-DB-3c3c";

/// Every planted value.
const PLANTED: &[&str] = &[
    FILE_AUTH_TOKEN,
    FILE_API_KEY,
    FILE_SMTP_PASSWORD,
    FILE_SMTP_URL_PASSWORD,
    FILE_CHAT_TOKEN,
    FILE_CRM_URL_TOKEN,
    FILE_CRM_BEARER,
    FILE_DB_PASSWORD,
    ENV_AUTH_TOKEN,
    ENV_API_KEY,
    ENV_NUMERIC_API_KEY,
    ENV_SMTP_PASSWORD,
    ENV_SMTP_URL_PASSWORD,
    ENV_CHAT_TOKEN,
    ENV_CRM_URL_TOKEN,
    ENV_CRM_BEARER,
    ENV_DB_PASSWORD,
];

/// Nothing listens there: deliveries and create requests fail at once, and nothing leaves
/// the machine.
const NOWHERE: &str = "127.0.0.1:9";

/// The configuration file with every file secret; `database` is a SQLite path or a
/// PostgreSQL URL. `extra` is appended (top-level keys must come before the tables, so it
/// holds tables only).
fn config_text(database: &str, extra: &str) -> String {
    format!(
        r#"database = "{database}"
api_keys = ["{FILE_API_KEY}"]
public_url = "http://127.0.0.1:8080"

[twilio]
api_base = "http://{NOWHERE}"
account_sid = "AC0123456789abcdef0123456789abcdef"
auth_token = "{FILE_AUTH_TOKEN}"
request_timeout_s = 2

[alerts]
chat_webhook_url = "http://{NOWHERE}/services/T0/{FILE_CHAT_TOKEN}"

[alerts.email]
smtp_url = "smtp://fileuser:{FILE_SMTP_URL_PASSWORD}@{NOWHERE}"
from = "outdial@example.com"
to = ["ops@example.com"]
username = "outdial"
password = "{FILE_SMTP_PASSWORD}"
timeout_s = 2

[crm]
webhook_url = "http://{NOWHERE}/hooks/{FILE_CRM_URL_TOKEN}"
bearer_token = "{FILE_CRM_BEARER}"
{extra}
"#
    )
}

fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The environment's secrets; `database`, when given, overrides the file's.
fn env_secrets(database: Option<&str>) -> Vec<(String, String)> {
    let mut env = vec![
        ("OUTDIAL_TWILIO__AUTH_TOKEN", ENV_AUTH_TOKEN.to_owned()),
        (
            "OUTDIAL_API_KEYS",
            format!("[\"{ENV_API_KEY}\", {ENV_NUMERIC_API_KEY}]"),
        ),
        ("OUTDIAL_ALERTS__EMAIL__PASSWORD", ENV_SMTP_PASSWORD.into()),
        (
            "OUTDIAL_ALERTS__EMAIL__SMTP_URL",
            format!("smtp://envuser:{ENV_SMTP_URL_PASSWORD}@{NOWHERE}"),
        ),
        (
            "OUTDIAL_ALERTS__CHAT_WEBHOOK_URL",
            format!("http://{NOWHERE}/services/T0/{ENV_CHAT_TOKEN}"),
        ),
        (
            "OUTDIAL_CRM__WEBHOOK_URL",
            format!("http://{NOWHERE}/hooks/{ENV_CRM_URL_TOKEN}"),
        ),
        ("OUTDIAL_CRM__BEARER_TOKEN", ENV_CRM_BEARER.into()),
    ];
    if let Some(db) = database {
        env.push(("OUTDIAL_DATABASE", db.to_owned()));
    }
    env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Runs `outdial --config CFG ARGS` with `env`.
fn run(cfg: &Path, env: &[(String, String)], args: &[String]) -> Output {
    let mut cmd = bin();
    cmd.arg("--config").arg(cfg).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.env("RUST_LOG", "debug");
    cmd.output().unwrap()
}

/// The planted values found in `text`.
fn leaks(text: &str) -> Vec<&'static str> {
    PLANTED
        .iter()
        .copied()
        .filter(|s| text.contains(s))
        .collect()
}

/// Panics if a planted value shows in the output of `what`.
fn assert_no_secret(what: &str, out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let found = leaks(&format!("{stdout}\n{stderr}"));
    assert!(
        found.is_empty(),
        "`{what}` printed {found:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// Every command that loads the configuration (all but `carrier`, `demo` and `simulate`),
/// in an order that gives each something to show; `campaign` names this round's campaign.
/// The flag says whether the command must succeed.
fn every_command(dir: &Path, campaign: &str) -> Vec<(Vec<String>, bool)> {
    let leads = dir.join("leads.csv");
    std::fs::write(
        &leads,
        "phone,first_name,state\n2125550101,Ann,NY\n4155550102,Bob,CA\n12,Bad,NY\n",
    )
    .unwrap();
    let dnc = dir.join("dnc.txt");
    std::fs::write(&dnc, "2125550177\n212,5550178\n").unwrap();
    let (leads, dnc) = (leads.display().to_string(), dnc.display().to_string());
    let at = "2026-01-06T15:00:00Z";
    vec![
        (args(&["config", "check"]), true),
        (
            args(&[
                "campaign",
                "create",
                campaign,
                "--caller-id",
                "+14155550100",
                "--twiml",
                "<Response/>",
            ]),
            true,
        ),
        (args(&["campaign", "list"]), true),
        (
            args(&["import", &leads, "--campaign", campaign, "--dry-run"]),
            true,
        ),
        (args(&["import", &leads, "--campaign", campaign]), true),
        (args(&["export", "attempts", "--format", "csv"]), true),
        (
            args(&["dnc", "add", "+12125550199", "--reason", "asked"]),
            true,
        ),
        (args(&["dnc", "check", "+12125550199"]), true),
        (
            args(&[
                "dnc",
                "check",
                "+12125550199",
                "--campaign",
                campaign,
                "--json",
            ]),
            true,
        ),
        (args(&["dnc", "import", &dnc, "--dry-run"]), true),
        (args(&["dnc", "import", &dnc]), true),
        (args(&["dnc", "count"]), true),
        (args(&["dnc", "count", "--json"]), true),
        (args(&["dnc", "remove", "+12125550199"]), true),
        (
            args(&["compliance", "check", "--phone", "+12125550101", "--at", at]),
            true,
        ),
        (
            args(&[
                "compliance",
                "check",
                "--phone",
                "+12125550101",
                "--campaign",
                campaign,
                "--json",
            ]),
            true,
        ),
        (args(&["explain", "+12125550101", "--at", at]), true),
        (args(&["explain", "+12125550101", "--json"]), true),
        (args(&["killswitch", "status"]), true),
        (
            args(&[
                "killswitch",
                "trip",
                "--campaign",
                campaign,
                "--reason",
                "secrets test",
                "--operator",
                "tester",
            ]),
            true,
        ),
        (args(&["killswitch", "status", "--json"]), true),
        (
            args(&[
                "killswitch",
                "resume",
                "--campaign",
                campaign,
                "--reason",
                "secrets test",
                "--operator",
                "tester",
            ]),
            true,
        ),
        (args(&["jobs", "list"]), true),
        (
            args(&["jobs", "list", "--state", "pending", "--json"]),
            true,
        ),
        (args(&["jobs", "requeue", "999999"]), false),
        (args(&["alerts", "list"]), true),
        (args(&["alerts", "list", "--json"]), true),
    ]
}

/// Runs every command with `cfg` and `env`, then `serve` until it listens and has answered
/// a few requests; asserts that nothing printed a planted value.
fn run_everything(dir: &Path, cfg: &Path, env: &[(String, String)], round: &str) {
    let campaign = format!("c-{round}");
    for (a, must_succeed) in every_command(dir, &campaign) {
        let what = format!("{round}: outdial {}", a.join(" "));
        let out = run(cfg, env, &a);
        assert_no_secret(&what, &out);
        if must_succeed {
            assert!(
                out.status.success(),
                "`{what}` failed:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    serve_until_listening(cfg, env, round);
}

/// A status callback body (sent with a bogus signature).
const WEBHOOK_BODY: &str = "CallSid=CA1&CallStatus=completed&To=%2B12125550101";

/// One HTTP/1.1 request over a plain socket; returns the whole answer.
fn http(addr: &str, request: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
}

/// Starts `serve`, waits for its "listening" line, sends an authenticated and a refused
/// admin request and a badly signed webhook, stops it with SIGTERM and checks everything
/// it printed (and answered).
fn serve_until_listening(cfg: &Path, env: &[(String, String)], round: &str) {
    let port = support::free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = bin();
    cmd.arg("--config")
        .arg(cfg)
        .args(["serve", "--listen", &addr, "--public-url"])
        .arg(format!("http://{addr}"))
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut s);
        s
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.contains("listening on") {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let listening = rx.recv_timeout(Duration::from_secs(60)).is_ok();
    let mut answers = String::new();
    if listening {
        let key = if env.is_empty() {
            FILE_API_KEY
        } else {
            ENV_API_KEY
        };
        for request in [
            format!("GET /api/v1/status HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"),
            format!("GET /api/v1/status HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer wrong-key-0123456789\r\nConnection: close\r\n\r\n"),
            format!("POST /webhooks/twilio/status?attempt=1 HTTP/1.1\r\nHost: {addr}\r\nX-Twilio-Signature: bogus\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{WEBHOOK_BODY}", WEBHOOK_BODY.len()),
        ] {
            answers.push_str(&http(&addr, &request));
            answers.push('\n');
        }
        // A few ticks: the dialer and the job runner get to try (and fail) their deliveries.
        std::thread::sleep(Duration::from_millis(1500));
        support::send_signal(child.id(), "TERM");
    } else {
        let _ = child.kill();
    }
    let status = child.wait().unwrap();
    let out = Output {
        status,
        stdout: format!("{}\n--- HTTP answers\n{answers}", stdout.join().unwrap()).into_bytes(),
        stderr: stderr.join().unwrap().into_bytes(),
    };
    let what = format!("{round}: outdial serve");
    assert_no_secret(&what, &out);
    assert!(
        listening,
        "`{what}` never listened:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        answers.contains("HTTP/1.1 200")
            && answers.contains("HTTP/1.1 401")
            && answers.contains("HTTP/1.1 403"),
        "{answers}"
    );
}

#[test]
fn no_command_prints_a_secret_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.db");
    let cfg = write_config(
        dir.path(),
        "o.toml",
        &config_text(&db.display().to_string(), ""),
    );
    run_everything(dir.path(), &cfg, &[], "file");
    run_everything(dir.path(), &cfg, &env_secrets(None), "file+env");
}

#[test]
fn no_command_prints_a_secret_postgres() {
    let Some(admin) = outdial_testkit::pg::admin_url("the PostgreSQL secrets test") else {
        return;
    };
    let db = TestDb::create_blocking(&admin, "outdial_secrets");
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "o.toml",
        &config_text(&db.url_with_password(FILE_DB_PASSWORD), ""),
    );
    run_everything(dir.path(), &cfg, &[], "pg file");
    let env = env_secrets(Some(&db.url_with_password(ENV_DB_PASSWORD)));
    run_everything(dir.path(), &cfg, &env, "pg file+env");
}

#[test]
fn all_digit_secrets_load_from_the_environment_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.db");
    let cfg = write_config(
        dir.path(),
        "o.toml",
        &config_text(&db.display().to_string(), ""),
    );
    let check = args(&["config", "check"]);
    for env in [
        vec![("OUTDIAL_TWILIO__AUTH_TOKEN", ENV_AUTH_TOKEN.to_owned())],
        vec![("OUTDIAL_API_KEYS", ENV_NUMERIC_API_KEY.to_owned())],
        vec![("OUTDIAL_API_KEYS", format!("[{ENV_NUMERIC_API_KEY}]"))],
        vec![("OUTDIAL_CRM__BEARER_TOKEN", ENV_AUTH_TOKEN.to_owned())],
        vec![("OUTDIAL_ALERTS__EMAIL__PASSWORD", ENV_AUTH_TOKEN.to_owned())],
    ] {
        let env: Vec<(String, String)> = env.into_iter().map(|(k, v)| (k.into(), v)).collect();
        let out = run(&cfg, &env, &check);
        assert_no_secret(&format!("config check with {env:?}"), &out);
        assert!(
            out.status.success(),
            "{env:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The `*_FILE` variants: an all-digit token and key read from files.
    let token = write_config(dir.path(), "token", &format!("{ENV_AUTH_TOKEN}\n"));
    let keys = write_config(dir.path(), "keys", &format!("{ENV_NUMERIC_API_KEY}\n"));
    let env = vec![
        (
            "OUTDIAL_TWILIO__AUTH_TOKEN_FILE".to_owned(),
            token.display().to_string(),
        ),
        (
            "OUTDIAL_API_KEYS_FILE".to_owned(),
            keys.display().to_string(),
        ),
    ];
    let out = run(&cfg, &env, &check);
    assert_no_secret("config check with *_FILE", &out);
    assert!(out.status.success());
}

/// A bad configuration: what it is, the file's text, the environment.
type ErrorCase = (&'static str, String, Vec<(&'static str, String)>);

#[test]
fn configuration_errors_never_show_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.db").display().to_string();
    let base = config_text(&db, "");
    // Each case runs `config check` and `serve` (both must refuse it) and `campaign list`.
    let cases: Vec<ErrorCase> = vec![
        (
            "a bad value next to the secrets",
            config_text(&db, "[dialer]\ncalls_per_second = \"fast\"\n"),
            vec![],
        ),
        (
            "a bad environment value next to the secrets",
            base.clone(),
            vec![("OUTDIAL_DIALER__MAX_CONCURRENT", "many".into())],
        ),
        (
            "a TOML syntax error on a secret's line",
            base.replace(
                &format!("auth_token = \"{FILE_AUTH_TOKEN}\""),
                &format!("auth_token = \"{FILE_AUTH_TOKEN}"),
            ),
            vec![],
        ),
        (
            "a secret of the wrong type",
            base.replace(
                &format!("auth_token = \"{FILE_AUTH_TOKEN}\""),
                &format!("auth_token = {ENV_AUTH_TOKEN}.5"),
            ),
            vec![],
        ),
        (
            "a table given as a URL with credentials",
            format!(
                "[twilio]\nauth_token = \"{FILE_AUTH_TOKEN}\"\n[alerts]\nemail = \"smtp://u:{ENV_SMTP_URL_PASSWORD}@h\"\n"
            ),
            vec![],
        ),
        (
            "alerts.email given as a URL in the environment",
            base.clone(),
            vec![(
                "OUTDIAL_ALERTS__EMAIL",
                format!("smtp://u:{ENV_SMTP_URL_PASSWORD}@h"),
            )],
        ),
        (
            "an API key given as a table",
            base.clone(),
            vec![("OUTDIAL_API_KEYS", format!("[{{a={ENV_API_KEY}}}]"))],
        ),
        (
            "a malformed database URL with a password",
            base.clone(),
            vec![(
                "OUTDIAL_DATABASE",
                format!("postgres://u:{ENV_DB_PASSWORD}@127.0.0.1:99999/db"),
            )],
        ),
        (
            "a malformed smtp_url with credentials",
            base.clone(),
            vec![(
                "OUTDIAL_ALERTS__EMAIL__SMTP_URL",
                format!("smtp://u:{ENV_SMTP_URL_PASSWORD}@{NOWHERE}?tls=sometimes"),
            )],
        ),
        (
            "an unparsable smtp_url with credentials",
            base.clone(),
            vec![(
                "OUTDIAL_ALERTS__EMAIL__SMTP_URL",
                format!("smtp://u:{ENV_SMTP_URL_PASSWORD}@127.0.0.1:99999"),
            )],
        ),
        (
            "a chat webhook URL that is not http",
            base.clone(),
            vec![(
                "OUTDIAL_ALERTS__CHAT_WEBHOOK_URL",
                format!("hooks.example.com/{ENV_CHAT_TOKEN}"),
            )],
        ),
        (
            "a CRM webhook URL that is not a URL",
            base.clone(),
            vec![("OUTDIAL_CRM__WEBHOOK_URL", format!("ftp://{ENV_CRM_URL_TOKEN}"))],
        ),
        (
            "a public_url with credentials",
            base.clone(),
            vec![(
                "OUTDIAL_PUBLIC_URL",
                format!("https://u:{ENV_API_KEY}@dialer.example.com"),
            )],
        ),
        (
            "an API key too short next to the secrets",
            base.clone(),
            vec![("OUTDIAL_API_KEYS", "[\"short\"]".into())],
        ),
        (
            "an API key with a trailing space",
            base.clone(),
            vec![("OUTDIAL_API_KEYS", format!("[\"{ENV_API_KEY} \"]"))],
        ),
        (
            "a bad account SID next to the secrets",
            base.clone(),
            vec![("OUTDIAL_TWILIO__ACCOUNT_SID", "ACnope".into())],
        ),
        (
            "an unknown key next to the secrets",
            base.replace("[crm]", "[crm]\nbearer_tokn = \"x\""),
            vec![],
        ),
    ];
    for (i, (case, text, env)) in cases.into_iter().enumerate() {
        let cfg = write_config(dir.path(), &format!("bad{i}.toml"), &text);
        let env: Vec<(String, String)> = env.into_iter().map(|(k, v)| (k.into(), v)).collect();
        let check = run(&cfg, &env, &args(&["config", "check"]));
        assert_no_secret(&format!("{case}: config check"), &check);
        assert!(
            !check.status.success(),
            "{case}: accepted:\n{}",
            String::from_utf8_lossy(&check.stdout)
        );
        assert!(
            String::from_utf8_lossy(&check.stderr).contains("error:"),
            "{case}: no error message"
        );
        let serve = run(&cfg, &env, &args(&["serve", "--listen", "127.0.0.1:0"]));
        assert_no_secret(&format!("{case}: serve"), &serve);
        assert!(!serve.status.success(), "{case}: serve started");
        let list = run(&cfg, &env, &args(&["campaign", "list"]));
        assert_no_secret(&format!("{case}: campaign list"), &list);
    }
}

/// Item 12: a blank (or short, or padded) API key and a `public_url` that is not a plain
/// http(s) base URL are refused by `config check` and `serve`, naming the setting.
#[test]
fn validation_refuses_blank_api_keys_and_odd_public_urls() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.db").display().to_string();
    let cfg = write_config(dir.path(), "o.toml", &config_text(&db, ""));
    let cases = [
        ("OUTDIAL_API_KEYS", "[\"                \"]", "api_keys"),
        (
            "OUTDIAL_API_KEYS",
            "[\"\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\"]",
            "api_keys",
        ),
        ("OUTDIAL_API_KEYS", "[\"  0123456789abcdef\"]", "api_keys"),
        ("OUTDIAL_API_KEYS", "[\"0123 4567 89ab cd\"]", "api_keys"),
        (
            "OUTDIAL_PUBLIC_URL",
            "https://dialer example.com",
            "public_url",
        ),
        (
            "OUTDIAL_PUBLIC_URL",
            "https://dialer.example.com?x=1",
            "public_url",
        ),
        (
            "OUTDIAL_PUBLIC_URL",
            "https://dialer.example.com#top",
            "public_url",
        ),
        (
            "OUTDIAL_PUBLIC_URL",
            "https://ops@dialer.example.com",
            "public_url",
        ),
        (
            "OUTDIAL_PUBLIC_URL",
            "ftp://dialer.example.com",
            "public_url",
        ),
    ];
    for (var, value, setting) in cases {
        let env = vec![(var.to_owned(), value.to_owned())];
        for a in [
            args(&["config", "check"]),
            args(&["serve", "--listen", "127.0.0.1:0"]),
        ] {
            let out = run(&cfg, &env, &a);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{var}={value:?} accepted by {a:?}");
            assert!(stderr.contains(setting), "{var}={value:?}: {stderr}");
        }
    }
}
