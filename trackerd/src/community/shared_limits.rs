//! The failed-login and registration limits over every instance of a
//! shared database (issue 16 item 3): an attempt that passed this
//! instance's counts also takes its places in the database's
//! ([`crate::store::limits`]), and gives them back where it gives back
//! its local ones. On SQLite there are no shared counts and nothing here
//! does I/O.

use super::{Community, CommunityError};
use crate::accounts::login_limit::Reservation;
use crate::store::limits::{Full, Place};

/// A login attempt's places in this instance's counts and, on a shared
/// database, in every instance's.
#[derive(Debug)]
#[must_use = "a successful login must give its places back"]
pub(super) struct LoginPlaces {
    pub local: Reservation,
    pub shared: Vec<i64>,
}

/// A registration's place in this instance's count (when it was
/// recorded) and in every instance's.
#[derive(Debug, Default)]
pub(super) struct RegistrationPlace {
    pub local: Option<(String, i64)>,
    pub shared: Vec<i64>,
}

impl Community {
    /// Takes `places` in the shared counts at `now`: their ids, no ids
    /// without shared counts, or which one is full.
    pub(super) async fn take_shared(
        &self,
        places: &[Place],
        now: i64,
    ) -> Result<Result<Vec<i64>, Full>, CommunityError> {
        match &self.shared_limits {
            Some(l) if !places.is_empty() => Ok(l.take_places(places, now).await?),
            _ => Ok(Ok(Vec::new())),
        }
    }

    /// Gives shared places back; a failure leaves them to expire with
    /// their window (logged, not returned: the attempt is over).
    pub(super) async fn give_back_shared(&self, ids: &[i64]) {
        if let Some(l) = &self.shared_limits
            && !ids.is_empty()
            && let Err(e) = l.give_back_places(ids).await
        {
            tracing::warn!("giving back shared rate-limit places: {e}");
        }
    }

    /// The login succeeded: its places are given back, here and shared.
    pub(super) async fn login_succeeded(&self, places: LoginPlaces) {
        self.logins.lock().succeeded(places.local, self.now());
        self.give_back_shared(&places.shared).await;
    }

    /// The attempt never ran: no failure anywhere.
    pub(super) async fn release_login(&self, places: LoginPlaces) {
        self.logins.lock().release(&places.local);
        self.give_back_shared(&places.shared).await;
    }

    /// The registration failed (or never ran): its place is free again.
    pub(super) async fn give_back_registration(&self, place: RegistrationPlace) {
        if let Some((key, at)) = &place.local {
            self.registrations.lock().forget(key, *at);
        }
        self.give_back_shared(&place.shared).await;
    }

    /// Deletes shared places whose window is over.
    pub(super) async fn prune_shared(&self) {
        if let Some(l) = &self.shared_limits
            && let Err(e) = l.prune_places(self.now()).await
        {
            tracing::warn!("pruning shared rate-limit places: {e}");
        }
    }
}
