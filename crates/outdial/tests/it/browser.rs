//! The dashboard in a real browser: Debian's Chromium driven through WebDriver (fantoccini
//! and `chromedriver`) against `outdial serve` dialing the fake carrier on a fast clock.
//!
//! It logs in with the API key, sees the live counts move, finds the Hawaii leads blocked
//! outside their calling window in "why is it not dialing", opens a lead's timeline, trips
//! the kill switch from the page and sees dialing stop, downloads a report's CSV in the
//! browser and compares it with the JSON of the same report, resumes and sees dialing go on.
//! Screenshots of each page go to `target/browser-screenshots/` (or
//! `$BROWSER_SCREENSHOT_DIR`). Without `/usr/bin/chromium` and `/usr/bin/chromedriver`
//! (Debian's `chromium` and `chromium-driver`; `.ci/run` installs them) it skips, and
//! fails under `CI=true`.

use super::support::{self, LeadFile, Serve, SimClock, API_KEY};
use chrono::{TimeZone, Utc};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// 30 New York leads and 30 in Hawaii, alternating.
const LEADS: LeadFile<'static> = LeadFile {
    areas: &[("212", "NY"), ("808", "HI")],
    valid: 60,
    duplicates: 0,
    duplicate_stride: 1,
    invalid: 0,
};

/// `chromedriver`, killed when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("BROWSER_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-screenshots")
        });
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    let path = screenshot_dir().join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

