//! `p2pctl download`: hand a torrent to the daemon, then follow its events
//! until every piece is verified. The daemon does the work; this only watches,
//! so stopping p2pctl (Ctrl-C) leaves the download running.

use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};
use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::{Added, ErrorCode, Event, Request, Response, TorrentState, TorrentSummary};
use p2p_proto::magnet::Magnet;
use p2p_proto::metainfo::Metainfo;

use super::inspect::read_capped;
use super::{absolute_path, print, print_json};
use crate::cli::DownloadArgs;
use crate::output::{eta_secs, human_duration, human_eta, human_rate, human_size, percent};
use p2p_client::ClientError;
use p2p_client::Target;
use p2p_client::reply_as;

/// How often a plain progress line is written when stderr is not a terminal.
const PLAIN_LINE_INTERVAL: Duration = Duration::from_secs(10);
/// Redraws of the spinner between events.
const BAR_TICK: Duration = Duration::from_millis(200);

pub fn run(daemon: &Target, args: &DownloadArgs, json: bool) -> anyhow::Result<()> {
    let source = resolve_source(&args.source)?;
    let to = args
        .to
        .as_deref()
        .map(|d| absolute_path(d, false))
        .transpose()?;
    // Subscribe before adding, so no event about the new torrent can fall
    // between the add and the subscription.
    let events = match args.detach {
        true => None,
        false => Some(daemon.connect()?.subscribe(None)?),
    };
    let add = Request::Add {
        source: source.clone(),
        to,
        paused: false,
        files: args.files.clone(),
        sequential: args.sequential,
    };
    let reply = match daemon.connect()?.request(add) {
        Ok(reply) => reply_as!(reply, "add", Response::Added)?,
        // Downloading what the daemon already has means following it.
        Err(ClientError::Daemon(e)) if e.code == ErrorCode::AlreadyExists => {
            let Some(t) = local_info_hash(&source).and_then(|h| find(daemon, h)) else {
                return Err(ClientError::Daemon(e).into());
            };
            Added {
                torrent: t,
                note: None,
            }
        }
        Err(e) => return Err(e.into()),
    };
    // A download that waits (for a login) would be followed forever: say
    // why it waits and leave it to the daemon.
    let events = events.filter(|_| reply.note.is_none());
    let Some(events) = events else {
        if json {
            return print_json(&reply);
        }
        let added = &reply.torrent;
        let then = match &reply.note {
            Some(note) => format!("\n{note}"),
            None => format!("; follow it with `p2pctl progress {}`", added.short_id),
        };
        return print(&format!(
            "added {} ({}){then}\n",
            added.name, added.short_id
        ));
    };
    let added = reply.torrent;

    let started = Instant::now();
    let mut view = View::new(json, std::io::stdout().is_terminal());
    let outcome = watch(added, events, |t| view.update(t, Instant::now()));
    view.finish();
    let done = match outcome? {
        Finish::Seeding(t) => t,
        // The last summary we saw predates completion: ask for a fresh one.
        Finish::Completed(t) => find(daemon, t.info_hash).unwrap_or(t),
    };
    if json {
        return print_json(&done);
    }
    print(&format!(
        "downloaded {} ({}) to {} in {}\n",
        done.name,
        human_size(done.size),
        done.save_path,
        human_duration(started.elapsed().as_secs())
    ))
}

/// A .torrent file goes by its absolute path (the daemon runs elsewhere);
/// a magnet link, info-hash or catalog name goes as typed.
fn resolve_source(source: &str) -> anyhow::Result<String> {
    if source.starts_with("magnet:") {
        return Ok(source.to_owned());
    }
    let path = Path::new(source);
    let looks_like_torrent = Path::new(source)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("torrent"));
    if path.is_file() || looks_like_torrent {
        return absolute_path(path, true);
    }
    Ok(source.to_owned())
}

/// How a watch ended well.
#[derive(Debug)]
enum Finish {
    /// A progress event said `seeding`: this summary is current.
    Seeding(TorrentSummary),
    /// A `completed` event came; the summary is the last one seen.
    Completed(TorrentSummary),
}

