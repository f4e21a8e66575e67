use proptest::prelude::*;

use super::*;

fn announce() -> UdpAnnounce {
    UdpAnnounce {
        info_hash: InfoHash([0xab; 20]),
        peer_id: PeerId(*b"-P20001-abcdefghijkl"),
        downloaded: 1 << 40,
        left: 12345,
        uploaded: 7,
        event: Event::Started,
        key: 0xdead_beef,
        num_want: Some(80),
        port: 6881,
        url_data: b"/announce/0123456789abcdef0123456789abcdef?x=1".to_vec(),
    }
}

#[test]
fn a_connect_request_is_the_magic_number_action_0_and_the_transaction_id() {
    let b = UdpRequest::Connect {
        transaction_id: 0x0102_0304,
    }
    .encode();
    assert_eq!(
        b,
        [
            0, 0, 4, 0x17, 0x27, 0x10, 0x19, 0x80, 0, 0, 0, 0, 1, 2, 3, 4
        ]
    );
    assert_eq!(
        UdpRequest::decode(&b).unwrap(),
        UdpRequest::Connect {
            transaction_id: 0x0102_0304
        }
    );
    let mut wrong = b.clone();
    wrong[0] = 1;
    assert_eq!(UdpRequest::decode(&wrong), Err(UdpError::BadProtocolId));
}

#[test]
fn an_announce_has_bep_15s_layout_and_its_url_data_in_bep_41_options() {
    let request = UdpRequest::Announce {
        connection_id: 42,
        transaction_id: 9,
        announce: announce(),
    };
    let b = request.encode();
    // 98 fixed bytes, one URL data option (2 + 46 bytes), end of options.
    assert_eq!(b.len(), 98 + 2 + 46 + 1);
    assert_eq!(&b[80..84], &[0, 0, 0, 2], "started is 2");
    assert_eq!(&b[92..96], &[0, 0, 0, 80], "num_want");
    assert_eq!(&b[96..98], &6881u16.to_be_bytes());
    assert_eq!((b[98], b[99]), (2, 46));
    assert_eq!(*b.last().unwrap(), 0);
    assert_eq!(UdpRequest::decode(&b).unwrap(), request);
}

#[test]
fn url_data_longer_than_one_option_is_split_and_joined_again() {
    let mut a = announce();
    a.url_data = vec![b'p'; 600];
    a.num_want = None;
    a.event = Event::None;
    let request = UdpRequest::Announce {
        connection_id: 1,
        transaction_id: 2,
        announce: a,
    };
    let b = request.encode();
    assert_eq!(b.len(), 98 + (2 + 255) * 2 + (2 + 90) + 1);
    assert_eq!(&b[92..96], &[0xff; 4], "no num_want is -1");
    assert_eq!(UdpRequest::decode(&b).unwrap(), request);
}

#[test]
fn options_are_read_up_to_the_end_nops_are_skipped_and_unknown_types_end_them() {
    let mut b = UdpRequest::Announce {
        connection_id: 1,
        transaction_id: 2,
        announce: UdpAnnounce {
            url_data: Vec::new(),
            ..announce()
        },
    }
    .encode();
    assert_eq!(b.len(), 98, "no options without URL data");
    b.extend_from_slice(&[1, 2, 2, b'/', b'a', 1, 2, 1, b'b', 0x7f, 200, 2, 1, b'c']);
    let Ok(UdpRequest::Announce { announce, .. }) = UdpRequest::decode(&b) else {
        panic!("not an announce");
    };
    assert_eq!(announce.url_data, b"/ab");
}

