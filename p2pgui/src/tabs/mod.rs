//! One module per tab; each draws from and acts on [`crate::App`].

pub mod add;
pub mod network;
pub mod share;
pub mod status;
pub mod torrents;

use eframe::egui;

/// A one-line text field with a label that screen readers (and tests) find it by.
pub(crate) fn field(ui: &mut egui::Ui, label: &str, text: &mut String) -> egui::Response {
    ui.horizontal(|ui| {
        let l = ui.label(label);
        ui.add(egui::TextEdit::singleline(text).desired_width(380.0))
            .labelled_by(l.id)
    })
    .inner
}

/// A password field, labelled like [`field`].
pub(crate) fn password(ui: &mut egui::Ui, label: &str, text: &mut String) -> egui::Response {
    ui.horizontal(|ui| {
        let l = ui.label(label);
        ui.add(
            egui::TextEdit::singleline(text)
                .password(true)
                .desired_width(240.0),
        )
        .labelled_by(l.id)
    })
    .inner
}
