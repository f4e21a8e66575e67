//! File selection as piece maths: which pieces the files' priorities want
//! and how eagerly, which pieces hold bytes of more than one file (their
//! bytes of a skipped file go to the part file), how many verified bytes
//! each file has, and the priorities a `--files` list or a magnet link's
//! `so=` asks for. Pure: no I/O, no locks.

use p2p_proto::bitfield::Bitfield;
use p2p_proto::indexes::{IndexError, IndexRanges};
use p2p_proto::ipc::{FilePriority, FileSet};
use p2p_proto::metainfo::FileEntry;

/// Where a file lies in the torrent's byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First byte in the stream.
    pub offset: u64,
    /// Bytes.
    pub length: u64,
    /// Holds data of ours on disk: not a pad file nor a symlink, and not empty.
    pub real: bool,
}

impl Span {
    /// The spans of a torrent's files.
    pub fn of(files: &[FileEntry]) -> Vec<Span> {
        files
            .iter()
            .map(|f| Span {
                offset: f.offset,
                length: f.length,
                real: !f.pad && !f.symlink && f.length > 0,
            })
            .collect()
    }

    /// Pieces this file has bytes in (none when it holds no data).
    pub fn pieces(&self, piece_length: u64) -> std::ops::Range<u32> {
        if !self.real || piece_length == 0 {
            return 0..0;
        }
        let first = self.offset / piece_length;
        let last = (self.offset + self.length - 1) / piece_length;
        first as u32..last as u32 + 1
    }
}

/// File name endings of audio and video a player may start before the
/// whole file is there.
const MEDIA: &[&str] = &[
    "mp4", "m4v", "mkv", "webm", "avi", "mov", "wmv", "flv", "mpg", "mpeg", "ts", "m2ts", "ogv",
    "mp3", "m4a", "flac", "ogg", "oga", "opus", "wav", "aac", "wma",
];

/// The first and last piece of every media file (a player reads the
/// header, and often an index at the end, before anything else), in file
/// order, without repeats.
pub fn media_ends(files: &[FileEntry], piece_length: u64) -> Vec<u32> {
    let mut out = Vec::new();
    for (f, span) in files.iter().zip(Span::of(files)) {
        let media = f
            .path
            .last()
            .and_then(|n| n.rsplit_once('.'))
            .is_some_and(|(_, ext)| MEDIA.iter().any(|m| m.eq_ignore_ascii_case(ext)));
        let pieces = span.pieces(piece_length);
        if !media || pieces.is_empty() {
            continue;
        }
        for i in [pieces.start, pieces.end - 1] {
            if !out.contains(&i) {
                out.push(i);
            }
        }
    }
    out
}

/// Each piece's priority: the highest of the files it holds bytes of. A
/// piece of padding only goes with the lowest wanted priority, so that when
/// every file is wanted the whole torrent is fetched, as before selection.
pub fn piece_priorities(
    files: &[Span],
    priorities: &[FilePriority],
    piece_length: u64,
    piece_count: usize,
) -> Vec<FilePriority> {
    let mut out = vec![None::<FilePriority>; piece_count];
    for (f, &p) in files.iter().zip(priorities) {
        for i in f.pieces(piece_length) {
            if let Some(slot) = out.get_mut(i as usize) {
                *slot = Some(slot.map_or(p, |q| q.max(p)));
            }
        }
    }
    let filler = files
        .iter()
        .zip(priorities)
        .filter(|(f, p)| f.real && p.wanted())
        .map(|(_, p)| *p)
        .min()
        .map_or(FilePriority::Skip, |_| FilePriority::Low);
    out.into_iter().map(|p| p.unwrap_or(filler)).collect()
}

/// Pieces that hold bytes of two or more files, in order: the only pieces
/// that can be wanted (for one file) while holding bytes of a skipped one.
pub fn shared_pieces(files: &[Span], piece_length: u64) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::new();
    let mut prev_last: Option<u32> = None;
    for f in files.iter().filter(|f| f.real) {
        let r = f.pieces(piece_length);
        if prev_last == Some(r.start) && out.last() != Some(&r.start) {
            out.push(r.start);
        }
        prev_last = Some(r.end - 1);
    }
    out
}

/// Bytes of a file that lie in verified pieces.
pub fn verified_bytes(f: &Span, have: &Bitfield, piece_length: u64) -> u64 {
    f.pieces(piece_length)
        .filter(|&i| have.get(i as usize))
        .map(|i| {
            let start = u64::from(i) * piece_length;
            let end = start + piece_length;
            end.min(f.offset + f.length) - start.max(f.offset)
        })
        .sum()
}

/// Indexes (in the info dictionary) of the files people see: every file
/// but padding, in order. `files-of` numbers these from 1.
pub fn visible_files(files: &[FileEntry]) -> Vec<usize> {
    (0..files.len()).filter(|&i| !files[i].pad).collect()
}

/// Priorities for `--files`: the listed files (by their `files-of` index)
/// normal, the others skipped. Fails on an index past the last file.
pub fn from_file_set(files: &[FileEntry], set: &FileSet) -> Result<Vec<FilePriority>, IndexError> {
    let visible = visible_files(files);
    set.check_within(visible.len())?;
    let mut out = vec![FilePriority::Skip; files.len()];
    for (shown, &i) in visible.iter().enumerate() {
        if set.contains(shown) {
            out[i] = FilePriority::Normal;
        }
    }
    Ok(out)
}

