//! Tests of the configuration: layering, secrets, validation, the example file.
use super::*;

#[test]
fn defaults_then_file_then_env() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "o.toml",
            r#"
            database = "file.db"
            api_keys = ["0123456789abcdef0123"]
            [twilio]
            account_sid = "AC0123456789abcdef0123456789abcdef"
            auth_token = "secret-token"
            [dialer]
            calls_per_second = 2.0
            "#,
        )?;
        jail.set_env("OUTDIAL_DATABASE", "env.db");
        let c = Config::load(Some(Path::new("o.toml"))).expect("loads");
        assert_eq!(c.database.expose_location(), "env.db");
        assert_eq!(c.dialer.calls_per_second, 2.0);
        assert_eq!(c.dialer.max_concurrent, 10);
        c.validate_for_serve().expect("valid");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("secret-token"), "secret in Debug: {dbg}");
        Ok(())
    });
}

/// A valid base for validation tests.
fn valid() -> Config {
    let mut c = Config {
        api_keys: vec![SecretString::from("0123456789abcdef0123".to_string())],
        ..Config::default()
    };
    c.twilio.account_sid = "AC0123456789abcdef0123456789abcdef".into();
    c.twilio.auth_token = SecretString::from("t".to_string());
    c
}

#[test]
fn secrets_load_from_the_environment_as_their_exact_text() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("o.toml", "[twilio]\nauth_token = 987654321987\n")?;
        let c = Config::load(Some(Path::new("o.toml"))).expect("numeric TOML secret");
        assert_eq!(c.twilio.auth_token.expose_secret(), "987654321987");

        for (var, value) in [
            ("OUTDIAL_TWILIO__AUTH_TOKEN", "0987654321987"),
            ("OUTDIAL_ALERTS__EMAIL__PASSWORD", " 1.50 "),
            ("OUTDIAL_CRM__BEARER_TOKEN", "\"quoted\""),
            ("OUTDIAL_CRM__WEBHOOK_URL", "true"),
            ("OUTDIAL_ALERTS__CHAT_WEBHOOK_URL", "{a=b}"),
            ("OUTDIAL_DATABASE", "0042"),
        ] {
            jail.set_env(var, value);
        }
        jail.set_env("OUTDIAL_ALERTS__EMAIL__SMTP_URL", "smtp://127.0.0.1:25");
        jail.set_env("OUTDIAL_ALERTS__EMAIL__FROM", "a@example.com");
        jail.set_env("OUTDIAL_ALERTS__EMAIL__TO", "[b@example.com]");
        let c = Config::load(None).expect("loads");
        assert_eq!(c.twilio.auth_token.expose_secret(), "0987654321987");
        let email = c.alerts.email.as_ref().expect("email");
        assert_eq!(email.password.as_ref().unwrap().expose_secret(), " 1.50 ");
        assert_eq!(email.smtp_url.expose_secret(), "smtp://127.0.0.1:25");
        assert_eq!(
            c.crm.bearer_token.as_ref().unwrap().expose_secret(),
            "\"quoted\""
        );
        assert_eq!(c.crm.webhook_url.as_ref().unwrap().expose_secret(), "true");
        assert_eq!(
            c.alerts.chat_webhook_url.as_ref().unwrap().expose_secret(),
            "{a=b}"
        );
        assert_eq!(c.database.sqlite_path(), Some(Path::new("0042")));

        // One key as it is, or a list (quoted elements exact, numbers as digits).
        jail.set_env("OUTDIAL_API_KEYS", "9876543210987654321");
        let c = Config::load(None).expect("one numeric key");
        let keys: Vec<&str> = c.api_keys.iter().map(|k| k.expose_secret()).collect();
        assert_eq!(keys, ["9876543210987654321"]);
        jail.set_env(
            "OUTDIAL_API_KEYS",
            "[\"0011223344556677\", 98765432109876543]",
        );
        let c = Config::load(None).expect("a list of keys");
        let keys: Vec<&str> = c.api_keys.iter().map(|k| k.expose_secret()).collect();
        assert_eq!(keys, ["0011223344556677", "98765432109876543"]);
        Ok(())
    });
}

