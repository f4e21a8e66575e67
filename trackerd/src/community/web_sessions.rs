//! Browser sessions (the web dashboard, issue 14): the same login as the
//! API (its failed-login limits and Argon2 queue), but a session of its
//! own, so a browser never ends the daemon's one session per user. A
//! token names either kind; authentication, renewal, logout, expiry,
//! password changes and the admin's order work on both (see
//! [`crate::store::community::CommunityStore`]).

use std::net::IpAddr;

use super::{Community, CommunityError};
use crate::accounts;
use crate::events::event;

impl Community {
    /// Logs a browser in from `from`; returns the session token. The
    /// `login` event says `(web)`.
    pub async fn web_login(
        &self,
        username: &str,
        password: String,
        from: IpAddr,
    ) -> Result<String, CommunityError> {
        let from = from.to_canonical();
        let user = self.check_login(username, password, from).await?;
        let (token, token_hash) = accounts::new_token();
        let now = self.now();
        self.store
            .open_web_session(
                user.id,
                &token_hash,
                &from.to_string(),
                now,
                self.cutoff(now),
            )
            .await?;
        let mut e = event(now, "login", Some(&user.username));
        e.detail = format!("from {from} (web)");
        self.log(e).await;
        Ok(token)
    }
}
