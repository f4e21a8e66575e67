//! `p2pctl files [GROUP]`, `search TERM`, `events [--follow]`: the tracker's
//! catalogs and events, through the daemon and the logged-in user's session.
//! `--json` prints the tracker's answer (with `--follow`, one event per line).

use std::time::Duration;

use p2p_proto::ipc::Request;
use serde_json::Value;

use super::groups::{cell, time_cell};
use super::{Daemon, print, print_json};
use crate::cli::EventsArgs;
use crate::output::{human_size, table};

/// How often `events --follow` asks for new events.
const FOLLOW_INTERVAL: Duration = Duration::from_secs(1);
/// Events asked for per page.
const EVENTS_PAGE: u32 = 500;

pub fn files(daemon: &Daemon, group: Option<&str>, json: bool) -> anyhow::Result<()> {
    let reply = daemon.connect()?.request(Request::Files {
        group: group.map(str::to_owned),
    })?;
    if json {
        return print_json(&reply);
    }
    let place = group.map_or("the public catalog".to_owned(), |g| format!("group {g}"));
    print(&entries_table(&reply, &format!("nothing in {place} yet")))
}

pub fn search(daemon: &Daemon, term: &str, json: bool) -> anyhow::Result<()> {
    let reply = daemon.connect()?.request(Request::Search {
        term: term.to_owned(),
    })?;
    if json {
        return print_json(&reply);
    }
    print(&entries_table(&reply, &format!("nothing matches {term:?}")))
}

pub fn events(daemon: &Daemon, args: &EventsArgs, json: bool) -> anyhow::Result<()> {
    if !args.follow {
        let reply = daemon.connect()?.request(Request::Events {
            after: args.after,
            limit: None,
        })?;
        if json {
            return print_json(&reply);
        }
        if events_of(&reply).is_empty() {
            return print("no events\n");
        }
        return print(&events_table(&reply));
    }
    let mut client = daemon.connect()?;
    let mut after = args.after.unwrap_or(0);
    loop {
        let reply = client.request(Request::Events {
            after: Some(after),
            limit: Some(EVENTS_PAGE),
        })?;
        let page = events_of(&reply);
        for e in page {
            print(&if json {
                format!("{e}\n")
            } else {
                event_line(e)
            })?;
        }
        after = reply["next_after"]
            .as_u64()
            .or_else(|| page.last().and_then(|e| e["id"].as_u64()))
            .unwrap_or(after);
        // A full page means more are waiting: ask again at once.
        if page.len() < EVENTS_PAGE as usize {
            std::thread::sleep(FOLLOW_INTERVAL);
        }
    }
}

fn events_of(reply: &Value) -> &[Value] {
    reply["events"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The first 8 hex digits of an info-hash, as `list` shows them.
fn short_hash(v: &Value) -> String {
    match v.as_str() {
        Some(h) if h.len() >= 8 => h[..8].to_owned(),
        _ => cell(v),
    }
}

/// Catalog entries (`{torrents: [...]}`), one row each.
fn entries_table(reply: &Value, when_empty: &str) -> String {
    let entries = reply["torrents"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if entries.is_empty() {
        return format!("{when_empty}\n");
    }
    table(
        &["ID", "NAME", "GROUP", "SIZE", "FILES", "PUBLISHER"],
        entries.iter().map(|e| {
            vec![
                short_hash(&e["info_hash"]),
                cell(&e["name"]),
                e["group"].as_str().unwrap_or("public").to_owned(),
                e["total_length"]
                    .as_u64()
                    .map(human_size)
                    .unwrap_or_else(|| cell(&e["total_length"])),
                cell(&e["file_count"]),
                cell(&e["publisher"]),
            ]
        }),
    )
}

fn events_table(reply: &Value) -> String {
    table(
        &["ID", "AT", "KIND", "USER", "GROUP", "TORRENT", "DETAIL"],
        events_of(reply).iter().map(|e| {
            vec![
                cell(&e["id"]),
                time_cell(&e["at"]),
                cell(&e["kind"]),
                cell(&e["username"]),
                cell(&e["group"]),
                short_hash(&e["info_hash"]),
                cell(&e["detail"]),
            ]
        }),
    )
}

/// One event as a line, for `--follow` (a table cannot grow).
fn event_line(e: &Value) -> String {
    let mut s = format!(
        "#{} {} {}",
        cell(&e["id"]),
        time_cell(&e["at"]),
        cell(&e["kind"])
    );
    for key in ["username", "group"] {
        if let Some(v) = e[key].as_str() {
            s.push_str(&format!(
                " {}={v}",
                if key == "username" { "user" } else { key }
            ));
        }
    }
    if e["info_hash"].is_string() {
        s.push_str(&format!(" torrent={}", short_hash(&e["info_hash"])));
    }
    if let Some(d) = e["detail"].as_str().filter(|d| !d.is_empty()) {
        s.push_str(&format!(" {d}"));
    }
    s + "\n"
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn entry() -> Value {
        json!({"info_hash": "3f2a".repeat(10), "name": "a.bin", "group": "team",
               "total_length": 1536, "piece_length": 16384, "file_count": 1,
               "private": true, "source": "team", "publisher": "alice", "added_at": 0})
    }

    #[test]
    fn catalog_rows_show_short_id_group_size_and_publisher() {
        let text = entries_table(&json!({"torrents": [entry()]}), "empty");
        let row: Vec<&str> = text
            .lines()
            .nth(1)
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        assert_eq!(
            row,
            ["3f2a3f2a", "a.bin", "team", "1.50", "KiB", "1", "alice"],
            "{text}"
        );
    }

    #[test]
    fn public_entries_and_empty_catalogs_read_as_words() {
        let mut e = entry();
        e["group"] = Value::Null;
        let text = entries_table(&json!({"torrents": [e]}), "empty");
        assert!(text.lines().nth(1).unwrap_or_default().contains("public"));
        assert_eq!(
            entries_table(&json!({"torrents": []}), "nothing in group team yet"),
            "nothing in group team yet\n"
        );
    }

    #[test]
    fn events_show_kind_user_group_and_torrent() {
        let e = json!({"id": 8, "at": 0, "kind": "publish", "username": "alice",
                       "group": "team", "info_hash": "3f2a".repeat(10), "detail": "a.bin"});
        assert_eq!(
            event_line(&e),
            "#8 1970-01-01 00:00:00 publish user=alice group=team torrent=3f2a3f2a a.bin\n"
        );
        let text = events_table(&json!({"events": [e], "next_after": 8}));
        let row: Vec<&str> = text
            .lines()
            .nth(1)
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        assert_eq!(
            row,
            [
                "8",
                "1970-01-01",
                "00:00:00",
                "publish",
                "alice",
                "team",
                "3f2a3f2a",
                "a.bin"
            ]
        );
    }
}