#[test]
fn hostile_requests_are_refused_with_the_reason() {
    let good = UdpRequest::Announce {
        connection_id: 1,
        transaction_id: 2,
        announce: announce(),
    }
    .encode();
    assert_eq!(
        UdpRequest::decode(&good[..97]),
        Err(UdpError::TooShort {
            kind: "announce",
            need: 98,
            got: 97
        })
    );
    assert_eq!(
        UdpRequest::decode(&good[..100]),
        Err(UdpError::BadOptions("a URL data option cut short"))
    );
    let mut bad_event = good.clone();
    bad_event[83] = 9;
    assert_eq!(
        UdpRequest::decode(&bad_event),
        Err(UdpError::UnknownEvent(9))
    );
    let mut too_much = good[..98].to_vec();
    for _ in 0..5 {
        too_much.extend_from_slice(&[2, 255]);
        too_much.extend_from_slice(&[b'x'; 255]);
    }
    assert_eq!(
        UdpRequest::decode(&too_much),
        Err(UdpError::BadOptions("more URL data than allowed"))
    );
    let huge = vec![0; MAX_REQUEST_BYTES + 1];
    assert_eq!(
        UdpRequest::decode(&huge),
        Err(UdpError::TooLong(MAX_REQUEST_BYTES + 1))
    );
    let mut action = good[..16].to_vec();
    action[11] = 7;
    assert_eq!(UdpRequest::decode(&action), Err(UdpError::UnknownAction(7)));
}

#[test]
fn a_scrape_carries_1_to_74_whole_info_hashes() {
    let hashes: Vec<InfoHash> = (0..3u8).map(|i| InfoHash([i; 20])).collect();
    let request = UdpRequest::Scrape {
        connection_id: 5,
        transaction_id: 6,
        info_hashes: hashes,
    };
    let b = request.encode();
    assert_eq!(b.len(), 16 + 60);
    assert_eq!(UdpRequest::decode(&b).unwrap(), request);
    assert_eq!(UdpRequest::decode(&b[..16]), Err(UdpError::BadScrape));
    assert_eq!(UdpRequest::decode(&b[..17 + 20]), Err(UdpError::BadScrape));
    let mut many = b[..16].to_vec();
    many.extend_from_slice(&[0; 20 * 74]);
    assert_eq!(UdpRequest::decode(&many).unwrap().transaction_id(), 6);
    many.extend_from_slice(&[0; 20]);
    assert_eq!(
        UdpRequest::decode(&many),
        Err(UdpError::TooLong(16 + 20 * 75))
    );
}

#[test]
fn an_announce_answer_carries_the_peers_of_the_requests_family_only() {
    let v4: SocketAddr = "10.0.0.1:6881".parse().unwrap();
    let v6: SocketAddr = "[2001:db8::1]:51413".parse().unwrap();
    let answer = |peers: Vec<SocketAddr>| UdpResponse::Announce {
        transaction_id: 3,
        response: AnnounceResponse {
            interval: 1800,
            complete: 4,
            incomplete: 5,
            peers: peers
                .into_iter()
                .map(|addr| Peer { id: None, addr })
                .collect(),
            ..AnnounceResponse::default()
        },
    };
    let both = answer(vec![v4, v6]);
    let b4 = both.encode(false);
    assert_eq!(b4.len(), 20 + 6);
    assert_eq!(
        &b4[12..20],
        &[0, 0, 0, 5, 0, 0, 0, 4],
        "leechers, then seeders"
    );
    assert_eq!(UdpResponse::decode(&b4, false).unwrap(), answer(vec![v4]));
    let b6 = both.encode(true);
    assert_eq!(b6.len(), 20 + 18);
    assert_eq!(UdpResponse::decode(&b6, true).unwrap(), answer(vec![v6]));
    assert_eq!(
        UdpResponse::decode(&b4[..25], false),
        Err(UdpError::BadPeers(5))
    );
    let many = answer(vec![v4; 200]).encode(false);
    assert_eq!(many.len(), 20 + 6 * MAX_PEERS);
}

#[test]
fn connect_scrape_and_error_answers_read_back() {
    for r in [
        UdpResponse::Connect {
            transaction_id: 1,
            connection_id: u64::MAX - 1,
        },
        UdpResponse::Scrape {
            transaction_id: 2,
            stats: vec![
                ScrapeStats {
                    complete: 1,
                    downloaded: 2,
                    incomplete: 3,
                };
                2
            ],
        },
        UdpResponse::Error {
            transaction_id: 3,
            message: "unknown passkey".into(),
        },
    ] {
        assert_eq!(UdpResponse::decode(&r.encode(false), false).unwrap(), r);
    }
    let long = UdpResponse::Error {
        transaction_id: 0,
        message: "x".repeat(2000),
    };
    assert_eq!(long.encode(false).len(), 8 + MAX_ERROR_BYTES);
    assert_eq!(
        UdpResponse::decode(&[0, 0, 0, 0, 0, 0, 0, 1, 0], false),
        Err(UdpError::TooShort {
            kind: "connect",
            need: 16,
            got: 9
        })
    );
}

