//! Both stores (issue 16) under the races two trackerd instances on one
//! database would run: the store opened twice on one database (two pools,
//! as two instances hold), and the same change sent through both at once.
//! SQLite serializes writers with its one lock; PostgreSQL must reach the
//! same outcomes through its constraints and row locks. Run on the store
//! under test ([`crate::common::store`]), so both stores pass them.

use std::sync::Arc;

use p2p_proto::api::EventRecord;
use p2p_proto::infohash::InfoHash;
use trackerd::accounts::passkeys::PasskeyKey;
use trackerd::store::community::{
    CatalogRecord, CommunityStore, LoggedEvent, PUBLIC_GROUP, PublishOutcome, SessionOutcome,
};

use crate::common::api::*;
use crate::common::{make_torrent, start, store};

/// Two handles on one fresh database of the store under test.
async fn two_handles(dir: &std::path::Path) -> [Arc<dyn CommunityStore>; 2] {
    let url = store::database_url(dir)
        .unwrap_or_else(|| format!("sqlite://{}/trackerd.sqlite", dir.display()));
    let a = trackerd::store::open(&url).await.unwrap();
    let b = trackerd::store::open(&url).await.unwrap();
    let handles = [a.community(), b.community()];
    // Connections are opened on demand: open them before the race, or
    // the first request runs alone while the others still connect.
    let warm: Vec<_> = (0..16)
        .map(|i| {
            let s = handles[i % 2].clone();
            tokio::spawn(async move { s.online(0).await.unwrap() })
        })
        .collect();
    for w in warm {
        w.await.unwrap();
    }
    handles
}

async fn new_user(s: &Arc<dyn CommunityStore>, name: &str, n: u8) -> i64 {
    let passkey = PasskeyKey::ephemeral().seal(&format!("{n:02x}").repeat(16));
    s.create_user(name, "hash", &passkey, 1)
        .await
        .unwrap()
        .unwrap()
}

