//! The task that runs one torrent: rebuilds its state at start (resume
//! record or hashing), then announces, dials peers, starts its web seeds,
//! chokes and writes resume records until cancelled, and finally sends
//! `stopped` and a last record.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use p2p_proto::ipc::PeerSource;
use p2p_proto::tracker::Event;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};

use super::announce::{Announcer, Progress};
use super::events::EngineEvent;
use super::picker::Picker;
use super::resume::{self, ResumeRecord};
use super::torrent::{PeerCmd, Shared, TorrentState, backoff};
use super::vouch::REFRESH_GAP;
use super::{choker, dht_peers, peer, selection, webseed};
use p2p_proto::ipc::FilePriority;

/// The optimistic unchoke rotates every third rechoke (30 s by default).
const OPTIMISTIC_EVERY: u32 = 3;
/// Time allowed for peers to finish and for the last announce at shutdown.
const STOP_DEADLINE: Duration = Duration::from_secs(5);
/// Announce interval when the tracker gives none, and the first retry delay.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(1800);
const FIRST_RETRY: Duration = Duration::from_secs(15);

pub(crate) async fn run(shared: Arc<Shared>, stopped: watch::Sender<bool>) {
    let marked = match rebuild_state(&shared).await {
        Ok(marked) => marked,
        Err(message) => {
            shared.fail(message);
            stopped.send_replace(true);
            return;
        }
    };
    shared.add_candidates(PeerSource::User, shared.add.extra_peers.clone());
    // BEP 27 keeps a private torrent's peers to its trackers; a web seed
    // is no peer, and the torrent's author listed it.
    for url in &shared.meta.web_seeds {
        // Registered here, not in the task: listed in the torrent's order.
        let (key, seed) = shared.register_web_seed(url);
        shared
            .peer_tasks
            .spawn(webseed::run(shared.clone(), key, seed));
    }
    tokio::join!(
        announce_loop(&shared),
        connection_loop(&shared),
        dht_peers::run(&shared)
    );

    shared.peer_tasks.close();
    let _ = tokio::time::timeout(STOP_DEADLINE, shared.peer_tasks.wait()).await;
    match flush_resume(&shared, true).await {
        // The last record is down: the next start needs not doubt it.
        Ok(()) if marked => remove_run_marker(&shared).await,
        Ok(()) => {}
        Err(e) => {
            tracing::warn!(torrent = %shared.meta.info.name, "cannot write resume record: {e}")
        }
    }
    {
        let mut st = shared.lock();
        if !matches!(st.status, TorrentState::Error(_)) {
            st.status = TorrentState::Stopped;
        }
    }
    shared.events.send(EngineEvent::Stopped {
        info_hash: shared.meta.info_hash,
    });
    stopped.send_replace(true);
}

/// Says which files are missing (the first few by name) and what to do.
fn missing_message(files: &[p2p_proto::metainfo::FileEntry], missing: &[usize]) -> String {
    const NAMED: usize = 3;
    let mut names: Vec<String> = missing
        .iter()
        .take(NAMED)
        .map(|&i| files[i].display_path())
        .collect();
    if missing.len() > NAMED {
        names.push(format!("and {} more", missing.len() - NAMED));
    }
    format!(
        "{} of its files {} missing ({}): put them back and resume it, or verify it to download them again",
        missing.len(),
        if missing.len() == 1 { "is" } else { "are" },
        names.join(", ")
    )
}

