//! What goes where, once, for both packages: the list of files with their
//! source in the workspace and their place on the installed system, and the
//! manifest that cargo-deb (`[package.metadata.deb]`) and cargo-generate-rpm
//! (`[package.metadata.generate-rpm]`) read, both written from that list.
//! The two formats differ only where the distributions do (systemd's unit
//! folder, zsh's completion folder) and in how they run maintainer scripts.

use std::fmt::Write as _;
use std::path::Path;

/// The package's name (one package: the daemon, its CLI and the tracker).
pub const NAME: &str = "p2p";

/// What a file is, for the package tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An executable (0755).
    Program,
    /// A configuration file the administrator edits: kept on upgrade
    /// (a Debian conffile, `%config(noreplace)` in RPM).
    Config,
    /// Everything else (0644).
    Data,
}

/// Where a file goes.
#[derive(Debug, Clone, Copy)]
enum Dest {
    /// The same place in both packages.
    Both(&'static str),
    /// Debian's place, then the RPM distributions'.
    Each {
        deb: &'static str,
        rpm: &'static str,
    },
    /// Only in the .deb (lintian's overrides).
    DebOnly(&'static str),
}

/// One installed file.
#[derive(Debug, Clone, Copy)]
struct Asset {
    /// Path under the workspace root.
    source: &'static str,
    dest: Dest,
    kind: Kind,
}

const fn asset(source: &'static str, dest: &'static str, kind: Kind) -> Asset {
    Asset {
        source,
        dest: Dest::Both(dest),
        kind,
    }
}

/// Every file of the package. Generated ones are under target/packaging:
/// man pages, completions and configs written by this tool, the stripped
/// release binaries copied there by scripts/package.
const ASSETS: &[Asset] = &[
    asset("target/packaging/bin/p2pd", "/usr/bin/p2pd", Kind::Program),
    asset(
        "target/packaging/bin/p2pctl",
        "/usr/bin/p2pctl",
        Kind::Program,
    ),
    asset(
        "target/packaging/bin/trackerd",
        "/usr/bin/trackerd",
        Kind::Program,
    ),
    Asset {
        source: "systemd/p2pd.service",
        dest: Dest::Each {
            deb: "/lib/systemd/system/p2pd.service",
            rpm: "/usr/lib/systemd/system/p2pd.service",
        },
        kind: Kind::Data,
    },
    Asset {
        source: "systemd/trackerd.service",
        dest: Dest::Each {
            deb: "/lib/systemd/system/trackerd.service",
            rpm: "/usr/lib/systemd/system/trackerd.service",
        },
        kind: Kind::Data,
    },
    asset(
        "systemd/p2pd-user.service",
        "/usr/lib/systemd/user/p2pd.service",
        Kind::Data,
    ),
    asset(
        "systemd/p2pd.sysusers",
        "/usr/lib/sysusers.d/p2pd.conf",
        Kind::Data,
    ),
    asset(
        "systemd/trackerd.sysusers",
        "/usr/lib/sysusers.d/trackerd.conf",
        Kind::Data,
    ),
    asset(
        "systemd/p2pd.tmpfiles",
        "/usr/lib/tmpfiles.d/p2pd.conf",
        Kind::Data,
    ),
    asset(
        "systemd/trackerd.tmpfiles",
        "/usr/lib/tmpfiles.d/trackerd.conf",
        Kind::Data,
    ),
    asset(
        "target/packaging/config/p2pd.toml",
        "/etc/p2pd/p2pd.toml",
        Kind::Config,
    ),
    asset(
        "target/packaging/config/trackerd.toml",
        "/etc/trackerd/trackerd.toml",
        Kind::Config,
    ),
    asset(
        "target/packaging/man/p2pd.1.gz",
        "/usr/share/man/man1/p2pd.1.gz",
        Kind::Data,
    ),
    asset(
        "target/packaging/man/p2pctl.1.gz",
        "/usr/share/man/man1/p2pctl.1.gz",
        Kind::Data,
    ),
    asset(
        "target/packaging/man/trackerd.1.gz",
        "/usr/share/man/man1/trackerd.1.gz",
        Kind::Data,
    ),
    asset(
        "target/packaging/completions/bash/p2pd",
        "/usr/share/bash-completion/completions/p2pd",
        Kind::Data,
    ),
    asset(
        "target/packaging/completions/bash/p2pctl",
        "/usr/share/bash-completion/completions/p2pctl",
        Kind::Data,
    ),
    asset(
        "target/packaging/completions/bash/trackerd",
        "/usr/share/bash-completion/completions/trackerd",
        Kind::Data,
    ),
    Asset {
        source: "target/packaging/completions/zsh/_p2pd",
        dest: Dest::Each {
            deb: "/usr/share/zsh/vendor-completions/_p2pd",
            rpm: "/usr/share/zsh/site-functions/_p2pd",
        },
        kind: Kind::Data,
    },
    Asset {
        source: "target/packaging/completions/zsh/_p2pctl",
        dest: Dest::Each {
            deb: "/usr/share/zsh/vendor-completions/_p2pctl",
            rpm: "/usr/share/zsh/site-functions/_p2pctl",
        },
        kind: Kind::Data,
    },
    Asset {
        source: "target/packaging/completions/zsh/_trackerd",
        dest: Dest::Each {
            deb: "/usr/share/zsh/vendor-completions/_trackerd",
            rpm: "/usr/share/zsh/site-functions/_trackerd",
        },
        kind: Kind::Data,
    },
    asset(
        "target/packaging/completions/fish/p2pd.fish",
        "/usr/share/fish/vendor_completions.d/p2pd.fish",
        Kind::Data,
    ),
    asset(
        "target/packaging/completions/fish/p2pctl.fish",
        "/usr/share/fish/vendor_completions.d/p2pctl.fish",
        Kind::Data,
    ),
    asset(
        "target/packaging/completions/fish/trackerd.fish",
        "/usr/share/fish/vendor_completions.d/trackerd.fish",
        Kind::Data,
    ),
    asset("README.md", "/usr/share/doc/p2p/README.md", Kind::Data),
    Asset {
        source: "packaging/debian/lintian-overrides",
        dest: Dest::DebOnly("/usr/share/lintian/overrides/p2p"),
        kind: Kind::Data,
    },
];

impl Asset {
    fn deb(&self) -> Option<&'static str> {
        match self.dest {
            Dest::Both(d) | Dest::Each { deb: d, .. } | Dest::DebOnly(d) => Some(d),
        }
    }

    fn rpm(&self) -> Option<&'static str> {
        match self.dest {
            Dest::Both(d) | Dest::Each { rpm: d, .. } => Some(d),
            Dest::DebOnly(_) => None,
        }
    }
}

