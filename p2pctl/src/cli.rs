//! The command-line grammar.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Command line for p2p: create and inspect torrents, and drive the p2pd daemon.
#[derive(Debug, Parser)]
#[command(name = "p2pctl", version, about)]
pub struct Cli {
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,

    /// The daemon's control socket [default: $P2PD_SOCKET, else
    /// $XDG_RUNTIME_DIR/p2pd/p2pd.sock, else /tmp/p2pd-$USER/p2pd.sock; on
    /// Windows a named pipe, \\.\pipe\p2pd-%USERNAME%].
    #[arg(long, global = true, value_name = "PATH")]
    pub socket: Option<PathBuf>,

    /// The user the daemon runs as (a name or a uid): p2pctl talks only to a
    /// socket that user owns, served by that user [default: $P2PD_SOCKET_OWNER,
    /// else this user for the default socket, and this user, root or p2pd
    /// for one named by --socket or $P2PD_SOCKET].
    #[arg(long, global = true, value_name = "USER")]
    pub socket_owner: Option<String>,

    /// Seconds to wait for each answer from the daemon (fractions allowed).
    #[arg(long, global = true, value_name = "SECS", default_value = "30",
          value_parser = parse_timeout)]
    pub timeout: std::time::Duration,

    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a .torrent from a file or a folder (no daemon needed).
    Create(CreateArgs),
    /// Show what a .torrent file or a magnet link holds (no daemon needed).
    Inspect(InspectArgs),
    /// Show the daemon's version, login, tracker state, counts and rates.
    Status,
    /// List every torrent of the daemon.
    List,
    /// Download a torrent and show its progress until it is complete.
    Download(DownloadArgs),
    /// Show piece and file progress of one torrent, or of every torrent.
    Progress(ProgressArgs),
    /// Stop a torrent, keeping it in the list.
    Pause(TorrentArg),
    /// Start a paused torrent again.
    Resume(TorrentArg),
    /// Forget a torrent (its files stay unless --delete-data).
    Remove(RemoveArgs),
    /// List the peers a torrent is connected to.
    Peers(TorrentArg),
    /// List a torrent's files: index, size, bytes verified, priority.
    FilesOf(TorrentArg),
    /// Change how eagerly some files of a torrent are fetched, at once.
    Priority(PriorityArgs),
    /// Turn sequential (streaming) mode on or off: pieces in order, the
    /// first and last pieces of media files first, so a player can start.
    Sequential(SequentialArgs),
    /// Share a file or folder: the daemon copies it into its watched folder.
    Share(ShareArgs),
    /// Create an account on the tracker.
    Register(AccountArgs),
    /// Log in to the tracker; sharing starts.
    Login(LoginArgs),
    /// Log out; sharing stops.
    Logout,
    /// Show who is logged in.
    Whoami,
    /// Create, join, leave and manage groups.
    #[command(subcommand)]
    Groups(GroupsCommand),
    /// Manage the passkey your torrents announce with.
    #[command(subcommand)]
    Passkey(PasskeyCommand),
    /// List a group's catalog, or the public catalog.
    Files(FilesArgs),
    /// Find catalog entries (in your groups and the public catalog) by name.
    Search(SearchArgs),
    /// Show the tracker's events (logins, groups, publishes, downloads).
    Events(EventsArgs),
    /// Show or change the daemon's run-time settings (rate limits, the
    /// alternative speed, connection limits, upload slots, tracker).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Show or set one download's own rate limits (under the global ones).
    Limit(LimitArgs),
    /// Move a download in the queue (which waits for a download or seed
    /// slot, see max_active_downloads and max_active_seeds).
    Queue(QueueArgs),
    /// Set one download's own seed goals: it stops (or is removed) once it
    /// uploaded RATIO times its size or seeded for TIME.
    SeedGoal(SeedGoalArgs),
    /// Move a download's files to another folder; it goes on (seeding)
    /// from there without hashing them again.
    Move(MoveArgs),
    /// Hash every piece of a download again now; bad pieces are fetched
    /// again. Waits for the check (raise --timeout for a large torrent).
    Verify(TorrentArg),
}

