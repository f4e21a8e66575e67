//! Upload slots between choking rounds: a seeder with one slot (and the
//! optimistic one) and rounds an hour apart serves three leechers; the
//! third gets a slot the moment one of the first two finishes, not at the
//! next round. Every byte must come from the seeder.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap

use std::fs;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::engine::{WAIT, add, engine, make_torrent, seed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_freed_between_rounds_goes_to_a_waiting_leecher_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let size = 2_000_000;
    let meta = make_torrent(
        &dir.path().join("seed"),
        "slots.bin",
        &[("", size)],
        64 * 1024,
    );
    let cancel = CancellationToken::new();
    let seeder = engine(&cancel, |c| {
        c.upload_slots = 1;
        // No round would come during the test: only a freed slot unchokes.
        c.choke_period = Duration::from_secs(3600);
    })
    .await;
    seed(&seeder, &meta, &dir.path().join("seed")).await;
    let mut leechers = Vec::new();
    for n in 0..3 {
        let e = engine(&cancel, |_| {}).await;
        let to = dir.path().join(format!("leech{n}"));
        let ih = e
            .add(add(&meta, &to, vec![seeder.listen_addr()]))
            .await
            .unwrap();
        leechers.push((e, ih, to));
    }
    for (e, ih, to) in &leechers {
        assert!(
            e.wait_complete(*ih, WAIT).await,
            "a leecher never got a slot"
        );
        assert_eq!(
            fs::read(to.join("slots.bin")).unwrap(),
            fs::read(dir.path().join("seed/slots.bin")).unwrap()
        );
    }
    // The leechers could have traded among themselves (peer exchange): the
    // seeder sending three copies shows it served the third one too.
    let sent = seeder.stats(meta.info_hash).unwrap().uploaded;
    assert!(sent >= 3 * size as u64, "the seeder sent {sent} bytes");
    cancel.cancel();
}
