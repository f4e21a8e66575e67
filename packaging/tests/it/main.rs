//! p2p-packaging run as scripts/package runs it. Also makes the test build
//! link the tool, so the packages stage of scripts/test finds it built in
//! target/debug instead of building p2pd and trackerd again.

#![allow(clippy::unwrap_used)] // a test may unwrap

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_p2p-packaging");

#[test]
fn the_tool_writes_man_pages_completions_configs_and_a_manifest_per_package() {
    let out = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = Command::new(BIN)
        .arg("--root")
        .arg(&root)
        .arg("--out")
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success());
    let read = |p: &str| std::fs::read_to_string(out.path().join(p)).unwrap();
    for b in ["p2pd", "p2pctl", "trackerd"] {
        assert!(
            read(&format!("man/{b}.1")).contains(&format!(".TH {b} 1")),
            "{b}"
        );
        assert!(read(&format!("completions/zsh/_{b}")).starts_with(&format!("#compdef {b}")));
        assert!(read(&format!("completions/fish/{b}.fish")).contains(&format!("complete -c {b} ")));
    }
    assert!(read("man/p2pd.1").contains("socket\\-group\\-access"));
    assert_eq!(
        read("man/p2pgui.1"),
        std::fs::read_to_string(root.join("packaging/p2pgui/p2pgui.1")).unwrap()
    );
    assert_eq!(
        read("config/p2pd.toml"),
        p2pd::config::default_config_toml()
    );
    for name in ["p2p", "p2pgui"] {
        let manifest: toml::Table = toml::from_str(&read(&format!("{name}/Cargo.toml"))).unwrap();
        assert_eq!(manifest["package"]["name"].as_str(), Some(name));
        assert!(manifest["package"]["metadata"]["deb"]["assets"].is_array());
    }
}

#[test]
fn fast_compression_is_only_for_the_rpm_packages() {
    let out = Command::new(BIN).arg("--fast").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("--rpm"), "{err}");
}
