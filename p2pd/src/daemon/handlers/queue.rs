//! The queue and seed goals of one download: `queue ID top|up|down|bottom`
//! and `seed_goal ID --ratio R --time T`. The queue service decides; these
//! only check what they are given and hand it over.

use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::{
    ErrorCode, IpcError, QueueMove, SeedGoalInfo, TorrentSummary, parse_goal, parse_ratio,
    parse_seed_time,
};

use super::downloads::describe;
use super::err;
use crate::daemon::Daemon;

type Reply<T> = Result<T, IpcError>;

/// Only recorded downloads have a place in the queue or goals of their own.
const NOT_A_DOWNLOAD: &str = "watched-folder items are never queued and follow the global seed goals (seed_goals_apply_to_shared)";

pub(super) async fn move_in_queue(
    d: &Daemon,
    ih: InfoHash,
    to: QueueMove,
) -> Reply<TorrentSummary> {
    if d.registry().get(ih).is_none() {
        return Err(err(ErrorCode::BadRequest, NOT_A_DOWNLOAD));
    }
    d.queue.move_to(ih, to).await;
    describe(d, ih)
}

pub(super) fn seed_goal(
    d: &Daemon,
    ih: InfoHash,
    ratio: Option<&str>,
    time: Option<&str>,
) -> Reply<SeedGoalInfo> {
    let mut goal = d
        .registry()
        .get(ih)
        .map(|e| e.queue.seed_goal)
        .ok_or_else(|| err(ErrorCode::BadRequest, NOT_A_DOWNLOAD))?;
    if let Some(text) = ratio {
        goal.ratio = parse_goal(text, parse_ratio).ok_or_else(|| {
            invalid("ratio", text, "a ratio from 0 to 10000 with at most two decimals (e.g. 2.0), `unlimited` or `global`")
        })?;
    }
    if let Some(text) = time {
        goal.time_secs = parse_goal(text, parse_seed_time).ok_or_else(|| {
            invalid(
                "time",
                text,
                "a time such as 90m, 3h, 2d or 1h30m, `unlimited` or `global`",
            )
        })?;
    }
    // Checked at the next look (within seconds), as every goal is.
    d.registry().set_seed_goal(ih, goal);
    Ok(SeedGoalInfo {
        torrent: describe(d, ih)?,
        goal,
    })
}

fn invalid(what: &str, text: &str, expected: &str) -> IpcError {
    let shown: String = text.chars().take(80).collect();
    err(
        ErrorCode::InvalidSetting,
        format!("{what}: {shown:?} is not {expected}"),
    )
}
