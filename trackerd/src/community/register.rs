//! Registration: a new account for a client address, at most
//! `max_registrations_per_address` within the window from one address
//! (IPv6: one /64), counted over every instance of a shared database
//! (issue 16), with the password hashed in the Argon2 queue.

use std::net::IpAddr;

use super::sessions::busy_error;
use super::shared_limits::RegistrationPlace;
use super::{Community, CommunityError};
use crate::accounts::limit::address_key;
use crate::accounts::{self, check_password};
use crate::events::event;
use crate::store::limits::Place;

impl Community {
    /// Creates an account for a client at `from`. At most
    /// `max_registrations_per_address` registrations from one address (IPv6:
    /// one /64) succeed within the window; further ones get 429 before the
    /// password is hashed.
    ///
    /// Only successful registrations count. Failed ones cost no Argon2 hash,
    /// so they need no limit of their own: a bad name or password (400) is
    /// refused before anything else, and a taken name (409) after one store
    /// lookup. The only failures that hash are registrations that lose a race
    /// for the same new name, and those need a place in the limit while they
    /// run (see `Community::reserve_registration`), so at most `max` run at
    /// once per address.
    pub async fn register(
        &self,
        username: &str,
        password: String,
        from: IpAddr,
    ) -> Result<String, CommunityError> {
        let name = accounts::new_username(username)?;
        check_password(&password)?;
        let place = self.reserve_registration(from).await?;
        let ticket = match self.hashes.admit(&address_key(from)) {
            Ok(t) => t,
            Err(busy) => {
                self.give_back_registration(place).await;
                return Err(busy_error(busy));
            }
        };
        let result = self.create_account(name, password).await;
        drop(ticket);
        if result.is_err() {
            self.give_back_registration(place).await;
        }
        result
    }

    /// Takes one of `from`'s registrations in the window, or refuses with
    /// 429; `None` when there is no limit. The place is taken before the
    /// registration runs, not after it succeeds, so concurrent requests
    /// cannot all pass the check before any is counted; a registration that
    /// fails gives it back. One abandoned midway (the client went away, the
    /// request timed out) keeps it: it may have cost a hash.
    async fn reserve_registration(
        &self,
        from: IpAddr,
    ) -> Result<RegistrationPlace, CommunityError> {
        let s = &self.settings;
        if s.max_registrations_per_address == 0 {
            return Ok(RegistrationPlace::default());
        }
        let key = address_key(from);
        let now = self.now();
        let limited = |wait| {
            CommunityError::RateLimited(format!(
                "too many registrations from {key} ({} within {} s); try again in {wait} s",
                s.max_registrations_per_address, s.registration_window_secs
            ))
        };
        let local = {
            let mut limiter = self.registrations.lock();
            if let Some(wait) = limiter.blocked_for(
                &key,
                now,
                s.max_registrations_per_address,
                s.registration_window_secs,
            ) {
                return Err(limited(wait));
            }
            // Not recorded (too many addresses tracked): nothing to give back.
            limiter
                .record(&key, now, s.registration_window_secs)
                .then(|| (key.clone(), now))
        };
        let mut place = RegistrationPlace {
            local,
            shared: Vec::new(),
        };
        // Every instance's registrations from this address (issue 16).
        let shared = [Place {
            scope: "register",
            key: key.clone(),
            max: s.max_registrations_per_address,
            window_secs: s.registration_window_secs,
        }];
        match self.take_shared(&shared, now).await {
            Ok(Ok(ids)) => place.shared = ids,
            Ok(Err(full)) => {
                self.give_back_registration(place).await;
                return Err(limited(full.wait_secs));
            }
            Err(e) => {
                self.give_back_registration(place).await;
                return Err(e);
            }
        }
        Ok(place)
    }

    /// Hashes the password and stores the account (`name` already checked).
    async fn create_account(
        &self,
        name: String,
        password: String,
    ) -> Result<String, CommunityError> {
        let taken = |name: &str| CommunityError::Conflict(format!("username {name:?} is taken"));
        // Before hashing, so a taken name costs a lookup, not an Argon2 hash
        // (and tells the client nothing the 409 would not).
        if self.store.user_by_name(&name).await?.is_some() {
            return Err(taken(&name));
        }
        let hash = accounts::hash_password(password).await?;
        let passkey = accounts::new_passkey();
        let now = self.now();
        // Under the index lock, so a concurrent rebuild cannot drop the new passkey.
        let w = self.writes.lock().await;
        let id = self
            .store
            .create_user(&name, &hash, &self.passkey_key.seal(&passkey), now)
            .await?
            .ok_or_else(|| taken(&name))?;
        self.access.add_passkey(passkey, id, name.clone());
        drop(w);
        self.log(event(now, "register", Some(&name))).await;
        Ok(name)
    }
}