/// `p2pctl move`.
#[derive(Debug, Args)]
pub struct MoveArgs {
    /// Info-hash, a unique prefix of it (the short id of `list`), or a name.
    pub id: String,
    /// The new download folder (created if missing).
    pub dir: std::path::PathBuf,
}

/// `p2pctl queue`.
#[derive(Debug, Args)]
pub struct QueueArgs {
    /// Info-hash, a unique prefix of it (the short id of `list`), or a name.
    pub id: String,
    /// Where to: first, one place earlier, one place later, or last.
    #[arg(value_enum)]
    pub to: QueuePlace,
}

/// Where `p2pctl queue` moves a download.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum QueuePlace {
    /// First in the queue.
    Top,
    /// One place earlier.
    Up,
    /// One place later.
    Down,
    /// Last in the queue.
    Bottom,
}

/// `p2pctl seed-goal`.
#[derive(Debug, Args)]
pub struct SeedGoalArgs {
    /// Info-hash, a unique prefix of it (the short id of `list`), or a name.
    pub id: String,
    /// Share ratio (uploaded / size, e.g. 2.0), `unlimited`, or `global`
    /// (the seed_ratio_limit setting).
    #[arg(long, value_name = "RATIO", allow_hyphen_values = true)]
    pub ratio: Option<String>,
    /// Seeding time (e.g. 90m, 3h, 2d, 1h30m), `unlimited`, or `global`
    /// (the seed_time_limit setting).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub time: Option<String>,
}

/// `p2pctl config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Show every setting, or the value of one.
    Get {
        /// download_rate_limit, upload_rate_limit, alt_download_rate_limit,
        /// alt_upload_rate_limit, alt_speed, alt_speed_schedule,
        /// max_peers_per_torrent, max_peers_total, upload_slots, tracker,
        /// max_active_downloads, max_active_seeds, seed_ratio_limit,
        /// seed_time_limit, or alt_speed_active (read only) [default: all].
        key: Option<String>,
    },
    /// Change one setting at once; it stays across restarts of p2pd.
    Set {
        /// The setting (see `config get`).
        key: String,
        /// Rates: bytes per second with K, M, G (binary) or `unlimited`;
        /// alt_speed: on or off; alt_speed_schedule: HH:MM-HH:MM (local
        /// time) or off; counts: whole numbers; tracker: an http(s) URL;
        /// max_active_*: whole numbers or `unlimited`; seed_ratio_limit: a
        /// ratio (2.0) or `unlimited`; seed_time_limit: 90m, 3h, 2d or
        /// `unlimited`.
        // Taken as typed (`-3` too): the daemon says what is wrong with it.
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
}

/// `p2pctl limit`.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Info-hash, a unique prefix of it (the short id of `list`), or a name.
    pub id: String,
    /// Download limit: bytes per second with K, M, G (binary), or `unlimited`.
    #[arg(long, value_name = "RATE", allow_hyphen_values = true)]
    pub download: Option<String>,
    /// Upload limit: bytes per second with K, M, G (binary), or `unlimited`.
    #[arg(long, value_name = "RATE", allow_hyphen_values = true)]
    pub upload: Option<String>,
}

/// `p2pctl passkey ...`.
#[derive(Debug, Subcommand)]
pub enum PasskeyCommand {
    /// Get a new passkey (the old one is refused at once); the daemon's
    /// torrents restart with it. Fetch personalised .torrent files again.
    Rotate,
}

/// `p2pctl groups ...`.
#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// Create a group; you own it and are its first member.
    Create(GroupArg),
    /// List every group, with its owner and member count.
    List,
    /// Ask to join a group; its owner accepts or rejects.
    Join(GroupArg),
    /// Leave a group (an owner hands it to the longest-standing member).
    Leave(GroupArg),
    /// Show the pending join requests of a group you own.
    Requests(GroupArg),
    /// Accept a join request (owner only).
    Accept(GroupUserArgs),
    /// Reject a join request (owner only).
    Reject(GroupUserArgs),
    /// List the members of a group.
    Members(GroupArg),
    /// Remove a member (owner only).
    Remove(GroupUserArgs),
}

