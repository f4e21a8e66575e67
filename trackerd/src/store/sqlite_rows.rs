//! The row readers of [`super::rows`] for SQLite rows.

use sqlx::sqlite::SqliteRow;

super::rows::row_readers!(SqliteRow);
