//! Per-user quotas (issue 12 item 15): groups owned, catalog entries and
//! bytes of .torrent stored are refused beyond the configured limits with
//! `quota_exceeded`, and the database grows by no more than the bytes quota
//! however large the torrents one user publishes.

use crate::common::api::*;
use crate::common::{TestServer, start};
use serde_json::json;

/// A valid .torrent of `pieces` pieces (20 bytes of hash each) and no
/// data behind it: a large .torrent made without hashing anything.
fn big_torrent(name: &str, pieces: usize) -> Vec<u8> {
    let mut t = format!(
        "d4:infod6:lengthi{}e4:name{}:{name}12:piece lengthi16384e6:pieces{}:",
        pieces * 16384,
        name.len(),
        pieces * 20
    )
    .into_bytes();
    t.extend((0..pieces * 20).map(|i| (i * 31 % 251) as u8));
    t.extend_from_slice(b"ee");
    t
}

async fn publish_public(s: &TestServer, token: &str, bytes: &[u8]) -> crate::common::Reply {
    request(
        s.addr,
        "POST",
        "/api/v1/public/torrents",
        Some(token),
        bytes,
    )
    .await
}

fn database_bytes(dir: &std::path::Path) -> u64 {
    crate::common::store::database_size(dir)
}

#[tokio::test]
async fn groups_and_catalog_entries_beyond_the_quotas_are_refused_by_name() {
    let s = start(|c| {
        c.quotas.max_groups_owned = 2;
        c.quotas.max_catalog_entries = 3;
    })
    .await;
    let (alice, _) = user(s.addr, "alice").await;
    for g in ["g1", "g2"] {
        let r = post_json(s.addr, "/api/v1/groups", Some(&alice), json!({ "name": g })).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let r = post_json(
        s.addr,
        "/api/v1/groups",
        Some(&alice),
        json!({ "name": "g3" }),
    )
    .await;
    assert_eq!(r.status, 403);
    let (code, message) = error(&r);
    assert_eq!(code, "quota_exceeded");
    assert!(message.contains("quotas.max_groups_owned = 2"), "{message}");

    for i in 0..3 {
        let r = publish_public(&s, &alice, &big_torrent(&format!("t{i}"), 1)).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let r = publish_public(&s, &alice, &big_torrent("t3", 1)).await;
    assert_eq!(r.status, 403);
    let (code, message) = error(&r);
    assert_eq!(code, "quota_exceeded");
    assert!(
        message.contains("quotas.max_catalog_entries = 3"),
        "{message}"
    );
    // Publishing one already there again is the usual 409, not the quota.
    let r = publish_public(&s, &alice, &big_torrent("t0", 1)).await;
    assert_eq!(r.status, 409, "{}", r.text());
}

#[tokio::test]
async fn large_publishes_grow_the_database_by_at_most_the_bytes_quota() {
    const QUOTA: u64 = 4 << 20;
    const PIECES: usize = 50_000; // a 1 MB .torrent
    let s = start(|c| c.quotas.max_torrent_bytes_stored = QUOTA).await;
    let (alice, _) = user(s.addr, "alice").await;
    let before = database_bytes(s.dir.path());
    let mut published = 0u64;
    let mut refused = None;
    for i in 0..20 {
        let bytes = big_torrent(&format!("big{i}"), PIECES);
        let r = publish_public(&s, &alice, &bytes).await;
        if r.status == 201 {
            published += bytes.len() as u64;
            continue;
        }
        refused = Some(error(&r));
        break;
    }
    let (code, message) = refused.expect("the bytes quota refused a publish");
    assert_eq!(code, "quota_exceeded");
    assert!(
        message.contains("quotas.max_torrent_bytes_stored"),
        "{message}"
    );
    let grown = database_bytes(s.dir.path()).saturating_sub(before);
    println!(
        "database grew by {grown} bytes for {published} bytes of .torrent accepted \
         (quota {QUOTA} bytes)"
    );
    assert!(published <= QUOTA);
    // Pages, the WAL (SQLite) and TOAST (PostgreSQL) add overhead; the
    // bound is structural: a small multiple of the quota, nowhere near the
    // 20 MB published.
    assert!(grown <= 3 * QUOTA, "grew {grown} bytes");
}