/// The text of the first element matching `css`, or "" while there is none (the live part
/// is swapped every 2 s, so an element found may be gone when read).
async fn text_of(c: &Client, css: &str) -> String {
    match c.find(Locator::Css(css)).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits (at most `within`) until `check` holds, polling every 250 ms.
async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Fills the overview's kill-switch form with `reason` and presses `button`.
async fn kill_switch_form(c: &Client, base: &str, button: &str, reason: &str) {
    c.goto(&format!("{base}/dashboard")).await.unwrap();
    c.find(Locator::Css("#killswitch-reason"))
        .await
        .unwrap()
        .send_keys(reason)
        .await
        .unwrap();
    click(c, button).await;
}

async fn calls_today(http: &reqwest::Client, base: &str) -> u64 {
    support::status(http, base, "serve").await["calls_today"]
        .as_u64()
        .unwrap()
}

async fn start_browser() -> (Driver, Client) {
    let port = support::free_port();
    let driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let profile = tempfile::tempdir().unwrap().keep();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,1400",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let client = loop {
        match ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => break c,
            Err(e) => {
                assert!(Instant::now() < deadline, "chromedriver: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    (driver, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dashboard_in_a_real_browser() {
    if !std::path::Path::new(CHROMIUM).exists() || !std::path::Path::new(CHROMEDRIVER).exists() {
        outdial_testkit::precondition_missing(
            "the browser test",
            "no /usr/bin/chromium or /usr/bin/chromedriver (apt-get install chromium chromium-driver)",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("browser.db");
    let leads = dir.path().join("leads.txt");
    let numbers = LEADS.write(&leads);
    support::create_campaign(&db, "browser", dir.path());
    // Monday 2026-01-05 09:00 in New York, 04:00 in Honolulu: the Hawaii leads wait.
    let start = Utc.with_ymd_and_hms(2026, 1, 5, 14, 0, 0).unwrap();
    support::import_leads(&db, &leads, "browser", start);
    let sim = SimClock::new(start, 20.0, 1500);
    let carrier =
        support::start_carrier(support::carrier_config(7, "", &[], &[], &[]), sim.clock()).await;
    let mut serve = Serve::new(&db, sim, &carrier.base_url(), 2.0, 2).spawn();
    let base = serve.public_url.clone();
    let http = reqwest::Client::new();
    serve
        .wait_healthy(&http, Duration::from_secs(10), "outdial serve")
        .await;
    let (_driver, c) = start_browser().await;

    // Log in: the dashboard sends a browser without a session to the login form.
    c.goto(&format!("{base}/dashboard")).await.unwrap();
    assert!(c
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/dashboard/login"));
    shot(&c, "01-login").await;
    c.find(Locator::Css("#key"))
        .await
        .unwrap()
        .send_keys(API_KEY)
        .await
        .unwrap();
    click(&c, "#login-submit").await;
    c.wait()
        .for_element(Locator::Css("#in-flight"))
        .await
        .unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/dashboard");

    // The live counts move without a reload (the SSE stream swaps them in).
    let first = text_of(&c, "#calls-today").await;
    eventually(
        Duration::from_secs(30),
        "the calls-today tile to move",
        || {
            let c = c.clone();
            let first = first.clone();
            async move { text_of(&c, "#calls-today").await != first }
        },
    )
    .await;
    shot(&c, "02-overview").await;

    // Why is it not dialing: the Hawaii leads, by zone, with a link to them.
    c.goto(&format!("{base}/dashboard/blocked")).await.unwrap();
    let rows = c
        .find_all(Locator::Css("#blocked tr[data-reason]"))
        .await
        .unwrap();
    let mut hawaii_link = None;
    for row in rows {
        if row.text().await.unwrap().contains("Pacific/Honolulu: 30") {
            let link = row.find(Locator::Css("a")).await.unwrap();
            hawaii_link = link.attr("href").await.unwrap();
        }
    }
    shot(&c, "03-why-not-dialing").await;
    let hawaii_link = hawaii_link.expect("a reason counting the 30 Hawaii leads by zone");
    c.goto(&format!("{base}{hawaii_link}")).await.unwrap();
    shot(&c, "04-blocked-leads").await;
    click(&c, "#leads tr td a").await;
    c.wait()
        .for_element(Locator::Css("#timeline"))
        .await
        .unwrap();
    let explain = text_of(&c, "#explain-reasons").await;
    assert!(!explain.is_empty(), "explain names the blocking rule");
    assert!(text_of(&c, "#contact").await.contains("Pacific/Honolulu"));

    // A New York lead that was dialed: its timeline has the attempt, in UTC and local time.
    let ny = &numbers[0];
    let found: serde_json::Value = http
        .get(format!("{base}/api/v1/leads"))
        .query(&[("phone", ny.as_str())])
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ny_id = found[0]["id"].as_i64().unwrap();
    c.goto(&format!("{base}/dashboard/leads/{ny_id}"))
        .await
        .unwrap();
    let timeline = text_of(&c, "#timeline").await;
    assert!(timeline.contains("attempt."), "{timeline}");
    assert!(
        timeline.contains("UTC (") && timeline.contains("EST)"),
        "{timeline}"
    );
    shot(&c, "05-lead").await;

    // Trip the kill switch from the page: dialing stops.
    kill_switch_form(&c, &base, "#trip", "browser test: stop").await;
    eventually(Duration::from_secs(10), "the page to show the trip", || {
        let c = c.clone();
        async move { text_of(&c, "#kill-state").await.contains("1 tripped") }
    })
    .await;
    shot(&c, "06-kill-switch-tripped").await;
    support::drain(&http, &base, 0, Duration::from_secs(30)).await;
    let stopped_at = calls_today(&http, &base).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        calls_today(&http, &base).await,
        stopped_at,
        "no call is placed while the kill switch is tripped"
    );

    // The CSV the page downloads is the JSON of the same report, figure by figure.
    let query = "name=kpis&from=2026-01-05&to=2026-01-06&tz=UTC";
    c.goto(&format!("{base}/dashboard/reports?{query}"))
        .await
        .unwrap();
    shot(&c, "07-report-kpis").await;
    let href = c
        .find(Locator::Css("#csv-link"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let csv = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0]).then(r => r.text()).then(done, e => done('error ' + e));",
            vec![serde_json::json!(href)],
        )
        .await
        .unwrap();
    let csv = csv.as_str().unwrap().to_owned();
    let json: serde_json::Value = http
        .get(format!("{base}/api/v1/reports/kpis"))
        .query(&[("from", "2026-01-05"), ("to", "2026-01-06"), ("tz", "UTC")])
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut compared = 0;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    for row in reader.records() {
        let row = row.unwrap();
        let field = row[0].replace(['-', ' '], "_");
        let Some(figure) = json.get(&field).filter(|v| v.get("numerator").is_some()) else {
            continue;
        };
        assert_eq!(row[2], figure["numerator"].to_string(), "{field}: {csv}");
        assert_eq!(row[3], figure["denominator"].to_string(), "{field}: {csv}");
        compared += 1;
    }
    assert!(compared >= 4, "rates compared: {compared}\n{csv}\n{json}");
    assert!(
        json["connect_rate"]["denominator"].as_u64().unwrap() > 0,
        "the report counts the calls placed: {json}"
    );
    c.goto(&format!(
        "{base}/dashboard/reports?name=best-time&from=2026-01-05&to=2026-01-06"
    ))
    .await
    .unwrap();
    c.find(Locator::Css("#heat-map")).await.unwrap();
    shot(&c, "08-report-best-time").await;
    c.goto(&format!(
        "{base}/dashboard/reports?name=funnel&from=2026-01-05&to=2026-01-06"
    ))
    .await
    .unwrap();
    c.find(Locator::Css("#funnel")).await.unwrap();
    shot(&c, "09-report-funnel").await;

    // Resume from the page: dialing goes on.
    kill_switch_form(&c, &base, "#resume", "browser test: go on").await;
    eventually(Duration::from_secs(30), "dialing to resume", || {
        let http = http.clone();
        let base = base.clone();
        async move { calls_today(&http, &base).await > stopped_at }
    })
    .await;
    assert!(text_of(&c, "#kill-state").await.contains("none tripped"));

    for (path, name) in [
        ("/dashboard/campaigns", "10-campaigns"),
        ("/dashboard/jobs", "11-jobs-and-alerts"),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        shot(&c, name).await;
    }
    c.close().await.unwrap();
    serve.assert_running("outdial serve");
}
