//! `p2pctl config get|set` (the daemon's run-time settings) and `p2pctl
//! limit` (one download's own rate limits). Every check of a setting's
//! value happens in the daemon, so its message is what the user sees.

use anyhow::Context;
use p2p_proto::ipc::{Request, Response, RuntimeSettings, SettingKey, TorrentSummary, parse_rate};

use super::{print, print_json};
use crate::cli::{ConfigCommand, LimitArgs};
use crate::output::{human_rate, table};
use p2p_client::Target;

/// The read-only key `config get` also shows.
const ACTIVE: &str = "alt_speed_active";

pub fn run(daemon: &Target, cmd: &ConfigCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Get { key } => get(daemon, key.as_deref(), json),
        ConfigCommand::Set { key, value } => set(daemon, key, value, json),
    }
}

fn get(daemon: &Target, key: Option<&str>, json: bool) -> anyhow::Result<()> {
    // Checked before connecting; the text is the daemon's own.
    let key = match key.map(str::trim) {
        Some(ACTIVE) => Some(None),
        Some(k) => Some(Some(SettingKey::parse(k)?)),
        None => None,
    };
    let settings = fetch(daemon, Request::ConfigGet)?;
    if json {
        return print_json(&settings);
    }
    match key {
        Some(Some(k)) => print(&format!("{}\n", settings.get(k))),
        Some(None) => print(&format!("{}\n", on_off(settings.alt_speed_active))),
        None => print(&settings_table(&settings)),
    }
}

fn set(daemon: &Target, key: &str, value: &str, json: bool) -> anyhow::Result<()> {
    let request = Request::ConfigSet {
        key: key.to_owned(),
        value: value.to_owned(),
    };
    let settings = fetch(daemon, request)?;
    if json {
        return print_json(&settings);
    }
    // The daemon accepted the key, so it parses.
    let k = SettingKey::parse(key)?;
    let mut out = format!("{} = {}\n", k.name(), settings.get(k));
    if k.name().starts_with("alt_") {
        out.push_str(&format!(
            "{ACTIVE} = {}\n",
            on_off(settings.alt_speed_active)
        ));
    }
    print(&out)
}

