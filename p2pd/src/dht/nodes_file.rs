//! The DHT nodes kept across restarts: one `ip:port` a line in a small
//! text file of the state folder, written atomically (temp file, fsync,
//! rename), read back as extra bootstrap nodes at the next start.
//!
//! Reading is bounded (bytes and lines) and skips what does not parse:
//! a damaged file costs a cold bootstrap, never a failed start.

use std::net::SocketAddr;
use std::path::Path;

/// Most nodes written and read: every one is asked when the node starts
/// with a low table, so the list stays short, about two buckets' worth.
pub(crate) const MAX_SAVED_NODES: usize = 16;
/// Longest file read (a line is at most 47 bytes: an IPv6 address with a port).
const MAX_FILE_BYTES: u64 = 4096;

/// The saved nodes, at most [`MAX_SAVED_NODES`]; none when the file is
/// missing or unreadable.
pub(crate) fn load(path: &Path) -> Vec<SocketAddr> {
    use std::io::Read;
    let mut text = String::new();
    let read =
        std::fs::File::open(path).and_then(|f| f.take(MAX_FILE_BYTES).read_to_string(&mut text));
    if let Err(e) = read {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!("cannot read the DHT nodes file {}: {e}", path.display());
        }
        return Vec::new();
    }
    parse(&text)
}

/// The addresses in `text`, one a line; other lines are skipped.
fn parse(text: &str) -> Vec<SocketAddr> {
    let mut nodes: Vec<SocketAddr> = Vec::new();
    for line in text.lines() {
        let Ok(a) = line.trim().parse::<SocketAddr>() else {
            continue;
        };
        if a.port() != 0 && !a.ip().is_unspecified() && !nodes.contains(&a) {
            nodes.push(a);
        }
        if nodes.len() == MAX_SAVED_NODES {
            break;
        }
    }
    nodes
}

/// Writes `nodes` (the first [`MAX_SAVED_NODES`]) atomically. Blocking.
pub(crate) fn save(path: &Path, nodes: &[SocketAddr]) -> std::io::Result<()> {
    let mut text = String::new();
    for n in nodes.iter().take(MAX_SAVED_NODES) {
        text.push_str(&n.to_string());
        text.push('\n');
    }
    p2p_proto::fsutil::write_atomically(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn saved_nodes_are_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dht-nodes.txt");
        let nodes = [
            addr("127.0.0.1:6881"),
            addr("[2001:db8::1]:6881"),
            addr("10.1.2.3:51413"),
        ];
        save(&path, &nodes).unwrap();
        assert_eq!(load(&path), nodes);
    }

    #[test]
    fn a_missing_file_gives_no_nodes() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(&dir.path().join("none")).is_empty());
    }

    #[test]
    fn garbage_lines_are_skipped_and_the_list_is_capped() {
        let mut text =
            String::from("not an address\n[::]:6881\n0.0.0.0:1\n1.2.3.4:0\n\u{0}\u{1}\n");
        for i in 0..100u8 {
            text.push_str(&format!("10.0.0.{i}:6881\n"));
        }
        let nodes = parse(&text);
        assert_eq!(nodes.len(), MAX_SAVED_NODES);
        assert_eq!(nodes[0], addr("10.0.0.0:6881"));
    }

    #[test]
    fn only_the_first_kilobytes_of_a_huge_file_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let mut text = "x".repeat(1 << 20);
        text.push_str("\n10.0.0.1:6881\n");
        std::fs::write(&path, text).unwrap();
        assert!(load(&path).is_empty());
    }
}
