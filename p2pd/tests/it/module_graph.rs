//! The import graph of p2pd's `daemon/` and `engine/` modules, read from
//! the source: sibling modules never import each other in a circle, and
//! the daemon's modules import only along the layers its module doc draws.

#![allow(clippy::unwrap_used)] // a test may unwrap

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Sibling module -> the siblings (and `ROOT` items) it names.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// Stands for items of the folder's `mod.rs` (e.g. `super::Daemon`).
const ROOT: &str = "<mod.rs>";

/// The first identifiers of `prefix...` paths: `super::a::b` gives `a`,
/// `super::{a, b::c}` gives `a` and `b`.
fn names_after(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        rest = &rest[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '{' => 1,
                        '}' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map_or(group.len(), |(i, _)| i);
            let mut depth = 0;
            let mut item = String::new();
            for c in group[..end].chars().chain([',']) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.extend(first_ident(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
        } else {
            out.extend(first_ident(rest));
        }
    }
    out
}

fn first_ident(s: &str) -> Option<String> {
    let s = s.trim_start();
    let ident: String = s
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!ident.is_empty() && !ident.starts_with(|c: char| c.is_ascii_digit())).then_some(ident)
}

fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The graph of the modules in `src/<folder>/`.
fn graph(folder: &str) -> Graph {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(folder);
    let mut siblings = BTreeSet::new();
    let mut files = Vec::new();
    for entry in walk(&root) {
        let rel = entry.strip_prefix(&root).unwrap().with_extension("");
        let parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if parts == ["mod"] {
            continue;
        }
        siblings.insert(parts[0].clone());
        // How deep the file is below `folder`: `super::` from `a.rs` or
        // `a/mod.rs` names a sibling, from `a/b.rs` it names `a`'s own items.
        let depth = parts.len() - usize::from(parts.last().is_some_and(|p| p == "mod"));
        files.push((parts[0].clone(), depth, entry));
    }
    let mut g = Graph::new();
    for (module, depth, file) in files {
        let text = strip_comments(&std::fs::read_to_string(&file).unwrap());
        let mut named = names_after(&text, &"super::".repeat(depth));
        named.extend(names_after(&text, &format!("crate::{folder}::")));
        let edges = g.entry(module.clone()).or_default();
        for n in named {
            if n == module {
                continue;
            }
            if siblings.contains(&n) {
                edges.insert(n);
            } else if n != "super" {
                edges.insert(ROOT.to_owned());
            }
        }
    }
    g
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

/// A cycle among siblings, if there is one.
fn cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        g: &Graph,
        n: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut c = path[i..].to_vec();
            c.push(n.to_owned());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_owned());
        for m in g.get(n).into_iter().flatten().filter(|m| *m != ROOT) {
            if let Some(c) = visit(g, m, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    g.keys()
        .find_map(|n| visit(g, n, &mut Vec::new(), &mut done))
}

#[test]
fn the_engine_modules_import_each_other_without_a_cycle() {
    let g = graph("engine");
    assert!(g.contains_key("torrent") && g.contains_key("disk"), "{g:?}");
    assert_eq!(cycle(&g), None, "{g:#?}");
    // The disk sees torrents only through its `PieceOwner` seam.
    assert!(!g["disk"].contains("torrent"), "{:?}", g["disk"]);
}

#[test]
fn the_daemon_modules_import_only_down_their_layers() {
    let g = graph("daemon");
    assert_eq!(cycle(&g), None, "{g:#?}");
    let allowed: BTreeMap<&str, &[&str]> = [
        ("control", &["handlers", ROOT][..]),
        (
            "handlers",
            &[
                "community",
                "queue",
                "runtime",
                "session",
                "sharing",
                "registry",
                "stats",
                "totals",
                ROOT,
            ][..],
        ),
        ("watch_torrents", &["handlers", ROOT][..]),
        ("runtime", &["sharing", "registry"][..]),
        ("queue", &["sharing", "registry", "totals"][..]),
        ("community", &["session"][..]),
        ("session", &["sharing"][..]),
        ("sharing", &["registry"][..]),
        ("registry", &[][..]),
        ("stats", &["totals"][..]),
        ("totals", &[][..]),
        ("on_complete", &[][..]),
        ("engine_events", &[][..]),
        ("lifecycle", &["runtime"][..]),
    ]
    .into_iter()
    .collect();
    for (module, uses) in &g {
        let Some(ok) = allowed.get(module.as_str()) else {
            panic!("daemon/{module} is not in the layer table: add it and to the module doc");
        };
        for u in uses {
            assert!(
                ok.contains(&u.as_str()),
                "daemon/{module} imports {u}, against the layers (allowed: {ok:?})"
            );
        }
    }
}

#[test]
fn grouped_and_nested_paths_are_read() {
    let names = names_after("use super::{a, b::{c, d}, E};\nuse super::f::g;", "super::");
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["E", "a", "b", "f"]);
    let mut g = Graph::new();
    g.insert("a".into(), ["b".to_owned()].into());
    g.insert("b".into(), ["a".to_owned()].into());
    assert!(cycle(&g).is_some());
}
