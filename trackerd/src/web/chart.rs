//! Small line charts drawn as inline SVG on the server (no chart library,
//! no script): a polyline over the samples, scaled to the largest value,
//! with a text alternative for screen readers.

use maud::{Markup, html};

/// Drawing size, in SVG units (the CSS scales it to the box).
const WIDTH: f64 = 300.0;
const HEIGHT: f64 = 60.0;

/// A chart of `values` (oldest first) titled `title`; `latest` is the
/// current reading shown in words.
pub fn line(title: &str, values: &[f64], latest: &str) -> Markup {
    let max = values.iter().copied().fold(0.0_f64, f64::max);
    let points = points(values, max);
    let label = format!("{title}: now {latest}, highest in the last hour {max:.1}");
    html! {
        figure.chart {
            figcaption { (title) " " strong { (latest) } }
            svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } preserveAspectRatio="none"
                role="img" aria-label=(label) {
                @if values.len() < 2 {
                    text x="4" y="34" class="muted" { "collecting data" }
                } @else {
                    polyline points=(points) class="line" {}
                }
            }
        }
    }
}

fn points(values: &[f64], max: f64) -> String {
    if values.len() < 2 {
        return String::new();
    }
    let step = WIDTH / (values.len() - 1) as f64;
    let scale = if max > 0.0 { (HEIGHT - 4.0) / max } else { 0.0 };
    values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{:.1},{:.1}", i as f64 * step, HEIGHT - 2.0 - v * scale))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_span_the_width_and_the_largest_value_touches_the_top() {
        assert_eq!(
            points(&[0.0, 2.0, 1.0], 2.0),
            "0.0,58.0 150.0,2.0 300.0,30.0"
        );
    }

    #[test]
    fn a_chart_of_one_sample_says_it_is_collecting_data() {
        let svg = line("Seeders", &[3.0], "3").into_string();
        assert!(svg.contains("collecting data"), "{svg}");
    }
}
