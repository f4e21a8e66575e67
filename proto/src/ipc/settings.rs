//! The daemon's run-time settings: what `config_get` answers and what
//! `config_set KEY VALUE` changes. Keys are the config file's names for the
//! same things; values travel as text so that p2pctl and p2pgui send what
//! the user typed and every check happens here, once, in the daemon.

use serde::{Deserialize, Serialize};

use super::goals::{Ratio, format_seed_time, parse_ratio, parse_seed_time};

/// Longest tracker URL accepted.
const MAX_URL_BYTES: usize = 2048;
/// Most peer connections per torrent a setting may ask for.
const MAX_PEERS_PER_TORRENT: u32 = 2_000;
/// Most peer connections in all a setting may ask for.
const MAX_PEERS_TOTAL: u32 = 20_000;
/// Most upload slots per torrent a setting may ask for.
const MAX_UPLOAD_SLOTS: u32 = 500;
/// Most active downloads or seeds a queue setting may ask for.
const MAX_ACTIVE: u32 = 100_000;
/// Highest rate limit: 1 TiB/s, far above any link, far below overflow.
const MAX_RATE: u64 = 1 << 40;

/// Every run-time setting, as the daemon applies it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeSettings {
    /// Bytes per second for all downloads together; none: unlimited.
    pub download_rate_limit: Option<u64>,
    /// Bytes per second for all uploads together; none: unlimited.
    pub upload_rate_limit: Option<u64>,
    /// The download limit while the alternative speed is in effect.
    pub alt_download_rate_limit: Option<u64>,
    /// The upload limit while the alternative speed is in effect.
    pub alt_upload_rate_limit: Option<u64>,
    /// The alternative speed switched on by hand.
    pub alt_speed: bool,
    /// Daily local-time window in which the alternative speed is on by
    /// itself; none: no schedule.
    pub alt_speed_schedule: Option<Schedule>,
    /// Whether the alternative limits apply right now (switched on, or
    /// inside the schedule's window). Read only.
    #[serde(default)]
    pub alt_speed_active: bool,
    /// Most peer connections per torrent.
    pub max_peers_per_torrent: u32,
    /// Most peer connections in all.
    pub max_peers_total: u32,
    /// Upload slots per torrent.
    pub upload_slots: u32,
    /// Announce URL written into torrents shared from now on.
    pub tracker: String,
    /// Downloads running at once; the others wait in the queue. 0:
    /// unlimited (also what a daemon older than the queue means).
    #[serde(default)]
    pub max_active_downloads: u32,
    /// Complete downloads seeding at once; 0: unlimited. Watched-folder
    /// items are not counted.
    #[serde(default)]
    pub max_active_seeds: u32,
    /// Share ratio (uploaded / size) at which a torrent stops seeding;
    /// none: no ratio goal.
    #[serde(default)]
    pub seed_ratio_limit: Option<Ratio>,
    /// Seconds of seeding after which a torrent stops; none: no time goal.
    #[serde(default)]
    pub seed_time_limit: Option<u64>,
}

/// A daily window `HH:MM-HH:MM` in local time; it may cross midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Minutes after midnight when it starts.
    pub from_minute: u16,
    /// Minutes after midnight when it ends.
    pub to_minute: u16,
}

impl Schedule {
    /// Whether `minute` (after local midnight) falls inside the window.
    pub fn contains(&self, minute: u16) -> bool {
        if self.from_minute <= self.to_minute {
            (self.from_minute..self.to_minute).contains(&minute)
        } else {
            minute >= self.from_minute || minute < self.to_minute
        }
    }
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        write!(f, "{}-{}", hm(self.from_minute), hm(self.to_minute))
    }
}