/// Priorities for a magnet link's `so=` (BEP 53, indexes in the info
/// dictionary from 0): the listed files normal, the others skipped.
/// Indexes past the last file are ignored, as the link was written
/// without the metadata.
pub fn from_select_only(files: &[FileEntry], so: &IndexRanges) -> Vec<FilePriority> {
    (0..files.len())
        .map(|i| {
            if so.contains(i) {
                FilePriority::Normal
            } else {
                FilePriority::Skip
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use FilePriority::*;

    /// Four files of 10, 25, 3 and 12 bytes in pieces of 8: pieces 1, 4
    /// and 4 again are shared (file 3 lies inside piece 4 with the ends of
    /// files 2 and 4).
    fn four() -> Vec<Span> {
        let mut offset = 0;
        [10u64, 25, 3, 12]
            .iter()
            .map(|&length| {
                let s = Span {
                    offset,
                    length,
                    real: true,
                };
                offset += length;
                s
            })
            .collect()
    }

    #[test]
    fn a_piece_takes_the_highest_priority_of_its_files() {
        let files = four();
        // Bytes: f1 0..10, f2 10..35, f3 35..38, f4 38..50; pieces of 8: 7 pieces.
        let p = piece_priorities(&files, &[Normal, Skip, High, Skip], 8, 7);
        assert_eq!(p, [Normal, Normal, Skip, Skip, High, Skip, Skip]);
        let p = piece_priorities(&files, &[Skip, Low, Skip, Normal], 8, 7);
        assert_eq!(p, [Skip, Low, Low, Low, Normal, Normal, Normal]);
    }

    #[test]
    fn padding_only_pieces_go_last_or_not_at_all() {
        let files = [
            Span {
                offset: 0,
                length: 8,
                real: true,
            },
            Span {
                offset: 8,
                length: 8,
                real: false,
            },
            Span {
                offset: 16,
                length: 4,
                real: true,
            },
        ];
        assert_eq!(
            piece_priorities(&files, &[High, Normal, Normal], 8, 3),
            [High, Low, Normal]
        );
        assert_eq!(
            piece_priorities(&files, &[Skip, Normal, Skip], 8, 3),
            [Skip, Skip, Skip]
        );
    }

    #[test]
    fn shared_pieces_are_those_with_bytes_of_two_files() {
        assert_eq!(shared_pieces(&four(), 8), [1, 4]);
        // Files ending on piece boundaries share nothing.
        let aligned = [
            Span {
                offset: 0,
                length: 16,
                real: true,
            },
            Span {
                offset: 16,
                length: 8,
                real: true,
            },
        ];
        assert!(shared_pieces(&aligned, 8).is_empty());
    }

    #[test]
    fn verified_bytes_count_only_the_files_own_part_of_each_piece() {
        let files = four();
        let mut have = Bitfield::new(7);
        have.set(1, true);
        have.set(4, true);
        // f2 (10..35): piece 1 gives 10..16 = 6, piece 4 gives 32..35 = 3.
        assert_eq!(verified_bytes(&files[1], &have, 8), 9);
        // f3 lies wholly in piece 4.
        assert_eq!(verified_bytes(&files[2], &have, 8), 3);
        assert_eq!(verified_bytes(&files[0], &have, 8), 2);
        have.set(0, true);
        assert_eq!(verified_bytes(&files[0], &have, 8), 10);
    }

    fn entries(pads: &[bool]) -> Vec<FileEntry> {
        pads.iter()
            .enumerate()
            .map(|(i, &pad)| FileEntry {
                path: vec![format!("f{i}")],
                length: 1,
                offset: i as u64,
                pad,
                symlink: false,
                executable: false,
            })
            .collect()
    }

    #[test]
    fn a_file_set_counts_visible_files_from_one() {
        let files = entries(&[false, true, false, false]);
        let set = FileSet::parse("2-3").unwrap();
        assert_eq!(
            from_file_set(&files, &set).unwrap(),
            [Skip, Skip, Normal, Normal]
        );
        let e = from_file_set(&files, &FileSet::parse("4").unwrap()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "file 4 does not exist: the torrent has 3 files (1 to 3)"
        );
    }

    #[test]
    fn select_only_counts_from_zero_and_ignores_indexes_past_the_end() {
        let files = entries(&[false, false, false]);
        let so = IndexRanges::parse("0,2-9", 0).unwrap();
        assert_eq!(from_select_only(&files, &so), [Normal, Skip, Normal]);
    }

    #[test]
    fn media_files_give_their_first_and_last_pieces_and_other_files_none() {
        let mut offset = 0;
        let files: Vec<FileEntry> = [("film.MKV", 40u64), ("notes.txt", 30), ("song.flac", 5)]
            .iter()
            .map(|&(name, length)| {
                let f = FileEntry {
                    path: vec!["t".into(), name.into()],
                    length,
                    offset,
                    pad: false,
                    symlink: false,
                    executable: false,
                };
                offset += length;
                f
            })
            .collect();
        // Pieces of 8: the film is 0..=4, the notes 5..=8, the song 8..=9.
        assert_eq!(media_ends(&files, 8), [0, 4, 8, 9]);
        assert!(media_ends(&files[1..2], 8).is_empty());
    }
}