#[test]
fn load_errors_never_show_a_secret() {
    figment::Jail::expect_with(|jail| {
        for (name, text) in [
            ("syntax.toml", "[twilio]\nauth_token = \"PLANTED-1234\n"),
            ("float.toml", "[twilio]\nauth_token = 31415.9265\n"),
            (
                "table.toml",
                "[alerts]\nemail = \"smtps://u:PLANTED-1234@h\"\n",
            ),
            ("list.toml", "api_keys = \"PLANTED-1234\"\n"),
            (
                "next.toml",
                "[twilio]\nauth_token = \"PLANTED-1234\"\n[dialer]\ncalls_per_second = \"fast\"\n",
            ),
        ] {
            jail.create_file(name, text)?;
            let err = format!("{:#}", Config::load(Some(Path::new(name))).unwrap_err());
            assert!(!err.contains("PLANTED"), "{name}: {err}");
            assert!(!err.contains("31415"), "{name}: {err}");
            assert!(err.contains(name), "{name} not named: {err}");
        }
        jail.set_env("OUTDIAL_ALERTS__EMAIL", "smtps://u:PLANTED-1234@h");
        let err = format!("{:#}", Config::load(None).unwrap_err());
        assert!(!err.contains("PLANTED"), "{err}");
        assert!(
            err.contains("ALERTS.EMAIL") && err.contains("OUTDIAL_"),
            "{err}"
        );
        Ok(())
    });
}

#[test]
fn api_keys_need_sixteen_visible_characters_and_no_edge_whitespace() {
    for (key, ok, expect) in [
        ("0123456789abcdef", true, ""),
        ("0123456789abcde", false, "15 non-whitespace characters"),
        ("                ", false, "blank"),
        ("\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t", false, "blank"),
        (" 0123456789abcdef", false, "whitespace"),
        ("0123456789abcdef\n", false, "whitespace"),
        ("0123 4567 89ab cde", false, "15 non-whitespace"),
    ] {
        let c = Config {
            api_keys: vec![
                SecretString::from("0123456789abcdef0123".to_string()),
                SecretString::from(key.to_string()),
            ],
            ..valid()
        };
        match c.validate_for_serve() {
            Ok(()) => assert!(ok, "{key:?} accepted"),
            Err(e) => {
                let e = e.to_string();
                assert!(!ok, "{key:?} refused: {e}");
                assert!(
                    e.contains("api_keys: key 2 of 2") && e.contains(expect),
                    "{e}"
                );
                if !key.trim().is_empty() {
                    assert!(!e.contains(key.trim()), "key shown: {e}");
                }
            }
        }
    }
}

#[test]
fn public_url_is_a_plain_http_base_url() {
    for (url, ok, expect) in [
        ("https://dialer.example.com", true, ""),
        ("http://127.0.0.1:8080", true, ""),
        ("https://example.com/outdial", true, ""),
        ("https://dialer.example.com/", false, "slash"),
        ("https://dialer example.com", false, "whitespace"),
        ("https://dialer.example.com ", false, "whitespace"),
        ("https://dialer.example.com?x=1", false, "query"),
        ("https://dialer.example.com/?", false, "query"),
        ("https://dialer.example.com#top", false, "fragment"),
        (
            "https://user:PLANTED-pw@dialer.example.com",
            false,
            "user info",
        ),
        (
            "https://PLANTED-user@dialer.example.com",
            false,
            "user info",
        ),
        ("ftp://dialer.example.com", false, "http"),
        ("dialer.example.com", false, "not a URL"),
        ("https://", false, "not a URL"),
    ] {
        let c = Config {
            public_url: url.into(),
            ..valid()
        };
        match c.validate_for_serve() {
            Ok(()) => assert!(ok, "{url:?} accepted"),
            Err(e) => {
                let e = e.to_string();
                assert!(!ok, "{url:?} refused: {e}");
                assert!(e.contains("public_url") && e.contains(expect), "{url}: {e}");
                assert!(!e.contains("PLANTED"), "user info shown: {e}");
            }
        }
    }
}

#[test]
fn the_example_file_is_valid() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "example.toml",
            include_str!("../../../../outdial.example.toml"),
        )?;
        let c = Config::load(Some(Path::new("example.toml"))).expect("example loads");
        assert_eq!(c.dialer.calls_per_second, 1.0);
        assert_eq!(c.twilio.account_sid, "AC00000000000000000000000000000000");
        Ok(())
    });
}

