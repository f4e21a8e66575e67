//! The real trackerd binary: flags, config, listening line, signals, and
//! persistence across kill -9.

use std::time::Duration;

use crate::common::process::{http, spawn, spawn_with_env, trackerd, wait_until};
use crate::common::store;
use crate::common::{hash, make_torrent, req, scrape_target};
use p2p_proto::tracker::{AnnounceResponse, Event, ScrapeResponse};
use trackerd::config::Config;

#[test]
fn it_listens_on_an_os_assigned_port_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let d = spawn(&["--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(d.addr.ip().to_string(), "127.0.0.1");
    assert_ne!(d.addr.port(), 0);
    let (status, body) = http(d.addr, "GET", "/health", b"");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    // The database is the data dir's SQLite file unless one is named.
    assert_eq!(
        dir.path().join("trackerd.sqlite").exists(),
        !store::is_postgres(),
        "default database in the data dir"
    );
}

#[test]
fn print_config_prints_defaults_that_parse_back() {
    let out = trackerd().arg("--print-config").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("# "), "commented");
    assert_eq!(Config::from_toml(&text).unwrap(), Config::default());
}

#[test]
fn an_unknown_config_key_is_rejected_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(&path, "mode = \"open\"\n[announce]\ninterval = 5\n").unwrap();
    let out = trackerd().arg("--config").arg(&path).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown field") && err.contains("interval"),
        "{err}"
    );
    assert!(err.contains("t.toml"), "names the file: {err}");
}

#[test]
fn the_config_file_is_read_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:1\"\nmode = \"catalog\"\ndata_dir = {:?}\n",
            dir.path().to_str().unwrap()
        ),
    )
    .unwrap();
    let d = spawn(&["--config", path.to_str().unwrap()]);
    assert_ne!(d.addr.port(), 1, "--listen overrides the file");
    let (_, body) = http(d.addr, "GET", "/api/v1/stats", b"");
    let stats: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(stats["mode"], "catalog", "the file's mode is used");
}

#[test]
fn sigterm_and_sigint_stop_it_with_exit_code_zero() {
    for sig in ["TERM", "INT"] {
        let dir = tempfile::tempdir().unwrap();
        let mut d = spawn(&["--data-dir", dir.path().to_str().unwrap()]);
        d.signal(sig);
        let status = d.wait_exit(Duration::from_secs(15));
        assert_eq!(status.code(), Some(0), "SIG{sig}");
    }
}

#[test]
fn kill_9_then_restart_keeps_the_catalog_and_completed_counters() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = ["--mode", "catalog", "--data-dir", data.to_str().unwrap()];
    let d = spawn(&args);
    let (bytes, h) = make_torrent(dir.path(), "k.bin", 5000, "http://x/announce");
    assert_eq!(http(d.addr, "POST", "/api/v1/torrents", &bytes).0, 201);
    for n in 1..=3 {
        let q = req(h, n, 1000 + n as u16, 0, Event::Completed).to_query_string();
        let (_, body) = http(d.addr, "GET", &format!("/announce?{q}"), b"");
        AnnounceResponse::from_bytes(&body).unwrap();
    }
    wait_until(Duration::from_secs(10), "counters flushed", || {
        let (_, body) = http(d.addr, "GET", "/api/v1/stats", b"");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        v["completed_pending"] == 0 && v["completed_total"] == 3
    });
    let mut d = d;
    d.signal("KILL");
    d.wait_exit(Duration::from_secs(10));

    let d = spawn(&args);
    let (_, body) = http(d.addr, "GET", &scrape_target(&[h, hash(1)]), b"");
    let sc = ScrapeResponse::from_bytes(&body).unwrap();
    assert_eq!(
        sc.files.len(),
        1,
        "still registered; the unregistered hash is left out"
    );
    assert_eq!(sc.files[0].1.downloaded, 3);
    let q = req(h, 9, 1009, 5, Event::Started).to_query_string();
    let (_, body) = http(d.addr, "GET", &format!("/announce?{q}"), b"");
    assert_eq!(AnnounceResponse::from_bytes(&body).unwrap().incomplete, 1);
}

#[test]
fn the_database_flag_chooses_the_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("elsewhere/my.sqlite");
    let url = format!("sqlite://{}", db.display());
    let _d = spawn(&[
        "--database",
        &url,
        "--data-dir",
        dir.path().join("unused").to_str().unwrap(),
    ]);
    assert!(db.exists());
    assert!(!dir.path().join("unused/trackerd.sqlite").exists());
}

#[test]
fn an_unsupported_database_url_fails_with_a_clear_error() {
    let out = trackerd()
        .args([
            "--listen",
            "127.0.0.1:0",
            "--database",
            "mysql://db/trackerd",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unsupported database URL \"mysql://db/trackerd\""),
        "{err}"
    );
}

#[test]
fn an_unreachable_postgres_fails_clearly_without_showing_its_password() {
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://tracker:s3cret-pw@127.0.0.1:{port}/trackerd");
    let dir = tempfile::tempdir().unwrap();
    let out = trackerd()
        .args(["--listen", "127.0.0.1:0", "--database", &url, "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "database postgres://tracker:***@127.0.0.1:{port}/trackerd"
        )),
        "names the database: {err}"
    );
    assert!(!err.contains("s3cret-pw"), "the password leaked: {err}");
}

#[test]
fn the_environment_sets_what_no_flag_sets_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let env = [("TRACKERD_MODE", "catalog"), ("TRACKERD_DATA_DIR", data)];
    let mode = |d: &crate::common::process::Daemon| {
        let (_, body) = http(d.addr, "GET", "/api/v1/stats", b"");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        v["mode"].as_str().unwrap().to_owned()
    };
    let d = spawn_with_env(&env, &[]);
    assert_eq!(mode(&d), "catalog");
    // The data dir from the environment holds the database (SQLite) or
    // the passkey key (PostgreSQL).
    assert!(
        dir.path().join("trackerd.sqlite").exists() || store::passkey_key_file(dir.path()).exists()
    );
    drop(d);
    let d = spawn_with_env(&env, &["--mode", "open"]);
    assert_eq!(mode(&d), "open");
}

#[cfg(unix)]
#[test]
fn the_database_and_event_log_are_readable_by_trackerds_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("new/data");
    let d = spawn(&["--data-dir", data.to_str().unwrap()]);
    let body = br#"{"username":"alice","password":"correct horse"}"#;
    let (status, _) = http(d.addr, "POST", "/api/v1/register", body);
    assert_eq!(status, 201);
    assert_eq!(mode(&tmp.path().join("new")), 0o700);
    assert_eq!(mode(&data), 0o700);
    // Passkeys and session hashes are in the database (on PostgreSQL, the
    // key that seals passkeys is still here); who logged in from where is
    // in the event log: none is for other local users.
    let files = if store::is_postgres() {
        vec![
            store::passkey_key_file(&data),
            data.join("trackerd-events.log"),
        ]
    } else {
        [
            "trackerd.sqlite",
            "trackerd.sqlite-wal",
            "trackerd-events.log",
        ]
        .map(|f| data.join(f))
        .to_vec()
    };
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if file.ends_with("-wal") && !path.exists() {
            continue;
        }
        assert_eq!(mode(&path), 0o600, "{file}");
    }
    let log = std::fs::read_to_string(data.join("trackerd-events.log")).unwrap();
    assert!(log.contains("register"), "{log}");
}
