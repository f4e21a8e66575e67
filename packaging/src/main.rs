//! p2p-packaging: writes into a folder (target/packaging by default) what
//! the packages hold besides the binaries and units: man pages and shell
//! completions generated from the programs' clap definitions, the commented
//! default configs, and for each package (p2p, p2pgui) the manifest from
//! which cargo-deb builds its .deb. With `--rpm` it writes the .rpm
//! packages itself. Both formats come from one list ([`layout`]).
//! scripts/package runs it, strips the binaries and runs cargo-deb.

mod deb;
mod layout;
mod rpm;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser};

/// Writes man pages, completions, default configs and the cargo-deb
/// manifests; with --rpm, the .rpm packages (once the binaries are in place).
#[derive(Debug, Parser)]
#[command(name = "p2p-packaging")]
struct Flags {
    /// Write the .rpm packages into the output folder, from the files a
    /// first run and scripts/package put there.
    #[arg(long)]
    rpm: bool,
    /// Leave the .rpm payloads uncompressed: for packages that are linted
    /// once in a test and thrown away.
    #[arg(long, requires = "rpm")]
    fast: bool,
    /// Workspace root (the sources the manifest names are under it).
    #[arg(long, value_name = "DIR", default_value = ".")]
    root: PathBuf,
    /// Output folder.
    #[arg(long, value_name = "DIR", default_value = "target/packaging")]
    out: PathBuf,
}

fn main() -> ExitCode {
    match run(Flags::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("p2p-packaging: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(flags: Flags) -> anyhow::Result<()> {
    let root = std::fs::canonicalize(&flags.root)
        .with_context(|| format!("cannot find {}", flags.root.display()))?;
    let out = root.join(&flags.out);
    let version = env!("CARGO_PKG_VERSION");
    if flags.rpm {
        let compression = match flags.fast {
            true => rpm::Compression::Fast,
            false => rpm::Compression::Best,
        };
        for package in &layout::PACKAGES {
            let path = rpm::write(package, &root, version, compression, &out)?;
            println!("{}", path.display());
        }
        return Ok(());
    }
    for (name, command) in [
        ("p2pd", p2pd::cli::Flags::command()),
        ("p2pctl", p2pctl::Cli::command()),
        ("trackerd", trackerd::cli::Args::command()),
    ] {
        man_page(&out.join("man"), name, command.clone())?;
        completions(&out.join("completions"), name, command)?;
    }
    write(
        &out.join("config/p2pd.toml"),
        p2pd::config::default_config_toml().as_bytes(),
    )?;
    write(
        &out.join("config/trackerd.toml"),
        trackerd::config::DEFAULT_CONFIG_TOML.as_bytes(),
    )?;
    // p2pgui reads its two flags without clap: its page is written by hand.
    let gui_page = root.join("packaging/p2pgui/p2pgui.1");
    let page =
        std::fs::read(&gui_page).with_context(|| format!("cannot read {}", gui_page.display()))?;
    write(&out.join("man/p2pgui.1"), &page)?;
    for package in &layout::PACKAGES {
        let dir = out.join(package.name);
        write(
            &dir.join("Cargo.toml"),
            deb::manifest(package, &root, version).as_bytes(),
        )?;
        // cargo metadata wants a target in the package cargo-deb reads.
        write(&dir.join("src/main.rs"), b"fn main() {}\n")?;
    }
    Ok(())
}

fn man_page(dir: &Path, name: &str, command: clap::Command) -> anyhow::Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut page)
        .with_context(|| format!("cannot render the man page of {name}"))?;
    write(&dir.join(format!("{name}.1")), &page)
}

fn completions(dir: &Path, name: &str, mut command: clap::Command) -> anyhow::Result<()> {
    use clap_complete::{Shell, generate};
    for (shell, file) in [
        (Shell::Bash, name.to_owned()),
        (Shell::Zsh, format!("_{name}")),
        (Shell::Fish, format!("{name}.fish")),
    ] {
        let mut text = Vec::new();
        generate(shell, &mut command, name, &mut text);
        write(&dir.join(shell.to_string()).join(file), &text)?;
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
