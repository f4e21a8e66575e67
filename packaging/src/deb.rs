//! The manifest cargo-deb reads (`[package.metadata.deb]`) for one package,
//! written from the layout ([`crate::layout`]). cargo-deb then builds the
//! .deb with `--no-build`: the binaries are already in target/packaging.

use std::fmt::Write as _;
use std::path::Path;

use crate::layout::{Kind, Package};

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

/// The manifest for `package`, with absolute sources under `root`.
pub fn manifest(package: &Package, root: &Path, version: &str) -> String {
    let src = |s: &str| quoted(&root.join(s).display().to_string());
    let mut m = String::new();
    let _ = writeln!(
        m,
        "# Written by p2p-packaging from packaging/src/layout.rs: do not edit.\n\
         [package]\nname = {}\nversion = {}\nedition = \"2024\"\n\
         license = \"MIT OR Apache-2.0\"\ndescription = {}\n\
         homepage = \"https://example.invalid/p2p\"\n\n\
         # Not part of the p2p workspace: a stand-in package for cargo-deb.\n[workspace]\n",
        quoted(package.name),
        quoted(version),
        quoted(package.summary),
    );
    // Maintainer scripts (postinst, prerm, postrm) where the package has
    // them; no unit is enabled or started (no systemd-units table).
    let _ = writeln!(
        m,
        "[package.metadata.deb]\nmaintainer = \"p2p developers <p2p@example.invalid>\"\n\
         copyright = \"2026 the p2p developers\"\n\
         extended-description = {}\nsection = \"net\"\npriority = \"optional\"\n\
         depends = {}\nmaintainer-scripts = {}\nchangelog = {}\n\
         preserve-symlinks = false",
        quoted(package.extended),
        quoted(package.deb_depends),
        src(package.deb_dir),
        src(&format!("{}/changelog", package.deb_dir)),
    );
    if let Some(r) = package.deb_recommends {
        let _ = writeln!(m, "recommends = {}", quoted(r));
    }
    let _ = writeln!(m, "assets = [");
    for a in package.assets {
        let Some(dest) = a.deb() else { continue };
        let _ = writeln!(
            m,
            "    [{}, {}, \"{:o}\"],",
            src(a.source),
            quoted(dest),
            a.mode()
        );
    }
    let conf: Vec<String> = package
        .assets
        .iter()
        .filter(|a| a.kind == Kind::Config)
        .filter_map(|a| a.deb().map(quoted))
        .collect();
    let _ = writeln!(m, "]\nconf-files = [{}]", conf.join(", "));
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{P2P, P2PGUI};

    fn parsed(package: &Package) -> toml::Table {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        toml::from_str(&manifest(package, &root, "1.2.3")).unwrap()
    }

    #[test]
    fn the_deb_gets_every_file_of_the_list_with_its_mode() {
        let m = parsed(&P2P);
        let deb = m["package"]["metadata"]["deb"]["assets"]
            .as_array()
            .unwrap();
        assert_eq!(deb.len(), P2P.assets.len());
        assert_eq!(m["package"]["version"].as_str(), Some("1.2.3"));
        let p2pd = deb
            .iter()
            .find(|a| a[1].as_str() == Some("/usr/bin/p2pd"))
            .unwrap();
        assert_eq!(p2pd[2].as_str(), Some("755"));
    }

    #[test]
    fn the_configs_are_conffiles() {
        let m = parsed(&P2P);
        let conf: Vec<&str> = m["package"]["metadata"]["deb"]["conf-files"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(conf, ["/etc/p2pd/p2pd.toml", "/etc/trackerd/trackerd.toml"]);
    }

    #[test]
    fn the_gui_package_names_the_libraries_it_loads_at_run_time_and_has_no_conffile() {
        let m = parsed(&P2PGUI);
        let deb = &m["package"]["metadata"]["deb"];
        assert_eq!(m["package"]["name"].as_str(), Some("p2pgui"));
        let depends = deb["depends"].as_str().unwrap();
        assert!(depends.contains("libegl1"), "{depends}");
        assert_eq!(deb["recommends"].as_str(), Some("p2p, libgl1-mesa-dri"));
        assert_eq!(deb["conf-files"].as_array().map(Vec::len), Some(0));
    }
}
