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
    fn the_grammar_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