/// Follows `events` until the torrent is complete (Ok), stops on an error,
/// or the daemon goes away (Err). `show` sees each new state.
fn watch(
    mut last: TorrentSummary,
    events: impl IntoIterator<Item = Result<Event, ClientError>>,
    mut show: impl FnMut(&TorrentSummary),
) -> anyhow::Result<Finish> {
    if let Some(finish) = settled(&last)? {
        return Ok(finish);
    }
    show(&last);
    let hash = last.info_hash;
    let ours = |h: &InfoHash| *h == hash;
    for event in events {
        let event = match event {
            Ok(e) => e,
            Err(e) => bail!(
                "{} is not complete ({}); p2pd went away: {e}",
                last.name,
                percent(last.progress)
            ),
        };
        match event {
            Event::Progress { torrents } => {
                let Some(now) = torrents.into_iter().find(|t| ours(&t.info_hash)) else {
                    continue;
                };
                if let Some(finish) = settled(&now)? {
                    return Ok(finish);
                }
                show(&now);
                last = now;
            }
            Event::Completed { info_hash, .. } if ours(&info_hash) => {
                last.state = TorrentState::Seeding;
                last.progress = 1.0;
                return Ok(Finish::Completed(last));
            }
            Event::Error {
                info_hash, message, ..
            } if ours(&info_hash) => bail!("{}: {message}", last.name),
            _ => {}
        }
    }
    bail!("{}: the event stream ended early", last.name)
}

/// Whether a summary ends the watch: complete, or failed.
fn settled(t: &TorrentSummary) -> anyhow::Result<Option<Finish>> {
    match t.state {
        TorrentState::Seeding => Ok(Some(Finish::Seeding(t.clone()))),
        TorrentState::Error => bail!(
            "{}: {}",
            t.name,
            t.error.as_deref().unwrap_or("stopped on an error")
        ),
        _ => Ok(None),
    }
}

/// The daemon's current summary of a torrent, if it can be had.
fn find(daemon: &Target, info_hash: InfoHash) -> Option<TorrentSummary> {
    let reply = daemon.connect().ok()?.request(Request::List).ok()?;
    let all = reply_as!(reply, "list", Response::List).ok()?;
    all.into_iter().find(|t| t.info_hash == info_hash)
}

/// The info-hash a resolved source names, when it can be known without the
/// daemon: from a .torrent file, a magnet link, or the hash itself.
fn local_info_hash(source: &str) -> Option<InfoHash> {
    if source.starts_with("magnet:") {
        return Magnet::parse(source).ok().map(|m| m.info_hash);
    }
    if source.len() == 40 {
        return InfoHash::parse(source).ok();
    }
    let bytes = read_capped(source).ok()?;
    Metainfo::from_bytes(&bytes).ok().map(|m| m.info_hash)
}

/// Where progress goes: a live bar, occasional lines, or nowhere (`--json`).
#[derive(Debug)]
enum View {
    Bar(ProgressBar),
    Lines { last: Option<Instant> },
    Quiet,
}

