//! The overview: counts of the catalog and the swarms, announces per
//! second, online users, and charts of the last hour.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

use crate::app::Tracker;
use crate::store::browse::{BrowseQuery, SortColumn};
use crate::web::WebError;
use crate::web::chart::line;
use crate::web::layout::{Nav, page};
use crate::web::session::Viewer;

pub async fn show(State(t): State<Arc<Tracker>>, v: Viewer) -> Result<Response, WebError> {
    let c = &t.community;
    // The catalog as this viewer may list it; the swarm figures are the
    // tracker's totals, as `/api/v1/stats` shows anyone.
    let listed = c
        .browse(
            v.session.as_ref(),
            BrowseQuery {
                scopes: None,
                q: String::new(),
                sort: SortColumn::Added,
                descending: true,
                offset: 0,
                limit: 1,
            },
        )
        .await?
        .total;
    let totals = t.totals();
    let online = c.online_names().await?.len();
    let rate = t.stats.announce_rate();
    let completed = t.stats.completed.load(Ordering::Relaxed);
    let samples = t.samples.all();
    let now = samples.last().map_or(0, |s| s.at);
    let series = |f: fn(&crate::web::samples::Sample) -> f64| -> Vec<(i64, f64)> {
        samples.iter().map(|s| (s.at, f(s))).collect()
    };
    let body = html! {
        h1 { "Overview" }
        dl.figures {
            div { dt { "Torrents" } dd #fig-torrents { (listed) } }
            div { dt { "Seeders" } dd { (totals.seeders) } }
            div { dt { "Leechers" } dd { (totals.leechers) } }
            div { dt { "Completed downloads" } dd { (completed) } }
            div { dt { "Announces per second" } dd { (format!("{rate:.1}")) } }
            div { dt { "Online users" } dd { (online) } }
        }
        h2 { "The last hour" }
        div.charts {
            (line("Announces per second", &series(|s| s.announces_per_second), now, &format!("{rate:.1}")))
            (line("Seeders", &series(|s| s.seeders as f64), now, &totals.seeders.to_string()))
            (line("Leechers", &series(|s| s.leechers as f64), now, &totals.leechers.to_string()))
            (line("Online users", &series(|s| s.online as f64), now, &online.to_string()))
        }
    };
    Ok(v.finish(page(Some(&v), "Overview", Nav::Overview, body).into_response()))
}
