//! The Torrents tab: every torrent in a sortable, filterable table drawn
//! row by row only where visible (1,000 torrents cost what 30 do), actions
//! on the selected one, and a detail pane (the `detail` module).

use eframe::egui;
use egui_extras::{Column, TableBuilder};
use p2p_proto::ipc::{Request, TorrentState, TorrentSummary};

use crate::App;
use crate::format;

/// Columns the table sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Name, A to Z.
    #[default]
    Name,
    /// Total size.
    Size,
    /// Verified fraction.
    Progress,
    /// State name.
    State,
    /// Download rate.
    Down,
    /// Upload rate.
    Up,
    /// Connected peers.
    Peers,
}

/// The tab's own state.
#[derive(Debug, Default)]
pub struct State {
    /// Shows only names containing this (any case).
    pub filter: String,
    /// Sort column.
    pub sort: SortBy,
    /// Largest first.
    pub descending: bool,
    /// The selected torrent's info-hash.
    pub selected: Option<String>,
    /// Asking before deleting data.
    pub confirm_delete: bool,
    /// Scrolls the list to this offset in the next frame (the frame bench).
    pub scroll_to: Option<f32>,
    /// The detail pane's limit fields.
    pub limits: super::detail::State,
}

/// The rows to show, filtered and sorted (indices into the list).
pub fn visible(list: &[TorrentSummary], state: &State) -> Vec<usize> {
    let needle = state.filter.to_lowercase();
    let mut rows: Vec<usize> = (0..list.len())
        .filter(|&i| needle.is_empty() || list[i].name.to_lowercase().contains(&needle))
        .collect();
    rows.sort_by(|&a, &b| {
        let (a, b) = (&list[a], &list[b]);
        let order = match state.sort {
            SortBy::Name => a.name.cmp(&b.name),
            SortBy::Size => a.size.cmp(&b.size),
            SortBy::Progress => a.progress.total_cmp(&b.progress),
            SortBy::State => a.state.as_str().cmp(b.state.as_str()),
            SortBy::Down => a.download_rate.cmp(&b.download_rate),
            SortBy::Up => a.upload_rate.cmp(&b.upload_rate),
            SortBy::Peers => a.peers.cmp(&b.peers),
        };
        if state.descending {
            order.reverse()
        } else {
            order
        }
    });
    rows
}

pub(crate) fn show(app: &mut App, ctx: &egui::Context) {
    egui::TopBottomPanel::top("torrent-actions").show(ctx, |ui| actions(app, ui));
    if app.t.selected.is_some() {
        egui::TopBottomPanel::bottom("torrent-detail")
            .resizable(true)
            .default_height(250.0)
            .show(ctx, |ui| super::detail::show(app, ui));
    }
    egui::CentralPanel::default().show(ctx, |ui| table(app, ui));
}

fn selected(app: &App) -> Option<&TorrentSummary> {
    let id = app.t.selected.as_deref()?;
    app.torrents.iter().find(|t| t.info_hash.to_hex() == id)
}

fn actions(app: &mut App, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        super::field(ui, "Filter", &mut app.t.filter);
        ui.separator();
        let chosen = selected(app).map(|t| (t.info_hash.to_hex(), t.save_path.clone()));
        ui.add_enabled_ui(chosen.is_some(), |ui| {
            let Some((id, folder)) = chosen.clone() else {
                // Disabled buttons still show what can be done.
                for label in [
                    "Pause",
                    "Resume",
                    "Remove",
                    "Remove with data",
                    "Open folder",
                ] {
                    let _ = ui.button(label);
                }
                return;
            };
            if ui.button("Pause").clicked() {
                app.send(Request::Pause { id: id.clone() });
            }
            if ui.button("Resume").clicked() {
                app.send(Request::Resume { id: id.clone() });
            }
            if ui.button("Remove").clicked() {
                app.send(Request::Remove {
                    id: id.clone(),
                    delete_data: false,
                });
                app.t.selected = None;
                app.detail = None;
            }
            if ui.button("Remove with data").clicked() {
                app.t.confirm_delete = true;
            }
            if ui.button("Open folder").clicked()
                && let Err(e) = crate::launch::open_folder(std::path::Path::new(&folder))
            {
                app.message = Some(Err(e));
            }
        });
    });
    if app.t.confirm_delete {
        ui.horizontal(|ui| {
            let name = selected(app).map(|t| t.name.clone()).unwrap_or_default();
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("Delete {name} and its downloaded files?"),
            );
            if ui.button("Delete files").clicked() {
                if let Some(id) = app.t.selected.take() {
                    app.send(Request::Remove {
                        id,
                        delete_data: true,
                    });
                }
                app.detail = None;
                app.t.confirm_delete = false;
            }
            if ui.button("Keep them").clicked() {
                app.t.confirm_delete = false;
            }
        });
    }
}