#[test]
fn bad_config_names_the_setting() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("o.toml", "dialer = { calls_per_second = \"fast\" }")?;
        let err = Config::load(Some(Path::new("o.toml")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("calls_per_second"), "{err}");
        jail.create_file("p.toml", "databse = \"x\"")?;
        let err = Config::load(Some(Path::new("p.toml")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("databse"), "{err}");
        let mut c = Config {
            api_keys: vec![SecretString::from("0123456789abcdef0123".to_string())],
            ..Config::default()
        };
        c.twilio.account_sid = "ACnope".into();
        let err = c.validate_for_serve().unwrap_err().to_string();
        assert!(err.contains("twilio.account_sid"), "{err}");
        Ok(())
    });
    assert!(Config::load(Some(Path::new("/nonexistent/o.toml"))).is_err());
}

#[test]
fn bad_alert_channels_stop_start_up_naming_the_setting() {
    figment::Jail::expect_with(|jail| {
        let base = r#"
            api_keys = ["0123456789abcdef0123"]
            [twilio]
            account_sid = "AC0123456789abcdef0123456789abcdef"
            auth_token = "secret-token"
        "#;
        jail.create_file(
            "a.toml",
            &format!("{base}\n[alerts.email]\nsmtp_url = \"smtp://127.0.0.1:25\"\nfrom = \"not an address\"\nto = [\"ops@example.com\"]\n"),
        )?;
        let c = Config::load(Some(Path::new("a.toml"))).expect("loads");
        let err = format!("{:#}", c.validate_for_serve().unwrap_err());
        assert!(
            err.contains("alerts.email") && err.contains("from"),
            "{err}"
        );
        jail.create_file(
            "b.toml",
            &format!("{base}\n[alerts]\nchat_webhook_url = \"hooks.example.com/x\"\n"),
        )?;
        let c = Config::load(Some(Path::new("b.toml"))).expect("loads");
        let err = format!("{:#}", c.validate_for_serve().unwrap_err());
        assert!(err.contains("alerts.chat_webhook_url"), "{err}");
        jail.create_file(
            "c.toml",
            &format!("{base}\n[alerts]\nchat_webhook_url = \"https://hooks.example.com/T0/secret\"\n[crm]\nwebhook_url = \"https://crm.example.com/h\"\n"),
        )?;
        let c = Config::load(Some(Path::new("c.toml"))).expect("loads");
        c.validate_for_serve().expect("valid channels");
        let shown = format!("{c:?}");
        assert!(!shown.contains("secret"), "webhook URL shown: {shown}");
        let engine_cfg = crate::app::engine_config(&c, "x").unwrap();
        assert_eq!(engine_cfg.alert_channels, vec!["alert.chat".to_string()]);
        assert_eq!(
            engine_cfg.post_call_jobs,
            vec!["crm.attempt_concluded".to_string()]
        );
        Ok(())
    });
}

#[test]
fn engine_settings_are_the_engines_own_with_their_defaults() {
    let engine = outdial_engine::EngineConfig::default();
    let c = Config::default();
    assert_eq!(c.safety, engine.safety);
    assert_eq!(c.jobs, engine.jobs);
    assert_eq!(c.dialer.calls_per_second, engine.calls_per_second);
    assert_eq!(c.dialer.max_concurrent, engine.max_concurrent);
    assert_eq!(c.dialer.reconcile_after_s, engine.reconcile_after_s);
    assert_eq!(c.dialer.maintenance_every_s, engine.maintenance_every_s);
    assert_eq!(c.dialer.monitor_every_s, engine.monitor_every_s);
    assert_eq!(
        c.twilio.request_timeout_s * 1000,
        engine.request_timeout_real_ms
    );
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "o.toml",
            "[jobs]\nmax_attempts = 3\n[safety]\nplacement_failures = 0\n",
        )?;
        let c = Config::load(Some(Path::new("o.toml"))).expect("loads");
        assert_eq!(c.jobs.max_attempts, 3);
        // Not settings: the engine's defaults stay.
        assert_eq!(c.jobs.lock_for_s, engine.jobs.lock_for_s);
        assert_eq!(c.jobs.batch, engine.jobs.batch);
        assert_eq!(c.safety.placement_failures, 0);
        assert_eq!(c.safety.webhook_silence_s, engine.safety.webhook_silence_s);
        jail.create_file("p.toml", "[jobs]\nbatch = 5\n")?;
        let err = Config::load(Some(Path::new("p.toml")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("batch"), "{err}");
        jail.set_env("OUTDIAL_JOBS__BACKOFF_BASE_S", "7");
        let c = Config::load(None).expect("loads");
        assert_eq!(c.jobs.backoff_base_s, 7);
        jail.create_file("m.toml", "[dialer]\nmonitor_every_s = 30\n")?;
        let c = Config::load(Some(Path::new("m.toml"))).expect("loads");
        let e = crate::app::engine_config(&c, "x").unwrap();
        assert_eq!(
            (e.monitor_every_s, e.maintenance_every_s),
            (30, engine.maintenance_every_s)
        );
        Ok(())
    });
}

