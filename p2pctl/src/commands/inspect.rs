//! `p2pctl inspect`: what a .torrent or a magnet link holds.

use std::fmt::Write as _;

use anyhow::Context;
use p2p_proto::magnet::Magnet;
use p2p_proto::metainfo::Metainfo;
use serde_json::{Value, json};

use crate::cli::InspectArgs;
use crate::output::human_size;

/// Largest .torrent we read: the bencode string cap plus room for the rest.
const MAX_TORRENT_FILE_BYTES: u64 = 80 << 20;

pub fn run(args: &InspectArgs, json: bool) -> anyhow::Result<()> {
    if args.torrent.starts_with("magnet:") {
        let m = Magnet::parse(&args.torrent)?;
        let text = if json {
            format!("{}\n", magnet_json(&m))
        } else {
            magnet_human(&m)
        };
        return super::print(&text);
    }
    let bytes = read_capped(&args.torrent)?;
    let meta = Metainfo::from_bytes(&bytes)
        .with_context(|| format!("{} is not a valid torrent", args.torrent))?;
    let text = if json {
        format!("{}\n", describe_json(&meta))
    } else {
        describe_human(&meta)
    };
    super::print(&text)
}

/// A .torrent file's bytes, refusing files too large to be one.
pub fn read_capped(path: &str) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {path}"))?;
    let mut bytes = Vec::new();
    f.take(MAX_TORRENT_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {path}"))?;
    if bytes.len() as u64 > MAX_TORRENT_FILE_BYTES {
        anyhow::bail!(
            "{path} is larger than {} and cannot be a torrent",
            human_size(MAX_TORRENT_FILE_BYTES)
        );
    }
    Ok(bytes)
}

/// The JSON object of `inspect --json` (also printed by `create --json`).
pub fn describe_json(m: &Metainfo) -> Value {
    let files: Vec<Value> = m
        .info
        .files
        .iter()
        .filter(|f| !f.pad)
        .map(|f| {
            let mut v = json!({ "path": f.display_path(), "length": f.length });
            if f.symlink {
                v["symlink"] = true.into();
            }
            v
        })
        .collect();
    json!({
        "info_hash": m.info_hash.to_hex(),
        "name": m.info.name,
        "total_size": m.info.total_length,
        "piece_length": m.info.piece_length,
        "piece_count": m.piece_count(),
        "private": m.info.private,
        "source": m.info.source,
        "files": files,
        "trackers": m.trackers.iter().flatten().collect::<Vec<_>>(),
        "tracker_tiers": m.trackers,
        "web_seeds": m.web_seeds,
        "comment": m.comment,
        "created_by": m.created_by,
        "creation_date": m.creation_date,
        "magnet": m.magnet().to_string(),
    })
}

/// The human form of `inspect`.
pub fn describe_human(m: &Metainfo) -> String {
    let mut s = String::new();
    let i = &m.info;
    let _ = writeln!(s, "name:          {}", i.name);
    let _ = writeln!(s, "info hash:     {}", m.info_hash);
    let _ = writeln!(
        s,
        "total size:    {} ({} bytes)",
        human_size(i.total_length),
        i.total_length
    );
    let _ = writeln!(
        s,
        "pieces:        {} x {}",
        m.piece_count(),
        human_size(i.piece_length)
    );
    let _ = writeln!(s, "private:       {}", if i.private { "yes" } else { "no" });
    if let Some(src) = &i.source {
        let _ = writeln!(s, "source:        {src}");
    }
    if let Some(c) = &m.comment {
        let _ = writeln!(s, "comment:       {c}");
    }
    if let Some(c) = &m.created_by {
        let _ = writeln!(s, "created by:    {c}");
    }
    if let Some(d) = m.creation_date {
        let _ = writeln!(s, "creation date: {d} (Unix time)");
    }
    for (n, tier) in m.trackers.iter().enumerate() {
        let _ = writeln!(s, "tracker tier {}: {}", n + 1, tier.join(", "));
    }
    for w in &m.web_seeds {
        let _ = writeln!(s, "web seed:      {w}");
    }
    let files: Vec<_> = i.files.iter().filter(|f| !f.pad).collect();
    let _ = writeln!(s, "files:         {}", files.len());
    for f in files {
        let link = if f.symlink {
            "  (symlink, not created)"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "  {:>12}  {}{link}",
            human_size(f.length),
            f.display_path()
        );
    }
    let _ = writeln!(s, "magnet:        {}", m.magnet());
    s
}

fn magnet_json(m: &Magnet) -> Value {
    json!({
        "info_hash": m.info_hash.to_hex(),
        "name": m.display_name,
        "total_size": m.exact_length,
        "trackers": m.trackers,
        "web_seeds": m.web_seeds,
        "peers": m.peers.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "select_only": m.select_only.as_ref().map(|so| so.display(0).to_string()),
        "magnet": m.to_string(),
    })
}

fn magnet_human(m: &Magnet) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "info hash:     {}", m.info_hash);
    if let Some(n) = &m.display_name {
        let _ = writeln!(s, "name:          {n}");
    }
    if let Some(l) = m.exact_length {
        let _ = writeln!(s, "total size:    {} ({l} bytes)", human_size(l));
    }
    for t in &m.trackers {
        let _ = writeln!(s, "tracker:       {t}");
    }
    for p in &m.peers {
        let _ = writeln!(s, "peer:          {p}");
    }
    if let Some(so) = &m.select_only {
        // BEP 53 counts from 0; `files-of` and `--files` from 1.
        let _ = writeln!(
            s,
            "only files:    {} (files-of numbers: {})",
            so.display(0),
            so.display(1)
        );
    }
    s
}
