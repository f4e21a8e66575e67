//! What both stores share about rows: mapping a row to a community record
//! (the same code for SQLite and PostgreSQL rows, through [`row_readers`]),
//! and the SQL both dialects read alike. No queries are run here.

use p2p_proto::infohash::InfoHash;

use super::StoreError;

pub(super) fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

pub(super) fn hash_of(text: &str) -> Result<InfoHash, StoreError> {
    InfoHash::parse(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The row readers for one backend's row type: both backends store the
/// same columns with the same Rust types, so one text serves both.
macro_rules! row_readers {
    ($row:ty) => {
        use sqlx::Row;

        use $crate::store::StoreError;
        use $crate::store::community::{
            CatalogRecord, EventRecord, GroupRecord, LoggedEvent, MemberRecord, SessionRecord,
            StoredPasskey, UserRecord,
        };
        use $crate::store::rows::hash_of;

        pub(in crate::store) fn unsigned(row: &$row, name: &str) -> Result<u64, StoreError> {
            let v: i64 = row.try_get(name)?;
            u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative {name}")))
        }

        /// The passkey columns of a `users` row; a row whose passkey is not sealed
        /// yet (see [`crate::store::community::CommunityStore::legacy_passkeys`]) has none.
        pub(in crate::store) fn stored_passkey(row: &$row) -> Result<StoredPasskey, StoreError> {
            let column = |name: &str| -> Result<String, StoreError> {
                let v: Option<String> = row.try_get(name)?;
                v.ok_or_else(|| StoreError::Corrupt(format!("user without {name}")))
            };
            Ok(StoredPasskey {
                hash: column("passkey_hash")?,
                nonce: column("passkey_nonce")?,
                sealed: column("passkey_sealed")?,
            })
        }

        pub(in crate::store) fn user(row: &$row) -> Result<UserRecord, StoreError> {
            Ok(UserRecord {
                id: row.try_get("id")?,
                username: row.try_get("username")?,
                password_hash: row.try_get("password_hash")?,
                passkey: stored_passkey(row)?,
                created_at: row.try_get("created_at")?,
                uploaded: unsigned(row, "uploaded")?,
                downloaded: unsigned(row, "downloaded")?,
            })
        }

        pub(in crate::store) fn session(row: &$row) -> Result<SessionRecord, StoreError> {
            Ok(SessionRecord {
                user_id: row.try_get("user_id")?,
                username: row.try_get("username")?,
                passkey: stored_passkey(row)?,
                address: row.try_get("address")?,
                created_at: row.try_get("created_at")?,
                last_seen: row.try_get("last_seen")?,
            })
        }

        pub(in crate::store) fn group(row: &$row) -> Result<GroupRecord, StoreError> {
            Ok(GroupRecord {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                owner_id: row.try_get("owner_id")?,
                owner: row.try_get("owner")?,
                created_at: row.try_get("created_at")?,
                members: unsigned(row, "members")?,
            })
        }

        pub(in crate::store) fn member(row: &$row) -> Result<MemberRecord, StoreError> {
            Ok(MemberRecord {
                user_id: row.try_get("user_id")?,
                username: row.try_get("username")?,
                since: row.try_get("since")?,
            })
        }

        pub(in crate::store) fn entry(row: &$row) -> Result<CatalogRecord, StoreError> {
            Ok(CatalogRecord {
                info_hash: hash_of(row.try_get("info_hash")?)?,
                group_id: row.try_get("group_id")?,
                group_name: row.try_get("group_name")?,
                name: row.try_get("name")?,
                total_length: unsigned(row, "total_length")?,
                piece_length: unsigned(row, "piece_length")?,
                file_count: unsigned(row, "file_count")?,
                private: row.try_get("private")?,
                source: row.try_get("source")?,
                publisher_id: row.try_get("publisher_id")?,
                publisher: row.try_get("publisher")?,
                added_at: row.try_get("added_at")?,
                metainfo: row.try_get("metainfo")?,
            })
        }

        pub(in crate::store) fn event(row: &$row) -> Result<LoggedEvent, StoreError> {
            let record = EventRecord {
                id: row.try_get("id")?,
                at: row.try_get("at")?,
                kind: row.try_get("kind")?,
                username: row.try_get("username")?,
                group: row.try_get("group_name")?,
                info_hash: row
                    .try_get::<Option<&str>, _>("info_hash")?
                    .map(hash_of)
                    .transpose()?,
                detail: row.try_get("detail")?,
            };
            Ok(LoggedEvent {
                record,
                group_id: row.try_get("group_id")?,
            })
        }
    };
}
pub(super) use row_readers;

pub(super) const SESSION_SELECT: &str = "SELECT s.user_id, u.username, u.passkey_hash, u.passkey_nonce, u.passkey_sealed, s.address, s.created_at, \
     s.last_seen FROM sessions s JOIN users u ON u.id = s.user_id";
pub(super) const GROUP_SELECT: &str = "SELECT g.id, g.name, g.owner_id, u.username AS owner, g.created_at, \
     (SELECT count(*) FROM group_members m WHERE m.group_id = g.id) AS members \
     FROM groups g JOIN users u ON u.id = g.owner_id";
/// `{blob}` is `c.metainfo`, or the dialect's empty blob (`zeroblob(0)` in
/// SQLite, `''::bytea` in PostgreSQL) for listings.
pub(super) fn catalog_select(blob: &str) -> String {
    format!(
        "SELECT c.info_hash, c.group_id, g.name AS group_name, c.name, c.total_length, \
         c.piece_length, c.file_count, c.private, c.source, c.publisher_id, \
         COALESCE(u.username, '') AS publisher, c.added_at, {blob} AS metainfo \
         FROM catalog c LEFT JOIN groups g ON g.id = c.group_id \
         LEFT JOIN users u ON u.id = c.publisher_id"
    )
}
