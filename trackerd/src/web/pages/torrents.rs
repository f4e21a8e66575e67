//! The torrents table: search, sort and paging done by the server (see
//! [`crate::store::browse`]); sorting by swarm counts, which live in
//! memory, reads the matching info-hashes and sorts them here. With
//! `fragment=1` only the table is sent: the page's script fetches it when
//! the event stream says a torrent was published or withdrawn. The reply
//! says how long the server took (`Server-Timing: page;dur=MS`), which
//! bench/dashboard.sh reads.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{RawQuery, State};
use axum::http::HeaderValue;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use p2p_proto::tracker::ScrapeStats;

use crate::app::Tracker;
use crate::http::community_api::query_param;
use crate::store::browse::{BrowseQuery, SortColumn};
use crate::store::community::CatalogRecord;
use crate::web::WebError;
use crate::web::layout::{Nav, page, size, time};
use crate::web::session::Viewer;

/// Rows per page.
pub const PAGE_ROWS: u32 = 50;
/// Longest search text.
const MAX_QUERY_CHARS: usize = 200;

/// The columns, their `sort` names and whether they sort largest first
/// when first clicked.
const COLUMNS: [(&str, &str, bool); 8] = [
    ("name", "Name", false),
    ("size", "Size", true),
    ("group", "Group", false),
    ("seeders", "Seeders", true),
    ("leechers", "Leechers", true),
    ("completed", "Completed", true),
    ("added", "Added", true),
    ("publisher", "Publisher", false),
];

/// What the table shows.
#[derive(Debug, Clone)]
struct Query {
    q: String,
    sort: &'static str,
    descending: bool,
    page: u64,
}