/// A group name.
#[derive(Debug, Args)]
pub struct GroupArg {
    /// Group name.
    pub name: String,
}

/// A group name and a user.
#[derive(Debug, Args)]
pub struct GroupUserArgs {
    /// Group name.
    pub name: String,
    /// User name.
    pub user: String,
}

/// `p2pctl files`.
#[derive(Debug, Args)]
pub struct FilesArgs {
    /// A group you are a member of [default: the public catalog].
    pub group: Option<String>,
}

/// `p2pctl search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Text the name contains (any case).
    pub term: String,
}

/// `p2pctl events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Keep printing new events as they come (every second) until Ctrl-C.
    #[arg(short, long)]
    pub follow: bool,
    /// Only events after this id.
    #[arg(long, value_name = "ID")]
    pub after: Option<u64>,
}

/// `p2pctl download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// A .torrent file, a magnet link, an info-hash or a catalog name.
    pub source: String,
    /// Folder to download into [default: the daemon's downloads folder].
    #[arg(long, value_name = "DIR")]
    pub to: Option<PathBuf>,
    /// Return once the daemon has the torrent, without waiting for it.
    #[arg(short, long)]
    pub detach: bool,
    /// Fetch only these files, by their index in `files-of` (from 1):
    /// e.g. 1,3-5. The others are skipped (not created on disk).
    #[arg(long, value_name = "LIST", value_parser = parse_file_set)]
    pub files: Option<p2p_proto::ipc::FileSet>,
    /// Download in sequential (streaming) mode: pieces in order (a small
    /// window ahead is still taken rarest first), the first and last
    /// pieces of media files first; `p2pctl sequential` switches it later.
    #[arg(long)]
    pub sequential: bool,
}

/// `p2pctl sequential`.
#[derive(Debug, Args)]
pub struct SequentialArgs {
    /// Info-hash, a unique prefix of it (the short id of `list`), or a name.
    pub id: String,
    /// on or off.
    #[arg(value_parser = ["on", "off"])]
    pub mode: String,
}

/// `p2pctl priority`.
#[derive(Debug, Args)]
pub struct PriorityArgs {
    /// Info-hash, a unique prefix of it (the short id of `list`), or a name.
    pub id: String,
    /// The files, by their index in `files-of` (from 1): e.g. 4, or 1,3-5.
    #[arg(value_parser = parse_file_set)]
    pub files: p2p_proto::ipc::FileSet,
    /// high, normal, low, or skip (not fetched; a file not on disk yet is
    /// not created).
    #[arg(value_parser = parse_priority)]
    pub priority: p2p_proto::ipc::FilePriority,
}

fn parse_file_set(text: &str) -> Result<p2p_proto::ipc::FileSet, String> {
    p2p_proto::ipc::FileSet::parse(text).map_err(|e| e.to_string())
}

fn parse_priority(word: &str) -> Result<p2p_proto::ipc::FilePriority, String> {
    p2p_proto::ipc::FilePriority::parse(word)
        .ok_or_else(|| format!("{word:?} is not a priority: use high, normal, low or skip"))
}

/// `p2pctl progress`.
#[derive(Debug, Args)]
pub struct ProgressArgs {
    /// Info-hash, a unique prefix of it, or a name [default: every torrent].
    pub id: Option<String>,
}

/// Commands that act on one torrent.
#[derive(Debug, Args)]
pub struct TorrentArg {
    /// Info-hash, a unique prefix of it (the short id of `list`), or a name.
    pub id: String,
}

/// `p2pctl remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Info-hash, a unique prefix of it (the short id of `list`), or a name.
    pub id: String,
    /// Also delete the downloaded files.
    #[arg(long)]
    pub delete_data: bool,
}

