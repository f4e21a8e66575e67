//! The Share tab: share files or folders (dropped on the window, or typed)
//! publicly or into one of the user's groups, and create a .torrent file
//! with the same code `p2pctl create` uses.

use std::path::PathBuf;

use eframe::egui;
use p2p_proto::create::{Control, CreateOptions, create_torrent};
use p2p_proto::fsutil::write_atomically;
use p2p_proto::metainfo::TorrentExtras;

use crate::App;
use crate::worker::Update;

/// Piece sizes offered; none picks one for the size.
const PIECE_SIZES: [(Option<u64>, &str); 7] = [
    (None, "automatic"),
    (Some(16 << 10), "16 KiB"),
    (Some(64 << 10), "64 KiB"),
    (Some(256 << 10), "256 KiB"),
    (Some(1 << 20), "1 MiB"),
    (Some(4 << 20), "4 MiB"),
    (Some(16 << 20), "16 MiB"),
];

/// The tab's own state.
#[derive(Debug, Default)]
pub struct State {
    /// Group to share into; none: public.
    pub group: Option<String>,
    /// A path typed instead of dropped.
    pub path: String,
    /// Creating a .torrent: what to hash.
    pub create_from: String,
    /// Where to save it; empty: beside the source.
    pub create_to: String,
    /// Piece size; none: automatic.
    pub piece: Option<u64>,
    /// BEP 27 private flag.
    pub private: bool,
    /// Announce URLs, one per line.
    pub trackers: String,
    /// A creation is running.
    pub creating: bool,
}

pub(crate) fn show(app: &mut App, ui: &mut egui::Ui) {
    ui.heading("Share files");
    ui.label("Drop files or folders on this window to share them, or type a path. p2pd copies them into its watched folder and seeds them.");
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        let group = app
            .share
            .group
            .clone()
            .unwrap_or_else(|| "Public".to_owned());
        ui.label("Share into");
        egui::ComboBox::from_id_salt("share-into")
            .selected_text(group)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut app.share.group, None, "Public");
                for g in app.net.groups.iter().filter(|g| g.member) {
                    ui.selectable_value(&mut app.share.group, Some(g.name.clone()), &g.name);
                }
            });
        if app.net.user.is_none() {
            ui.weak("(log in on the Network tab to share into a group)");
        }
    });
    super::field(ui, "File or folder to share", &mut app.share.path);
    let path = app.share.path.trim().to_owned();
    if ui
        .add_enabled(!path.is_empty(), egui::Button::new("Share this path"))
        .clicked()
    {
        app.dropped(vec![PathBuf::from(path)]);
        app.share.path.clear();
    }
    shared_now(app, ui);
    ui.add_space(16.0);
    ui.separator();
    create_form(app, ui);
}

/// What the daemon shares from its watched folder, so a drop shows its effect here.
fn shared_now(app: &App, ui: &mut egui::Ui) {
    let Some(dir) = app.status.as_ref().map(|s| s.shared_dir.as_str()) else {
        return;
    };
    let shared: Vec<_> = app
        .torrents
        .iter()
        .filter(|t| std::path::Path::new(&t.save_path).starts_with(dir))
        .collect();
    ui.add_space(8.0);
    if shared.is_empty() {
        ui.weak(format!("Nothing shared from {dir} yet."));
        return;
    }
    ui.strong(format!("Shared from {dir}"));
    egui::Grid::new("shared-now")
        .striped(true)
        .num_columns(3)
        .show(ui, |ui| {
            for t in shared {
                ui.label(&t.name);
                ui.label(crate::format::bytes(t.size));
                ui.label(t.state.as_str());
                ui.end_row();
            }
        });
}

fn create_form(app: &mut App, ui: &mut egui::Ui) {
    ui.heading("Create a .torrent file");
    let s = &mut app.share;
    egui::Grid::new("create-form")
        .num_columns(2)
        .spacing([12.0, 8.0])
        .show(ui, |ui| {
            let l = ui.label("Create from");
            ui.add(egui::TextEdit::singleline(&mut s.create_from).desired_width(420.0))
                .labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Save .torrent as");
            ui.add(
                egui::TextEdit::singleline(&mut s.create_to)
                    .hint_text("default: NAME.torrent beside it")
                    .desired_width(420.0),
            )
            .labelled_by(l.id);
            ui.end_row();
            ui.label("Piece size");
            let current = PIECE_SIZES
                .iter()
                .find(|(p, _)| *p == s.piece)
                .map_or("automatic", |(_, l)| l);
            egui::ComboBox::from_id_salt("piece-size")
                .selected_text(current)
                .show_ui(ui, |ui| {
                    for (p, label) in PIECE_SIZES {
                        ui.selectable_value(&mut s.piece, p, label);
                    }
                });
            ui.end_row();
            ui.label("");
            ui.checkbox(&mut s.private, "Private (no DHT or peer exchange)");
            ui.end_row();
            let l = ui.label("Trackers, one per line");
            ui.add(
                egui::TextEdit::multiline(&mut s.trackers)
                    .desired_rows(2)
                    .desired_width(420.0),
            )
            .labelled_by(l.id);
            ui.end_row();
        });
    let from = s.create_from.trim().to_owned();
    let enabled = !from.is_empty() && !s.creating;
    if ui
        .add_enabled(enabled, egui::Button::new("Create .torrent"))
        .clicked()
    {
        s.creating = true;
        let job = Job {
            from: PathBuf::from(from),
            to: s.create_to.trim().to_owned(),
            opts: options(s),
        };
        let tx = app.worker.local.clone();
        let ctx = ui.ctx().clone();
        let _ = std::thread::Builder::new()
            .name("p2pgui-create".into())
            .spawn(move || {
                let _ = tx.send(Update::Local(job.run()));
                ctx.request_repaint();
            });
    }
    if s.creating {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Hashing…");
        });
    }
}

fn options(s: &State) -> CreateOptions {
    let trackers = s
        .trackers
        .lines()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| vec![u.to_owned()])
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    CreateOptions {
        piece_length: s.piece,
        private: s.private,
        extras: TorrentExtras {
            trackers,
            created_by: Some(format!("p2pgui {}", env!("CARGO_PKG_VERSION"))),
            creation_date: Some(now),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// One .torrent to create, off the UI thread (hashing takes a while).
struct Job {
    from: PathBuf,
    to: String,
    opts: CreateOptions,
}

impl Job {
    fn run(self) -> Result<String, String> {
        let created = create_torrent(&self.from, &self.opts, &Control::default())
            .map_err(|e| format!("cannot create a torrent from {}: {e}", self.from.display()))?;
        let out = if self.to.is_empty() {
            let dir = self.from.parent().map(PathBuf::from).unwrap_or_default();
            dir.join(format!("{}.torrent", created.metainfo.info.name))
        } else {
            PathBuf::from(self.to)
        };
        if out.exists() {
            return Err(format!(
                "{} already exists: choose another name",
                out.display()
            ));
        }
        write_atomically(&out, &created.bytes)
            .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
        Ok(format!("wrote {}", out.display()))
    }
}
