//! The window: its state, what each worker update changes in it, the tab
//! bar, and the offer to start a daemon when none answers. Each tab draws
//! itself in the `tabs` module.

use std::path::{Path, PathBuf};
use std::time::Duration;

use eframe::egui;
use p2p_client::Target;
use p2p_proto::ipc::{PeerSummary, ProgressInfo, TorrentSummary};
use p2p_proto::ipc::{Request, StatusInfo};
use serde::{Deserialize, Serialize};

use crate::launch::Launcher;
use crate::pick::{self, Purpose};
use crate::tabs;
use crate::worker::{self, Handle};

/// How long one read or write on the socket may take.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// To wake the window from threads of its own (the file dialog).
    ctx: egui::Context,
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
    /// The daemon's events and the tracker's, oldest first, at most
    /// `replies::MAX_LOG_LINES`.
    pub(crate) log: std::collections::VecDeque<String>,
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
    /// `P2PGUI_FRAME_BENCH`: counts frame times (bench/p2pgui.sh).
    frame_bench: Option<crate::frame_bench::FrameBench>,
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
            ctx: cc.egui_ctx.clone(),
            options,
            tab: remembered.tab,
            connection: Connection::Connecting,
            starting_daemon: None,
            torrents: Vec::new(),
            status: None,
            status_at: None,
            message: None,
            log: std::collections::VecDeque::with_capacity(crate::replies::MAX_LOG_LINES),
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
            frame_bench: crate::frame_bench::FrameBench::from_env(),
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

    /// What the file dialog picked: a .torrent is added as a dropped one
    /// is, a folder becomes the download folder, files and folders to share
    /// are shared as dropped ones are.
    pub fn picked(&mut self, purpose: Purpose, paths: Vec<PathBuf>) {
        if paths.is_empty() {
            self.message = Some(Err(
                "nothing chosen (if no dialog opened, type the path in the field instead)".into(),
            ));
            return;
        }
        match purpose {
            Purpose::OpenTorrent => {
                for path in paths {
                    self.send(self.add.request_for(path.display().to_string()));
                }
            }
            Purpose::DownloadFolder => {
                self.add.folder = paths[0].display().to_string();
            }
            Purpose::ShareFiles | Purpose::ShareFolder => {
                for path in paths {
                    self.send(Request::Share {
                        path: path.display().to_string(),
                        group: self.share.group.clone(),
                    });
                }
            }
        }
    }

    /// Opens the system's file dialog for `purpose` (its answer arrives
    /// with the worker's updates).
    pub(crate) fn pick(&self, purpose: Purpose) {
        pick::open(purpose, self.worker.local.clone(), self.ctx.clone());
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

/// The panels' background in the real window: drawn by the frame's clear,
/// not as a quad over the whole window. On a CPU renderer (Mesa's llvmpipe)
/// every covered pixel runs egui's fragment shader, and the panels covered
/// every pixel once more: a frame with 1,000 torrents took about 33 ms of
/// CPU with filled panels and 18 ms without (bench/p2pgui.sh). The colour
/// is the theme's own, so the window looks the same.
fn panels_drawn_by_clear(ctx: &egui::Context) {
    ctx.all_styles_mut(|style| style.visuals.panel_fill = egui::Color32::TRANSPARENT);
}

impl eframe::App for App {
    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        let theme = if visuals.dark_mode {
            egui::Visuals::dark()
        } else {
            egui::Visuals::light()
        };
        theme.panel_fill.to_normalized_gamma_f32()
    }

    fn update(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
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
                if let Some(bench) = self.frame_bench.as_mut()
                    && !self.torrents.is_empty()
                {
                    self.t.scroll_to = bench.frame(ctx, frame.info().cpu_usage);
                }
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

/// Keeps the memory a frame frees in the process for the next frame. Each
/// frame frees large buffers at the top of the heap; glibc hands that back
/// to the kernel (its trim threshold starts at 128 KiB) and the next frame
/// takes it again, page fault by page fault. glibc raises the threshold to
/// twice the size of an mmapped block when one is freed (blocks up to
/// 32 MiB): one 16 MiB block, never touched, so it costs no resident
/// memory. With 1,000 torrents on llvmpipe a frame took 9.2 ms without it
/// and 7.2 ms with it (bench/p2pgui.sh). With another allocator or libc it
/// is one untouched allocation, freed at once.
fn keep_freed_frames() {
    const BLOCK: usize = 16 << 20;
    drop(std::hint::black_box(Vec::<u8>::with_capacity(BLOCK)));
}

/// Opens the window and runs until it is closed.
pub fn run(options: Options) -> anyhow::Result<()> {
    keep_freed_frames();
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("p2pgui")
            .with_app_id("p2pgui")
            .with_inner_size([1100.0, 680.0])
            .with_min_inner_size([640.0, 400.0])
            .with_drag_and_drop(true),
        persist_window: true,
        // The frame bench counts frames, not a display's refresh rate.
        vsync: std::env::var_os("P2PGUI_FRAME_BENCH").is_none(),
        ..Default::default()
    };
    eframe::run_native(
        "p2pgui",
        native,
        Box::new(move |cc| {
            // Only here: egui_kittest's renderer clears to transparent, so the
            // tests' screenshots keep the panels' own fill.
            panels_drawn_by_clear(&cc.egui_ctx);
            Ok(Box::new(App::new(cc, options)))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}
