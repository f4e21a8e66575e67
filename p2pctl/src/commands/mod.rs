//! One small module per command.

mod create;
mod inspect;

use std::io::Write;

use crate::cli::{Cli, Command};

/// Runs the chosen command.
pub fn dispatch(cli: &Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Create(args) => create::run(args, cli.json),
        Command::Inspect(args) => inspect::run(args, cli.json),
    }
}

/// Writes to stdout, so a closed pipe surfaces as an error we can recognise.
fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
