//! `p2pctl create`: hash a file or folder into a .torrent, locally.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use p2p_proto::create::{Control, CreateOptions, create_torrent};
use p2p_proto::fsutil::write_atomically;
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
