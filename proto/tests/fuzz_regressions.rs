//! Inputs the fuzzers found (proto/fuzz/regressions/), kept as plain tests so
//! CI runs them without the fuzzing toolchain.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap

use std::path::PathBuf;

use p2p_proto::metainfo::Metainfo;

#[test]
fn shortened_names_from_fuzzing_never_end_in_a_space_or_a_dot() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions/metainfo");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "torrent") {
            continue;
        }
        seen += 1;
        let Ok(m) = Metainfo::from_bytes(&std::fs::read(&path).unwrap()) else {
            continue;
        };
        for f in &m.info.files {
            for c in &f.path {
                assert!(!c.ends_with([' ', '.']), "{}: {c:?}", path.display());
                assert!(c.len() <= 240, "{}: {} bytes", path.display(), c.len());
            }
        }
    }
    assert!(seen >= 3, "the regression inputs are missing");
}
