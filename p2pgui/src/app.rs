//! The window: its state, what each worker update changes in it, the tab
//! bar, and the offer to start a daemon when none answers. Each tab draws
//! itself in the `tabs` module.

use std::path::{Path, PathBuf};
use std::time::Duration;

use eframe::egui;
use p2p_client::Target;
use p2p_proto::api;
use p2p_proto::ipc::{ErrorCode, Event, Request, Response, RuntimeSettings, StatusInfo};
use p2p_proto::ipc::{PeerSummary, ProgressInfo, TorrentSummary};
use serde::{Deserialize, Serialize};

use crate::launch::{self, Launcher};
use crate::tabs;
use crate::worker::{self, Handle, ReplyError, Update};

/// How long one read or write on the socket may take.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(10);
/// Lines kept in the event log.
const MAX_LOG_LINES: usize = 500;

/// The tabs, in the order shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Tab {
    /// Every torrent, with a detail pane.
    #[default]
    Torrents,
    /// Open a .torrent or a magnet link.
    Add,
    /// Share files and create .torrent files.
    Share,
    /// Account, groups, catalog, events.
    Network,
    /// Daemon status and run-time settings.
    Status,
}

impl Tab {
    /// Every tab, in order.
    pub const ALL: [Tab; 5] = [
        Tab::Torrents,
        Tab::Add,
        Tab::Share,
        Tab::Network,
        Tab::Status,
    ];

    /// The tab's title (also its accessible label).
    pub fn title(self) -> &'static str {
        match self {
            Tab::Torrents => "Torrents",
            Tab::Add => "Add",
            Tab::Share => "Share",
            Tab::Network => "Network",
            Tab::Status => "Status & settings",
        }
    }
}

/// How p2pgui reaches its daemon and starts one.
#[derive(Debug, Clone)]
pub struct Options {
    /// The daemon's socket and who must own it.
    pub target: Target,
    /// What "Start p2pd" runs.
    pub launcher: Launcher,
    /// Desktop notifications on completion.
    pub notify: bool,
}

impl Options {
    /// The daemon at `socket` (else `$P2PD_SOCKET`, else the default).
    pub fn new(socket: Option<&Path>) -> Options {
        Options {
            target: Target::resolve(socket, None, SOCKET_TIMEOUT),
            launcher: Launcher::default_for(socket),
            notify: true,
        }
    }
}

/// What the window remembers between runs (eframe keeps the window's own
/// size and position).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Remembered {
    tab: Tab,
    download_folder: String,
}

/// Whether a daemon answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    /// Not known yet.
    Connecting,
    /// Connected, with the daemon's name.
    Connected(String),
    /// Nobody answers; why.
    NoDaemon(String),
}

/// The whole window.
#[derive(Debug)]
pub struct App {
    pub(crate) worker: Handle,
    pub(crate) options: Options,
    pub(crate) tab: Tab,
    pub(crate) connection: Connection,
    pub(crate) starting_daemon: Option<Result<(), String>>,
    pub(crate) torrents: Vec<TorrentSummary>,
    pub(crate) status: Option<StatusInfo>,
    /// When `status` arrived.
    pub(crate) status_at: Option<std::time::Instant>,
    /// The last outcome of an action, shown under the tabs.
    pub(crate) message: Option<Result<String, String>>,
    pub(crate) log: Vec<String>,
    pub(crate) t: tabs::torrents::State,
    pub(crate) add: tabs::add::State,
    pub(crate) share: tabs::share::State,
    pub(crate) net: tabs::network::State,
    pub(crate) settings: tabs::status::State,
    /// The detail pane's torrent and what the daemon said of it.
    pub(crate) detail: Option<(String, Option<ProgressInfo>, Vec<PeerSummary>)>,
    /// `P2PGUI_REPORT_LIST_SHOWN`: print on stderr the wall-clock time of
    /// the first frame that shows torrents (bench/p2pgui.sh's start-up figure).
    report_list_shown: bool,
}

