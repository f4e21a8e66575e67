//! Writes one package's .rpm from the layout ([`crate::layout`]) with the
//! `rpm` crate, the library cargo-generate-rpm itself is built on. Ours is
//! built without its OpenPGP signing (packages are signed by the publisher
//! with rpmsign, not at build time), which is what makes cargo-generate-rpm
//! cost minutes to install and this seconds to compile.
//!
//! Library requirements come from rpm's own `find-requires` (Debian's and
//! Fedora's `rpm` package ship it), as cargo-generate-rpm finds them.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;

use crate::layout::{Kind, Package};

/// rpm's script that lists the libraries ELF files need.
const FIND_REQUIRES: &str = "/usr/lib/rpm/find-requires";

/// How to compress the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// gzip -9: the packages for users.
    Best,
    /// None: the packages the test stage lints and throws away (gzip in
    /// an unoptimised build of the tool takes minutes for the debug
    /// binaries).
    Fast,
}

/// rpmlint's longest description line.
const DESCRIPTION_WIDTH: usize = 79;

/// Writes `package` as `out/<name>-<version>-1.x86_64.rpm` from the sources
/// under `root`, and returns its path.
pub fn write(
    package: &Package,
    root: &Path,
    version: &str,
    compression: Compression,
    out: &Path,
) -> anyhow::Result<PathBuf> {
    let payload = match compression {
        Compression::Best => rpm::CompressionWithLevel::Gzip(9),
        Compression::Fast => rpm::CompressionWithLevel::None,
    };
    let config = rpm::BuildConfig::default().compression(payload);
    let mut b = rpm::PackageBuilder::new(
        package.name,
        version,
        "MIT OR Apache-2.0",
        "x86_64",
        package.summary,
    );
    b.using_config(config)
        .release("1")
        .url("https://example.invalid/p2p")
        .description(wrapped(package.extended, DESCRIPTION_WIDTH));
    let mut programs = Vec::new();
    for a in package.assets {
        let Some(dest) = a.rpm() else { continue };
        let mut options = rpm::FileOptions::new(dest).mode(rpm::FileMode::regular(a.mode()));
        match a.kind {
            Kind::Config => options = options.config().noreplace(),
            Kind::Program => programs.push(a.source_in(root)),
            Kind::Data => {}
        }
        if dest.starts_with("/usr/share/doc/") || dest.starts_with("/usr/share/man/") {
            options = options.doc();
        }
        b.with_file(a.source_in(root), options)
            .with_context(|| format!("cannot add {} to the .rpm", a.source))?;
    }
    for r in package.rpm_requires {
        b.requires(rpm::Dependency::any(*r));
    }
    for r in find_requires(&programs)? {
        b.requires(rpm::Dependency::any(r));
    }
    if let Some((post_install, post_uninstall)) = package.rpm_scripts {
        let read = |s: &str| {
            std::fs::read_to_string(root.join(s)).with_context(|| format!("cannot read {s}"))
        };
        b.post_install_script(read(post_install)?);
        b.post_uninstall_script(read(post_uninstall)?);
    }
    let built = b
        .build()
        .with_context(|| format!("cannot build the {} .rpm", package.name))?;
    let path = out.join(format!("{}-{version}-1.x86_64.rpm", package.name));
    built
        .write_file(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// `text` broken into lines of at most `width` characters, at spaces.
fn wrapped(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split_whitespace() {
        if line > 0 && line + 1 + word.chars().count() > width {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += word.chars().count();
    }
    out
}

/// The libraries `programs` need, as RPM names them
/// (`libc.so.6(GLIBC_2.34)(64bit)`).
fn find_requires(programs: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    if programs.is_empty() {
        return Ok(Vec::new());
    }
    let mut child = Command::new(FIND_REQUIRES)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {FIND_REQUIRES} (Debian's package rpm)"))?;
    let mut names = String::new();
    for p in programs {
        names.push_str(&p.display().to_string());
        names.push('\n');
    }
    child
        .stdin
        .take()
        .context("find-requires has no stdin")?
        .write_all(names.as_bytes())
        .context("cannot write to find-requires")?;
    let out = child.wait_with_output().context("find-requires failed")?;
    anyhow::ensure!(
        out.status.success(),
        "{FIND_REQUIRES} exited with {}",
        out.status
    );
    let text = String::from_utf8(out.stdout).context("find-requires wrote non-UTF-8")?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::P2P;

    /// A checkout in a temp folder: every source of `package` with a line
    /// naming it, and the real maintainer scripts.
    fn fake_root(package: &Package) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for a in package.assets {
            let p = a.source_in(dir.path());
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, format!("{}\n", a.source)).unwrap();
        }
        for s in package
            .rpm_scripts
            .map(|(a, b)| [a, b])
            .into_iter()
            .flatten()
        {
            let p = dir.path().join(s);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::copy(real.join(s), p).unwrap();
        }
        dir
    }

    #[test]
    fn a_description_is_wrapped_at_spaces_within_the_width() {
        assert_eq!(wrapped("aa bb  cc\ndd", 5), "aa bb\ncc dd");
        let long = wrapped(P2P.extended, DESCRIPTION_WIDTH);
        assert!(
            long.lines().all(|l| l.chars().count() <= DESCRIPTION_WIDTH),
            "{long}"
        );
        assert_eq!(long.replace('\n', " "), P2P.extended);
    }

    #[test]
    fn the_rpm_holds_every_file_with_its_mode_configs_noreplace_and_the_scripts() {
        let root = fake_root(&P2P);
        let out = tempfile::tempdir().unwrap();
        let path = write(&P2P, root.path(), "1.2.3", Compression::Fast, out.path()).unwrap();
        assert_eq!(path.file_name().unwrap(), "p2p-1.2.3-1.x86_64.rpm");
        let pkg = rpm::Package::open(&path).unwrap();
        let h = &pkg.metadata;
        assert_eq!(h.get_name().unwrap(), "p2p");
        assert_eq!(h.get_version().unwrap(), "1.2.3");
        let files = h.get_file_entries().unwrap();
        let rpm_assets: Vec<_> = P2P.assets.iter().filter(|a| a.rpm().is_some()).collect();
        assert_eq!(files.len(), rpm_assets.len());
        for a in rpm_assets {
            let dest = a.rpm().unwrap();
            let f = files
                .iter()
                .find(|f| f.path == Path::new(dest))
                .unwrap_or_else(|| panic!("{dest} is not in the .rpm"));
            assert_eq!(f.mode.permissions(), a.mode(), "{dest}");
            let noreplace = f
                .flags
                .contains(rpm::FileFlags::CONFIG | rpm::FileFlags::NOREPLACE);
            assert_eq!(noreplace, a.kind == Kind::Config, "{dest}");
        }
        let script = h.get_post_install_script().unwrap();
        assert!(
            script.script.contains("systemd-sysusers"),
            "{}",
            script.script
        );
        let requires: Vec<String> = h
            .get_requires()
            .unwrap()
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert!(requires.iter().any(|r| r == "systemd"), "{requires:?}");
    }
}
