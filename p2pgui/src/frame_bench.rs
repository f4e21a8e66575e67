//! `P2PGUI_FRAME_BENCH=N` (bench/p2pgui.sh): once the list is shown, the
//! real window draws N frames still and N frames scrolling the list,
//! repainting as fast as it can, prints each phase's frame times on stderr
//! and closes. What it counts is a whole frame of the real window: update,
//! layout, tessellation, render and present (eframe's own figure, which
//! leaves out only a vsync wait), and the wall-clock interval from one
//! frame to the next.
//!
//! Measurement only: never on unless the variable is set; it must not
//! change what the window does otherwise.

use std::time::Instant;

use eframe::egui;

/// Frames drawn before counting: fonts and glyph atlas warm up.
const WARM_UP_FRAMES: usize = 20;
/// Pixels the list moves per scrolling frame (about three rows).
const SCROLL_STEP_PX: f32 = 66.0;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    WarmUp,
    Still,
    Scrolling,
    Done,
}

/// The frames counted so far.
#[derive(Debug)]
pub struct FrameBench {
    frames: usize,
    phase: Phase,
    in_phase: usize,
    last_frame: Option<Instant>,
    offset: f32,
    /// (eframe's frame seconds, wall-clock interval seconds) per frame.
    still: Vec<(f32, f32)>,
    scrolling: Vec<(f32, f32)>,
    /// The process's CPU seconds (all threads: Mesa rasterises on threads
    /// of its own) when each phase began and ended.
    cpu_marks: Vec<Option<f64>>,
}

impl FrameBench {
    /// The bench when `P2PGUI_FRAME_BENCH` holds a frame count.
    pub fn from_env() -> Option<FrameBench> {
        let frames: usize = std::env::var("P2PGUI_FRAME_BENCH").ok()?.parse().ok()?;
        Some(FrameBench {
            frames: frames.max(10),
            phase: Phase::WarmUp,
            in_phase: 0,
            last_frame: None,
            offset: 0.0,
            still: Vec::with_capacity(frames),
            scrolling: Vec::with_capacity(frames),
            cpu_marks: Vec::new(),
        })
    }

    /// Called once per frame that shows the list, with eframe's figure for
    /// the previous frame; returns where the list should be scrolled to.
    pub fn frame(&mut self, ctx: &egui::Context, previous_cpu_secs: Option<f32>) -> Option<f32> {
        let now = Instant::now();
        let interval = self
            .last_frame
            .replace(now)
            .map(|at| now.duration_since(at).as_secs_f32());
        // The figures arriving now are the previous frame's, of this phase
        // when it is not the phase's first frame.
        if let (Some(cpu), Some(interval)) = (previous_cpu_secs, interval)
            && self.in_phase > 0
        {
            match self.phase {
                Phase::Still => self.still.push((cpu, interval)),
                Phase::Scrolling => self.scrolling.push((cpu, interval)),
                Phase::WarmUp | Phase::Done => {}
            }
        }
        self.in_phase += 1;
        let limit = match self.phase {
            Phase::WarmUp => WARM_UP_FRAMES,
            Phase::Still | Phase::Scrolling => self.frames + 1,
            Phase::Done => return None,
        };
        if self.in_phase > limit {
            self.in_phase = 0;
            self.cpu_marks.push(process_cpu_secs());
            self.phase = match self.phase {
                Phase::WarmUp => Phase::Still,
                Phase::Still => Phase::Scrolling,
                Phase::Scrolling | Phase::Done => {
                    self.report();
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                    Phase::Done
                }
            };
        }
        ctx.request_repaint();
        if self.phase == Phase::Scrolling {
            // Down the list and back to the top: every frame moves.
            self.offset = (self.offset + SCROLL_STEP_PX) % 20_000.0;
            return Some(self.offset);
        }
        None
    }

    fn report(&self) {
        let size = |v: &[(f32, f32)]| v.len();
        let phases = [("still", &self.still), ("scrolling", &self.scrolling)];
        for (i, (name, v)) in phases.into_iter().enumerate() {
            // Marks: end of warm-up, end of still, end of scrolling.
            let cpu = match (self.cpu_marks.get(i), self.cpu_marks.get(i + 1)) {
                (Some(Some(a)), Some(Some(b))) => {
                    format!("{:.2} ms", (b - a) * 1e3 / (self.frames + 1) as f64)
                }
                _ => "unknown".to_owned(),
            };
            let (cpu50, cpu95) = median_p95(v.iter().map(|f| f.0).collect());
            let (wall50, wall95) = median_p95(v.iter().map(|f| f.1).collect());
            eprintln!(
                "p2pgui frame bench {name}: {} frames, CPU per frame (all threads) {cpu}, frame median {:.2} ms p95 {:.2} ms, interval median {:.2} ms p95 {:.2} ms",
                size(v),
                cpu50 * 1e3,
                cpu95 * 1e3,
                wall50 * 1e3,
                wall95 * 1e3
            );
        }
    }
}

/// User and system time of the whole process, from `/proc/self/stat`
/// (fields 14 and 15, in clock ticks of 1/100 s on Linux).
fn process_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces: fields are counted after its ')'.
    let after = &stat[stat.rfind(')')? + 2..];
    let mut fields = after.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn median_p95(mut v: Vec<f32>) -> (f32, f32) {
    if v.is_empty() {
        return (0.0, 0.0);
    }
    v.sort_by(f32::total_cmp);
    (v[v.len() / 2], v[(v.len() * 95 / 100).min(v.len() - 1)])
}
