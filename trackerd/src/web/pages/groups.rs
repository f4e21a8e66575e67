//! Groups: the groups you belong to with their members, pending requests
//! with accept and reject for owners, leave; create a group; ask to join
//! one by its name. Groups you are not in are never listed (a group's name
//! is for its members: you learn it from them).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use p2p_proto::percent::percent_encode;

use super::see_other;
use crate::app::Tracker;
use crate::http::community_api::query_param;
use crate::web::WebError;
use crate::web::layout::{Nav, button_form, csrf, done_notice, page, time};
use crate::web::session::{CSRF_FIELD, Form, Viewer};

pub async fn show(
    State(t): State<Arc<Tracker>>,
    RawQuery(raw): RawQuery,
    v: Viewer,
) -> Result<Response, WebError> {
    let s = v.require()?;
    let c = &t.community;
    let mut mine = Vec::new();
    for g in c.groups(s).await?.into_iter().filter(|g| g.member) {
        let members = c.members(s, &g.name).await?;
        let requests = if g.owner == s.username {
            c.requests(s, &g.name).await?
        } else {
            Vec::new()
        };
        mine.push((g, members, requests));
    }
    let done = query_param(raw.as_deref(), "done");
    let body = html! {
        h1 { "Groups" }
        (done_notice(done.as_deref()))
        @if mine.is_empty() {
            p.muted { "You are in no group yet." }
        }
        @for (g, members, requests) in &mine {
            @let path = percent_encode(g.name.as_bytes());
            section.card aria-labelledby={ "group-" (g.name) } {
                h2 #{ "group-" (g.name) } { (g.name) }
                p.muted { "Owner " (g.owner) " · " (g.members) " members · created " (time(g.created_at)) }
                h3 { "Members" }
                ul.names {
                    @for m in members {
                        li { (m.username) @if m.owner { " " span.badge { "owner" } } }
                    }
                }
                @if g.owner == s.username {
                    h3 { "Join requests" }
                    @if requests.is_empty() { p.muted { "None pending." } }
                    ul.requests {
                        @for r in requests {
                            @let user = percent_encode(r.username.as_bytes());
                            li {
                                span { (r.username) " asked " (time(r.since)) }
                                (button_form(&v, &format!("/groups/{path}/requests/{user}/accept"), &format!("Accept {}", r.username), "ok"))
                                (button_form(&v, &format!("/groups/{path}/requests/{user}/reject"), &format!("Reject {}", r.username), "danger"))
                            }
                        }
                    }
                }
                (button_form(&v, &format!("/groups/{path}/leave"), &format!("Leave {}", g.name), "danger"))
            }
        }
        div.columns {
            form.stack.card method="post" action="/groups" {
                h2 { "Create a group" }
                (csrf(&v))
                label for="new-group" { "Name (a-z, 0-9, _ and -)" }
                input #new-group name="name" required maxlength="32";
                button type="submit" { "Create" }
            }
            form.stack.card method="post" action="/groups/join" {
                h2 { "Ask to join a group" }
                (csrf(&v))
                label for="join-group" { "The group's name (ask a member)" }
                input #join-group name="name" required maxlength="32";
                button type="submit" { "Request to join" }
            }
        }
    };
    Ok(v.finish(page(Some(&v), "Groups", Nav::Groups, body).into_response()))
}

/// The checked form of a POST: CSRF first, then the session.
fn posted(v: &Viewer, body: &[u8]) -> Result<Form, WebError> {
    let form = Form::parse(body)?;
    v.check_csrf(form.get(CSRF_FIELD).as_deref())?;
    v.require()?;
    Ok(form)
}

pub async fn create(
    State(t): State<Arc<Tracker>>,
    v: Viewer,
    body: Bytes,
) -> Result<Response, WebError> {
    let form = posted(&v, &body)?;
    let s = v.require()?;
    t.community.create_group(s, &form.text("name")).await?;
    Ok(v.finish(see_other("/groups?done=group")))
}

pub async fn join(
    State(t): State<Arc<Tracker>>,
    v: Viewer,
    body: Bytes,
) -> Result<Response, WebError> {
    let form = posted(&v, &body)?;
    let s = v.require()?;
    t.community.request_join(s, &form.text("name")).await?;
    Ok(v.finish(see_other("/groups?done=requested")))
}

pub async fn leave(
    State(t): State<Arc<Tracker>>,
    Path(g): Path<String>,
    v: Viewer,
    body: Bytes,
) -> Result<Response, WebError> {
    posted(&v, &body)?;
    let s = v.require()?;
    t.community.leave(s, &g).await?;
    Ok(v.finish(see_other("/groups?done=left")))
}

pub async fn answer(
    State(t): State<Arc<Tracker>>,
    Path((g, user, answer)): Path<(String, String, String)>,
    v: Viewer,
    body: Bytes,
) -> Result<Response, WebError> {
    posted(&v, &body)?;
    let s = v.require()?;
    let accept = match answer.as_str() {
        "accept" => true,
        "reject" => false,
        _ => return Err(WebError::not_found()),
    };
    t.community.answer_request(s, &g, &user, accept).await?;
    Ok(v.finish(see_other(if accept {
        "/groups?done=accepted"
    } else {
        "/groups?done=rejected"
    })))
}
