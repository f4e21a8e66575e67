//! Message Stream Encryption between engines over loopback: each pair of
//! `encryption` settings ends in an encrypted download, a plaintext one
//! (the fallback), or no connection at all; a magnet's metadata comes over
//! MSE too.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap

use std::fs;
use std::path::Path;
use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use p2p_proto::metainfo::Metainfo;
use p2pd::engine::{AddMagnet, Encryption, Engine};
use tokio_util::sync::CancellationToken;

use crate::engine::{WAIT, add, engine, make_torrent, seed};

/// Polls the leecher until it has a peer; returns whether it is encrypted.
async fn first_peer_encrypted(e: &Engine, ih: InfoHash) -> bool {
    for _ in 0..1000 {
        if let Some(p) = e.stats(ih).and_then(|s| s.peers.first().cloned()) {
            return p.encrypted;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no peer connected");
}

fn torrent(dir: &Path) -> Metainfo {
    make_torrent(
        &dir.join("seed"),
        "secret.bin",
        &[("", 4_000_000)],
        64 * 1024,
    )
}

/// Seeds with `seeder` settings, downloads with `leecher` settings (the
/// leecher dials); returns whether the leecher's peer was encrypted.
async fn transfer(seeder_mode: Encryption, leecher_mode: Encryption) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let meta = torrent(dir.path());
    let cancel = CancellationToken::new();
    let seeder = engine(&cancel, |c| {
        c.encryption = seeder_mode;
        // Slow enough that the leecher is seen with its peer.
        c.upload_rate_limit = Some(4_000_000);
    })
    .await;
    let leecher = engine(&cancel, |c| c.encryption = leecher_mode).await;
    seed(&seeder, &meta, &dir.path().join("seed")).await;
    let ih = leecher
        .add(add(
            &meta,
            &dir.path().join("leech"),
            vec![seeder.listen_addr()],
        ))
        .await
        .unwrap();
    let encrypted = first_peer_encrypted(&leecher, ih).await;
    let seeder_side = first_peer_encrypted(&seeder, ih).await;
    assert_eq!(encrypted, seeder_side, "both ends agree on the method");
    assert!(leecher.wait_complete(ih, WAIT).await);
    assert_eq!(
        fs::read(dir.path().join("leech/secret.bin")).unwrap(),
        fs::read(dir.path().join("seed/secret.bin")).unwrap()
    );
    cancel.cancel();
    encrypted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_that_require_encryption_download_over_rc4() {
    assert!(transfer(Encryption::Require, Encryption::Require).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_that_prefer_encryption_obfuscate_the_handshake_and_send_plaintext() {
    // libtorrent's default choice: RC4 would cap the transfer at one core's
    // cipher rate, and neither side asked for it.
    assert!(!transfer(Encryption::Prefer, Encryption::Prefer).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preferring_dialer_falls_back_to_plaintext_with_a_peer_without_mse() {
    assert!(!transfer(Encryption::Disable, Encryption::Prefer).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requiring_seeder_accepts_a_preferring_dialer_over_rc4() {
    assert!(transfer(Encryption::Require, Encryption::Prefer).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plaintext_dialer_is_refused_by_a_seeder_that_requires_encryption() {
    let dir = tempfile::tempdir().unwrap();
    let meta = torrent(dir.path());
    let cancel = CancellationToken::new();
    let seeder = engine(&cancel, |c| c.encryption = Encryption::Require).await;
    let leecher = engine(&cancel, |c| {
        c.encryption = Encryption::Disable;
        c.connect_timeout = Duration::from_secs(1);
    })
    .await;
    seed(&seeder, &meta, &dir.path().join("seed")).await;
    let ih = leecher
        .add(add(
            &meta,
            &dir.path().join("leech"),
            vec![seeder.listen_addr()],
        ))
        .await
        .unwrap();
    // The first dial fails at once; the next comes after a backoff, so
    // this window holds a few refusals at most.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stats = leecher.stats(ih).unwrap();
    assert_eq!(stats.pieces_have, 0);
    assert!(stats.peers.is_empty());
    assert_eq!(seeder.stats(ih).unwrap().uploaded, 0);
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_magnet_s_metadata_comes_over_mse_when_required() {
    let dir = tempfile::tempdir().unwrap();
    let meta = torrent(dir.path());
    let cancel = CancellationToken::new();
    let seeder = engine(&cancel, |c| c.encryption = Encryption::Require).await;
    seed(&seeder, &meta, &dir.path().join("seed")).await;
    let leecher = engine(&cancel, |c| c.encryption = Encryption::Require).await;
    let mut magnet = meta.magnet();
    magnet.peers.push(seeder.listen_addr());
    let leech = dir.path().join("leech");
    let ih = leecher
        .add_magnet(
            &magnet,
            AddMagnet {
                download_dir: leech.clone(),
                resume_dir: leech.join(".progress"),
                extra_peers: Vec::new(),
                use_trackers: false,
                use_dht: false,
                folder_pin: None,
                files: None,
                sequential: false,
            },
            WAIT,
        )
        .await
        .unwrap();
    assert!(leecher.wait_complete(ih, WAIT).await);
    assert_eq!(
        fs::read(leech.join("secret.bin")).unwrap(),
        fs::read(dir.path().join("seed/secret.bin")).unwrap()
    );
    cancel.cancel();
}

/// Runs an MSE handshake for `info_hash` against `addr` as a bare
/// initiator; returns whether the receiver answered it, and the bytes it
/// sent in all.
async fn bare_mse_dial(addr: std::net::SocketAddr, info_hash: InfoHash) -> (bool, usize) {
    use p2p_proto::mse::{CryptoSet, Initiator, Secrets};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut out = Vec::new();
    let secrets = Secrets {
        private_key: [0x42; 20],
        pad: vec![0; 17],
    };
    let mut hs = Initiator::new(secrets, info_hash, CryptoSet::BOTH, vec![], &mut out);
    s.write_all(&out).await.unwrap();
    let mut got = 0;
    let mut buf = [0u8; 1024];
    loop {
        let read = tokio::time::timeout(WAIT, s.read(&mut buf)).await.unwrap();
        let n = match read {
            Ok(0) | Err(_) => return (false, got),
            Ok(n) => n,
        };
        got += n;
        out.clear();
        match hs.receive(&buf[..n], &mut out) {
            Ok(Some(_)) => return (true, got),
            Ok(None) => {
                if !out.is_empty() && s.write_all(&out).await.is_err() {
                    return (false, got);
                }
            }
            Err(e) => panic!("our own initiator failed: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_s_encrypted_handshake_for_a_private_torrent_gets_only_our_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("seed/private.bin");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, crate::engine::data(300_000, 5)).unwrap();
    let opts = p2p_proto::create::CreateOptions {
        piece_length: Some(64 * 1024),
        private: true,
        ..Default::default()
    };
    let private = p2p_proto::create::create_torrent(&file, &opts, &Default::default())
        .unwrap()
        .metainfo;
    let public = torrent(dir.path());
    let cancel = CancellationToken::new();
    let seeder = engine(&cancel, |_| {}).await;
    seed(&seeder, &private, &dir.path().join("seed")).await;
    seed(&seeder, &public, &dir.path().join("seed")).await;
    // The public torrent is answered: the handshake works from here.
    assert!(
        bare_mse_dial(seeder.listen_addr(), public.info_hash)
            .await
            .0
    );
    // The private one, whose tracker vouches for nobody, is not: the
    // stranger gets Yb and padding, then the connection closes.
    let (answered, bytes) = bare_mse_dial(seeder.listen_addr(), private.info_hash).await;
    assert!(!answered);
    assert!(bytes <= 96 + 512, "{bytes} bytes");
    cancel.cancel();
}
