//! Paging through the catalog on PostgreSQL (the dashboard's torrents
//! table): the queries of [`crate::store::browse`] in this dialect. Names
//! match any case of ASCII letters (ILIKE under the column's "C"
//! collation, as SQLite's LIKE). Which scopes a viewer may see is decided
//! by the caller; no rules here.

use p2p_proto::infohash::InfoHash;
use sqlx::QueryBuilder;
use sqlx::postgres::{PgPool, Postgres};

use super::rows::{entry, text};
use crate::store::StoreError;
use crate::store::browse::{BrowsePage, BrowseQuery, SortColumn, like_contains};
use crate::store::community::CatalogRecord;
use crate::store::rows::{catalog_select, hash_of};

fn order(column: SortColumn) -> &'static str {
    match column {
        SortColumn::Name => "c.name",
        SortColumn::Size => "c.total_length",
        SortColumn::Added => "c.added_at",
        SortColumn::Group => "COALESCE(g.name, '')",
        SortColumn::Publisher => "COALESCE(u.username, '')",
    }
}

/// Adds ` WHERE ...` for the scopes and the name filter.
fn filter<'a>(qb: &mut QueryBuilder<'a, Postgres>, scopes: Option<&'a [i64]>, q: &str) {
    let mut sep = " WHERE ";
    if let Some(scopes) = scopes {
        qb.push(sep)
            .push("c.group_id = ANY(")
            .push_bind(scopes)
            .push(")");
        sep = " AND ";
    }
    if !q.is_empty() {
        qb.push(sep)
            .push("c.name ILIKE ")
            .push_bind(like_contains(&text(q)))
            .push(r" ESCAPE '\'");
    }
}

/// A page of the catalog.
pub(super) async fn page(pool: &PgPool, b: &BrowseQuery) -> Result<BrowsePage, StoreError> {
    let mut count = QueryBuilder::new("SELECT count(*) FROM catalog c");
    filter(&mut count, b.scopes.as_deref(), &b.q);
    let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
    let dir = if b.descending { "DESC" } else { "ASC" };
    let mut qb = QueryBuilder::new(catalog_select("''::bytea"));
    filter(&mut qb, b.scopes.as_deref(), &b.q);
    qb.push(format_args!(
        " ORDER BY {} {dir}, c.id {dir} LIMIT ",
        order(b.sort)
    ))
    .push_bind(i64::from(b.limit))
    .push(" OFFSET ")
    .push_bind(i64::try_from(b.offset).unwrap_or(i64::MAX));
    let rows = qb.build().fetch_all(pool).await?;
    Ok(BrowsePage {
        total: u64::try_from(total).unwrap_or(0),
        rows: rows.iter().map(entry).collect::<Result<_, _>>()?,
    })
}

/// The info-hashes of every matching entry.
pub(super) async fn hashes(
    pool: &PgPool,
    scopes: Option<&[i64]>,
    q: &str,
) -> Result<Vec<InfoHash>, StoreError> {
    let mut qb = QueryBuilder::new("SELECT c.info_hash FROM catalog c");
    filter(&mut qb, scopes, q);
    qb.build_query_scalar::<String>()
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|h| hash_of(&h))
        .collect()
}

/// The entries of these info-hashes (without .torrent bytes), in no order.
pub(super) async fn entries(
    pool: &PgPool,
    hashes: &[InfoHash],
) -> Result<Vec<CatalogRecord>, StoreError> {
    let hex: Vec<String> = hashes.iter().map(InfoHash::to_hex).collect();
    let sql = format!(
        "{} WHERE c.info_hash = ANY($1)",
        catalog_select("''::bytea")
    );
    let rows = sqlx::query(&sql).bind(&hex).fetch_all(pool).await?;
    rows.iter().map(entry).collect()
}
