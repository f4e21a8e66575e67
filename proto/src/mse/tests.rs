use proptest::prelude::*;

use super::cipher::{Rc4Stream, hash};
use super::dh::KeyPair;
use super::*;

const TORRENT: InfoHash = InfoHash([7; 20]);

fn secrets(seed: u8, pad: usize) -> Secrets {
    Secrets {
        private_key: [seed; PRIVATE_KEY_LEN],
        pad: vec![seed ^ 0x5a; pad],
    }
}

fn ours(req2: &[u8; 20]) -> Option<InfoHash> {
    (*req2 == req2_hash(&TORRENT)).then_some(TORRENT)
}

type Outcome = (Result<Established, MseError>, Result<Established, MseError>);

/// Runs our initiator against our receiver, delivering bytes `chunk` at a time.
fn pair(provide: CryptoSet, allowed: CryptoSet, ia: &[u8], pads: usize, chunk: usize) -> Outcome {
    let mut to_receiver = Vec::new();
    let mut initiator = Initiator::new(
        secrets(1, pads),
        TORRENT,
        provide,
        ia.to_vec(),
        &mut to_receiver,
    );
    let mut receiver = Receiver::new(secrets(2, pads), allowed);
    let mut to_initiator = Vec::new();
    let (mut a, mut b) = (None, None);
    for _ in 0..10_000 {
        if b.is_none() && !to_receiver.is_empty() {
            let n = chunk.min(to_receiver.len());
            let input: Vec<u8> = to_receiver.drain(..n).collect();
            match receiver.receive(&input, &mut to_initiator, &mut ours) {
                Ok(None) => {}
                Ok(Some(done)) => b = Some(Ok(done)),
                Err(e) => b = Some(Err(e)),
            }
        }
        if a.is_none() && !to_initiator.is_empty() {
            let n = chunk.min(to_initiator.len());
            let input: Vec<u8> = to_initiator.drain(..n).collect();
            match initiator.receive(&input, &mut to_receiver) {
                Ok(None) => {}
                Ok(Some(done)) => a = Some(Ok(done)),
                Err(e) => a = Some(Err(e)),
            }
        }
        if a.is_some() && b.is_some() {
            break;
        }
        if matches!(b, Some(Err(_))) {
            break;
        }
    }
    (
        a.unwrap_or(Err(MseError::Finished)),
        b.unwrap_or(Err(MseError::Finished)),
    )
}

fn check_stream(a: &mut Established, b: &mut Established) {
    one_way(a, b);
    one_way(b, a);
}

fn one_way(from: &mut Established, to: &mut Established) {
    {
        let mut data = b"the stream goes on".to_vec();
        if let Some(c) = &mut from.ciphers {
            c.encrypt.apply(&mut data);
            assert_ne!(&data[..], b"the stream goes on");
        }
        if let Some(c) = &mut to.ciphers {
            c.decrypt.apply(&mut data);
        }
        assert_eq!(&data[..], b"the stream goes on");
    }
}

#[test]
fn our_initiator_and_receiver_agree_on_rc4_at_every_chunk_size() {
    for chunk in [1, 7, 96, 100, 4096] {
        let (a, b) = pair(CryptoSet::BOTH, CryptoSet::RC4, b"ia bytes", 33, chunk);
        let (mut a, mut b) = (a.expect("initiator"), b.expect("receiver"));
        assert_eq!(a.method(), Method::Rc4);
        assert_eq!(b.method(), Method::Rc4);
        assert_eq!(b.info_hash, TORRENT);
        assert_eq!(b.payload, b"ia bytes");
        assert!(a.payload.is_empty());
        check_stream(&mut a, &mut b);
    }
}

#[test]
fn a_receiver_that_allows_both_selects_plaintext_when_offered_and_rc4_when_not() {
    let (a, b) = pair(CryptoSet::BOTH, CryptoSet::BOTH, b"ia", 0, 64);
    assert_eq!(a.expect("initiator").method(), Method::Plaintext);
    assert_eq!(b.expect("receiver").method(), Method::Plaintext);
    let (a, b) = pair(CryptoSet::RC4, CryptoSet::BOTH, b"ia", 0, 64);
    let (mut a, mut b) = (a.expect("initiator"), b.expect("receiver"));
    assert_eq!(a.method(), Method::Rc4);
    assert_eq!(b.method(), Method::Rc4);
    check_stream(&mut a, &mut b);
}

#[test]
fn a_receiver_that_allows_only_plaintext_selects_it() {
    for pads in [0, 512] {
        let (a, b) = pair(CryptoSet::BOTH, CryptoSet::PLAINTEXT, b"", pads, 13);
        let (mut a, mut b) = (a.expect("initiator"), b.expect("receiver"));
        assert_eq!(a.method(), Method::Plaintext);
        assert_eq!(b.method(), Method::Plaintext);
        check_stream(&mut a, &mut b);
    }
}