/// Reads the resume record or hashes what is on disk, then prepares the
/// files. Returns whether the run marker is down (see `resume`).
async fn rebuild_state(shared: &Arc<Shared>) -> Result<bool, String> {
    let s = shared.clone();
    let result = tokio::task::spawn_blocking(move || {
        let n = s.meta.piece_count();
        let after_crash = resume::marker_path(&s.resume_path).exists();
        let file_count = s.storage.file_count();
        let mut record = resume::load(&s.resume_path, n, file_count);
        let on_disk = record.clone();
        if record.is_none() && s.add.assume_complete {
            record = Some(resume::ResumeRecord {
                pieces: p2p_proto::bitfield::Bitfield::full(n),
                files: s.storage.file_states(),
                priorities: None,
            });
        }
        // The record's choice is the latest (changed at run time); the
        // add's counts for a torrent never started.
        let priorities = record
            .as_ref()
            .and_then(|r| r.priorities.clone())
            .or_else(|| s.add.file_priorities.clone())
            .filter(|p| p.len() == file_count)
            .unwrap_or_else(|| vec![FilePriority::Normal; file_count]);
        // Before the check: a skipped file's bytes are read from the part file.
        for (i, p) in priorities.iter().enumerate() {
            if !p.wanted() {
                s.storage.park_if_absent(i)?;
            }
        }
        // `verify` asked for a full check: the record's pieces are what
        // the torrent had, and the check says which of them went bad.
        let full_check = resume::recheck_path(&s.resume_path).exists();
        let (record, had) = match record {
            Some(r) if full_check => (None, Some(r.pieces)),
            r => (r, None),
        };
        // Data deleted behind our back is reported, not fetched again
        // unasked: the user may have moved it, or unplugged its disk.
        if let Some(r) = &record {
            let missing = resume::missing_files(&s.storage, r);
            if !missing.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    missing_message(&s.meta.info.files, &missing),
                ));
            }
        }
        let (have, checked) =
            resume::initial_pieces(&s.storage, &s.meta.info.pieces, record, after_crash)?;
        if !have.all() {
            s.storage.allocate()?;
        }
        let recheck = full_check.then(|| {
            let bad: Vec<u32> = had
                .map(|had| {
                    (0..n)
                        .filter(|&p| had.get(p) && !have.get(p))
                        .map(|p| p as u32)
                        .collect()
                })
                .unwrap_or_default();
            (checked, bad)
        });
        Ok::<_, std::io::Error>((have, checked, after_crash, priorities, recheck, on_disk))
    })
    .await
    .map_err(|e| format!("checking files failed: {e}"))?
    .map_err(|e| format!("cannot check files of {}: {e}", shared.meta.info.name))?;
    let (have, checked, after_crash, priorities, recheck, on_disk) = result;
    let complete = {
        let mut st = shared.lock();
        // Sequential mode, set at the add or while checking, carries over.
        let streaming = st.picker.streaming().cloned();
        st.picker = Picker::new(
            shared.meta.info.piece_length,
            shared.meta.info.total_length,
            have,
            rand::random(),
        );
        st.picker.set_streaming(streaming);
        st.picker.set_priorities(selection::piece_priorities(
            &selection::Span::of(&shared.meta.info.files),
            &priorities,
            shared.meta.info.piece_length,
            shared.meta.piece_count(),
        ));
        st.file_priorities = priorities;
        let complete = st.picker.is_done();
        st.pieces_rechecked = checked;
        st.status = if complete {
            TorrentState::Seeding
        } else {
            TorrentState::Downloading
        };
        st.resume_dirty = true;
        st.last_record = on_disk;
        complete
    };
    tracing::info!(
        torrent = %shared.meta.info.name,
        rechecked = checked,
        after_crash,
        complete,
        "torrent ready"
    );
    if complete {
        shared.complete_tx.send_replace(true);
    }
    flush_resume(shared, false)
        .await
        .map_err(|e| format!("cannot write resume record: {e}"))?;
    if let Some((checked, bad)) = recheck {
        end_recheck(shared, checked, bad).await;
    }
    // A complete torrent writes nothing, so its record stays true without
    // a marker (and thousands of seeds start without creating one each);
    // one left by a crash goes now that the record is down. Should it
    // download again (a file no longer skipped) and crash, the files it
    // wrote are checked in full: slower, never wrong.
    let marker = resume::marker_path(&shared.resume_path);
    if complete {
        if after_crash {
            remove_run_marker(shared).await;
        }
        return Ok(false);
    }
    // From here on our writes move the files' mtime past the record's.
    tokio::task::spawn_blocking(move || std::fs::write(&marker, b""))
        .await
        .map_err(|e| format!("cannot write the run marker: {e}"))?
        .map_err(|e| format!("cannot write the run marker: {e}"))?;
    Ok(true)
}

