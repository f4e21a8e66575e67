//! The exact wire form of every request, reply and event, snapshotted so a
//! change to the contract shows up in review (`cargo insta review`), and
//! read back through the typed decoder.

use super::*;
use crate::api;
use crate::infohash::InfoHash;

fn ih() -> InfoHash {
    InfoHash([0x3f; 20])
}

fn summary(state: TorrentState) -> TorrentSummary {
    TorrentSummary {
        info_hash: ih(),
        short_id: ih().short_hex(),
        name: "holiday.mp4".into(),
        state,
        error: None,
        progress: 0.5,
        size: 1 << 20,
        downloaded: 524_288,
        uploaded: 0,
        download_rate: 65_536,
        upload_rate: 0,
        peers: 2,
        save_path: "/home/al/downloads".into(),
        download_rate_limit: None,
        upload_rate_limit: Some(1_000_000),
        all_time: AllTime::new(524_288, 1 << 20, 3_600, 1 << 20),
        sequential: false,
    }
}

fn group() -> api::Group {
    api::Group {
        name: "team".into(),
        owner: "alice".into(),
        members: 2,
        created_at: 1_700_000_000,
        member: true,
    }
}

fn member(owner: bool) -> api::Member {
    api::Member {
        username: if owner { "alice" } else { "bob" }.into(),
        since: 1_700_000_100,
        owner,
    }
}

fn entry() -> api::CatalogEntry {
    api::CatalogEntry {
        info_hash: ih(),
        name: "report.pdf".into(),
        group: Some("team".into()),
        total_length: 1536,
        piece_length: 16384,
        file_count: 1,
        private: true,
        source: Some("team".into()),
        publisher: "alice".into(),
        added_at: 1_700_000_200,
    }
}

fn event_record() -> api::EventRecord {
    api::EventRecord {
        id: 7,
        at: 1_700_000_300,
        kind: "publish".into(),
        username: Some("alice".into()),
        group: Some("team".into()),
        info_hash: Some(ih()),
        detail: "report.pdf".into(),
    }
}

