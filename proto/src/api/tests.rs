//! The JSON of every API body, snapshotted, and read back.

use super::*;
use crate::infohash::InfoHash;

fn round_trip<T>(value: &T) -> String
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_string(value).unwrap();
    assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), value, "{json}");
    json
}

#[test]
fn api_bodies_keep_their_wire_form() {
    let ih = InfoHash([0xc1; 20]);
    let member = Member {
        username: "bob".into(),
        since: 1_700_000_100,
        owner: false,
    };
    let entry = CatalogEntry {
        info_hash: ih,
        name: "a.bin".into(),
        group: None,
        total_length: 10,
        piece_length: 16384,
        file_count: 1,
        private: false,
        source: None,
        publisher: "alice".into(),
        added_at: 1_700_000_200,
    };
    let record = EventRecord {
        id: 3,
        at: 1_700_000_300,
        kind: "login".into(),
        username: Some("alice".into()),
        group: None,
        info_hash: None,
        detail: "from 127.0.0.1".into(),
    };
    let lines = [
        round_trip(&ErrorBody::new(
            ApiErrorCode::Conflict,
            "alice is already logged in",
        )),
        round_trip(&RegisterRequest {
            username: "alice".into(),
            password: "pw".into(),
        }),
        round_trip(&Registered {
            username: "alice".into(),
        }),
        round_trip(&LoginRequest {
            username: "alice".into(),
            password: "pw".into(),
            takeover: true,
        }),
        round_trip(&LoginReply {
            token: "t0k".into(),
            passkey: "pk".into(),
            username: "alice".into(),
            session_ttl_secs: 900,
        }),
        round_trip(&LoggedOut {
            logged_out: "alice".into(),
        }),
        round_trip(&Whoami {
            username: "alice".into(),
            passkey: "pk".into(),
            since: 1_700_000_000,
            announce_url: "http://t/announce/pk".into(),
            session_ttl_secs: 900,
        }),
        round_trip(&PasswordChange {
            old: "a".into(),
            new: "b".into(),
        }),
        round_trip(&PasswordChanged {
            changed: true,
            token: "n3w".into(),
        }),
        round_trip(&PasskeyRotated {
            passkey: "pk2".into(),
            announce_url: "http://t/announce/pk2".into(),
        }),
        round_trip(&OnlineUsers {
            users: vec![OnlineUser {
                username: "alice".into(),
                address: Some("127.0.0.1".into()),
                since: 1,
                last_seen: 2,
            }],
        }),
        round_trip(&UserStats {
            username: "alice".into(),
            uploaded: 1,
            downloaded: 2,
            torrents_shared: 3,
            online: true,
            registered_at: 4,
        }),
        round_trip(&NewGroup {
            name: "team".into(),
        }),
        round_trip(&GroupList {
            groups: vec![Group {
                name: "team".into(),
                owner: "alice".into(),
                members: 1,
                created_at: 5,
                member: true,
            }],
        }),
        round_trip(&JoinRequested {
            requested: "team".into(),
        }),
        round_trip(&Members {
            members: vec![member.clone()],
        }),
        round_trip(&JoinRequests {
            requests: vec![member],
        }),
        round_trip(&Accepted {
            accepted: "bob".into(),
        }),
        round_trip(&Rejected {
            rejected: "bob".into(),
        }),
        round_trip(&Removed {
            removed: "bob".into(),
        }),
        round_trip(&Left {
            group: "team".into(),
            new_owner: None,
            deleted: true,
        }),
        round_trip(&CatalogList {
            torrents: vec![entry],
        }),
        round_trip(&Withdrawn { withdrawn: ih }),
        round_trip(&MagnetLink {
            magnet: format!("magnet:?xt=urn:btih:{ih}"),
        }),
        round_trip(&EventPage {
            events: vec![record],
            next_after: 3,
        }),
        round_trip(&Health {
            status: "ok".into(),
        }),
        round_trip(&TorrentList {
            torrents: vec![
                TorrentInfo {
                    info_hash: ih,
                    registered: true,
                    seeders: 1,
                    leechers: 2,
                    completed: 3,
                    details: Some(TorrentDetails {
                        name: "a.bin".into(),
                        total_length: 10,
                        piece_length: 16384,
                        file_count: 1,
                        private: false,
                        added_at: 6,
                    }),
                },
                TorrentInfo {
                    info_hash: ih,
                    registered: false,
                    seeders: 0,
                    leechers: 1,
                    completed: 0,
                    details: None,
                },
            ],
        }),
        round_trip(&TrackerStats {
            mode: TrackerMode::Catalog,
            torrents: 1,
            registered_torrents: 1,
            seeders: 1,
            leechers: 0,
            announces_per_second: 2.5,
            announces_total: 10,
            scrapes_total: 1,
            failures_total: 0,
            completed_total: 1,
            completed_pending: 0,
            connections_total: 4,
            uptime_secs: 60,
        }),
    ];
    insta::assert_snapshot!("api_bodies", lines.join("\n"));
}

#[test]
fn stream_events_read_back_from_name_and_data() {
    let events = [
        StreamEvent::Hello(StreamHello {
            username: "alice".into(),
            session_ttl_secs: 900,
        }),
        StreamEvent::Renewed(Renewed { at: 1_700_000_000 }),
        StreamEvent::SessionEnded(SessionEnded {
            username: "alice".into(),
        }),
        StreamEvent::Shutdown(Shutdown {
            reason: "trackerd is shutting down".into(),
        }),
        StreamEvent::Lagged(Lagged { missed: 4 }),
    ];
    let mut wire = String::new();
    for e in events {
        let data = e.data();
        assert_eq!(StreamEvent::decode(e.name(), &data).unwrap(), e);
        wire.push_str(&format!("event: {}\ndata: {data}\n\n", e.name()));
    }
    insta::assert_snapshot!("stream_events", wire);
    assert!(matches!(
        StreamEvent::decode("explode", "{}"),
        Err(StreamEventError::UnknownName(_))
    ));
    assert!(matches!(
        StreamEvent::decode("renewed", "{\"at\":\"soon\"}"),
        Err(StreamEventError::BadData { .. })
    ));
}

#[test]
fn the_publishing_and_quota_error_codes_have_snake_case_wire_names() {
    for (code, wire) in [
        (ApiErrorCode::OwnedElsewhere, "\"owned_elsewhere\""),
        (ApiErrorCode::NotAGroupTorrent, "\"not_a_group_torrent\""),
        (ApiErrorCode::QuotaExceeded, "\"quota_exceeded\""),
    ] {
        assert_eq!(serde_json::to_string(&code).unwrap(), wire);
        assert_eq!(serde_json::from_str::<ApiErrorCode>(wire).unwrap(), code);
    }
}

#[test]
fn unknown_error_codes_read_as_other() {
    let body: ErrorBody =
        serde_json::from_str(r#"{"error":{"code":"brand_new","message":"m"}}"#).unwrap();
    assert_eq!(body.error.code, ApiErrorCode::Other);
}

#[test]
fn debug_output_hides_secrets() {
    let reply = LoginReply {
        token: "t0k3n".into(),
        passkey: "pAsSkEy".into(),
        username: "alice".into(),
        session_ttl_secs: 1,
    };
    let shown = format!("{reply:?}");
    assert!(shown.contains("alice") && !shown.contains("t0k3n") && !shown.contains("pAsSkEy"));
    let shown = format!(
        "{:?}",
        PasswordChange {
            old: "old-secret".into(),
            new: "new-secret".into()
        }
    );
    assert!(!shown.contains("secret"), "{shown}");
}
