//! One method per trackerd endpoint p2pd uses: accounts, groups, the
//! catalog, the personal .torrent and the event log. Each builds its path
//! (names percent-encoded as one segment each) and returns the contract's
//! type from `p2p_proto::api`.
//!
//! No policy here: what a refusal means to the user is the caller's call.

use p2p_proto::api::{
    Accepted, CatalogEntry, CatalogList, EventPage, EventQuery, Group, GroupList, JoinRequested,
    JoinRequests, Left, LoggedOut, LoginReply, LoginRequest, Members, NewGroup, PasskeyRotated,
    RegisterRequest, Registered, Rejected, Removed, Whoami, Withdrawn,
};
use p2p_proto::infohash::InfoHash;
use reqwest::Method;

use super::{TrackerApi, TrackerApiError, segment};

type Result<T> = std::result::Result<T, TrackerApiError>;

/// No JSON body.
const NO_BODY: Option<&()> = None;

/// `/api/v1/groups/{g}` with the name encoded.
fn group_path(group: &str) -> String {
    format!("/api/v1/groups/{}", segment(group))
}

/// The catalog of a group, or the public one.
fn catalog_path(group: Option<&str>) -> String {
    match group {
        Some(g) => format!("{}/torrents", group_path(g)),
        None => "/api/v1/public/torrents".to_owned(),
    }
}

/// The query string of an events page (`?after=..&limit=..`, or nothing).
fn events_path(query: EventQuery) -> String {
    let mut q = Vec::new();
    if let Some(a) = query.after {
        q.push(format!("after={a}"));
    }
    if let Some(l) = query.limit {
        q.push(format!("limit={l}"));
    }
    if q.is_empty() {
        "/api/v1/events".to_owned()
    } else {
        format!("/api/v1/events?{}", q.join("&"))
    }
}

impl TrackerApi {
    /// `POST /api/v1/register`.
    pub async fn register(&self, request: &RegisterRequest) -> Result<Registered> {
        self.call(Method::POST, "/api/v1/register", None, Some(request))
            .await
    }

    /// `POST /api/v1/login`.
    pub async fn login(&self, request: &LoginRequest) -> Result<LoginReply> {
        self.call(Method::POST, "/api/v1/login", None, Some(request))
            .await
    }

    /// `POST /api/v1/logout`.
    pub async fn logout(&self, token: &str) -> Result<LoggedOut> {
        self.call(Method::POST, "/api/v1/logout", Some(token), NO_BODY)
            .await
    }

    /// `POST /api/v1/passkey`: a new passkey; the old one is refused from now on.
    pub async fn rotate_passkey(&self, token: &str) -> Result<PasskeyRotated> {
        self.call(Method::POST, "/api/v1/passkey", Some(token), NO_BODY)
            .await
    }

    /// `GET /api/v1/whoami`.
    pub async fn whoami(&self, token: &str) -> Result<Whoami> {
        self.call(Method::GET, "/api/v1/whoami", Some(token), NO_BODY)
            .await
    }

    /// `POST /api/v1/groups`: creates a group owned by the caller.
    pub async fn create_group(&self, token: &str, name: &str) -> Result<Group> {
        let body = NewGroup {
            name: name.to_owned(),
        };
        self.call(Method::POST, "/api/v1/groups", Some(token), Some(&body))
            .await
    }

    /// `GET /api/v1/groups`.
    pub async fn groups(&self, token: &str) -> Result<GroupList> {
        self.call(Method::GET, "/api/v1/groups", Some(token), NO_BODY)
            .await
    }

    /// `POST /api/v1/groups/{g}/join`: asks to join.
    pub async fn join_group(&self, token: &str, group: &str) -> Result<JoinRequested> {
        let path = format!("{}/join", group_path(group));
        self.call(Method::POST, &path, Some(token), NO_BODY).await
    }

    /// `POST /api/v1/groups/{g}/leave`.
    pub async fn leave_group(&self, token: &str, group: &str) -> Result<Left> {
        let path = format!("{}/leave", group_path(group));
        self.call(Method::POST, &path, Some(token), NO_BODY).await
    }

