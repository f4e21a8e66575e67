//! p2pd: parses flags, loads the configuration, sets up logging, forks for
//! `--daemon` (before any runtime exists), then runs the daemon until
//! SIGTERM or SIGINT; or, for `p2pd service ...`, hands the same daemon to
//! the Windows service code, which stops it through its token.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use p2pd::cli::{Command, Flags};
use p2pd::config::{Config, Settings, default_config_toml};
use p2pd::daemon::Service;
use p2pd::service_manager::Notifier;
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    let flags = Flags::parse();
    if flags.print_config {
        // A closed stdout (`p2pd --print-config | head -1`) is not an error.
        let _ = std::io::Write::write_all(&mut std::io::stdout(), default_config_toml().as_bytes());
        return ExitCode::SUCCESS;
    }
    match run(flags) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            p2pd::logging::report(&format!("p2pd: {e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// The settings from the file, the environment and the flags, in that
/// order; again on each reload.
fn resolve_settings(flags: &Flags) -> anyhow::Result<Settings> {
    let mut config = match &flags.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    let env = |k: &str| std::env::var(k).ok();
    config.apply_env(env);
    if flags.home.is_some() {
        config.home = flags.home.clone();
    }
    if flags.socket.is_some() {
        config.socket = flags.socket.clone();
    }
    if flags.shared_dir.is_some() {
        config.shared_dir = flags.shared_dir.clone();
    }
    if flags.listen_port.is_some() {
        config.listen_port = flags.listen_port;
    }
    if flags.socket_group_access {
        config.socket_group_access = Some(true);
    }
    if flags.tracker.is_some() {
        config.tracker = flags.tracker.clone();
    }
    // Under systemd as root, or as the Windows service, the daemon is a
    // system service.
    let system = flags.is_service() || (std::env::var_os("INVOCATION_ID").is_some() && is_root());
    Ok(config.resolve(system, env)?)
}

fn run(flags: Flags) -> anyhow::Result<()> {
    if let Some(Command::Service { action }) = flags.command {
        let config = flags.config.clone();
        return p2pd::service::run(
            action,
            config.as_deref(),
            Box::new(move |cancel| run_service(flags, cancel)),
        );
    }
    let settings = resolve_settings(&flags)?;
    if flags.daemon {
        daemonize(&settings.pid_file, &settings.state_dir)?;
        init_log_file(&settings)?;
    } else {
        p2pd::logging::init_foreground();
    }
    serve(flags, settings, CancellationToken::new(), true)
}

/// The daemon as a service: no console, so it logs to its file.
fn run_service(flags: Flags, cancel: CancellationToken) -> anyhow::Result<()> {
    let settings = resolve_settings(&flags)?;
    init_log_file(&settings)?;
    serve(flags, settings, cancel, false)
}

fn init_log_file(settings: &Settings) -> anyhow::Result<()> {
    p2pd::logging::init_file(&settings.log_file)
        .with_context(|| format!("cannot open log file {}", settings.log_file.display()))
}

/// Runs the daemon until `cancel`, or a signal when `signals` holds.
fn serve(
    flags: Flags,
    settings: Settings,
    cancel: CancellationToken,
    signals: bool,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        if signals {
            tokio::spawn(stop_on_signal(cancel.clone()));
        }
        let service = Service {
            notifier: Notifier::from_env(),
            reload: Box::new(move || resolve_settings(&flags)),
        };
        p2pd::daemon::run(settings, cancel, service).await
    })
}

async fn stop_on_signal(cancel: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::error!("cannot install signal handlers");
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: stopping"),
            _ = int.recv() => tracing::info!("SIGINT: stopping"),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    cancel.cancel();
}

#[cfg(unix)]
fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_root() -> bool {
    false
}

#[cfg(unix)]
fn daemonize(pid_file: &std::path::Path, workdir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(workdir)
        .with_context(|| format!("cannot create {}", workdir.display()))?;
    daemonix::Daemonize::new()
        .pid_file(pid_file)
        .working_directory(workdir)
        .umask(0o077)
        .start()
        .map_err(|e| anyhow::anyhow!("cannot become a daemon: {e}"))
}

#[cfg(not(unix))]
fn daemonize(_pid_file: &std::path::Path, _workdir: &std::path::Path) -> anyhow::Result<()> {
    anyhow::bail!("--daemon is for Unix; on Windows run p2pd as a service")
}
