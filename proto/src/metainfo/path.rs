//! Path policy: how names from a torrent become names on disk.
//!
//! We sanitise, the way libtorrent does, rather than reject: a torrent with an
//! odd name still downloads, and the info-hash is untouched because only our
//! view of the names changes. Each component from the torrent is made safe on
//! its own:
//!
//! 1. invalid UTF-8 sequences become `_`;
//! 2. `/`, `\`, `:` (drive letters), `<`, `>`, `"`, `|`, `?`, `*` and control
//!    characters become `_` (the same names on every platform);
//! 3. trailing dots and spaces are removed (Windows drops them silently);
//! 4. a component that is then empty, `.` or `..` is dropped;
//! 5. a Windows device name (`CON`, `PRN`, `AUX`, `NUL`, `COM1`-`COM9`,
//!    `LPT1`-`LPT9`, any case, any extension) gets a `_` prefix;
//! 6. a component longer than 240 bytes is shortened, keeping a short extension.
//!
//! A file with no component left, a name with nothing left, two files that
//! land on the same path, or a path that is both a file and a folder are
//! refused with an error. The result can only be a relative path of normal
//! components, so joining it to the download folder cannot leave that folder.

/// Longest component we write, in bytes (ext4 allows 255; leave room for `.part`).
pub const MAX_COMPONENT_BYTES: usize = 240;

const WINDOWS_DEVICES: [&str; 4] = ["CON", "PRN", "AUX", "NUL"];

/// Makes one path component safe, or returns `None` when nothing is left.
pub fn sanitize_component(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let mut out: String = text
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '<' | '>' | '"' | '|' | '?' | '*' | '\u{FFFD}' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let trimmed_len = out.trim_end_matches(['.', ' ']).len();
    out.truncate(trimmed_len);
    if out.is_empty() || out == "." || out == ".." {
        return None;
    }
    if is_windows_device(&out) {
        out.insert(0, '_');
    }
    shorten(out)
}

fn is_windows_device(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    let upper = stem.to_ascii_uppercase();
    if WINDOWS_DEVICES.contains(&upper.as_str()) {
        return true;
    }
    let b = upper.as_bytes();
    b.len() == 4
        && (upper.starts_with("COM") || upper.starts_with("LPT"))
        && (b'1'..=b'9').contains(&b[3])
}

/// Cuts a name to [`MAX_COMPONENT_BYTES`]; the cut must not leave a
/// trailing dot or space (found by fuzzing), nor an empty name.
fn shorten(name: String) -> Option<String> {
    if name.len() <= MAX_COMPONENT_BYTES {
        return Some(name);
    }
    let ext = match name.rfind('.') {
        Some(dot) if name.len() - dot <= 16 && dot > 0 => &name[dot..],
        _ => "",
    };
    let mut cut = MAX_COMPONENT_BYTES - ext.len();
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let stem = name[..cut].trim_end_matches(['.', ' ']);
    if stem.is_empty() {
        return None;
    }
    Some(format!("{stem}{ext}"))
}

/// Makes a list of components safe, dropping the ones with nothing left.
pub fn sanitize_path<'a>(raw: impl IntoIterator<Item = &'a [u8]>) -> Vec<String> {
    raw.into_iter().filter_map(sanitize_component).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(raw: &str) -> Option<String> {
        sanitize_component(raw.as_bytes())
    }

    #[test]
    fn dot_and_dotdot_and_empty_components_are_dropped() {
        assert_eq!(s(""), None);
        assert_eq!(s("."), None);
        assert_eq!(s(".."), None);
        assert_eq!(s(" . "), None);
        assert_eq!(sanitize_path([&b".."[..], b"..", b"bar"]), vec!["bar"]);
    }

    #[test]
    fn separators_and_drive_letters_cannot_form_a_path() {
        assert_eq!(s("foo/../../../bar").as_deref(), Some("foo_.._.._.._bar"));
        assert_eq!(s("\\").as_deref(), Some("_"));
        assert_eq!(s("C:").as_deref(), Some("C_"));
        assert_eq!(s("/etc/passwd").as_deref(), Some("_etc_passwd"));
        assert_eq!(s("a\u{0}b\nc").as_deref(), Some("a_b_c"));
    }

    #[test]
    fn windows_device_names_are_prefixed() {
        assert_eq!(s("CON").as_deref(), Some("_CON"));
        assert_eq!(s("nul.txt").as_deref(), Some("_nul.txt"));
        assert_eq!(s("com7").as_deref(), Some("_com7"));
        assert_eq!(s("COM0").as_deref(), Some("COM0"));
        assert_eq!(s("console").as_deref(), Some("console"));
    }

    #[test]
    fn trailing_dots_and_spaces_are_trimmed() {
        assert_eq!(s("foobar ").as_deref(), Some("foobar"));
        assert_eq!(s("name...").as_deref(), Some("name"));
        assert_eq!(s(".hidden").as_deref(), Some(".hidden"));
    }

    #[test]
    fn invalid_utf8_becomes_underscore() {
        assert_eq!(sanitize_component(b"a\xffb").as_deref(), Some("a_b"));
    }

    #[test]
    fn long_components_are_shortened_keeping_the_extension() {
        let long = format!("{}.mkv", "é".repeat(200));
        let out = s(&long).unwrap();
        assert!(out.len() <= MAX_COMPONENT_BYTES);
        assert!(out.ends_with(".mkv"));
    }

    #[test]
    fn shortening_never_leaves_a_trailing_space_or_dot() {
        let space = format!("{} b", "a".repeat(239));
        assert_eq!(s(&space), Some("a".repeat(239)));
        let dot = format!("{}.{}", "a".repeat(239), "b".repeat(17));
        assert_eq!(s(&dot), Some("a".repeat(239)));
        let blank = format!("{}x", " ".repeat(300));
        assert_eq!(s(&blank), None);
    }
}