#[test]
fn the_database_is_parsed_at_load() {
    figment::Jail::expect_with(|jail| {
        jail.set_env(
            "OUTDIAL_DATABASE",
            "postgres://u:PLANTED-1@db.example.com/outdial",
        );
        let c = Config::load(None).expect("loads");
        assert!(matches!(c.database, Database::Postgres(_)));
        assert!(!format!("{c:?}").contains("PLANTED"));
        assert!(!serde_json::to_string(&c).unwrap().contains("PLANTED"));
        jail.set_env("OUTDIAL_DATABASE", "sqlite://data/o.db");
        let c = Config::load(None).expect("loads");
        assert_eq!(c.database.sqlite_path(), Some(Path::new("data/o.db")));
        jail.set_env("OUTDIAL_DATABASE", "mysql://u:PLANTED-1@db/x");
        let err = format!("{:#}", Config::load(None).unwrap_err());
        assert!(err.contains("database must be"), "{err}");
        assert!(!err.contains("PLANTED"), "{err}");
        Ok(())
    });
}

/// `[bland]` is optional; from the environment its secrets are their exact text, from files
/// trimmed; `serve` refuses an empty key or signing secret, naming the setting, and neither
/// the `Debug` of the settings nor an error shows a secret.
#[test]
fn the_bland_section_is_optional_and_its_secrets_stay_secret() {
    figment::Jail::expect_with(|jail| {
        let c = Config::load(None).expect("loads");
        assert!(c.bland.is_none());
        jail.set_env("OUTDIAL_BLAND__API_KEY", "PLANTED-key-00123");
        jail.set_env("OUTDIAL_BLAND__WEBHOOK_SECRET", "0042");
        jail.set_env("OUTDIAL_BLAND__ORG_ID", "org-7");
        let c = Config::load(None).expect("loads");
        let b = c.bland.as_ref().expect("a bland section");
        assert_eq!(b.api_key.expose_secret(), "PLANTED-key-00123");
        assert_eq!(b.webhook_secret.expose_secret(), "0042");
        assert_eq!(b.org_id.as_deref(), Some("org-7"));
        assert_eq!(
            b.api_base,
            outdial_providers::bland::client::DEFAULT_API_BASE
        );
        assert!(!format!("{c:?}").contains("PLANTED"));
        let mut v = valid();
        v.bland = c.bland.clone();
        v.validate_for_serve().expect("valid");

        jail.create_file("secret.txt", "  PLANTED-from-file\n")?;
        jail.set_env("OUTDIAL_BLAND__WEBHOOK_SECRET_FILE", "secret.txt");
        let c = Config::load(None).expect("loads");
        let b = c.bland.as_ref().unwrap();
        assert_eq!(b.webhook_secret.expose_secret(), "PLANTED-from-file");

        let mut v = valid();
        v.bland = Some(BlandSettings {
            api_key: SecretString::from("PLANTED-key".to_string()),
            ..BlandSettings::default()
        });
        let err = format!("{:#}", v.validate_for_serve().unwrap_err());
        assert!(err.contains("bland.webhook_secret"), "{err}");
        assert!(!err.contains("PLANTED"), "{err}");
        jail.set_env("OUTDIAL_BLAND__REQUEST_TIMEOUT_S", "soon");
        let err = format!("{:#}", Config::load(None).unwrap_err());
        assert!(!err.contains("PLANTED"), "{err}");
        Ok(())
    });
}