impl App {
    /// The window, its worker started; `cc` brings eframe's saved state.
    pub fn new(cc: &eframe::CreationContext<'_>, options: Options) -> App {
        let remembered: Remembered = cc
            .storage
            .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
            .unwrap_or_default();
        // A blinking cursor repaints twice a second for as long as a field
        // has focus: an idle window should draw nothing.
        cc.egui_ctx
            .style_mut(|style| style.visuals.text_cursor.blink = false);
        let worker = worker::spawn(options.target.clone(), cc.egui_ctx.clone());
        App {
            worker,
            options,
            tab: remembered.tab,
            connection: Connection::Connecting,
            starting_daemon: None,
            torrents: Vec::new(),
            status: None,
            status_at: None,
            message: None,
            log: Vec::new(),
            t: tabs::torrents::State::default(),
            add: tabs::add::State {
                folder: remembered.download_folder,
                ..Default::default()
            },
            share: tabs::share::State::default(),
            net: tabs::network::State::default(),
            settings: tabs::status::State::default(),
            detail: None,
            report_list_shown: std::env::var_os("P2PGUI_REPORT_LIST_SHOWN").is_some(),
        }
    }

    /// The tab shown.
    pub fn tab(&self) -> Tab {
        self.tab
    }

    /// The torrents as last listed.
    pub fn torrents(&self) -> &[TorrentSummary] {
        &self.torrents
    }

    /// Whether a daemon answered.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Sends a request to the daemon through the worker.
    pub(crate) fn send(&self, request: Request) {
        self.worker.send(request);
    }

