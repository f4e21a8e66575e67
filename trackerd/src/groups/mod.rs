//! Group rules that need no storage: valid names, and what leaving means.
//!
//! Membership rules (enforced in [`crate::community`]): the creator owns the
//! group and is its first member; anyone may ask to join (once; members may
//! not ask); only the owner lists, accepts or rejects requests and removes
//! members; any member may leave. When the owner leaves, ownership passes
//! to the longest-standing remaining member; when the last member leaves,
//! the group and its catalog are deleted. The owner cannot remove
//! themselves with "remove" (they leave instead).

/// Longest group name, in characters.
pub const MAX_GROUP_NAME_CHARS: usize = 32;

/// Why a group name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("group name {0:?} must be 1-32 characters of a-z, 0-9, '_' and '-'")]
pub struct GroupNameError(pub String);

/// Checks a group name and returns it lowercase.
pub fn normalize_group_name(name: &str) -> Result<String, GroupNameError> {
    crate::accounts::lowercase_name(name, 1..=MAX_GROUP_NAME_CHARS)
        .ok_or_else(|| GroupNameError(name.chars().take(64).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_are_short_lowercase_words() {
        assert_eq!(normalize_group_name("Team-A").unwrap(), "team-a");
        assert!(normalize_group_name("").is_err());
        assert!(normalize_group_name("a b").is_err());
        assert!(normalize_group_name(&"g".repeat(33)).is_err());
    }
}
