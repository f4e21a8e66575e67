//! The watched folder against real files, a real notify watch and real
//! hashing: what becomes a torrent, when, and what is withdrawn. Every wait
//! is a bounded wait on the event channel; the only fixed waits are the
//! quiet periods that check nothing *else* happens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use p2p_proto::create::{Control, CreateOptions, create_torrent};
use p2p_proto::infohash::InfoHash;
use p2p_proto::metainfo::Metainfo;
use p2pd::watcher::{WatchError, WatchEvent, WatcherConfig, run};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const POLL: Duration = Duration::from_millis(100);
/// Longest wait for an event that must come.
const DEADLINE: Duration = Duration::from_secs(20);
/// How long "nothing more happens" is watched for: several polls.
const QUIET: Duration = Duration::from_millis(600);

struct Dirs {
    tmp: tempfile::TempDir,
    shared: PathBuf,
}

impl Dirs {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let shared = tmp.path().join("shared");
        fs::create_dir(&shared).unwrap();
        Dirs { tmp, shared }
    }

    fn config(&self) -> WatcherConfig {
        let mut c = WatcherConfig::new(
            self.shared.clone(),
            self.tmp.path().join("torrents"),
            self.tmp.path().join("state").join("watch-cache.json"),
        );
        c.poll_interval = POLL;
        c.trackers =
            tokio::sync::watch::channel(vec![vec!["http://127.0.0.1:9/announce".into()]]).1;
        c
    }
}

struct Watcher {
    rx: mpsc::Receiver<WatchEvent>,
    cancel: CancellationToken,
    task: JoinHandle<Result<(), WatchError>>,
}

impl Watcher {
    fn start(config: WatcherConfig) -> Self {
        // RUST_LOG=p2pd=debug shows what the watcher decides.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
        let (tx, rx) = mpsc::channel(4096);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(config, tx, cancel.clone()));
        Watcher { rx, cancel, task }
    }

    /// Starts, then waits until a marker file is shared: the watch is up and
    /// the first scan is done.
    async fn start_ready(dirs: &Dirs) -> Self {
        Self::start_ready_with(dirs, dirs.config()).await
    }

    async fn start_ready_with(dirs: &Dirs, config: WatcherConfig) -> Self {
        fs::write(dirs.shared.join("ready.marker"), b"ready").unwrap();
        let mut w = Self::start(config);
        w.shared("ready.marker").await;
        w
    }

    async fn next(&mut self) -> WatchEvent {
        tokio::time::timeout(DEADLINE, self.rx.recv())
            .await
            .expect("an event within the deadline")
            .expect("the watcher is running")
    }

    /// The next event, which must be `Shared` for `rel`.
    async fn shared(&mut self, rel: &str) -> (Metainfo, bool, WatchEvent) {
        let event = self.next().await;
        match &event {
            WatchEvent::Shared {
                rel_path,
                metainfo,
                rehashed,
                ..
            } if rel_path == Path::new(rel) => (metainfo.clone(), *rehashed, event.clone()),
            other => panic!("expected Shared {rel}, got {other:?}"),
        }
    }

    /// The next event, which must be `Unshared` for `rel`.
    async fn unshared(&mut self, rel: &str) -> InfoHash {
        match self.next().await {
            WatchEvent::Unshared {
                rel_path,
                info_hash,
            } if rel_path == Path::new(rel) => info_hash,
            other => panic!("expected Unshared {rel}, got {other:?}"),
        }
    }

    async fn quiet(&mut self) {
        if let Ok(Some(event)) = tokio::time::timeout(QUIET, self.rx.recv()).await {
            panic!("unexpected event {event:?}");
        }
    }

    async fn stop(self) {
        self.cancel.cancel();
        tokio::time::timeout(DEADLINE, self.task)
            .await
            .expect("the watcher stops")
            .unwrap()
            .unwrap();
    }
}

