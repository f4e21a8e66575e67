use std::collections::HashSet;

use super::*;
use crate::engine::piecebuf::PieceBuf;

const PIECE: u64 = 4 * BLOCK_LEN as u64;

fn picker(pieces: usize, have: &[usize]) -> Picker {
    let mut bf = Bitfield::new(pieces);
    for &i in have {
        bf.set(i, true);
    }
    // The last piece is one and a half blocks long.
    let total = (pieces as u64 - 1) * PIECE + u64::from(BLOCK_LEN) * 3 / 2;
    Picker::new(PIECE, total, bf, 42)
}

fn peer_with(pieces: usize, which: impl IntoIterator<Item = usize>) -> Bitfield {
    let mut bf = Bitfield::new(pieces);
    for i in which {
        bf.set(i, true);
    }
    bf
}

fn deliver(p: &mut Picker, blocks: &[BlockRef]) -> Vec<(u32, PieceBuf)> {
    let mut done = Vec::new();
    for b in blocks {
        let bytes = vec![b.index as u8; b.length as usize];
        if let Received::PieceComplete { index, data, .. } = p.received(1, *b, &bytes) {
            done.push((index, data));
        }
    }
    done
}

#[test]
fn blocks_cover_a_piece_and_the_short_last_piece() {
    let mut p = picker(3, &[0, 1]);
    let peer = peer_with(3, 0..3);
    let mut out = Vec::new();
    p.pick(1, &peer, &|_| false, 10, &mut out);
    assert_eq!(
        out,
        [
            BlockRef {
                index: 2,
                begin: 0,
                length: BLOCK_LEN
            },
            BlockRef {
                index: 2,
                begin: BLOCK_LEN,
                length: BLOCK_LEN / 2
            },
        ]
    );
    let done = deliver(&mut p, &out);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].1.len(), (BLOCK_LEN * 3 / 2) as usize);
}

#[test]
fn started_pieces_are_finished_before_new_ones() {
    let mut p = picker(10, &[]);
    let peer = peer_with(10, 0..10);
    let mut first = Vec::new();
    p.pick(1, &peer, &|_| false, 2, &mut first);
    assert_eq!(first.len(), 2);
    let started = first[0].index;
    let mut next = Vec::new();
    p.pick(1, &peer, &|_| false, 2, &mut next);
    assert!(next.iter().all(|b| b.index == started), "{next:?}");
}

#[test]
fn rarest_pieces_are_picked_first_once_a_few_pieces_are_had() {
    let mut p = picker(10, &[0, 1, 2, 3]);
    for _ in 0..3 {
        p.add_peer(&peer_with(10, 4..10));
    }
    p.add_peer(&peer_with(10, [7]));
    // Piece 7 has 4 copies, 4..10 others 3; piece 9 only in the peer we ask.
    let peer = peer_with(10, [7, 9]);
    p.remove_peer(&peer_with(10, [9]));
    let mut out = Vec::new();
    p.pick(1, &peer, &|_| false, 1, &mut out);
    assert_eq!(out[0].index, 9);
}

#[test]
fn nothing_is_picked_from_a_peer_without_missing_pieces() {
    let mut p = picker(4, &[0, 1]);
    let peer = peer_with(4, [0, 1]);
    assert!(!p.is_interesting(&peer));
    let mut out = Vec::new();
    p.pick(1, &peer, &|_| false, 8, &mut out);
    assert!(out.is_empty());
}

#[test]
fn cancelled_blocks_are_asked_again() {
    let mut p = picker(2, &[0]);
    let peer = peer_with(2, [1]);
    let mut out = Vec::new();
    p.pick(1, &peer, &|_| false, 1, &mut out);
    p.cancelled(out[0]);
    let mut again = Vec::new();
    p.pick(1, &peer, &|_| false, 1, &mut again);
    assert_eq!(out, again);
}

