//! Where logs go: journald when systemd gives us a journal stream, a file
//! for `--daemon`, stderr otherwise. `RUST_LOG` filters (default `info`).
//!
//! Logging never fails the thread that logs: a line that cannot be written
//! (a full disk under the log, stderr a closed pipe or `/dev/full`) is
//! dropped. tracing's own fallback for a failed write is `eprintln!`, which
//! panics when stderr fails, so it is switched off too.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// A log writer that drops what it cannot write.
struct Lossy<W>(W);

impl<W: Write> Write for Lossy<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // A lost log line is the lesser harm: the caller may be a disk thread.
        let _ = self.0.write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = self.0.flush();
        Ok(())
    }
}

/// Stderr, losing what it cannot take.
fn lossy_stderr() -> Lossy<io::Stderr> {
    Lossy(io::stderr())
}

/// Logs to journald if `JOURNAL_STREAM` is set, else to stderr.
pub fn init_foreground() {
    if std::env::var_os("JOURNAL_STREAM").is_some()
        && let Ok(journald) = tracing_journald::layer()
    {
        tracing_subscriber::registry()
            .with(filter())
            .with(journald)
            .init();
        return;
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(lossy_stderr)
        .log_internal_errors(false)
        .init();
}

/// Logs to an appended file (for `--daemon`, whose stderr is gone).
pub fn init_file(path: &Path) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = Arc::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?,
    );
    // Appends of one line each: no lock needed between threads.
    tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_ansi(false)
        .with_writer(move || Lossy(SharedFile(file.clone())))
        .log_internal_errors(false)
        .init();
    Ok(())
}

/// A file written through a shared handle (`&File` is a writer).
struct SharedFile(Arc<File>);

impl Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self.0).flush()
    }
}

/// Writes a line to stderr, if stderr takes it (for errors before or
/// outside logging: `eprintln!` would panic on a broken stderr).
pub fn report(line: &str) {
    let _ = writeln!(io::stderr(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writer_that_fails_is_reported_as_written() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from_raw_os_error(28))
            }
            fn flush(&mut self) -> io::Result<()> {
                Err(io::Error::from_raw_os_error(28))
            }
        }
        let mut w = Lossy(Full);
        assert_eq!(w.write(b"a line\n").unwrap(), 7);
        w.flush().unwrap();
    }
}