/// The names `config_set` takes, in the order `config get` shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingKey {
    /// [`RuntimeSettings::download_rate_limit`].
    DownloadRateLimit,
    /// [`RuntimeSettings::upload_rate_limit`].
    UploadRateLimit,
    /// [`RuntimeSettings::alt_download_rate_limit`].
    AltDownloadRateLimit,
    /// [`RuntimeSettings::alt_upload_rate_limit`].
    AltUploadRateLimit,
    /// [`RuntimeSettings::alt_speed`].
    AltSpeed,
    /// [`RuntimeSettings::alt_speed_schedule`].
    AltSpeedSchedule,
    /// [`RuntimeSettings::max_peers_per_torrent`].
    MaxPeersPerTorrent,
    /// [`RuntimeSettings::max_peers_total`].
    MaxPeersTotal,
    /// [`RuntimeSettings::upload_slots`].
    UploadSlots,
    /// [`RuntimeSettings::tracker`].
    Tracker,
    /// [`RuntimeSettings::max_active_downloads`].
    MaxActiveDownloads,
    /// [`RuntimeSettings::max_active_seeds`].
    MaxActiveSeeds,
    /// [`RuntimeSettings::seed_ratio_limit`].
    SeedRatioLimit,
    /// [`RuntimeSettings::seed_time_limit`].
    SeedTimeLimit,
}

impl SettingKey {
    /// Every key.
    pub const ALL: [SettingKey; 14] = [
        SettingKey::DownloadRateLimit,
        SettingKey::UploadRateLimit,
        SettingKey::AltDownloadRateLimit,
        SettingKey::AltUploadRateLimit,
        SettingKey::AltSpeed,
        SettingKey::AltSpeedSchedule,
        SettingKey::MaxPeersPerTorrent,
        SettingKey::MaxPeersTotal,
        SettingKey::UploadSlots,
        SettingKey::Tracker,
        SettingKey::MaxActiveDownloads,
        SettingKey::MaxActiveSeeds,
        SettingKey::SeedRatioLimit,
        SettingKey::SeedTimeLimit,
    ];

    /// The key as typed (the config file's name).
    pub fn name(self) -> &'static str {
        match self {
            SettingKey::DownloadRateLimit => "download_rate_limit",
            SettingKey::UploadRateLimit => "upload_rate_limit",
            SettingKey::AltDownloadRateLimit => "alt_download_rate_limit",
            SettingKey::AltUploadRateLimit => "alt_upload_rate_limit",
            SettingKey::AltSpeed => "alt_speed",
            SettingKey::AltSpeedSchedule => "alt_speed_schedule",
            SettingKey::MaxPeersPerTorrent => "max_peers_per_torrent",
            SettingKey::MaxPeersTotal => "max_peers_total",
            SettingKey::UploadSlots => "upload_slots",
            SettingKey::Tracker => "tracker",
            SettingKey::MaxActiveDownloads => "max_active_downloads",
            SettingKey::MaxActiveSeeds => "max_active_seeds",
            SettingKey::SeedRatioLimit => "seed_ratio_limit",
            SettingKey::SeedTimeLimit => "seed_time_limit",
        }
    }

    /// The key of a name, or an error listing the keys.
    pub fn parse(name: &str) -> Result<SettingKey, SettingError> {
        SettingKey::ALL
            .into_iter()
            .find(|k| k.name() == name.trim())
            .ok_or_else(|| SettingError::UnknownKey(short(name)))
    }
}

/// Why `config_set` refused a change. Nothing is changed when it does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    /// Not one of [`SettingKey::ALL`].
    #[error(
        "unknown setting {0:?} (one of: download_rate_limit, upload_rate_limit, alt_download_rate_limit, alt_upload_rate_limit, alt_speed, alt_speed_schedule, max_peers_per_torrent, max_peers_total, upload_slots, tracker, max_active_downloads, max_active_seeds, seed_ratio_limit, seed_time_limit)"
    )]
    UnknownKey(String),
    /// A value the key cannot take; the text says what it can.
    #[error("{key}: {value:?} is not {expected}")]
    BadValue {
        /// The key.
        key: &'static str,
        /// What was given (cut short).
        value: String,
        /// What the key takes.
        expected: &'static str,
    },
}