proptest! {
    #[test]
    fn any_datagram_decodes_or_is_refused_without_panicking(b in proptest::collection::vec(any::<u8>(), 0..1400)) {
        let _ = UdpRequest::decode(&b);
        let _ = UdpResponse::decode(&b, false);
        let _ = UdpResponse::decode(&b, true);
    }

    #[test]
    fn any_announce_reads_back_as_it_was_sent(
        left in any::<u64>(), key in any::<u32>(), port in any::<u16>(),
        data in proptest::collection::vec(any::<u8>(), 0..MAX_URL_DATA_BYTES),
    ) {
        let request = UdpRequest::Announce {
            connection_id: 7,
            transaction_id: 8,
            announce: UdpAnnounce { left, key, port, url_data: data, ..announce() },
        };
        prop_assert_eq!(UdpRequest::decode(&request.encode()).unwrap(), request);
    }
}

#[test]
fn an_error_message_of_invalid_utf8_reads_back_the_same_after_we_encode_it() {
    // Found by the udp_tracker fuzz target (fuzz/regressions/udp_tracker/):
    // each invalid byte became three, and the second read cut elsewhere.
    let datagram =
        include_bytes!("../../../fuzz/regressions/udp_tracker/error-message-of-invalid-utf8.bin");
    let read = UdpResponse::decode(datagram, false).unwrap();
    let UdpResponse::Error { message, .. } = &read else {
        panic!("not an error: {read:?}");
    };
    assert!(message.len() <= MAX_ERROR_BYTES, "{}", message.len());
    assert_eq!(
        UdpResponse::decode(&read.encode(false), false).unwrap(),
        read
    );
}

#[test]
fn an_error_message_is_cut_at_a_character_boundary() {
    let long = "é".repeat(MAX_ERROR_BYTES); // two bytes each
    let sent = UdpResponse::Error {
        transaction_id: 7,
        message: long,
    }
    .encode(false);
    let UdpResponse::Error { message, .. } = UdpResponse::decode(&sent, false).unwrap() else {
        panic!("not an error");
    };
    assert_eq!(message, "é".repeat(MAX_ERROR_BYTES / 2));
}

#[test]
fn answers_past_our_caps_read_back_the_same_after_we_encode_them_within_the_caps() {
    // Found by the udp_tracker fuzz target (fuzz/regressions/udp_tracker/):
    // a scrape answer with more counts than any client asks for, and an
    // announce answer with more peers than we send in one datagram.
    let scrape =
        include_bytes!("../../../fuzz/regressions/udp_tracker/scrape-answer-past-the-cap.bin");
    let read = UdpResponse::decode(scrape, false).unwrap();
    let UdpResponse::Scrape { stats, .. } = &read else {
        panic!("not a scrape answer: {read:?}");
    };
    assert_eq!(stats.len(), MAX_SCRAPE_HASHES);
    assert_eq!(
        UdpResponse::decode(&read.encode(false), false).unwrap(),
        read
    );

    let announce = include_bytes!(
        "../../../fuzz/regressions/udp_tracker/announce-answer-past-the-peer-cap.bin"
    );
    let read = UdpResponse::decode(announce, false).unwrap();
    let UdpResponse::Announce { response, .. } = &read else {
        panic!("not an announce answer: {read:?}");
    };
    assert!(response.peers.len() > MAX_PEERS, "{}", response.peers.len());
    let again = UdpResponse::decode(&read.encode(false), false).unwrap();
    let UdpResponse::Announce { response: sent, .. } = again else {
        panic!("not an announce answer");
    };
    assert_eq!(sent.peers, response.peers[..MAX_PEERS]);
}
