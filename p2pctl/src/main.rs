//! p2pctl: the command line of p2p.

fn main() -> std::process::ExitCode {
    p2pctl::run()
}
