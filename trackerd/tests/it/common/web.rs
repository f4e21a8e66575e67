//! A browser without a browser, for the dashboard tests: cookies kept
//! between requests, the CSRF token read from the last page's forms, and
//! urlencoded form posts.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;

use super::api::PASSWORD;
use super::{Reply, Request};

/// One browser's cookies and the CSRF token of the page it saw last.
#[derive(Debug, Default, Clone)]
pub struct Browser {
    pub cookies: Vec<(String, String)>,
    pub csrf: String,
}

/// `application/x-www-form-urlencoded` of `fields`.
pub fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", p2p_proto::percent::percent_encode(v.as_bytes())))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

/// The `value` of the first hidden `csrf` field in a page.
pub fn csrf_in(page: &str) -> Option<String> {
    let at = page.find(r#"name="csrf" value=""#)?;
    let rest = &page[at + r#"name="csrf" value=""#.len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

impl Browser {
    /// The `Cookie` header value.
    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Keeps the cookies a reply set (and drops those it cleared).
    pub fn keep(&mut self, r: &Reply) {
        for line in r.head.lines().skip(1) {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            if !name.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let pair = value.trim().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            if !v.is_empty() && !value.contains("Max-Age=0") {
                self.cookies.push((k.to_owned(), v.to_owned()));
            }
        }
    }

    /// A request with this browser's cookies.
    pub fn request(&self, method: &str, target: &str) -> Request {
        let r = Request::new(method, target);
        if self.cookies.is_empty() {
            r
        } else {
            r.header("Cookie", &self.cookie_header())
        }
    }

    /// `GET target`, keeping cookies and the page's CSRF token.
    pub async fn get(&mut self, addr: SocketAddr, target: &str) -> Reply {
        let r = self.request("GET", target).send(addr).await;
        self.keep(&r);
        if let Some(t) = csrf_in(&r.text()) {
            self.csrf = t;
        }
        r
    }

    /// Posts a form with the CSRF token of the last page seen.
    pub async fn post(&mut self, addr: SocketAddr, target: &str, fields: &[(&str, &str)]) -> Reply {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(addr, target, &form(&all)).await
    }

    /// Posts a urlencoded body as it is.
    pub async fn post_raw(&mut self, addr: SocketAddr, target: &str, body: &[u8]) -> Reply {
        let r = self
            .request("POST", target)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send(addr)
            .await;
        self.keep(&r);
        r
    }

    /// A browser logged in as `name` (registered already) through the forms.
    pub async fn logged_in(addr: SocketAddr, name: &str) -> Browser {
        let mut b = Browser::default();
        b.get(addr, "/account").await;
        let r = b
            .post(
                addr,
                "/login",
                &[("username", name), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let r = b.get(addr, "/account").await;
        assert!(r.text().contains("Logged in as"), "{}", r.text());
        b
    }
}
