//! Web seeds ([BEP 19](https://www.bittorrent.org/beps/bep_0019.html)): a
//! task per `url-list` URL of a torrent that downloads whole pieces with
//! HTTP range requests, as a peer that has every piece would. It claims
//! pieces no peer is fetching (those no peer has first), reads never more
//! than it asked for, counts and rate-limits the bytes like a peer's, and
//! hands each piece to the same hash check and write as a peer's piece.
//! A server that fails is asked again later (the wait doubles up to ten
//! minutes); one whose pieces fail the hash check is given up after
//! `ban_after_bad_pieces` of them (it waits for the verdict on its
//! pieces, so it never sends many more than that). The task ends when the torrent is
//! complete or stops.
//!
//! Not here: which URLs are usable, file URLs and piece-to-file maths
//! (`p2p_proto::webseed`); hashing and writing (the disk threads).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use p2p_proto::webseed::{Span, file_url, parse_content_range, piece_spans, range_header};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, RANGE};

use super::torrent::{MAX_UNVERIFIED_BYTES, Shared, WebSeedStats, backoff};
use crate::http_client::error_chain;

/// Time allowed to fetch one whole piece.
const PIECE_TIMEOUT: Duration = Duration::from_secs(60);
/// Most of its pieces a web seed may have in the hash check: fetching
/// overlaps hashing, and a server sending garbage is given up after at
/// most this many pieces past `ban_after_bad_pieces`.
const MAX_PIECES_UNJUDGED: usize = 2;
/// How often to look again when there is no piece to claim (peers have
/// the rest in hand) or the disk is behind.
const IDLE_POLL: Duration = Duration::from_millis(250);

/// Why a piece could not be fetched.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("{0}")]
    Http(String),
    #[error("HTTP {0} for {1}")]
    Status(StatusCode, String),
    #[error("{url} answered range {got:?} for bytes {want:?}")]
    WrongRange {
        url: String,
        got: Option<String>,
        want: (u64, u64),
    },
    #[error("{url} sent {got} bytes where {want} were asked for")]
    WrongLength { url: String, got: u64, want: u64 },
    #[error("no answer within {} s", PIECE_TIMEOUT.as_secs())]
    Timeout,
}

