//! The Add tab: a .torrent path or a magnet link (or a catalog name), and
//! the folder to download into, typed or chosen in the system's dialog. Dropping a .torrent on the window adds it
//! the same way ([`crate::App::dropped`]).

use eframe::egui;
use p2p_proto::ipc::Request;

use crate::App;
use crate::pick::Purpose;

/// The tab's own state.
#[derive(Debug, Default)]
pub struct State {
    /// What to add, as typed.
    pub source: String,
    /// Where to download; empty: the daemon's downloads folder.
    pub folder: String,
    /// Add without starting.
    pub paused: bool,
    /// Download in order (streaming).
    pub sequential: bool,
}

impl State {
    /// The `add` request for `source` with this tab's folder and options.
    pub fn request_for(&self, source: String) -> Request {
        let folder = self.folder.trim();
        Request::Add {
            source,
            to: (!folder.is_empty()).then(|| folder.to_owned()),
            paused: self.paused,
            files: None,
            sequential: self.sequential,
        }
    }
}

pub(crate) fn show(app: &mut App, ui: &mut egui::Ui) {
    ui.heading("Add a torrent");
    ui.label("A .torrent file's full path, a magnet link, an info-hash, or a name from the catalog. You can also drop .torrent files anywhere on this window.");
    ui.add_space(8.0);
    egui::Grid::new("add-form")
        .num_columns(2)
        .spacing([12.0, 8.0])
        .show(ui, |ui| {
            let l = ui.label("Torrent file or magnet link");
            ui.horizontal(|ui| {
                ui.add(egui::TextEdit::singleline(&mut app.add.source).desired_width(520.0))
                    .labelled_by(l.id);
                if ui.button(Purpose::OpenTorrent.button()).clicked() {
                    app.pick(Purpose::OpenTorrent);
                }
            });
            ui.end_row();
            let l = ui.label("Download folder");
            let downloads = app
                .status
                .as_ref()
                .map_or_else(String::new, |s| s.downloads_dir.clone());
            ui.horizontal(|ui| {
                ui.add(
                    egui::TextEdit::singleline(&mut app.add.folder)
                        .hint_text(format!("default: {downloads}"))
                        .desired_width(520.0),
                )
                .labelled_by(l.id);
                if ui.button(Purpose::DownloadFolder.button()).clicked() {
                    app.pick(Purpose::DownloadFolder);
                }
            });
            ui.end_row();
            ui.label("");
            ui.checkbox(&mut app.add.paused, "Add paused");
            ui.end_row();
            ui.label("");
            ui.checkbox(
                &mut app.add.sequential,
                "In order (to play while it downloads)",
            );
            ui.end_row();
        });
    ui.add_space(8.0);
    let source = app.add.source.trim().to_owned();
    if ui
        .add_enabled(!source.is_empty(), egui::Button::new("Add torrent"))
        .clicked()
    {
        app.send(app.add.request_for(source));
        app.add.source.clear();
    }
}
