//! Runs one p2pd engine with one torrent as a separate process, for tests
//! that kill it (kill -9) or pit it against other clients. Prints
//! `listening on PORT`, then a JSON status line every 100 ms on stdout (and
//! one at once when the first payload byte or the completion comes).
//!
//! Usage: engine-harness TORRENT DOWNLOAD_DIR [--peer ADDR]... [--no-trackers]
//!        [--resume-dir DIR] [--upload-limit BYTES] [--download-limit BYTES]
//!        [--encryption prefer|require|disable] [--utp on|prefer|off]
//!        [--upload-slots N]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use p2p_proto::metainfo::Metainfo;
use p2pd::engine::{AddTorrent, Encryption, Engine, EngineConfig, UtpMode};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1);
    let torrent = PathBuf::from(args.next().context("missing TORRENT")?);
    let download_dir = PathBuf::from(args.next().context("missing DOWNLOAD_DIR")?);
    let mut peers: Vec<SocketAddr> = Vec::new();
    let mut use_trackers = true;
    let mut resume_dir = download_dir.join(".progress");
    let mut config = EngineConfig {
        listen: "127.0.0.1:0".parse()?,
        // Engines of other tests on this host could share a torrent: LSD
        // would join their swarms to this one's.
        lsd: false,
        ..EngineConfig::default()
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--peer" => peers.push(args.next().context("--peer needs ADDR")?.parse()?),
            "--no-trackers" => use_trackers = false,
            "--resume-dir" => {
                resume_dir = PathBuf::from(args.next().context("--resume-dir needs DIR")?)
            }
            "--upload-limit" => {
                config.upload_rate_limit = Some(args.next().context("needs BYTES")?.parse()?)
            }
            "--download-limit" => {
                config.download_rate_limit = Some(args.next().context("needs BYTES")?.parse()?)
            }
            "--encryption" => {
                config.encryption = match args.next().as_deref() {
                    Some("prefer") => Encryption::Prefer,
                    Some("require") => Encryption::Require,
                    Some("disable") => Encryption::Disable,
                    _ => bail!("--encryption needs prefer, require or disable"),
                }
            }
            "--utp" => {
                config.utp = match args.next().as_deref() {
                    Some("on") => UtpMode::On,
                    Some("prefer") => UtpMode::Prefer,
                    Some("off") => UtpMode::Off,
                    _ => bail!("--utp needs on, prefer or off"),
                }
            }
            // bench/seed8.sh: how the choker's slot count bounds one seeder's upload.
            "--upload-slots" => {
                config.upload_slots = args.next().context("--upload-slots needs N")?.parse()?
            }
            other => bail!("unknown argument {other}"),
        }
    }
    let bytes =
        std::fs::read(&torrent).with_context(|| format!("cannot read {}", torrent.display()))?;
    let metainfo = Metainfo::from_bytes(&bytes)?;
    let cancel = CancellationToken::new();
    let engine = Engine::start(config, cancel.clone()).await?;
    println!("listening on {}", engine.listen_addr().port());
    let info_hash = engine
        .add(AddTorrent {
            metainfo,
            download_dir,
            resume_dir,
            download_rate_limit: None,
            upload_rate_limit: None,
            extra_peers: peers,
            use_trackers,
            assume_complete: false,
            folder_pin: None,
            file_priorities: None,
            sequential: false,
        })
        .await?;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    // One listener for the whole run, so a signal between ticks is not lost.
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    // A line the moment the torrent completes, so timings (bench/transfer.sh)
    // are not rounded up to the next tick.
    let completed = engine.wait_complete(info_hash, Duration::from_secs(86_400 * 365));
    tokio::pin!(completed);
    let mut announced_completion = false;
    // Until the first payload byte, a 5 ms poll prints the status line the
    // moment it comes (benchmarks time from it; 100 ms ticks would round).
    let mut first_byte_poll = tokio::time::interval(Duration::from_millis(5));
    let mut seen_first_byte = false;
    loop {
        tokio::select! {
            _ = &mut completed, if !announced_completion => {
                announced_completion = true;
                tick.reset_immediately();
            }
            _ = first_byte_poll.tick(), if !seen_first_byte && !announced_completion => {
                if engine.stats(info_hash).is_some_and(|s| s.downloaded > 0) {
                    seen_first_byte = true;
                    tick.reset_immediately();
                }
            }
            _ = tick.tick() => {
                if let Some(s) = engine.stats(info_hash) {
                    let peers: Vec<_> = s.peers.iter().map(|p| serde_json::json!({
                        "addr": p.addr.to_string(), "peer_id": p.peer_id,
                        "downloaded": p.downloaded, "uploaded": p.uploaded,
                        "encrypted": p.encrypted, "transport": p.transport.name(),
                    })).collect();
                    println!("{}", serde_json::json!({
                        "state": format!("{:?}", s.state),
                        "pieces_have": s.pieces_have, "piece_count": s.piece_count,
                        "downloaded": s.downloaded, "uploaded": s.uploaded,
                        "pieces_rechecked": s.pieces_rechecked, "hash_failures": s.hash_failures,
                        "banned": s.banned, "tracker": s.tracker_status, "peers": peers,
                    }));
                }
            }
            _ = &mut ctrl_c => break,
        }
    }
    cancel.cancel();
    engine.shutdown(Duration::from_secs(5)).await;
    Ok(())
}
