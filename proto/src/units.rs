//! Sizes as people read them, the same in every program (p2pctl's tables,
//! trackerd's pages).

/// `bytes` in binary units (`512 B`, `1.5 KiB`, `3.25 GiB`) with
/// `decimals` digits after the point above a byte.
pub fn size(bytes: u64, decimals: usize) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.decimals$} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::size;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(size(0, 1), "0 B");
        assert_eq!(size(1023, 2), "1023 B");
        assert_eq!(size(1536, 1), "1.5 KiB");
        assert_eq!(size(3 << 30, 2), "3.00 GiB");
        assert_eq!(size(u64::MAX, 1), "16384.0 PiB");
    }
}