#[test]
fn rc4_only_against_plaintext_only_fails_with_the_offer() {
    let (_, b) = pair(CryptoSet::RC4, CryptoSet::PLAINTEXT, b"", 0, 4096);
    assert_eq!(
        b.unwrap_err(),
        MseError::NoCommonMethod {
            offered: 2,
            allowed: 1
        }
    );
}

#[test]
fn an_unknown_torrent_is_refused() {
    let mut out = Vec::new();
    let mut i = Initiator::new(
        secrets(1, 0),
        InfoHash([9; 20]),
        CryptoSet::BOTH,
        vec![],
        &mut out,
    );
    let mut r = Receiver::new(secrets(2, 0), CryptoSet::BOTH);
    let mut back = Vec::new();
    assert!(r.receive(&out, &mut back, &mut ours).unwrap().is_none());
    out.clear();
    assert!(i.receive(&back, &mut out).unwrap().is_none());
    assert_eq!(
        r.receive(&out, &mut back, &mut ours).unwrap_err(),
        MseError::UnknownTorrent
    );
}

#[test]
fn public_key_matches_an_independent_computation() {
    // pow(2, 0x0102..14, P) computed with Python's integers.
    let keys = KeyPair::new(&std::array::from_fn(|i| i as u8 + 1));
    let want = "96e112dab29e8c5272accb9b17b26887ce54a144a4e3b697c7d159b7a817e556\
                b0918db2b4c658e02a87f7e5fb14b18a553e084cbf3dad2d30f16596ccb982d4\
                06258c61b30c5c1dae2ddc60bdbd48d79896312aad63238c39e1a633821eb693";
    let got: String = keys.public.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(got, want);
}

#[test]
fn rc4_stream_skips_1024_bytes_of_the_keystream() {
    // SHA-1 and RC4 in Python: keyA with S = 96 x 0x01, SKEY = 20 x 0x02.
    let mut s = Rc4Stream::new(b"keyA", &[1; 96], &[2; 20]);
    let mut ks = [0u8; 8];
    s.apply(&mut ks);
    assert_eq!(ks, [0x39, 0x55, 0x45, 0xb6, 0x83, 0x09, 0x45, 0xef]);
}

#[test]
fn degenerate_public_keys_are_refused() {
    let keys = KeyPair::new(&[3; 20]);
    for y in [
        [0u8; 96],
        {
            let mut one = [0u8; 96];
            one[95] = 1;
            one
        },
        [0xff; 96],
    ] {
        assert_eq!(keys.shared_secret(&y).unwrap_err(), MseError::BadPublicKey);
    }
}

#[test]
fn garbage_to_a_receiver_ends_at_the_sync_bound() {
    let mut r = Receiver::new(secrets(2, 0), CryptoSet::BOTH);
    let mut out = Vec::new();
    let garbage: Vec<u8> = (0..KEY_LEN + MAX_PAD + 19)
        .map(|i| (i * 31 + 7) as u8)
        .collect();
    assert!(r.receive(&garbage, &mut out, &mut ours).unwrap().is_none());
    assert_eq!(
        r.receive(&[0xaa], &mut out, &mut ours).unwrap_err(),
        MseError::NoSync {
            what: "info-hash proof",
            within: MAX_PAD + 20
        }
    );
}

#[test]
fn an_initiator_finds_no_vc_past_the_bound() {
    let mut out = Vec::new();
    let mut i = Initiator::new(secrets(1, 0), TORRENT, CryptoSet::BOTH, vec![], &mut out);
    let yb = KeyPair::new(&[2; 20]).public;
    let mut input = yb.to_vec();
    input.extend((0..MAX_PAD + 8).map(|i| (i * 17 + 1) as u8));
    assert_eq!(
        i.receive(&input, &mut out).unwrap_err(),
        MseError::NoSync {
            what: "verification constant",
            within: MAX_PAD + 8
        }
    );
}

/// Bytes an initiator sends after Yb, with the fields under our control.
fn hand_made_offer(
    secret: &[u8; KEY_LEN],
    vc: [u8; 8],
    provide: u32,
    pad_c: u16,
    ia_len: u16,
) -> Vec<u8> {
    let mut out = hash(&[b"req1", secret]).to_vec();
    let req2 = hash(&[b"req2", &TORRENT.0]);
    let req3 = hash(&[b"req3", secret]);
    out.extend(req2.iter().zip(req3).map(|(a, b)| a ^ b));
    let start = out.len();
    out.extend_from_slice(&vc);
    out.extend_from_slice(&provide.to_be_bytes());
    out.extend_from_slice(&pad_c.to_be_bytes());
    out.extend(std::iter::repeat_n(0, usize::from(pad_c).min(600)));
    out.extend_from_slice(&ia_len.to_be_bytes());
    Rc4Stream::new(b"keyA", secret, &TORRENT.0).apply(&mut out[start..]);
    out
}