/// Tells what a full check found, once the record that holds its outcome
/// is down: the recheck marker goes, so the next start trusts the record.
async fn end_recheck(shared: &Arc<Shared>, checked: usize, bad: Vec<u32>) {
    let name = &shared.meta.info.name;
    if bad.is_empty() {
        tracing::info!(torrent = %name, checked, "verified: every piece it had is good");
    } else {
        tracing::warn!(
            torrent = %name,
            checked,
            bad = ?bad,
            "verified: {} pieces it had failed their hash and are downloaded again",
            bad.len()
        );
    }
    let marker = resume::recheck_path(&shared.resume_path);
    let removed = tokio::task::spawn_blocking(move || std::fs::remove_file(&marker)).await;
    if let Ok(Err(e)) = removed {
        tracing::warn!(torrent = %name, "cannot remove the recheck marker: {e}");
    }
    shared.events.send(EngineEvent::Rechecked {
        info_hash: shared.meta.info_hash,
        name: name.clone(),
        checked,
        bad,
    });
}

/// Removes the run marker after a clean stop (see `resume`).
async fn remove_run_marker(shared: &Arc<Shared>) {
    let marker = resume::marker_path(&shared.resume_path);
    let removed = tokio::task::spawn_blocking(move || match std::fs::remove_file(&marker) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    })
    .await;
    if let Ok(Err(e)) = removed {
        tracing::warn!(torrent = %shared.meta.info.name, "cannot remove the run marker: {e}");
    }
}

/// Writes the resume record if pieces were verified since the last one.
/// Data files are synced first, so a record never claims bytes a power cut lost.
/// A record the same as the one on disk is not written again.
async fn flush_resume(shared: &Arc<Shared>, force: bool) -> std::io::Result<()> {
    let (pieces, priorities, last) = {
        let mut st = shared.lock();
        if !st.resume_dirty && !force {
            return Ok(());
        }
        st.resume_dirty = false;
        (
            st.picker.have().clone(),
            Some(st.file_priorities.clone()),
            st.last_record.take(),
        )
    };
    let s = shared.clone();
    let written = tokio::task::spawn_blocking(move || {
        // The files are looked at only when the rest is unchanged (while
        // downloading, the pieces change at nearly every flush).
        if let Some(last) = last
            && last.pieces == pieces
            && last.priorities == priorities
            && last.files == s.storage.file_states()
        {
            return Ok(last);
        }
        s.storage.sync_all()?;
        let record = ResumeRecord {
            pieces,
            files: s.storage.file_states(),
            priorities,
        };
        resume::save(&s.resume_path, &record)?;
        Ok(record)
    })
    .await
    .map_err(std::io::Error::other)?;
    // After a failed write no record is known: the next flush writes.
    written.map(|record| shared.lock().last_record = Some(record))
}

fn progress(shared: &Shared) -> Progress {
    let st = shared.lock();
    // What we still want: a download of some files is done when they are.
    let missing = st.picker.wanted_missing();
    let left = if missing == 0 {
        0
    } else {
        // Close enough for trackers: the short last piece is counted whole.
        (missing as u64 * shared.meta.info.piece_length).min(shared.meta.info.total_length)
    };
    Progress {
        uploaded: shared.uploaded.load(Ordering::Relaxed),
        downloaded: shared.downloaded.load(Ordering::Relaxed),
        left,
    }
}

