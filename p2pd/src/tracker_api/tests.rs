//! The tracker API client against a canned one-request server.

#![allow(clippy::unwrap_used)]

use p2p_proto::api::{ApiErrorCode, RegisterRequest, StreamEvent};
use p2p_proto::infohash::InfoHash;

use super::*;
use crate::test_http::{response, serve_once};

fn alice() -> RegisterRequest {
    RegisterRequest {
        username: "alice".into(),
        password: "pw".into(),
    }
}

fn client(base: &str) -> TrackerApi {
    TrackerApi::new(crate::http_client::build(None).unwrap(), base).unwrap()
}

#[test]
fn only_the_origin_of_the_tracker_url_is_kept() {
    let http = crate::http_client::build(None).unwrap();
    let api = TrackerApi::new(http.clone(), "https://t.example:8443/announce?x=1").unwrap();
    assert_eq!(api.base(), "https://t.example:8443");
    let api = TrackerApi::new(http.clone(), "http://127.0.0.1/announce").unwrap();
    assert_eq!(api.base(), "http://127.0.0.1");
    for bad in ["udp://t:1/announce", "not a url", "file:///x"] {
        assert!(
            matches!(
                TrackerApi::new(http.clone(), bad),
                Err(TrackerApiError::BadUrl(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn path_segments_cannot_add_segments_or_a_query() {
    assert_eq!(segment("team"), "team");
    assert_eq!(segment("a/b?c=d&e"), "a%2Fb%3Fc%3Dd%26e");
    assert_eq!(segment("x y"), "x%20y");
}

#[tokio::test]
async fn a_refusal_keeps_its_status_as_a_number_and_its_error_body() {
    let body = br#"{"error":{"code":"conflict","message":"alice is taken"}}"#;
    let server = serve_once(vec![response("409 Conflict", "application/json", body)]).await;
    let err = client(&server.base()).register(&alice()).await.unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert_eq!(err.to_string(), "alice is taken");
    let TrackerApiError::Status {
        body: Some(body), ..
    } = err
    else {
        panic!("no error body")
    };
    assert_eq!(body.error.code, ApiErrorCode::Conflict);
    let request = String::from_utf8(server.request().await).unwrap();
    assert!(
        request.starts_with("POST /api/v1/register HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(
        request.to_ascii_lowercase().contains("user-agent: p2p/"),
        "{request}"
    );
}

#[tokio::test]
async fn a_refusal_without_a_json_body_still_has_its_status() {
    let server = serve_once(vec![response("502 Bad Gateway", "text/plain", b"oops")]).await;
    let err = client(&server.base()).groups("tok").await.unwrap_err();
    assert!(
        matches!(
            err,
            TrackerApiError::Status {
                status: 502,
                body: None
            }
        ),
        "{err:?}"
    );
    let request = String::from_utf8(server.request().await).unwrap();
    assert!(
        request.contains("authorization: Bearer tok")
            || request.contains("Authorization: Bearer tok"),
        "{request}"
    );
}

#[tokio::test]
async fn an_answer_over_the_cap_is_refused() {
    let big = vec![b'x'; MAX_REPLY_BYTES + 1];
    let server = serve_once(vec![response("200 OK", "application/json", &big)]).await;
    let err = client(&server.base())
        .catalog("tok", None)
        .await
        .unwrap_err();
    assert!(matches!(err, TrackerApiError::TooLarge(_)), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_tracker_is_a_transport_error() {
    let err = client("http://127.0.0.1:1")
        .groups("tok")
        .await
        .unwrap_err();
    assert!(matches!(err, TrackerApiError::Transport(_)), "{err:?}");
    assert!(err.to_string().starts_with("tracker unreachable"), "{err}");
}

#[tokio::test]
async fn session_stream_events_arrive_whole_however_the_bytes_are_split() {
    let head =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n".to_vec();
    let body = b": keep-alive\n\nevent: hello\ndata: {\"username\":\"alice\",\"session_ttl_secs\":60}\n\nevent: renewed\r\ndata: {\"at\":5}\r\n\r\nevent: shutdown\ndata: {\"reason\":\"bye\"}\n\n";
    let mut pieces = vec![head];
    pieces.extend(body.chunks(3).map(<[u8]>::to_vec));
    let server = serve_once(pieces).await;
    let mut stream = client(&server.base()).session_stream("tok").await.unwrap();
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event.unwrap());
    }
    let names: Vec<&str> = events.iter().map(StreamEvent::name).collect();
    assert_eq!(names, ["hello", "renewed", "shutdown"]);
    assert!(matches!(&events[1], StreamEvent::Renewed(r) if r.at == 5));
    assert!(matches!(&events[2], StreamEvent::Shutdown(s) if s.reason == "bye"));
    let request = String::from_utf8(server.request().await).unwrap();
    assert!(
        request.starts_with("GET /api/v1/session/stream "),
        "{request}"
    );
}

#[tokio::test]
async fn a_refused_token_on_the_session_stream_is_a_401() {
    let body = br#"{"error":{"code":"unauthenticated","message":"log in first"}}"#;
    let server = serve_once(vec![response("401 Unauthorized", "application/json", body)]).await;
    let err = client(&server.base())
        .session_stream("old")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401), "{err:?}");
}

#[tokio::test]
async fn an_unknown_stream_event_is_skipped_and_bad_data_is_an_error() {
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n".to_vec();
    let body =
        b"event: from_the_future\ndata: {}\n\nevent: lagged\ndata: {\"missed\":\"many\"}\n\n"
            .to_vec();
    let server = serve_once(vec![head, body]).await;
    let mut stream = client(&server.base()).session_stream("tok").await.unwrap();
    let err = stream.next().await.unwrap().unwrap_err();
    assert!(matches!(err, TrackerApiError::Decode(_)), "{err:?}");
    assert!(err.to_string().contains("lagged"), "{err}");
}

#[tokio::test]
async fn a_publish_sends_the_raw_torrent_and_reads_the_entry() {
    let entry = format!(
        r#"{{"info_hash":"{}","name":"a.bin","group":"team","total_length":3,"piece_length":16384,"file_count":1,"private":true,"source":"team","publisher":"alice","added_at":1}}"#,
        "ab".repeat(20)
    );
    let server = serve_once(vec![response(
        "201 Created",
        "application/json",
        entry.as_bytes(),
    )])
    .await;
    let got = client(&server.base())
        .publish("tok", Some("a team"), b"d4:infod4:name5:a.binee")
        .await
        .unwrap();
    assert_eq!(got.info_hash, InfoHash([0xab; 20]));
    let request = String::from_utf8(server.request().await).unwrap();
    assert!(
        request.starts_with("POST /api/v1/groups/a%20team/torrents HTTP/1.1"),
        "{request}"
    );
    assert!(request.contains("application/x-bittorrent"), "{request}");
    assert!(request.ends_with("d4:infod4:name5:a.binee"), "{request}");
}

#[tokio::test]
async fn an_answer_of_the_wrong_shape_is_a_decode_error() {
    let server = serve_once(vec![response(
        "200 OK",
        "application/json",
        br#"{"token":1}"#,
    )])
    .await;
    let err = client(&server.base())
        .login(&p2p_proto::api::LoginRequest {
            username: "alice".into(),
            password: "pw".into(),
            takeover: false,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, TrackerApiError::Decode(_)), "{err:?}");
}

/// A loopback address nothing listens on: connections to it are refused.
async fn refusing_addr() -> std::net::SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

#[tokio::test]
async fn a_call_an_instance_refuses_to_connect_goes_to_the_next_one_which_is_used_from_then_on() {
    let down = refusing_addr().await;
    let body = br#"{"error":{"code":"conflict","message":"alice is taken"}}"#;
    let up = serve_once(vec![response("409 Conflict", "application/json", body)]).await;
    let api = TrackerApi::with_instances(
        crate::http_client::build(None).unwrap(),
        &[
            format!("http://{down}/announce"),
            format!("{}/announce", up.base()),
        ],
    )
    .unwrap();
    assert_eq!(
        (api.instances(), api.base()),
        (2, format!("http://{down}").as_str())
    );
    // A refusal is an answer: it comes back as it is, from the live instance.
    let err = api.register(&alice()).await.unwrap_err();
    assert_eq!(err.to_string(), "alice is taken");
    let live = up.base();
    assert_eq!(api.base(), live);
    // Clones share the instance in use.
    assert_eq!(api.clone().base(), live);
    let request = String::from_utf8(up.request().await).unwrap();
    assert!(request.starts_with("POST /api/v1/register "), "{request}");
}

#[tokio::test]
async fn when_no_instance_answers_the_error_is_the_last_ones_and_the_instance_in_use_stays() {
    let (a, b) = (refusing_addr().await, refusing_addr().await);
    let api = TrackerApi::with_instances(
        crate::http_client::build(None).unwrap(),
        &[format!("http://{a}"), format!("http://{b}")],
    )
    .unwrap();
    let err = api.groups("tok").await.unwrap_err();
    assert!(
        matches!(&err, TrackerApiError::Transport(e) if e.is_connect()),
        "{err:?}"
    );
    assert_eq!(api.base(), format!("http://{a}"));
}

#[test]
fn leaving_an_instance_that_shuts_down_moves_once_to_the_next_and_one_instance_has_nowhere_to_go() {
    let http = crate::http_client::build(None).unwrap();
    let api = TrackerApi::with_instances(
        http.clone(),
        &["http://a/announce", "http://b/announce", "http://a/x"],
    )
    .unwrap();
    assert_eq!(api.instances(), 2, "one origin counts once");
    assert_eq!(api.leave("http://a"), Some("http://b"));
    // A second stream told the same thing does not move it further.
    assert_eq!(api.leave("http://a"), Some("http://b"));
    assert_eq!(api.leave("http://b"), Some("http://a"));
    assert_eq!(api.leave("http://elsewhere"), None);
    let one = TrackerApi::new(http, "http://a/announce").unwrap();
    assert_eq!(one.leave("http://a"), None);
}
