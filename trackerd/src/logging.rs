//! trackerd's log: lines to stderr, filtered by `RUST_LOG` (default `info`).
//!
//! Logging never fails the task that logs: a line stderr cannot take (a
//! full disk under the log, a closed pipe, `/dev/full`) is dropped.
//! tracing's own fallback for a failed write is `eprintln!`, which panics
//! when stderr fails, so it is switched off too.

use std::io::{self, IsTerminal, Write};

/// Stderr, dropping what it cannot take.
struct LossyStderr;

impl Write for LossyStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = io::stderr().flush();
        Ok(())
    }
}

/// Installs the global subscriber.
pub fn init() {
    tracing_subscriber::fmt()
        .with_writer(|| LossyStderr)
        .log_internal_errors(false)
        .with_ansi(io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
}

/// Writes a line to stderr if stderr takes it (`eprintln!` would panic).
pub fn report(line: &str) {
    let _ = writeln!(io::stderr(), "{line}");
}
