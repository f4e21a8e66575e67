//! Group operations: create, list, request to join, list requests, accept,
//! reject, leave, members, remove. Ownership rules are described in
//! [`crate::groups`]. Every change updates the announce index in place
//! before it returns, so a removed member gets no peers at their next
//! announce.

use p2p_proto::api::{Group, Left, Member};

use super::quotas::Adding;
use super::{Community, CommunityError, Session};
use crate::events::event;
use crate::groups::normalize_group_name;
use crate::store::community::{GroupRecord, LeaveOutcome, MemberRecord};

impl Community {
    pub(super) async fn group_record(&self, name: &str) -> Result<GroupRecord, CommunityError> {
        let name = normalize_group_name(name)?;
        self.store
            .group(&name)
            .await?
            .ok_or_else(|| CommunityError::NotFound(format!("no group {name:?}")))
    }

    fn view(&self, g: GroupRecord, s: &Session) -> Group {
        Group {
            member: self.access.is_member(&g.name, s.user_id),
            name: g.name,
            owner: g.owner,
            members: g.members,
            created_at: g.created_at,
        }
    }

    fn owner_only(g: &GroupRecord, s: &Session, what: &str) -> Result<(), CommunityError> {
        if g.owner_id == s.user_id {
            Ok(())
        } else {
            Err(CommunityError::Forbidden(format!(
                "only the owner of {:?} ({}) may {what}",
                g.name, g.owner
            )))
        }
    }

    pub(super) async fn user_id(&self, username: &str) -> Result<(i64, String), CommunityError> {
        let name = username.to_ascii_lowercase();
        let u = self.store.user_by_name(&name).await?.ok_or_else(|| {
            CommunityError::NotFound(format!(
                "no user {:?}",
                name.chars().take(64).collect::<String>()
            ))
        })?;
        Ok((u.id, u.username))
    }

    async fn group_event(&self, kind: &str, s: &Session, g: (i64, &str), detail: String) {
        let mut e = event(self.now(), kind, Some(&s.username));
        e.group = Some(g.1.to_owned());
        e.detail = detail;
        self.log_group(e, g.0).await;
    }

    /// Creates a group owned by the caller.
    pub async fn create_group(&self, s: &Session, name: &str) -> Result<Group, CommunityError> {
        let name = normalize_group_name(name)?;
        let _w = self.writes.lock().await;
        self.check_quota(s, Adding::Group).await?;
        let id = self
            .store
            .create_group(&name, s.user_id, self.now())
            .await?
            .ok_or_else(|| CommunityError::Conflict(format!("group {name:?} exists")))?;
        self.access.group_created(id, &name, s.user_id);
        self.group_event("group_created", s, (id, &name), String::new())
            .await;
        let g = self.group_record(&name).await?;
        Ok(self.view(g, s))
    }

    /// Every group.
    pub async fn groups(&self, s: &Session) -> Result<Vec<Group>, CommunityError> {
        Ok(self
            .store
            .groups()
            .await?
            .into_iter()
            .map(|g| self.view(g, s))
            .collect())
    }

    /// Asks to join.
    pub async fn request_join(&self, s: &Session, group: &str) -> Result<(), CommunityError> {
        let g = self.group_record(group).await?;
        if self.access.is_member(&g.name, s.user_id) {
            return Err(CommunityError::Conflict(format!(
                "you are already a member of {:?}",
                g.name
            )));
        }
        if !self.store.add_request(g.id, s.user_id, self.now()).await? {
            return Err(CommunityError::Conflict(format!(
                "you already asked to join {:?}",
                g.name
            )));
        }
        self.group_event("join_requested", s, (g.id, &g.name), String::new())
            .await;
        Ok(())
    }

    /// Pending requests (owner only).
    pub async fn requests(&self, s: &Session, group: &str) -> Result<Vec<Member>, CommunityError> {
        let g = self.group_record(group).await?;
        Self::owner_only(&g, s, "list join requests")?;
        Ok(views(self.store.requests(g.id).await?, None))
    }

