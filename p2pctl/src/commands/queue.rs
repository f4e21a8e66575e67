//! `p2pctl queue ID top|up|down|bottom` and `p2pctl seed-goal ID`: a
//! download's place in the daemon's queue and its own seed goals. Values
//! are checked by the daemon, so its message is what the user sees.

use p2p_proto::ipc::{GoalLimit, QueueMove, Request, Response, format_seed_time};

use super::{print, print_json};
use crate::cli::{QueueArgs, QueuePlace, SeedGoalArgs};
use p2p_client::Target;

pub fn move_in_queue(daemon: &Target, args: &QueueArgs, json: bool) -> anyhow::Result<()> {
    let to = match args.to {
        QueuePlace::Top => QueueMove::Top,
        QueuePlace::Up => QueueMove::Up,
        QueuePlace::Down => QueueMove::Down,
        QueuePlace::Bottom => QueueMove::Bottom,
    };
    let request = Request::Queue {
        id: args.id.clone(),
        to,
    };
    let reply = daemon.connect()?.request(request)?;
    let t = p2p_client::reply_as!(reply, "queue", Response::Torrent)?;
    if json {
        return print_json(&t);
    }
    let state = match &t.error {
        Some(why) => format!("{} {why}", t.state),
        None => t.state.to_string(),
    };
    print(&format!("{} ({}): {state}\n", t.name, t.short_id))
}

/// With neither `--ratio` nor `--time`, shows the goals without changing them.
pub fn seed_goal(daemon: &Target, args: &SeedGoalArgs, json: bool) -> anyhow::Result<()> {
    let request = Request::SeedGoal {
        id: args.id.clone(),
        ratio: args.ratio.clone(),
        time: args.time.clone(),
    };
    let reply = daemon.connect()?.request(request)?;
    let info = p2p_client::reply_as!(reply, "seed_goal", Response::SeedGoal)?;
    if json {
        return print_json(&info);
    }
    let ratio = shown(info.goal.ratio, |r| r.to_string());
    let time = shown(info.goal.time_secs, format_seed_time);
    print(&format!(
        "{} ({}): ratio {ratio}, time {time}\n",
        info.torrent.name, info.torrent.short_id
    ))
}

fn shown<T>(goal: GoalLimit<T>, text: impl Fn(T) -> String) -> String {
    match goal {
        GoalLimit::Global => "global".into(),
        GoalLimit::Unlimited => "unlimited".into(),
        GoalLimit::Value(v) => text(v),
    }
}
