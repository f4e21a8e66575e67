//! Lists of file indexes as people and magnet links write them: `0,2,4-6`
//! (BEP 53's `so=`, counted from 0) or `1,3-5` (p2pctl's `--files`, counted
//! from 1, as `p2pctl files-of` lists them). Bounded: the text, the number
//! of ranges and every index are capped, so a hostile link cannot make us
//! allocate; a range is kept as its two ends, never expanded.
//!
//! <https://www.bittorrent.org/beps/bep_0053.html>

use std::fmt;

use crate::metainfo::MAX_FILES;

/// Longest list we read.
pub const MAX_INDEX_TEXT_BYTES: usize = 16 * 1024;
/// Most comma-separated items in a list.
pub const MAX_INDEX_RANGES: usize = 1024;
/// Highest index accepted as written: no torrent has more files.
pub const MAX_INDEX: u64 = MAX_FILES as u64;

/// Indexes, as inclusive ranges counted from 0, in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexRanges {
    ranges: Vec<(u32, u32)>,
}

/// Why a list of indexes cannot be used. Indexes in messages are as the
/// user wrote them (counted from the list's base).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// Nothing but spaces and commas.
    #[error("no file index given")]
    Empty,
    /// Longer than [`MAX_INDEX_TEXT_BYTES`].
    #[error("the list of file indexes is {0} bytes long, more than {MAX_INDEX_TEXT_BYTES}")]
    TooLong(usize),
    /// More than [`MAX_INDEX_RANGES`] items.
    #[error("more than {MAX_INDEX_RANGES} file indexes or ranges")]
    TooMany,
    /// An item that is neither `N` nor `N-M`.
    #[error("{0:?} is not a file index or a range (expected N or N-M, e.g. 1,3-5)")]
    NotAnIndex(String),
    /// `0` in a list counted from 1.
    #[error("file indexes start at {base}: {index} is not one")]
    BelowBase {
        /// As written.
        index: u64,
        /// The first index.
        base: u32,
    },
    /// Above [`MAX_INDEX`].
    #[error("file index {0} is too large (a torrent has at most {MAX_INDEX} files)")]
    TooLarge(u64),
    /// `5-3`.
    #[error("range {from}-{to} runs backwards: write {to}-{from}")]
    Reversed {
        /// First end as written.
        from: u64,
        /// Second end as written.
        to: u64,
    },
    /// An index past the torrent's last file.
    #[error("file {index} does not exist: the torrent has {count} files ({first} to {last})", first = .base, last = u64::from(*.base) + *.count as u64 - 1)]
    OutOfBounds {
        /// As written.
        index: u64,
        /// Files in the torrent.
        count: usize,
        /// The first index.
        base: u32,
    },
}

impl IndexRanges {
    /// Parses `N`, `N-M`, comma-separated, counted from `base` (0 or 1);
    /// spaces around items are allowed, empty items are not.
    pub fn parse(text: &str, base: u32) -> Result<IndexRanges, IndexError> {
        if text.len() > MAX_INDEX_TEXT_BYTES {
            return Err(IndexError::TooLong(text.len()));
        }
        if text.split(',').all(|t| t.trim().is_empty()) {
            return Err(IndexError::Empty);
        }
        let mut ranges = Vec::new();
        for item in text.split(',') {
            if ranges.len() == MAX_INDEX_RANGES {
                return Err(IndexError::TooMany);
            }
            let item = item.trim();
            let (from, to) = match item.split_once('-') {
                Some((a, b)) => (number(a, item)?, number(b, item)?),
                None => {
                    let n = number(item, item)?;
                    (n, n)
                }
            };
            if from > to {
                return Err(IndexError::Reversed { from, to });
            }
            for n in [from, to] {
                if n < u64::from(base) {
                    return Err(IndexError::BelowBase { index: n, base });
                }
            }
            let zero = |n: u64| (n - u64::from(base)) as u32;
            ranges.push((zero(from), zero(to)));
        }
        Ok(IndexRanges { ranges })
    }

    /// This list followed by `more`; the cap on items holds for the sum.
    pub fn join(mut self, more: IndexRanges) -> Result<IndexRanges, IndexError> {
        if self.ranges.len() + more.ranges.len() > MAX_INDEX_RANGES {
            return Err(IndexError::TooMany);
        }
        self.ranges.extend(more.ranges);
        Ok(self)
    }

    /// Every index from `first` to `last` (counted from 0).
    pub fn span(first: u32, last: u32) -> IndexRanges {
        IndexRanges {
            ranges: vec![(first.min(last), first.max(last))],
        }
    }

    /// Whether index `i` (counted from 0) is in the list.
    pub fn contains(&self, i: usize) -> bool {
        self.ranges
            .iter()
            .any(|&(a, b)| (a as usize..=b as usize).contains(&i))
    }

    /// The ranges, counted from 0, inclusive.
    pub fn ranges(&self) -> &[(u32, u32)] {
        &self.ranges
    }

