//! Paging through the catalog for the dashboard's torrents table (issue
//! 14): the query types and their SQLite queries. Which scopes a viewer may
//! see is decided by the caller ([`crate::community`]); no rules here.

use p2p_proto::infohash::InfoHash;
use sqlx::sqlite::SqlitePool;

use super::StoreError;
use super::community::CatalogRecord;
use super::sqlite_rows::{catalog_select, entry, hash_of};

/// A column the store can sort the catalog by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    /// The torrent's name.
    Name,
    /// Bytes of content.
    Size,
    /// When it was published.
    Added,
    /// The group's name (public first).
    Group,
    /// The publisher's name.
    Publisher,
}

impl SortColumn {
    fn sql(self) -> &'static str {
        match self {
            SortColumn::Name => "c.name",
            SortColumn::Size => "c.total_length",
            SortColumn::Added => "c.added_at",
            SortColumn::Group => "COALESCE(g.name, '')",
            SortColumn::Publisher => "COALESCE(u.username, '')",
        }
    }
}

/// One page of the catalog: entries in these scopes whose name contains `q`.
#[derive(Debug, Clone)]
pub struct BrowseQuery {
    /// Group ids (with [`super::community::PUBLIC_GROUP`]) to list; `None`: every scope.
    pub scopes: Option<Vec<i64>>,
    /// Part of the name, any case; empty: every entry.
    pub q: String,
    /// The order.
    pub sort: SortColumn,
    /// Largest first.
    pub descending: bool,
    /// Entries to skip.
    pub offset: u64,
    /// Entries in the page.
    pub limit: u32,
}

/// A page and how many entries match in all.
#[derive(Debug, Clone, Default)]
pub struct BrowsePage {
    /// Entries matching the query.
    pub total: u64,
    /// This page's entries (without .torrent bytes).
    pub rows: Vec<CatalogRecord>,
}

/// `WHERE ...` for the scopes and the name filter, and its bound values.
fn filter(scopes: Option<&[i64]>, q: &str) -> (String, Vec<i64>) {
    let mut clauses = Vec::new();
    let mut ids = Vec::new();
    if let Some(scopes) = scopes {
        if scopes.is_empty() {
            clauses.push("0".to_owned());
        } else {
            clauses.push(format!(
                "c.group_id IN ({})",
                vec!["?"; scopes.len()].join(", ")
            ));
            ids.extend_from_slice(scopes);
        }
    }
    if !q.is_empty() {
        clauses.push("instr(lower(c.name), lower(?)) > 0".to_owned());
    }
    if clauses.is_empty() {
        (String::new(), ids)
    } else {
        (format!(" WHERE {}", clauses.join(" AND ")), ids)
    }
}

fn bind_filter<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    ids: &[i64],
    q: &'q str,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    for id in ids {
        query = query.bind(*id);
    }
    if !q.is_empty() {
        query = query.bind(q);
    }
    query
}

/// A page of the catalog.
pub(super) async fn page(pool: &SqlitePool, b: &BrowseQuery) -> Result<BrowsePage, StoreError> {
    let (clause, ids) = filter(b.scopes.as_deref(), &b.q);
    let count_sql = format!("SELECT count(*) FROM catalog c{clause}");
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
    for id in &ids {
        count = count.bind(*id);
    }
    if !b.q.is_empty() {
        count = count.bind(&b.q);
    }
    let total = u64::try_from(count.fetch_one(pool).await?).unwrap_or(0);
    let dir = if b.descending { "DESC" } else { "ASC" };
    let sql = format!(
        "{}{clause} ORDER BY {} {dir}, c.id {dir} LIMIT ? OFFSET ?",
        catalog_select("zeroblob(0)"),
        b.sort.sql()
    );
    let rows = bind_filter(sqlx::query(&sql), &ids, &b.q)
        .bind(i64::from(b.limit))
        .bind(i64::try_from(b.offset).unwrap_or(i64::MAX))
        .fetch_all(pool)
        .await?;
    Ok(BrowsePage {
        total,
        rows: rows.iter().map(entry).collect::<Result<_, _>>()?,
    })
}

/// The info-hashes of every matching entry (to sort by swarm counts,
/// which live in memory).
pub(super) async fn hashes(
    pool: &SqlitePool,
    scopes: Option<&[i64]>,
    q: &str,
) -> Result<Vec<InfoHash>, StoreError> {
    let (clause, ids) = filter(scopes, q);
    let sql = format!("SELECT c.info_hash FROM catalog c{clause}");
    let mut query = sqlx::query_scalar::<_, String>(&sql);
    for id in &ids {
        query = query.bind(*id);
    }
    if !q.is_empty() {
        query = query.bind(q);
    }
    query
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|h| hash_of(&h))
        .collect()
}
