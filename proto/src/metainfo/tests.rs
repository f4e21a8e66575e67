use super::*;
use crate::bencode::{OwnedValue, encode};
use crate::webseed;

fn hashes(n: usize) -> OwnedValue {
    OwnedValue::Bytes(vec![7u8; 20 * n])
}

fn single(len: i64, piece: i64, pieces: usize) -> OwnedValue {
    OwnedValue::dict()
        .with("name", OwnedValue::bytes("file.bin"))
        .with("length", OwnedValue::Int(len))
        .with("piece length", OwnedValue::Int(piece))
        .with("pieces", hashes(pieces))
}

fn file(path: &[&str], len: i64) -> OwnedValue {
    OwnedValue::dict()
        .with("length", OwnedValue::Int(len))
        .with(
            "path",
            OwnedValue::List(path.iter().map(OwnedValue::bytes).collect()),
        )
}

fn multi(files: Vec<OwnedValue>, piece: i64, pieces: usize) -> OwnedValue {
    OwnedValue::dict()
        .with("name", OwnedValue::bytes("folder"))
        .with("files", OwnedValue::List(files))
        .with("piece length", OwnedValue::Int(piece))
        .with("pieces", hashes(pieces))
}

fn torrent(info: OwnedValue) -> Vec<u8> {
    encode(&OwnedValue::dict().with("info", info))
}

fn parse(info: OwnedValue) -> Result<Metainfo, MetainfoError> {
    Metainfo::from_bytes(&torrent(info))
}

#[test]
fn a_single_file_torrent_with_every_outer_field_parses() {
    let info = single(40_000, 16384, 3)
        .with("private", OwnedValue::Int(1))
        .with("source", OwnedValue::bytes("team"));
    let tier = |urls: &[&str]| OwnedValue::List(urls.iter().map(OwnedValue::bytes).collect());
    let bytes = encode(
        &OwnedValue::dict()
            .with("announce", OwnedValue::bytes("http://ignored/announce"))
            .with(
                "announce-list",
                OwnedValue::List(vec![
                    tier(&["http://a/ann", " http://b/ann "]),
                    tier(&["udp://c:1"]),
                    tier(&[]),
                ]),
            )
            .with("url-list", OwnedValue::bytes("http://seed/"))
            .with("creation date", OwnedValue::Int(1_700_000_000))
            .with("comment", OwnedValue::bytes("hello"))
            .with("created by", OwnedValue::bytes("p2p test"))
            .with("info", info.clone()),
    );
    let m = Metainfo::from_bytes(&bytes).unwrap();
    assert_eq!(m.info_hash, InfoHash::of_info_bytes(&encode(&info)));
    assert_eq!(m.raw_info, encode(&info));
    assert_eq!(
        m.trackers,
        vec![
            vec!["http://a/ann".to_string(), "http://b/ann".into()],
            vec!["udp://c:1".into()]
        ]
    );
    assert_eq!(m.web_seeds, ["http://seed/"]);
    assert_eq!(m.creation_date, Some(1_700_000_000));
    assert_eq!(m.comment.as_deref(), Some("hello"));
    assert_eq!(m.created_by.as_deref(), Some("p2p test"));
    assert!(m.info.private);
    assert_eq!(m.info.source.as_deref(), Some("team"));
    assert!(!m.info.multi_file);
    assert_eq!(m.info.files.len(), 1);
    assert_eq!(m.info.files[0].path, ["file.bin"]);
    assert_eq!(m.piece_count(), 3);
    assert_eq!(m.piece_size(0), Some(16384));
    assert_eq!(m.piece_size(2), Some(40_000 - 2 * 16384));
    assert_eq!(m.piece_size(3), None);
}

#[test]
fn announce_alone_becomes_one_tier() {
    let bytes = encode(
        &OwnedValue::dict()
            .with("announce", OwnedValue::bytes("http://t/announce"))
            .with("info", single(10, 16384, 1)),
    );
    assert_eq!(
        Metainfo::from_bytes(&bytes).unwrap().trackers,
        vec![vec!["http://t/announce".to_string()]]
    );
}

#[test]
fn the_info_hash_is_taken_over_the_raw_bytes_even_with_unsorted_keys() {
    // "pieces" before "name": legal in the wild, and re-encoding would sort it.
    let raw_info = b"d6:pieces20:aaaaaaaaaaaaaaaaaaaa4:name1:x6:lengthi5e12:piece lengthi16384ee";
    let mut bytes = b"d4:info".to_vec();
    bytes.extend_from_slice(raw_info);
    bytes.push(b'e');
    let m = Metainfo::from_bytes(&bytes).unwrap();
    assert_eq!(m.info_hash, InfoHash::of_info_bytes(raw_info));
    assert_eq!(m.raw_info, raw_info);
}

#[test]
fn unknown_keys_inside_info_are_kept_and_change_the_hash() {
    let plain = parse(single(10, 16384, 1)).unwrap();
    let extra = parse(single(10, 16384, 1).with("x-custom", OwnedValue::Int(1))).unwrap();
    assert_ne!(plain.info_hash, extra.info_hash);
    assert!(extra.raw_info.windows(8).any(|w| w == b"x-custom"));
}

