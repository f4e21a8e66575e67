use serde_json::json;

use super::*;

mod piece_map;
mod wire;

#[test]
fn requests_have_the_documented_wire_form() {
    let r: RequestFrame = serde_json::from_str(r#"{"id":1,"cmd":"status"}"#).unwrap();
    assert_eq!(
        r,
        RequestFrame {
            id: 1,
            request: Request::Status
        }
    );
    let r: RequestFrame =
        serde_json::from_str(r#"{"id":2,"cmd":"remove","args":{"id":"3f2a","delete_data":true}}"#)
            .unwrap();
    assert_eq!(
        r.request,
        Request::Remove {
            id: "3f2a".into(),
            delete_data: true
        }
    );
    let r: RequestFrame =
        serde_json::from_str(r#"{"id":3,"cmd":"add","args":{"source":"/x.torrent"}}"#).unwrap();
    assert_eq!(
        r.request,
        Request::Add {
            source: "/x.torrent".into(),
            to: None,
            paused: false,
            files: None,
            sequential: false,
        }
    );
    let line = encode_frame(&RequestFrame {
        id: 9,
        request: Request::Pause { id: "ab".into() },
    });
    assert_eq!(
        line,
        b"{\"id\":9,\"cmd\":\"pause\",\"args\":{\"id\":\"ab\"}}\n"
    );
}

#[test]
fn unknown_commands_and_missing_fields_are_errors() {
    assert!(serde_json::from_str::<RequestFrame>(r#"{"id":1,"cmd":"explode"}"#).is_err());
    assert!(serde_json::from_str::<RequestFrame>(r#"{"id":1,"cmd":"pause"}"#).is_err());
    assert!(serde_json::from_str::<RequestFrame>(r#"{"cmd":"status"}"#).is_err());
}

#[test]
fn replies_carry_ok_or_error() {
    let ok = ReplyFrame {
        id: 4,
        body: ReplyBody::Ok(Response::Shared(ShareInfo {
            placed_at: "/s/a".into(),
        })),
    };
    let line = String::from_utf8(encode_frame(&ok)).unwrap();
    assert_eq!(line, "{\"id\":4,\"ok\":{\"placed_at\":\"/s/a\"}}\n");
    let share = Request::Share {
        path: "/a".into(),
        group: None,
    };
    assert_eq!(ReplyFrame::decode(line.trim(), &share).unwrap(), ok);
    let err = ReplyFrame {
        id: 5,
        body: ReplyBody::Error(IpcError::new(ErrorCode::NotFound, "no torrent matches ab")),
    };
    let v = serde_json::to_value(&err).unwrap();
    assert_eq!(
        v,
        json!({"id":5,"error":{"code":"not_found","message":"no torrent matches ab"}})
    );
    assert_eq!(
        ReplyFrame::decode(&v.to_string(), &Request::Status).unwrap(),
        err
    );
}

#[test]
fn a_reply_of_the_wrong_shape_names_the_command() {
    let e =
        ReplyFrame::decode(r#"{"id":1,"ok":{"placed_at":"/x"}}"#, &Request::Status).unwrap_err();
    assert!(e.to_string().contains("reply to status"), "{e}");
    assert!(matches!(
        ReplyFrame::decode(r#"{"id":1}"#, &Request::Status),
        Err(ReplyDecodeError::Neither)
    ));
    assert!(ReplyFrame::decode("garbage", &Request::Status).is_err());
}

#[test]
fn events_are_tagged_by_type() {
    let e = EventFrame {
        event: Event::LoggedOut {
            reason: "tracker shut down".into(),
        },
    };
    assert_eq!(
        serde_json::to_value(&e).unwrap(),
        json!({"event":{"type":"logged_out","reason":"tracker shut down"}})
    );
}

#[test]
fn frames_split_anywhere_come_out_whole() {
    let stream = b"{\"a\":1}\n{\"b\":2}\r\n{\"c\"";
    for cut in 0..stream.len() {
        let mut r = FrameReader::new();
        r.push(&stream[..cut]);
        let mut got = Vec::new();
        while let Some(f) = r.next_frame().unwrap() {
            got.push(f);
        }
        r.push(&stream[cut..]);
        while let Some(f) = r.next_frame().unwrap() {
            got.push(f);
        }
        assert_eq!(got, ["{\"a\":1}", "{\"b\":2}"], "cut at {cut}");
        assert_eq!(r.pending(), 4);
    }
}

#[test]
fn oversized_and_non_utf8_frames_are_refused() {
    let mut r = FrameReader::with_limit(8);
    r.push(b"123456789");
    assert_eq!(r.next_frame(), Err(FrameError::TooLong { max: 8 }));
    let mut r = FrameReader::with_limit(8);
    r.push(b"123456789\n");
    assert_eq!(r.next_frame(), Err(FrameError::TooLong { max: 8 }));
    let mut r = FrameReader::new();
    r.push(b"\xff\xfe\n");
    assert_eq!(r.next_frame(), Err(FrameError::NotUtf8));
}

#[test]
fn the_windows_pipe_is_per_user_with_a_safe_name_and_shared_by_the_service() {
    let env = |k: &str| (k == "USERNAME").then(|| "Al Ice\\x".to_string());
    assert_eq!(windows_pipe_name(false, env), r"\\.\pipe\p2pd-Al_Ice_x");
    assert_eq!(windows_pipe_name(false, |_| None), r"\\.\pipe\p2pd-user");
    assert_eq!(windows_pipe_name(true, env), r"\\.\pipe\p2pd");
}

#[cfg(unix)]
#[test]
fn the_default_socket_follows_xdg_runtime_dir_then_tmp() {
    let env = |k: &str| match k {
        "XDG_RUNTIME_DIR" => Some("/run/user/1000".to_string()),
        _ => None,
    };
    assert_eq!(
        default_socket_path(false, env),
        std::path::PathBuf::from("/run/user/1000/p2pd/p2pd.sock")
    );
    let env = |k: &str| (k == "USER").then(|| "al/ice".to_string());
    assert_eq!(
        default_socket_path(false, env),
        std::path::PathBuf::from("/tmp/p2pd-al_ice/p2pd.sock")
    );
    assert_eq!(
        default_socket_path(true, |_| None),
        std::path::PathBuf::from("/run/p2pd/p2pd.sock")
    );
}

#[test]
fn debug_output_never_shows_a_password() {
    let r = Request::Login {
        user: "alice".into(),
        password: "hunter2".into(),
        force: false,
    };
    let shown = format!("{r:?}");
    assert!(
        shown.contains("alice") && !shown.contains("hunter2"),
        "{shown}"
    );
}

#[test]
fn group_and_catalog_requests_have_the_documented_wire_form() {
    let r: RequestFrame = serde_json::from_str(
        r#"{"id":7,"cmd":"group_accept","args":{"name":"team","user":"bob"}}"#,
    )
    .unwrap();
    assert_eq!(
        r.request,
        Request::GroupAccept {
            name: "team".into(),
            user: "bob".into()
        }
    );
    assert_eq!(r.request.name(), "group_accept");
    let r: RequestFrame = serde_json::from_str(r#"{"id":8,"cmd":"group_list"}"#).unwrap();
    assert_eq!(r.request, Request::GroupList);
    let r: RequestFrame = serde_json::from_str(r#"{"id":9,"cmd":"files","args":{}}"#).unwrap();
    assert_eq!(r.request, Request::Files { group: None });
    let line = encode_frame(&RequestFrame {
        id: 10,
        request: Request::Events {
            after: Some(3),
            limit: None,
        },
    });
    assert_eq!(
        line,
        b"{\"id\":10,\"cmd\":\"events\",\"args\":{\"after\":3,\"limit\":null}}\n"
    );
    let line = encode_frame(&RequestFrame {
        id: 11,
        request: Request::Search {
            term: "song".into(),
        },
    });
    assert_eq!(
        line,
        b"{\"id\":11,\"cmd\":\"search\",\"args\":{\"term\":\"song\"}}\n"
    );
}
