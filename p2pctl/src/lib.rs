//! p2pctl: parses the command line, runs one command and maps the outcome to
//! an exit status (0 success, 1 failure with a one-line reason, 2 usage).
//!
//! Depends on `p2p-proto` only: never on p2pd, never on an async runtime.

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser;

pub use cli::Cli;

/// Runs p2pctl with the process arguments.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            // --help and --version print to stdout and succeed.
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match commands::dispatch(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("p2pctl: {}", one_line(&format!("{e:#}")));
            ExitCode::from(1)
        }
    }
}

/// Error chains can hold newlines (from io errors of other tools); keep one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