#[test]
fn endgame_asks_a_second_peer_for_blocks_in_flight_but_never_the_same_peer_twice() {
    let mut p = picker(2, &[0]);
    let a = peer_with(2, [1]);
    let mut from_a = Vec::new();
    p.pick(1, &a, &|_| false, 10, &mut from_a);
    assert_eq!(from_a.len(), 2);
    let a_in_flight: HashSet<BlockRef> = from_a.iter().copied().collect();
    let mut again_a = Vec::new();
    p.pick(1, &a, &|b| a_in_flight.contains(b), 10, &mut again_a);
    assert!(again_a.is_empty());
    let mut from_b = Vec::new();
    p.pick(2, &a, &|_| false, 10, &mut from_b);
    assert_eq!(from_b, from_a);
    // A third peer gets nothing: two copies in flight is the limit.
    let mut from_c = Vec::new();
    p.pick(3, &a, &|_| false, 10, &mut from_c);
    assert!(from_c.is_empty());
    // The first copy to arrive wins and reports the duplicate; the second is unwanted.
    assert_eq!(
        p.received(1, from_a[0], &vec![0; from_a[0].length as usize]),
        Received::Stored { duplicated: true }
    );
    assert_eq!(
        p.received(2, from_b[0], &vec![0; from_b[0].length as usize]),
        Received::Unwanted
    );
}

#[test]
fn a_failed_piece_is_downloaded_again_and_a_verified_one_never() {
    let mut p = picker(2, &[0]);
    let peer = peer_with(2, [1]);
    let mut out = Vec::new();
    p.pick(1, &peer, &|_| false, 10, &mut out);
    assert_eq!(deliver(&mut p, &out).len(), 1);
    // While it is being verified, nobody is asked for it.
    let mut during = Vec::new();
    p.pick(1, &peer, &|_| false, 10, &mut during);
    assert!(during.is_empty());
    p.failed(1);
    let mut again = Vec::new();
    p.pick(1, &peer, &|_| false, 10, &mut again);
    assert_eq!(again, out);
    deliver(&mut p, &again);
    p.verified(1);
    assert!(p.is_complete());
    let mut after = Vec::new();
    p.pick(1, &peer, &|_| false, 10, &mut after);
    assert!(after.is_empty());
}

#[test]
fn blocks_of_the_wrong_size_or_offset_are_refused() {
    let mut p = picker(2, &[0]);
    let peer = peer_with(2, [1]);
    let mut out = Vec::new();
    p.pick(1, &peer, &|_| false, 10, &mut out);
    let b = out[0];
    assert_eq!(p.received(1, b, &[0; 10]), Received::Unwanted);
    let odd = BlockRef { begin: 1, ..b };
    assert_eq!(
        p.received(1, odd, &vec![0; b.length as usize]),
        Received::Unwanted
    );
    let never = BlockRef { index: 0, ..b };
    assert_eq!(
        p.received(1, never, &vec![0; b.length as usize]),
        Received::Unwanted
    );
}

#[test]
fn a_piece_started_by_one_peer_is_left_to_it_until_it_lets_go() {
    let mut p = picker(3, &[0]);
    let all = peer_with(3, 0..3);
    let mut a = Vec::new();
    p.pick(1, &all, &|_| false, 2, &mut a);
    let mut b = Vec::new();
    p.pick(2, &all, &|_| false, 2, &mut b);
    assert!(
        a.iter().all(|x| b.iter().all(|y| x.index != y.index)),
        "{a:?} {b:?}"
    );
    // Peer 1 goes away: its piece is free for peer 2, whose blocks of it are reported as its own.
    p.cancelled(a[0]);
    p.cancelled(a[1]);
    let mut later = Vec::new();
    let asked: HashSet<BlockRef> = b.iter().copied().collect();
    p.pick(2, &all, &|x| asked.contains(x), 8, &mut later);
    assert!(later.iter().any(|x| x.index == a[0].index));
    let mut complete = None;
    for blk in b.iter().chain(&later) {
        if let Received::PieceComplete {
            index,
            contributors,
            ..
        } = p.received(2, *blk, &vec![0; blk.length as usize])
        {
            complete.get_or_insert((index, contributors));
        }
    }
    assert_eq!(complete.map(|c| c.1), Some(vec![2]));
}

#[test]
fn after_the_random_start_equally_rare_pieces_come_in_order() {
    let mut p = picker(20, &[0, 1, 2, 3]);
    let all = peer_with(20, 0..20);
    p.add_peer(&all);
    // Piece 9 is rarer than the rest: it goes first, then the run goes on from it.
    p.add_peer(&peer_with(20, (0..20).filter(|&i| i != 9)));
    let mut order = Vec::new();
    for _ in 0..5 {
        let mut out = Vec::new();
        p.pick(1, &all, &|_| false, 4, &mut out);
        assert!(out.iter().all(|b| b.index == out[0].index), "{out:?}");
        order.push(out[0].index);
    }
    assert_eq!(order, [9, 10, 11, 12, 13]);
}

