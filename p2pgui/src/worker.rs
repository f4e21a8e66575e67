//! The one thread that talks to p2pd: it owns the control connection, runs
//! the requests the window sends it, refreshes the torrent list and status
//! once a second, forwards the daemon's events, and follows the tracker's
//! event log while a user is logged in (as `p2pctl events --follow` does:
//! the daemon relays pages of it, not a stream). It wakes the window
//! (`request_repaint`) only when something new arrived, so an idle window
//! draws nothing.
//!
//! Never touches egui state beyond `request_repaint`; never blocks the UI.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use p2p_client::{Client, ClientError, Target};
use p2p_proto::ipc::{Event, Request, Response, StatusInfo, TorrentSummary};

/// How often the list and status are fetched while connected.
pub const REFRESH_EVERY: Duration = Duration::from_secs(1);
/// How often the tracker's event log is asked for new lines while logged in.
pub const TRACKER_EVENTS_EVERY: Duration = Duration::from_secs(2);
/// Events asked for per page (the tracker's largest page).
const EVENTS_PAGE: u32 = 1000;
/// Pages read in one go when catching up with a long log; the rest waits
/// for the next turn, so requests from the window are not held up.
const EVENT_PAGES_PER_TURN: usize = 5;
/// Tracker events handed to the window at most per turn: all it keeps.
pub const MAX_TRACKER_EVENTS: usize = 500;
/// How often a missing daemon is looked for again.
const RECONNECT_EVERY: Duration = Duration::from_millis(500);

/// What the window asks of the worker.
#[derive(Debug)]
pub enum Command {
    /// Send a request; its reply comes back as [`Update::Reply`].
    Request(Request),
}

/// What the worker tells the window.
// A few a second pass through the channel, each read once: boxing the
// reply would only add an allocation to each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Update {
    /// Connected to a daemon (its hello name, e.g. `p2pd 0.1.0`).
    Connected(String),
    /// No daemon answers; why, for people.
    NoDaemon(String),
    /// The torrent list changed.
    List(Vec<TorrentSummary>),
    /// The status changed.
    Status(Box<StatusInfo>),
    /// The reply to a request, by its command name.
    Reply {
        /// The request's command name (`add`, `config_set`...).
        command: &'static str,
        /// Its reply, or the error as the user should read it.
        result: Result<Response, ReplyError>,
    },
    /// Something happened in the daemon.
    Event(Event),
    /// New lines of the tracker's event log, oldest first.
    TrackerEvents(Vec<p2p_proto::api::EventRecord>),
    /// The file dialog closed: what was picked (nothing when cancelled, or
    /// when no dialog could open).
    Picked {
        /// What it was opened for.
        purpose: crate::pick::Purpose,
        /// The paths chosen.
        paths: Vec<std::path::PathBuf>,
    },
    /// A local job (creating a .torrent) finished: what to tell the user.
    Local(Result<String, String>),
}

/// A failed request: the daemon's error code when it sent one, and the text.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyError {
    /// `not_supported`, `not_logged_in`... when the daemon refused.
    pub code: Option<p2p_proto::ipc::ErrorCode>,
    /// One line for people.
    pub message: String,
}

impl From<ClientError> for ReplyError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Daemon(e) => ReplyError {
                code: Some(e.code),
                message: e.message,
            },
            other => ReplyError {
                code: None,
                message: other.to_string(),
            },
        }
    }
}

/// The window's end of the worker.
#[derive(Debug)]
pub struct Handle {
    commands: Sender<Command>,
    /// Updates, in order.
    pub updates: Receiver<Update>,
    /// For local jobs that report through the same channel.
    pub local: Sender<Update>,
}

impl Handle {
    /// Queues a request (never blocks).
    pub fn send(&self, request: Request) {
        // The worker only stops when the window dropped its handle.
        let _ = self.commands.send(Command::Request(request));
    }
}

/// Something that wakes the window; `egui::Context` in the app.
pub trait Waker: Send + 'static {
    /// Asks for a repaint.
    fn wake(&self);
}

impl Waker for eframe::egui::Context {
    fn wake(&self) {
        self.request_repaint();
    }
}

/// Starts the worker for the daemon at `target`.
pub fn spawn(target: Target, waker: impl Waker + Clone) -> Handle {
    let (commands, command_rx) = channel();
    let (update_tx, updates) = channel();
    let local = update_tx.clone();
    std::thread::Builder::new()
        .name("p2pgui-worker".into())
        .spawn(move || {
            Worker {
                target,
                waker,
                updates: update_tx,
                commands: command_rx,
                last_list: None,
                last_status: None,
                events_after: None,
                events_due: Instant::now(),
            }
            .run()
        })
        .map_or_else(|e| panic!("cannot start p2pgui's worker thread: {e}"), drop);
    Handle {
        commands,
        updates,
        local,
    }
}

struct Worker<W> {
    target: Target,
    waker: W,
    updates: Sender<Update>,
    commands: Receiver<Command>,
    last_list: Option<Vec<TorrentSummary>>,
    last_status: Option<StatusInfo>,
    /// The newest tracker event seen: the next page starts after it.
    events_after: Option<u64>,
    /// When the tracker's log is next asked for.
    events_due: Instant,
}

