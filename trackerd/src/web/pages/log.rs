//! The live event log: the latest events this viewer may see, newest
//! first, filterable by kind; the page's script adds new ones from the
//! event stream ([`crate::web::sse`]) as they happen, resuming after the
//! last id it showed when the connection comes back.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use crate::app::Tracker;
use crate::http::community_api::query_param;
use crate::store::community::EventRecord;
use crate::web::WebError;
use crate::web::layout::{Nav, page, time};
use crate::web::session::Viewer;

/// Events read from the end of the log for the first view.
const READ_BACK: u32 = 500;
/// Events shown at first.
const SHOWN: usize = 100;

/// The kinds of events, for the filter.
const KINDS: [&str; 16] = [
    "login",
    "logout",
    "session_expired",
    "register",
    "password_changed",
    "passkey_rotated",
    "publish",
    "withdraw",
    "download_started",
    "download_completed",
    "group_created",
    "join_requested",
    "join_accepted",
    "join_rejected",
    "group_left",
    "member_removed",
];

/// One event as a table row (the script builds the same cells for live ones).
fn row(e: &EventRecord) -> Markup {
    html! {
        tr data-id=(e.id) data-kind=(e.kind) {
            td.num data-label="#" { (e.id) }
            td data-label="Time" { (time(e.at)) }
            td data-label="Kind" { (e.kind) }
            td data-label="User" { (e.username.as_deref().unwrap_or("")) }
            td data-label="Group" { (e.group.as_deref().unwrap_or("")) }
            td data-label="Detail" { (e.detail)
                @if let Some(h) = &e.info_hash { " " a href={ "/t/" (h) } { "torrent" } } }
        }
    }
}

pub async fn show(
    State(t): State<Arc<Tracker>>,
    RawQuery(raw): RawQuery,
    v: Viewer,
) -> Result<Response, WebError> {
    let s = v.require()?;
    let c = &t.community;
    let kind = query_param(raw.as_deref(), "kind").filter(|k| KINDS.contains(&k.as_str()));
    let latest = c
        .events
        .latest(READ_BACK)
        .await
        .map_err(crate::community::CommunityError::from)?;
    // The stream resumes after the newest event read, shown or not.
    let after = latest.first().map_or(0, |e| e.record.id);
    let shown: Vec<EventRecord> = latest
        .iter()
        .filter_map(|e| c.dashboard_event_for(s, e))
        .filter(|e| kind.as_deref().is_none_or(|k| e.kind == k))
        .take(SHOWN)
        .collect();
    let body = html! {
        h1 { "Event log" }
        form.search method="get" action="/log" {
            label for="kind" { "Show" }
            select #kind name="kind" {
                option value="" selected[kind.is_none()] { "every kind" }
                @for k in KINDS { option value=(k) selected[kind.as_deref() == Some(k)] { (k) } }
            }
            button type="submit" { "Filter" }
        }
        p #live.muted role="status" aria-live="polite" { "Connecting to live updates…" }
        div.scroll {
            table.cards #log data-stream="/log/stream" data-after=(after) data-kind=[kind.as_deref()] {
                caption.sr-only { "Events, newest first" }
                thead { tr {
                    th.num scope="col" { "#" }
                    th scope="col" { "Time" }
                    th scope="col" { "Kind" }
                    th scope="col" { "User" }
                    th scope="col" { "Group" }
                    th scope="col" { "Detail" }
                } }
                tbody { @for e in &shown { (row(e)) } }
            }
        }
    };
    Ok(v.finish(page(Some(&v), "Event log", Nav::Log, body).into_response()))
}
