//! Passkeys at rest (issue 12, item 10): the database never holds a
//! passkey in clear (SQLite's files, or PostgreSQL's rows), passkeys keep
//! working after a restart, and a SQLite database written before passkeys
//! were sealed is migrated at start with its passkeys, sessions and
//! memberships intact.

use std::path::Path;

use p2p_proto::tracker::Event;
use sqlx::Row;

use crate::common::api::*;
use crate::common::old_db::database_before;
use crate::common::store;
use crate::common::{hash, passkey_announce, req, start, start_in};

/// Every byte of the database (see [`store::database_contents`]).
fn database_bytes(dir: &Path) -> Vec<u8> {
    let all = store::database_contents(dir);
    assert!(!all.is_empty(), "no database for {}", dir.display());
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Neither the passkey's hex nor its 16 raw bytes are anywhere in the files.
fn assert_not_stored(dir: &Path, passkey: &str) {
    let bytes = database_bytes(dir);
    let raw: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&passkey[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    assert!(!contains(&bytes, passkey.as_bytes()), "{passkey} in clear");
    assert!(!contains(&bytes, &raw), "{passkey} as raw bytes");
}

#[tokio::test]
async fn passkeys_never_reach_the_database_files_and_still_work_after_a_restart() {
    let s = start(|_| {}).await;
    let (_, alice) = user(s.addr, "alice").await;
    let (_, bob) = user(s.addr, "bob").await;
    let ok = passkey_announce(s.addr, &alice, &req(hash(1), 1, 7001, 0, Event::Started)).await;
    assert!(ok.announce().peers.is_empty());
    let dir = s.stop().await;
    for pk in [&alice, &bob] {
        assert_not_stored(dir.path(), pk);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = store::passkey_key_file(dir.path());
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the key file is the owner's only");
    }
    let s = start_in(dir, "127.0.0.1:0", |_| {}).await;
    let ok = passkey_announce(s.addr, &alice, &req(hash(1), 1, 7001, 0, Event::Started)).await;
    assert!(ok.announce().peers.is_empty());
    let r = passkey_announce(s.addr, &bob, &req(hash(1), 2, 7002, 100, Event::Started)).await;
    assert_eq!(
        r.announce().peers.len(),
        1,
        "alice's peer, found with bob's passkey"
    );
    // The session survived the restart too: take it over.
    let r = post_json(
        s.addr,
        "/api/v1/login",
        None,
        serde_json::json!({ "username": "alice", "password": PASSWORD, "takeover": true }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let (token, again) = (
        r.json()["token"].as_str().unwrap().to_owned(),
        r.json()["passkey"].as_str().unwrap().to_owned(),
    );
    assert_eq!(again, alice, "the same passkey after a restart");
    let whoami = get_auth(s.addr, "/api/v1/whoami", &token).await.json();
    assert_eq!(whoami["passkey"], alice.as_str());
}

#[tokio::test]
async fn without_its_key_file_the_database_is_refused_rather_than_passkeys_changed() {
    let s = start(|_| {}).await;
    user(s.addr, "alice").await;
    let dir = s.stop().await;
    std::fs::remove_file(store::passkey_key_file(dir.path())).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = crate::common::test_config(dir.path());
    let token = tokio_util::sync::CancellationToken::new();
    let e = trackerd::server::start(config, listener, token)
        .await
        .unwrap_err();
    assert!(
        format!("{e:#}").contains("passkey key file is not the one this database was written with"),
        "{e:#}"
    );
}

const OLD_PASSKEY: &str = "00112233445566778899aabbccddeeff";

/// A database as trackerd wrote it before migration 0003: a user with a
/// clear passkey, a group with that user in it and a live session.
async fn old_database(dir: &Path) {
    let rows = format!(
        "INSERT INTO users (id, username, password_hash, passkey, created_at) \
             VALUES (7, 'olduser', 'x', '{OLD_PASSKEY}', 1);
         INSERT INTO groups (id, name, owner_id, created_at) VALUES (3, 'oldgroup', 7, 1);
         INSERT INTO group_members (group_id, user_id, joined_at, seq) VALUES (3, 7, 1, 1);
         INSERT INTO sessions (user_id, token_hash, address, created_at, last_seen) \
             VALUES (7, '{}', '127.0.0.1', 1, 4000000000);",
        "a".repeat(64)
    );
    database_before(dir, 3, &rows).await;
}

#[tokio::test]
async fn a_database_with_clear_passkeys_is_migrated_and_its_passkeys_keep_working() {
    // SQLite-only: the fixture is a SQLite file as trackerd wrote it before
    // migration 0003; no PostgreSQL database predates sealed passkeys.
    if store::sqlite_only("a_database_with_clear_passkeys_is_migrated") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    old_database(dir.path()).await;
    let s = start_in(dir, "127.0.0.1:0", |_| {}).await;
    let r = passkey_announce(
        s.addr,
        OLD_PASSKEY,
        &req(hash(2), 1, 7001, 0, Event::Started),
    )
    .await;
    assert!(
        r.announce().peers.is_empty(),
        "the old passkey still announces"
    );
    let dir = s.stop().await;
    assert_not_stored(dir.path(), OLD_PASSKEY);
    let url = format!("sqlite://{}/trackerd.sqlite", dir.path().display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let row = sqlx::query(
        "SELECT (SELECT count(*) FROM group_members) AS members, \
         (SELECT count(*) FROM sessions) AS sessions, \
         (SELECT count(*) FROM users WHERE legacy_passkey IS NOT NULL) AS clear",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let counts: (i64, i64, i64) = (row.get("members"), row.get("sessions"), row.get("clear"));
    assert_eq!(
        counts,
        (1, 1, 0),
        "nothing cascaded away; no clear passkey left"
    );
    pool.close().await;
}
