//! `p2pctl create`: hash a file or folder into a .torrent, locally.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use p2p_proto::create::{Control, CreateOptions, create_torrent};
use p2p_proto::metainfo::TorrentExtras;

use super::inspect::{describe_human, describe_json};
use crate::cli::CreateArgs;

pub fn run(args: &CreateArgs, json: bool) -> anyhow::Result<()> {
    let trackers: Vec<Vec<String>> = args
        .trackers
        .iter()
        .map(|tier| {
            tier.split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|tier| !tier.is_empty())
        .collect();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let opts = CreateOptions {
        piece_length: args.piece_length,
        private: args.private,
        source: args.source.clone(),
        include_hidden: args.include_hidden,
        threads: args.threads.map(usize::from),
        extras: TorrentExtras {
            trackers,
            web_seeds: args.web_seeds.clone(),
            comment: args.comment.clone(),
            created_by: (!args.no_date).then(|| format!("p2p {}", env!("CARGO_PKG_VERSION"))),
            creation_date: (!args.no_date).then_some(now),
        },
    };
    let created = create_torrent(&args.path, &opts, &Control::default())
        .with_context(|| format!("cannot create a torrent from {}", args.path.display()))?;
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.torrent", created.metainfo.info.name)));
    if !args.force && out.exists() {
        bail!(
            "{} already exists (use --force to replace it)",
            out.display()
        );
    }
    write_atomically(&out, &created.bytes)
        .with_context(|| format!("cannot write {}", out.display()))?;

    let meta = &created.metainfo;
    let text = if json {
        let mut v = describe_json(meta);
        v["torrent_file"] = out.display().to_string().into();
        format!("{v}\n")
    } else {
        format!("wrote {}\n{}", out.display(), describe_human(meta))
    };
    super::print(&text)
}

/// Temp file in the same folder, fsync, rename: the .torrent is either the
/// old one or the whole new one, never a torn write.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        file_name.as_deref().unwrap_or("torrent"),
        std::process::id()
    ));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Ok(d) = fs::File::open(dir) {
            // Persist the rename; not supported on every platform, so best effort.
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