#[test]
fn multi_file_offsets_pad_files_and_symlinks_are_understood() {
    let pad = OwnedValue::dict()
        .with("length", OwnedValue::Int(6))
        .with("attr", OwnedValue::bytes("p"));
    let link = file(&["link"], 99).with("attr", OwnedValue::bytes("l"));
    let exe = file(&["run.sh"], 4).with("attr", OwnedValue::bytes("x"));
    let m = parse(multi(
        vec![file(&["a", "b.txt"], 10), pad, link, exe],
        32,
        1,
    ))
    .unwrap();
    let f = &m.info.files;
    assert!(m.info.multi_file);
    assert_eq!(f[0].path, ["folder", "a", "b.txt"]);
    assert_eq!((f[1].pad, f[1].offset, f[1].length), (true, 10, 6));
    assert_eq!((f[2].symlink, f[2].length, f[2].offset), (true, 0, 16));
    assert_eq!((f[3].executable, f[3].offset), (true, 16));
    assert_eq!(m.info.total_length, 20);
}

#[test]
fn unsafe_components_are_sanitised_not_followed() {
    let m = parse(multi(
        vec![file(&["..", "C:", "a\\b", "/etc", "CON"], 10)],
        16384,
        1,
    ))
    .unwrap();
    assert_eq!(
        m.info.files[0].path,
        ["folder", "C_", "a_b", "_etc", "_CON"]
    );
}

#[test]
fn malformed_torrents_get_specific_errors() {
    use MetainfoError as E;
    let no_name = OwnedValue::dict()
        .with("length", OwnedValue::Int(1))
        .with("piece length", OwnedValue::Int(16384))
        .with("pieces", hashes(1));
    assert_eq!(parse(no_name), Err(E::MissingName));
    assert_eq!(parse(single(10, 0, 1)), Err(E::BadPieceLength(0)));
    assert_eq!(parse(single(10, -5, 1)), Err(E::BadPieceLength(-5)));
    assert_eq!(
        parse(single(10, 1 << 40, 1)),
        Err(E::BadPieceLength(1 << 40))
    );
    assert_eq!(
        parse(single(10, 16384, 1).with("pieces", OwnedValue::Bytes(vec![0; 21]))),
        Err(E::PiecesNotMultipleOf20(21))
    );
    assert_eq!(
        parse(single(40_000, 16384, 2)),
        Err(E::PieceCountMismatch {
            found: 2,
            expected: 3,
            total_length: 40_000,
            piece_length: 16384
        })
    );
    assert_eq!(parse(single(0, 16384, 0)), Err(E::EmptyTorrent));
    assert!(matches!(
        parse(single(-1, 16384, 1)),
        Err(E::BadFileLength { index: 0, .. })
    ));
    assert_eq!(
        parse(single(10, 16384, 1).with("files", OwnedValue::List(vec![]))),
        Err(E::BothLengthAndFiles)
    );
    assert_eq!(parse(multi(vec![], 16384, 1)), Err(E::NoFiles));
    assert_eq!(
        parse(multi(vec![file(&["a"], 1), file(&["a"], 1)], 16384, 1)),
        Err(E::DuplicatePath("folder/a".into()))
    );
    assert_eq!(
        parse(multi(vec![file(&["a"], 1), file(&["a", "b"], 1)], 16384, 1)),
        Err(E::FileFolderConflict("folder/a".into()))
    );
    assert_eq!(
        parse(multi(vec![file(&["a", "b"], 1), file(&["a"], 1)], 16384, 1)),
        Err(E::FileFolderConflict("folder/a".into()))
    );
    assert_eq!(
        parse(multi(vec![file(&["..", "."], 1)], 16384, 1)),
        Err(E::EmptyPath {
            index: 0,
            raw: "../.".into()
        })
    );
    assert_eq!(
        parse(multi(
            vec![
                file(&["a"], 1 << 49),
                file(&["b"], 1 << 49),
                file(&["c"], 1)
            ],
            1 << 20,
            1
        )),
        Err(E::TotalLengthTooLarge)
    );
    assert_eq!(Metainfo::from_bytes(b"le"), Err(E::NotADictionary("list")));
    assert_eq!(Metainfo::from_bytes(b"d4:infoi1ee"), Err(E::MissingInfo));
}