impl Query {
    fn parse(raw: Option<&str>) -> Query {
        let sort = query_param(raw, "sort")
            .and_then(|s| COLUMNS.iter().find(|c| c.0 == s).map(|c| c.0))
            .unwrap_or("added");
        let descending = match query_param(raw, "dir").as_deref() {
            Some("asc") => false,
            Some("desc") => true,
            _ => COLUMNS.iter().any(|c| c.0 == sort && c.2),
        };
        Query {
            q: query_param(raw, "q")
                .unwrap_or_default()
                .chars()
                .take(MAX_QUERY_CHARS)
                .collect(),
            sort,
            descending,
            page: query_param(raw, "page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1)
                .clamp(1, 1_000_000),
        }
    }

    /// The URL of this view with another sort or page.
    fn url(&self, sort: &str, descending: bool, page: u64) -> String {
        let mut url = format!(
            "/torrents?sort={sort}&dir={}&page={page}",
            if descending { "desc" } else { "asc" }
        );
        if !self.q.is_empty() {
            url.push_str("&q=");
            url.push_str(&p2p_proto::percent::percent_encode(self.q.as_bytes()));
        }
        url
    }
}

/// A row: the entry and its swarm's counters.
type Row = (CatalogRecord, ScrapeStats);

async fn rows(t: &Tracker, v: &Viewer, q: &Query) -> Result<(u64, Vec<Row>), WebError> {
    let c = &t.community;
    let offset = (q.page - 1) * u64::from(PAGE_ROWS);
    let column = match q.sort {
        "name" => Some(SortColumn::Name),
        "size" => Some(SortColumn::Size),
        "group" => Some(SortColumn::Group),
        "publisher" => Some(SortColumn::Publisher),
        "added" => Some(SortColumn::Added),
        _ => None,
    };
    if let Some(sort) = column {
        let found = c
            .browse(
                v.session.as_ref(),
                BrowseQuery {
                    scopes: None,
                    q: q.q.clone(),
                    sort,
                    descending: q.descending,
                    offset,
                    limit: PAGE_ROWS,
                },
            )
            .await?;
        let rows = found
            .rows
            .into_iter()
            .map(|r| {
                let stats = t.torrent_stats(&r.info_hash);
                (r, stats)
            })
            .collect();
        return Ok((found.total, rows));
    }
    // Swarm counts live in memory: sort every matching info-hash by them.
    let mut hashes: Vec<_> = c
        .browse_hashes(v.session.as_ref(), &q.q)
        .await?
        .into_iter()
        .map(|h| (t.torrent_stats(&h), h))
        .collect();
    let key = |s: &ScrapeStats| match q.sort {
        "seeders" => s.complete,
        "leechers" => s.incomplete,
        _ => s.downloaded,
    };
    hashes.sort_by(|a, b| key(&a.0).cmp(&key(&b.0)).then(a.1.cmp(&b.1)));
    if q.descending {
        hashes.reverse();
    }
    let total = hashes.len() as u64;
    let page: Vec<_> = hashes
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(PAGE_ROWS as usize)
        .collect();
    let wanted: Vec<_> = page.iter().map(|(_, h)| *h).collect();
    // Entries withdrawn since they were listed are left out.
    let rows = c
        .browse_entries(v.session.as_ref(), &wanted)
        .await?
        .into_iter()
        .map(|r| {
            let stats = page
                .iter()
                .find(|(_, h)| *h == r.info_hash)
                .map_or_else(|| t.torrent_stats(&r.info_hash), |(s, _)| *s);
            (r, stats)
        })
        .collect();
    Ok((total, rows))
}

fn table(q: &Query, total: u64, rows: &[Row]) -> Markup {
    let pages = total.div_ceil(u64::from(PAGE_ROWS)).max(1);
    html! {
        section #torrents data-live="/torrents" {
            p.muted #torrent-count aria-live="polite" {
                (total) " torrents"
                @if !q.q.is_empty() { " matching “" (q.q) "”" }
                " · page " (q.page) " of " (pages)
            }
            div.scroll {
                table.cards {
                    caption.sr-only { "Torrents, sorted by " (q.sort) }
                    thead { tr {
                        @for (key, label, _) in COLUMNS {
                            @let current = key == q.sort;
                            @let next_desc = if current { !q.descending } else { COLUMNS.iter().any(|c| c.0 == key && c.2) };
                            @let aria = if !current { "none" } else if q.descending { "descending" } else { "ascending" };
                            th scope="col" aria-sort=(aria) class=[numeric(key)] {
                                a href=(q.url(key, next_desc, 1)) {
                                    (label)
                                    @if current { span aria-hidden="true" { @if q.descending { " ▾" } @else { " ▴" } } }
                                }
                            }
                        }
                    } }
                    tbody {
                        @for (r, s) in rows {
                            tr {
                                td data-label="Name" { a href={ "/t/" (r.info_hash) } { (r.name) } }
                                td.num data-label="Size" { (size(r.total_length)) }
                                td data-label="Group" { @match &r.group_name { Some(g) => (g), None => span.muted { "public" } } }
                                td.num data-label="Seeders" { (s.complete) }
                                td.num data-label="Leechers" { (s.incomplete) }
                                td.num data-label="Completed" { (s.downloaded) }
                                td data-label="Added" { (time(r.added_at)) }
                                td data-label="Publisher" { (r.publisher) }
                            }
                        }
                        @if rows.is_empty() {
                            tr { td colspan="8" .muted { "No torrents here yet." } }
                        }
                    }
                }
            }
            nav.pages aria-label="Pages" {
                @if q.page > 1 { a href=(q.url(q.sort, q.descending, q.page - 1)) rel="prev" { "← Newer page" } }
                @if q.page < pages { a href=(q.url(q.sort, q.descending, q.page + 1)) rel="next" { "Next page →" } }
            }
        }
    }
}

fn numeric(key: &str) -> Option<&'static str> {
    matches!(key, "size" | "seeders" | "leechers" | "completed").then_some("num")
}

pub async fn show(
    State(t): State<Arc<Tracker>>,
    RawQuery(raw): RawQuery,
    v: Viewer,
) -> Result<Response, WebError> {
    let started = Instant::now();
    let q = Query::parse(raw.as_deref());
    let (total, rows) = rows(&t, &v, &q).await?;
    let table = table(&q, total, &rows);
    if query_param(raw.as_deref(), "fragment").as_deref() == Some("1") {
        let r = Html(table.into_string()).into_response();
        return Ok(v.finish(timed(r, started)));
    }
    let body = html! {
        h1 { "Torrents" }
        form.search role="search" method="get" action="/torrents" {
            label for="q" { "Search names" }
            input #q type="search" name="q" value=(q.q) maxlength="200";
            input type="hidden" name="sort" value=(q.sort);
            input type="hidden" name="dir" value=(if q.descending { "desc" } else { "asc" });
            button type="submit" { "Search" }
        }
        @if v.session.is_some() {
            div #stream data-stream="/log/stream" hidden {}
        }
        (table)
    };
    let r = page(Some(&v), "Torrents", Nav::Torrents, body).into_response();
    Ok(v.finish(timed(r, started)))
}

/// Adds how long the page took to make.
fn timed(mut r: Response, started: Instant) -> Response {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(v) = HeaderValue::from_str(&format!("page;dur={ms:.2}")) {
        r.headers_mut().insert("server-timing", v);
    }
    r
}