fn header(ui: &mut egui::Ui, state: &mut State, title: &str, by: SortBy) {
    let arrow = match (state.sort == by, state.descending) {
        (true, false) => " ⏶",
        (true, true) => " ⏷",
        _ => "",
    };
    if ui
        .add(
            egui::Button::new(egui::RichText::new(format!("{title}{arrow}")).strong()).frame(false),
        )
        .on_hover_text(format!("Sort by {}", title.to_lowercase()))
        .clicked()
    {
        if state.sort == by {
            state.descending = !state.descending;
        } else {
            state.sort = by;
            state.descending = false;
        }
    }
}

fn table(app: &mut App, ui: &mut egui::Ui) {
    if app.torrents.is_empty() {
        ui.vertical_centered(|ui| {
            ui.add_space(40.0);
            ui.label("No torrents yet: open the Add tab, or drop a .torrent file on the window.");
        });
        return;
    }
    let rows = visible(&app.torrents, &app.t);
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 6.0;
    let mut clicked: Option<String> = None;
    let mut builder = TableBuilder::new(ui);
    if let Some(offset) = app.t.scroll_to.take() {
        builder = builder.vertical_scroll_offset(offset);
    }
    builder
        // No stripes: on a CPU renderer every striped row is another
        // blended quad across the window, about a third of a frame's cost
        // with 1,000 torrents (bench/p2pgui.sh: 17 -> 11 ms CPU a frame);
        // the column lines and the row highlight keep rows apart.
        .striped(false)
        .resizable(true)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::initial(360.0).at_least(160.0).clip(true))
        .column(Column::auto().at_least(70.0))
        .column(Column::exact(130.0))
        .column(Column::auto().at_least(80.0))
        .column(Column::auto().at_least(80.0))
        .column(Column::auto().at_least(80.0))
        .column(Column::auto().at_least(45.0))
        .column(Column::remainder().at_least(60.0))
        .header(22.0, |mut h| {
            h.col(|ui| header(ui, &mut app.t, "Name", SortBy::Name));
            h.col(|ui| header(ui, &mut app.t, "Size", SortBy::Size));
            h.col(|ui| header(ui, &mut app.t, "Progress", SortBy::Progress));
            h.col(|ui| header(ui, &mut app.t, "State", SortBy::State));
            h.col(|ui| header(ui, &mut app.t, "Down", SortBy::Down));
            h.col(|ui| header(ui, &mut app.t, "Up", SortBy::Up));
            h.col(|ui| header(ui, &mut app.t, "Peers", SortBy::Peers));
            h.col(|ui| {
                ui.strong("ETA");
            });
        })
        .body(|body| {
            body.rows(row_height, rows.len(), |mut row| {
                let t = &app.torrents[rows[row.index()]];
                let id = t.info_hash.to_hex();
                let is_selected = app.t.selected.as_deref() == Some(id.as_str());
                row.set_selected(is_selected);
                row.col(|ui| {
                    if ui.selectable_label(is_selected, &t.name).clicked() {
                        clicked = Some(id.clone());
                    }
                });
                row.col(|ui| {
                    ui.label(format::bytes(t.size));
                });
                row.col(|ui| {
                    ui.add(
                        egui::ProgressBar::new(t.progress as f32)
                            .desired_height(row_height - 6.0)
                            .fill(state_colour(t.state))
                            .text(format!("{:.1}%", t.progress * 100.0)),
                    );
                });
                row.col(|ui| {
                    let label = ui.label(t.state.as_str());
                    if let Some(e) = &t.error {
                        label.on_hover_text(e);
                    }
                });
                row.col(|ui| {
                    ui.label(format::rate(t.download_rate));
                });
                row.col(|ui| {
                    ui.label(format::rate(t.upload_rate));
                });
                row.col(|ui| {
                    ui.label(t.peers.to_string());
                });
                row.col(|ui| {
                    ui.label(format::eta(t.size, t.progress, t.download_rate));
                });
            });
        });
    if let Some(id) = clicked {
        select(app, id);
    }
}

/// The progress bar's colour: a state reads at a glance, and a selected
/// row (drawn in the selection colour) keeps its bar visible.
fn state_colour(state: TorrentState) -> egui::Color32 {
    match state {
        TorrentState::Seeding => egui::Color32::from_rgb(46, 125, 50),
        TorrentState::Downloading | TorrentState::Checking => egui::Color32::from_rgb(25, 118, 160),
        TorrentState::Error | TorrentState::DiskFull => egui::Color32::from_rgb(183, 28, 28),
        TorrentState::Paused
        | TorrentState::Waiting
        | TorrentState::Queued
        | TorrentState::Finished => egui::Color32::from_gray(100),
    }
}

/// Selects a torrent and fetches its files and peers.
pub(crate) fn select(app: &mut App, id: String) {
    app.send(Request::Progress { id: id.clone() });
    app.send(Request::Peers { id: id.clone() });
    app.t.selected = Some(id.clone());
    app.t.confirm_delete = false;
    app.t.limits.filled_for = None;
    app.detail = Some((id, None, Vec::new()));
}