async fn announce_loop(shared: &Arc<Shared>) {
    if !shared.add.use_trackers {
        shared.cancel.cancelled().await;
        return;
    }
    let mut announcer = Announcer::new(
        shared.http.clone(),
        &shared.meta.trackers,
        shared.meta.info_hash,
        shared.peer_id.0,
        shared.listen_port,
    );
    if announcer.is_empty() {
        shared.lock().tracker_status = "no trackers".into();
        shared.cancel.cancelled().await;
        return;
    }
    let mut complete_rx = shared.complete_tx.subscribe();
    let mut event = Event::Started;
    let mut completed_pending = false;
    let mut next = Instant::now();
    let mut retry = FIRST_RETRY;
    let mut started = false;
    let mut last_early: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = shared.cancel.cancelled() => break,
            // A stranger connected to a private torrent: ask who is in the
            // swarm now, but never more often than once per gap.
            () = shared.vouch.refresh_wanted() => {
                let now = Instant::now();
                let at = last_early.map_or(now, |t: Instant| (t + REFRESH_GAP).max(now));
                if at < next {
                    next = at;
                    last_early = Some(at);
                }
            }
            changed = complete_rx.changed(), if !completed_pending && started => {
                if changed.is_err() { break; }
                if *complete_rx.borrow() && event != Event::Started {
                    completed_pending = true;
                    next = Instant::now();
                } else if !*complete_rx.borrow() {
                    // More files wanted after it was done: the tracker
                    // hears we are leeching again and names seeders now.
                    next = Instant::now();
                }
            }
            _ = sleep_until(next) => {
                let send = if completed_pending { Event::Completed } else { event };
                let result = tokio::select! {
                    r = announcer.announce(send, progress(shared)) => r,
                    _ = shared.cancel.cancelled() => break,
                };
                match result {
                    Ok(resp) => {
                        started = true;
                        event = Event::None;
                        if send == Event::Completed {
                            completed_pending = false;
                        }
                        retry = FIRST_RETRY;
                        let interval = resp.interval.max(resp.min_interval.unwrap_or(0));
                        // A download the tracker knew no peer for asks again
                        // as soon as the tracker allows, not after the full
                        // interval: the peers may come just after (a seeder
                        // starting, or one announcing to another instance
                        // whose news had not reached this one yet).
                        let starving = resp.peers.is_empty() && !*complete_rx.borrow();
                        let secs = u64::from(match resp.min_interval {
                            Some(min) if starving => min,
                            _ => interval,
                        });
                        let wait = if secs == 0 { DEFAULT_INTERVAL } else { Duration::from_secs(secs.max(10)) };
                        next = Instant::now() + wait;
                        shared.lock().tracker_status = format!(
                            "ok: {} peers, {} seeders, {} leechers",
                            resp.peers.len(), resp.complete, resp.incomplete
                        );
                        shared.vouch.listed(resp.peers.iter().map(|p| p.addr), Instant::now());
                        shared.add_candidates(PeerSource::Tracker, resp.peers.iter().map(|p| p.addr));
                    }
                    Err(e) => {
                        tracing::warn!(torrent = %shared.meta.info.name, "announce failed: {e}");
                        shared.vouch.unanswered();
                        shared.lock().tracker_status = format!("error: {e}");
                        next = Instant::now() + retry;
                        retry = (retry * 2).min(DEFAULT_INTERVAL);
                    }
                }
            }
        }
    }
    if started {
        let _ = tokio::time::timeout(
            STOP_DEADLINE,
            announcer.announce(Event::Stopped, progress(shared)),
        )
        .await;
    }
}

