//! Who sees what of others: events (a group's events are for the members
//! of that group, by its id) and, for events, sessions and stats, what
//! they tell about other users. Plain rules over the in-memory index; no
//! store calls.

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
        Some(r.clone())
    }
}