    /// Accepts (`accept`) or rejects a pending request (owner only).
    pub async fn answer_request(
        &self,
        s: &Session,
        group: &str,
        username: &str,
        accept: bool,
    ) -> Result<(), CommunityError> {
        let g = self.group_record(group).await?;
        Self::owner_only(
            &g,
            s,
            if accept {
                "accept requests"
            } else {
                "reject requests"
            },
        )?;
        let (uid, uname) = self.user_id(username).await?;
        let _w = self.writes.lock().await;
        let done = if accept {
            self.store.accept_request(g.id, uid, self.now()).await?
        } else {
            self.store.reject_request(g.id, uid).await?
        };
        if !done {
            return Err(CommunityError::NotFound(format!(
                "{uname} has no pending request for {:?}",
                g.name
            )));
        }
        if accept {
            self.access.member_added(g.id, uid);
        }
        drop(_w);
        let kind = if accept {
            "join_accepted"
        } else {
            "join_rejected"
        };
        self.group_event(kind, s, (g.id, &g.name), format!("member={uname}"))
            .await;
        Ok(())
    }

    /// Members, longest-standing first (members only).
    pub async fn members(&self, s: &Session, group: &str) -> Result<Vec<Member>, CommunityError> {
        let g = self.group_record(group).await?;
        self.member_only(&g.name, s)?;
        Ok(views(self.store.members(g.id).await?, Some(g.owner_id)))
    }

    pub(super) fn member_only(&self, group: &str, s: &Session) -> Result<(), CommunityError> {
        if self.access.is_member(group, s.user_id) {
            Ok(())
        } else {
            Err(CommunityError::Forbidden(format!(
                "you are not a member of {group:?}"
            )))
        }
    }

    /// Leaves a group (see [`crate::groups`] for what happens when the owner leaves).
    pub async fn leave(&self, s: &Session, group: &str) -> Result<Left, CommunityError> {
        let g = self.group_record(group).await?;
        let view = self.remove(&g, s.user_id).await?;
        let detail = match (&view.new_owner, view.deleted) {
            (Some(o), _) => format!("new_owner={o}"),
            (None, true) => "group deleted".to_owned(),
            (None, false) => String::new(),
        };
        self.group_event("group_left", s, (g.id, &g.name), detail)
            .await;
        Ok(view)
    }

    /// Removes a member (owner only; the owner leaves instead).
    pub async fn remove_member(
        &self,
        s: &Session,
        group: &str,
        username: &str,
    ) -> Result<(), CommunityError> {
        let g = self.group_record(group).await?;
        Self::owner_only(&g, s, "remove members")?;
        let (uid, uname) = self.user_id(username).await?;
        if uid == s.user_id {
            return Err(CommunityError::Invalid(
                "the owner leaves a group rather than removing themselves".into(),
            ));
        }
        self.remove(&g, uid).await?;
        self.group_event(
            "member_removed",
            s,
            (g.id, &g.name),
            format!("member={uname}"),
        )
        .await;
        Ok(())
    }

    async fn remove(&self, g: &GroupRecord, uid: i64) -> Result<Left, CommunityError> {
        let _w = self.writes.lock().await;
        let outcome = self.store.leave_group(g.id, uid).await?;
        match outcome {
            LeaveOutcome::NotMember => {}
            LeaveOutcome::Deleted => self.access.group_deleted(g.id),
            _ => self.access.member_removed(g.id, uid),
        }
        let mut view = Left {
            group: g.name.clone(),
            new_owner: None,
            deleted: false,
        };
        match outcome {
            LeaveOutcome::NotMember => {
                return Err(CommunityError::NotFound(format!(
                    "not a member of {:?}",
                    g.name
                )));
            }
            LeaveOutcome::Left => {}
            LeaveOutcome::OwnerPassed(o) => view.new_owner = Some(o),
            LeaveOutcome::Deleted => view.deleted = true,
        }
        Ok(view)
    }
}

fn views(list: Vec<MemberRecord>, owner: Option<i64>) -> Vec<Member> {
    list.into_iter()
        .map(|m| Member {
            owner: owner == Some(m.user_id),
            username: m.username,
            since: m.since,
        })
        .collect()
}
