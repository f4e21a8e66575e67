//! trackerd entry point.

fn main() -> std::process::ExitCode {
    eprintln!("trackerd {}: not built yet", env!("CARGO_PKG_VERSION"));
    std::process::ExitCode::from(2)
}