#[test]
fn the_rarest_missing_piece_follows_peers_and_verified_pieces() {
    let mut p = picker(4, &[0]);
    assert_eq!(p.rarest_missing(), 0);
    let a = peer_with(4, 0..4);
    let b = peer_with(4, [1, 2]);
    p.add_peer(&a);
    assert_eq!(p.rarest_missing(), 1);
    p.add_peer(&b);
    // Pieces 1 and 2 are on two peers, piece 3 on one.
    assert_eq!(p.rarest_missing(), 1);
    p.verified(3);
    assert_eq!(p.rarest_missing(), 2);
    p.remove_peer(&a);
    assert_eq!(p.rarest_missing(), 1);
    p.peer_has(1);
    p.peer_has(2);
    assert_eq!(p.rarest_missing(), 2);
    p.verified(1);
    p.verified(1);
    p.verified(2);
    assert_eq!(p.rarest_missing(), 0, "nothing missing");
}

/// The bytes block `b` should hold (its piece index, then a count).
fn block_bytes(b: &BlockRef) -> Vec<u8> {
    (0..b.length)
        .map(|i| (b.index as u8).wrapping_add(b.begin as u8 ^ i as u8))
        .collect()
}

#[test]
fn blocks_read_into_their_slots_make_the_same_piece_as_copied_ones() {
    let mut p = picker(3, &[0]);
    let peer = peer_with(3, [1, 2]);
    let mut asked = Vec::new();
    p.pick(1, &peer, &|_| false, 10, &mut asked);
    assert_eq!(asked.len(), 6, "two pieces of 4 and of 1.5 blocks");
    let mut slots = Vec::new();
    p.slots_mut(&asked, &mut slots);
    assert_eq!(slots.len(), asked.len());
    for (slot, b) in slots.iter_mut().zip(&asked) {
        assert_eq!(slot.len(), b.length as usize);
        slot.copy_from_slice(&block_bytes(b));
    }
    let mut done = Vec::new();
    for b in &asked {
        if let Received::PieceComplete { index, data, .. } = p.received_in_place(1, *b) {
            done.push((index, data));
        }
    }
    assert_eq!(done.len(), 2);
    for (index, data) in done {
        let want: Vec<u8> = asked
            .iter()
            .filter(|b| b.index == index)
            .flat_map(block_bytes)
            .collect();
        assert!(*data == want[..], "piece {index}");
    }
}

#[test]
fn slots_are_lent_only_for_blocks_one_peer_was_asked_for_and_nobody_delivered() {
    let mut p = picker(4, &[0]);
    let peer = peer_with(4, [1, 2]);
    let mut asked = Vec::new();
    p.pick(1, &peer, &|_| false, 5, &mut asked);
    let [first, second, third, ..] = asked[..] else {
        panic!("{asked:?}");
    };
    assert_eq!(
        p.received(1, second, &block_bytes(&second)),
        Received::Stored { duplicated: false }
    );
    // The run of slots stops at the first block without one.
    let mut slots = Vec::new();
    p.slots_mut(&[first, second, third], &mut slots);
    assert_eq!(slots.len(), 1, "a received block gets no slot");
    let never = BlockRef {
        index: 3,
        begin: 0,
        length: BLOCK_LEN,
    };
    let mut slots = Vec::new();
    p.slots_mut(&[never], &mut slots);
    assert!(slots.is_empty(), "a block of a piece not started");
    let mut slots = Vec::new();
    p.slots_mut(&[first, first], &mut slots);
    assert_eq!(slots.len(), 1, "one slot per block");
    // Endgame: a block asked of two peers may come from either, so neither reads it in place.
    p.cancelled(third);
    let mut again = Vec::new();
    p.pick(2, &peer, &|_| false, 1, &mut again);
    let mut dup = Vec::new();
    p.pick(3, &peer, &|b| *b != again[0], 10, &mut dup);
    assert!(dup.contains(&again[0]), "{dup:?}");
    let mut slots = Vec::new();
    p.slots_mut(&again, &mut slots);
    assert!(slots.is_empty(), "a block asked twice");
}