/// One request of every command with a reply of the type it answers with.
fn exchanges() -> Vec<(Request, Response)> {
    let id = || "3f3f3f3f".to_string();
    vec![
        (
            Request::Status,
            Response::Status(StatusInfo {
                version: "0.1.0".into(),
                uptime_secs: 5,
                logged_in_as: Some("alice".into()),
                logged_out_because: None,
                tracker: TrackerState {
                    state: Reachability::Ok,
                    reason: "http://127.0.0.1:6969/announce answers".into(),
                },
                listen_port: 6881,
                shared_dir: "/home/al/shared".into(),
                downloads_dir: "/home/al/downloads".into(),
                torrents: 1,
                downloading: 1,
                seeding: 0,
                download_rate: 65_536,
                upload_rate: 0,
                dht: Some(Box::new(DhtInfo {
                    port: 6881,
                    nodes: 143,
                    server_mode: false,
                    firewalled: true,
                    public_address: None,
                })),
                watch_folder: Some(Box::new(WatchFolderInfo {
                    dir: "/home/al/watch".into(),
                    started: 2,
                    already_there: 1,
                    invalid: 1,
                    recent_invalid: vec![InvalidWatchFile {
                        file: "junk.torrent".into(),
                        reason: "not a torrent: bencode error at byte 0".into(),
                    }],
                })),
            }),
        ),
        (
            Request::List,
            Response::List(vec![summary(TorrentState::Downloading)]),
        ),
        (
            Request::Add {
                source: "/home/al/x.torrent".into(),
                to: None,
                paused: false,
                files: None,
                sequential: false,
            },
            Response::Added(Added {
                torrent: summary(TorrentState::Paused),
                note: Some("logged out: it starts at the next login".into()),
            }),
        ),
        (
            Request::Progress { id: id() },
            Response::Progress(ProgressInfo {
                info_hash: ih(),
                name: "holiday.mp4".into(),
                state: TorrentState::Downloading,
                pieces_total: 4,
                pieces_have: 2,
                bytes_total: 1 << 20,
                bytes_have: 1 << 19,
                pieces_rechecked: 0,
                eta_secs: Some(8),
                files: vec![FileProgress {
                    path: "holiday.mp4".into(),
                    length: 1 << 20,
                    complete: false,
                }],
                piece_map: vec![100, 100, 0, 0],
                all_time: AllTime::default(),
            }),
        ),
        (
            Request::Pause { id: id() },
            Response::Torrent(summary(TorrentState::Paused)),
        ),
        (
            Request::Resume { id: id() },
            Response::Added(Added {
                torrent: summary(TorrentState::Downloading),
                note: None,
            }),
        ),
        (
            Request::Remove {
                id: id(),
                delete_data: true,
            },
            Response::Torrent(TorrentSummary {
                error: Some("disk full".into()),
                ..summary(TorrentState::Error)
            }),
        ),
        (
            Request::Peers { id: id() },
            Response::Peers(vec![PeerSummary {
                addr: "127.0.0.1:51413".into(),
                peer_id: "-TR3000-".into(),
                downloaded: 16384,
                uploaded: 0,
                outgoing: true,
                source: PeerSource::Dht,
                encrypted: true,
                transport: PeerTransport::Utp,
            }]),
        ),
        (
            Request::Share {
                path: "/home/al/photos".into(),
                group: Some("team".into()),
            },
            Response::Shared(ShareInfo {
                placed_at: "/home/al/shared/team/photos".into(),
            }),
        ),
        (
            Request::Subscribe { id: None },
            Response::Subscribed(Subscribed { subscribed: true }),
        ),
        (
            Request::Register {
                user: "alice".into(),
                password: "hunter2".into(),
            },
            Response::Registered(RegisterInfo {
                registered: "alice".into(),
            }),
        ),
        (
            Request::Login {
                user: "alice".into(),
                password: "hunter2".into(),
                force: false,
            },
            Response::Session(SessionInfo {
                logged_in_as: Some("alice".into()),
                ended_because: None,
            }),
        ),
        (
            Request::Logout,
            Response::Session(SessionInfo {
                logged_in_as: None,
                ended_because: Some("logged out".into()),
            }),
        ),
        (
            Request::Whoami,
            Response::Session(SessionInfo {
                logged_in_as: Some("alice".into()),
                ended_because: None,
            }),
        ),
        (
            Request::GroupCreate {
                name: "team".into(),
            },
            Response::Group(group()),
        ),
        (
            Request::GroupList,
            Response::Groups(api::GroupList {
                groups: vec![group()],
            }),
        ),
        (
            Request::GroupJoin {
                name: "team".into(),
            },
            Response::JoinRequested(api::JoinRequested {
                requested: "team".into(),
            }),
        ),
        (
            Request::GroupLeave {
                name: "team".into(),
            },
            Response::Left(api::Left {
                group: "team".into(),
                new_owner: Some("bob".into()),
                deleted: false,
            }),
        ),
        (
            Request::GroupRequests {
                name: "team".into(),
            },
            Response::JoinRequests(api::JoinRequests {
                requests: vec![member(false)],
            }),
        ),
        (
            Request::GroupAccept {
                name: "team".into(),
                user: "bob".into(),
            },
            Response::Accepted(api::Accepted {
                accepted: "bob".into(),
            }),
        ),
        (
            Request::GroupReject {
                name: "team".into(),
                user: "bob".into(),
            },
            Response::Rejected(api::Rejected {
                rejected: "bob".into(),
            }),
        ),
        (
            Request::GroupMembers {
                name: "team".into(),
            },
            Response::Members(api::Members {
                members: vec![member(true), member(false)],
            }),
        ),
        (
            Request::GroupRemove {
                name: "team".into(),
                user: "bob".into(),
            },
            Response::MemberRemoved(api::Removed {
                removed: "bob".into(),
            }),
        ),
        (
            Request::Files {
                group: Some("team".into()),
            },
            Response::Catalog(api::CatalogList {
                torrents: vec![entry()],
            }),
        ),
        (
            Request::Search {
                term: "report".into(),
            },
            Response::Catalog(api::CatalogList {
                torrents: vec![api::CatalogEntry {
                    group: None,
                    source: None,
                    private: false,
                    ..entry()
                }],
            }),
        ),
        (
            Request::Events {
                after: Some(6),
                limit: Some(10),
            },
            Response::Events(api::EventPage {
                events: vec![event_record()],
                next_after: 7,
            }),
        ),
        (
            Request::PasskeyRotate,
            Response::PasskeyRotated(PasskeyRotatedInfo {
                user: "alice".into(),
                torrents: 3,
            }),
        ),
        (Request::ConfigGet, Response::Config(settings())),
        (
            Request::ConfigSet {
                key: "alt_speed_schedule".into(),
                value: "22:00-07:00".into(),
            },
            Response::Config(RuntimeSettings {
                alt_speed_schedule: Some(Schedule {
                    from_minute: 22 * 60,
                    to_minute: 7 * 60,
                }),
                alt_speed_active: true,
                ..settings()
            }),
        ),
        (
            Request::TorrentLimits {
                id: id(),
                download_rate_limit: None,
                upload_rate_limit: Some(1_000_000),
            },
            Response::Torrent(summary(TorrentState::Seeding)),
        ),
        (
            Request::Add {
                source: "/home/al/four.torrent".into(),
                to: Some("/home/al/dl".into()),
                paused: false,
                files: Some(FileSet::parse("1,3-5").unwrap()),
                sequential: true,
            },
            Response::Added(Added {
                torrent: summary(TorrentState::Downloading),
                note: None,
            }),
        ),
        (
            Request::TorrentFiles { id: id() },
            Response::TorrentFiles(torrent_files(FilePriority::Skip)),
        ),
        (
            Request::FilePriority {
                id: id(),
                files: FileSet::parse("2").unwrap(),
                priority: FilePriority::High,
            },
            Response::TorrentFiles(torrent_files(FilePriority::High)),
        ),
        (
            Request::Queue {
                id: id(),
                to: QueueMove::Top,
            },
            Response::Torrent(summary(TorrentState::Downloading)),
        ),
        (
            Request::SeedGoal {
                id: id(),
                ratio: Some("2.0".into()),
                time: Some("global".into()),
            },
            Response::SeedGoal(Box::new(SeedGoalInfo {
                torrent: TorrentSummary {
                    error: Some("ratio 2.00 reached".into()),
                    ..summary(TorrentState::Finished)
                },
                goal: SeedGoal {
                    ratio: GoalLimit::Value(Ratio::from_hundredths(200).unwrap()),
                    time_secs: GoalLimit::Global,
                },
            })),
        ),
        (
            Request::Sequential { id: id(), on: true },
            Response::Torrent(TorrentSummary {
                sequential: true,
                ..summary(TorrentState::Downloading)
            }),
        ),
        (
            Request::Move {
                id: id(),
                to: "/srv/media".into(),
            },
            Response::Torrent(summary(TorrentState::Seeding)),
        ),
        (
            Request::Verify { id: id() },
            Response::Verified(Verified {
                info_hash: ih(),
                name: "album".into(),
                checked: 220,
                bad: vec![3, 17],
                note: None,
            }),
        ),
    ]
}