fn fetch(daemon: &Target, request: Request) -> anyhow::Result<RuntimeSettings> {
    let command = request.name();
    let reply = daemon.connect()?.request(request)?;
    Ok(p2p_client::reply_as!(reply, command, Response::Config)?)
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// Every key with its value (as `config set` takes it), then the read-only
/// one.
fn settings_table(s: &RuntimeSettings) -> String {
    let rows = SettingKey::ALL
        .iter()
        .map(|&k| vec![k.name().to_owned(), s.get(k)])
        .chain([vec![
            ACTIVE.to_owned(),
            on_off(s.alt_speed_active).to_owned(),
        ]]);
    table(&["KEY", "VALUE"], rows)
}

/// `p2pctl limit ID [--download RATE] [--upload RATE]`: a limit not given
/// keeps its value; with neither, the current ones are shown.
pub fn limit(daemon: &Target, args: &LimitArgs, json: bool) -> anyhow::Result<()> {
    let rate = |flag: &str, text: &Option<String>| -> anyhow::Result<Option<Option<u64>>> {
        text.as_deref()
            .map(|t| {
                parse_rate(t).with_context(|| {
                    format!(
                        "--{flag}: {t:?} is not a rate in bytes per second (e.g. 500K, 2M, 1G; binary units) or `unlimited`"
                    )
                })
            })
            .transpose()
    };
    let (download, upload) = (
        rate("download", &args.download)?,
        rate("upload", &args.upload)?,
    );
    let mut conn = daemon.connect()?;
    // A limit not given keeps its value: read it first.
    let current = match (download, upload) {
        (Some(_), Some(_)) => None,
        _ => {
            let list = conn.request(Request::List)?;
            let list = p2p_client::reply_as!(list, "list", Response::List)?;
            Some(find(&list, &args.id)?.clone())
        }
    };
    let t = match (download, upload, current) {
        (None, None, Some(t)) => t,
        (d, u, current) => {
            let (d0, u0) = current.map_or((None, None), |t| {
                (t.download_rate_limit, t.upload_rate_limit)
            });
            let request = Request::TorrentLimits {
                id: args.id.clone(),
                download_rate_limit: d.unwrap_or(d0),
                upload_rate_limit: u.unwrap_or(u0),
            };
            let reply = conn.request(request)?;
            p2p_client::reply_as!(reply, "torrent_limits", Response::Torrent)?
        }
    };
    if json {
        return print_json(&t);
    }
    let shown = |r: Option<u64>| r.map_or_else(|| "unlimited".to_owned(), human_rate);
    print(&format!(
        "{} ({}): download {}, upload {} (under the global limits)\n",
        t.name,
        t.short_id,
        shown(t.download_rate_limit),
        shown(t.upload_rate_limit)
    ))
}

/// The one torrent `id` names, by the daemon's rule (a unique info-hash
/// prefix, or the exact name), or the daemon's words for why not.
fn find<'a>(list: &'a [TorrentSummary], id: &str) -> anyhow::Result<&'a TorrentSummary> {
    let (id, lower) = (id.trim(), id.trim().to_ascii_lowercase());
    let found: Vec<&TorrentSummary> = list
        .iter()
        .filter(|t| (!lower.is_empty() && t.info_hash.to_hex().starts_with(&lower)) || t.name == id)
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => anyhow::bail!("no torrent matches {id:?}"),
        many => anyhow::bail!(
            "{id:?} matches {} torrents; give more of the info-hash",
            many.len()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::list::sample;

    #[test]
    fn the_table_shows_every_key_in_order_then_whether_alt_speed_is_active() {
        let s = RuntimeSettings {
            download_rate_limit: Some(2 << 20),
            upload_rate_limit: None,
            alt_download_rate_limit: None,
            alt_upload_rate_limit: Some(1000),
            alt_speed: true,
            alt_speed_schedule: None,
            alt_speed_active: true,
            max_peers_per_torrent: 50,
            max_peers_total: 400,
            upload_slots: 4,
            tracker: "http://t/announce".into(),
            max_active_downloads: 5,
            max_active_seeds: 0,
            seed_ratio_limit: None,
            seed_time_limit: None,
        };
        let text = settings_table(&s);
        let lines: Vec<Vec<&str>> = text
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(lines[0], ["KEY", "VALUE"]);
        assert_eq!(lines[1], ["download_rate_limit", "2097152"]);
        assert_eq!(lines[2], ["upload_rate_limit", "unlimited"]);
        assert_eq!(lines[6], ["alt_speed_schedule", "off"]);
        assert_eq!(lines[10], ["tracker", "http://t/announce"]);
        assert_eq!(lines[11], ["max_active_downloads", "5"]);
        assert_eq!(lines[12], ["max_active_seeds", "unlimited"]);
        assert_eq!(lines[15], ["alt_speed_active", "on"]);
        assert_eq!(lines.len(), 16);
    }

    #[test]
    fn a_torrent_is_found_by_a_unique_prefix_or_its_exact_name() {
        let list = vec![sample("a", "seeding", 1.0)];
        assert_eq!(find(&list, "3F2A").unwrap().name, "a");
        assert_eq!(find(&list, "a").unwrap().name, "a");
        assert_eq!(
            find(&list, "b").unwrap_err().to_string(),
            "no torrent matches \"b\""
        );
        let two = vec![sample("a", "seeding", 1.0), sample("b", "seeding", 1.0)];
        assert_eq!(
            find(&two, "3f2a").unwrap_err().to_string(),
            "\"3f2a\" matches 2 torrents; give more of the info-hash"
        );
    }
}