/// The info-hash `create` gives `path` as an item of `group`, computed apart from the watcher.
fn expected_hash(path: &Path, group: Option<&str>) -> InfoHash {
    let opts = CreateOptions {
        private: group.is_some(),
        source: group.map(str::to_owned),
        ..CreateOptions::default()
    };
    create_torrent(path, &opts, &Control::default())
        .unwrap()
        .metainfo
        .info_hash
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_written_slowly_is_published_once_after_its_last_write() {
    let dirs = Dirs::new();
    let mut w = Watcher::start_ready(&dirs).await;
    let path = dirs.shared.join("slow.bin");
    let mut file = File::create(&path).unwrap();
    for i in 0..20u8 {
        file.write_all(&bytes(40_000, i)).unwrap();
        file.flush().unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Ok(event) = w.rx.try_recv() {
            panic!("published while still being written: {event:?}");
        }
    }
    drop(file);
    let (metainfo, rehashed, _) = w.shared("slow.bin").await;
    assert!(rehashed);
    assert_eq!(metainfo.info.total_length, 800_000);
    assert_eq!(metainfo.info_hash, expected_hash(&path, None));
    w.quiet().await;
    w.stop().await;
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_pauses_for_many_polls_without_closing_is_waited_for() {
    let dirs = Dirs::new();
    let mut w = Watcher::start_ready(&dirs).await;
    let path = dirs.shared.join("paused.bin");
    let mut file = File::create(&path).unwrap();
    file.write_all(&bytes(30_000, 1)).unwrap();
    file.flush().unwrap();
    // Size and mtime stay put for many polls, but the file is still open.
    w.quiet().await;
    file.write_all(&bytes(30_000, 2)).unwrap();
    drop(file);
    let (metainfo, _, _) = w.shared("paused.bin").await;
    assert_eq!(metainfo.info.total_length, 60_000);
    assert_eq!(metainfo.info_hash, expected_hash(&path, None));
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_reopened_for_every_chunk_is_published_only_after_the_last_one() {
    let dirs = Dirs::new();
    // Stable for two polls of 500 ms: far longer than the 50 ms between
    // writes even on a loaded machine, where a sleep can take a few times
    // as long as asked.
    let mut config = dirs.config();
    config.poll_interval = Duration::from_millis(500);
    let mut w = Watcher::start_ready_with(&dirs, config).await;
    let path = dirs.shared.join("appended.bin");
    for i in 0..20u8 {
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(&bytes(10_000, i)).unwrap();
        drop(file);
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Ok(event) = w.rx.try_recv() {
            panic!("published between two writes: {event:?}");
        }
    }
    let (metainfo, _, _) = w.shared("appended.bin").await;
    assert_eq!(metainfo.info_hash, expected_hash(&path, None));
    w.quiet().await;
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_renamed_in_from_a_part_file_is_published_and_the_part_never_is() {
    let dirs = Dirs::new();
    let mut w = Watcher::start_ready(&dirs).await;
    let part = dirs.shared.join("x.part");
    let mut file = File::create(&part).unwrap();
    for i in 0..5u8 {
        file.write_all(&bytes(30_000, i)).unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    drop(file);
    // The .part sits complete for several polls: still never published.
    w.quiet().await;
    fs::rename(&part, dirs.shared.join("x")).unwrap();
    let (metainfo, _, event) = w.shared("x").await;
    assert_eq!(
        metainfo.info_hash,
        expected_hash(&dirs.shared.join("x"), None)
    );
    let WatchEvent::Shared {
        torrent_file,
        data_dir,
        group,
        ..
    } = event
    else {
        unreachable!()
    };
    assert_eq!(group, None);
    assert_eq!(data_dir, fs::canonicalize(&dirs.shared).unwrap());
    assert_eq!(torrent_file.file_name().unwrap(), "x.torrent");
    let on_disk = Metainfo::from_bytes(&fs::read(&torrent_file).unwrap()).unwrap();
    assert_eq!(on_disk.info_hash, metainfo.info_hash);
    assert_eq!(on_disk.trackers, *dirs.config().trackers.borrow());
    w.quiet().await;
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modified_file_is_withdrawn_then_republished_with_its_new_hash() {
    let dirs = Dirs::new();
    let mut w = Watcher::start_ready(&dirs).await;
    let path = dirs.shared.join("doc.bin");
    fs::write(&path, bytes(50_000, 1)).unwrap();
    let (old, _, _) = w.shared("doc.bin").await;
    fs::write(&path, bytes(60_000, 2)).unwrap();
    assert_eq!(w.unshared("doc.bin").await, old.info_hash);
    let (new, rehashed, _) = w.shared("doc.bin").await;
    assert!(rehashed);
    assert_ne!(new.info_hash, old.info_hash);
    assert_eq!(new.info_hash, expected_hash(&path, None));
    w.quiet().await;
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_and_moved_out_files_are_withdrawn() {
    let dirs = Dirs::new();
    let mut w = Watcher::start_ready(&dirs).await;
    fs::write(dirs.shared.join("gone.bin"), bytes(5_000, 3)).unwrap();
    let (gone, _, _) = w.shared("gone.bin").await;
    let torrents = dirs.tmp.path().join("torrents");
    assert!(torrents.join("gone.bin.torrent").exists());
    fs::remove_file(dirs.shared.join("gone.bin")).unwrap();
    assert_eq!(w.unshared("gone.bin").await, gone.info_hash);

    fs::write(dirs.shared.join("away.bin"), bytes(5_000, 4)).unwrap();
    let (away, _, _) = w.shared("away.bin").await;
    fs::rename(
        dirs.shared.join("away.bin"),
        dirs.tmp.path().join("away.bin"),
    )
    .unwrap();
    assert_eq!(w.unshared("away.bin").await, away.info_hash);
    w.quiet().await;
    assert!(!torrents.join("gone.bin.torrent").exists());
    assert!(!torrents.join("away.bin.torrent").exists());
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_renamed_inside_shared_is_republished_without_rehashing() {
    let dirs = Dirs::new();
    let mut w = Watcher::start_ready(&dirs).await;
    fs::write(dirs.shared.join("a.bin"), bytes(70_000, 5)).unwrap();
    let (old, rehashed, _) = w.shared("a.bin").await;
    assert!(rehashed);
    fs::rename(dirs.shared.join("a.bin"), dirs.shared.join("b.bin")).unwrap();
    assert_eq!(w.unshared("a.bin").await, old.info_hash);
    let (new, rehashed, _) = w.shared("b.bin").await;
    assert!(!rehashed, "a rename must not re-hash");
    assert_eq!(new.info.name, "b.bin");
    assert_eq!(new.info.pieces, old.info.pieces);
    assert_eq!(
        new.info_hash,
        expected_hash(&dirs.shared.join("b.bin"), None)
    );
    let torrents = dirs.tmp.path().join("torrents");
    assert!(torrents.join("b.bin.torrent").exists());
    w.quiet().await;
    assert!(!torrents.join("a.bin.torrent").exists());

    // Moving into a group also keeps the pieces: only name, private and source change.
    fs::create_dir(dirs.shared.join("team")).unwrap();
    fs::rename(dirs.shared.join("b.bin"), dirs.shared.join("team/b.bin")).unwrap();
    assert_eq!(w.unshared("b.bin").await, new.info_hash);
    let (grouped, rehashed, _) = w.shared("team/b.bin").await;
    assert!(!rehashed);
    assert!(grouped.info.private);
    assert_eq!(
        grouped.info_hash,
        expected_hash(&dirs.shared.join("team/b.bin"), Some("team"))
    );
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_renamed_inside_its_group_is_republished_without_rehashing() {
    let dirs = Dirs::new();
    let mut w = Watcher::start_ready(&dirs).await;
    // Built outside, moved in whole, as a finished download would be.
    let staging = dirs.tmp.path().join("album");
    fs::create_dir_all(staging.join("cd2")).unwrap();
    fs::write(staging.join("01.flac"), bytes(40_000, 6)).unwrap();
    fs::write(staging.join("cd2").join("01.flac"), bytes(30_000, 7)).unwrap();
    fs::write(staging.join(".cover.tmp"), b"hidden").unwrap();
    fs::create_dir(dirs.shared.join("team")).unwrap();
    fs::rename(&staging, dirs.shared.join("team/album")).unwrap();
    let (old, rehashed, _) = w.shared("team/album").await;
    assert!(rehashed);
    assert_eq!(old.info.files.len(), 2);
    fs::rename(
        dirs.shared.join("team/album"),
        dirs.shared.join("team/album (2024)"),
    )
    .unwrap();
    assert_eq!(w.unshared("team/album").await, old.info_hash);
    let (new, rehashed, _) = w.shared("team/album (2024)").await;
    assert!(!rehashed);
    assert_eq!(
        new.info_hash,
        expected_hash(&dirs.shared.join("team/album (2024)"), Some("team"))
    );
    w.quiet().await;
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_bytes_in_two_groups_are_two_private_torrents() {
    let dirs = Dirs::new();
    let mut w = Watcher::start_ready(&dirs).await;
    let data = bytes(20_000, 8);
    // Written outside and moved in, one group after the other, for a fixed event order.
    for group in ["team", "other"] {
        fs::create_dir(dirs.shared.join(group)).unwrap();
        let outside = dirs.tmp.path().join("f.bin");
        fs::write(&outside, &data).unwrap();
        fs::rename(&outside, dirs.shared.join(group).join("f.bin")).unwrap();
        let rel = format!("{group}/f.bin");
        let (metainfo, _, event) = w.shared(&rel).await;
        let WatchEvent::Shared {
            group: event_group,
            data_dir,
            torrent_file,
            ..
        } = event
        else {
            unreachable!()
        };
        assert_eq!(event_group.as_deref(), Some(group));
        assert_eq!(
            data_dir,
            fs::canonicalize(&dirs.shared).unwrap().join(group)
        );
        assert!(metainfo.info.private);
        assert_eq!(metainfo.info.source.as_deref(), Some(group));
        assert_eq!(
            metainfo.info_hash,
            expected_hash(&dirs.shared.join(&rel), Some(group))
        );
        let expected_name = match group {
            "team" => "f.bin.torrent".to_owned(),
            _ => format!("f.bin.{}.torrent", &metainfo.info_hash.to_hex()[..8]),
        };
        assert_eq!(
            torrent_file.file_name().unwrap().to_str(),
            Some(&*expected_name)
        );
    }
    assert_ne!(
        expected_hash(&dirs.shared.join("team/f.bin"), Some("team")),
        expected_hash(&dirs.shared.join("other/f.bin"), Some("other"))
    );
    w.quiet().await;
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_shares_a_thousand_unchanged_files_again_without_rehashing() {
    let dirs = Dirs::new();
    for i in 0..1000u32 {
        fs::write(
            dirs.shared.join(format!("f{i:04}.txt")),
            format!("file number {i}\n"),
        )
        .unwrap();
    }
    let collect = |mut w: Watcher| async move {
        let mut seen = std::collections::HashMap::new();
        let started = Instant::now();
        while seen.len() < 1000 {
            match w.next().await {
                WatchEvent::Shared {
                    rel_path,
                    rehashed,
                    metainfo,
                    ..
                } => {
                    seen.insert(rel_path, (rehashed, metainfo.info_hash));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        w.quiet().await;
        eprintln!("1000 items shared in {:?}", started.elapsed());
        w.stop().await;
        seen
    };
    let first = collect(Watcher::start(dirs.config())).await;
    assert!(first.values().all(|(rehashed, _)| *rehashed));
    let second = collect(Watcher::start(dirs.config())).await;
    assert!(
        second.values().all(|(rehashed, _)| !*rehashed),
        "{} files re-hashed after a restart",
        second.values().filter(|(r, _)| *r).count()
    );
    for (rel, (_, hash)) in &second {
        assert_eq!(Some(hash), first.get(rel).map(|(_, h)| h));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_and_temporary_names_are_never_published() {
    let dirs = Dirs::new();
    let mut w = Watcher::start_ready(&dirs).await;
    for name in [
        ".secret",
        "a.tmp",
        "b.part",
        "c~",
        "d.crdownload",
        "e.partial",
    ] {
        fs::write(dirs.shared.join(name), b"not for sharing").unwrap();
    }
    fs::create_dir_all(dirs.shared.join(".hiddengroup")).unwrap();
    fs::write(dirs.shared.join(".hiddengroup/x"), b"no").unwrap();
    fs::create_dir_all(dirs.shared.join("team")).unwrap();
    fs::write(dirs.shared.join("team/.x"), b"no").unwrap();
    fs::write(dirs.shared.join("team/y.part"), b"no").unwrap();
    fs::write(dirs.shared.join("visible.bin"), b"yes").unwrap();
    w.shared("visible.bin").await;
    w.quiet().await;
    w.stop().await;
    // A fresh start's scan skips them too.
    let mut w = Watcher::start(dirs.config());
    for _ in 0..2 {
        match w.next().await {
            WatchEvent::Shared {
                rel_path,
                rehashed: false,
                ..
            } if rel_path == Path::new("visible.bin") || rel_path == Path::new("ready.marker") => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    w.quiet().await;
    w.stop().await;
}
