//! The queue and seed goals as the control protocol carries them: a move in
//! the queue, a share ratio, a seeding time, and a torrent's own goal
//! (the global one, none, or a value of its own). Parsed from what the
//! user typed, here, so p2pctl, p2pgui and the daemon read text alike.

use serde::{Deserialize, Serialize};

/// Highest ratio a goal may name (hundredths are kept).
const MAX_RATIO_HUNDREDTHS: u32 = 1_000_000;
/// Longest seeding time a goal may name: ten years.
const MAX_SEED_SECS: u64 = 10 * 365 * 24 * 3600;

/// A share ratio (uploaded / size), kept in hundredths so that settings
/// stay comparable; a decimal number on the wire and in config files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Ratio(u32);

impl Ratio {
    /// The ratio of `hundredths` / 100, if within range.
    pub fn from_hundredths(hundredths: u32) -> Option<Ratio> {
        (hundredths <= MAX_RATIO_HUNDREDTHS).then_some(Ratio(hundredths))
    }

    /// The ratio in hundredths.
    pub fn hundredths(self) -> u32 {
        self.0
    }

    /// Whether `uploaded` bytes of a torrent of `size` bytes reach it. An
    /// empty torrent reaches no ratio: there is nothing to share.
    pub fn reached(self, uploaded: u64, size: u64) -> bool {
        size > 0 && u128::from(uploaded) * 100 >= u128::from(size) * u128::from(self.0)
    }
}

impl TryFrom<f64> for Ratio {
    type Error = String;
    fn try_from(v: f64) -> Result<Ratio, String> {
        let h = (v * 100.0).round();
        if v.is_finite() && h >= 0.0 && h <= f64::from(MAX_RATIO_HUNDREDTHS) {
            // In range and whole: the cast is exact.
            Ok(Ratio(h as u32))
        } else {
            Err(format!("{v} is not a ratio from 0 to 10000"))
        }
    }
}

impl From<Ratio> for f64 {
    fn from(r: Ratio) -> f64 {
        f64::from(r.0) / 100.0
    }
}

impl std::fmt::Display for Ratio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// Where `p2pctl queue ID WHERE` moves a torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueMove {
    /// First in the queue.
    Top,
    /// One place earlier.
    Up,
    /// One place later.
    Down,
    /// Last in the queue.
    Bottom,
}

/// A torrent's own seed goal for one measure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalLimit<T> {
    /// The global setting applies.
    #[default]
    Global,
    /// No goal: it seeds until stopped, whatever the global setting.
    Unlimited,
    /// Its own goal.
    Value(T),
}

impl<T: Copy> GoalLimit<T> {
    /// The goal in effect, given the global one.
    pub fn or_global(self, global: Option<T>) -> Option<T> {
        match self {
            GoalLimit::Global => global,
            GoalLimit::Unlimited => None,
            GoalLimit::Value(v) => Some(v),
        }
    }
}

/// A torrent's own seed goals (both measures; whichever is reached first
/// ends the seeding).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedGoal {
    /// Share ratio.
    #[serde(default)]
    pub ratio: GoalLimit<Ratio>,
    /// Seeding time in seconds.
    #[serde(default)]
    pub time_secs: GoalLimit<u64>,
}

impl SeedGoal {
    /// Whether both measures follow the global settings.
    pub fn is_global(&self) -> bool {
        *self == SeedGoal::default()
    }
}

/// Reply to `seed_goal`: the torrent's own goals after the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedGoalInfo {
    /// The torrent.
    #[serde(flatten)]
    pub torrent: super::TorrentSummary,
    /// Its own goals.
    pub goal: SeedGoal,
}

fn is_unlimited(text: &str) -> bool {
    ["unlimited", "none", "off"].contains(&text.to_ascii_lowercase().as_str())
}

