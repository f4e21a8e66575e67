//! What the worker's updates and the daemon's replies change in the
//! window's state: one arm per reply, and the event log. Draws nothing.

use p2p_proto::api;
use p2p_proto::ipc::{ErrorCode, Event, Request, Response, RuntimeSettings};

use crate::app::{App, Connection};
use crate::format;
use crate::launch;
use crate::worker::{ReplyError, Update};

/// Lines kept in the event log (the tracker's are handed over at most as many).
pub(crate) const MAX_LOG_LINES: usize = crate::worker::MAX_TRACKER_EVENTS;

impl App {
    pub(crate) fn apply(&mut self, update: Update) {
        match update {
            Update::Connected(server) => {
                self.connection = Connection::Connected(server);
                self.starting_daemon = None;
                self.send(Request::Whoami);
                // A daemon restarted under an open tab: fetch what it shows again.
                self.opened(self.tab);
            }
            Update::NoDaemon(why) => {
                self.connection = Connection::NoDaemon(why);
                self.torrents.clear();
                self.status = None;
            }
            Update::List(list) => {
                self.torrents = list;
                if let Some((id, _, _)) = &self.detail {
                    // Keep the detail pane as live as the list.
                    self.send(Request::Progress { id: id.clone() });
                    self.send(Request::Peers { id: id.clone() });
                }
            }
            Update::Status(status) => {
                self.net.user.clone_from(&status.logged_in_as);
                self.status = Some(*status);
                self.status_at = Some(std::time::Instant::now());
            }
            Update::Reply { command, result } => self.reply(command, result),
            Update::Event(event) => self.event(event),
            Update::TrackerEvents(events) => self.tracker_events(&events),
            Update::Picked { purpose, paths } => self.picked(purpose, paths),
            Update::Local(result) => {
                self.share.creating = false;
                self.message = Some(result);
            }
        }
    }

    fn reply(&mut self, command: &'static str, result: Result<Response, ReplyError>) {
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                if command == "config_get" {
                    // The settings panel says why; no second line above.
                    self.settings.error = Some(settings_error(&e));
                    return;
                }
                self.message = Some(Err(format!("{command}: {}", e.message)));
                return;
            }
        };
        let done = |what: String| Some(Ok(what));
        match response {
            Response::Added(a) => {
                self.message = done(match a.note {
                    Some(note) => format!("added {} ({note})", a.torrent.name),
                    None => format!("added {}", a.torrent.name),
                });
            }
            Response::Torrent(t) if command == "torrent_limits" => {
                self.message = done(format!(
                    "limits of {}: download {}, upload {}",
                    t.name,
                    format::rate_setting(t.download_rate_limit),
                    format::rate_setting(t.upload_rate_limit)
                ));
                if self.t.limits.filled_for == Some(t.info_hash.to_hex()) {
                    self.t.limits.fill(&t);
                }
            }
            Response::Torrent(t) => self.message = done(format!("{command}: {}", t.name)),
            Response::SeedGoal(g) => {
                self.message = done(format!("seed goals of {}", g.torrent.name));
            }
            Response::Progress(p) => {
                if let Some(d) = self.detail.as_mut().filter(|d| d.0 == p.info_hash.to_hex()) {
                    d.1 = Some(p);
                }
            }
            Response::Peers(peers) => {
                if let Some(d) = self.detail.as_mut() {
                    d.2 = peers;
                }
            }
            Response::Shared(s) => self.message = done(format!("sharing {}", s.placed_at)),
            // The window has no file list yet; p2pctl files-of shows one.
            Response::TorrentFiles(f) => {
                self.message = done(format!("{}: {} files", f.name, f.files.len()));
            }
            Response::Registered(r) => {
                self.message = done(format!("registered {}", r.registered));
            }
            Response::Session(s) => {
                self.net.user = s.logged_in_as.clone();
                if command != "whoami" {
                    self.message = done(match s.logged_in_as {
                        Some(u) => format!("logged in as {u}"),
                        None => "logged out".to_owned(),
                    });
                }
                if self.net.user.is_some() {
                    self.send(Request::GroupList);
                }
            }
            Response::Groups(g) => self.net.groups = g.groups,
            Response::Group(g) => {
                self.message = done(format!("created group {}", g.name));
                self.send(Request::GroupList);
            }
            Response::JoinRequested(_) => {
                self.message = done(format!("asked to join {}", self.net.group));
            }
            Response::Left(_) => {
                self.message = done(format!("left {}", self.net.group));
                self.send(Request::GroupList);
            }
            Response::JoinRequests(r) => self.net.requests = Some(r),
            Response::Accepted(_) | Response::Rejected(_) => {
                self.message = done(format!("{command} done"));
                self.send(Request::GroupRequests {
                    name: self.net.group.clone(),
                });
                self.send(Request::GroupMembers {
                    name: self.net.group.clone(),
                });
            }
            Response::Members(m) => self.net.members = Some(m),
            Response::MemberRemoved(r) => {
                self.message = done(format!("removed {} from {}", r.removed, self.net.group));
                self.send(Request::GroupMembers {
                    name: self.net.group.clone(),
                });
            }
            Response::Catalog(c) => self.net.catalog = Some(c),
            Response::Events(page) => self.tracker_events(&page.events),
            Response::Config(s) => self.settings_arrived(s, command),
            // The window sends no verify yet; p2pctl verify does.
            Response::Verified(v) => {
                self.message = done(format!("{}: {} bad pieces", v.name, v.bad.len()));
            }
            Response::Status(_)
            | Response::List(_)
            | Response::Subscribed(_)
            | Response::PasskeyRotated(_) => {}
        }
    }

    fn settings_arrived(&mut self, s: RuntimeSettings, command: &str) {
        self.settings.error = None;
        self.settings.load(&s);
        if command == "config_set" {
            self.message = Some(Ok("settings saved".to_owned()));
        }
    }

    fn tracker_events(&mut self, events: &[api::EventRecord]) {
        for e in events {
            let mut line = format!("tracker #{}: {}", e.id, e.kind);
            for part in [&e.username, &e.group].into_iter().flatten() {
                line.push(' ');
                line.push_str(part);
            }
            if !e.detail.is_empty() {
                line.push_str(" — ");
                line.push_str(&e.detail);
            }
            self.push_log(line);
        }
    }

    fn event(&mut self, event: Event) {
        let line = match &event {
            Event::Completed { name, .. } => {
                if self.options.notify {
                    launch::notify("Download complete", name);
                }
                format!("completed: {name}")
            }
            Event::Error { message, .. } => format!("error: {message}"),
            Event::Shared { path, .. } => format!("shared: {path}"),
            Event::LoggedOut { reason } => format!("logged out: {reason}"),
            Event::Progress { .. } => return,
        };
        self.push_log(line);
    }

    pub(crate) fn push_log(&mut self, line: String) {
        if self.log.len() >= MAX_LOG_LINES {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }
}

/// What the settings panel says when the daemon cannot read or change settings.
fn settings_error(e: &ReplyError) -> String {
    match e.code {
        Some(ErrorCode::NotSupported) => format!(
            "This p2pd cannot change settings while it runs (it answered: {}). Update p2pd to use this panel.",
            e.message
        ),
        _ => e.message.clone(),
    }
}
