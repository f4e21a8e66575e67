//! transmission-daemon driven through `transmission-remote`, at its default
//! settings except what loopback tests need: no DHT, LPD, PEX, uTP or port
//! forwarding, no ratio or idle limit, RPC open on 127.0.0.1. Speed
//! limits, peer limits and choking stay at Transmission's defaults.
//! Transmission never dials a loopback peer: the other client dials it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{Proc, free_port, require_tool, wait_for, wait_for_port};

/// A running transmission-daemon with a fresh config folder.
pub struct Transmission {
    pub proc: Proc,
    /// Where it accepts peers (127.0.0.1).
    pub peer_port: u16,
    rpc: String,
    remote: PathBuf,
}

impl Transmission {
    /// Starts `transmission-daemon -f -g CONFIG` downloading into `download_dir`.
    pub fn start(name: &str, config: &Path, download_dir: &Path, log_dir: &Path) -> Transmission {
        Self::start_with(name, config, download_dir, log_dir, &[])
    }

    /// As [`Transmission::start`], with `extra` settings.json keys on top.
    pub fn start_with(
        name: &str,
        config: &Path,
        download_dir: &Path,
        log_dir: &Path,
        extra: &[(&str, serde_json::Value)],
    ) -> Transmission {
        let remote = require_tool("transmission-remote");
        fs::create_dir_all(config).unwrap();
        let peer_port = free_port();
        let rpc_port = free_port();
        let mut settings = serde_json::json!({
            "peer-port": peer_port,
            "peer-port-random-on-start": false,
            "bind-address-ipv4": "127.0.0.1",
            "rpc-port": rpc_port,
            "rpc-bind-address": "127.0.0.1",
            "rpc-authentication-required": false,
            "rpc-whitelist-enabled": false,
            "rpc-host-whitelist-enabled": false,
            "dht-enabled": false,
            "lpd-enabled": false,
            "pex-enabled": false,
            "utp-enabled": false,
            "port-forwarding-enabled": false,
            "ratio-limit-enabled": false,
            "idle-seeding-limit-enabled": false,
            "incomplete-dir-enabled": false,
            "download-dir": download_dir,
            "message-level": 2,
        });
        for (key, value) in extra {
            settings[*key] = value.clone();
        }
        fs::write(config.join("settings.json"), settings.to_string()).unwrap();
        let mut cmd = Command::new(require_tool("transmission-daemon"));
        cmd.args(["-f", "-g"]).arg(config);
        let mut proc = Proc::spawn(name, cmd, log_dir, false);
        wait_for_port(
            "transmission RPC",
            rpc_port,
            Duration::from_secs(20),
            &mut proc,
        );
        Transmission {
            proc,
            peer_port,
            rpc: format!("127.0.0.1:{rpc_port}"),
            remote,
        }
    }

    /// Adds `torrent` with its data in `dir` (checked if there).
    pub fn add(&self, torrent: &Path, dir: &Path) {
        let added = Command::new(&self.remote)
            .arg(&self.rpc)
            .arg("-a")
            .arg(torrent)
            .arg("-w")
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            added.status.success(),
            "transmission-remote -a failed: {}{}",
            String::from_utf8_lossy(&added.stdout),
            String::from_utf8_lossy(&added.stderr)
        );
    }

    /// `transmission-remote -t all -i`.
    pub fn info(&mut self) -> String {
        self.proc.assert_running();
        let info = Command::new(&self.remote)
            .args([self.rpc.as_str(), "-t", "all", "-i"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&info.stdout).into_owned()
    }

    /// Waits until it has every piece verified and seeds (with no peer a
    /// seeding torrent shows as "Idle").
    pub fn wait_complete(&mut self, what: &str, timeout: Duration) {
        wait_for(what, timeout, || {
            let text = self.info();
            let seeding = text.contains("State: Seeding") || text.contains("State: Idle");
            (seeding && text.contains("Percent Done: 100%")).then_some(())
        });
    }

    /// Waits until its peer port accepts connections.
    pub fn wait_peer_port(&mut self) {
        wait_for_port(
            "transmission peer port",
            self.peer_port,
            Duration::from_secs(10),
            &mut self.proc,
        );
    }
}
