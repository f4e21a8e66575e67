//! p2pd entry point.

fn main() -> std::process::ExitCode {
    eprintln!("p2pd {}: not built yet", env!("CARGO_PKG_VERSION"));
    std::process::ExitCode::from(2)
}
