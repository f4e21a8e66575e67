//! Catalog mode, torrent registration, the JSON API, health, metrics, and
//! counters that survive a restart (in process; the binary test does kill -9).

use crate::common::*;
use p2p_proto::tracker::{Event, ScrapeResponse};

#[tokio::test]
async fn catalog_mode_refuses_unregistered_torrents_and_accepts_registered_ones() {
    let s = start(|c| c.mode = trackerd::config::Mode::Catalog).await;
    let (bytes, h) = make_torrent(s.dir.path(), "a.bin", 40_000, "http://x/announce");
    let refused = announce(s.addr, &req(h, 1, 1001, 0, Event::Started))
        .await
        .failure();
    assert_eq!(
        refused,
        format!("torrent {} is not registered with this tracker", h.to_hex())
    );
    let sc = ScrapeResponse::from_bytes(&get(s.addr, &scrape_target(&[h])).await.body).unwrap();
    assert!(
        sc.files.is_empty(),
        "unregistered torrents are left out of scrapes"
    );

    let r = post(s.addr, "/api/v1/torrents", &bytes).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let j = r.json();
    assert_eq!(j["info_hash"], h.to_hex());
    assert_eq!(j["name"], "a.bin");
    assert_eq!(j["total_length"], 40_000);
    assert_eq!(
        post(s.addr, "/api/v1/torrents", &bytes).await.status,
        200,
        "registering twice is idempotent"
    );

    let ok = announce(s.addr, &req(h, 1, 1001, 0, Event::Started))
        .await
        .announce();
    assert_eq!(ok.complete, 1);
    let sc = ScrapeResponse::from_bytes(&get(s.addr, &scrape_target(&[h])).await.body).unwrap();
    assert_eq!(sc.files[0].1.complete, 1);
}

#[tokio::test]
async fn a_full_scrape_in_catalog_mode_lists_every_registered_torrent() {
    let s = start(|c| {
        c.mode = trackerd::config::Mode::Catalog;
        c.announce.full_scrape = true;
    })
    .await;
    let (a, ha) = make_torrent(s.dir.path(), "a.bin", 1000, "http://x/announce");
    let (b, hb) = make_torrent(s.dir.path(), "b.bin", 2000, "http://x/announce");
    post(s.addr, "/api/v1/torrents", &a).await;
    post(s.addr, "/api/v1/torrents", &b).await;
    announce(s.addr, &req(ha, 1, 1001, 0, Event::Started))
        .await
        .announce();
    let sc = ScrapeResponse::from_bytes(&get(s.addr, "/scrape").await.body).unwrap();
    let mut want = vec![ha, hb];
    want.sort();
    assert_eq!(sc.files.iter().map(|(h, _)| *h).collect::<Vec<_>>(), want);
    let a_stats = sc.files.iter().find(|(h, _)| *h == ha).unwrap().1;
    assert_eq!(a_stats.complete, 1);
}

#[tokio::test]
async fn registering_garbage_is_a_400_with_a_reason() {
    let s = start(|_| {}).await;
    let r = post(s.addr, "/api/v1/torrents", b"d4:spam4:eggse").await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("not a valid .torrent"),
        "{}",
        r.text()
    );
    let r = post(s.addr, "/api/v1/torrents", b"\xff\xfe").await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn registering_needs_the_admin_token_when_one_is_set() {
    let s = start(|c| c.http.admin_token = "sekrit".into()).await;
    let (bytes, _) = make_torrent(s.dir.path(), "a.bin", 1000, "http://x/announce");
    assert_eq!(post(s.addr, "/api/v1/torrents", &bytes).await.status, 403);
    let r = Request::post("/api/v1/torrents", &bytes)
        .bearer(Some("sekrit"))
        .send(s.addr)
        .await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn oversized_torrent_uploads_are_refused() {
    let s = start(|c| c.http.max_torrent_bytes = 1000).await;
    let r = post(s.addr, "/api/v1/torrents", &vec![b'x'; 5000]).await;
    assert_eq!(r.status, 413);
}

#[tokio::test]
async fn the_torrent_api_lists_and_shows_torrents_with_live_counts() {
    let s = start(|_| {}).await;
    let (bytes, h) = make_torrent(s.dir.path(), "b.bin", 1000, "http://x/announce");
    post(s.addr, "/api/v1/torrents", &bytes).await;
    announce(s.addr, &req(h, 1, 1001, 5, Event::Started)).await;
    announce(s.addr, &req(h, 2, 1002, 0, Event::Completed)).await;

    let list = get(s.addr, "/api/v1/torrents").await.json();
    let items = list["torrents"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["leechers"], 1);
    assert_eq!(items[0]["seeders"], 1);
    assert_eq!(items[0]["completed"], 1);
    assert_eq!(items[0]["registered"], true);

    let one = get(s.addr, &format!("/api/v1/torrents/{}", h.to_hex())).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["name"], "b.bin");
    let missing = get(s.addr, &format!("/api/v1/torrents/{}", hash(9).to_hex())).await;
    assert_eq!(missing.status, 404);
    assert_eq!(get(s.addr, "/api/v1/torrents/xyz").await.status, 400);

    // An unregistered torrent with a swarm (open mode) is shown too.
    announce(s.addr, &req(hash(3), 1, 1001, 5, Event::Started)).await;
    let open = get(s.addr, &format!("/api/v1/torrents/{}", hash(3).to_hex()))
        .await
        .json();
    assert_eq!(open["registered"], false);
    assert_eq!(open["leechers"], 1);
}

