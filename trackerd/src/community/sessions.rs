//! Accounts and sessions: login (one
//! live session per user, takeover on request, failed attempts limited as
//! [`crate::accounts::login_limit`] says, password checks admitted to the
//! Argon2 queue per address), logout, authentication with renewal, password
//! change, online users and per-user stats.

use std::net::IpAddr;

use p2p_proto::api::{LoginReply, OnlineUser, UserStats};
use p2p_proto::time::rfc3339;

use super::shared_limits::LoginPlaces;
use super::{Community, CommunityError};
use crate::accounts::hash_queue::{Busy, HashTicket};
use crate::accounts::limit::address_key;
use crate::accounts::{self, check_password, normalize_username};
use crate::events::event;
use crate::store::community::{SessionOutcome, StoredPasskey, UserRecord};

/// An authenticated request's session.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// The user's id.
    pub user_id: i64,
    /// The user's name.
    pub username: String,
    /// The user's passkey.
    pub passkey: String,
    /// SHA-256 of the token.
    pub token_hash: String,
    /// Unix seconds of the login.
    pub since: i64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The 429 for a full Argon2 queue.
pub(super) fn busy_error(busy: Busy) -> CommunityError {
    CommunityError::Throttled {
        message: busy.to_string(),
        retry_after_secs: 1,
    }
}

impl Community {
    /// A user's passkey from its stored form; a key that does not open it
    /// is the operator's mistake (500), never the user's.
    fn passkey_of(&self, user_id: i64, stored: &StoredPasskey) -> Result<String, CommunityError> {
        self.open_passkey(user_id, stored)
            .map_err(|e| CommunityError::Internal(e.to_string()))
    }

    pub(super) fn cutoff(&self, now: i64) -> i64 {
        now - self.settings.session_ttl_secs
    }

    /// Takes a place for one password check by `name` from `from` in the
    /// failed-login counts (see [`crate::accounts::login_limit`]), then a
    /// place in the Argon2 queue; refuses at once with 429 and
    /// `Retry-After` when either is full. Both are taken before anything is
    /// hashed, so simultaneous attempts cannot get past the limit.
    async fn admit_login(
        &self,
        name: &str,
        from: IpAddr,
    ) -> Result<(LoginPlaces, HashTicket), CommunityError> {
        let address = address_key(from);
        let now = self.now();
        let policy = self.settings.login_policy();
        let throttled = |who: &str, max: u32, window_secs: i64, wait_secs: i64| {
            CommunityError::Throttled {
                message: format!(
                    "too many failed logins for {who} ({max} within {window_secs} s); try again in {wait_secs} s"
                ),
                retry_after_secs: u64::try_from(wait_secs).unwrap_or(1),
            }
        };
        let (local, shared) = {
            let mut logins = self.logins.lock();
            let local = logins
                .reserve(&policy, name, &address, now)
                .map_err(|b| throttled(&b.who, b.max, b.window_secs, b.wait_secs))?;
            let shared = logins.shared_places(&policy, &local);
            (local, shared)
        };
        // The same counts over every instance (issue 16).
        let mut places = LoginPlaces {
            local,
            shared: Vec::new(),
        };
        match self.take_shared(&shared, now).await {
            Ok(Ok(ids)) => places.shared = ids,
            Ok(Err(full)) => {
                self.release_login(places).await;
                let p = &shared[full.index];
                let who = if p.scope == "login_address" {
                    &address
                } else {
                    name
                };
                return Err(throttled(who, p.max, p.window_secs, full.wait_secs));
            }
            Err(e) => {
                self.release_login(places).await;
                return Err(e);
            }
        }
        match self.hashes.admit(&address) {
            Ok(ticket) => Ok((places, ticket)),
            Err(busy) => {
                // The attempt never ran: it is no failure.
                self.release_login(places).await;
                Err(busy_error(busy))
            }
        }
    }

