use proptest::prelude::*;

use super::*;

fn ih(byte: u8) -> InfoHash {
    InfoHash([byte; 20])
}

fn encoded(a: &Announce, to: SocketAddr) -> Vec<u8> {
    let mut out = Vec::new();
    a.encode(to, &mut out);
    out
}

#[test]
fn an_announce_reads_back_as_written_for_both_groups() {
    let a = Announce {
        port: 6881,
        info_hashes: vec![ih(1), ih(0xab)],
        cookie: Some("p2p-1f2e".into()),
    };
    for to in [group(false), group(true)] {
        assert_eq!(Announce::parse(&encoded(&a, to)), Ok(a.clone()));
    }
}

#[test]
fn the_message_is_the_one_bep_14_shows() {
    let a = Announce {
        port: 51413,
        info_hashes: vec![ih(0x0f)],
        cookie: Some("c00k1e".into()),
    };
    let text = String::from_utf8(encoded(&a, group(false))).unwrap();
    assert_eq!(
        text,
        format!(
            "BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 51413\r\n\
             Infohash: {}\r\ncookie: c00k1e\r\n\r\n\r\n",
            "0f".repeat(20)
        )
    );
    let v6 = String::from_utf8(encoded(&a, group(true))).unwrap();
    assert!(v6.contains("\r\nHost: [ff15::efc0:988f]:6771\r\n"), "{v6}");
}

#[test]
fn another_clients_spelling_is_read_any_case_bare_newlines_unknown_headers_and_all() {
    let msg = format!(
        "BT-SEARCH * HTTP/1.1\nHOST: 239.192.152.143:6771\nport:  6881 \n\
         X-Whatever: yes\ninfohash: {}\nInfoHash: {}\nCookie: abc\n\n",
        "AB".repeat(20),
        "ab".repeat(20)
    );
    let a = Announce::parse(msg.as_bytes()).unwrap();
    // The same hash in two cases is one torrent.
    assert_eq!(a.info_hashes, [ih(0xab)]);
    assert_eq!(a.port, 6881);
    assert_eq!(a.cookie.as_deref(), Some("abc"));
}

#[test]
fn a_message_without_a_cookie_has_none() {
    let msg = format!(
        "BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: {}\r\n\r\n",
        "00".repeat(20)
    );
    assert_eq!(Announce::parse(msg.as_bytes()).unwrap().cookie, None);
}

#[test]
fn hostile_messages_fail_with_what_was_wrong() {
    let hash = "12".repeat(20);
    let with = |headers: &str| format!("BT-SEARCH * HTTP/1.1\r\n{headers}\r\n\r\n");
    let cases: Vec<(Vec<u8>, LsdError)> = vec![
        (vec![b' '; MAX_MESSAGE_BYTES + 1], LsdError::TooLong(1401)),
        (
            b"BT-SEARCH * HTTP/1.1\r\n\xff\r\n".to_vec(),
            LsdError::NotText,
        ),
        (
            b"M-SEARCH * HTTP/1.1\r\n".to_vec(),
            LsdError::NotBtSearch("M-SEARCH * HTTP/1.1".into()),
        ),
        (Vec::new(), LsdError::NotBtSearch(String::new())),
        (
            with("Port 6881").into_bytes(),
            LsdError::BadHeader("Port 6881".into()),
        ),
        (
            with(&format!("Infohash: {hash}")).into_bytes(),
            LsdError::NoPort,
        ),
        (with("Port: 6881").into_bytes(), LsdError::NoInfoHash),
        (
            with(&format!("Port: 1\r\nPort: 2\r\nInfohash: {hash}")).into_bytes(),
            LsdError::DuplicatePort,
        ),
        (
            with(&format!("Port: 0\r\nInfohash: {hash}")).into_bytes(),
            LsdError::BadPort("0".into()),
        ),
        (
            with(&format!("Port: 65536\r\nInfohash: {hash}")).into_bytes(),
            LsdError::BadPort("65536".into()),
        ),
        (
            with("Port: 1\r\nInfohash: 1234").into_bytes(),
            LsdError::BadInfoHash("1234".into()),
        ),
        (
            // The base32 form is a valid info-hash elsewhere, not here.
            with("Port: 1\r\nInfohash: CJBBUHWQE3L3DJOVEWD7F3ZKE3EOQRMM").into_bytes(),
            LsdError::BadInfoHash("CJBBUHWQE3L3DJOVEWD7F3ZKE3EOQRMM".into()),
        ),
        (
            with(&format!("Port: 1\r\nInfohash: {}", "zz".repeat(20))).into_bytes(),
            LsdError::BadInfoHash("zz".repeat(20)),
        ),
        (
            with(&format!("Port: 1\r\nInfohash: {hash}\r\ncookie: a b")).into_bytes(),
            LsdError::BadCookie("a b".into()),
        ),
        (
            with(&format!(
                "Port: 1\r\nInfohash: {hash}\r\ncookie: {}",
                "c".repeat(65)
            ))
            .into_bytes(),
            LsdError::BadCookie("c".repeat(64)),
        ),
    ];
    for (msg, want) in cases {
        assert_eq!(
            Announce::parse(&msg),
            Err(want.clone()),
            "{:?}",
            String::from_utf8_lossy(&msg)
        );
        assert!(!want.to_string().is_empty());
    }
}

#[test]
fn more_info_hashes_than_the_cap_are_refused() {
    let mut msg = String::from("BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n");
    for i in 0..=MAX_INFO_HASHES {
        msg.push_str(&format!("Infohash: {:040x}\r\n", i + 1));
    }
    assert_eq!(
        Announce::parse(msg.as_bytes()),
        Err(LsdError::TooManyInfoHashes)
    );
}

#[test]
fn the_fullest_batch_we_write_fits_one_message_and_reads_back() {
    let hashes: Vec<InfoHash> = (0..=255u8).map(ih).collect();
    let cookie = "k".repeat(MAX_COOKIE_BYTES);
    let batches = Announce::batches(65535, &hashes, Some(&cookie));
    assert_eq!(batches.len(), 256usize.div_ceil(MAX_INFO_HASHES));
    let mut seen = Vec::new();
    for b in &batches {
        let bytes = encoded(b, group(true));
        assert!(bytes.len() <= MAX_MESSAGE_BYTES, "{} bytes", bytes.len());
        let back = Announce::parse(&bytes).unwrap();
        assert_eq!(&back, b);
        seen.extend(back.info_hashes);
    }
    assert_eq!(seen, hashes);
}

#[test]
fn a_cookie_we_could_not_read_back_is_left_out_of_batches() {
    let b = Announce::batches(1, &[ih(1)], Some("two words"));
    assert_eq!(b[0].cookie, None);
}

proptest! {
    #[test]
    fn any_bytes_parse_or_fail_without_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1600)) {
        let _ = Announce::parse(&bytes);
    }

    #[test]
    fn every_cut_of_a_valid_message_parses_or_fails_without_a_panic(
        port in 1u16..,
        n in 1usize..=MAX_INFO_HASHES,
        cut in 0usize..1400,
    ) {
        let a = Announce {
            port,
            info_hashes: (0..n).map(|i| ih(i as u8)).collect(),
            cookie: Some("abc".into()),
        };
        let bytes = encoded(&a, group(false));
        let cut = cut.min(bytes.len());
        if let Ok(back) = Announce::parse(&bytes[..cut]) {
            // A cut in the hashes' lines may drop some, never invent any.
            prop_assert!(back.info_hashes.iter().all(|h| a.info_hashes.contains(h)));
        }
    }
}
