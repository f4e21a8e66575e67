//! Account: register, log in (the API's login checks and rate limits, a
//! browser session of its own: a daemon logged in as the same user goes
//! on), log out, change password. The session token goes into an HttpOnly
//! cookie.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::see_other;
use crate::app::Tracker;
use crate::community::CommunityError;
use crate::http::community_api::{base_url, query_param};
use crate::web::WebError;
use crate::web::layout::{Nav, csrf, done_notice, error_notice, page, time};
use crate::web::session::{CSRF_FIELD, Form, Viewer};

fn render(
    t: &Tracker,
    v: &Viewer,
    headers: &HeaderMap,
    done: Option<&str>,
    error: Option<(StatusCode, String)>,
) -> Response {
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.0);
    let message = error.as_ref().map(|e| e.1.as_str());
    let body = html! {
        h1 { "Account" }
        (done_notice(done))
        (error_notice(message))
        @if let Some(s) = &v.session {
            dl.facts {
                div { dt { "User" } dd { (s.username) } }
                div { dt { "Logged in since" } dd { (time(s.since)) } }
                div.wide { dt { "Announce URL" } dd { code.wrap { (t.community.announce_url(&base_url(t, headers), &s.passkey)) } } }
            }
            div.columns {
                form.stack.card method="post" action="/password" {
                    h2 { "Change password" }
                    (csrf(v))
                    label for="old" { "Current password" }
                    input #old type="password" name="old" autocomplete="current-password" required;
                    label for="new" { "New password" }
                    input #new type="password" name="new" autocomplete="new-password" required minlength="8";
                    button type="submit" { "Change password" }
                }
                form.stack.card method="post" action="/logout" {
                    h2 { "Log out" }
                    (csrf(v))
                    p.muted { "Ends this browser's session (a daemon logged in as you goes on)." }
                    button #logout type="submit" { "Log out" }
                }
            }
        } @else {
            div.columns {
                form.stack.card method="post" action="/login" {
                    h2 { "Log in" }
                    (csrf(v))
                    label for="login-user" { "User name" }
                    input #login-user name="username" autocomplete="username" required maxlength="64";
                    label for="login-password" { "Password" }
                    input #login-password type="password" name="password" autocomplete="current-password" required;
                    button type="submit" { "Log in" }
                }
                form.stack.card method="post" action="/register" {
                    h2 { "Register" }
                    (csrf(v))
                    label for="reg-user" { "User name (a-z, 0-9, _ and -)" }
                    input #reg-user name="username" autocomplete="username" required maxlength="32";
                    label for="reg-password" { "Password (at least 8 characters)" }
                    input #reg-password type="password" name="password" autocomplete="new-password" required minlength="8";
                    button type="submit" { "Register" }
                }
            }
        }
    };
    v.finish((status, page(Some(v), "Account", Nav::Account, body)).into_response())
}

pub async fn show(
    State(t): State<Arc<Tracker>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    v: Viewer,
) -> Response {
    let done = query_param(raw.as_deref(), "done");
    render(&t, &v, &headers, done.as_deref(), None)
}

/// The form page again with the refusal (a wrong password, a limit, a
/// taken name); the server's own faults become an error page.
fn refused(
    t: &Tracker,
    v: &Viewer,
    headers: &HeaderMap,
    e: CommunityError,
) -> Result<Response, WebError> {
    if matches!(e, CommunityError::Store(_) | CommunityError::Internal(_)) {
        return Err(e.into());
    }
    let status = crate::http::community_api::status_of(&e);
    let message = match e {
        CommunityError::BadCredentials => "Wrong user name or password.".to_owned(),
        other => other.to_string(),
    };
    Ok(render(t, v, headers, None, Some((status, message))))
}

fn checked(v: &Viewer, body: &[u8]) -> Result<Form, WebError> {
    let form = Form::parse(body)?;
    v.check_csrf(form.get(CSRF_FIELD).as_deref())?;
    Ok(form)
}

pub async fn login(
    State(t): State<Arc<Tracker>>,
    headers: HeaderMap,
    mut v: Viewer,
    body: Bytes,
) -> Result<Response, WebError> {
    let form = checked(&v, &body)?;
    match t
        .community
        .web_login(&form.text("username"), form.text("password"), v.ip)
        .await
    {
        Ok(token) => {
            v.log_in(&token);
            Ok(v.finish(see_other("/")))
        }
        Err(e) => refused(&t, &v, &headers, e),
    }
}

pub async fn register(
    State(t): State<Arc<Tracker>>,
    headers: HeaderMap,
    v: Viewer,
    body: Bytes,
) -> Result<Response, WebError> {
    let form = checked(&v, &body)?;
    match t
        .community
        .register(&form.text("username"), form.text("password"), v.ip)
        .await
    {
        Ok(_) => Ok(v.finish(see_other("/account?done=registered"))),
        Err(e) => refused(&t, &v, &headers, e),
    }
}

pub async fn logout(
    State(t): State<Arc<Tracker>>,
    mut v: Viewer,
    body: Bytes,
) -> Result<Response, WebError> {
    checked(&v, &body)?;
    if let Some(s) = &v.session {
        t.community.logout(s).await?;
    }
    v.log_out();
    Ok(v.finish(see_other("/account?done=logged_out")))
}

pub async fn password(
    State(t): State<Arc<Tracker>>,
    headers: HeaderMap,
    mut v: Viewer,
    body: Bytes,
) -> Result<Response, WebError> {
    let form = checked(&v, &body)?;
    let s = v.require()?.clone();
    match t
        .community
        .change_password(&s, form.text("old"), form.text("new"), v.ip)
        .await
    {
        Ok(token) => {
            v.log_in(&token);
            Ok(v.finish(see_other("/account?done=password")))
        }
        Err(e) => refused(&t, &v, &headers, e),
    }
}