/// Two files, the second at `second`.
fn torrent_files(second: FilePriority) -> TorrentFiles {
    TorrentFiles {
        info_hash: ih(),
        name: "album".into(),
        files: vec![
            TorrentFile {
                index: 1,
                path: "album/01.flac".into(),
                length: 30_000_000,
                have: 30_000_000,
                priority: FilePriority::Normal,
            },
            TorrentFile {
                index: 2,
                path: "album/02.flac".into(),
                length: 25_000_000,
                have: 0,
                priority: second,
            },
        ],
    }
}

fn settings() -> RuntimeSettings {
    crate::ipc::settings::sample()
}

/// Fails to compile when a command is added without a place in
/// [`exchanges`]; the test below checks each has one.
fn command_index(r: &Request) -> usize {
    match r {
        Request::Status => 0,
        Request::List => 1,
        Request::Add { .. } => 2,
        Request::Progress { .. } => 3,
        Request::Pause { .. } => 4,
        Request::Resume { .. } => 5,
        Request::Remove { .. } => 6,
        Request::Peers { .. } => 7,
        Request::Share { .. } => 8,
        Request::Subscribe { .. } => 9,
        Request::Register { .. } => 10,
        Request::Login { .. } => 11,
        Request::Logout => 12,
        Request::Whoami => 13,
        Request::GroupCreate { .. } => 14,
        Request::GroupList => 15,
        Request::GroupJoin { .. } => 16,
        Request::GroupLeave { .. } => 17,
        Request::GroupRequests { .. } => 18,
        Request::GroupAccept { .. } => 19,
        Request::GroupReject { .. } => 20,
        Request::GroupMembers { .. } => 21,
        Request::GroupRemove { .. } => 22,
        Request::Files { .. } => 23,
        Request::Search { .. } => 24,
        Request::Events { .. } => 25,
        Request::PasskeyRotate => 26,
        Request::ConfigGet => 27,
        Request::ConfigSet { .. } => 28,
        Request::TorrentLimits { .. } => 29,
        Request::TorrentFiles { .. } => 30,
        Request::FilePriority { .. } => 31,
        Request::Queue { .. } => 32,
        Request::SeedGoal { .. } => 33,
        Request::Sequential { .. } => 34,
        Request::Move { .. } => 35,
        Request::Verify { .. } => 36,
    }
}