/// `unlimited` (or `none`, `off`) is `Some(None)`; a decimal number from 0
/// to 10000 with at most two decimals is `Some(Some(ratio))`; anything else
/// is `None`.
pub fn parse_ratio(text: &str) -> Option<Option<Ratio>> {
    let t = text.trim();
    if is_unlimited(t) {
        return Some(None);
    }
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 5 || frac.len() > 2 || !digits(whole) || !digits(frac) {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let frac: u32 = format!("{frac:0<2}").parse().ok()?;
    Ratio::from_hundredths(whole * 100 + frac).map(Some)
}

/// `unlimited` (or `none`, `off`) is `Some(None)`; a time such as `90s`,
/// `45m`, `3h`, `2d` or `1h30m` (a bare number is seconds), more than zero
/// and at most ten years, is `Some(Some(seconds))`; anything else is `None`.
pub fn parse_seed_time(text: &str) -> Option<Option<u64>> {
    let t = text.trim();
    if is_unlimited(t) {
        return Some(None);
    }
    if t.is_empty() || t.len() > 32 {
        return None;
    }
    let (mut total, mut number) = (0u64, None::<u64>);
    for c in t.chars() {
        if let Some(d) = c.to_digit(10) {
            number = Some(
                number
                    .unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(u64::from(d))?,
            );
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        total = total.checked_add(number.take()?.checked_mul(unit)?)?;
    }
    if let Some(n) = number {
        total = total.checked_add(n)?;
    }
    (total > 0 && total <= MAX_SEED_SECS).then_some(Some(total))
}

/// A seeding time as `parse_seed_time` takes it: `1h30m`, `45s`, `2d`.
pub fn format_seed_time(secs: u64) -> String {
    let mut out = String::new();
    let mut rest = secs;
    for (unit, name) in [(86_400, 'd'), (3600, 'h'), (60, 'm'), (1, 's')] {
        if rest >= unit {
            out.push_str(&format!("{}{name}", rest / unit));
            rest %= unit;
        }
    }
    if out.is_empty() { "0s".into() } else { out }
}

/// A torrent's own goal for one measure from text: `global` goes back to
/// the global setting; otherwise `parse` (where `unlimited` means no goal).
pub fn parse_goal<T>(text: &str, parse: fn(&str) -> Option<Option<T>>) -> Option<GoalLimit<T>> {
    if text.trim().eq_ignore_ascii_case("global") {
        return Some(GoalLimit::Global);
    }
    Some(match parse(text)? {
        None => GoalLimit::Unlimited,
        Some(v) => GoalLimit::Value(v),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_keep_two_decimals_and_compare_in_whole_bytes() {
        assert_eq!(parse_ratio("2"), Some(Ratio::from_hundredths(200)));
        assert_eq!(parse_ratio("1.5"), Some(Ratio::from_hundredths(150)));
        assert_eq!(parse_ratio(" 0.25 "), Some(Ratio::from_hundredths(25)));
        assert_eq!(parse_ratio("off"), Some(None));
        for bad in ["", "-1", "1.234", "x", "1e3", "99999", ".5", "1..2"] {
            assert_eq!(parse_ratio(bad), None, "{bad:?}");
        }
        let r = Ratio::from_hundredths(150).unwrap();
        assert_eq!(r.to_string(), "1.50");
        assert!(r.reached(150, 100) && !r.reached(149, 100));
        assert!(!Ratio::from_hundredths(0).unwrap().reached(0, 0));
        assert_eq!(serde_json::to_string(&r).unwrap(), "1.5");
        assert_eq!(
            serde_json::from_str::<Ratio>("2").unwrap().hundredths(),
            200
        );
        assert!(serde_json::from_str::<Ratio>("-1").is_err());
    }

    #[test]
    fn seed_times_take_units_and_print_back_the_same() {
        for (text, secs) in [
            ("90", 90),
            ("45s", 45),
            ("3h", 10_800),
            ("1h30m", 5_400),
            ("2d", 172_800),
        ] {
            assert_eq!(parse_seed_time(text), Some(Some(secs)), "{text}");
            assert_eq!(parse_seed_time(&format_seed_time(secs)), Some(Some(secs)));
        }
        assert_eq!(format_seed_time(5_400), "1h30m");
        assert_eq!(parse_seed_time("unlimited"), Some(None));
        for bad in ["", "0", "h", "3x", "1.5h", "99999999999999999999s", "4000d"] {
            assert_eq!(parse_seed_time(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_torrents_own_goal_is_global_unlimited_or_a_value() {
        assert_eq!(parse_goal("global", parse_ratio), Some(GoalLimit::Global));
        assert_eq!(parse_goal("none", parse_ratio), Some(GoalLimit::Unlimited));
        let two = Ratio::from_hundredths(200).unwrap();
        assert_eq!(parse_goal("2", parse_ratio), Some(GoalLimit::Value(two)));
        assert_eq!(parse_goal("soon", parse_seed_time), None);
        assert_eq!(GoalLimit::Global.or_global(Some(7)), Some(7));
        assert_eq!(GoalLimit::Unlimited.or_global(Some(7)), None);
        assert_eq!(GoalLimit::Value(3).or_global(Some(7)), Some(3));
        let g = SeedGoal {
            ratio: GoalLimit::Value(two),
            time_secs: GoalLimit::Unlimited,
        };
        let json = serde_json::to_string(&g).unwrap();
        assert_eq!(json, r#"{"ratio":{"value":2.0},"time_secs":"unlimited"}"#);
        assert_eq!(serde_json::from_str::<SeedGoal>(&json).unwrap(), g);
        assert!(SeedGoal::default().is_global());
    }
}
