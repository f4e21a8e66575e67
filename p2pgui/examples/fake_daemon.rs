//! A stand-in p2pd for p2pgui's 1,000-torrent budget only: it speaks the
//! real control protocol (p2p_proto::ipc types, one JSON line per frame)
//! over a real Unix socket and answers `list` with N made-up torrents, so
//! the window can be measured with a list no test swarm could fill.
//!
//! `cargo run --release -p p2pgui --example fake_daemon -- SOCKET [N]`

#![allow(clippy::unwrap_used)] // a bench tool
#![cfg_attr(not(unix), allow(dead_code, unused_imports))]

use std::io::{BufRead, BufReader, Write};

use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::{
    PROTOCOL_VERSION, Reachability, ReplyBody, ReplyFrame, Request, RequestFrame, Response,
    ServerHello, ServerHelloBody, SessionInfo, StatusInfo, Subscribed, TorrentState,
    TorrentSummary, TrackerState, encode_frame,
};

fn torrents(n: usize) -> Vec<TorrentSummary> {
    (0..n)
        .map(|i| {
            let mut hash = [0u8; 20];
            hash[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
            let info_hash = InfoHash(hash);
            let state = [
                TorrentState::Downloading,
                TorrentState::Seeding,
                TorrentState::Paused,
            ][i % 3];
            TorrentSummary {
                short_id: info_hash.to_hex()[..8].to_owned(),
                info_hash,
                name: format!("Some.Linux.Distribution.{i:04}.x86_64.iso"),
                state,
                error: None,
                progress: if state == TorrentState::Seeding {
                    1.0
                } else {
                    (i % 97) as f64 / 97.0
                },
                size: 700 << 20,
                downloaded: 0,
                uploaded: 0,
                download_rate: if state == TorrentState::Downloading {
                    150_000
                } else {
                    0
                },
                upload_rate: 20_000,
                peers: i % 40,
                save_path: "/home/user/Downloads".into(),
                download_rate_limit: None,
                upload_rate_limit: None,
                all_time: Default::default(),
                sequential: false,
            }
        })
        .collect()
}

fn status(n: usize) -> StatusInfo {
    StatusInfo {
        version: "0.1.0 (fake)".into(),
        uptime_secs: 60,
        logged_in_as: None,
        logged_out_because: None,
        tracker: TrackerState {
            state: Reachability::None,
            reason: "fake daemon".into(),
        },
        listen_port: 6881,
        shared_dir: "/tmp/shared".into(),
        downloads_dir: "/tmp/downloads".into(),
        torrents: n,
        downloading: n / 3,
        seeding: n / 3,
        download_rate: 0,
        upload_rate: 0,
        dht: None,
        watch_folder: None,
    }
}

#[cfg(not(unix))]
fn main() {
    eprintln!("fake_daemon listens on a Unix socket: it runs on Unix only");
}

#[cfg(unix)]
fn main() {
    use std::os::unix::net::UnixListener;
    let mut args = std::env::args().skip(1);
    let socket = args.next().expect("usage: fake_daemon SOCKET [N]");
    let n: usize = args.next().map_or(1000, |n| n.parse().unwrap());
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket).unwrap();
    eprintln!("fake p2pd with {n} torrents at {socket}");
    let list = torrents(n);
    for stream in listener.incoming() {
        let stream = stream.unwrap();
        let list = list.clone();
        std::thread::spawn(move || {
            let mut out = stream.try_clone().unwrap();
            let hello = ServerHello {
                hello: ServerHelloBody {
                    version: PROTOCOL_VERSION,
                    server: "p2pd 0.1.0 (fake)".into(),
                },
            };
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { return };
                if line.contains("\"hello\"") {
                    out.write_all(&encode_frame(&hello)).unwrap();
                    continue;
                }
                let frame: RequestFrame = serde_json::from_str(&line).unwrap();
                let body = match frame.request {
                    Request::List => Response::List(list.clone()),
                    Request::Status => Response::Status(status(n)),
                    Request::Whoami => Response::Session(SessionInfo {
                        logged_in_as: None,
                        ended_because: None,
                    }),
                    Request::Subscribe { .. } => {
                        Response::Subscribed(Subscribed { subscribed: true })
                    }
                    other => {
                        let e = p2p_proto::ipc::IpcError::new(
                            p2p_proto::ipc::ErrorCode::NotSupported,
                            format!("{} is not faked", other.name()),
                        );
                        let _ = out.write_all(&encode_frame(&ReplyFrame {
                            id: frame.id,
                            body: ReplyBody::Error(e),
                        }));
                        continue;
                    }
                };
                if out
                    .write_all(&encode_frame(&ReplyFrame {
                        id: frame.id,
                        body: ReplyBody::Ok(body),
                    }))
                    .is_err()
                {
                    return;
                }
            }
        });
    }
}
