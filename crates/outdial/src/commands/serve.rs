//! `outdial serve`: the HTTP server (webhooks, admin API) and the dialer loop.

use anyhow::Context;
use outdial_store_sqlite::OpenMode;
use std::net::SocketAddr;
use std::path::Path;

use crate::app::{AdoptArgs, ClockArgs, StoreArgs};
use crate::config::Config;

/// Arguments of `outdial serve`; each overrides the configuration.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Database and pool size.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Listen address.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Public base URL the provider reaches this server at.
    #[arg(long)]
    pub public_url: Option<String>,
    /// This instance's name in a fleet (holder of the maintenance lease). Default: host name
    /// and process id.
    #[arg(long)]
    pub instance_id: Option<String>,
    /// Create the database file if it does not exist (otherwise a missing file is an error).
    #[arg(long)]
    pub create: bool,
    /// `--adopt-database`.
    #[command(flatten)]
    pub adopt: AdoptArgs,
    /// Clock flags (tests and demos).
    #[command(flatten)]
    pub clock: ClockArgs,
}

/// Runs until SIGINT or SIGTERM.
pub async fn run(config: Option<&Path>, args: ServeArgs) -> anyhow::Result<()> {
    let mut cfg = Config::load(config)?;
    cfg.database = args.store.database(&cfg);
    cfg.database_pool_size = args.store.pool_size(&cfg);
    if let Some(l) = args.listen {
        cfg.listen = l;
    }
    if let Some(u) = &args.public_url {
        cfg.public_url = u.clone();
    }
    cfg.validate_for_serve()?;
    crate::app::init_tracing(cfg.log_format == "json", "info");
    let clock = args.clock.clock()?;
    let mode = if args.create {
        OpenMode::CreateIfMissing
    } else {
        OpenMode::MustExist
    };
    let store = crate::app::open_database(
        &cfg.database,
        mode,
        cfg.database_pool_size,
        args.adopt.policy(),
    )
    .await?;
    let instance_id = args.instance_id.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "outdial".into());
        format!("{host}-{}", std::process::id())
    });
    let engine = crate::app::engine(&cfg, store.clone(), clock, &instance_id)?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let tick = std::time::Duration::from_millis(cfg.dialer.tick_ms);
    let running = crate::app::start(listener, engine, &cfg, tick).await?;
    tracing::info!(addr = %running.addr, public_url = %cfg.public_url, "outdial serving");
    println!("outdial listening on {}", running.addr);
    wait_for_signal().await;
    tracing::info!("shutting down");
    running.stop().await;
    store.close().await;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
