//! Symbolic links against the engine's files: a link planted in a download
//! folder must not redirect a torrent's writes, and a seeded file swapped
//! for a link must not have the link's target served.

#![cfg(target_os = "linux")]

use std::fs;
use std::os::unix::fs::symlink;

use p2pd::engine::{EngineEvent, TorrentState};
use tokio_util::sync::CancellationToken;

use crate::engine::{add, data, engine, make_torrent, next_event, seed};

/// The engine's next `Failed` event (other events are skipped).
async fn failure(rx: &mut tokio::sync::broadcast::Receiver<EngineEvent>) -> String {
    loop {
        if let EngineEvent::Failed { message, .. } = next_event(rx).await {
            return message;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_planted_in_a_download_folder_are_refused_and_their_targets_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let seed_dir = dir.path().join("seed");
    let file_link = make_torrent(
        &seed_dir,
        "pack",
        &[("a.bin", 70_000), ("b.bin", 50_000)],
        16384,
    );
    let dir_link = make_torrent(&seed_dir, "other", &[("c.bin", 40_000)], 16384);
    let outside = dir.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("victim"), b"precious").unwrap();

    // The attacker could write in the download folder: a link in place of
    // one file of a torrent, and one in place of another torrent's folder.
    let dl = dir.path().join("dl");
    fs::create_dir_all(dl.join("pack")).unwrap();
    symlink(outside.join("victim"), dl.join("pack/b.bin")).unwrap();
    symlink(&outside, dl.join("other")).unwrap();

    let cancel = CancellationToken::new();
    let seeder = engine(&cancel, |_| {}).await;
    let leecher = engine(&cancel, |_| {}).await;
    seed(&seeder, &file_link, &seed_dir).await;
    seed(&seeder, &dir_link, &seed_dir).await;
    let mut events = leecher.subscribe();
    for meta in [&file_link, &dir_link] {
        let ih = leecher
            .add(add(meta, &dl, vec![seeder.listen_addr()]))
            .await
            .unwrap();
        let why = failure(&mut events).await;
        assert!(why.contains("symbolic link"), "{why}");
        let TorrentState::Error(shown) = leecher.stats(ih).unwrap().state else {
            panic!("not in the error state: {:?}", leecher.stats(ih));
        };
        assert_eq!(shown, why);
    }
    assert_eq!(fs::read(outside.join("victim")).unwrap(), b"precious");
    let names: Vec<_> = fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        ["victim"],
        "nothing was created through the folder link"
    );
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_file_swapped_for_a_link_is_not_served_and_the_torrent_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let seed_dir = dir.path().join("seed");
    let meta = make_torrent(
        &seed_dir,
        "pack",
        &[("a.bin", 200_000), ("b.bin", 200_000)],
        16384,
    );
    // A file the seeder's user can read and must not hand out.
    let secret = dir.path().join("secret");
    fs::write(&secret, data(200_000, 99)).unwrap();

    let cancel = CancellationToken::new();
    // One open file at a time: a.bin is opened again after b.bin was read.
    let seeder = engine(&cancel, |c| c.max_open_files = 1).await;
    let leecher = engine(&cancel, |_| {}).await;
    let mut seeder_events = seeder.subscribe();
    seed(&seeder, &meta, &seed_dir).await;
    // Hashed and seeding; now a.bin becomes a link to the secret.
    let a = seed_dir.join("pack/a.bin");
    let swap = seed_dir.join("pack/.swap");
    symlink(&secret, &swap).unwrap();
    fs::rename(&swap, &a).unwrap();

    let ih = leecher
        .add(add(
            &meta,
            &dir.path().join("leech"),
            vec![seeder.listen_addr()],
        ))
        .await
        .unwrap();
    let why = failure(&mut seeder_events).await;
    assert!(
        why.contains("a.bin") && why.contains("symbolic link"),
        "{why}"
    );
    assert!(matches!(
        seeder.stats(ih).unwrap().state,
        TorrentState::Error(_)
    ));

    // Nothing of the secret reached the leecher: every piece it holds
    // passed its hash, and none failed (a served secret would fail it).
    let got = leecher.stats(ih).unwrap();
    assert_eq!(got.hash_failures, 0);
    let have = leecher.have(ih).unwrap();
    let a_pieces = 200_000usize.div_ceil(16384);
    let secret_bytes = data(200_000, 99);
    if let Ok(on_disk) = fs::read(dir.path().join("leech/pack/a.bin")) {
        for p in (0..a_pieces).filter(|&p| have.get(p)) {
            let span = p * 16384..((p + 1) * 16384).min(200_000);
            assert_ne!(on_disk[span.clone()], secret_bytes[span], "piece {p}");
        }
    }
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_swapped_for_a_link_during_a_download_fails_the_torrent_without_refetching() {
    let dir = tempfile::tempdir().unwrap();
    let seed_dir = dir.path().join("seed");
    let size = 1 << 20;
    let meta = make_torrent(
        &seed_dir,
        "pack",
        &[("a.bin", size), ("b.bin", size)],
        16384,
    );
    let outside = dir.path().join("victim");
    fs::write(&outside, b"precious").unwrap();

    let cancel = CancellationToken::new();
    // A slow seeder, and a leecher that keeps one file open at a time.
    let seeder = engine(&cancel, |c| c.upload_rate_limit = Some(400_000)).await;
    let leecher = engine(&cancel, |c| c.max_open_files = 1).await;
    seed(&seeder, &meta, &seed_dir).await;
    let mut events = leecher.subscribe();
    let leech_dir = dir.path().join("leech");
    let ih = leecher
        .add(add(&meta, &leech_dir, vec![seeder.listen_addr()]))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while leecher.stats(ih).unwrap().state != TorrentState::Downloading {
        assert!(tokio::time::Instant::now() < deadline, "never started");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // Its files are allocated; b.bin becomes a link to a file outside.
    let swap = leech_dir.join("pack/.swap");
    symlink(&outside, &swap).unwrap();
    fs::rename(&swap, leech_dir.join("pack/b.bin")).unwrap();

    let why = failure(&mut events).await;
    assert!(
        why.contains("b.bin") && why.contains("symbolic link"),
        "{why}"
    );
    let stats = leecher.stats(ih).unwrap();
    assert_eq!(stats.state, TorrentState::Error(why));
    assert_eq!(fs::read(&outside).unwrap(), b"precious");
    // Stopped, not fetching the same pieces again: at most the torrent
    // once, plus the pieces in flight.
    leecher.remove(ih).await;
    println!(
        "fetched {} of {} bytes before stopping",
        stats.downloaded,
        2 * size
    );
    assert!(stats.downloaded <= 2 * size as u64 + (4 << 20), "{stats:?}");
    cancel.cancel();
}