/// Runs a web seed of a torrent (`key` and `seed` from
/// `register_web_seed`) until the torrent stops; idle while every wanted
/// piece is in (more files wanted later wake it).
pub(crate) async fn run(shared: Arc<Shared>, key: u64, seed: Arc<WebSeedStats>) {
    let url = seed.url.clone();
    let mut complete = shared.complete_tx.subscribe();
    let cancel = shared.cancel.clone();
    let strikes_allowed = shared.config.ban_after_bad_pieces.max(1);
    let mut failures = 0u32;
    let mut cursor = 0u32;
    loop {
        if cancel.is_cancelled() {
            break;
        }
        if *complete.borrow() {
            // Kept in the list: what it sent stays to be seen.
            seed.set_status("done: the torrent is complete");
            tokio::select! {
                _ = cancel.cancelled() => return,
                more = complete.wait_for(|c| !*c) => if more.is_err() { return },
            }
            seed.set_status("ok");
            continue;
        }
        let strikes = seed.strikes.load(Ordering::Relaxed);
        if strikes >= strikes_allowed {
            tracing::warn!(torrent = %shared.meta.info.name, %url, "web seed given up: {strikes} of its pieces failed the hash check");
            seed.set_status(format!(
                "given up: {strikes} pieces failed their hash check"
            ));
            // Shown until the torrent stops, so the user sees why.
            cancel.cancelled().await;
            break;
        }
        let claim = {
            let mut st = shared.lock();
            let judged = st
                .web_pieces
                .values()
                .filter(|w| Arc::ptr_eq(w, &seed))
                .count()
                < MAX_PIECES_UNJUDGED;
            let room = shared.unverified_bytes.load(Ordering::Relaxed) < MAX_UNVERIFIED_BYTES;
            if judged && room {
                st.picker.claim_for_web_seed(key, cursor)
            } else {
                None
            }
        };
        let Some((index, mut buf)) = claim else {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = complete.changed() => {}
                () = seed.judged.notified() => {}
                () = tokio::time::sleep(IDLE_POLL) => {}
            }
            continue;
        };
        cursor = index + 1;
        let fetched = tokio::select! {
            _ = cancel.cancelled() => {
                shared.web_piece_failed(key, index, buf);
                break;
            }
            r = tokio::time::timeout(PIECE_TIMEOUT, fetch_piece(&shared, &seed, index, &mut buf)) => {
                r.unwrap_or(Err(FetchError::Timeout))
            }
        };
        match fetched {
            Ok(()) => {
                failures = 0;
                seed.set_status("ok");
                shared.web_piece_complete(key, index, buf, &seed);
            }
            Err(e) => {
                shared.web_piece_failed(key, index, buf);
                failures += 1;
                let wait = backoff(failures);
                tracing::debug!(torrent = %shared.meta.info.name, %url, piece = index, "web seed failed: {e}");
                seed.set_status(format!("{e}; next try in {} s", wait.as_secs()));
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = complete.changed() => {}
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
    shared.unregister_web_seed(&seed);
}

/// Fills `buf` with piece `index`, one range request per file it covers.
async fn fetch_piece(
    shared: &Shared,
    seed: &WebSeedStats,
    index: u32,
    buf: &mut [u8],
) -> Result<(), FetchError> {
    let info = &shared.meta.info;
    for span in piece_spans(info, index) {
        let url = file_url(&seed.url, info, span.file)
            .ok_or_else(|| FetchError::Http(format!("no file {} in the torrent", span.file)))?;
        let whole_file = span.offset == 0
            && info
                .files
                .get(span.file)
                .is_some_and(|f| f.length == span.len);
        let start = span.in_piece as usize;
        let out = buf
            .get_mut(start..start + span.len as usize)
            .ok_or_else(|| FetchError::Http(format!("span {span:?} outside the piece")))?;
        fetch_span(shared, seed, &url, &span, whole_file, out).await?;
    }
    Ok(())
}

/// Reads the bytes of `span` from `url` into `out` (exactly its length).
async fn fetch_span(
    shared: &Shared,
    seed: &WebSeedStats,
    url: &str,
    span: &Span,
    whole_file: bool,
    out: &mut [u8],
) -> Result<(), FetchError> {
    let want = (span.offset, span.offset + span.len - 1);
    let mut response = shared
        .http
        .get(url)
        .header(RANGE, range_header(span))
        .send()
        .await
        .map_err(|e| FetchError::Http(error_chain(&e)))?;
    match response.status() {
        StatusCode::PARTIAL_CONTENT => {
            let got = response
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok());
            if got.and_then(parse_content_range) != Some(want) {
                return Err(FetchError::WrongRange {
                    url: url.to_owned(),
                    got: got.map(|g| g.chars().take(100).collect()),
                    want,
                });
            }
        }
        // A server that ignores ranges is still right when the range is the whole file.
        StatusCode::OK if whole_file => {}
        status => return Err(FetchError::Status(status, url.to_owned())),
    }
    let wrong_length = |got| FetchError::WrongLength {
        url: url.to_owned(),
        got,
        want: span.len,
    };
    if let Some(n) = response.content_length()
        && n != span.len
    {
        return Err(wrong_length(n));
    }
    let mut filled = 0usize;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FetchError::Http(error_chain(&e)))?
    {
        let end = filled + chunk.len();
        let Some(dest) = out.get_mut(filled..end) else {
            return Err(wrong_length(end as u64));
        };
        dest.copy_from_slice(&chunk);
        filled = end;
        let n = chunk.len() as u64;
        shared.count_download(n);
        seed.downloaded.fetch_add(n, Ordering::Relaxed);
        shared.throttle_download(n).await;
    }
    if filled != out.len() {
        return Err(wrong_length(filled as u64));
    }
    Ok(())
}
