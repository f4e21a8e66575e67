//! The event log: each event is stored (for paging), appended as one
//! timestamped line to a text file, and broadcast to live streams. On a
//! database other instances share (PostgreSQL, issue 16), the streams
//! carry every instance's events: they are read back from the store in id
//! order when the store says one was appended ([`EventLog::follow`]).
//! Knows nothing of HTTP or of who may see what (the caller filters).

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use p2p_proto::time::rfc3339;
use tokio::sync::broadcast;

use crate::store::StoreError;
use crate::store::community::{CommunityStore, EventRecord, LoggedEvent};

/// Events buffered per live stream before a slow reader misses some.
pub const STREAM_BUFFER_EVENTS: usize = 1024;

/// The event log.
#[derive(Debug)]
pub struct EventLog {
    store: Arc<dyn CommunityStore>,
    path: PathBuf,
    /// Serialises store insert, file append and broadcast, so the file and
    /// the streams see events in id order; holds the last id broadcast.
    order: tokio::sync::Mutex<i64>,
    /// Other instances append to the store too: broadcast what the store
    /// holds after the last id, not only this instance's events.
    shared: std::sync::atomic::AtomicBool,
    live: broadcast::Sender<Arc<LoggedEvent>>,
}

/// Events read back from the store at a time when catching up.
const CATCH_UP_BATCH: u32 = 500;

impl EventLog {
    /// A log writing to `store` and appending to the file at `path`.
    pub fn new(store: Arc<dyn CommunityStore>, path: PathBuf) -> Self {
        let (live, _) = broadcast::channel(STREAM_BUFFER_EVENTS);
        EventLog {
            store,
            path,
            order: tokio::sync::Mutex::new(0),
            shared: std::sync::atomic::AtomicBool::new(false),
            live,
        }
    }

    /// The text file's path.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Stores, appends and broadcasts an event; returns it with its id.
    pub async fn record(&self, mut e: LoggedEvent) -> Result<Arc<LoggedEvent>, StoreError> {
        let mut last = self.order.lock().await;
        e.record.id = self.store.add_event(&e).await?;
        let e = Arc::new(e);
        let line = line(&e.record);
        let path = self.path.clone();
        let write = tokio::task::spawn_blocking(move || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .and_then(|mut f| f.write_all(line.as_bytes()))
                .map_err(|err| format!("{}: {err}", path.display()))
        })
        .await;
        match write {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!("appending to the event log {err}"),
            Err(err) => tracing::warn!("event log writer failed: {err}"),
        }
        if self.shared.load(std::sync::atomic::Ordering::Acquire) {
            // Other instances' events committed before this one go out
            // first, then this one, all read back in id order.
            if let Err(err) = self.catch_up(&mut last).await {
                tracing::warn!("reading the shared event log: {err}");
            }
        } else {
            // No receivers is fine: nobody is watching.
            let _ = self.live.send(e.clone());
            *last = e.record.id;
        }
        Ok(e)
    }

    /// Broadcasts the stored events after `last`, in id order.
    async fn catch_up(&self, last: &mut i64) -> Result<(), StoreError> {
        loop {
            let batch = self.store.events_after(*last, CATCH_UP_BATCH).await?;
            let full = batch.len() == CATCH_UP_BATCH as usize;
            for e in batch {
                *last = e.record.id;
                let _ = self.live.send(Arc::new(e));
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// On a database other instances share, makes the live streams carry
    /// their events too, from now until `stop`: a no-op on a database
    /// only this instance writes.
    pub async fn follow(
        self: &Arc<Self>,
        stop: tokio_util::sync::CancellationToken,
    ) -> Result<(), StoreError> {
        // Listen first, then note where the log is: an event committed in
        // between wakes us, and one before it is history, not news.
        let Some(mut wakeups) = self.store.event_wakeups().await? else {
            return Ok(());
        };
        {
            let mut last = self.order.lock().await;
            *last = self
                .store
                .latest_events(1)
                .await?
                .first()
                .map_or(0, |e| e.record.id);
            self.shared
                .store(true, std::sync::atomic::Ordering::Release);
        }
        let log = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    w = wakeups.recv() => {
                        if w.is_none() {
                            break;
                        }
                        let mut last = log.order.lock().await;
                        if let Err(err) = log.catch_up(&mut last).await {
                            tracing::warn!("reading the shared event log: {err}");
                        }
                    }
                }
            }
        });
        Ok(())
    }

    /// A receiver of events recorded from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LoggedEvent>> {
        self.live.subscribe()
    }

    /// The last `limit` stored events, newest first.
    pub async fn latest(&self, limit: u32) -> Result<Vec<LoggedEvent>, StoreError> {
        self.store.latest_events(limit).await
    }

    /// Stored events after `after`.
    pub async fn page(&self, after: i64, limit: u32) -> Result<Vec<LoggedEvent>, StoreError> {
        self.store.events_after(after, limit).await
    }
}

/// The text line for an event: `TIME #ID KIND key=value... detail`.
pub fn line(e: &EventRecord) -> String {
    let mut s = format!("{} #{} {}", rfc3339(e.at), e.id, e.kind);
    if let Some(u) = &e.username {
        s.push_str(&format!(" user={u}"));
    }
    if let Some(g) = &e.group {
        s.push_str(&format!(" group={g}"));
    }
    if let Some(h) = &e.info_hash {
        s.push_str(&format!(" info_hash={h}"));
    }
    if !e.detail.is_empty() {
        // One line per event, whatever the detail holds.
        let detail: String = e
            .detail
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        s.push_str(&format!(" {detail}"));
    }
    s.push('\n');
    s
}

/// An event with no id yet.
pub fn event(at: i64, kind: &str, username: Option<&str>) -> EventRecord {
    EventRecord {
        id: 0,
        at,
        kind: kind.to_owned(),
        username: username.map(str::to_owned),
        group: None,
        info_hash: None,
        detail: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_holds_time_id_kind_fields_and_no_newline_from_detail() {
        let mut e = event(0, "publish", Some("alice"));
        e.id = 7;
        e.group = Some("g".into());
        e.detail = "a\nb".into();
        assert_eq!(
            line(&e),
            "1970-01-01T00:00:00Z #7 publish user=alice group=g a b\n"
        );
    }
}
