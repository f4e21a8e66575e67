//! The Torrents tab's detail pane: the selected torrent's pieces as a
//! strip, its own rate limits, its files and its peers. Draws from what
//! the worker last fetched; sends `torrent_limits` when asked.

use eframe::egui;
use p2p_proto::ipc::{ProgressInfo, Request, TorrentSummary, parse_rate};

use crate::App;
use crate::format;

/// Height of the pieces strip.
const STRIP_HEIGHT: f32 = 14.0;

/// The pane's own state: the limit fields as edited.
#[derive(Debug, Default)]
pub struct State {
    /// The torrent the fields were filled for.
    pub filled_for: Option<String>,
    /// "Torrent download limit" as typed.
    pub download: String,
    /// "Torrent upload limit" as typed.
    pub upload: String,
}

impl State {
    /// Fills the limit fields from the torrent's own limits.
    pub fn fill(&mut self, t: &TorrentSummary) {
        self.filled_for = Some(t.info_hash.to_hex());
        self.download = format::rate_setting(t.download_rate_limit);
        self.upload = format::rate_setting(t.upload_rate_limit);
    }
}

pub(crate) fn show(app: &mut App, ui: &mut egui::Ui) {
    let Some((id, progress, peers)) = &app.detail else {
        return;
    };
    let Some(t) = app.torrents.iter().find(|t| &t.info_hash.to_hex() == id) else {
        ui.label("This torrent is no longer in the list.");
        return;
    };
    if app.t.limits.filled_for.as_ref() != Some(id) {
        app.t.limits.fill(t);
    }
    ui.horizontal(|ui| {
        ui.heading(&t.name);
        ui.weak(format!("{} · {}", t.short_id, t.save_path));
    });
    if let Some(e) = &t.error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    if let Some(p) = progress {
        pieces(ui, p);
    }
    let request = limits(ui, &mut app.t.limits, id);
    ui.columns(2, |cols| {
        cols[0].strong("Files");
        egui::ScrollArea::vertical()
            .id_salt("files")
            .show(&mut cols[0], |ui| match progress {
                None => {
                    ui.spinner();
                }
                Some(p) => {
                    for f in &p.files {
                        let mark = if f.complete { "✔" } else { "…" };
                        ui.label(format!("{mark} {} ({})", f.path, format::bytes(f.length)));
                    }
                }
            });
        cols[1].strong(format!("Peers ({})", peers.len()));
        egui::ScrollArea::vertical()
            .id_salt("peers")
            .show(&mut cols[1], |ui| {
                for p in peers {
                    let dir = if p.outgoing { "we dialed" } else { "dialed us" };
                    let enc = if p.encrypted { ", encrypted" } else { "" };
                    ui.label(format!(
                        "{} ({dir} over {}{enc}, from {}): {} down, {} up",
                        p.addr,
                        p.transport.name(),
                        p.source.as_str(),
                        format::bytes(p.downloaded),
                        format::bytes(p.uploaded)
                    ));
                }
            });
    });
    match request {
        Some(Ok(r)) => app.send(r),
        Some(Err(e)) => app.message = Some(Err(e)),
        None => {}
    }
}

/// The strip: one cell per entry of the piece map, green as its run is
/// verified; screen readers (and tests) read its label.
fn pieces(ui: &mut egui::Ui, p: &ProgressInfo) {
    let label = format!("Pieces: {} of {} verified", p.pieces_have, p.pieces_total);
    ui.horizontal(|ui| {
        ui.strong("Pieces");
        ui.weak(format!("{} of {} verified", p.pieces_have, p.pieces_total));
    });
    let size = egui::vec2(ui.available_width(), STRIP_HEIGHT);
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::hover());
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::WidgetType::ProgressIndicator, true, &label)
    });
    response.on_hover_text(&label);
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
    let n = p.piece_map.len();
    if n == 0 {
        return;
    }
    let cell = rect.width() / n as f32;
    let done = egui::Color32::from_rgb(46, 125, 50);
    // Neighbours with the same value are one rectangle: a complete
    // torrent is one shape, not 512.
    let mut start = 0;
    for i in 1..=n {
        if i < n && p.piece_map[i] == p.piece_map[start] {
            continue;
        }
        let percent = p.piece_map[start];
        if percent > 0 {
            let x0 = rect.left() + start as f32 * cell;
            let x1 = rect.left() + i as f32 * cell;
            let colour = done.gamma_multiply(0.35 + 0.65 * f32::from(percent) / 100.0);
            let cells = egui::Rect::from_x_y_ranges(x0..=x1, rect.y_range());
            painter.rect_filled(cells, 0.0, colour);
        }
        start = i;
    }
}

/// The torrent's own limits; the request to send when "Apply limits" is
/// clicked, or why the text is not a rate.
fn limits(ui: &mut egui::Ui, state: &mut State, id: &str) -> Option<Result<Request, String>> {
    let mut apply = false;
    ui.horizontal(|ui| {
        for (label, text) in [
            ("Torrent download limit", &mut state.download),
            ("Torrent upload limit", &mut state.upload),
        ] {
            let l = ui.label(label);
            ui.add(egui::TextEdit::singleline(text).desired_width(90.0))
                .labelled_by(l.id);
        }
        apply = ui.button("Apply limits").clicked();
        ui.weak("under the global limits; e.g. 500K, 2M, unlimited");
    });
    if !apply {
        return None;
    }
    let rate = |what: &str, text: &str| {
        parse_rate(text).ok_or_else(|| {
            format!("{what}: {text:?} is not a rate (e.g. 500K, 2M, 1G) or “unlimited”")
        })
    };
    Some((|| {
        Ok(Request::TorrentLimits {
            id: id.to_owned(),
            download_rate_limit: rate("download limit", &state.download)?,
            upload_rate_limit: rate("upload limit", &state.upload)?,
        })
    })())
}
