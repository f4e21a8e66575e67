//! Small line charts drawn as inline SVG on the server (no chart library,
//! no script): a polyline over the samples on a time axis that always spans
//! the last hour, scaled to the largest value, with a text alternative for
//! screen readers. A tracker up for ten minutes draws on the right sixth
//! only, so a young line never reads as an hour's trend.

use maud::{Markup, html};

/// Drawing size, in SVG units (the CSS scales it to the box).
const WIDTH: f64 = 300.0;
const HEIGHT: f64 = 60.0;

/// The time the x axis spans, in seconds, ending now.
const SPAN_SECS: f64 = 3600.0;

/// A chart of `samples` (`(unix seconds, value)`, oldest first) up to
/// `now`, titled `title`; `latest` is the current reading shown in words.
pub fn line(title: &str, samples: &[(i64, f64)], now: i64, latest: &str) -> Markup {
    let window: Vec<(i64, f64)> = samples
        .iter()
        .copied()
        .filter(|&(at, _)| (now - at) as f64 <= SPAN_SECS && at <= now)
        .collect();
    let values: Vec<f64> = window.iter().map(|&(_, v)| v).collect();
    let max = values.iter().copied().fold(0.0_f64, f64::max);
    let points = points(&window, now, max);
    let label = format!("{title}: now {latest}, highest in the last hour {max:.1}");
    html! {
        figure.chart {
            figcaption { (title) " " strong { (latest) } }
            svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } preserveAspectRatio="none"
                role="img" aria-label=(label) {
                line.base x1="0" y1=(HEIGHT - 2.0) x2=(WIDTH) y2=(HEIGHT - 2.0) {}
                @if window.len() < 2 {
                    text x="4" y="34" class="muted" { "collecting data" }
                } @else {
                    polyline points=(points) class="line" {}
                }
            }
            div.axis aria-hidden="true" { span { "an hour ago" } span { "now" } }
        }
    }
}

fn points(samples: &[(i64, f64)], now: i64, max: f64) -> String {
    if samples.len() < 2 {
        return String::new();
    }
    let scale = if max > 0.0 { (HEIGHT - 4.0) / max } else { 0.0 };
    samples
        .iter()
        .map(|&(at, v)| {
            let x = WIDTH * (1.0 - (now - at) as f64 / SPAN_SECS);
            format!("{x:.1},{:.1}", HEIGHT - 2.0 - v * scale)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_sit_at_their_time_in_the_hour_and_the_largest_value_touches_the_top() {
        let now = 10_000;
        assert_eq!(
            points(
                &[(now - 3600, 0.0), (now - 1800, 2.0), (now, 1.0)],
                now,
                2.0
            ),
            "0.0,58.0 150.0,2.0 300.0,30.0"
        );
        // Ten minutes of data: the right sixth of the chart.
        assert_eq!(
            points(&[(now - 600, 0.0), (now, 8.0)], now, 8.0),
            "250.0,58.0 300.0,2.0"
        );
    }

    #[test]
    fn samples_older_than_the_hour_are_not_drawn() {
        let now = 10_000;
        let svg = line("Seeders", &[(now - 7200, 50.0), (now, 3.0)], now, "3").into_string();
        assert!(svg.contains("collecting data"), "{svg}");
        assert!(svg.contains("highest in the last hour 3.0"), "{svg}");
    }

    #[test]
    fn a_chart_of_one_sample_says_it_is_collecting_data() {
        let svg = line("Seeders", &[(5, 3.0)], 5, "3").into_string();
        assert!(svg.contains("collecting data"), "{svg}");
    }
}