    /// Logs in from `from`. A second login while a session is live is
    /// refused unless `takeover`, which ends the old session.
    pub async fn login(
        &self,
        username: &str,
        password: String,
        takeover: bool,
        from: IpAddr,
    ) -> Result<LoginReply, CommunityError> {
        let from = from.to_canonical();
        let user = self.check_login(username, password, from).await?;
        let now = self.now();
        let (token, token_hash) = accounts::new_token();
        let address = from.to_string();
        match self
            .store
            .open_session(
                user.id,
                &token_hash,
                &address,
                now,
                self.cutoff(now),
                takeover,
            )
            .await?
        {
            SessionOutcome::Created => {}
            SessionOutcome::Busy { address, since } => {
                return Err(CommunityError::Conflict(format!(
                    "{} is already logged in from {address} since {}; log in with takeover to end that session",
                    user.username,
                    rfc3339(since)
                )));
            }
        }
        let mut e = event(now, "login", Some(&user.username));
        e.detail = format!(
            "from {address}{}",
            if takeover { " (takeover)" } else { "" }
        );
        self.log(e).await;
        Ok(LoginReply {
            token,
            passkey: self.passkey_of(user.id, &user.passkey)?,
            username: user.username,
            session_ttl_secs: self.settings.session_ttl_secs,
        })
    }

    /// Checks a login's name and password under the failed-login limits
    /// and the Argon2 queue (the API's login and the dashboard's); the user
    /// on success.
    pub(super) async fn check_login(
        &self,
        username: &str,
        password: String,
        from: IpAddr,
    ) -> Result<UserRecord, CommunityError> {
        // Capped: the limiter keeps one key per name tried, whatever its size.
        let name: String = username
            .chars()
            .take(64)
            .collect::<String>()
            .to_ascii_lowercase();
        let (places, ticket) = self.admit_login(&name, from).await?;
        let user = match normalize_username(&name) {
            Ok(valid) => self.store.user_by_name(&valid).await?,
            Err(_) => None,
        };
        let ok =
            accounts::verify_password(password, user.as_ref().map(|u| u.password_hash.clone()))
                .await;
        drop(ticket);
        match user {
            Some(u) if ok => {
                self.login_succeeded(places).await;
                Ok(u)
            }
            // The reservation stays: it counts as a failure.
            _ => Err(CommunityError::BadCredentials),
        }
    }

    /// The session a bearer token names, renewed; `Unauthenticated` when
    /// it is unknown, ended or expired.
    pub async fn authenticate(&self, token: &str) -> Result<Session, CommunityError> {
        if token.len() > 128 {
            return Err(CommunityError::Unauthenticated);
        }
        let hash = accounts::token_hash(token);
        let now = self.now();
        let s = self
            .store
            .touch_session(&hash, now, self.cutoff(now))
            .await?
            .ok_or(CommunityError::Unauthenticated)?;
        Ok(Session {
            user_id: s.user_id,
            passkey: self.passkey_of(s.user_id, &s.passkey)?,
            username: s.username,
            token_hash: hash,
            since: s.created_at,
        })
    }

    /// Renews a session without a request (session streams): the time it
    /// was renewed at, or `None` when it ended.
    pub async fn renew(&self, s: &Session) -> Result<Option<i64>, CommunityError> {
        let now = self.now();
        Ok(self
            .store
            .touch_session(&s.token_hash, now, self.cutoff(now))
            .await?
            .map(|_| now))
    }

    /// Ends a session.
    pub async fn logout(&self, s: &Session) -> Result<(), CommunityError> {
        self.store.close_session(&s.token_hash).await?;
        self.log(event(self.now(), "logout", Some(&s.username)))
            .await;
        Ok(())
    }

    /// Changes the password after checking the old one (failures count
    /// towards the login limits). Every session of the user ends, the
    /// asking one included: a token stolen with (or instead of) the old
    /// password must not outlive it. The caller gets a new session, from
    /// the same address; its token is returned. The passkey is left alone:
    /// rotating it restarts the user's torrents, so it is its own request
    /// ([`Community::rotate_passkey`]).
    pub async fn change_password(
        &self,
        s: &Session,
        old: String,
        new: String,
        from: IpAddr,
    ) -> Result<String, CommunityError> {
        check_password(&new)?;
        let from = from.to_canonical();
        let (places, ticket) = self.admit_login(&s.username, from).await?;
        let user = self
            .store
            .user_by_name(&s.username)
            .await?
            .ok_or(CommunityError::Unauthenticated)?;
        if !accounts::verify_password(old, Some(user.password_hash)).await {
            return Err(CommunityError::BadCredentials);
        }
        self.login_succeeded(places).await;
        let hash = accounts::hash_password(new).await?;
        drop(ticket);
        self.store.set_password(s.user_id, &hash).await?;
        // One session per user: taking it over replaces the old token.
        let (token, token_hash) = accounts::new_token();
        let now = self.now();
        self.store
            .open_session(
                s.user_id,
                &token_hash,
                &from.to_string(),
                now,
                self.cutoff(now),
                true,
            )
            .await?;
        // Streams of the old session end on this event (see http::community_api::streams).
        self.log(event(now, "password_changed", Some(&s.username)))
            .await;
        Ok(token)
    }

