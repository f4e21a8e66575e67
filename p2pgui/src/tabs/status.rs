//! The Status & settings tab: what the daemon reports of itself, and its
//! run-time settings (`config_get` / `config_set`). A daemon without
//! run-time settings answers `not_supported`; the panel says so instead of
//! showing a form that cannot work.

use eframe::egui;
use p2p_proto::ipc::{Reachability, Request, RuntimeSettings, SettingKey};

use crate::App;
use crate::format;

/// The tab's own state.
#[derive(Debug, Default)]
pub struct State {
    /// The settings as the daemon last reported them.
    pub current: Option<RuntimeSettings>,
    /// The form: each key's text as edited.
    pub edits: Vec<(SettingKey, String)>,
    /// Why settings cannot be shown or changed.
    pub error: Option<String>,
}

impl State {
    /// Fills the form from the daemon's settings.
    pub fn load(&mut self, s: &RuntimeSettings) {
        self.edits = SettingKey::ALL.iter().map(|&k| (k, s.get(k))).collect();
        self.current = Some(s.clone());
    }
}

/// The alternative speed switch's own label (beside the key's).
pub const ALT_SPEED_SWITCH: &str = "Use the alternative limits now";

/// The form's label for a key.
pub fn label(key: SettingKey) -> &'static str {
    match key {
        SettingKey::DownloadRateLimit => "Download limit",
        SettingKey::UploadRateLimit => "Upload limit",
        SettingKey::AltDownloadRateLimit => "Alternative download limit",
        SettingKey::AltUploadRateLimit => "Alternative upload limit",
        SettingKey::AltSpeed => "Alternative speed",
        SettingKey::AltSpeedSchedule => "Alternative speed schedule",
        SettingKey::MaxPeersPerTorrent => "Peers per torrent",
        SettingKey::MaxPeersTotal => "Peers in all",
        SettingKey::UploadSlots => "Upload slots per torrent",
        SettingKey::Tracker => "Tracker URL",
        SettingKey::MaxActiveDownloads => "Active downloads",
        SettingKey::MaxActiveSeeds => "Active seeds",
        SettingKey::SeedRatioLimit => "Stop seeding at ratio",
        SettingKey::SeedTimeLimit => "Stop seeding after",
    }
}

pub(crate) fn show(app: &mut App, ui: &mut egui::Ui) {
    egui::ScrollArea::vertical().show(ui, |ui| {
        status(app, ui);
        ui.add_space(12.0);
        ui.separator();
        settings(app, ui);
    });
}

fn status(app: &App, ui: &mut egui::Ui) {
    ui.heading("Daemon");
    let Some(s) = &app.status else {
        ui.spinner();
        return;
    };
    egui::Grid::new("status")
        .num_columns(2)
        .spacing([16.0, 4.0])
        .show(ui, |ui| {
            let mut row = |k: &str, v: String| {
                ui.weak(k);
                ui.label(v);
                ui.end_row();
            };
            row("Version", s.version.clone());
            // Counted on from the last status, so an idle window need not
            // repaint every second to keep it right when it is drawn.
            let since = app.status_at.map_or(0, |at| at.elapsed().as_secs());
            row("Running for", format::duration(s.uptime_secs + since));
            row(
                "Account",
                s.logged_in_as
                    .clone()
                    .unwrap_or_else(|| "not logged in".into()),
            );
            let state = match s.tracker.state {
                Reachability::Ok => "reachable",
                Reachability::Unreachable => "unreachable",
                Reachability::None => "none configured",
                Reachability::Unknown => "not checked yet",
            };
            row("Tracker", format!("{state} ({})", s.tracker.reason));
            row("Peer port", s.listen_port.to_string());
            row(
                "DHT",
                match &s.dht {
                    None => "off".into(),
                    Some(d) => format!(
                        "UDP port {}, {} nodes{}",
                        d.port,
                        d.nodes,
                        if d.server_mode { ", server mode" } else { "" }
                    ),
                },
            );
            row(
                "Torrents in all",
                format!(
                    "{} ({} downloading, {} seeding)",
                    s.torrents, s.downloading, s.seeding
                ),
            );
            row(
                "Transfer",
                format!(
                    "{}/s down, {}/s up",
                    format::bytes(s.download_rate),
                    format::bytes(s.upload_rate)
                ),
            );
            row("Watched folder", s.shared_dir.clone());
            row("Downloads folder", s.downloads_dir.clone());
        });
}

fn settings(app: &mut App, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.heading("Settings");
        if ui.small_button("Reload settings").clicked() {
            app.send(Request::ConfigGet);
        }
    });
    if let Some(e) = &app.settings.error {
        ui.colored_label(ui.visuals().warn_fg_color, e);
        return;
    }
    if app.settings.current.is_none() {
        ui.spinner();
        return;
    }
    let mut toggled = None;
    let active_now = app
        .settings
        .current
        .as_ref()
        .is_some_and(|c| c.alt_speed_active);
    ui.weak("Rates in bytes per second (500K, 2M…) or “unlimited”. Changes apply at once and are kept across restarts.");
    egui::Grid::new("settings")
        .num_columns(2)
        .spacing([16.0, 6.0])
        .show(ui, |ui| {
            for (key, text) in &mut app.settings.edits {
                let l = ui.label(label(*key));
                if *key == SettingKey::AltSpeed {
                    // A switch, applied as soon as it is flipped.
                    let mut on = text == "on";
                    ui.horizontal(|ui| {
                        if ui.checkbox(&mut on, ALT_SPEED_SWITCH).changed() {
                            *text = if on { "on" } else { "off" }.to_owned();
                            toggled = Some(text.clone());
                        }
                        if active_now {
                            ui.weak("(in effect now)");
                        }
                    });
                } else {
                    ui.add(egui::TextEdit::singleline(text).desired_width(320.0))
                        .labelled_by(l.id);
                }
                ui.end_row();
            }
        });
    if let Some(value) = toggled {
        app.send(Request::ConfigSet {
            key: SettingKey::AltSpeed.name().to_owned(),
            value,
        });
    }
    if ui.button("Save settings").clicked()
        && let Some(current) = &app.settings.current
    {
        for (key, text) in &app.settings.edits {
            if current.get(*key) != text.trim() {
                app.send(Request::ConfigSet {
                    key: key.name().to_owned(),
                    value: text.trim().to_owned(),
                });
            }
        }
    }
}