#[test]
fn a_bland_only_team_needs_no_twilio_section_but_some_provider_is_required() {
    let bland = || BlandSettings {
        api_key: SecretString::from("PLANTED-bland-key".to_string()),
        webhook_secret: SecretString::from("PLANTED-signing-secret".to_string()),
        ..BlandSettings::default()
    };
    let mut v = valid();
    v.twilio = Config::default().twilio;
    assert!(!v.twilio_configured());
    let err = format!("{:#}", v.validate_for_serve().unwrap_err());
    assert!(err.contains("no provider is configured"), "{err}");

    v.bland = Some(bland());
    v.validate_for_serve().expect("Bland alone is enough");
    let providers = crate::app::providers(&v).expect("adapters");
    assert!(providers.contains_key(&outdial_core::ProviderKind::Bland));
    assert!(!providers.contains_key(&outdial_core::ProviderKind::Twilio));

    // Half a Twilio section is refused by name, even next to a complete Bland one.
    v.twilio.auth_token = SecretString::from("PLANTED-token".to_string());
    let err = format!("{:#}", v.validate_for_serve().unwrap_err());
    assert!(err.contains("twilio.account_sid"), "{err}");
    assert!(!err.contains("PLANTED"), "{err}");

    // A Bland API base the client cannot use stops start-up, naming the section.
    let mut v = valid();
    v.bland = Some(BlandSettings {
        api_base: "ftp://api.bland.example".into(),
        ..bland()
    });
    let err = format!("{:#}", v.validate_for_serve().unwrap_err());
    assert!(err.contains("bland") && err.contains("API base"), "{err}");
    assert!(!err.contains("PLANTED"), "{err}");
    v.bland = Some(BlandSettings {
        request_timeout_s: 0,
        ..bland()
    });
    let err = format!("{:#}", v.validate_for_serve().unwrap_err());
    assert!(err.contains("timeout"), "{err}");
}

#[test]
fn a_bland_plan_sets_the_account_limits_and_explicit_ones_win() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "outdial.toml",
            r#"
            [bland]
            api_key = "PLANTED-key"
            webhook_secret = "PLANTED-secret"
            plan = "build"

            [bland.limits]
            calls_per_hour = 300
            "#,
        )?;
        jail.set_env("OUTDIAL_BLAND__LIMITS__CALLS_PER_SECOND", "2.5");
        let c = Config::load(Some(Path::new("outdial.toml"))).expect("loads");
        let b = c.bland.as_ref().expect("bland");
        let l = b.effective_limits();
        // Build: 50 at once, 2,000 a day; the hourly figure and the rate are the operator's.
        assert_eq!(l.max_concurrent, Some(50));
        assert_eq!(l.calls_per_day, Some(2_000));
        assert_eq!(l.calls_per_hour, Some(300));
        assert_eq!(l.calls_per_second, Some(2.5));
        let mut v = valid();
        v.bland = c.bland.clone();
        v.validate_for_serve().expect("valid");
        let engine = crate::app::engine_config(&v, "t").expect("engine config");
        assert_eq!(
            engine
                .provider_limits
                .get(&outdial_core::ProviderKind::Bland),
            Some(&l)
        );
        assert!(!engine
            .provider_limits
            .contains_key(&outdial_core::ProviderKind::Twilio));

        jail.set_env("OUTDIAL_BLAND__LIMITS__CALLS_PER_DAY", "0");
        let mut v = valid();
        v.bland = Config::load(Some(Path::new("outdial.toml"))).unwrap().bland;
        let err = format!("{:#}", v.validate_for_serve().unwrap_err());
        assert!(err.contains("bland.limits.calls_per_day"), "{err}");
        jail.set_env("OUTDIAL_BLAND__PLAN", "gold");
        let err = format!(
            "{:#}",
            Config::load(Some(Path::new("outdial.toml"))).unwrap_err()
        );
        assert!(
            err.contains("BLAND.PLAN") && err.contains("start, build") && !err.contains("PLANTED"),
            "{err}"
        );
        Ok(())
    });
}

#[test]
fn a_twilio_account_may_have_its_own_limits() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("OUTDIAL_TWILIO__LIMITS__MAX_CONCURRENT", "30");
        jail.set_env("OUTDIAL_TWILIO__LIMITS__CALLS_PER_SECOND", "3");
        let c = Config::load(None).expect("loads");
        assert_eq!(c.twilio.limits.max_concurrent, Some(30));
        let mut v = valid();
        v.twilio.limits = c.twilio.limits;
        v.validate_for_serve().expect("valid");
        let engine = crate::app::engine_config(&v, "t").expect("engine config");
        let l = engine
            .provider_limits
            .get(&outdial_core::ProviderKind::Twilio)
            .expect("Twilio limits");
        assert_eq!(
            (l.max_concurrent, l.calls_per_second),
            (Some(30), Some(3.0))
        );
        // None given: no per-account entry, the global pace and cap alone.
        let engine = crate::app::engine_config(&valid(), "t").expect("engine config");
        assert!(engine.provider_limits.is_empty());
        v.twilio.limits.calls_per_hour = Some(0);
        let err = format!("{:#}", v.validate_for_serve().unwrap_err());
        assert!(err.contains("twilio.limits.calls_per_hour"), "{err}");
        Ok(())
    });
}