#[tokio::test]
async fn health_stats_and_metrics_report_the_swarms() {
    let s = start(|_| {}).await;
    announce(s.addr, &req(hash(1), 1, 1001, 0, Event::Started)).await;
    announce(s.addr, &req(hash(1), 2, 1002, 5, Event::Started)).await;
    get(s.addr, "/announce?info_hash=short").await;

    let h = get(s.addr, "/health").await;
    assert_eq!((h.status, h.json()["status"].as_str()), (200, Some("ok")));

    let st = get(s.addr, "/api/v1/stats").await.json();
    assert_eq!(st["torrents"], 1);
    assert_eq!(st["seeders"], 1);
    assert_eq!(st["leechers"], 1);
    assert_eq!(st["announces_total"], 2);
    assert_eq!(st["failures_total"], 1);
    assert!(st["announces_per_second"].is_number());
    assert!(st["uptime_secs"].is_u64());

    let m = get(s.addr, "/metrics").await;
    assert!(m.head.contains("text/plain; version=0.0.4"));
    let text = m.text();
    assert!(
        text.contains("# TYPE trackerd_announces_total counter\ntrackerd_announces_total 2\n"),
        "{text}"
    );
    assert!(text.contains("trackerd_seeders 1\n"));
    assert!(text.contains("trackerd_leechers 1\n"));
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (name, value) = line.split_once(' ').unwrap();
        assert!(name.starts_with("trackerd_"));
        value.parse::<f64>().unwrap();
    }
}

#[tokio::test]
async fn unknown_paths_are_json_404s() {
    let s = start(|_| {}).await;
    let r = get(s.addr, "/nope").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["message"], "no such endpoint");
    assert_eq!(r.json()["error"]["code"], "not_found");
    assert_eq!(post(s.addr, "/announce", b"").await.status, 405);
}

#[tokio::test]
async fn catalog_and_completed_counters_survive_a_graceful_restart() {
    let s = start(|c| c.mode = trackerd::config::Mode::Catalog).await;
    let (bytes, h) = make_torrent(s.dir.path(), "c.bin", 1000, "http://x/announce");
    assert_eq!(post(s.addr, "/api/v1/torrents", &bytes).await.status, 201);
    announce(s.addr, &req(h, 1, 1001, 0, Event::Completed)).await;
    announce(s.addr, &req(h, 2, 1002, 0, Event::Completed)).await;
    let dir = s.stop().await;

    let s = start_in(dir, "127.0.0.1:0", |c| {
        c.mode = trackerd::config::Mode::Catalog
    })
    .await;
    let sc = ScrapeResponse::from_bytes(&get(s.addr, &scrape_target(&[h])).await.body).unwrap();
    assert_eq!(sc.files[0].1.downloaded, 2);
    // SQLite keeps no peers; on PostgreSQL the swarms are shared through
    // the database (issue 16), so a restarted instance finds its last
    // run's peers there until they expire.
    let kept = if store::is_postgres() { 2 } else { 0 };
    assert_eq!(sc.files[0].1.complete, kept, "peers kept by the store");
    let ok = announce(s.addr, &req(h, 3, 1003, 5, Event::Started))
        .await
        .announce();
    assert_eq!(ok.incomplete, 1, "still registered");
}
