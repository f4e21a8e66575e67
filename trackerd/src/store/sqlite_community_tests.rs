//! Store-level tests of [`super::sqlite_community`]: sessions (one per
//! user, takeover, expiry), ownership passing on leave, the unique publish.

use p2p_proto::infohash::InfoHash;

use super::community::{
    CatalogRecord, CommunityStore, LeaveOutcome, PUBLIC_GROUP, PublishOutcome, SessionOutcome,
};
use super::sqlite::SqliteStore;
use crate::accounts::passkeys::PasskeyKey;

async fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/db.sqlite", dir.path().display());
    let s = SqliteStore::open(&url).await.unwrap();
    (dir, s)
}

async fn users(s: &SqliteStore, names: &[&str]) -> Vec<i64> {
    let mut ids = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let pk = PasskeyKey::ephemeral().seal(&format!("{i:032}"));
        ids.push(s.create_user(n, "hash", &pk, 1).await.unwrap().unwrap());
    }
    ids
}

#[tokio::test]
async fn one_session_per_user_with_takeover_and_expiry() {
    let (_d, s) = store().await;
    let ids = users(&s, &["alice"]).await;
    assert_eq!(
        s.create_user(
            "alice",
            "h",
            &PasskeyKey::ephemeral().seal(&"f".repeat(32)),
            1
        )
        .await
        .unwrap(),
        None
    );
    let a = "a".repeat(64);
    let b = "b".repeat(64);
    assert_eq!(
        s.open_session(ids[0], &a, "10.0.0.1", 100, 0, false)
            .await
            .unwrap(),
        SessionOutcome::Created
    );
    let busy = s
        .open_session(ids[0], &b, "10.0.0.2", 110, 0, false)
        .await
        .unwrap();
    assert_eq!(
        busy,
        SessionOutcome::Busy {
            address: "10.0.0.1".into(),
            since: 100
        }
    );
    assert_eq!(
        s.open_session(ids[0], &b, "10.0.0.2", 110, 0, true)
            .await
            .unwrap(),
        SessionOutcome::Created
    );
    assert!(
        s.touch_session(&a, 120, 0).await.unwrap().is_none(),
        "taken over"
    );
    let live = s.touch_session(&b, 120, 0).await.unwrap().unwrap();
    assert_eq!((live.username.as_str(), live.last_seen), ("alice", 120));
    assert!(
        s.touch_session(&b, 300, 200).await.unwrap().is_none(),
        "expired"
    );
    assert_eq!(s.expire_sessions(200).await.unwrap(), ["alice"]);
    assert!(s.online(0).await.unwrap().is_empty());
}

#[tokio::test]
async fn ownership_passes_to_the_longest_standing_member_and_the_last_one_deletes() {
    let (_d, s) = store().await;
    let ids = users(&s, &["alice", "bob", "carol"]).await;
    let g = s.create_group("team", ids[0], 1).await.unwrap().unwrap();
    assert_eq!(s.create_group("team", ids[1], 1).await.unwrap(), None);
    for (i, uid) in [ids[2], ids[1]].into_iter().enumerate() {
        assert!(s.add_request(g, uid, 2).await.unwrap());
        assert!(!s.add_request(g, uid, 2).await.unwrap(), "asked twice");
        assert!(s.accept_request(g, uid, 3 + i as i64).await.unwrap());
    }
    assert_eq!(
        s.leave_group(g, ids[0]).await.unwrap(),
        LeaveOutcome::OwnerPassed("carol".into())
    );
    assert_eq!(
        s.leave_group(g, ids[0]).await.unwrap(),
        LeaveOutcome::NotMember
    );
    assert_eq!(s.leave_group(g, ids[1]).await.unwrap(), LeaveOutcome::Left);
    assert_eq!(
        s.leave_group(g, ids[2]).await.unwrap(),
        LeaveOutcome::Deleted
    );
    assert!(s.group("team").await.unwrap().is_none());
}

#[tokio::test]
async fn an_info_hash_has_one_owner_and_a_group_keeps_its_own() {
    let (_d, s) = store().await;
    let ids = users(&s, &["alice"]).await;
    let rec = CatalogRecord {
        info_hash: InfoHash([7; 20]),
        group_id: PUBLIC_GROUP,
        group_name: None,
        name: "Some File".into(),
        total_length: 1,
        piece_length: 16384,
        file_count: 1,
        private: false,
        source: None,
        publisher_id: ids[0],
        publisher: String::new(),
        added_at: 5,
        metainfo: vec![1, 2, 3],
    };
    assert_eq!(s.publish(&rec).await.unwrap(), PublishOutcome::Published);
    assert_eq!(s.publish(&rec).await.unwrap(), PublishOutcome::AlreadyHere);
    let found = s.search("some", &[PUBLIC_GROUP], 10).await.unwrap();
    assert_eq!(found[0].publisher, "alice");
    assert!(found[0].metainfo.is_empty(), "listings leave the bytes out");
    assert_eq!(
        s.entries(rec.info_hash).await.unwrap()[0].metainfo,
        vec![1, 2, 3]
    );
    assert_eq!(s.shared_count(ids[0]).await.unwrap(), 1);
    let g = s.create_group("team", ids[0], 1).await.unwrap().unwrap();
    let in_group = CatalogRecord {
        group_id: g,
        ..rec.clone()
    };
    assert_eq!(
        s.publish(&in_group).await.unwrap(),
        PublishOutcome::OwnedElsewhere { public: true }
    );
    assert!(s.withdraw(rec.info_hash, PUBLIC_GROUP).await.unwrap());
    assert!(s.owners().await.unwrap().is_empty());
    assert_eq!(
        s.publish(&in_group).await.unwrap(),
        PublishOutcome::Published
    );
    assert!(s.withdraw(rec.info_hash, g).await.unwrap());
    // Withdrawn, and still the group's: not public, not another group's.
    assert_eq!(s.owners().await.unwrap(), vec![(rec.info_hash, g)]);
    assert_eq!(
        s.publish(&rec).await.unwrap(),
        PublishOutcome::OwnedElsewhere { public: false }
    );
    assert_eq!(
        s.publish(&in_group).await.unwrap(),
        PublishOutcome::Published
    );
}
