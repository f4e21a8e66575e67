//! How the tracker's community side grows (issue 12 item 15): the time of
//! a group change with a handful of groups and with 2,500, printed for the
//! notes (never asserted: timings depend on the machine). Run with
//! `cargo nextest run -p trackerd --no-capture -E 'test(/group_change_time/)'`.

use std::time::{Duration, Instant};

use crate::common::api::*;
use crate::common::start;
use trackerd::community::{Community, Session};

/// Groups made before the second measure (the figure in issue 12).
const MANY_GROUPS: usize = 2_500;
/// Changes timed per measure (each a create and a leave, which deletes).
const TIMED_CHANGES: usize = 20;

/// The mean time of one group change: a group created, then deleted by its
/// owner leaving it.
async fn mean_change(c: &Community, s: &Session, prefix: &str) -> Duration {
    let started = Instant::now();
    for i in 0..TIMED_CHANGES {
        let name = format!("{prefix}{i}");
        c.create_group(s, &name).await.unwrap();
        c.leave(s, &name).await.unwrap();
    }
    started.elapsed() / (2 * TIMED_CHANGES as u32)
}

#[tokio::test]
async fn the_group_change_time_with_2500_groups_is_printed() {
    let s = start(|c| c.quotas.max_groups_owned = 0).await;
    let (token, _) = user(s.addr, "alice").await;
    let c = community(&s);
    let session = c.authenticate(&token).await.unwrap();
    let few = mean_change(&c, &session, "few").await;
    let filled = Instant::now();
    for i in 0..MANY_GROUPS {
        c.create_group(&session, &format!("g{i}")).await.unwrap();
    }
    let fill = filled.elapsed();
    let many = mean_change(&c, &session, "many").await;
    println!(
        "group change: {:.2} ms with 1 group, {:.2} ms with {MANY_GROUPS} groups ({:.1}x); \
         creating the {MANY_GROUPS} groups took {:.1} s",
        few.as_secs_f64() * 1e3,
        many.as_secs_f64() * 1e3,
        many.as_secs_f64() / few.as_secs_f64().max(1e-9),
        fill.as_secs_f64()
    );
    assert_eq!(c.groups(&session).await.unwrap().len(), MANY_GROUPS);
}
