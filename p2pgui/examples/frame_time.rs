//! Frame time of p2pgui's Torrents tab with the list a daemon at SOCKET
//! serves (bench/p2pgui.sh points it at the fake 1,000-torrent daemon):
//! the window's own CPU work per frame (update, layout, tessellation, as
//! egui_kittest drives it, which also builds the AccessKit tree), while
//! scrolling, and a full CPU render (wgpu on Mesa's lavapipe). Prints
//! figures, asserts nothing.
//!
//! `cargo run --release -p p2pgui --example frame_time -- SOCKET`

#![allow(clippy::unwrap_used)] // a bench tool

use std::path::PathBuf;
use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::Harness;
use p2p_client::Target;
use p2pgui::launch::Launcher;
use p2pgui::{App, Options};

fn median_and_p95(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[v.len() * 95 / 100])
}

fn main() {
    let socket = PathBuf::from(std::env::args().nth(1).expect("usage: frame_time SOCKET"));
    let options = Options {
        target: Target::resolve(Some(&socket), None, Duration::from_secs(10)),
        launcher: Launcher::default_for(Some(&socket)),
        notify: false,
    };
    let mut gui = Harness::builder()
        .with_size(egui::vec2(1100.0, 680.0))
        .build_eframe(move |cc| App::new(cc, options));
    let deadline = Instant::now() + Duration::from_secs(30);
    while gui.state().torrents().is_empty() {
        assert!(
            Instant::now() < deadline,
            "no list from {}",
            socket.display()
        );
        gui.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    let n = gui.state().torrents().len();
    for _ in 0..10 {
        gui.step();
    }
    let mut still = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        gui.step();
        still.push(t.elapsed().as_secs_f64() * 1e3);
    }
    gui.hover_at(egui::pos2(500.0, 300.0));
    let mut scrolling = Vec::new();
    for _ in 0..200 {
        gui.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Line,
            delta: egui::vec2(0.0, -3.0),
            modifiers: egui::Modifiers::NONE,
        });
        let t = Instant::now();
        gui.step();
        scrolling.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let _ = gui.render().unwrap();
    let mut render = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        gui.step();
        let _ = gui.render().unwrap();
        render.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let (s50, s95) = median_and_p95(still);
    let (r50, r95) = median_and_p95(scrolling);
    let (c50, c95) = median_and_p95(render);
    println!("torrents in the list: {n}");
    println!("frame (CPU side, still):     median {s50:.2} ms, p95 {s95:.2} ms (budget 16 ms)");
    println!("frame (CPU side, scrolling): median {r50:.2} ms, p95 {r95:.2} ms (budget 16 ms)");
    println!("frame + CPU render (lavapipe, 1100x680): median {c50:.2} ms, p95 {c95:.2} ms");
}