impl RuntimeSettings {
    /// The value of `key` as `config get` prints it and `config set` takes it.
    pub fn get(&self, key: SettingKey) -> String {
        let rate = |r: Option<u64>| r.map_or_else(|| "unlimited".to_owned(), |r| r.to_string());
        let active = |n: u32| match n {
            0 => "unlimited".to_owned(),
            n => n.to_string(),
        };
        match key {
            SettingKey::DownloadRateLimit => rate(self.download_rate_limit),
            SettingKey::UploadRateLimit => rate(self.upload_rate_limit),
            SettingKey::AltDownloadRateLimit => rate(self.alt_download_rate_limit),
            SettingKey::AltUploadRateLimit => rate(self.alt_upload_rate_limit),
            SettingKey::AltSpeed => if self.alt_speed { "on" } else { "off" }.to_owned(),
            SettingKey::AltSpeedSchedule => self
                .alt_speed_schedule
                .map_or_else(|| "off".to_owned(), |s| s.to_string()),
            SettingKey::MaxPeersPerTorrent => self.max_peers_per_torrent.to_string(),
            SettingKey::MaxPeersTotal => self.max_peers_total.to_string(),
            SettingKey::UploadSlots => self.upload_slots.to_string(),
            SettingKey::Tracker => self.tracker.clone(),
            SettingKey::MaxActiveDownloads => active(self.max_active_downloads),
            SettingKey::MaxActiveSeeds => active(self.max_active_seeds),
            SettingKey::SeedRatioLimit => self
                .seed_ratio_limit
                .map_or_else(|| "unlimited".to_owned(), |r| r.to_string()),
            SettingKey::SeedTimeLimit => self
                .seed_time_limit
                .map_or_else(|| "unlimited".to_owned(), format_seed_time),
        }
    }

    /// Sets `key` from text, or leaves everything as it was and says why.
    pub fn set(&mut self, key: SettingKey, value: &str) -> Result<(), SettingError> {
        let bad = |expected| SettingError::BadValue {
            key: key.name(),
            value: short(value),
            expected,
        };
        let v = value.trim();
        const ACTIVE: &str = "a whole number from 1 to 100000, or `unlimited` (or 0)";
        const RATE: &str =
            "a rate in bytes per second (e.g. 500K, 2M, 1G; binary units) or `unlimited`";
        match key {
            SettingKey::DownloadRateLimit => {
                self.download_rate_limit = parse_rate(v).ok_or_else(|| bad(RATE))?
            }
            SettingKey::UploadRateLimit => {
                self.upload_rate_limit = parse_rate(v).ok_or_else(|| bad(RATE))?
            }
            SettingKey::AltDownloadRateLimit => {
                self.alt_download_rate_limit = parse_rate(v).ok_or_else(|| bad(RATE))?
            }
            SettingKey::AltUploadRateLimit => {
                self.alt_upload_rate_limit = parse_rate(v).ok_or_else(|| bad(RATE))?
            }
            SettingKey::AltSpeed => {
                self.alt_speed = match v.to_ascii_lowercase().as_str() {
                    "on" | "true" | "yes" | "1" => true,
                    "off" | "false" | "no" | "0" => false,
                    _ => return Err(bad("`on` or `off`")),
                }
            }
            SettingKey::AltSpeedSchedule => {
                self.alt_speed_schedule = parse_schedule(v).ok_or_else(|| {
                    bad("a daily window `HH:MM-HH:MM` in local time (e.g. 22:00-07:00) or `off`")
                })?
            }
            SettingKey::MaxPeersPerTorrent => {
                self.max_peers_per_torrent = parse_count(v, MAX_PEERS_PER_TORRENT)
                    .ok_or_else(|| bad("a whole number from 1 to 2000"))?
            }
            SettingKey::MaxPeersTotal => {
                self.max_peers_total = parse_count(v, MAX_PEERS_TOTAL)
                    .ok_or_else(|| bad("a whole number from 1 to 20000"))?
            }
            SettingKey::UploadSlots => {
                self.upload_slots = parse_count(v, MAX_UPLOAD_SLOTS)
                    .ok_or_else(|| bad("a whole number from 1 to 500"))?
            }
            SettingKey::Tracker => {
                self.tracker = parse_tracker(v).ok_or_else(|| {
                    bad("an http:// or https:// announce URL of at most 2048 bytes")
                })?
            }
            SettingKey::MaxActiveDownloads => {
                self.max_active_downloads =
                    parse_active(v).ok_or_else(|| bad(ACTIVE))?
            }
            SettingKey::MaxActiveSeeds => {
                self.max_active_seeds = parse_active(v).ok_or_else(|| bad(ACTIVE))?
            }
            SettingKey::SeedRatioLimit => {
                self.seed_ratio_limit = parse_ratio(v).ok_or_else(|| {
                    bad("a ratio from 0 to 10000 with at most two decimals (e.g. 2.0) or `unlimited`")
                })?
            }
            SettingKey::SeedTimeLimit => {
                self.seed_time_limit = parse_seed_time(v).ok_or_else(|| {
                    bad("a time such as 90m, 3h, 2d or 1h30m (at most ten years) or `unlimited`")
                })?
            }
        }
        Ok(())
    }