    /// Fails on the first index at or past `count` (told counted from `base`).
    pub fn check_within(&self, count: usize, base: u32) -> Result<(), IndexError> {
        match self.ranges.iter().find(|&&(_, b)| b as usize >= count) {
            None => Ok(()),
            Some(&(a, b)) => {
                let index = if a as usize >= count { a } else { b };
                Err(IndexError::OutOfBounds {
                    index: u64::from(index) + u64::from(base),
                    count,
                    base,
                })
            }
        }
    }

    /// The list written counted from `base`, e.g. `1,3-5`.
    pub fn display(&self, base: u32) -> impl fmt::Display + '_ {
        Shown { list: self, base }
    }
}

struct Shown<'a> {
    list: &'a IndexRanges,
    base: u32,
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, &(a, b)) in self.list.ranges.iter().enumerate() {
            if k > 0 {
                f.write_str(",")?;
            }
            let (a, b) = (
                u64::from(a) + u64::from(self.base),
                u64::from(b) + u64::from(self.base),
            );
            if a == b {
                write!(f, "{a}")?;
            } else {
                write!(f, "{a}-{b}")?;
            }
        }
        Ok(())
    }
}

/// One end of an item: ASCII digits only, at most [`MAX_INDEX`].
fn number(text: &str, item: &str) -> Result<u64, IndexError> {
    let text = text.trim();
    let bad = || IndexError::NotAnIndex(item.chars().take(32).collect());
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = text.parse().map_err(|_| bad())?;
    if n > MAX_INDEX {
        return Err(IndexError::TooLarge(n));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn items_and_ranges_are_read_from_either_base() {
        let one = IndexRanges::parse("1, 3-5 ,9", 1).unwrap();
        assert_eq!(one.ranges(), [(0, 0), (2, 4), (8, 8)]);
        assert!(one.contains(3) && !one.contains(1) && !one.contains(5));
        assert_eq!(one.display(1).to_string(), "1,3-5,9");
        let zero = IndexRanges::parse("0,2,4-6", 0).unwrap();
        assert_eq!(zero.ranges(), [(0, 0), (2, 2), (4, 6)]);
        assert_eq!(zero.display(0).to_string(), "0,2,4-6");
    }

    #[test]
    fn garbage_is_refused_with_the_item_named() {
        use IndexError::*;
        let cases = [
            ("", Empty),
            (" , ", Empty),
            ("1,,2", NotAnIndex(String::new())),
            ("a", NotAnIndex("a".into())),
            ("1-", NotAnIndex("1-".into())),
            ("-3", NotAnIndex("-3".into())),
            ("1-2-3", NotAnIndex("1-2-3".into())),
            ("+1", NotAnIndex("+1".into())),
            ("1.5", NotAnIndex("1.5".into())),
            ("５", NotAnIndex("５".into())),
            ("5-3", Reversed { from: 5, to: 3 }),
            ("99999999999", TooLarge(99_999_999_999)),
            (
                "999999999999999999999999",
                NotAnIndex("999999999999999999999999".into()),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(IndexRanges::parse(text, 1), Err(want), "{text:?}");
        }
        assert_eq!(
            IndexRanges::parse("0-2", 1),
            Err(BelowBase { index: 0, base: 1 })
        );
        let many = vec!["1"; MAX_INDEX_RANGES + 1].join(",");
        assert_eq!(IndexRanges::parse(&many, 1), Err(TooMany));
        let long = "1,".repeat(MAX_INDEX_TEXT_BYTES);
        assert_eq!(IndexRanges::parse(&long, 1), Err(TooLong(long.len())));
    }

    #[test]
    fn indexes_past_the_last_file_are_named_as_written() {
        let r = IndexRanges::parse("1,3-5", 1).unwrap();
        assert_eq!(r.check_within(5, 1), Ok(()));
        let e = r.check_within(4, 1).unwrap_err();
        assert_eq!(
            e,
            IndexError::OutOfBounds {
                index: 5,
                count: 4,
                base: 1
            }
        );
        assert_eq!(
            e.to_string(),
            "file 5 does not exist: the torrent has 4 files (1 to 4)"
        );
        let r = IndexRanges::parse("7-9", 1).unwrap();
        assert!(matches!(
            r.check_within(4, 1),
            Err(IndexError::OutOfBounds { index: 7, .. })
        ));
    }

    proptest! {
        #[test]
        fn any_text_parses_or_fails_without_a_panic(text in ".{0,64}", base in 0u32..2) {
            if let Ok(r) = IndexRanges::parse(&text, base) {
                prop_assert!(!r.ranges().is_empty());
                prop_assert!(r.ranges().iter().all(|&(a, b)| a <= b && u64::from(b) <= MAX_INDEX));
            }
        }

        #[test]
        fn shown_lists_parse_back(items in proptest::collection::vec((0u32..2000, 0u32..50), 1..20), base in 0u32..2) {
            let list = IndexRanges { ranges: items.iter().map(|&(a, n)| (a, a + n)).collect() };
            let text = list.display(base).to_string();
            prop_assert_eq!(IndexRanges::parse(&text, base), Ok(list));
        }

        #[test]
        fn digit_and_separator_soup_never_panics(text in "[0-9,\\- ]{0,80}") {
            let _ = IndexRanges::parse(&text, 1);
            let _ = IndexRanges::parse(&text, 0);
        }
    }
}
