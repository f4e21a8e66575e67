//! trackerd entry point: parse flags, load the config, start logging, bind,
//! and run the library's server until SIGTERM or SIGINT. No tracker logic here.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use tokio_util::sync::CancellationToken;
use trackerd::cli::Args;
use trackerd::config::{Config, DEFAULT_CONFIG_TOML, Mode};

mod logging;
mod notify;

fn main() -> ExitCode {
    let args = Args::parse();
    if args.print_config {
        // A closed stdout (`trackerd --print-config | head -1`) is not an error.
        let _ = std::io::Write::write_all(&mut std::io::stdout(), DEFAULT_CONFIG_TOML.as_bytes());
        return ExitCode::SUCCESS;
    }
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            logging::report(&format!("trackerd: {e:#}"));
            ExitCode::FAILURE
        }
    }
}

fn load_config(args: &Args) -> anyhow::Result<Config> {
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(db) = &args.database {
        config.database = db.clone();
    }
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
    match args.mode.as_deref() {
        Some("catalog") => config.mode = Mode::Catalog,
        Some(_) => config.mode = Mode::Open,
        None => {}
    }
    Ok(config)
}

fn run(args: Args) -> anyhow::Result<()> {
    let config = load_config(&args)?;
    logging::init();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let token = CancellationToken::new();
    // Install the handlers before announcing readiness, so a signal sent
    // right after the listening line is never lost.
    let signals = tokio::spawn(cancel_on_signal(shutdown_signals()?, token.clone()));
    let db = trackerd::store::redacted_url(&config.database_url());
    let running = trackerd::server::start(config, listener, token.clone())
        .await
        .with_context(|| format!("starting the tracker with database {db}"))?;
    tracing::info!("listening on http://{}", running.addr);
    notify::ready(&format!("listening on http://{}", running.addr));
    // The main loop: waits for the server to stop, pinging the service
    // manager's watchdog (half its timeout apart) meanwhile.
    let every = notify::ping_interval();
    let mut ticks = tokio::time::interval(every.unwrap_or(std::time::Duration::from_secs(3600)));
    let stopped = running.wait();
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            () = &mut stopped => break,
            _ = ticks.tick(), if every.is_some() => notify::ping(),
        }
    }
    notify::stopping();
    signals.abort();
    tracing::info!("stopped");
    Ok(())
}

#[cfg(unix)]
type Signals = (tokio::signal::unix::Signal, tokio::signal::unix::Signal);

#[cfg(unix)]
fn shutdown_signals() -> anyhow::Result<Signals> {
    use tokio::signal::unix::{SignalKind, signal};
    Ok((
        signal(SignalKind::terminate()).context("listening for SIGTERM")?,
        signal(SignalKind::interrupt()).context("listening for SIGINT")?,
    ))
}

#[cfg(unix)]
async fn cancel_on_signal((mut term, mut int): Signals, token: CancellationToken) {
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
    }
    token.cancel();
}

#[cfg(not(unix))]
type Signals = ();

#[cfg(not(unix))]
fn shutdown_signals() -> anyhow::Result<Signals> {
    Ok(())
}

#[cfg(not(unix))]
async fn cancel_on_signal((): Signals, token: CancellationToken) {
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::error!("cannot listen for Ctrl-C: {e}");
        return;
    }
    tracing::info!("Ctrl-C: shutting down");
    token.cancel();
}