/// `p2pctl share`.
#[derive(Debug, Args)]
pub struct ShareArgs {
    /// The file or folder to share.
    pub path: PathBuf,
    /// Share only with this group [default: everyone].
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
}

/// `p2pctl register`.
#[derive(Debug, Args)]
pub struct AccountArgs {
    /// User name.
    pub user: String,
    /// Read the password from the first line of stdin instead of prompting.
    #[arg(long)]
    pub password_stdin: bool,
}

/// `p2pctl login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub account: AccountArgs,
    /// End a session of this user that is online elsewhere.
    #[arg(long)]
    pub force: bool,
}

/// A positive number of seconds, at most a day (a typo, not a wish, beyond that).
fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 {
        Ok(std::time::Duration::from_secs_f64(secs))
    } else {
        Err(format!(
            "{s:?} must be more than 0 and at most 86400 seconds"
        ))
    }
}

/// `p2pctl create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The file or folder to share.
    pub path: PathBuf,
    /// Where to write the .torrent [default: NAME.torrent in the current folder].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(short, long)]
    pub force: bool,
    /// Bytes per piece, a power of two from 16 KiB to 256 MiB; suffixes K, M
    /// (KiB, MiB) allowed [default: the smallest that keeps it at or under 2,000 pieces].
    #[arg(long, value_name = "BYTES", value_parser = parse_piece_length)]
    pub piece_length: Option<u64>,
    /// Tracker announce URL; repeat for more tiers, separate URLs of one tier with commas.
    #[arg(short, long = "tracker", value_name = "URL[,URL...]")]
    pub trackers: Vec<String>,
    /// Web seed URL (BEP 19); repeat for more.
    #[arg(short = 'w', long = "web-seed", value_name = "URL")]
    pub web_seeds: Vec<String>,
    /// Mark the torrent private (BEP 27): peers only from its trackers.
    #[arg(short, long)]
    pub private: bool,
    /// Put a `source` tag in the info dictionary (changes the info-hash).
    #[arg(long, value_name = "TEXT")]
    pub source: Option<String>,
    /// A comment stored in the torrent.
    #[arg(short, long, value_name = "TEXT")]
    pub comment: Option<String>,
    /// Leave out the creation date and creator, so equal inputs give equal bytes.
    #[arg(long)]
    pub no_date: bool,
    /// Include files and folders whose name starts with a dot.
    #[arg(long)]
    pub include_hidden: bool,
    /// Hashing threads [default: every core].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

/// `p2pctl inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A .torrent file, or a magnet link.
    pub torrent: String,
}

/// A size that is also a valid piece length: a power of two from 16 KiB to 256 MiB.
fn parse_piece_length(s: &str) -> Result<u64, String> {
    let n = parse_size(s)?;
    if n.is_power_of_two() && (16 << 10..=256 << 20).contains(&n) {
        Ok(n)
    } else {
        Err(format!(
            "{n} is not a power of two between 16 KiB and 256 MiB"
        ))
    }
}

/// Parses `262144`, `256K`, `256KiB`, `1M`, `1MiB`.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size in bytes"))?;
    let mult = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => 1 << 10,
        "m" | "mib" | "mb" => 1 << 20,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use K or M)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_accept_plain_bytes_and_binary_suffixes() {
        assert_eq!(parse_size("262144"), Ok(262_144));
        assert_eq!(parse_size("256K"), Ok(262_144));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert!(parse_size("1G").is_err());
        assert!(parse_size("abc").is_err());
        assert_eq!(parse_piece_length("32K"), Ok(32 << 10));
        assert!(parse_piece_length("3000").is_err());
        assert!(parse_piece_length("8K").is_err());
        assert!(parse_piece_length("512M").is_err());
    }

    #[test]
    fn timeouts_are_positive_seconds() {
        use std::time::Duration;
        assert_eq!(parse_timeout("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_timeout("0.25"), Ok(Duration::from_millis(250)));
        for bad in ["0", "-1", "nan", "inf", "x", "100000"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_grammar_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
