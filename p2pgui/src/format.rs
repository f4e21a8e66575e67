//! Numbers as people read them: sizes, rates, durations.

/// `1.5 MiB`, binary units like the daemon's rate settings.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `12.0 KiB/s`, or nothing when idle so quiet rows stay quiet.
pub fn rate(n: u64) -> String {
    if n == 0 {
        String::new()
    } else {
        format!("{}/s", bytes(n))
    }
}

/// `1h 02m`, `3m 20s`, `45s`.
pub fn duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h >= 24 {
        format!("{}d {:02}h", h / 24, h % 24)
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

/// Time left at the current rate, or nothing when it is not moving.
pub fn eta(size: u64, progress: f64, rate: u64) -> String {
    if rate == 0 || progress >= 1.0 {
        return String::new();
    }
    let left = (size as f64 * (1.0 - progress.clamp(0.0, 1.0))) as u64;
    duration(left.div_ceil(rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_binary_units_with_one_decimal() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(5 << 30), "5.0 GiB");
    }

    #[test]
    fn an_idle_rate_and_a_stalled_eta_are_blank() {
        assert_eq!(rate(0), "");
        assert_eq!(eta(100, 0.5, 0), "");
        assert_eq!(eta(1 << 20, 0.0, 1024), "17m 04s");
        assert_eq!(duration(90_000), "1d 01h");
    }
}
