//! `p2pctl files [GROUP]`, `search TERM`, `events [--follow]`: the tracker's
//! catalogs and events, through the daemon and the logged-in user's session.
//! `--json` prints the tracker's answer (with `--follow`, one event per line).

use std::time::Duration;

use p2p_proto::api::{CatalogList, EventPage, EventRecord};
use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::{Request, Response};
use p2p_proto::time::utc_date_time;

use super::groups::cell;
use super::{print, print_json};
use crate::cli::EventsArgs;
use crate::output::{human_size, table};
use p2p_client::Target;
use p2p_client::reply_as;

/// How often `events --follow` asks for new events.
const FOLLOW_INTERVAL: Duration = Duration::from_secs(1);
/// Events asked for per page.
const EVENTS_PAGE: u32 = 500;

pub fn files(daemon: &Target, group: Option<&str>, json: bool) -> anyhow::Result<()> {
    let reply = daemon.connect()?.request(Request::Files {
        group: group.map(str::to_owned),
    })?;
    if json {
        return print_json(&reply);
    }
    let place = group.map_or("the public catalog".to_owned(), |g| format!("group {g}"));
    let list = reply_as!(reply, "files", Response::Catalog)?;
    print(&entries_table(&list, &format!("nothing in {place} yet")))
}

pub fn search(daemon: &Target, term: &str, json: bool) -> anyhow::Result<()> {
    let reply = daemon.connect()?.request(Request::Search {
        term: term.to_owned(),
    })?;
    if json {
        return print_json(&reply);
    }
    let list = reply_as!(reply, "search", Response::Catalog)?;
    print(&entries_table(&list, &format!("nothing matches {term:?}")))
}

pub fn events(daemon: &Target, args: &EventsArgs, json: bool) -> anyhow::Result<()> {
    if !args.follow {
        let reply = daemon.connect()?.request(Request::Events {
            after: args.after,
            limit: None,
        })?;
        if json {
            return print_json(&reply);
        }
        let page = reply_as!(reply, "events", Response::Events)?;
        if page.events.is_empty() {
            return print("no events\n");
        }
        return print(&events_table(&page));
    }
    let mut client = daemon.connect()?;
    let mut after = args.after.unwrap_or(0);
    loop {
        let reply = client.request(Request::Events {
            after: Some(after),
            limit: Some(EVENTS_PAGE),
        })?;
        let page = reply_as!(reply, "events", Response::Events)?;
        for e in &page.events {
            print(&if json {
                format!("{}\n", serde_json::to_string(e)?)
            } else {
                event_line(e)
            })?;
        }
        after = u64::try_from(page.next_after).unwrap_or(after).max(after);
        // A full page means more are waiting: ask again at once.
        if page.events.len() < EVENTS_PAGE as usize {
            std::thread::sleep(FOLLOW_INTERVAL);
        }
    }
}

/// The first 8 hex digits of an info-hash, as `list` shows them.
fn short_hash(h: Option<&InfoHash>) -> String {
    h.map_or_else(|| "-".to_owned(), InfoHash::short_hex)
}

/// Catalog entries, one row each.
fn entries_table(list: &CatalogList, when_empty: &str) -> String {
    if list.torrents.is_empty() {
        return format!("{when_empty}\n");
    }
    table(
        &["ID", "NAME", "GROUP", "SIZE", "FILES", "PUBLISHER"],
        list.torrents.iter().map(|e| {
            vec![
                e.info_hash.short_hex(),
                e.name.clone(),
                e.group.as_deref().unwrap_or("public").to_owned(),
                human_size(e.total_length),
                e.file_count.to_string(),
                e.publisher.clone(),
            ]
        }),
    )
}

fn events_table(page: &EventPage) -> String {
    table(
        &["ID", "AT", "KIND", "USER", "GROUP", "TORRENT", "DETAIL"],
        page.events.iter().map(|e| {
            vec![
                e.id.to_string(),
                utc_date_time(e.at),
                e.kind.clone(),
                cell(e.username.as_deref()),
                cell(e.group.as_deref()),
                short_hash(e.info_hash.as_ref()),
                if e.detail.is_empty() {
                    "-".to_owned()
                } else {
                    e.detail.clone()
                },
            ]
        }),
    )
}

/// One event as a line, for `--follow` (a table cannot grow).
fn event_line(e: &EventRecord) -> String {
    let mut s = format!("#{} {} {}", e.id, utc_date_time(e.at), e.kind);
    if let Some(u) = &e.username {
        s.push_str(&format!(" user={u}"));
    }
    if let Some(g) = &e.group {
        s.push_str(&format!(" group={g}"));
    }
    if let Some(h) = &e.info_hash {
        s.push_str(&format!(" torrent={}", h.short_hex()));
    }
    if !e.detail.is_empty() {
        s.push_str(&format!(" {}", e.detail));
    }
    s + "\n"
}

#[cfg(test)]
mod tests {
    use p2p_proto::api::CatalogEntry;

    use super::*;

    fn ih() -> InfoHash {
        InfoHash::parse(&"3f2a".repeat(10)).unwrap()
    }

    fn entry() -> CatalogEntry {
        CatalogEntry {
            info_hash: ih(),
            name: "a.bin".into(),
            group: Some("team".into()),
            total_length: 1536,
            piece_length: 16384,
            file_count: 1,
            private: true,
            source: Some("team".into()),
            publisher: "alice".into(),
            added_at: 0,
        }
    }

    #[test]
    fn catalog_rows_show_short_id_group_size_and_publisher() {
        let text = entries_table(
            &CatalogList {
                torrents: vec![entry()],
            },
            "empty",
        );
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
        let e = CatalogEntry {
            group: None,
            ..entry()
        };
        let text = entries_table(&CatalogList { torrents: vec![e] }, "empty");
        assert!(text.lines().nth(1).unwrap_or_default().contains("public"));
        assert_eq!(
            entries_table(
                &CatalogList { torrents: vec![] },
                "nothing in group team yet"
            ),
            "nothing in group team yet\n"
        );
    }

    #[test]
    fn events_show_kind_user_group_and_torrent() {
        let e = EventRecord {
            id: 8,
            at: 0,
            kind: "publish".into(),
            username: Some("alice".into()),
            group: Some("team".into()),
            info_hash: Some(ih()),
            detail: "a.bin".into(),
        };
        assert_eq!(
            event_line(&e),
            "#8 1970-01-01 00:00:00 publish user=alice group=team torrent=3f2a3f2a a.bin\n"
        );
        let text = events_table(&EventPage {
            events: vec![e],
            next_after: 8,
        });
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
