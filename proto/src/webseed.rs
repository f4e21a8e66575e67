//! Web seeds, GetRight style ([BEP 19](https://www.bittorrent.org/beps/bep_0019.html)):
//! which `url-list` entries are usable, the URL of each file of a torrent
//! on a web seed, the file ranges a piece covers, and the `Content-Range`
//! a server answers with.
//!
//! Not here: HTTP itself (p2pd's engine sends the requests).

use crate::metainfo::Info;
use crate::percent::percent_encode;

/// Most web seeds kept per torrent or magnet link; the rest are ignored.
pub const MAX_WEB_SEEDS: usize = 16;
/// Longest web seed URL kept, in bytes.
pub const MAX_WEB_SEED_URL_BYTES: usize = 2048;

/// The URL as we keep it, or `None` when it is not usable: not `http://`
/// or `https://`, no host, longer than [`MAX_WEB_SEED_URL_BYTES`], or
/// with whitespace or control characters (which would make a broken
/// request line). Surrounding whitespace is trimmed.
pub fn accept_url(raw: &str) -> Option<String> {
    let url = raw.trim();
    if url.len() > MAX_WEB_SEED_URL_BYTES
        || url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '#')
    {
        return None;
    }
    let scheme_end = url.find("://")?;
    let scheme = &url[..scheme_end];
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let rest = &url[scheme_end + 3..];
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return None;
    }
    Some(url.to_owned())
}

/// Keeps the usable URLs of `raw`, without repeats, at most [`MAX_WEB_SEEDS`].
pub fn accept_list<'a>(raw: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for url in raw.into_iter().filter_map(accept_url) {
        if out.len() == MAX_WEB_SEEDS {
            break;
        }
        if !out.contains(&url) {
            out.push(url);
        }
    }
    out
}

/// Where file `file` of the torrent is on the web seed `base`: for a
/// single-file torrent `base` itself, or `base` + name when it ends in
/// `/`; for a multi-file torrent `base/` + name + the file's path. Every
/// path segment is percent-encoded. `None` when `file` is out of range.
pub fn file_url(base: &str, info: &Info, file: usize) -> Option<String> {
    let entry = info.files.get(file)?;
    if !info.multi_file && !base.ends_with('/') {
        return Some(base.to_owned());
    }
    let mut url = base.to_owned();
    if !url.ends_with('/') {
        url.push('/');
    }
    // A multi-file entry's path starts with the torrent's name, a single
    // file's path is the name: either way, the segments below `base`.
    let segments: Vec<String> = entry
        .path
        .iter()
        .map(|s| percent_encode(s.as_bytes()))
        .collect();
    url.push_str(&segments.join("/"));
    Some(url)
}

/// A part of a piece that lies in one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Index of the file in [`Info::files`].
    pub file: usize,
    /// First byte in the file.
    pub offset: u64,
    /// Bytes.
    pub len: u64,
    /// Where these bytes go in the piece.
    pub in_piece: u64,
}

/// The file ranges piece `index` covers, in order. BEP 47 pad files are
/// left out: their bytes are zeros, which no server is asked for. Empty
/// when `index` is past the end.
pub fn piece_spans(info: &Info, index: u32) -> Vec<Span> {
    let start = u64::from(index) * info.piece_length;
    if start >= info.total_length {
        return Vec::new();
    }
    let end = (start + info.piece_length).min(info.total_length);
    let first = info.files.partition_point(|f| f.offset + f.length <= start);
    info.files
        .iter()
        .enumerate()
        .skip(first)
        .take_while(|(_, f)| f.offset < end)
        .filter(|(_, f)| f.length > 0 && !f.pad)
        .map(|(i, f)| {
            let from = start.max(f.offset);
            let to = end.min(f.offset + f.length);
            Span {
                file: i,
                offset: from - f.offset,
                len: to - from,
                in_piece: from - start,
            }
        })
        .collect()
}

/// The value of a `Range` header asking for `span`.
pub fn range_header(span: &Span) -> String {
    format!(
        "bytes={}-{}",
        span.offset,
        span.offset + span.len.saturating_sub(1)
    )
}

