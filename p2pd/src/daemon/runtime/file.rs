//! `state/settings.json`: the settings changed with `config set`, by key,
//! each as `config get` shows it. Only changed keys are kept, so a key never
//! set at run time follows the config file. Written atomically (temp file,
//! fsync, rename) on the blocking pool. A file that cannot be read, or a
//! value the checks refuse, is logged and the config file's value used:
//! the daemon always starts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use p2p_proto::fsutil::write_atomically;
use p2p_proto::ipc::{RuntimeSettings, SettingKey};
use serde::{Deserialize, Serialize};

/// Setting name -> value, as `config get` prints it.
pub(crate) type Overrides = BTreeMap<String, String>;

/// Largest settings file read: a few hundred bytes in practice.
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// The file's layout.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    /// The changed settings.
    settings: Overrides,
}

/// The settings: `base` (from the config file) with the file's changes
/// over it, and those changes. Blocking.
pub(crate) fn load(path: &Path, base: RuntimeSettings) -> (RuntimeSettings, Overrides) {
    let fallback = |why: String| {
        tracing::warn!(
            "ignoring the run-time settings in {}: {why}; using the config file's values",
            path.display()
        );
        (base.clone(), Overrides::new())
    };
    let bytes = match read_capped(path) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return (base, Overrides::new()),
        Err(e) => return fallback(format!("{e:#}")),
    };
    let file: SettingsFile = match serde_json::from_slice(&bytes) {
        Ok(f) => f,
        Err(e) => return fallback(format!("not a settings file ({e})")),
    };
    overlay(base, file.settings, path)
}

/// `base` with `overrides` over it, and the overrides the checks accept;
/// a refused one is logged (naming `path`, where it came from) and left out.
pub(crate) fn overlay(
    base: RuntimeSettings,
    overrides: Overrides,
    path: &Path,
) -> (RuntimeSettings, Overrides) {
    let mut settings = base;
    let mut kept = Overrides::new();
    for (name, value) in overrides {
        let mut next = settings.clone();
        let checked = SettingKey::parse(&name).and_then(|k| next.set(k, &value).map(|()| k));
        match checked {
            Ok(key) => {
                kept.insert(key.name().to_owned(), next.get(key));
                settings = next;
            }
            Err(e) => tracing::warn!(
                "ignoring a run-time setting in {}: {e}; using the config file's value",
                path.display()
            ),
        }
    }
    (settings, kept)
}

/// The file's bytes; `None` when there is no file.
fn read_capped(path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).context("cannot open it"),
    };
    let mut bytes = Vec::new();
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .context("cannot read it")?;
    anyhow::ensure!(
        bytes.len() as u64 <= MAX_FILE_BYTES,
        "larger than {MAX_FILE_BYTES} bytes"
    );
    Ok(Some(bytes))
}

/// Writes `settings` to `path` atomically, on the blocking pool.
pub(crate) async fn store(path: PathBuf, settings: Overrides) -> anyhow::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(&SettingsFile { settings })
        .context("cannot serialise the run-time settings")?;
    bytes.push(b'\n');
    let shown = path.display().to_string();
    tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
        .await
        .context("the settings writer failed")?
        .with_context(|| format!("cannot save the settings in {shown}"))
}
