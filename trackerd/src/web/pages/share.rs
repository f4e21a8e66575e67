//! A torrent's share page (`/t/<info-hash>`): the link people send each
//! other. Anyone may open a public torrent's page; a group torrent's page
//! is for its members (and admins), and anyone else gets the 404 of an
//! unknown torrent. Also the personalised .torrent download (the API's
//! rules) and the admin's remove button.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::html;
use p2p_proto::infohash::InfoHash;
use p2p_proto::magnet::Magnet;
use p2p_proto::metainfo::Metainfo;

use super::see_other;
use crate::app::Tracker;
use crate::http::community_api::{base_url, torrent_download};
use crate::web::WebError;
use crate::web::layout::{Nav, button_form, page, size, time};
use crate::web::session::{CSRF_FIELD, Form, Viewer};

/// Files listed on the page; the rest are counted.
const MAX_FILES_SHOWN: usize = 500;

fn info_hash(text: &str) -> Result<InfoHash, WebError> {
    InfoHash::parse(text).map_err(|_| WebError::not_found())
}

pub async fn show(
    State(t): State<Arc<Tracker>>,
    Path(h): Path<String>,
    headers: HeaderMap,
    v: Viewer,
) -> Result<Response, WebError> {
    let h = info_hash(&h)?;
    let c = &t.community;
    let entry = c
        .share_entry(v.session.as_ref(), h)
        .await
        .map_err(|_| WebError::not_found())?;
    let bytes = entry.metainfo.clone();
    let files = tokio::task::spawn_blocking(move || Metainfo::from_bytes(&bytes))
        .await
        .ok()
        .and_then(Result::ok)
        .map(|m| {
            m.info
                .files
                .into_iter()
                .filter(|f| !f.pad)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let base = base_url(&t, &headers);
    // Members get their own announce URL in the magnet; others the plain one.
    let personal = match &v.session {
        Some(s) => c.magnet(s, h, &base).await.ok(),
        None => None,
    };
    let may_download = personal.is_some();
    let magnet = personal.unwrap_or_else(|| {
        Magnet {
            info_hash: h,
            display_name: Some(entry.name.clone()),
            trackers: vec![format!("{base}/announce")],
            exact_length: Some(entry.total_length),
            peers: Vec::new(),
            web_seeds: Vec::new(),
            select_only: None,
        }
        .to_string()
    });
    let stats = t.torrent_stats(&h);
    let body = html! {
        h1 { (entry.name) }
        dl.facts {
            div { dt { "Info-hash" } dd { code #info-hash { (h) } } }
            div { dt { "Size" } dd { (size(entry.total_length)) } }
            div { dt { "Group" } dd { @match &entry.group_name { Some(g) => (g), None => "public" } } }
            div { dt { "Published by" } dd { (entry.publisher) } }
            div { dt { "Added" } dd { (time(entry.added_at)) } }
            div { dt { "Seeders" } dd { (stats.complete) } }
            div { dt { "Leechers" } dd { (stats.incomplete) } }
            div { dt { "Completed" } dd { (stats.downloaded) } }
        }
        p.actions {
            a.button #magnet href=(magnet) { "Magnet link" }
            @if may_download {
                a.button #download href={ "/t/" (h) "/torrent" } download { "Download .torrent" }
            } @else if v.session.is_none() {
                a href="/account" { "Log in" } " to download a .torrent with your own announce URL."
            }
        }
        @if v.admin {
            (button_form(&v, &format!("/t/{h}/remove"), "Remove from the catalog", "danger"))
        }
        h2 { "Files" }
        div.scroll {
            table {
                thead { tr { th scope="col" { "Path" } th.num scope="col" { "Size" } } }
                tbody {
                    @for f in files.iter().take(MAX_FILES_SHOWN) {
                        tr { td { (f.display_path()) } td.num { (size(f.length)) } }
                    }
                }
            }
        }
        @if files.len() > MAX_FILES_SHOWN {
            p.muted { "and " (files.len() - MAX_FILES_SHOWN) " more files" }
        }
    };
    Ok(v.finish(page(Some(&v), &entry.name, Nav::None, body).into_response()))
}

pub async fn download(
    State(t): State<Arc<Tracker>>,
    Path(h): Path<String>,
    headers: HeaderMap,
    v: Viewer,
) -> Result<Response, WebError> {
    let h = info_hash(&h)?;
    let s = v.require()?;
    let (name, bytes) = t
        .community
        .personal_torrent(s, h, &base_url(&t, &headers))
        .await
        .map_err(|_| WebError::not_found())?;
    Ok(v.finish(torrent_download(&name, bytes)))
}

pub async fn remove(
    State(t): State<Arc<Tracker>>,
    Path(h): Path<String>,
    v: Viewer,
    body: Bytes,
) -> Result<Response, WebError> {
    let form = Form::parse(&body)?;
    v.check_csrf(form.get(CSRF_FIELD).as_deref())?;
    let h = info_hash(&h)?;
    let s = v.require()?;
    t.community.admin_remove(s, h).await?;
    Ok(v.finish(see_other("/torrents")))
}
