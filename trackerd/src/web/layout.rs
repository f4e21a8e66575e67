//! The page shell (head, skip link, navigation, footer) and small
//! formatting helpers shared by the pages. The shell links the one
//! stylesheet and the one script; nothing inline.

use axum::response::Html;
use maud::{DOCTYPE, Markup, html};
use p2p_proto::time::rfc3339;

use super::assets;
use super::session::{CSRF_FIELD, Viewer};

/// The navigation entry of the page shown (marked `aria-current`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    Torrents,
    Publish,
    Groups,
    Online,
    Log,
    Account,
    /// A page that is no entry (a share page, an error).
    None,
}

const ENTRIES: [(Nav, &str, &str, bool); 7] = [
    (Nav::Overview, "/", "Overview", false),
    (Nav::Torrents, "/torrents", "Torrents", false),
    (Nav::Publish, "/publish", "Publish", true),
    (Nav::Groups, "/groups", "Groups", true),
    (Nav::Online, "/online", "Online", true),
    (Nav::Log, "/log", "Log", true),
    (Nav::Account, "/account", "Account", false),
];

/// A whole page.
pub fn page(viewer: Option<&Viewer>, title: &str, active: Nav, body: Markup) -> Html<String> {
    let logged_in = viewer.is_some_and(|v| v.session.is_some());
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · p2p tracker" }
                link rel="stylesheet" href=(assets::css_url());
                link rel="icon" href="data:,";
                script src=(assets::js_url()) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "p2p tracker" }
                    nav aria-label="Main" {
                        ul {
                            @for (nav, href, label, members_only) in ENTRIES {
                                @if logged_in || !members_only {
                                    li {
                                        @if nav == active {
                                            a href=(href) aria-current="page" { (label) }
                                        } @else {
                                            a href=(href) { (label) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if let Some(s) = viewer.and_then(|v| v.session.as_ref()) {
                        p.who {
                            "Logged in as " strong { (s.username) }
                            @if viewer.is_some_and(|v| v.admin) { " " span.badge { "admin" } }
                        }
                    }
                }
                main #main { (body) }
                footer.bottom { p { "trackerd " (env!("CARGO_PKG_VERSION")) } }
            }
        }
    };
    Html(markup.into_string())
}

/// The hidden CSRF field of a form.
pub fn csrf(v: &Viewer) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(v.csrf); }
}

/// A one-button form that posts to `action` (accept, leave, remove, ...).
pub fn button_form(v: &Viewer, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf(v))
            button type="submit" class=(class) { (label) }
        }
    }
}

/// A size in bytes as people read it (binary units).
pub fn size(bytes: u64) -> String {
    p2p_proto::units::size(bytes, 1)
}

/// A time as a `<time>` element (UTC, to the minute).
pub fn time(unix: i64) -> Markup {
    let full = rfc3339(unix);
    let shown = full.get(..16).unwrap_or(&full).replace('T', " ");
    html! { time datetime=(full) { (shown) } }
}

/// A notice after a form succeeded (`?done=...`): fixed texts only, so a
/// link cannot put words on the page.
pub fn done_notice(code: Option<&str>) -> Markup {
    let text = match code {
        Some("registered") => "Registered. Log in below.",
        Some("password") => "Password changed. Other sessions were ended.",
        Some("group") => "Group created.",
        Some("requested") => "Join request sent to the group's owner.",
        Some("accepted") => "Request accepted.",
        Some("rejected") => "Request rejected.",
        Some("left") => "You left the group.",
        Some("removed") => "Catalog entry removed.",
        Some("ended") => "Session ended.",
        Some("logged_out") => "Logged out.",
        _ => return html! {},
    };
    html! { p.notice.ok role="status" { (text) } }
}

/// An error shown above a form.
pub fn error_notice(message: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = message {
            p.notice.error role="alert" { (m) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }

    #[test]
    fn a_time_shows_the_minute_and_keeps_the_full_instant() {
        assert_eq!(
            time(0).into_string(),
            r#"<time datetime="1970-01-01T00:00:00Z">1970-01-01 00:00</time>"#
        );
    }
}
