//! Online users: who has a live session, since when, and (to the user
//! themself and admins) from where; admins can end any session.

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
use crate::web::layout::{Nav, button_form, done_notice, page, time};
use crate::web::session::{CSRF_FIELD, Form, Viewer};

pub async fn show(
    State(t): State<Arc<Tracker>>,
    RawQuery(raw): RawQuery,
    v: Viewer,
) -> Result<Response, WebError> {
    let s = v.require()?;
    let users = t.community.online(s).await?;
    let done = query_param(raw.as_deref(), "done");
    let body = html! {
        h1 { "Online users" }
        (done_notice(done.as_deref()))
        p.muted { (users.len()) " online" }
        div.scroll {
            table.cards {
                thead { tr {
                    th scope="col" { "User" }
                    th scope="col" { "Since" }
                    th scope="col" { "Last seen" }
                    th scope="col" { "Address" }
                    @if v.admin { th scope="col" { "Session" } }
                } }
                tbody {
                    @for u in &users {
                        tr {
                            td data-label="User" { (u.username) }
                            td data-label="Since" { (time(u.since)) }
                            td data-label="Last seen" { (time(u.last_seen)) }
                            td data-label="Address" { @match &u.address { Some(a) => (a), None => span.muted { "hidden" } } }
                            @if v.admin {
                                td data-label="Session" { (button_form(&v, &format!("/online/{}/end", percent_encode(u.username.as_bytes())), &format!("End {}'s session", u.username), "danger")) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(v.finish(page(Some(&v), "Online users", Nav::Online, body).into_response()))
}

pub async fn end_session(
    State(t): State<Arc<Tracker>>,
    Path(user): Path<String>,
    mut v: Viewer,
    body: Bytes,
) -> Result<Response, WebError> {
    let form = Form::parse(&body)?;
    v.check_csrf(form.get(CSRF_FIELD).as_deref())?;
    let s = v.require()?.clone();
    t.community.admin_end_session(&s, &user).await?;
    if user.eq_ignore_ascii_case(&s.username) {
        v.log_out();
        return Ok(v.finish(see_other("/account?done=logged_out")));
    }
    Ok(v.finish(see_other("/online?done=ended")))
}