async fn connection_loop(shared: &Arc<Shared>) {
    let mut dial = interval(Duration::from_secs(1));
    let mut choke = interval(shared.config.choke_period);
    let mut save = interval(shared.config.resume_interval);
    for t in [&mut dial, &mut choke, &mut save] {
        t.set_missed_tick_behavior(MissedTickBehavior::Delay);
    }
    let mut rounds = 0u32;
    let mut optimistic = None;
    loop {
        // Thousands of idle torrents would each wake several times a
        // second for nothing. With no address to dial, the dial tick has
        // nothing to do (a new address comes with a `wake`). With no peer,
        // there is no one to choke (the first peer comes with a
        // `slot_freed`). A seed with no peer, nothing to save and no
        // disk-space wait has nothing to save.
        let (anyone, connected, busy) = {
            let st = shared.lock();
            let connected = !st.peers.is_empty();
            let busy = connected
                || st.resume_dirty
                || st.space_retry.is_some()
                || st.status != TorrentState::Seeding;
            (!st.candidates.is_empty(), connected, busy)
        };
        tokio::select! {
            _ = shared.cancel.cancelled() => break,
            _ = shared.wake.notified() => dial_peers(shared),
            _ = dial.tick(), if anyone => dial_peers(shared),
            () = shared.storage.refusal_noted() => {
                if let Some(reason) = shared.storage.take_refusal() {
                    // A link where a file of ours was: serve nothing more.
                    shared.disk_error(reason);
                    break;
                }
            }
            _ = choke.tick(), if connected => {
                if rounds.is_multiple_of(OPTIMISTIC_EVERY) {
                    optimistic = None;
                }
                optimistic = rechoke(shared, optimistic);
                rounds += 1;
            }
            // Between rounds: the optimistic peer stays, rotation keeps time.
            _ = shared.slot_freed.notified() => optimistic = rechoke(shared, optimistic),
            _ = save.tick(), if busy => {
                if shared.space_retry_due() {
                    let s = shared.clone();
                    let _ = tokio::task::spawn_blocking(move || s.retry_when_space()).await;
                }
                if let Some(reason) = shared.storage.take_refusal() {
                    // A link where a file of ours was: serve nothing more.
                    shared.disk_error(reason);
                    break;
                }
                if let Err(e) = flush_resume(shared, false).await {
                    tracing::warn!(torrent = %shared.meta.info.name, "cannot write resume record: {e}");
                }
            }
        }
    }
}

/// Dials addresses we are not connected to, within the connection limits.
fn dial_peers(shared: &Arc<Shared>) {
    let now = Instant::now();
    let mut st = shared.lock();
    if st.status == TorrentState::Checking {
        return;
    }
    let seeding = st.picker.is_complete();
    let mut room = shared.caps.per_torrent().saturating_sub(st.peers.len());
    let in_progress = st
        .candidates
        .values()
        .filter(|c| c.connected)
        .count()
        .saturating_sub(st.peers.len());
    room = room.saturating_sub(in_progress);
    let due: Vec<_> = st
        .candidates
        .iter()
        .filter(|(_, c)| !c.connected && c.next_attempt <= now)
        .map(|(a, _)| *a)
        .take(room)
        .collect();
    for addr in due {
        let Some(permit) = shared.caps.try_connection() else {
            break;
        };
        if let Some(c) = st.candidates.get_mut(&addr) {
            c.connected = true;
            // If this attempt fails, wait before the next one.
            c.failures += 1;
            c.next_attempt = now + backoff(c.failures);
        }
        // A seeder dials everyone it hears of only while there is room; they may want data.
        let _ = seeding;
        shared
            .peer_tasks
            .spawn(peer::dial(shared.clone(), addr, permit));
    }
}

/// One choking round; returns the optimistic peer to keep.
fn rechoke(shared: &Arc<Shared>, optimistic: Option<u64>) -> Option<u64> {
    let mut st = shared.lock();
    let seeding = st.picker.is_done();
    let peers: Vec<choker::Candidate> = st
        .peers
        .iter()
        .map(|(&key, p)| choker::Candidate {
            key,
            interested: p.stats.peer_interested.load(Ordering::Relaxed),
            download_rate: p.stats.download_rate.load(Ordering::Relaxed),
            upload_rate: p.stats.upload_rate.load(Ordering::Relaxed),
            snubbed: p.stats.snubbed.load(Ordering::Relaxed),
        })
        .collect();
    let mut chosen = choker::decide(&peers, shared.caps.upload_slots(), seeding, optimistic);
    let optimistic = optimistic
        .filter(|o| chosen.contains(o))
        .or_else(|| choker::next_optimistic(&peers, &chosen, rand::random()));
    if let Some(o) = optimistic {
        chosen.insert(o);
    }
    for (key, p) in st.peers.iter_mut() {
        let unchoke = chosen.contains(key);
        if unchoke != p.unchoked {
            p.unchoked = unchoke;
            let _ = p.cmd.send(if unchoke {
                PeerCmd::Unchoke
            } else {
                PeerCmd::Choke
            });
        }
    }
    optimistic
}
