//! The row readers of [`crate::store::rows`] for PostgreSQL rows, and
//! the one text rule PostgreSQL adds ([`text`]).

use sqlx::postgres::PgRow;

crate::store::rows::row_readers!(PgRow);

/// Text as PostgreSQL can hold it: it refuses NUL in text, which SQLite
/// stores and a .torrent's name may hold. NUL becomes U+FFFD, in what is
/// stored and in what is looked up alike, so a lookup of a name with a
/// NUL finds what a store of that name kept (and a NUL in a request's
/// path finds nothing, as on SQLite). The .torrent bytes are kept as they
/// came (BYTEA).
pub(super) fn text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        std::borrow::Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}
