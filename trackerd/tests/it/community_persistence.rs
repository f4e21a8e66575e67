//! Accounts, groups, memberships, catalog and events survive kill -9: the
//! real trackerd binary takes a stream of registrations, logins, group
//! creations, join requests and accepts and publishes from a few threads at
//! once, is killed (SIGKILL, by PID) in the middle, and restarted on the same
//! data dir. Everything that got a success reply before the kill is still
//! there: over the API, in `GET /api/v1/events` and in the text event log.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::Request;
use crate::common::api::PASSWORD;
use crate::common::process::spawn;
use serde_json::{Value, json};

const WORKERS: usize = 4;
/// Successful operations before the kill.
const KILL_AFTER_OPS: usize = 300;

/// One request that got a success reply.
#[derive(Debug, Clone)]
enum Op {
    Register(String),
    Login(String),
    CreateGroup {
        group: String,
        owner: String,
    },
    RequestJoin {
        group: String,
        user: String,
    },
    Accept {
        group: String,
        user: String,
    },
    Publish {
        group: String,
        user: String,
        info_hash: String,
        name: String,
    },
}

/// A blocking request; `Err` when the connection fails (the server is
/// gone), else (status, body).
fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    let r = Request::new(method, path)
        .bearer(token)
        .body(body)
        .send_blocking(addr)?;
    Ok((r.status, r.body))
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

/// A small private torrent unique to `name`.
fn torrent(dir: &Path, name: &str, group: &str) -> (Vec<u8>, String) {
    use p2p_proto::create::{Control, CreateOptions, create_torrent};
    let path = dir.join(name);
    let data: Vec<u8> = name.bytes().cycle().take(5000).collect();
    std::fs::write(&path, data).unwrap();
    let opts = CreateOptions {
        piece_length: Some(16384),
        private: true,
        source: Some(group.to_owned()),
        ..CreateOptions::default()
    };
    let created = create_torrent(&path, &opts, &Control::default()).unwrap();
    (created.bytes, created.metainfo.info_hash.to_hex())
}

struct Shared {
    addr: SocketAddr,
    ops: Mutex<Vec<Op>>,
    killed: AtomicBool,
    /// Non-success replies while the server was up (should stay empty).
    unexpected: Mutex<Vec<String>>,
}

impl Shared {
    /// Sends a request; `None` once the server is gone. Records `op` on
    /// the expected status; anything else is noted as unexpected.
    fn step(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &[u8],
        expect: u16,
        op: Op,
    ) -> Option<Value> {
        let (status, body) = call(self.addr, method, path, token, body).ok()?;
        if status != expect {
            if !self.killed.load(Ordering::SeqCst) {
                self.unexpected.lock().unwrap().push(format!(
                    "{method} {path}: {status} {}",
                    String::from_utf8_lossy(&body)
                ));
            }
            return None;
        }
        self.ops.lock().unwrap().push(op);
        Some(json_of(&body))
    }
}

/// One worker: user `u{w}n{i}` registers, logs in, creates `g{w}n{i}` and
/// publishes into it; the worker's previous user asks to join, is accepted
/// and publishes too. Stops at the first failure.
fn worker(sh: &Shared, w: usize, dir: &Path) {
    let mut prev: Option<(String, String)> = None;
    for i in 0.. {
        let u = format!("u{w}n{i}");
        let creds = json!({ "username": u, "password": PASSWORD }).to_string();
        let reg = Op::Register(u.clone());
        if sh
            .step("POST", "/api/v1/register", None, creds.as_bytes(), 201, reg)
            .is_none()
        {
            return;
        }
        let Some(login) = sh.step(
            "POST",
            "/api/v1/login",
            None,
            creds.as_bytes(),
            200,
            Op::Login(u.clone()),
        ) else {
            return;
        };
        let token = login["token"].as_str().unwrap().to_owned();
        let g = format!("g{w}n{i}");
        let body = json!({ "name": g }).to_string();
        let op = Op::CreateGroup {
            group: g.clone(),
            owner: u.clone(),
        };
        if sh
            .step(
                "POST",
                "/api/v1/groups",
                Some(&token),
                body.as_bytes(),
                201,
                op,
            )
            .is_none()
        {
            return;
        }
        let (bytes, ih) = torrent(dir, &format!("{g}-{u}.bin"), &g);
        let op = Op::Publish {
            group: g.clone(),
            user: u.clone(),
            info_hash: ih,
            name: format!("{g}-{u}.bin"),
        };
        let publish = format!("/api/v1/groups/{g}/torrents");
        if sh
            .step("POST", &publish, Some(&token), &bytes, 201, op)
            .is_none()
        {
            return;
        }
        if let Some((pu, pt)) = &prev {
            let op = Op::RequestJoin {
                group: g.clone(),
                user: pu.clone(),
            };
            let join = format!("/api/v1/groups/{g}/join");
            if sh.step("POST", &join, Some(pt), b"{}", 202, op).is_none() {
                return;
            }
            let op = Op::Accept {
                group: g.clone(),
                user: pu.clone(),
            };
            let accept = format!("/api/v1/groups/{g}/requests/{pu}/accept");
            if sh
                .step("POST", &accept, Some(&token), b"{}", 200, op)
                .is_none()
            {
                return;
            }
            let name = format!("{g}-{pu}.bin");
            let (bytes, ih) = torrent(dir, &name, &g);
            let op = Op::Publish {
                group: g.clone(),
                user: pu.clone(),
                info_hash: ih,
                name,
            };
            if sh
                .step("POST", &publish, Some(pt), &bytes, 201, op)
                .is_none()
            {
                return;
            }
        }
        prev = Some((u, token));
    }
}