fn receiver_after(
    offer: impl Fn(&[u8; KEY_LEN]) -> Vec<u8>,
) -> Result<Option<Established>, MseError> {
    let ours_keys = KeyPair::new(&[1; 20]);
    let mut r = Receiver::new(secrets(2, 0), CryptoSet::BOTH);
    let mut out = Vec::new();
    r.receive(&ours_keys.public, &mut out, &mut ours)?;
    let secret = ours_keys.shared_secret(&out[..KEY_LEN])?;
    r.receive(&offer(&secret), &mut out, &mut ours)
}

#[test]
fn hostile_offers_fail_with_clear_errors() {
    assert_eq!(
        receiver_after(|s| hand_made_offer(s, [1; 8], 2, 0, 0)).unwrap_err(),
        MseError::BadVerification
    );
    assert_eq!(
        receiver_after(|s| hand_made_offer(s, [0; 8], 2, 513, 0)).unwrap_err(),
        MseError::PadTooLong(513)
    );
    assert_eq!(
        receiver_after(|s| hand_made_offer(s, [0; 8], 2, 0, 65535)).unwrap_err(),
        MseError::PayloadTooLong(65535)
    );
    assert_eq!(
        receiver_after(|s| hand_made_offer(s, [0; 8], 0x10, 0, 0)).unwrap_err(),
        MseError::NoCommonMethod {
            offered: 0x10,
            allowed: 3
        }
    );
    let ok = receiver_after(|s| hand_made_offer(s, [0; 8], 2, 512, 0)).unwrap();
    assert_eq!(ok.map(|e| e.method()), Some(Method::Rc4));
}

#[test]
fn a_receiver_keeps_plaintext_that_follows_the_initial_payload() {
    let ours_keys = KeyPair::new(&[1; 20]);
    let mut r = Receiver::new(secrets(2, 0), CryptoSet::BOTH);
    let mut out = Vec::new();
    r.receive(&ours_keys.public, &mut out, &mut ours).unwrap();
    let secret = ours_keys.shared_secret(&out[..KEY_LEN]).unwrap();
    let mut offer = hand_made_offer(&secret, [0; 8], 1, 0, 0);
    offer.extend_from_slice(b"plain after");
    let done = r.receive(&offer, &mut out, &mut ours).unwrap().unwrap();
    assert_eq!(done.method(), Method::Plaintext);
    assert_eq!(done.payload, b"plain after");
}

#[test]
fn a_selection_we_did_not_offer_is_refused() {
    let ours_keys = KeyPair::new(&[2; 20]);
    let mut out = Vec::new();
    let mut i = Initiator::new(secrets(1, 0), TORRENT, CryptoSet::RC4, vec![], &mut out);
    let mut input = ours_keys.public.to_vec();
    let secret = ours_keys.shared_secret(&out[..KEY_LEN]).unwrap();
    let mut answer = [0u8; 14];
    answer[11] = 1; // crypto_select = plaintext
    Rc4Stream::new(b"keyB", &secret, &TORRENT.0).apply(&mut answer);
    input.extend_from_slice(&answer);
    assert_eq!(
        i.receive(&input, &mut out).unwrap_err(),
        MseError::BadSelect {
            selected: 1,
            offered: 2
        }
    );
}

#[test]
fn plaintext_handshakes_are_told_from_mse() {
    let mut hs = vec![19u8];
    hs.extend_from_slice(PROTOCOL);
    assert_eq!(classify(&hs), Incoming::Plaintext);
    assert_eq!(classify(&hs[..5]), Incoming::NeedMore);
    assert_eq!(classify(&[]), Incoming::NeedMore);
    assert_eq!(classify(&[19, b'B', b'x']), Incoming::Encrypted);
    assert_eq!(classify(&[0x96]), Incoming::Encrypted);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..1500), split in 0usize..1500) {
        let split = split.min(data.len());
        let mut out = Vec::new();
        let mut r = Receiver::new(secrets(2, 0), CryptoSet::BOTH);
        let _ = r.receive(&data[..split], &mut out, &mut ours).and_then(|_| r.receive(&data[split..], &mut out, &mut ours));
        let mut i = Initiator::new(secrets(1, 0), TORRENT, CryptoSet::BOTH, vec![], &mut out);
        let _ = i.receive(&data[..split], &mut out).and_then(|_| i.receive(&data[split..], &mut out));
    }
}
