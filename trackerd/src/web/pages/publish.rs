//! Publish: upload a .torrent into one of your groups or the public
//! catalog, through [`crate::community::Community::publish`] (the API's
//! rules: private with the group's source for a group, one owner per
//! info-hash, quotas). The form is multipart; its CSRF field comes first
//! and is checked before the file is read.

use std::sync::Arc;

use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::see_other;
use crate::app::Tracker;
use crate::community::{CommunityError, Scope};
use crate::web::WebError;
use crate::web::layout::{Nav, csrf, error_notice, page};
use crate::web::session::{CSRF_FIELD, Viewer};

/// The scope field's value for the public catalog (not a valid group name).
const PUBLIC: &str = "-public";

async fn form(t: &Tracker, v: &Viewer, error: Option<&str>) -> Result<Response, WebError> {
    let s = v.require()?;
    let c = &t.community;
    let mine: Vec<String> = c
        .groups(s)
        .await?
        .into_iter()
        .filter(|g| g.member)
        .map(|g| g.name)
        .collect();
    let public = c.settings.allow_public_torrents;
    let body = html! {
        h1 { "Publish a torrent" }
        (error_notice(error))
        p { "Upload a .torrent file (never the data itself). A group's torrent must be private, with the group's name as its source, as "
            code { "p2pctl create --private --source GROUP" } " makes it (p2pd does this for files in " code { "shared/GROUP/" } ")." }
        form.stack method="post" action=(crate::web::PUBLISH_PATH) enctype="multipart/form-data" {
            (csrf(v))
            label for="scope" { "Publish into" }
            select #scope name="scope" required {
                @if public { option value=(PUBLIC) { "the public catalog" } }
                @for g in &mine { option value=(g) { "group " (g) } }
            }
            label for="torrent" { ".torrent file" }
            input #torrent type="file" name="torrent" accept=".torrent,application/x-bittorrent" required;
            button type="submit" { "Publish" }
        }
        @if !public && mine.is_empty() {
            p.muted { "This tracker takes torrents into groups only, and you are in none yet: see " a href="/groups" { "Groups" } "." }
        }
    };
    let status = if error.is_some() {
        axum::http::StatusCode::BAD_REQUEST
    } else {
        axum::http::StatusCode::OK
    };
    Ok(v.finish((status, page(Some(v), "Publish", Nav::Publish, body)).into_response()))
}

pub async fn show(State(t): State<Arc<Tracker>>, v: Viewer) -> Result<Response, WebError> {
    form(&t, &v, None).await
}

fn bad_form(e: impl std::fmt::Display) -> WebError {
    WebError::from(CommunityError::Invalid(format!("unreadable form: {e}")))
}

pub async fn submit(
    State(t): State<Arc<Tracker>>,
    v: Viewer,
    mut parts: Multipart,
) -> Result<Response, WebError> {
    let mut token = None;
    let mut scope = None;
    let mut torrent = None;
    while let Some(field) = parts.next_field().await.map_err(bad_form)? {
        match field.name() {
            Some(CSRF_FIELD) => token = Some(field.text().await.map_err(bad_form)?),
            Some("scope") => scope = Some(field.text().await.map_err(bad_form)?),
            Some("torrent") => {
                // Nothing is read before the token is known good.
                v.check_csrf(token.as_deref())?;
                torrent = Some(field.bytes().await.map_err(bad_form)?);
            }
            _ => {}
        }
    }
    v.check_csrf(token.as_deref())?;
    let s = v.require()?;
    let (Some(scope), Some(torrent)) = (scope, torrent) else {
        return form(&t, &v, Some("Choose where to publish and a .torrent file.")).await;
    };
    let scope = if scope == PUBLIC {
        Scope::Public
    } else {
        Scope::Group(scope)
    };
    match t.community.publish(s, &scope, torrent.to_vec()).await {
        Ok(entry) => Ok(v.finish(see_other(&format!("/t/{}", entry.info_hash)))),
        Err(e @ (CommunityError::Store(_) | CommunityError::Internal(_))) => Err(e.into()),
        Err(e) => form(&t, &v, Some(&e.to_string())).await,
    }
}
