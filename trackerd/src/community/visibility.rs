//! Who sees what of others: events (a group's events are for the members
//! of that group, by its id), and other users' addresses (online list,
//! login events) and full traffic, for the user themself and admins only
//! (`accounts.admins`). Plain rules over the in-memory index; no store
//! calls.

use super::{Community, Session};
use crate::store::community::{EventRecord, LoggedEvent};

impl Community {
    /// The event as `s` may see it, or `None` when it is not for them.
    /// Events about a group are for its members (decided by the group's
    /// id, so a group made again under a deleted group's name sees none of
    /// the old one's), except the creation of a group (groups are listed
    /// to all).
    pub fn event_for(&self, s: &Session, e: &LoggedEvent) -> Option<EventRecord> {
        let r = &e.record;
        if r.group.is_some() && r.kind != "group_created" {
            let member = e
                .group_id
                .is_some_and(|g| self.access.is_member_of(g, s.user_id));
            if !member {
                return None;
            }
        }
        let mut shown = r.clone();
        // "from ADDRESS": the address is for the user and admins only.
        if r.kind == "login"
            && r.username.as_deref() != Some(s.username.as_str())
            && !self.is_admin(s)
        {
            // What follows the address (" (takeover)", " (web)") stays.
            let rest = r.detail.find(" (").map_or("", |i| &r.detail[i..]);
            shown.detail = format!("from <hidden>{rest}");
        }
        Some(shown)
    }

    /// The event as the web dashboard shows it: an admin sees every event
    /// as it is; anyone else as [`Community::event_for`] says, without even
    /// the creation of a group they are not in (the dashboard never names
    /// a group to a non-member).
    pub fn dashboard_event_for(&self, s: &Session, e: &LoggedEvent) -> Option<EventRecord> {
        if self.is_admin(s) {
            return Some(e.record.clone());
        }
        if e.record.group.is_some()
            && !e
                .group_id
                .is_some_and(|g| self.access.is_member_of(g, s.user_id))
        {
            return None;
        }
        self.event_for(s, e)
    }

    /// Whether `s` is one of the configured admins.
    pub fn is_admin(&self, s: &Session) -> bool {
        self.settings.admins.contains(&s.username)
    }

    /// Whether `viewer` sees what is private about user `user_id`
    /// (addresses, traffic in private groups): themself, or an admin.
    pub fn sees_private_of(&self, viewer: &Session, user_id: i64) -> bool {
        viewer.user_id == user_id || self.is_admin(viewer)
    }
}