const SUMMARY: &str =
    "BitTorrent daemon (p2pd), its command line (p2pctl) and a tracker (trackerd)";

const EXTENDED: &str = "p2pd shares what lands in its watched folder, downloads what p2pctl \
asks for and seeds; trackerd is an HTTP BitTorrent tracker with accounts, groups and a \
catalog. Both come with hardened systemd units, which the package installs without \
enabling or starting them.";

fn mode(kind: Kind) -> &'static str {
    match kind {
        Kind::Program => "755",
        Kind::Config | Kind::Data => "644",
    }
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The manifest both tools read, with absolute sources under `root`.
pub fn manifest(root: &Path, version: &str) -> String {
    let src = |s: &str| quoted(&root.join(s).display().to_string());
    let script = |s: &str| {
        quoted(&std::fs::read_to_string(root.join(s)).unwrap_or_else(|e| {
            // A missing script is a broken checkout: the package tool then
            // fails on the marker instead of shipping an empty script.
            format!("missing {s}: {e}")
        }))
    };
    let mut m = String::new();
    let _ = writeln!(
        m,
        "# Written by p2p-packaging from packaging/src/layout.rs: do not edit.\n\
         [package]\nname = {}\nversion = {}\nedition = \"2024\"\n\
         license = \"MIT OR Apache-2.0\"\ndescription = {}\n\
         homepage = \"https://example.invalid/p2p\"\n\n\
         # Not part of the p2p workspace: a stand-in package for the tools.\n[workspace]\n",
        quoted(NAME),
        quoted(version),
        quoted(SUMMARY),
    );
    // cargo-deb: scripts in packaging/debian (postinst, postrm); no unit is
    // enabled or started (no systemd-units table).
    let _ = writeln!(
        m,
        "[package.metadata.deb]\nmaintainer = \"p2p developers <p2p@example.invalid>\"\n\
         copyright = \"2026 the p2p developers\"\n\
         extended-description = {}\nsection = \"net\"\npriority = \"optional\"\n\
         depends = \"$auto, adduser\"\nmaintainer-scripts = {}\nchangelog = {}\n\
         preserve-symlinks = false\nassets = [",
        quoted(EXTENDED),
        src("packaging/debian"),
        src("packaging/debian/changelog"),
    );
    for a in ASSETS {
        let Some(dest) = a.deb() else { continue };
        let _ = writeln!(
            m,
            "    [{}, {}, {}],",
            src(a.source),
            quoted(dest),
            quoted(mode(a.kind))
        );
    }
    let conf: Vec<String> = ASSETS
        .iter()
        .filter(|a| a.kind == Kind::Config)
        .filter_map(|a| a.deb().map(quoted))
        .collect();
    let _ = writeln!(m, "]\nconf-files = [{}]\n", conf.join(", "));

    let _ = writeln!(
        m,
        "[package.metadata.generate-rpm]\nsummary = {}\nurl = \"https://example.invalid/p2p\"\n\
         post_install_script = {}\npost_uninstall_script = {}\nassets = [",
        quoted(SUMMARY),
        script("packaging/rpm/post_install.sh"),
        script("packaging/rpm/post_uninstall.sh"),
    );
    for a in ASSETS {
        let Some(dest) = a.rpm() else { continue };
        let config = match a.kind {
            Kind::Config => ", config = \"noreplace\"",
            _ => "",
        };
        let doc = match dest.starts_with("/usr/share/doc/") || dest.starts_with("/usr/share/man/") {
            true => ", doc = true",
            false => "",
        };
        let _ = writeln!(
            m,
            "    {{ source = {}, dest = {}, mode = {}{config}{doc} }},",
            src(a.source),
            quoted(dest),
            quoted(mode(a.kind))
        );
    }
    let _ = writeln!(m, "]");
    let _ = writeln!(
        m,
        "\n[package.metadata.generate-rpm.requires]\n\"/usr/bin/sh\" = \"*\"\n\
         systemd = \"*\""
    );

    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed() -> toml::Table {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        toml::from_str(&manifest(&root, "1.2.3")).unwrap()
    }

    #[test]
    fn both_tools_get_every_file_of_the_list_and_the_deb_its_lintian_overrides() {
        let m = parsed();
        let meta = &m["package"]["metadata"];
        let deb = meta["deb"]["assets"].as_array().unwrap();
        let rpm = meta["generate-rpm"]["assets"].as_array().unwrap();
        assert_eq!(deb.len(), ASSETS.len());
        assert_eq!(rpm.len(), ASSETS.len() - 1);
        assert_eq!(m["package"]["version"].as_str(), Some("1.2.3"));
    }

    #[test]
    fn the_configs_are_conffiles_and_noreplace() {
        let m = parsed();
        let meta = &m["package"]["metadata"];
        let conf: Vec<&str> = meta["deb"]["conf-files"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(conf, ["/etc/p2pd/p2pd.toml", "/etc/trackerd/trackerd.toml"]);
        let noreplace: Vec<&str> = meta["generate-rpm"]["assets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a.get("config").and_then(|c| c.as_str()) == Some("noreplace"))
            .filter_map(|a| a["dest"].as_str())
            .collect();
        assert_eq!(noreplace, conf);
    }

    #[test]
    fn every_source_in_the_checkout_exists() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for a in ASSETS.iter().filter(|a| !a.source.starts_with("target/")) {
            assert!(root.join(a.source).is_file(), "{} is missing", a.source);
        }
        for s in [
            "packaging/rpm/post_install.sh",
            "packaging/rpm/post_uninstall.sh",
        ] {
            assert!(root.join(s).is_file(), "{s} is missing");
        }
    }
}
