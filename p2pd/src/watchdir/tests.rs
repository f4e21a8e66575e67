//! The loop with a starter that only counts: files are started once, the
//! same torrent in two files starts once, garbage becomes `.invalid`.

#![allow(clippy::unwrap_used)] // a test may unwrap

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// Starts nothing; counts what it was given.
#[derive(Default)]
struct Counting {
    started: Mutex<Vec<InfoHash>>,
    calls: AtomicUsize,
}

impl Starter for Counting {
    async fn start(&self, found: Found) -> Outcome {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let ih = found.info_hash();
        let mut started = self.started.lock().unwrap();
        if started.contains(&ih) {
            return Outcome::AlreadyThere(format!("{} is already added", ih.short_hex()));
        }
        started.push(ih);
        Outcome::Started(ih.short_hex())
    }
}

/// A small valid .torrent.
fn torrent(name: &str) -> Vec<u8> {
    let mut info = format!(
        "d6:lengthi3e4:name{}:{name}12:piece lengthi16384e6:pieces20:",
        name.len()
    )
    .into_bytes();
    info.extend_from_slice(&[7; 20]);
    info.push(b'e');
    let mut t = b"d4:info".to_vec();
    t.extend_from_slice(&info);
    t.push(b'e');
    t
}

fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

async fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn files_start_once_duplicates_are_added_and_garbage_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().to_path_buf();
    std::fs::write(w.join("a.torrent"), torrent("a")).unwrap();
    std::fs::write(w.join("same-as-a.TORRENT"), torrent("a")).unwrap();
    std::fs::write(w.join("junk.torrent"), b"d4:info").unwrap();
    std::fs::write(w.join("notes.txt"), b"left alone").unwrap();
    // Half written before the folder is watched, by a writer that keeps it
    // open: no event tells of it, `/proc` does (Linux).
    use std::io::Write;
    let slow_bytes = torrent("slow");
    let mut slow = std::fs::File::create(w.join("slow.torrent")).unwrap();
    slow.write_all(&slow_bytes[..20]).unwrap();
    let report = Arc::new(Report::new(&w));
    let starter = Arc::new(Counting::default());
    let cancel = CancellationToken::new();
    let task = tokio::spawn(run(
        w.clone(),
        report.clone(),
        starter.clone(),
        cancel.clone(),
    ));
    wait_for("every file handled", || {
        let v = report.view();
        v.started + v.already_there + v.invalid == 3
    })
    .await;
    assert!(w.join("slow.torrent").exists(), "{:?}", names(&w));
    slow.write_all(&slow_bytes[20..]).unwrap();
    drop(slow);
    wait_for("the slow file handled", || report.view().started == 2).await;
    // A file dropped later is seen through the events.
    std::fs::write(
        w.join("b.magnet"),
        format!("magnet:?xt=urn:btih:{}\n", "cd".repeat(20)),
    )
    .unwrap();
    wait_for("the magnet file handled", || report.view().started == 3).await;
    cancel.cancel();
    task.await.unwrap();
    let v = report.view();
    assert_eq!((v.started, v.already_there, v.invalid), (3, 1, 1));
    assert_eq!(v.recent_invalid[0].file, "junk.torrent");
    assert!(
        v.recent_invalid[0]
            .reason
            .starts_with("not a usable .torrent"),
        "{v:?}"
    );
    assert_eq!(
        names(&w),
        [
            "a.torrent.added",
            "b.magnet.added",
            "junk.torrent.invalid",
            "notes.txt",
            "same-as-a.TORRENT.added",
            "slow.torrent.added"
        ]
    );
    assert!(starter.calls.load(Ordering::Relaxed) <= 4);
}

#[test]
fn a_taken_marked_name_gets_a_number_and_nothing_is_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.torrent");
    std::fs::write(dir.path().join("x.torrent.added"), b"old").unwrap();
    std::fs::write(&p, b"new").unwrap();
    let to = rename_marked(&p, "added").unwrap();
    assert_eq!(to, dir.path().join("x.torrent.1.added"));
    assert_eq!(
        std::fs::read(dir.path().join("x.torrent.added")).unwrap(),
        b"old"
    );
}
