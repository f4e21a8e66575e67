//! `p2pctl groups create|list|join|leave|requests|accept|reject|members|remove`:
//! the daemon asks the tracker with the logged-in user's session and passes
//! its answer through; `--json` prints that answer, else a table or a line.

use p2p_proto::ipc::Request;
use serde_json::Value;

use super::{Daemon, print, print_json};
use crate::cli::GroupsCommand;
use crate::output::{table, utc_time};

pub fn run(daemon: &Daemon, cmd: &GroupsCommand, json: bool) -> anyhow::Result<()> {
    let request = request_for(cmd);
    let reply = daemon.connect()?.request(request)?;
    if json {
        return print_json(&reply);
    }
    print(&render(cmd, &reply))
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
fn render(cmd: &GroupsCommand, reply: &Value) -> String {
    match cmd {
        GroupsCommand::Create(g) => format!(
            "created group {}; others ask to join with `p2pctl groups join {0}`\n",
            g.name
        ),
        GroupsCommand::List => groups_table(reply),
        GroupsCommand::Join(g) => format!(
            "asked to join {}; its owner will accept or reject\n",
            g.name
        ),
        GroupsCommand::Leave(g) => {
            let mut s = format!("left {}", g.name);
            if reply["deleted"].as_bool() == Some(true) {
                s.push_str("; it had no other member and is deleted");
            } else if let Some(owner) = reply["new_owner"].as_str() {
                s.push_str(&format!("; {owner} owns it now"));
            }
            s + "\n"
        }
        GroupsCommand::Requests(g) => requests_table(&g.name, reply),
        GroupsCommand::Accept(a) => format!("{} is now a member of {}\n", a.user, a.name),
        GroupsCommand::Reject(a) => format!("rejected {}'s request to join {}\n", a.user, a.name),
        GroupsCommand::Members(_) => members_table(reply),
        GroupsCommand::Remove(a) => format!("removed {} from {}\n", a.user, a.name),
    }
}

/// A JSON value as a table cell: text as is, null as `-`.
pub(super) fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A Unix time in seconds as a cell.
pub(super) fn time_cell(v: &Value) -> String {
    v.as_i64().map(utc_time).unwrap_or_else(|| cell(v))
}

fn yes_no(v: &Value) -> String {
    if v.as_bool() == Some(true) {
        "yes"
    } else {
        "no"
    }
    .into()
}

fn rows<'a>(reply: &'a Value, key: &str) -> &'a [Value] {
    reply[key].as_array().map(Vec::as_slice).unwrap_or_default()
}

fn groups_table(reply: &Value) -> String {
    let groups = rows(reply, "groups");
    if groups.is_empty() {
        return "no groups (create one with `p2pctl groups create NAME`)\n".into();
    }
    table(
        &["NAME", "OWNER", "MEMBERS", "MEMBER", "CREATED"],
        groups.iter().map(|g| {
            vec![
                cell(&g["name"]),
                cell(&g["owner"]),
                cell(&g["members"]),
                yes_no(&g["member"]),
                time_cell(&g["created_at"]),
            ]
        }),
    )
}

fn requests_table(group: &str, reply: &Value) -> String {
    let requests = rows(reply, "requests");
    if requests.is_empty() {
        return format!("no pending requests to join {group}\n");
    }
    table(
        &["USER", "SINCE"],
        requests
            .iter()
            .map(|r| vec![cell(&r["username"]), time_cell(&r["since"])]),
    )
}

fn members_table(reply: &Value) -> String {
    table(
        &["USER", "SINCE", "OWNER"],
        rows(reply, "members").iter().map(|m| {
            vec![
                cell(&m["username"]),
                time_cell(&m["since"]),
                yes_no(&m["owner"]),
            ]
        }),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cells(line: &str) -> Vec<&str> {
        line.split_whitespace().collect()
    }

    #[test]
    fn the_groups_table_has_one_row_per_group() {
        let text = groups_table(&json!({"groups": [
            {"name": "team", "owner": "alice", "members": 2, "created_at": 0, "member": true}
        ]}));
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
        let text = members_table(&json!({"members": [
            {"username": "alice", "since": 0, "owner": true},
            {"username": "bob", "since": 60, "owner": false}
        ]}));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(cells(lines[2]), ["bob", "1970-01-01", "00:01:00", "no"]);
    }

    #[test]
    fn no_pending_requests_is_said_in_words() {
        assert_eq!(
            requests_table("team", &json!({"requests": []})),
            "no pending requests to join team\n"
        );
        let text = requests_table(
            "team",
            &json!({"requests": [{"username": "bob", "since": 0}]}),
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
            &json!({"group": "team", "new_owner": "bob", "deleted": false}),
        );
        assert_eq!(text, "left team; bob owns it now\n");
    }
}