    /// The limits in effect, `(download, upload)`, given whether the
    /// schedule's window holds the current local time.
    pub fn effective_limits(&self, in_window: bool) -> (Option<u64>, Option<u64>) {
        if self.alt_speed || in_window && self.alt_speed_schedule.is_some() {
            (self.alt_download_rate_limit, self.alt_upload_rate_limit)
        } else {
            (self.download_rate_limit, self.upload_rate_limit)
        }
    }
}

/// `unlimited` (or `none`, `off`) is `Some(None)`; a positive number with an
/// optional binary unit (`K`, `KiB`, `M`, `MiB`, `G`, `GiB`, and `/s`) is
/// `Some(Some(bytes))`; zero, overflow and anything else are `None`.
pub fn parse_rate(text: &str) -> Option<Option<u64>> {
    let t = text.trim();
    if ["unlimited", "none", "off"].contains(&t.to_ascii_lowercase().as_str()) {
        return Some(None);
    }
    let t = t.strip_suffix("/s").unwrap_or(t).trim_end();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    if digits.is_empty() || digits.len() > 15 {
        return None;
    }
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" => 10,
        "m" | "mib" => 20,
        "g" | "gib" => 30,
        _ => return None,
    };
    let n: u64 = digits.parse().ok()?;
    let bytes = n.checked_shl(shift)?;
    (bytes > 0 && bytes <= MAX_RATE && bytes >> shift == n).then_some(Some(bytes))
}

fn parse_count(text: &str, max: u32) -> Option<u32> {
    if text.is_empty() || text.len() > 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|n| (1..=max).contains(n))
}

/// A queue size: `unlimited` or 0 is 0, else 1 to [`MAX_ACTIVE`].
fn parse_active(text: &str) -> Option<u32> {
    if text.eq_ignore_ascii_case("unlimited") || text == "0" {
        return Some(0);
    }
    parse_count(text, MAX_ACTIVE)
}

/// `HH:MM-HH:MM` (a daily local-time window, not empty) is
/// `Some(Some(window))`; `off` or `none` is `Some(None)`; anything else
/// is `None`.
pub fn parse_schedule(text: &str) -> Option<Option<Schedule>> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") || text.eq_ignore_ascii_case("none") {
        return Some(None);
    }
    let minute = |hm: &str| -> Option<u16> {
        let (h, m) = hm.trim().split_once(':')?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    };
    let (from, to) = text.split_once('-')?;
    let (from_minute, to_minute) = (minute(from)?, minute(to)?);
    (from_minute != to_minute).then_some(Some(Schedule {
        from_minute,
        to_minute,
    }))
}

fn parse_tracker(text: &str) -> Option<String> {
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))?;
    let host = rest.split(['/', '?']).next()?;
    let ok = text.len() <= MAX_URL_BYTES
        && !host.is_empty()
        && !text.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then(|| text.to_owned())
}

/// A value quoted back in an error, cut to a readable length.
fn short(text: &str) -> String {
    text.chars().take(80).collect()
}

