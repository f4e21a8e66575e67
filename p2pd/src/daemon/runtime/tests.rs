use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use p2p_proto::ipc::{ErrorCode, Schedule};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::daemon::registry::Registry;
use crate::daemon::sharing::Places;
use crate::engine::EngineConfig;

const MIB: u64 = 1 << 20;

fn base() -> RuntimeSettings {
    RuntimeSettings {
        download_rate_limit: Some(4 * MIB),
        upload_rate_limit: None,
        alt_download_rate_limit: Some(100 << 10),
        alt_upload_rate_limit: Some(50 << 10),
        alt_speed: false,
        alt_speed_schedule: None,
        alt_speed_active: false,
        max_peers_per_torrent: 50,
        max_peers_total: 400,
        upload_slots: 4,
        tracker: "http://127.0.0.1:6969/announce".into(),
        max_active_downloads: 5,
        max_active_seeds: 0,
        seed_ratio_limit: None,
        seed_time_limit: None,
    }
}

/// A service over a real engine, with a clock the test sets.
struct Fixture {
    runtime: Runtime,
    engine: Engine,
    minute: Arc<AtomicU16>,
    file: PathBuf,
    _dir: tempfile::TempDir,
    cancel: CancellationToken,
}

async fn fixture(settings: RuntimeSettings) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let config = EngineConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        // Engines of other tests on this host could share a torrent: LSD
        // would join their swarms to this one's.
        lsd: false,
        ..EngineConfig::default()
    };
    let engine = Engine::start(config, cancel.child_token()).await.unwrap();
    let (registry, _saves) = Registry::load(dir.path());
    let sharing = Arc::new(Sharing::new(
        engine.clone(),
        Places {
            tracker: Some(settings.tracker.clone()),
            tracker_instances: Vec::new(),
            list_tracker_instances: true,
            downloads_resume_dir: dir.path().join("p"),
            shared_resume_dir: dir.path().join("s"),
        },
        None,
        Arc::new(Mutex::new(registry)),
        tokio::sync::broadcast::channel(4).0,
    ));
    let minute = Arc::new(AtomicU16::new(12 * 60));
    let m = minute.clone();
    let file = dir.path().join("settings.json");
    let runtime = Runtime::new(
        engine.clone(),
        sharing,
        (settings, Overrides::new()),
        file.clone(),
        Arc::new(move || m.load(Ordering::Relaxed)),
    );
    Fixture {
        runtime,
        engine,
        minute,
        file,
        _dir: dir,
        cancel,
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

#[test]
fn the_alternative_pair_applies_when_switched_on_or_inside_the_window() {
    let mut s = base();
    assert_eq!(effective(&s, 23 * 60), (false, (Some(4 * MIB), None)));
    s.alt_speed_schedule = Some(Schedule {
        from_minute: 22 * 60,
        to_minute: 7 * 60,
    });
    let alt = (Some(100 << 10), Some(50 << 10));
    assert_eq!(effective(&s, 23 * 60), (true, alt));
    assert_eq!(effective(&s, 6 * 60 + 59), (true, alt));
    assert_eq!(effective(&s, 7 * 60), (false, (Some(4 * MIB), None)));
    s.alt_speed = true;
    assert_eq!(effective(&s, 12 * 60), (true, alt));
}

#[tokio::test]
async fn the_schedule_switches_the_engine_s_limits_as_the_clock_enters_and_leaves_it() {
    let f = fixture(base()).await;
    assert_eq!(f.engine.rate_limits(), (Some(4 * MIB), None));
    let s = f
        .runtime
        .set("alt_speed_schedule", "22:00-07:00")
        .await
        .unwrap();
    assert!(!s.alt_speed_active, "noon is outside the window");
    assert_eq!(f.engine.rate_limits(), (Some(4 * MIB), None));
    f.minute.store(22 * 60, Ordering::Relaxed);
    assert!(f.runtime.refresh().alt_speed_active);
    assert_eq!(f.engine.rate_limits(), (Some(100 << 10), Some(50 << 10)));
    f.minute.store(7 * 60, Ordering::Relaxed);
    assert!(!f.runtime.refresh().alt_speed_active);
    assert_eq!(f.engine.rate_limits(), (Some(4 * MIB), None));
}

#[tokio::test]
async fn a_change_reaches_the_engine_at_once_and_is_kept_in_the_file() {
    let f = fixture(base()).await;
    f.runtime.set("download_rate_limit", "2M").await.unwrap();
    f.runtime.set("max_peers_total", "9").await.unwrap();
    f.runtime.set("upload_slots", "2").await.unwrap();
    let s = f.runtime.set("alt_speed", "on").await.unwrap();
    assert!(s.alt_speed_active);
    assert_eq!(f.engine.rate_limits(), (Some(100 << 10), Some(50 << 10)));
    assert_eq!(f.engine.connection_limits(), (50, 9, 2));
    let s = f.runtime.set("alt_speed", "off").await.unwrap();
    assert_eq!(f.engine.rate_limits(), (Some(2 * MIB), None));
    let (loaded, kept) = load(&f.file, base());
    assert_eq!(loaded, s);
    let keys: Vec<&str> = kept.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "alt_speed",
            "download_rate_limit",
            "max_peers_total",
            "upload_slots"
        ]
    );
    assert_eq!(kept["download_rate_limit"], "2097152");
}

#[tokio::test]
async fn a_bad_key_or_value_changes_nothing_and_writes_nothing() {
    let f = fixture(base()).await;
    let e = f.runtime.set("upload_slots", "0").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidSetting);
    assert_eq!(
        e.message,
        "upload_slots: \"0\" is not a whole number from 1 to 500"
    );
    let e = f.runtime.set("speed", "1").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidSetting);
    assert!(e.message.starts_with("unknown setting \"speed\""), "{e:?}");
    assert_eq!(f.runtime.get(), base());
    assert_eq!(f.engine.connection_limits(), (50, 400, 4));
    assert!(!f.file.exists());
}

#[test]
fn a_corrupt_file_falls_back_to_the_config_file_s_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.json");
    for text in ["{not json", "{\"other\":{}}", "[1,2]"] {
        std::fs::write(&path, text).unwrap();
        assert_eq!(load(&path, base()), (base(), Overrides::new()), "{text}");
    }
    std::fs::write(&path, vec![b' '; 70_000]).unwrap();
    assert_eq!(load(&path, base()), (base(), Overrides::new()));
}

#[test]
fn an_out_of_range_value_in_the_file_is_ignored_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.json");
    std::fs::write(
        &path,
        r#"{"settings":{"max_peers_total":"99999","upload_slots":"7","nonsense":"1","tracker":"ftp://x"}}"#,
    )
    .unwrap();
    let (s, kept) = load(&path, base());
    assert_eq!(
        s,
        RuntimeSettings {
            upload_slots: 7,
            ..base()
        }
    );
    assert_eq!(kept.len(), 1);
}