    /// Files dropped on the window (or picked): a .torrent is added, as
    /// on the Add tab; anything else is shared, as on the Share tab, into
    /// the group chosen there.
    pub fn dropped(&mut self, paths: Vec<PathBuf>) {
        for path in paths {
            let is_torrent = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("torrent"));
            let text = path.display().to_string();
            if is_torrent && self.tab != Tab::Share {
                self.send(self.add.request_for(text));
            } else {
                self.send(Request::Share {
                    path: text,
                    group: self.share.group.clone(),
                });
            }
        }
    }

    fn apply(&mut self, update: Update) {
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
            Response::Torrent(t) => self.message = done(format!("{command}: {}", t.name)),
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
            Response::MemberRemoved(_) => self.message = done(format!("{command} done")),
            Response::Catalog(c) => self.net.catalog = Some(c),
            Response::Events(page) => self.tracker_events(page),
            Response::Config(s) => self.settings_arrived(s, command),
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

    fn tracker_events(&mut self, page: api::EventPage) {
        for e in &page.events {
            let id = u64::try_from(e.id).unwrap_or(0);
            self.net.last_event = Some(self.net.last_event.map_or(id, |l| l.max(id)));
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
            self.log.remove(0);
        }
        self.log.push(line);
    }

    fn tab_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            for tab in Tab::ALL {
                if ui.selectable_label(self.tab == tab, tab.title()).clicked() && self.tab != tab {
                    self.tab = tab;
                    self.opened(tab);
                }
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let text = match &self.connection {
                    Connection::Connecting => "connecting…".to_owned(),
                    Connection::Connected(server) => {
                        let user = self.net.user.as_deref().unwrap_or("not logged in");
                        format!("{server} · {user}")
                    }
                    Connection::NoDaemon(_) => "no daemon".to_owned(),
                };
                ui.weak(text);
            });
        });
    }

    /// What a tab fetches when it is opened.
    pub(crate) fn opened(&mut self, tab: Tab) {
        if !matches!(self.connection, Connection::Connected(_)) {
            return;
        }
        match tab {
            Tab::Status => self.send(Request::ConfigGet),
            Tab::Network | Tab::Share if self.net.user.is_some() => {
                self.send(Request::GroupList);
                if tab == Tab::Network {
                    self.send(Request::Events {
                        after: self.net.last_event,
                        limit: Some(100),
                    });
                }
            }
            _ => {}
        }
    }

    fn no_daemon(&mut self, ui: &mut egui::Ui, why: &str) {
        ui.vertical_centered(|ui| {
            ui.add_space(60.0);
            ui.heading("No p2pd daemon is running");
            ui.weak(why);
            ui.add_space(12.0);
            ui.label(format!(
                "p2pgui can start one for you, in the background: {} {}",
                self.options.launcher.program.display(),
                self.options
                    .launcher
                    .args
                    .iter()
                    .map(|a| a.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
            ui.add_space(8.0);
            match &self.starting_daemon {
                Some(Ok(())) => {
                    ui.spinner();
                    ui.label("Starting p2pd…");
                }
                Some(Err(e)) => {
                    ui.colored_label(ui.visuals().error_fg_color, e.clone());
                }
                None => {}
            }
            if !matches!(self.starting_daemon, Some(Ok(())))
                && ui
                    .add(egui::Button::new(
                        egui::RichText::new("Start p2pd").size(18.0),
                    ))
                    .clicked()
            {
                self.starting_daemon = Some(self.options.launcher.start());
            }
        });
    }

    fn message_line(&mut self, ui: &mut egui::Ui) {
        let Some(message) = self.message.clone() else {
            return;
        };
        ui.horizontal(|ui| {
            match &message {
                Ok(text) => ui.label(text),
                Err(text) => ui.colored_label(ui.visuals().error_fg_color, text),
            };
            if ui.small_button("Dismiss").clicked() {
                self.message = None;
            }
        });
    }
}

impl App {
    /// Prints when the first frame laying out torrents is done (it is
    /// presented right after): the bench's start-to-list figure.
    fn report_list_shown_once(&mut self) {
        if self.report_list_shown && !self.torrents.is_empty() {
            self.report_list_shown = false;
            let ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            eprintln!("p2pgui: list shown at {ms} ms since the epoch");
        }
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

impl eframe::App for App {
    fn update(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        while let Ok(update) = self.worker.updates.try_recv() {
            self.apply(update);
        }
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .filter_map(|f| f.path.clone())
                .collect()
        });
        if !dropped.is_empty() && matches!(self.connection, Connection::Connected(_)) {
            self.dropped(dropped);
        }
        egui::TopBottomPanel::top("tabs").show(ctx, |ui| {
            self.tab_bar(ui);
            self.message_line(ui);
        });
        if let Connection::NoDaemon(why) = &self.connection {
            let why = why.clone();
            egui::CentralPanel::default().show(ctx, |ui| self.no_daemon(ui, &why));
            return;
        }
        match self.tab {
            Tab::Torrents => {
                tabs::torrents::show(self, ctx);
                self.report_list_shown_once();
            }
            Tab::Add => {
                egui::CentralPanel::default().show(ctx, |ui| tabs::add::show(self, ui));
            }
            Tab::Share => {
                egui::CentralPanel::default().show(ctx, |ui| tabs::share::show(self, ui));
            }
            Tab::Network => {
                egui::CentralPanel::default().show(ctx, |ui| tabs::network::show(self, ui));
            }
            Tab::Status => {
                egui::CentralPanel::default().show(ctx, |ui| tabs::status::show(self, ui));
            }
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        let remembered = Remembered {
            tab: self.tab,
            download_folder: self.add.folder.clone(),
        };
        eframe::set_value(storage, eframe::APP_KEY, &remembered);
    }
}

/// Opens the window and runs until it is closed.
pub fn run(options: Options) -> anyhow::Result<()> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("p2pgui")
            .with_app_id("p2pgui")
            .with_inner_size([1100.0, 680.0])
            .with_min_inner_size([640.0, 400.0])
            .with_drag_and_drop(true),
        persist_window: true,
        ..Default::default()
    };
    eframe::run_native(
        "p2pgui",
        native,
        Box::new(move |cc| Ok(Box::new(App::new(cc, options)))),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}