#[test]
fn every_command_has_a_snapshotted_exchange() {
    let mut seen: Vec<usize> = exchanges().iter().map(|(r, _)| command_index(r)).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen, (0..=36).collect::<Vec<_>>());
}

#[test]
fn requests_and_replies_keep_their_wire_form() {
    let mut wire = String::new();
    for (n, (request, response)) in exchanges().into_iter().enumerate() {
        let id = n as u64 + 1;
        let req_line = String::from_utf8(encode_frame(&RequestFrame {
            id,
            request: request.clone(),
        }))
        .unwrap();
        let reply = ReplyFrame {
            id,
            body: ReplyBody::Ok(response),
        };
        let reply_line = String::from_utf8(encode_frame(&reply)).unwrap();
        // Both read back through the typed decoders.
        let back: RequestFrame = serde_json::from_str(&req_line).unwrap();
        assert_eq!(back.request, request);
        assert_eq!(
            ReplyFrame::decode(reply_line.trim_end(), &request).unwrap(),
            reply,
            "{}",
            request.name()
        );
        wire.push_str(&format!("-> {req_line}<- {reply_line}"));
    }
    insta::assert_snapshot!("requests_and_replies", wire);
}

#[test]
fn a_status_from_a_daemon_without_a_dht_field_reads_as_dht_off() {
    let old = r#"{"id":1,"ok":{"version":"0.1.0","uptime_secs":5,"logged_in_as":null,"tracker":{"state":"ok","reason":""},"listen_port":6881,"shared_dir":"/s","downloads_dir":"/d","torrents":0,"downloading":0,"seeding":0,"download_rate":0,"upload_rate":0}}"#;
    let ReplyBody::Ok(Response::Status(s)) =
        ReplyFrame::decode(old, &Request::Status).unwrap().body
    else {
        panic!("not a status reply");
    };
    assert_eq!(s.dht, None);
}

#[test]
fn errors_and_hellos_keep_their_wire_form() {
    let lines = [
        encode_frame(&ClientHello {
            hello: ClientHelloBody {
                version: PROTOCOL_VERSION,
                client: "p2pctl 0.1.0".into(),
            },
        }),
        encode_frame(&ServerHello {
            hello: ServerHelloBody {
                version: PROTOCOL_VERSION,
                server: "p2pd 0.1.0".into(),
            },
        }),
        encode_frame(&ReplyFrame {
            id: 3,
            body: ReplyBody::Error(IpcError::new(
                ErrorCode::NotLoggedIn,
                "log in first (p2pctl login USER)",
            )),
        }),
    ];
    let wire: String = lines
        .iter()
        .map(|l| String::from_utf8(l.clone()).unwrap())
        .collect();
    insta::assert_snapshot!("hellos_and_errors", wire);
}

#[test]
fn events_keep_their_wire_form() {
    let events = [
        Event::Progress {
            torrents: vec![summary(TorrentState::Seeding)],
        },
        Event::Completed {
            info_hash: ih(),
            name: "holiday.mp4".into(),
        },
        Event::Error {
            info_hash: ih(),
            message: "cannot write holiday.mp4: No space left on device".into(),
        },
        Event::Shared {
            info_hash: ih(),
            path: "team/report.pdf".into(),
        },
        Event::LoggedOut {
            reason: "the tracker shut down; log in again when it is back".into(),
        },
    ];
    let mut wire = String::new();
    for event in events {
        let frame = EventFrame { event };
        let line = String::from_utf8(encode_frame(&frame)).unwrap();
        assert_eq!(serde_json::from_str::<EventFrame>(&line).unwrap(), frame);
        wire.push_str(&line);
    }
    insta::assert_snapshot!("events", wire);
}

#[test]
fn every_peer_source_is_shown_by_its_wire_name() {
    for source in [
        PeerSource::Tracker,
        PeerSource::Dht,
        PeerSource::Pex,
        PeerSource::Lsd,
        PeerSource::User,
        PeerSource::Incoming,
        PeerSource::WebSeed,
    ] {
        let wire = serde_json::to_string(&source).unwrap();
        assert_eq!(wire, format!("\"{}\"", source.as_str()));
        assert_eq!(serde_json::from_str::<PeerSource>(&wire).unwrap(), source);
    }
}
