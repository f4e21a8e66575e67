//! The service manager's notify protocol, spoken by the real trackerd
//! without systemd: the test binds the datagram socket systemd would
//! (NOTIFY_SOCKET) and asks for a watchdog (WATCHDOG_USEC).

#![cfg(unix)]

use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::Duration;

use crate::common::process::spawn_with_env;

fn next(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 4096];
    let n = socket
        .recv(&mut buf)
        .expect("trackerd sent nothing to the notify socket");
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

#[test]
fn trackerd_says_ready_with_its_address_pings_the_watchdog_and_says_when_it_stops() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut d = spawn_with_env(
        &[
            ("NOTIFY_SOCKET", path.to_str().unwrap()),
            ("WATCHDOG_USEC", "200000"),
        ],
        &["--data-dir", dir.path().to_str().unwrap()],
    );
    assert_eq!(
        next(&socket),
        format!("READY=1\nSTATUS=listening on http://{}\n", d.addr)
    );
    for _ in 0..3 {
        assert_eq!(next(&socket), "WATCHDOG=1\n");
    }
    let term = Command::new("kill")
        .args(["-TERM", &d.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let last = loop {
        let m = next(&socket);
        if m != "WATCHDOG=1\n" {
            break m;
        }
    };
    assert_eq!(last, "STOPPING=1\n");
    assert!(d.child.wait().unwrap().success());
}