    /// `GET /api/v1/groups/{g}/requests` (owner only).
    pub async fn join_requests(&self, token: &str, group: &str) -> Result<JoinRequests> {
        let path = format!("{}/requests", group_path(group));
        self.call(Method::GET, &path, Some(token), NO_BODY).await
    }

    /// `POST /api/v1/groups/{g}/requests/{user}/accept` (owner only).
    pub async fn accept(&self, token: &str, group: &str, user: &str) -> Result<Accepted> {
        let path = format!("{}/requests/{}/accept", group_path(group), segment(user));
        self.call(Method::POST, &path, Some(token), NO_BODY).await
    }

    /// `POST /api/v1/groups/{g}/requests/{user}/reject` (owner only).
    pub async fn reject(&self, token: &str, group: &str, user: &str) -> Result<Rejected> {
        let path = format!("{}/requests/{}/reject", group_path(group), segment(user));
        self.call(Method::POST, &path, Some(token), NO_BODY).await
    }

    /// `GET /api/v1/groups/{g}/members`.
    pub async fn members(&self, token: &str, group: &str) -> Result<Members> {
        let path = format!("{}/members", group_path(group));
        self.call(Method::GET, &path, Some(token), NO_BODY).await
    }

    /// `DELETE /api/v1/groups/{g}/members/{user}` (owner only).
    pub async fn remove_member(&self, token: &str, group: &str, user: &str) -> Result<Removed> {
        let path = format!("{}/members/{}", group_path(group), segment(user));
        self.call(Method::DELETE, &path, Some(token), NO_BODY).await
    }

    /// A group's catalog, or the public one (`group` is `None`).
    pub async fn catalog(&self, token: &str, group: Option<&str>) -> Result<CatalogList> {
        self.call(Method::GET, &catalog_path(group), Some(token), NO_BODY)
            .await
    }

    /// Publishes a .torrent (its raw bytes) in a group's catalog or the public one.
    pub async fn publish(
        &self,
        token: &str,
        group: Option<&str>,
        torrent: &[u8],
    ) -> Result<CatalogEntry> {
        let bytes = self
            .call_bytes(
                Method::POST,
                &catalog_path(group),
                Some(token),
                Some(torrent),
            )
            .await?;
        super::decode(&bytes)
    }

    /// Withdraws an entry from a group's catalog or the public one.
    pub async fn withdraw(
        &self,
        token: &str,
        group: Option<&str>,
        info_hash: InfoHash,
    ) -> Result<Withdrawn> {
        let path = format!("{}/{}", catalog_path(group), info_hash.to_hex());
        self.call(Method::DELETE, &path, Some(token), NO_BODY).await
    }

    /// `GET /api/v1/search?q=`: the entries the caller may see whose name matches.
    pub async fn search(&self, token: &str, term: &str) -> Result<CatalogList> {
        let path = format!("/api/v1/search?q={}", segment(term));
        self.call(Method::GET, &path, Some(token), NO_BODY).await
    }

    /// `GET /api/v1/torrents/{info_hash}/torrent`: the .torrent with the
    /// caller's passkey announce URL, as raw bytes.
    pub async fn personal_torrent(&self, token: &str, info_hash: InfoHash) -> Result<Vec<u8>> {
        let path = format!("/api/v1/torrents/{}/torrent", info_hash.to_hex());
        self.call_bytes(Method::GET, &path, Some(token), None).await
    }

    /// `GET /api/v1/events`: a page of the event log.
    pub async fn events(&self, token: &str, query: EventQuery) -> Result<EventPage> {
        self.call(Method::GET, &events_path(query), Some(token), NO_BODY)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_encode_names_as_single_segments() {
        assert_eq!(group_path("a/b?c"), "/api/v1/groups/a%2Fb%3Fc");
        assert_eq!(catalog_path(Some("team")), "/api/v1/groups/team/torrents");
        assert_eq!(catalog_path(None), "/api/v1/public/torrents");
        assert_eq!(events_path(EventQuery::default()), "/api/v1/events");
        assert_eq!(
            events_path(EventQuery {
                after: Some(4),
                limit: Some(10)
            }),
            "/api/v1/events?after=4&limit=10"
        );
    }
}
