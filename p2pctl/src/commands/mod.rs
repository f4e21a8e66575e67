//! One small module per command (the torrent lifecycle and account commands
//! share one each; so do the group commands, and the catalog and events ones). Commands that need the daemon get a [`Target`] and
//! connect only once their local checks pass.

mod account;
mod catalog;
mod config;
mod create;
mod download;
mod files_of;
mod groups;
mod inspect;
mod lifecycle;
mod list;
mod maintenance;
mod peers;
mod progress;
mod queue;
mod sequential;
mod share;
mod status;

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use p2p_client::Target;

use crate::cli::{Cli, Command, PasskeyCommand};

/// Runs the chosen command.
pub fn dispatch(cli: &Cli) -> anyhow::Result<()> {
    let json = cli.json;
    let daemon = Target::resolve(
        cli.socket.as_deref(),
        cli.socket_owner.as_deref(),
        cli.timeout,
    );
    let d = &daemon;
    match &cli.command {
        Command::Create(args) => create::run(args, json),
        Command::Inspect(args) => inspect::run(args, json),
        Command::Status => status::run(d, json),
        Command::List => list::run(d, json),
        Command::Download(args) => download::run(d, args, json),
        Command::Progress(args) => progress::run(d, args.id.as_deref(), json),
        Command::Pause(t) => lifecycle::pause(d, &t.id, json),
        Command::Resume(t) => lifecycle::resume(d, &t.id, json),
        Command::Remove(args) => lifecycle::remove(d, args, json),
        Command::Peers(t) => peers::run(d, &t.id, json),
        Command::FilesOf(t) => files_of::list(d, &t.id, json),
        Command::Priority(args) => files_of::set(d, args, json),
        Command::Share(args) => share::run(d, args, json),
        Command::Register(args) => account::register(d, args, json),
        Command::Login(args) => account::login(d, args, json),
        Command::Logout => account::logout(d, json),
        Command::Whoami => account::whoami(d, json),
        Command::Groups(cmd) => groups::run(d, cmd, json),
        Command::Passkey(PasskeyCommand::Rotate) => account::rotate_passkey(d, json),
        Command::Files(args) => catalog::files(d, args.group.as_deref(), json),
        Command::Search(args) => catalog::search(d, &args.term, json),
        Command::Events(args) => catalog::events(d, args, json),
        Command::Config(cmd) => config::run(d, cmd, json),
        Command::Limit(args) => config::limit(d, args, json),
        Command::Queue(args) => queue::move_in_queue(d, args, json),
        Command::Sequential(args) => sequential::run(d, args, json),
        Command::SeedGoal(args) => queue::seed_goal(d, args, json),
        Command::Move(args) => maintenance::move_data(d, args, json),
        Command::Verify(t) => maintenance::verify(d, &t.id, json),
    }
}

/// Writes to stdout, so a closed pipe surfaces as an error we can recognise.
fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// A reply as one JSON document on one line.
fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    print(&format!("{}\n", serde_json::to_string(value)?))
}

/// An absolute, UTF-8 form of a local path for the daemon, whose working
/// folder is not ours. `canonical` also requires it to exist.
fn absolute_path(path: &Path, canonical: bool) -> anyhow::Result<String> {
    let abs = if canonical {
        std::fs::canonicalize(path).with_context(|| format!("cannot open {}", path.display()))?
    } else {
        std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))?
    };
    abs.into_os_string()
        .into_string()
        .map_err(|p| anyhow::anyhow!("{} is not UTF-8, which p2pd cannot take", p.display()))
}
