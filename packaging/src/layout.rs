//! What goes where, once, for every package and both formats: the list of
//! files of each package with their source in the workspace and their place
//! on the installed system. `deb.rs` writes the manifest cargo-deb reads
//! from it, `rpm.rs` writes the .rpm from it. The two formats differ only
//! where the distributions do (systemd's unit folder, zsh's completion
//! folder, package names of libraries) and in how they run maintainer
//! scripts.

use std::path::Path;

/// One package: p2p (the daemon, its CLI and the tracker) or p2pgui (the
/// desktop client, apart so that a server never pulls in a GUI stack).
#[derive(Debug)]
pub struct Package {
    /// The package's name.
    pub name: &'static str,
    /// One line.
    pub summary: &'static str,
    /// A paragraph.
    pub extended: &'static str,
    /// The files.
    pub assets: &'static [Asset],
    /// Debian `Depends` (`$auto`: what the binaries link).
    pub deb_depends: &'static str,
    /// Debian `Recommends`, if any.
    pub deb_recommends: Option<&'static str>,
    /// Folder of the Debian changelog and maintainer scripts.
    pub deb_dir: &'static str,
    /// RPM requirements besides the libraries the binaries link.
    pub rpm_requires: &'static [&'static str],
    /// RPM post-install and post-uninstall scripts, if any.
    pub rpm_scripts: Option<(&'static str, &'static str)>,
}

/// Every package.
pub const PACKAGES: [Package; 2] = [P2P, P2PGUI];

/// The daemon, its command line and the tracker.
pub const P2P: Package = Package {
    name: "p2p",
    summary: "BitTorrent daemon (p2pd), its command line (p2pctl) and a tracker (trackerd)",
    extended: "p2pd shares what lands in its watched folder, downloads what p2pctl \
asks for and seeds; trackerd is an HTTP BitTorrent tracker with accounts, groups and a \
catalog. Both come with hardened systemd units, which the package installs without \
enabling or starting them.",
    assets: P2P_ASSETS,
    deb_depends: "$auto, adduser",
    deb_recommends: None,
    deb_dir: "packaging/debian",
    rpm_requires: &["/usr/bin/sh", "systemd"],
    rpm_scripts: Some((
        "packaging/rpm/post_install.sh",
        "packaging/rpm/post_uninstall.sh",
    )),
};

/// The desktop client. glutin (eframe's OpenGL path) and winit load EGL,
/// GLX and the X libraries at run time, so no linker sees them: they are
/// named here. Mesa's drivers are only recommended: a machine may bring
/// its own OpenGL.
pub const P2PGUI: Package = Package {
    name: "p2pgui",
    summary: "Desktop client for the p2pd BitTorrent daemon",
    extended: "p2pgui is a window onto p2pd: it lists the torrents, adds, pauses, \
resumes and removes downloads, shares files and changes the run-time settings, \
all over the daemon's control socket, as p2pctl does.",
    assets: GUI_ASSETS,
    deb_depends: "$auto, libegl1, libgl1, libxkbcommon-x11-0, libxcursor1, libxrandr2, libxi6, libx11-xcb1",
    deb_recommends: Some("p2p, libgl1-mesa-dri"),
    deb_dir: "packaging/p2pgui",
    // By soname, as RPM's own dependency finder names libraries.
    rpm_requires: &[
        "libEGL.so.1()(64bit)",
        "libGL.so.1()(64bit)",
        "libxkbcommon-x11.so.0()(64bit)",
        "libXcursor.so.1()(64bit)",
        "libXrandr.so.2()(64bit)",
        "libXi.so.6()(64bit)",
        "libX11-xcb.so.1()(64bit)",
    ],
    rpm_scripts: None,
};

/// What a file is, for the package tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
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
pub enum Dest {
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
pub struct Asset {
    /// Path under the workspace root.
    pub source: &'static str,
    /// Where it goes.
    pub dest: Dest,
    /// What it is.
    pub kind: Kind,
}

const fn asset(source: &'static str, dest: &'static str, kind: Kind) -> Asset {
    Asset {
        source,
        dest: Dest::Both(dest),
        kind,
    }
}

/// Every file of p2p. Generated ones are under target/packaging: man pages,
/// completions and configs written by this tool, the stripped binaries
/// copied there by scripts/package.
const P2P_ASSETS: &[Asset] = &[
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

/// Every file of p2pgui.
const GUI_ASSETS: &[Asset] = &[
    asset(
        "target/packaging/bin/p2pgui",
        "/usr/bin/p2pgui",
        Kind::Program,
    ),
    asset(
        "packaging/p2pgui/p2pgui.desktop",
        "/usr/share/applications/p2pgui.desktop",
        Kind::Data,
    ),
    asset(
        "packaging/p2pgui/p2pgui.svg",
        "/usr/share/icons/hicolor/scalable/apps/p2pgui.svg",
        Kind::Data,
    ),
    asset(
        "target/packaging/man/p2pgui.1.gz",
        "/usr/share/man/man1/p2pgui.1.gz",
        Kind::Data,
    ),
];

impl Asset {
    /// Its place in the .deb, if it goes there.
    pub fn deb(&self) -> Option<&'static str> {
        match self.dest {
            Dest::Both(d) | Dest::Each { deb: d, .. } | Dest::DebOnly(d) => Some(d),
        }
    }

    /// Its place in the .rpm, if it goes there.
    pub fn rpm(&self) -> Option<&'static str> {
        match self.dest {
            Dest::Both(d) | Dest::Each { rpm: d, .. } => Some(d),
            Dest::DebOnly(_) => None,
        }
    }

    /// Its permissions.
    pub fn mode(&self) -> u16 {
        match self.kind {
            Kind::Program => 0o755,
            Kind::Config | Kind::Data => 0o644,
        }
    }

    /// Its source under `root`.
    pub fn source_in(&self, root: &Path) -> std::path::PathBuf {
        root.join(self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_in_the_checkout_exists() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for package in &PACKAGES {
            for a in package
                .assets
                .iter()
                .filter(|a| !a.source.starts_with("target/"))
            {
                assert!(a.source_in(&root).is_file(), "{} is missing", a.source);
            }
            let scripts = package
                .rpm_scripts
                .map(|(a, b)| [a, b])
                .into_iter()
                .flatten();
            for s in scripts.chain([package.deb_dir]) {
                assert!(root.join(s).exists(), "{s} is missing");
            }
        }
    }

    #[test]
    fn no_two_packages_install_the_same_file_and_the_gui_is_apart() {
        let (mut deb, mut rpm) = (
            std::collections::BTreeSet::new(),
            std::collections::BTreeSet::new(),
        );
        for a in PACKAGES.iter().flat_map(|p| p.assets) {
            assert!(a.deb().is_none_or(|d| deb.insert(d)), "{:?} twice", a.deb());
            assert!(a.rpm().is_none_or(|d| rpm.insert(d)), "{:?} twice", a.rpm());
        }
        let gui: Vec<&str> = P2PGUI.assets.iter().filter_map(Asset::deb).collect();
        assert!(
            gui.contains(&"/usr/share/applications/p2pgui.desktop"),
            "{gui:?}"
        );
        assert!(P2P.assets.iter().all(|a| !a.source.contains("p2pgui")));
    }
}