#[test]
fn stray_bytes_of_a_wrong_guess_are_overwritten_when_the_blocks_arrive() {
    let mut p = picker(2, &[0]);
    let peer = peer_with(2, [1]);
    let mut asked = Vec::new();
    p.pick(1, &peer, &|_| false, 10, &mut asked);
    assert_eq!(
        p.received(1, asked[0], &block_bytes(&asked[0])),
        Received::Stored { duplicated: false }
    );
    // A read guessed the other blocks, and the peer sent something else.
    let mut slots = Vec::new();
    p.slots_mut(&asked[1..], &mut slots);
    assert_eq!(slots.len(), asked.len() - 1);
    for slot in slots {
        slot.fill(0xee);
    }
    let done = asked[1..]
        .iter()
        .rev()
        .filter_map(|b| match p.received(1, *b, &block_bytes(b)) {
            Received::PieceComplete { data, .. } => Some(data),
            _ => None,
        })
        .next()
        .unwrap();
    let want: Vec<u8> = asked.iter().flat_map(block_bytes).collect();
    assert!(*done == want[..]);
}

#[test]
fn a_web_seed_claims_whole_pieces_peers_then_leave_alone() {
    let mut p = picker(4, &[]);
    let all = peer_with(4, 0..4);
    let (index, buf) = p.claim_for_web_seed(100, 0).unwrap();
    assert_eq!((index, buf.len()), (0, PIECE as usize));
    let mut out = Vec::new();
    p.pick(1, &all, &|_| false, 100, &mut out);
    assert!(out.iter().all(|b| b.index != 0), "{out:?}");
    assert!(p.web_seed_done(100, 0));
    // Handed in: a second call has nothing to hand in.
    assert!(!p.web_seed_done(100, 0));
    p.verified(0);
    assert!(p.have().get(0));
}

#[test]
fn a_web_seed_takes_the_pieces_no_peer_has_first() {
    let mut p = picker(4, &[]);
    p.add_peer(&peer_with(4, [0, 1, 3]));
    assert_eq!(p.claim_for_web_seed(100, 0).unwrap().0, 2);
    // Then the rest, from where it asks.
    assert_eq!(p.claim_for_web_seed(100, 3).unwrap().0, 3);
    assert_eq!(p.claim_for_web_seed(100, 0).unwrap().0, 0);
    assert_eq!(p.claim_for_web_seed(100, 0).unwrap().0, 1);
    assert!(p.claim_for_web_seed(100, 0).is_none());
}

#[test]
fn a_web_seed_never_takes_a_piece_a_peer_is_fetching() {
    let mut p = picker(2, &[]);
    let all = peer_with(2, 0..2);
    let mut out = Vec::new();
    p.pick(1, &all, &|_| false, 1, &mut out);
    let peers_piece = out[0].index;
    let (mine, _) = p.claim_for_web_seed(100, peers_piece).unwrap();
    assert_ne!(mine, peers_piece);
    assert!(p.claim_for_web_seed(100, 0).is_none());
    // The peer leaves: its piece is free for the web seed.
    p.cancelled(out[0]);
    assert_eq!(p.claim_for_web_seed(100, 0).unwrap().0, peers_piece);
}

#[test]
fn a_released_web_seed_piece_goes_back_to_everyone() {
    let mut p = picker(1, &[]);
    let all = peer_with(1, [0]);
    p.claim_for_web_seed(100, 0).unwrap();
    p.web_seed_released(100, 0);
    let mut out = Vec::new();
    p.pick(1, &all, &|_| false, 100, &mut out);
    assert_eq!(out.len(), 2, "the whole piece is asked of the peer");
}

#[test]
fn in_endgame_peers_may_finish_a_web_seed_piece_first() {
    let mut p = picker(1, &[]);
    let all = peer_with(1, [0]);
    p.claim_for_web_seed(100, 0).unwrap();
    let mut out = Vec::new();
    p.pick(1, &all, &|_| false, 100, &mut out);
    assert_eq!(out.len(), 2, "endgame doubles the web seed's blocks");
    assert_eq!(deliver(&mut p, &out).len(), 1);
    // The web seed's copy is not handed in a second time.
    assert!(!p.web_seed_done(100, 0));
}

#[test]
fn a_piece_a_web_seed_gives_up_keeps_what_a_peer_sent_of_it() {
    let mut p = picker(1, &[]);
    let all = peer_with(1, [0]);
    p.claim_for_web_seed(100, 0).unwrap();
    let mut out = Vec::new();
    p.pick(1, &all, &|_| false, 100, &mut out);
    assert_eq!(deliver(&mut p, &out[..1]).len(), 0);
    p.web_seed_released(100, 0);
    // The peer's block is kept; the other one is asked again.
    p.cancelled(out[1]);
    let mut again = Vec::new();
    p.pick(1, &all, &|_| false, 100, &mut again);
    assert_eq!(again, [out[1]]);
    let done = deliver(&mut p, &again);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].1.len(), (BLOCK_LEN * 3 / 2) as usize);
}

