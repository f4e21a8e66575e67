//! The piece map's runs: one entry per piece for small torrents, capped
//! for large ones, and never "complete" for a run that is not.

use super::*;

#[test]
fn a_small_torrent_has_one_entry_per_piece() {
    let map = piece_map(5, |p| p % 2 == 0);
    assert_eq!(map, [100, 0, 100, 0, 100]);
}

#[test]
fn a_torrent_without_pieces_has_an_empty_map() {
    assert!(piece_map(0, |_| true).is_empty());
}

#[test]
fn a_large_torrent_is_capped_and_every_piece_falls_in_one_run() {
    let pieces = 100_003;
    let map = piece_map(pieces, |p| p < pieces / 2);
    assert_eq!(map.len(), PIECE_MAP_MAX_ENTRIES);
    assert_eq!(map[0], 100);
    assert_eq!(map[PIECE_MAP_MAX_ENTRIES - 1], 0);
    // The first half verified: full runs, at most one run split, then empty ones.
    assert!(map.windows(2).all(|w| w[0] >= w[1]), "{map:?}");
    let partial = map.iter().filter(|&&m| m > 0 && m < 100).count();
    assert!(partial <= 1, "{map:?}");
    let full = map.iter().filter(|&&m| m == 100).count();
    assert!((255..=256).contains(&full), "{full} full runs");
}

#[test]
fn a_run_missing_one_piece_is_not_shown_complete() {
    let map = piece_map(PIECE_MAP_MAX_ENTRIES * 1000, |p| p != 0);
    assert_eq!(map[0], 99);
    assert!(map[1..].iter().all(|&m| m == 100));
}
