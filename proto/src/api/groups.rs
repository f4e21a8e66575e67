//! Groups: create, list, join requests, members, leave.

use serde::{Deserialize, Serialize};

/// `POST /api/v1/groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    /// Group name.
    pub name: String,
}

/// A group (201 answer to [`NewGroup`]; entries of [`GroupList`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Name.
    pub name: String,
    /// Owner's name.
    pub owner: String,
    /// Members, owner included.
    pub members: u64,
    /// Unix seconds.
    pub created_at: i64,
    /// Whether the caller is a member.
    pub member: bool,
}

/// Answer to `GET /api/v1/groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupList {
    /// Every group.
    pub groups: Vec<Group>,
}

/// 202 answer to `POST /api/v1/groups/{g}/join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequested {
    /// The group asked to join.
    pub requested: String,
}

/// A member of a group, or a user asking to join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Name.
    pub username: String,
    /// Unix seconds of joining or asking.
    pub since: i64,
    /// Whether they own the group (always false for requests).
    pub owner: bool,
}

/// Answer to `GET /api/v1/groups/{g}/members`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Members {
    /// Members, owner included.
    pub members: Vec<Member>,
}

/// Answer to `GET /api/v1/groups/{g}/requests` (owner only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequests {
    /// Users waiting for an answer.
    pub requests: Vec<Member>,
}

/// Answer to `POST /api/v1/groups/{g}/requests/{user}/accept`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// The new member.
    pub accepted: String,
}

/// Answer to `POST /api/v1/groups/{g}/requests/{user}/reject`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// Who was turned away.
    pub rejected: String,
}

/// Answer to `DELETE /api/v1/groups/{g}/members/{user}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    /// The former member.
    pub removed: String,
}

/// Answer to `POST /api/v1/groups/{g}/leave`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Left {
    /// The group.
    pub group: String,
    /// The new owner, when the owner left and someone remains.
    pub new_owner: Option<String>,
    /// Whether the group was deleted (its last member left).
    pub deleted: bool,
}