#[test]
fn v2_only_torrents_are_refused_and_hybrids_load_as_v1() {
    let tree = |len: i64| {
        OwnedValue::dict().with(
            "file.bin",
            OwnedValue::dict().with(
                "",
                OwnedValue::dict()
                    .with("length", OwnedValue::Int(len))
                    .with("pieces root", OwnedValue::Bytes(vec![1; 32])),
            ),
        )
    };
    let v2_only = OwnedValue::dict()
        .with("name", OwnedValue::bytes("file.bin"))
        .with("meta version", OwnedValue::Int(2))
        .with("piece length", OwnedValue::Int(16384))
        .with("file tree", tree(10));
    assert_eq!(parse(v2_only), Err(MetainfoError::V2NotSupported));
    let hybrid = single(10, 16384, 1)
        .with("meta version", OwnedValue::Int(2))
        .with("file tree", tree(10));
    assert!(parse(hybrid).is_ok());
    let lying = single(10, 16384, 1)
        .with("meta version", OwnedValue::Int(2))
        .with("file tree", tree(11));
    assert!(matches!(
        parse(lying),
        Err(MetainfoError::HybridMismatch(_))
    ));
}

#[test]
fn encode_torrent_keeps_the_info_bytes_and_writes_tiers() {
    let raw_info = b"d6:pieces20:aaaaaaaaaaaaaaaaaaaa4:name1:x6:lengthi5e12:piece lengthi16384ee";
    let extras = TorrentExtras {
        trackers: vec![
            vec!["http://a/".into(), "http://b/".into()],
            vec!["http://c/".into()],
        ],
        web_seeds: vec!["http://w/".into()],
        comment: Some("c".into()),
        created_by: Some("me".into()),
        creation_date: Some(5),
    };
    let bytes = encode_torrent(raw_info, &extras);
    let m = Metainfo::from_bytes(&bytes).unwrap();
    assert_eq!(m.raw_info, raw_info);
    assert_eq!(m.trackers, extras.trackers);
    assert_eq!(m.web_seeds, extras.web_seeds);
    assert_eq!(
        (
            m.creation_date,
            m.comment.as_deref(),
            m.created_by.as_deref()
        ),
        (Some(5), Some("c"), Some("me"))
    );
    // Keys of the outer dictionary are sorted, as BEP 3 asks.
    let root = crate::bencode::decode(&bytes).unwrap();
    let keys: Vec<&[u8]> = root.as_dict().unwrap().iter().map(|(k, _)| *k).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    // A single tracker writes `announce` only, as mktorrent does.
    let one = encode_torrent(
        raw_info,
        &TorrentExtras {
            trackers: vec![vec!["http://a/".into()]],
            ..Default::default()
        },
    );
    assert!(!one.windows(13).any(|w| w == b"announce-list"));
}

#[test]
fn the_magnet_link_carries_name_size_and_trackers() {
    let bytes = encode(
        &OwnedValue::dict()
            .with("announce", OwnedValue::bytes("http://t/announce"))
            .with("info", single(10, 16384, 1)),
    );
    let m = Metainfo::from_bytes(&bytes).unwrap();
    let link = m.magnet().to_string();
    assert_eq!(
        link,
        format!(
            "magnet:?xt=urn:btih:{}&dn=file.bin&xl=10&tr=http%3A%2F%2Ft%2Fannounce",
            m.info_hash
        )
    );
}

fn with_url_list(url_list: OwnedValue) -> Metainfo {
    let bytes = encode(
        &OwnedValue::dict()
            .with("url-list", url_list)
            .with("info", single(40_000, 16384, 3)),
    );
    Metainfo::from_bytes(&bytes).unwrap()
}

#[test]
fn a_url_list_may_be_one_string_or_a_list_of_strings() {
    assert_eq!(
        with_url_list(OwnedValue::bytes("https://seed/file")).web_seeds,
        ["https://seed/file"]
    );
    let list = OwnedValue::List(vec![
        OwnedValue::bytes("http://a/"),
        OwnedValue::bytes(" http://b/x "),
        OwnedValue::bytes("http://a/"),
    ]);
    assert_eq!(with_url_list(list).web_seeds, ["http://a/", "http://b/x"]);
}

#[test]
fn hostile_url_list_entries_are_skipped_and_the_torrent_still_loads() {
    let long = format!("http://h/{}", "a".repeat(webseed::MAX_WEB_SEED_URL_BYTES));
    let list = OwnedValue::List(vec![
        OwnedValue::Int(7),
        OwnedValue::List(vec![OwnedValue::bytes("http://nested/")]),
        OwnedValue::dict(),
        OwnedValue::Bytes(vec![0xff, 0xfe]),
        OwnedValue::bytes("file:///etc/passwd"),
        OwnedValue::bytes("http://h/\r\nInjected: 1"),
        OwnedValue::bytes(&long),
        OwnedValue::bytes(""),
        OwnedValue::bytes("http://good/"),
    ]);
    assert_eq!(with_url_list(list).web_seeds, ["http://good/"]);
    assert!(with_url_list(OwnedValue::Int(1)).web_seeds.is_empty());
    assert!(with_url_list(OwnedValue::dict()).web_seeds.is_empty());
    let many = OwnedValue::List(
        (0..10_000)
            .map(|i| OwnedValue::bytes(format!("http://h{i}/")))
            .collect(),
    );
    let m = with_url_list(many);
    assert_eq!(m.web_seeds.len(), webseed::MAX_WEB_SEEDS);
    assert_eq!(m.web_seeds[0], "http://h0/");
}