/// Settings with every kind of value, for tests here and of the wire form.
#[cfg(test)]
pub(crate) fn sample() -> RuntimeSettings {
    RuntimeSettings {
        download_rate_limit: None,
        upload_rate_limit: Some(5_000_000),
        alt_download_rate_limit: Some(1 << 20),
        alt_upload_rate_limit: Some(256 << 10),
        alt_speed: false,
        alt_speed_schedule: None,
        alt_speed_active: false,
        max_peers_per_torrent: 50,
        max_peers_total: 500,
        upload_slots: 8,
        tracker: "http://127.0.0.1:6969/announce".into(),
        max_active_downloads: 5,
        max_active_seeds: 0,
        seed_ratio_limit: None,
        seed_time_limit: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_take_binary_units_and_unlimited() {
        assert_eq!(parse_rate("500K"), Some(Some(500 << 10)));
        assert_eq!(parse_rate("2 MiB/s"), Some(Some(2 << 20)));
        assert_eq!(parse_rate("1g"), Some(Some(1 << 30)));
        assert_eq!(parse_rate("12345"), Some(Some(12345)));
        assert_eq!(parse_rate("unlimited"), Some(None));
        for bad in [
            "0",
            "",
            "-1",
            "1.5M",
            "5X",
            "99999999999999999999",
            "2048G",
            "K",
        ] {
            assert_eq!(parse_rate(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn every_key_reads_back_what_was_set() {
        let mut s = sample();
        for (key, value, back) in [
            ("download_rate_limit", "2M", "2097152"),
            ("upload_rate_limit", "unlimited", "unlimited"),
            ("alt_download_rate_limit", "100K", "102400"),
            ("alt_upload_rate_limit", "off", "unlimited"),
            ("alt_speed", "on", "on"),
            ("alt_speed_schedule", "22:00-7:30", "22:00-07:30"),
            ("max_peers_per_torrent", "80", "80"),
            ("max_peers_total", "1000", "1000"),
            ("upload_slots", "4", "4"),
            (
                "tracker",
                "https://t.example/a?x=1",
                "https://t.example/a?x=1",
            ),
            ("max_active_downloads", "2", "2"),
            ("max_active_seeds", "unlimited", "unlimited"),
            ("seed_ratio_limit", "1.5", "1.50"),
            ("seed_time_limit", "90m", "1h30m"),
        ] {
            let k = SettingKey::parse(key).unwrap();
            s.set(k, value).unwrap();
            assert_eq!(s.get(k), back, "{key}");
        }
        assert_eq!(SettingKey::ALL.len(), 14);
    }

    #[test]
    fn a_bad_value_changes_nothing_and_says_what_the_key_takes() {
        let mut s = sample();
        let before = s.clone();
        for (key, value) in [
            ("download_rate_limit", "fast"),
            ("alt_speed", "maybe"),
            ("alt_speed_schedule", "25:00-01:00"),
            ("alt_speed_schedule", "10:00-10:00"),
            ("max_peers_per_torrent", "0"),
            ("max_peers_total", "20001"),
            ("upload_slots", "-3"),
            ("tracker", "ftp://x/announce"),
            ("tracker", "http:///announce"),
            ("tracker", "http://a b/announce"),
            ("max_active_downloads", "-1"),
            ("seed_ratio_limit", "1.234"),
            ("seed_time_limit", "soon"),
        ] {
            let e = s.set(SettingKey::parse(key).unwrap(), value).unwrap_err();
            assert!(e.to_string().starts_with(&format!("{key}: ")), "{e}");
        }
        assert_eq!(s, before);
        let e = SettingKey::parse("speed").unwrap_err().to_string();
        assert!(
            e.starts_with("unknown setting \"speed\" (one of: download_rate_limit"),
            "{e}"
        );
    }

    #[test]
    fn the_schedule_may_cross_midnight_and_switches_the_limits() {
        let night = parse_schedule("22:00-07:00").unwrap().unwrap();
        assert!(night.contains(23 * 60) && night.contains(60) && !night.contains(12 * 60));
        let day = parse_schedule("09:00-17:00").unwrap().unwrap();
        assert!(day.contains(9 * 60) && !day.contains(17 * 60));
        let mut s = sample();
        assert_eq!(s.effective_limits(true), (None, Some(5_000_000)));
        s.alt_speed_schedule = Some(night);
        assert_eq!(s.effective_limits(true), (Some(1 << 20), Some(256 << 10)));
        assert_eq!(s.effective_limits(false), (None, Some(5_000_000)));
        s.alt_speed = true;
        assert_eq!(s.effective_limits(false), (Some(1 << 20), Some(256 << 10)));
    }
}