/// A `Content-Range: bytes FIRST-LAST/TOTAL` value (RFC 9110 14.4), as
/// `(first, last)`; `None` for anything else (`*/TOTAL`, a unit other
/// than bytes, LAST before FIRST, numbers that do not parse).
pub fn parse_content_range(value: &str) -> Option<(u64, u64)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.trim().split_once('-')?;
    let first: u64 = first.parse().ok()?;
    let last: u64 = last.parse().ok()?;
    if last < first {
        return None;
    }
    let total = total.trim();
    if total != "*" && total.parse::<u64>().ok()? <= last {
        return None;
    }
    Some((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metainfo::FileEntry;

    fn info(files: &[(&[&str], u64, bool)], piece_length: u64, multi: bool) -> Info {
        let mut offset = 0;
        let files: Vec<FileEntry> = files
            .iter()
            .map(|(path, length, pad)| {
                let f = FileEntry {
                    path: path.iter().map(|s| (*s).to_owned()).collect(),
                    length: *length,
                    offset,
                    pad: *pad,
                    symlink: false,
                    executable: false,
                };
                offset += length;
                f
            })
            .collect();
        Info {
            name: files[0].path[0].clone(),
            piece_length,
            pieces: vec![[0; 20]; offset.div_ceil(piece_length) as usize],
            files,
            multi_file: multi,
            private: false,
            source: None,
            total_length: offset,
        }
    }

    #[test]
    fn only_http_and_https_urls_with_a_host_are_kept() {
        assert_eq!(accept_url(" http://h/x "), Some("http://h/x".to_owned()));
        assert!(accept_url("HTTPS://h:8080/").is_some());
        assert!(accept_url("http://user@h/").is_some());
        for bad in [
            "",
            "ftp://h/x",
            "file:///etc/passwd",
            "http:///x",
            "http://:80/x",
            "http://h/a b",
            "http://h/\r\nX: y",
            "http://h/#frag",
            "h/x",
            "javascript:alert(1)",
        ] {
            assert_eq!(accept_url(bad), None, "{bad:?}");
        }
        let long = format!("http://h/{}", "a".repeat(MAX_WEB_SEED_URL_BYTES));
        assert_eq!(accept_url(&long), None);
    }

    #[test]
    fn a_list_keeps_usable_urls_once_and_at_most_the_cap() {
        let many: Vec<String> = (0..100).map(|i| format!("http://h{i}/")).collect();
        let kept = accept_list(many.iter().map(String::as_str));
        assert_eq!(kept.len(), MAX_WEB_SEEDS);
        assert_eq!(kept[0], "http://h0/");
        let kept = accept_list(["http://a/", "bad", "http://a/", "https://b/"]);
        assert_eq!(kept, ["http://a/", "https://b/"]);
    }

    #[test]
    fn single_file_urls_follow_bep_19() {
        let i = info(&[(&["movie file.bin"], 10, false)], 4, false);
        assert_eq!(
            file_url("http://h/dl/x.bin", &i, 0).unwrap(),
            "http://h/dl/x.bin"
        );
        assert_eq!(
            file_url("http://h/dl/", &i, 0).unwrap(),
            "http://h/dl/movie%20file.bin"
        );
        assert_eq!(file_url("http://h/", &i, 1), None);
    }

    #[test]
    fn multi_file_urls_add_the_name_and_encode_each_segment() {
        let i = info(
            &[
                (&["pack", "a.txt"], 3, false),
                (&["pack", "日本", "x?#%.bin"], 3, false),
            ],
            4,
            true,
        );
        assert_eq!(
            file_url("http://h/files", &i, 0).unwrap(),
            "http://h/files/pack/a.txt"
        );
        assert_eq!(
            file_url("http://h/files/", &i, 1).unwrap(),
            "http://h/files/pack/%E6%97%A5%E6%9C%AC/x%3F%23%25.bin"
        );
    }

    #[test]
    fn a_piece_across_files_maps_onto_each_and_skips_pad_files() {
        let i = info(
            &[
                (&["t", "a"], 5, false),
                (&["t", ".pad", "3"], 3, true),
                (&["t", "empty"], 0, false),
                (&["t", "b"], 9, false),
            ],
            6,
            true,
        );
        // Bytes: a = 0..5, pad = 5..8, b = 8..17; pieces of 6.
        assert_eq!(
            piece_spans(&i, 0),
            [Span {
                file: 0,
                offset: 0,
                len: 5,
                in_piece: 0
            }]
        );
        assert_eq!(
            piece_spans(&i, 1),
            [Span {
                file: 3,
                offset: 0,
                len: 4,
                in_piece: 2
            }]
        );
        assert_eq!(
            piece_spans(&i, 2),
            [Span {
                file: 3,
                offset: 4,
                len: 5,
                in_piece: 0
            }]
        );
        assert_eq!(piece_spans(&i, 3), []);
        let total: u64 = (0..3).flat_map(|p| piece_spans(&i, p)).map(|s| s.len).sum();
        assert_eq!(total, 5 + 9);
        assert_eq!(range_header(&piece_spans(&i, 2)[0]), "bytes=4-8");
    }

    #[test]
    fn content_ranges_parse_only_when_well_formed() {
        assert_eq!(parse_content_range("bytes 0-9/10"), Some((0, 9)));
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, 9)));
        for bad in [
            "bytes */10",
            "bytes 9-5/10",
            "bytes 0-10/10",
            "items 0-9/10",
            "bytes 0-9",
            "bytes -1-9/10",
            "bytes 0-99999999999999999999999/*",
            "",
        ] {
            assert_eq!(parse_content_range(bad), None, "{bad:?}");
        }
    }
}