fn entry(h: InfoHash, group_id: i64, name: &str) -> CatalogRecord {
    CatalogRecord {
        info_hash: h,
        group_id,
        group_name: None,
        name: name.to_owned(),
        total_length: 1,
        piece_length: 16384,
        file_count: 1,
        private: group_id != PUBLIC_GROUP,
        source: None,
        publisher_id: 1,
        publisher: String::new(),
        added_at: 1,
        metainfo: vec![1, 2, 3],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_name_registered_at_once_through_two_handles_gives_one_account() {
    let dir = tempfile::tempdir().unwrap();
    let stores = two_handles(dir.path()).await;
    let tries = (0..8u8)
        .map(|i| {
            let s = stores[usize::from(i % 2)].clone();
            tokio::spawn(async move {
                let passkey = PasskeyKey::ephemeral().seal(&format!("{i:02x}").repeat(16));
                s.create_user("popular", "hash", &passkey, 1).await.unwrap()
            })
        })
        .collect::<Vec<_>>();
    let mut created = Vec::new();
    for t in tries {
        created.extend(t.await.unwrap());
    }
    assert_eq!(
        created.len(),
        1,
        "one account, the others told the name is taken"
    );
    let user = stores[1].user_by_name("popular").await.unwrap().unwrap();
    assert_eq!(user.id, created[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logins_of_one_user_at_once_give_one_session_and_the_others_busy() {
    let dir = tempfile::tempdir().unwrap();
    let stores = two_handles(dir.path()).await;
    let alice = new_user(&stores[0], "alice", 1).await;
    let tries = (0..8u8)
        .map(|i| {
            let s = stores[usize::from(i % 2)].clone();
            tokio::spawn(async move {
                let token = format!("{i:02x}").repeat(32);
                let address = format!("10.0.0.{i}");
                s.open_session(alice, &token, &address, 100, 0, false)
                    .await
                    .unwrap()
            })
        })
        .collect::<Vec<_>>();
    let mut outcomes = Vec::new();
    for t in tries {
        outcomes.push(t.await.unwrap());
    }
    let created = outcomes
        .iter()
        .filter(|o| **o == SessionOutcome::Created)
        .count();
    assert_eq!(created, 1, "{outcomes:?}");
    let online = stores[1].online(0).await.unwrap();
    assert_eq!(online.len(), 1, "one live session");
    let winner = &online[0].address;
    for o in &outcomes {
        if let SessionOutcome::Busy { address, since } = o {
            assert_eq!(
                (address, *since),
                (winner, 100),
                "the busy ones name the winner"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_info_hash_published_at_once_into_several_scopes_has_one_owner() {
    let dir = tempfile::tempdir().unwrap();
    let stores = two_handles(dir.path()).await;
    let h = InfoHash([7; 20]);
    // The public catalog and groups 5 to 9, each tried twice.
    let scopes: Vec<i64> = [PUBLIC_GROUP, 5, 6, 7, 8, 9].repeat(2);
    let tries = scopes
        .iter()
        .enumerate()
        .map(|(i, &g)| {
            let s = stores[i % 2].clone();
            tokio::spawn(async move { (g, s.publish(&entry(h, g, "race")).await.unwrap()) })
        })
        .collect::<Vec<_>>();
    let mut outcomes = Vec::new();
    for t in tries {
        outcomes.push(t.await.unwrap());
    }
    let winners: Vec<i64> = outcomes
        .iter()
        .filter(|(_, o)| *o == PublishOutcome::Published)
        .map(|(g, _)| *g)
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    let owner = winners[0];
    for (g, o) in &outcomes {
        match o {
            PublishOutcome::Published => {}
            PublishOutcome::AlreadyHere => assert_eq!(*g, owner, "{outcomes:?}"),
            PublishOutcome::OwnedElsewhere { public } => {
                assert_ne!(*g, owner);
                assert_eq!(*public, owner == PUBLIC_GROUP, "{outcomes:?}");
            }
        }
    }
    let entries = stores[0].entries(h).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].group_id, owner);
    let owners = stores[1].owners().await.unwrap();
    assert_eq!(owners, vec![(h, owner)], "one owner recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_written_at_once_are_read_in_id_order_with_none_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let stores = two_handles(dir.path()).await;
    const WRITERS: usize = 6;
    const EACH: usize = 25;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let s = stores[w % 2].clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for n in 0..EACH {
                    let e = LoggedEvent {
                        record: EventRecord {
                            id: 0,
                            at: 1,
                            kind: "test".into(),
                            username: None,
                            group: None,
                            info_hash: None,
                            detail: format!("w{w} n{n}"),
                        },
                        group_id: None,
                    };
                    ids.push(s.add_event(&e).await.unwrap());
                }
                ids
            })
        })
        .collect();
    // A reader that resumes after the last id it saw, as an event stream
    // does, while the writers run: it must never pass over an id that
    // commits later. One last read once they are done.
    let reader = stores[1].clone();
    let mut seen: Vec<i64> = Vec::new();
    let mut done = false;
    while !done {
        done = writers.iter().all(|w| w.is_finished());
        let after = seen.last().copied().unwrap_or(0);
        let batch = reader.events_after(after, 1000).await.unwrap();
        seen.extend(batch.iter().map(|e| e.record.id));
        tokio::task::yield_now().await;
    }
    let mut written = Vec::new();
    for w in writers {
        written.extend(w.await.unwrap());
    }
    written.sort_unstable();
    assert_eq!(seen, written, "every event once, in id order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_name_with_a_nul_is_stored_and_found_again_on_either_store() {
    let dir = tempfile::tempdir().unwrap();
    let stores = two_handles(dir.path()).await;
    let h = InfoHash([9; 20]);
    let outcome = stores[0]
        .publish(&entry(h, PUBLIC_GROUP, "a\0b"))
        .await
        .unwrap();
    assert_eq!(outcome, PublishOutcome::Published);
    let found = stores[1].search("a\0b", &[PUBLIC_GROUP], 10).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].info_hash, h);
    assert!(stores[1].user_by_name("team\0").await.unwrap().is_none());
    assert!(stores[1].group("team\0").await.unwrap().is_none());
}

#[tokio::test]
async fn search_folds_ascii_case_and_takes_wildcards_literally() {
    let s = start(|_| {}).await;
    let (alice, _) = user(s.addr, "alice").await;
    for name in ["Ubuntu Server.iso", "ubuntu_desktop 100%.iso", "Debian.iso"] {
        let (bytes, _) = make_torrent(s.dir.path(), name, 1000, "http://x/announce");
        let r = request(
            s.addr,
            "POST",
            "/api/v1/public/torrents",
            Some(&alice),
            &bytes,
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let names = |q: &'static str| {
        let alice = alice.clone();
        let addr = s.addr;
        async move {
            let path = format!(
                "/api/v1/search?q={}",
                p2p_proto::tracker::percent_encode(q.as_bytes())
            );
            let r = get_auth(addr, &path, &alice).await;
            assert_eq!(r.status, 200, "{}", r.text());
            let mut names: Vec<String> = r.json()["torrents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned())
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(
        names("UBUNTU").await,
        ["Ubuntu Server.iso", "ubuntu_desktop 100%.iso"]
    );
    assert_eq!(names("sErVeR").await, ["Ubuntu Server.iso"]);
    assert_eq!(
        names("_").await,
        ["ubuntu_desktop 100%.iso"],
        "_ is no wildcard"
    );
    assert_eq!(
        names("%").await,
        ["ubuntu_desktop 100%.iso"],
        "% is no wildcard"
    );
    assert!(names("ubuntu%server").await.is_empty());
}