/// Every event visible to `token`, all pages.
fn all_events(addr: SocketAddr, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = get_json(
            addr,
            &format!("/api/v1/events?after={after}&limit=1000"),
            token,
        );
        out.extend(page["events"].as_array().unwrap().iter().cloned());
        let next = page["next_after"].as_i64().unwrap();
        if next == after {
            return out;
        }
        after = next;
    }
}

fn get_json(addr: SocketAddr, path: &str, token: &str) -> Value {
    let (status, body) = call(addr, "GET", path, Some(token), b"").unwrap();
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
    json_of(&body)
}

/// The `usernames` listed under `key` at `path`.
fn usernames(addr: SocketAddr, path: &str, key: &str, token: &str) -> Vec<String> {
    get_json(addr, path, token)[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["username"].as_str().unwrap().to_owned())
        .collect()
}

/// Whether `events` hold one of `kind` by `user` (in `group`) matching `extra`.
fn has_event(
    events: &[Value],
    kind: &str,
    user: &str,
    group: Option<&str>,
    extra: impl Fn(&Value) -> bool,
) -> bool {
    events.iter().any(|e| {
        e["kind"] == kind
            && e["username"] == user
            && group.is_none_or(|g| e["group"] == g)
            && extra(e)
    })
}

/// Runs the stream and kills trackerd (SIGKILL) mid-way; returns the
/// operations acknowledged before it died.
fn stream_then_kill(data: &Path, files: &Path) -> Vec<Op> {
    // The workers register dozens of users from 127.0.0.1, four at a time:
    // no registration limit, and room for their password checks.
    let config = files.join("trackerd.toml");
    std::fs::create_dir_all(files).unwrap();
    std::fs::write(
        &config,
        "[accounts]\nmax_registrations_per_address = 0\nmax_password_checks_per_address = 8\n",
    )
    .unwrap();
    let mut d = spawn(&[
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    let sh = Arc::new(Shared {
        addr: d.addr,
        ops: Mutex::new(Vec::new()),
        killed: AtomicBool::new(false),
        unexpected: Mutex::new(Vec::new()),
    });
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let sh = sh.clone();
            let dir = files.join(w.to_string());
            std::fs::create_dir_all(&dir).unwrap();
            std::thread::spawn(move || worker(&sh, w, &dir))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while sh.ops.lock().unwrap().len() < KILL_AFTER_OPS {
        let unexpected = sh.unexpected.lock().unwrap().clone();
        assert!(
            Instant::now() < deadline,
            "the stream is too slow: {unexpected:?}"
        );
        assert!(
            !workers.iter().all(|w| w.is_finished()),
            "every worker stopped early: {unexpected:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Mid-stream: every worker has a request in flight or about to be.
    sh.killed.store(true, Ordering::SeqCst);
    d.signal("KILL");
    let status = d.wait_exit(Duration::from_secs(10));
    assert!(!status.success(), "{status:?}");
    #[cfg(unix)] // killed by SIGKILL; Windows has no signals to report
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    for w in workers {
        w.join().unwrap();
    }
    let unexpected = sh.unexpected.lock().unwrap().clone();
    assert!(
        unexpected.is_empty(),
        "refusals before the kill: {unexpected:#?}"
    );
    let ops = sh.ops.lock().unwrap().clone();
    eprintln!("{} requests acknowledged before the kill", ops.len());
    ops
}

#[test]
fn everything_acknowledged_before_a_kill_9_is_there_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let files = dir.path().join("files");
    let ops = stream_then_kill(&data, &files);
    // The text event log, before the restarted server writes to it.
    let text = std::fs::read_to_string(data.join("trackerd-events.log")).unwrap();

    let d = spawn(&["--data-dir", data.to_str().unwrap()]);
    let addr = d.addr;
    // Every registered user logs in (takeover: sessions may have survived).
    // Events before the first of these logins were written before the kill.
    let mut tokens = HashMap::new();
    let mut cutoff = None;
    for op in &ops {
        let Op::Register(u) = op else { continue };
        let body = json!({ "username": u, "password": PASSWORD, "takeover": true }).to_string();
        let (status, body) = call(addr, "POST", "/api/v1/login", None, body.as_bytes()).unwrap();
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, 200, "{u} logs in after the restart: {text}");
        let token = json_of(&body)["token"].as_str().unwrap().to_owned();
        cutoff = cutoff.or_else(|| {
            all_events(addr, &token)
                .last()
                .map(|e| e["id"].as_i64().unwrap())
        });
        tokens.insert(u.clone(), token);
    }
    let cutoff = cutoff.expect("at least one registration");
    let groups: HashMap<String, String> =
        get_json(addr, "/api/v1/groups", tokens.values().next().unwrap())["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["name"].as_str().unwrap().to_owned(),
                    g["owner"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
    let owner_of: HashMap<&str, &str> = ops
        .iter()
        .filter_map(|op| match op {
            Op::CreateGroup { group, owner } => Some((group.as_str(), owner.as_str())),
            _ => None,
        })
        .collect();
    // Events as each user saw them before the kill (group events are for
    // members, and each group's owner is one).
    let mut seen: HashMap<String, Vec<Value>> = HashMap::new();
    let mut events_of = |who: &str| -> Vec<Value> {
        seen.entry(who.to_owned())
            .or_insert_with(|| {
                let mut evs = all_events(addr, &tokens[who]);
                evs.retain(|e| e["id"].as_i64().unwrap() < cutoff);
                evs
            })
            .clone()
    };
    for op in &ops {
        match op {
            Op::Register(u) => {
                assert!(
                    has_event(&events_of(u), "register", u, None, |_| true),
                    "{u}"
                );
                assert!(text.contains(&format!(" register user={u}\n")), "{u}");
            }
            Op::Login(u) => {
                assert!(has_event(&events_of(u), "login", u, None, |_| true), "{u}");
                assert!(
                    text.contains(&format!(" login user={u} from 127.0.0.1\n")),
                    "{u}"
                );
            }
            Op::CreateGroup { group, owner } => {
                assert_eq!(groups.get(group), Some(owner), "{group} owned by {owner}");
                let evs = events_of(owner);
                assert!(has_event(&evs, "group_created", owner, Some(group), |_| {
                    true
                }));
                assert!(text.contains(&format!(" group_created user={owner} group={group}\n")));
            }
            Op::RequestJoin { group, user } => {
                // Pending, or accepted by an accept whose reply the kill cut off.
                let owner = owner_of[group.as_str()];
                let t = &tokens[owner];
                let requests = format!("/api/v1/groups/{group}/requests");
                let members = format!("/api/v1/groups/{group}/members");
                let there = usernames(addr, &requests, "requests", t).contains(user)
                    || usernames(addr, &members, "members", t).contains(user);
                assert!(
                    there,
                    "{user}'s request to join {group} is pending or accepted"
                );
                let evs = events_of(owner);
                assert!(has_event(&evs, "join_requested", user, Some(group), |_| {
                    true
                }));
                assert!(text.contains(&format!(" join_requested user={user} group={group}\n")));
            }
            Op::Accept { group, user } => {
                let owner = owner_of[group.as_str()];
                let members = format!("/api/v1/groups/{group}/members");
                let listed = usernames(addr, &members, "members", &tokens[owner]);
                assert!(
                    listed.contains(user),
                    "{user} is a member of {group}: {listed:?}"
                );
                let member = format!("member={user}");
                let evs = events_of(owner);
                assert!(has_event(&evs, "join_accepted", owner, Some(group), |e| e
                    ["detail"]
                    == member.as_str()));
                assert!(text.contains(&format!(
                    " join_accepted user={owner} group={group} {member}\n"
                )));
            }
            Op::Publish {
                group,
                user,
                info_hash,
                name,
            } => {
                let owner = owner_of[group.as_str()];
                let list = get_json(
                    addr,
                    &format!("/api/v1/groups/{group}/torrents"),
                    &tokens[owner],
                );
                let listed = list["torrents"].as_array().unwrap().iter().any(|t| {
                    t["info_hash"] == info_hash.as_str()
                        && t["publisher"] == user.as_str()
                        && t["name"] == name.as_str()
                });
                assert!(listed, "{name} by {user} is listed in {group}: {list}");
                let evs = events_of(owner);
                assert!(has_event(
                    &evs,
                    "publish",
                    user,
                    Some(group),
                    |e| e["info_hash"] == info_hash.as_str()
                ));
                let line = format!(
                    " publish user={user} group={group} info_hash={info_hash} name={name:?}\n"
                );
                assert!(text.contains(&line), "{line}");
            }
        }
    }
}