/// Every piece `p` asks a peer with everything for, in order, delivering
/// each piece as it is picked.
fn picking_order(p: &mut Picker, pieces: usize) -> Vec<u32> {
    let peer = peer_with(pieces, 0..pieces);
    let mut order = Vec::new();
    loop {
        let mut out = Vec::new();
        p.pick(1, &peer, &|_| false, 4, &mut out);
        if out.is_empty() {
            return order;
        }
        for (index, _) in deliver(p, &out) {
            order.push(index);
            p.verified(index);
        }
    }
}

#[test]
fn skipped_pieces_are_never_picked_and_high_goes_before_normal_before_low() {
    use FilePriority::*;
    let mut p = picker(8, &[0, 1, 2, 3]);
    p.set_priorities(vec![
        Normal, Normal, Normal, Normal, Low, Skip, High, Normal,
    ]);
    assert_eq!(p.wanted_missing(), 3);
    assert!(!p.is_done());
    assert!(p.wants(4) && !p.wants(5) && !p.wants(0));
    let order = picking_order(&mut p, 8);
    assert_eq!(order, [6, 7, 4]);
    assert!(p.is_done(), "every wanted piece is in");
    assert!(!p.is_complete(), "piece 5 is still missing");
    // Wanted again later: it is fetched.
    p.set_priorities(vec![Normal; 8]);
    assert!(!p.is_done());
    assert_eq!(picking_order(&mut p, 8), [5]);
    assert!(p.is_done() && p.is_complete());
}

#[test]
fn a_peer_with_only_skipped_pieces_gets_no_requests_even_in_endgame() {
    use FilePriority::*;
    let mut p = picker(4, &[]);
    p.set_priorities(vec![Skip, Normal, Skip, Skip]);
    let peer = peer_with(4, [0, 2, 3]);
    let mut out = Vec::new();
    p.pick(1, &peer, &|_| false, 16, &mut out);
    assert!(out.is_empty(), "{out:?}");
    assert!(p.claim_for_web_seed(9, 0).is_some_and(|(i, _)| i == 1));
}

#[test]
fn sequential_mode_takes_pieces_in_order_after_the_first_pieces_of_media_files() {
    let mut p = picker(12, &[]);
    p.set_streaming(Some(Streaming { first: vec![0, 11] }));
    assert!(p.is_streaming());
    let order = picking_order(&mut p, 12);
    assert_eq!(order, [0, 11, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
}

#[test]
fn sequential_mode_takes_the_rarest_inside_its_window_and_nothing_past_it_first() {
    // 64 KiB pieces: a 64-piece window (4 MiB).
    let n = 100;
    let mut p = picker(n, &[]);
    p.add_peer(&peer_with(n, 0..n));
    p.add_peer(&peer_with(n, (0..n).filter(|&i| i != 10 && i != 70)));
    p.set_streaming(Some(Streaming { first: vec![] }));
    let order = picking_order(&mut p, n);
    // Piece 10 is rarer than its neighbours inside the window: first.
    // Piece 70 is as rare but past the window: taken only once the window,
    // moving with the first missing piece, reaches it (64 wanted pieces
    // from piece 6).
    assert_eq!(order[0], 10, "{order:?}");
    let at_70 = order.iter().position(|&i| i == 70).unwrap();
    assert_eq!(order[..at_70], [10, 0, 1, 2, 3, 4, 5], "{order:?}");
    let rest: Vec<u32> = order
        .iter()
        .copied()
        .filter(|&i| i != 10 && i != 70)
        .collect();
    assert!(rest.windows(2).all(|w| w[0] < w[1]), "{order:?}");
}

#[test]
fn sequential_mode_gives_a_peer_without_the_window_the_next_pieces_past_it() {
    let n = 100;
    let mut p = picker(n, &[]);
    p.set_streaming(Some(Streaming { first: vec![] }));
    let late = peer_with(n, 80..n);
    let mut out = Vec::new();
    p.pick(1, &late, &|_| false, 4, &mut out);
    assert_eq!(out.first().map(|b| b.index), Some(80), "{out:?}");
    // Off again: back to the usual choice (random first), which may be anything.
    p.set_streaming(None);
    assert!(!p.is_streaming());
}
