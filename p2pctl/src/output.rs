//! Human-readable formatting shared by commands.

/// `1.50 GiB`-style size.
pub fn human_size(bytes: u64) -> String {
    p2p_proto::units::size(bytes, 2)
}

/// `1.50 MiB/s`-style rate.
pub fn human_rate(bytes_per_sec: u64) -> String {
    format!("{}/s", human_size(bytes_per_sec))
}

/// A verified fraction as a percentage with one decimal. Rounded down, so a
/// torrent shows 100.0% only when it is whole; out-of-range input is clamped.
pub fn percent(fraction: f64) -> String {
    let f = if fraction.is_nan() {
        0.0
    } else {
        fraction.clamp(0.0, 1.0)
    };
    format!("{:.1}%", (f * 1000.0).floor() / 10.0)
}

/// `have / total` as a fraction; an empty total counts as nothing to have.
pub fn fraction(have: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        have as f64 / total as f64
    }
}

/// Seconds until `remaining` bytes arrive at `rate` bytes per second,
/// rounded up; `None` when nothing moves.
pub fn eta_secs(remaining: u64, rate: u64) -> Option<u64> {
    match (remaining, rate) {
        (0, _) => Some(0),
        (_, 0) => None,
        (r, v) => Some(r.div_ceil(v)),
    }
}

/// `45s`, `5m 12s`, `2h 05m`, `3d 04h`: two units at most, enough for people.
pub fn human_duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h:02}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

/// An ETA for people: a duration, `done`, or `unknown` when nothing moves.
pub fn human_eta(eta: Option<u64>) -> String {
    match eta {
        Some(0) => "done".into(),
        Some(s) => human_duration(s),
        None => "unknown".into(),
    }
}

/// `key: value` lines with the values aligned.
pub fn key_values(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    pairs
        .iter()
        .map(|(k, v)| format!("{:<width$} {v}\n", format!("{k}:")))
        .collect()
}

/// A borderless table (like `ps`), easy to read and to grep.
pub fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING)
        .set_header(header.iter().copied());
    for row in rows {
        t.add_row(row);
    }
    // Cells are padded on both sides: drop the padding at each line's ends.
    let mut s: String = t.lines().map(|l| format!("{}\n", l.trim())).collect();
    if s.is_empty() {
        s.push('\n');
    }
    s
}

/// True when the error chain ends in a closed stdout (`p2pctl ... | head`),
/// which is not a failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_shown_in_binary_units() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.50 KiB");
        assert_eq!(human_size(1 << 30), "1.00 GiB");
    }

    #[test]
    fn rates_are_sizes_per_second() {
        assert_eq!(human_rate(0), "0 B/s");
        assert_eq!(human_rate(3 << 19), "1.50 MiB/s");
    }

    #[test]
    fn percent_rounds_down_so_only_whole_is_100() {
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(percent(0.4237), "42.3%");
        assert_eq!(percent(0.99999), "99.9%");
        assert_eq!(percent(1.0), "100.0%");
        assert_eq!(percent(1.5), "100.0%");
        assert_eq!(percent(-0.1), "0.0%");
        assert_eq!(percent(f64::NAN), "0.0%");
        assert_eq!(percent(fraction(1, 3)), "33.3%");
        assert_eq!(percent(fraction(5, 0)), "0.0%");
    }

    #[test]
    fn eta_is_rounded_up_and_unknown_when_stalled() {
        assert_eq!(eta_secs(0, 0), Some(0));
        assert_eq!(eta_secs(100, 0), None);
        assert_eq!(eta_secs(100, 30), Some(4));
        assert_eq!(eta_secs(90, 30), Some(3));
        assert_eq!(human_eta(None), "unknown");
        assert_eq!(human_eta(Some(0)), "done");
        assert_eq!(human_eta(Some(75)), "1m 15s");
    }

    #[test]
    fn durations_use_two_units_at_most() {
        assert_eq!(human_duration(0), "0s");
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(312), "5m 12s");
        assert_eq!(human_duration(7_500), "2h 05m");
        assert_eq!(human_duration(3 * 86_400 + 4 * 3_600 + 59), "3d 04h");
    }

    #[test]
    fn key_values_are_aligned() {
        let s = key_values(&[("a", "1".into()), ("long key", "2".into())]);
        assert_eq!(s, "a:        1\nlong key: 2\n");
    }

    #[test]
    fn tables_have_a_header_and_no_borders() {
        let s = table(
            &["ID", "NAME"],
            [
                vec!["ab12".into(), "x".into()],
                vec!["cd".into(), "long name".into()],
            ],
        );
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 3, "{s}");
        assert!(lines[0].starts_with("ID"), "{s}");
        assert!(lines[2].starts_with("cd"), "{s}");
        assert!(lines[2].ends_with("long name"), "{s}");
        assert!(!s.contains('|') && !s.contains('+'), "{s}");
    }
}