impl View {
    fn new(json: bool, stdout_is_terminal: bool) -> View {
        if json {
            return View::Quiet;
        }
        if !stdout_is_terminal {
            return View::Lines { last: None };
        }
        // Draws on stderr, and hides itself when stderr is not a terminal.
        let bar = ProgressBar::new(0);
        let style = ProgressStyle::with_template(
            // Two lines, so a long name never squeezes the numbers off an
            // 80-column terminal.
            "{spinner} {wide_msg}\n  [{bar:25}] {bytes}/{total_bytes}  {prefix}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.enable_steady_tick(BAR_TICK);
        View::Bar(bar)
    }

    fn update(&mut self, t: &TorrentSummary, now: Instant) {
        match self {
            View::Bar(bar) => {
                bar.set_length(t.size);
                bar.set_position(have_bytes(t));
                bar.set_message(if t.state == TorrentState::Downloading {
                    t.name.clone()
                } else {
                    format!("{} ({})", t.name, t.state)
                });
                bar.set_prefix(rate_eta_peers(t));
            }
            View::Lines { last } => {
                if last.is_none_or(|l| now.duration_since(l) >= PLAIN_LINE_INTERVAL) {
                    *last = Some(now);
                    eprintln!("{}", plain_line(t));
                }
            }
            View::Quiet => {}
        }
    }

    fn finish(&self) {
        if let View::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

fn have_bytes(t: &TorrentSummary) -> u64 {
    (t.progress.clamp(0.0, 1.0) * t.size as f64) as u64
}

fn rate_eta_peers(t: &TorrentSummary) -> String {
    let eta = eta_secs(t.size.saturating_sub(have_bytes(t)), t.download_rate);
    format!(
        "{}  ETA {}  {} peers",
        human_rate(t.download_rate),
        human_eta(eta),
        t.peers
    )
}

/// One progress line for logs and pipes.
fn plain_line(t: &TorrentSummary) -> String {
    format!(
        "{} {}: {} ({} of {}), {}",
        t.state,
        t.name,
        percent(t.progress),
        human_size(have_bytes(t)),
        human_size(t.size),
        rate_eta_peers(t)
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::commands::list::sample;

    fn progress(t: &TorrentSummary) -> Result<Event, ClientError> {
        Ok(Event::Progress {
            torrents: vec![t.clone()],
        })
    }

    #[test]
    fn watching_ends_when_a_progress_event_says_seeding() {
        let start = sample("a", "downloading", 0.0);
        let mut other = sample("b", "seeding", 1.0);
        other.info_hash = InfoHash([0; 20]);
        let half = sample("a", "downloading", 0.5);
        let done = sample("a", "seeding", 1.0);
        let mut seen = Vec::new();
        let out = watch(
            start,
            [progress(&other), progress(&half), progress(&done)],
            |t| seen.push(t.progress),
        );
        assert!(
            matches!(out, Ok(Finish::Seeding(ref t)) if t.name == "a"),
            "{out:?}"
        );
        assert_eq!(seen, [0.0, 0.5]);
    }

    #[test]
    fn a_completed_event_ends_the_watch_as_whole() {
        let start = sample("a", "downloading", 0.2);
        let completed = Ok(Event::Completed {
            info_hash: start.info_hash,
            name: "a".into(),
        });
        match watch(start, [completed], |_| {}) {
            Ok(Finish::Completed(t)) => {
                assert_eq!((t.state, t.progress), (TorrentState::Seeding, 1.0))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_error_event_or_state_fails_with_the_daemons_reason() {
        let start = sample("a", "downloading", 0.2);
        let err = Ok(Event::Error {
            info_hash: start.info_hash,
            message: "disk full".into(),
        });
        let e = watch(start.clone(), [err], |_| {}).unwrap_err();
        assert_eq!(e.to_string(), "a: disk full");
        let mut failed = sample("a", "error", 0.2);
        failed.error = Some("bad piece data".into());
        let e = watch(start, [progress(&failed)], |_| {}).unwrap_err();
        assert_eq!(e.to_string(), "a: bad piece data");
    }

    #[test]
    fn a_daemon_going_away_fails_with_how_far_it_got() {
        let start = sample("a", "downloading", 0.25);
        let gone = Err(ClientError::Closed {
            socket: PathBuf::from("/s"),
        });
        let e = watch(start, [gone], |_| {}).unwrap_err().to_string();
        assert!(
            e.starts_with("a is not complete (25.0%); p2pd went away: p2pd at /s closed"),
            "{e}"
        );
    }

    #[test]
    fn an_already_complete_torrent_needs_no_events() {
        let done = sample("a", "seeding", 1.0);
        assert!(matches!(watch(done, [], |_| {}), Ok(Finish::Seeding(_))));
    }

    #[test]
    fn plain_lines_show_percent_bytes_rate_eta_and_peers() {
        let t = sample("a", "downloading", 0.5);
        assert_eq!(
            plain_line(&t),
            "downloading a: 50.0% (512.00 KiB of 1.00 MiB), 1.00 KiB/s  ETA 8m 32s  4 peers"
        );
    }

    #[test]
    fn the_info_hash_is_known_locally_for_hashes_magnets_and_torrent_files() {
        let h = "AB".repeat(20);
        let ab = InfoHash([0xab; 20]);
        assert_eq!(local_info_hash(&h), Some(ab));
        let magnet = format!("magnet:?xt=urn:btih:{h}");
        assert_eq!(local_info_hash(&magnet), Some(ab));
        assert_eq!(local_info_hash("ubuntu-24.04"), None);
    }

    #[test]
    fn names_and_hashes_are_sent_as_typed_and_torrent_files_as_absolute_paths() {
        assert_eq!(resolve_source("magnet:?xt=x").unwrap(), "magnet:?xt=x");
        assert_eq!(resolve_source("ubuntu-24.04").unwrap(), "ubuntu-24.04");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.torrent");
        std::fs::write(&f, b"d4:infod").unwrap();
        let sent = resolve_source(f.to_str().unwrap()).unwrap();
        assert!(Path::new(&sent).is_absolute());
        let missing = dir.path().join("missing.torrent");
        assert!(resolve_source(missing.to_str().unwrap()).is_err());
    }
}
