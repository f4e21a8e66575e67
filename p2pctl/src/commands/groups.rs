//! `p2pctl groups create|list|join|leave|requests|accept|reject|members|remove`:
//! the daemon asks the tracker with the logged-in user's session and passes
//! its answer through; `--json` prints that answer, else a table or a line.

use p2p_proto::api::{GroupList, JoinRequests, Members};
use p2p_proto::ipc::{Request, Response};
use p2p_proto::time::utc_date_time;

use super::{print, print_json};
use crate::cli::GroupsCommand;
use crate::output::table;
use p2p_client::ClientError;
use p2p_client::Target;
use p2p_client::reply_as;

pub fn run(daemon: &Target, cmd: &GroupsCommand, json: bool) -> anyhow::Result<()> {
    let request = request_for(cmd);
    let reply = daemon.connect()?.request(request)?;
    if json {
        return print_json(&reply);
    }
    print(&render(cmd, reply)?)
}

fn request_for(cmd: &GroupsCommand) -> Request {
    match cmd {
        GroupsCommand::Create(g) => Request::GroupCreate {
            name: g.name.clone(),
        },
        GroupsCommand::List => Request::GroupList,
        GroupsCommand::Join(g) => Request::GroupJoin {
            name: g.name.clone(),
        },
        GroupsCommand::Leave(g) => Request::GroupLeave {
            name: g.name.clone(),
        },
        GroupsCommand::Requests(g) => Request::GroupRequests {
            name: g.name.clone(),
        },
        GroupsCommand::Accept(a) => Request::GroupAccept {
            name: a.name.clone(),
            user: a.user.clone(),
        },
        GroupsCommand::Reject(a) => Request::GroupReject {
            name: a.name.clone(),
            user: a.user.clone(),
        },
        GroupsCommand::Members(g) => Request::GroupMembers {
            name: g.name.clone(),
        },
        GroupsCommand::Remove(a) => Request::GroupRemove {
            name: a.name.clone(),
            user: a.user.clone(),
        },
    }
}

/// What people see for each reply.
fn render(cmd: &GroupsCommand, reply: Response) -> Result<String, ClientError> {
    let command = request_for(cmd).name();
    Ok(match cmd {
        GroupsCommand::Create(g) => format!(
            "created group {}; others ask to join with `p2pctl groups join {0}`\n",
            g.name
        ),
        GroupsCommand::List => groups_table(&reply_as!(reply, command, Response::Groups)?),
        GroupsCommand::Join(g) => format!(
            "asked to join {}; its owner will accept or reject\n",
            g.name
        ),
        GroupsCommand::Leave(g) => {
            let left = reply_as!(reply, command, Response::Left)?;
            let mut s = format!("left {}", g.name);
            if left.deleted {
                s.push_str("; it had no other member and is deleted");
            } else if let Some(owner) = left.new_owner {
                s.push_str(&format!("; {owner} owns it now"));
            }
            s + "\n"
        }
        GroupsCommand::Requests(g) => {
            requests_table(&g.name, &reply_as!(reply, command, Response::JoinRequests)?)
        }
        GroupsCommand::Accept(a) => format!("{} is now a member of {}\n", a.user, a.name),
        GroupsCommand::Reject(a) => format!("rejected {}'s request to join {}\n", a.user, a.name),
        GroupsCommand::Members(_) => members_table(&reply_as!(reply, command, Response::Members)?),
        GroupsCommand::Remove(a) => format!("removed {} from {}\n", a.user, a.name),
    })
}

/// An optional text as a table cell: `-` when absent.
pub(super) fn cell(v: Option<&str>) -> String {
    v.unwrap_or("-").to_owned()
}

fn yes_no(v: bool) -> String {
    if v { "yes" } else { "no" }.into()
}

fn groups_table(reply: &GroupList) -> String {
    if reply.groups.is_empty() {
        return "no groups (create one with `p2pctl groups create NAME`)\n".into();
    }
    table(
        &["NAME", "OWNER", "MEMBERS", "MEMBER", "CREATED"],
        reply.groups.iter().map(|g| {
            vec![
                g.name.clone(),
                g.owner.clone(),
                g.members.to_string(),
                yes_no(g.member),
                utc_date_time(g.created_at),
            ]
        }),
    )
}

fn requests_table(group: &str, reply: &JoinRequests) -> String {
    if reply.requests.is_empty() {
        return format!("no pending requests to join {group}\n");
    }
    table(
        &["USER", "SINCE"],
        reply
            .requests
            .iter()
            .map(|r| vec![r.username.clone(), utc_date_time(r.since)]),
    )
}

fn members_table(reply: &Members) -> String {
    table(
        &["USER", "SINCE", "OWNER"],
        reply
            .members
            .iter()
            .map(|m| vec![m.username.clone(), utc_date_time(m.since), yes_no(m.owner)]),
    )
}

#[cfg(test)]
mod tests {
    use p2p_proto::api::{Group, Left, Member};

    use super::*;

    fn member(name: &str, since: i64, owner: bool) -> Member {
        Member {
            username: name.into(),
            since,
            owner,
        }
    }

    fn cells(line: &str) -> Vec<&str> {
        line.split_whitespace().collect()
    }

    #[test]
    fn the_groups_table_has_one_row_per_group() {
        let text = groups_table(&GroupList {
            groups: vec![Group {
                name: "team".into(),
                owner: "alice".into(),
                members: 2,
                created_at: 0,
                member: true,
            }],
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            cells(lines[0]),
            ["NAME", "OWNER", "MEMBERS", "MEMBER", "CREATED"]
        );
        assert_eq!(
            cells(lines[1]),
            ["team", "alice", "2", "yes", "1970-01-01", "00:00:00"]
        );
    }

    #[test]
    fn members_show_who_owns_the_group() {
        let text = members_table(&Members {
            members: vec![member("alice", 0, true), member("bob", 60, false)],
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(cells(lines[2]), ["bob", "1970-01-01", "00:01:00", "no"]);
    }

    #[test]
    fn no_pending_requests_is_said_in_words() {
        assert_eq!(
            requests_table("team", &JoinRequests { requests: vec![] }),
            "no pending requests to join team\n"
        );
        let text = requests_table(
            "team",
            &JoinRequests {
                requests: vec![member("bob", 0, false)],
            },
        );
        assert!(text.lines().nth(1).unwrap_or_default().starts_with("bob"));
    }

    #[test]
    fn leaving_says_who_owns_the_group_now() {
        let cmd = GroupsCommand::Leave(crate::cli::GroupArg {
            name: "team".into(),
        });
        let text = render(
            &cmd,
            Response::Left(Left {
                group: "team".into(),
                new_owner: Some("bob".into()),
                deleted: false,
            }),
        )
        .unwrap();
        assert_eq!(text, "left team; bob owns it now\n");
    }
}
