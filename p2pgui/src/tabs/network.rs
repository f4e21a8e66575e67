//! The Network tab: the account (log in, register, log out), groups (join,
//! leave, members, and an owner's join requests to accept or reject), the
//! catalog with a download button on each entry, and the event log (the
//! daemon's live events and the tracker's).

use eframe::egui;
use p2p_proto::api;
use p2p_proto::ipc::Request;

use crate::App;
use crate::format;

/// The tab's own state.
#[derive(Debug, Default)]
pub struct State {
    /// Who is logged in.
    pub user: Option<String>,
    /// Login form.
    pub name: String,
    /// Login form; cleared once sent.
    pub password: String,
    /// Groups as last listed.
    pub groups: Vec<api::Group>,
    /// The group the group buttons act on.
    pub group: String,
    /// Its pending requests, when asked.
    pub requests: Option<api::JoinRequests>,
    /// Its members, when asked.
    pub members: Option<api::Members>,
    /// Catalog search text.
    pub search: String,
    /// The catalog or search result shown.
    pub catalog: Option<api::CatalogList>,
    /// Newest tracker event seen.
    pub last_event: Option<u64>,
}

pub(crate) fn show(app: &mut App, ui: &mut egui::Ui) {
    egui::ScrollArea::vertical().show(ui, |ui| {
        account(app, ui);
        ui.separator();
        if app.net.user.is_some() {
            groups(app, ui);
            ui.separator();
        }
        catalog(app, ui);
        ui.separator();
        log(app, ui);
    });
}

fn account(app: &mut App, ui: &mut egui::Ui) {
    ui.heading("Account");
    if let Some(user) = app.net.user.clone() {
        ui.horizontal(|ui| {
            ui.label(format!("Logged in as {user}"));
            if ui.button("Log out").clicked() {
                app.send(Request::Logout);
            }
        });
        return;
    }
    let net = &mut app.net;
    super::field(ui, "User name", &mut net.name);
    super::password(ui, "Password", &mut net.password);
    let ready = !net.name.trim().is_empty() && !net.password.is_empty();
    let (mut login, mut register) = (false, false);
    ui.horizontal(|ui| {
        login = ui.add_enabled(ready, egui::Button::new("Log in")).clicked();
        register = ui
            .add_enabled(ready, egui::Button::new("Register"))
            .clicked();
    });
    let user = net.name.trim().to_owned();
    if register {
        // Registering then logging in is what a new user wants; the
        // password is kept until the login is sent.
        app.send(Request::Register {
            user: user.clone(),
            password: app.net.password.clone(),
        });
    }
    if login || register {
        let password = std::mem::take(&mut app.net.password);
        app.send(Request::Login {
            user,
            password,
            force: false,
        });
    }
}

fn groups(app: &mut App, ui: &mut egui::Ui) {
    ui.heading("Groups");
    ui.horizontal_wrapped(|ui| {
        for g in &app.net.groups {
            let role = if g.owner.as_str() == app.net.user.as_deref().unwrap_or("") {
                "owner"
            } else if g.member {
                "member"
            } else {
                "not a member"
            };
            let members = if g.members == 1 { "member" } else { "members" };
            let text = format!("{} ({role}, {} {members})", g.name, g.members);
            if ui.selectable_label(app.net.group == g.name, text).clicked() {
                app.net.group.clone_from(&g.name);
                app.net.requests = None;
                app.net.members = None;
            }
        }
        if ui.small_button("Refresh groups").clicked() {
            app.send(Request::GroupList);
        }
    });
    super::field(ui, "Group", &mut app.net.group);
    let name = app.net.group.trim().to_owned();
    ui.add_enabled_ui(!name.is_empty(), |ui| {
        ui.horizontal(|ui| {
            let group = || name.clone();
            if ui.button("Join").clicked() {
                app.send(Request::GroupJoin { name: group() });
            }
            if ui.button("Leave").clicked() {
                app.send(Request::GroupLeave { name: group() });
            }
            if ui.button("Create group").clicked() {
                app.send(Request::GroupCreate { name: group() });
            }
            if ui.button("Members").clicked() {
                app.send(Request::GroupMembers { name: group() });
            }
            if ui.button("Join requests").clicked() {
                app.send(Request::GroupRequests { name: group() });
            }
            if ui.button("Group catalog").clicked() {
                app.send(Request::Files {
                    group: Some(group()),
                });
            }
        });
    });
    if let Some(r) = app.net.requests.clone() {
        if r.requests.is_empty() {
            ui.weak("No pending join requests.");
        }
        for m in r.requests {
            ui.horizontal(|ui| {
                ui.label(format!("{} asks to join {name}", m.username));
                if ui.button(format!("Accept {}", m.username)).clicked() {
                    app.send(Request::GroupAccept {
                        name: name.clone(),
                        user: m.username.clone(),
                    });
                }
                if ui.button(format!("Reject {}", m.username)).clicked() {
                    app.send(Request::GroupReject {
                        name: name.clone(),
                        user: m.username.clone(),
                    });
                }
            });
        }
    }
    if let Some(m) = &app.net.members {
        let names: Vec<String> = m
            .members
            .iter()
            .map(|m| {
                if m.owner {
                    format!("{} (owner)", m.username)
                } else {
                    m.username.clone()
                }
            })
            .collect();
        ui.label(format!("Members: {}", names.join(", ")));
    }
}

fn catalog(app: &mut App, ui: &mut egui::Ui) {
    ui.heading("Catalog");
    ui.horizontal(|ui| {
        if ui.button("Public catalog").clicked() {
            app.send(Request::Files { group: None });
        }
        let l = ui.label("Search");
        let edit = ui
            .add(egui::TextEdit::singleline(&mut app.net.search).desired_width(240.0))
            .labelled_by(l.id);
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button("Find").clicked() || enter) && !app.net.search.trim().is_empty() {
            app.send(Request::Search {
                term: app.net.search.trim().to_owned(),
            });
        }
    });
    let Some(list) = app.net.catalog.clone() else {
        ui.weak("Open the public catalog, a group's, or search.");
        return;
    };
    if list.torrents.is_empty() {
        ui.weak("Nothing found.");
    }
    egui::Grid::new("catalog")
        .striped(true)
        .num_columns(4)
        .show(ui, |ui| {
            for e in list.torrents {
                ui.label(&e.name);
                ui.label(format::bytes(e.total_length));
                ui.label(e.group.as_deref().unwrap_or("public"));
                if ui.button(format!("Download {}", e.name)).clicked() {
                    app.send(app.add.request_for(e.info_hash.to_hex()));
                }
                ui.end_row();
            }
        });
}

fn log(app: &mut App, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.heading("Events");
        if ui.small_button("Fetch tracker events").clicked() {
            app.send(Request::Events {
                after: app.net.last_event,
                limit: Some(100),
            });
        }
    });
    egui::ScrollArea::vertical()
        .id_salt("log")
        .max_height(180.0)
        .stick_to_bottom(true)
        .show(ui, |ui| {
            if app.log.is_empty() {
                ui.weak("Nothing yet.");
            }
            for line in &app.log {
                ui.monospace(line);
            }
        });
}