    /// Gives the user a new passkey; the old one is refused from the next
    /// announce on (the index is updated before this returns). Returns it.
    pub async fn rotate_passkey(&self, s: &Session) -> Result<String, CommunityError> {
        let passkey = accounts::new_passkey();
        let sealed = self.passkey_key.seal(&passkey);
        // Under the index lock, so a concurrent rebuild cannot bring back the old one.
        let w = self.writes.lock().await;
        if !self.store.set_passkey(s.user_id, &sealed).await? {
            return Err(CommunityError::Unauthenticated);
        }
        self.access.replace_passkey(passkey.clone(), s.user_id);
        drop(w);
        self.log(event(self.now(), "passkey_rotated", Some(&s.username)))
            .await;
        Ok(passkey)
    }

    /// Ends sessions nobody renewed within the TTL, with a `session_expired`
    /// event each (a daemon that stopped without logging out).
    pub async fn expire_sessions(&self) -> Result<(), CommunityError> {
        let now = self.now();
        for name in self.store.expire_sessions(self.cutoff(now)).await? {
            self.log(event(now, "session_expired", Some(&name))).await;
        }
        Ok(())
    }

    /// The names of the users with a live session.
    pub async fn online_names(&self) -> Result<Vec<String>, CommunityError> {
        let cutoff = self.cutoff(self.now());
        let live = self.store.online(cutoff).await?;
        Ok(live.into_iter().map(|s| s.username).collect())
    }

    /// Users with a live session, as `viewer` may see them: addresses only
    /// of themself, or of everyone for an admin.
    pub async fn online(&self, viewer: &Session) -> Result<Vec<OnlineUser>, CommunityError> {
        let now = self.now();
        Ok(self
            .store
            .online(self.cutoff(now))
            .await?
            .into_iter()
            .map(|s| OnlineUser {
                address: self.sees_private_of(viewer, s.user_id).then_some(s.address),
                username: s.username,
                since: s.created_at,
                last_seen: s.last_seen,
            })
            .collect())
    }

    /// One user's counters (pending announce traffic included), as
    /// `viewer` may see them: in full for themself or an admin, else
    /// without private-group detail (see [`UserStats`]).
    pub async fn user_stats(
        &self,
        viewer: &Session,
        username: &str,
    ) -> Result<UserStats, CommunityError> {
        let name: String = username
            .chars()
            .take(64)
            .collect::<String>()
            .to_ascii_lowercase();
        // The stored counters and the pending ones, read with no flush
        // between them.
        let _counting = self.traffic_flush.lock().await;
        let user = self.store.user_by_name(&name).await?.ok_or_else(|| {
            CommunityError::NotFound(format!(
                "no user {:?}",
                name.chars().take(64).collect::<String>()
            ))
        })?;
        let online = self
            .store
            .online(self.cutoff(self.now()))
            .await?
            .iter()
            .any(|o| o.user_id == user.id);
        let pending = self.traffic.lock().pending(user.id);
        let (shared, up, down) = if self.sees_private_of(viewer, user.id) {
            (
                self.store.shared_count(user.id).await?,
                user.uploaded.saturating_add(pending.uploaded),
                user.downloaded.saturating_add(pending.downloaded),
            )
        } else {
            let mut scopes = self.access.groups_of(viewer.user_id);
            if self.settings.allow_public_torrents {
                scopes.push(crate::store::community::PUBLIC_GROUP);
            }
            let (up, down) = self.store.public_traffic(user.id).await?;
            (
                self.store.shared_count_in(user.id, &scopes).await?,
                up.saturating_add(pending.public_uploaded),
                down.saturating_add(pending.public_downloaded),
            )
        };
        Ok(UserStats {
            username: user.username,
            uploaded: up,
            downloaded: down,
            torrents_shared: shared,
            online,
            registered_at: user.created_at,
        })
    }
}