impl<W: Waker + Clone> Worker<W> {
    fn run(mut self) {
        let mut said_no_daemon: Option<String> = None;
        loop {
            match self.target.connect() {
                Ok(client) => {
                    said_no_daemon = None;
                    if !self.serve(client) {
                        return;
                    }
                }
                Err(e) => {
                    let why = e.to_string();
                    if said_no_daemon.as_deref() != Some(&why) {
                        self.tell(Update::NoDaemon(why.clone()));
                        said_no_daemon = Some(why.clone());
                    }
                    // Requests made while disconnected fail at once, so the
                    // window never waits on a daemon that is not there.
                    match self.commands.recv_timeout(RECONNECT_EVERY) {
                        Ok(Command::Request(r)) => self.tell(Update::Reply {
                            command: r.name(),
                            result: Err(ReplyError {
                                code: None,
                                message: why,
                            }),
                        }),
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            }
        }
    }

    /// Serves one connection; false when the window has gone.
    fn serve(&mut self, mut client: Client) -> bool {
        self.last_list = None;
        self.last_status = None;
        self.events_due = Instant::now();
        self.tell(Update::Connected(client.server().to_owned()));
        self.subscribe();
        let mut next_refresh = Instant::now();
        loop {
            if Instant::now() >= next_refresh {
                if self.refresh(&mut client).is_err() {
                    return true;
                }
                next_refresh = Instant::now() + REFRESH_EVERY;
            }
            let wait = next_refresh.saturating_duration_since(Instant::now());
            match self.commands.recv_timeout(wait) {
                Ok(Command::Request(request)) => {
                    let command = request.name();
                    let refresh_after = !matches!(
                        request,
                        Request::Progress { .. } | Request::Peers { .. } | Request::ConfigGet
                    );
                    let result = client.request(request).map_err(ReplyError::from);
                    let lost = matches!(&result, Err(e) if e.code.is_none());
                    self.tell(Update::Reply { command, result });
                    if lost {
                        return true;
                    }
                    if refresh_after {
                        // Show the effect of a pause or an add at once.
                        next_refresh = Instant::now();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return false,
            }
        }
    }

    /// Fetches the list and status and sends what changed.
    fn refresh(&mut self, client: &mut Client) -> Result<(), ClientError> {
        if let Response::List(list) = client.request(Request::List)?
            && self.last_list.as_ref() != Some(&list)
        {
            self.last_list = Some(list.clone());
            self.tell(Update::List(list));
        }
        if let Response::Status(status) = client.request(Request::Status)? {
            // Uptime ticks every second: compare without it so an idle
            // daemon does not wake the window.
            let mut key = status.clone();
            key.uptime_secs = 0;
            if self.last_status.as_ref() != Some(&key) {
                self.last_status = Some(key);
                self.tell(Update::Status(Box::new(status)));
            }
        }
        let logged_in = self
            .last_status
            .as_ref()
            .is_some_and(|s| s.logged_in_as.is_some());
        if logged_in && Instant::now() >= self.events_due {
            self.follow_tracker_events(client)?;
            self.events_due = Instant::now() + TRACKER_EVENTS_EVERY;
        }
        Ok(())
    }

    /// Sends the tracker's events newer than the last seen. A refusal from
    /// the daemon (the tracker is down, the session just ended) waits for
    /// the next turn; only a lost connection is an error.
    fn follow_tracker_events(&mut self, client: &mut Client) -> Result<(), ClientError> {
        let mut new = Vec::new();
        for _ in 0..EVENT_PAGES_PER_TURN {
            let page = match client.request(Request::Events {
                after: self.events_after,
                limit: Some(EVENTS_PAGE),
            }) {
                Ok(Response::Events(page)) => page,
                Ok(_) | Err(ClientError::Daemon(_)) => break,
                Err(e) => return Err(e),
            };
            let full = page.events.len() >= EVENTS_PAGE as usize;
            if let Some(last) = page.events.last() {
                self.events_after = u64::try_from(last.id).ok().or(self.events_after);
            }
            new.extend(page.events);
            // Only the newest are kept by the window: drop the rest here.
            let excess = new.len().saturating_sub(MAX_TRACKER_EVENTS);
            new.drain(..excess);
            if !full {
                break;
            }
        }
        if !new.is_empty() {
            self.tell(Update::TrackerEvents(new));
        }
        Ok(())
    }

    /// Forwards the daemon's events on a second connection of its own.
    fn subscribe(&self) {
        let Ok(client) = self.target.connect() else {
            return;
        };
        let updates = self.updates.clone();
        let waker = self.waker.clone();
        let _ = std::thread::Builder::new()
            .name("p2pgui-events".into())
            .spawn(move || {
                let Ok(events) = client.subscribe(None) else {
                    return;
                };
                for event in events {
                    let Ok(event) = event else { return };
                    // Progress ticks are covered by the list refresh.
                    if matches!(event, Event::Progress { .. }) {
                        continue;
                    }
                    if updates.send(Update::Event(event)).is_err() {
                        return;
                    }
                    waker.wake();
                }
            });
    }

    fn tell(&self, update: Update) {
        if self.updates.send(update).is_ok() {
            self.waker.wake();
        }
    }
}
