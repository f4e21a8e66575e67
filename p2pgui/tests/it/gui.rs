//! Opening the window on a daemon, waiting on what it shows, and saving
//! screenshots. Waits are bounded loops over frames, never sleeps to
//! "let things settle".

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use p2p_client::Target;
use p2pgui::launch::Launcher;
use p2pgui::{App, Options};

pub type Gui = Harness<'static, App>;

/// The window on the daemon at `socket`.
pub fn open(socket: &Path) -> Gui {
    open_with(options(socket))
}

/// What p2pgui would use for `socket`, without desktop notifications.
pub fn options(socket: &Path) -> Options {
    Options {
        target: Target::resolve(Some(socket), None, Duration::from_secs(10)),
        launcher: Launcher::default_for(Some(socket)),
        notify: false,
    }
}

pub fn open_with(options: Options) -> Gui {
    Harness::builder()
        // Tall enough for the whole settings form (fourteen keys and the
        // Save button): a click lands where a widget is drawn, and kittest's
        // scroll-into-view does not move egui's scroll areas.
        .with_size(egui::vec2(1100.0, 820.0))
        .build_eframe(move |cc| App::new(cc, options))
}

/// Runs frames until `f` holds, for at most `secs`.
pub fn until(gui: &mut Gui, what: &str, secs: u64, mut f: impl FnMut(&Gui) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        gui.step();
        if f(gui) {
            gui.step();
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs frames until a widget with this label is shown.
pub fn until_shown(gui: &mut Gui, label: &str, secs: u64) {
    until(gui, &format!("{label:?} to be shown"), secs, |g| {
        g.query_by_label(label).is_some()
    });
}

/// Runs frames until some widget's label contains `text`.
pub fn until_text(gui: &mut Gui, text: &str, secs: u64) {
    until(gui, &format!("a label with {text:?}"), secs, |g| {
        g.query_all_by_label_contains(text).next().is_some()
    });
}

pub fn click(gui: &mut Gui, label: &str) {
    gui.get_by_label(label).click();
    gui.step();
    gui.step();
}

/// Types into the text field labelled `label`.
pub fn type_into(gui: &mut Gui, label: &str, text: &str) {
    gui.get_by_label(label).focus();
    gui.step();
    gui.get_by_label(label).type_text(text);
    gui.step();
    assert_eq!(gui.get_by_label(label).value().as_deref(), Some(text));
}

/// Replaces the whole text of the field labelled `label`.
pub fn replace_text(gui: &mut Gui, label: &str, text: &str) {
    gui.get_by_label(label).focus();
    gui.step();
    gui.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    gui.step();
    gui.get_by_label(label).type_text(text);
    gui.step();
    assert_eq!(gui.get_by_label(label).value().as_deref(), Some(text));
}

/// Types into a password field, which shows (and tells screen readers) only bullets.
pub fn type_secret(gui: &mut Gui, label: &str, text: &str) {
    gui.get_by_label(label).focus();
    gui.step();
    gui.get_by_label(label).type_text(text);
    gui.step();
    let bullets = "•".repeat(text.chars().count());
    assert_eq!(gui.get_by_label(label).value(), Some(bullets));
}

pub fn connected(gui: &mut Gui) {
    until(gui, "the window to connect", 30, |g| {
        matches!(
            g.state().connection(),
            p2pgui::app::Connection::Connected(_)
        )
    });
}

/// Renders the window on the CPU and saves it as `target/screenshots/p2pgui/NAME.png`.
pub fn screenshot(gui: &mut Gui, name: &str) {
    gui.step();
    let image = gui
        .render()
        .unwrap_or_else(|e| panic!("cannot render the {name} screenshot: {e}"));
    let dir = screenshots_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.png"));
    image.save(&path).unwrap();
    eprintln!("screenshot: {}", path.display());
}

fn screenshots_dir() -> PathBuf {
    // target/debug/deps/it-… → target/
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap().to_path_buf();
    target.join("screenshots").join("p2pgui")
}
