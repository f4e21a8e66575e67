//! The community side of the tracker (issue 5): accounts and sessions,
//! groups, the group catalog, private-swarm checks, per-user counters, the
//! event log and the shutdown notice. Domain logic only: handlers in
//! [`crate::http`] extract, call these methods and encode. Time comes from
//! an injectable [`Clock`]; store calls are async; no lock is held across
//! an `.await` except the async `writes` mutex that orders catalog and
//! membership changes with the matching change of the announce index
//! (made in place: the index is read from the store only at start).

mod announce;
mod browse;
mod error;
mod groups;
mod publish;
mod quotas;
mod register;
mod sessions;
mod shared_limits;
mod visibility;
mod web_sessions;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use error::CommunityError;
pub use publish::Scope;
pub use sessions::Session;

use crate::accounts::clock::{Clock, SystemClock};
use crate::accounts::hash_queue::HashQueue;
use crate::accounts::limit::FailureLimiter;
use crate::accounts::login_limit::{LoginLimits, LoginPolicy};
use crate::accounts::passkeys::{PasskeyKey, PasskeyKeyError};
use crate::catalog::traffic::Traffic;
use crate::catalog::{Access, Index};
use crate::config::Config;
use crate::events::EventLog;
use crate::store::StoreError;
use crate::store::community::{CommunityStore, EventRecord, LoggedEvent, StoredPasskey};

/// Download events from announces waiting to be written; more are dropped.
pub const MAX_QUEUED_ANNOUNCE_EVENTS: usize = 4096;
/// How often places in the shared rate-limit counts whose window is over
/// are deleted (PostgreSQL).
pub const SHARED_LIMITS_PRUNE_INTERVAL: Duration = Duration::from_secs(60);
/// How often traffic counters are written to the store.
pub const TRAFFIC_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// The settings this part of the tracker runs with (from [`Config`]).
#[derive(Debug, Clone)]
pub struct Settings {
    /// A session not renewed for this long is over.
    pub session_ttl_secs: i64,
    /// Failed logins allowed per address (and per user and address) within the window.
    pub max_login_failures: u32,
    /// The window, in seconds.
    pub login_failure_window_secs: i64,
    /// Failed logins allowed per user from addresses it never logged in
    /// from, within the user window.
    pub max_login_failures_per_user: u32,
    /// The user window, in seconds.
    pub user_login_failure_window_secs: i64,
    /// Successful registrations allowed per address (IPv6: per /64) within
    /// the window; 0: no limit.
    pub max_registrations_per_address: u32,
    /// The registration window, in seconds.
    pub registration_window_secs: i64,
    /// Whether torrents may be published outside groups.
    pub allow_public_torrents: bool,
    /// Base URL for announce URLs in personalised torrents; empty: from the
    /// request's Host header.
    pub public_url: String,
    /// Users who see others' addresses and full traffic (lowercase).
    pub admins: Vec<String>,
}

impl Settings {
    fn from_config(c: &Config) -> Settings {
        Settings {
            session_ttl_secs: i64::try_from(c.accounts.session_ttl_secs.max(1)).unwrap_or(i64::MAX),
            max_login_failures: c.accounts.max_login_failures.max(1),
            login_failure_window_secs: i64::try_from(c.accounts.login_failure_window_secs.max(1))
                .unwrap_or(i64::MAX),
            max_login_failures_per_user: c.accounts.max_login_failures_per_user.max(1),
            user_login_failure_window_secs: i64::try_from(
                c.accounts.user_login_failure_window_secs.max(1),
            )
            .unwrap_or(i64::MAX),
            max_registrations_per_address: c.accounts.max_registrations_per_address,
            registration_window_secs: i64::try_from(c.accounts.registration_window_secs.max(1))
                .unwrap_or(i64::MAX),
            allow_public_torrents: c.accounts.allow_public_torrents,
            public_url: c.public_url.trim_end_matches('/').to_owned(),
            admins: c
                .accounts
                .admins
                .iter()
                .map(|a| a.to_ascii_lowercase())
                .collect(),
        }
    }

    /// The failed-login policy these settings describe.
    pub fn login_policy(&self) -> LoginPolicy {
        LoginPolicy {
            max: self.max_login_failures,
            window_secs: self.login_failure_window_secs,
            max_per_user: self.max_login_failures_per_user,
            user_window_secs: self.user_login_failure_window_secs,
        }
    }
}

/// Accounts, groups, catalog and events, shared by every request.
#[derive(Debug)]
pub struct Community {
    store: Arc<dyn CommunityStore>,
    clock: RwLock<Arc<dyn Clock>>,
    /// The settings.
    pub settings: Settings,
    /// Per-user quotas.
    pub quotas: crate::config::QuotasConfig,
    logins: Mutex<LoginLimits>,
    /// Admission to Argon2 work (logins, registrations, password changes).
    hashes: HashQueue,
    /// Registrations (and ones in progress) per address key.
    registrations: Mutex<FailureLimiter>,
    /// The same counts over every instance of a shared database (issue
    /// 16); `None` on SQLite.
    shared_limits: Option<Arc<dyn crate::store::limits::SharedLimits>>,
    /// The announce index (passkeys, memberships, published torrents).
    pub access: Access,
    /// Seals and opens passkeys at rest.
    passkey_key: PasskeyKey,
    traffic: Mutex<Traffic>,
    /// Held while a drained batch of traffic is on its way to the store,
    /// and by readers of both: a batch is then counted once, never in
    /// neither place nor in both.
    traffic_flush: tokio::sync::Mutex<()>,
    /// The event log.
    pub events: Arc<EventLog>,
    writes: tokio::sync::Mutex<()>,
    shutdown: CancellationToken,
    announce_events: mpsc::Sender<LoggedEvent>,
}

impl Community {
    /// Loads the announce index and starts the background writer (traffic
    /// counters and download events). Must run inside a tokio runtime.
    pub async fn load(
        config: &Config,
        store: Arc<dyn CommunityStore>,
    ) -> Result<Arc<Community>, StoreError> {
        let log_path = if config.event_log.as_os_str().is_empty() {
            config.data_dir().join("trackerd-events.log")
        } else {
            config.event_log.clone()
        };
        if let Some(dir) = log_path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::private_files::create_dir(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
        }
        // Who logged in from where is for the operator only.
        crate::private_files::make_private(&log_path).map_err(|source| StoreError::Private {
            path: log_path.clone(),
            source,
        })?;
        let passkey_key = passkey_key(config)?;
        let (tx, rx) = mpsc::channel(MAX_QUEUED_ANNOUNCE_EVENTS);
        let shared_limits = store.shared_limits();
        let c = Arc::new(Community {
            passkey_key,
            events: Arc::new(EventLog::new(store.clone(), log_path)),
            store,
            clock: RwLock::new(Arc::new(SystemClock)),
            settings: Settings::from_config(config),
            quotas: config.quotas,
            logins: Mutex::default(),
            hashes: HashQueue::new(config.accounts.max_password_checks_per_address),
            registrations: Mutex::default(),
            shared_limits,
            access: Access::default(),
            traffic: Mutex::default(),
            traffic_flush: tokio::sync::Mutex::new(()),
            writes: tokio::sync::Mutex::new(()),
            shutdown: CancellationToken::new(),
            announce_events: tx,
        });
        c.seal_legacy_passkeys().await?;
        c.load_index().await?;
        // Other instances' events reach this one's streams (shared database).
        c.events.follow(c.shutdown.clone()).await?;
        tokio::spawn(background(c.clone(), rx));
        Ok(c)
    }

    /// Replaces the clock (tests move a [`crate::accounts::clock::ManualClock`]).
    pub fn set_clock(&self, clock: Arc<dyn Clock>) {
        *self.clock.write() = clock;
    }

    /// Now, in Unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.read().now()
    }

    /// The event log file.
    pub fn event_log_path(&self) -> PathBuf {
        self.events.path().to_owned()
    }

    /// Tells every session and event stream that the tracker is stopping
    /// (each gets a `shutdown` event and ends), and writes pending counters.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Calls [`Community::shutdown`] when `root` is cancelled.
    pub fn shutdown_with(self: &Arc<Self>, root: CancellationToken) {
        let c = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = root.cancelled() => c.shutdown(),
                _ = c.shutdown.cancelled() => {}
            }
        });
    }

    /// Cancelled when the tracker stops.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Seals the clear passkeys a database from before migration 0003
    /// holds (they keep working) and erases them.
    async fn seal_legacy_passkeys(&self) -> Result<(), StoreError> {
        let legacy = self.store.legacy_passkeys().await?;
        for (user_id, passkey) in &legacy {
            let sealed = self.passkey_key.seal(passkey);
            self.store.set_passkey(*user_id, &sealed).await?;
        }
        if !legacy.is_empty() {
            self.store.scrub().await?;
            tracing::info!(
                "sealed {} passkeys kept in clear by an older version",
                legacy.len()
            );
        }
        Ok(())
    }

    /// The passkey of a stored form.
    fn open_passkey(
        &self,
        user_id: i64,
        stored: &StoredPasskey,
    ) -> Result<String, PasskeyKeyError> {
        self.passkey_key.open(user_id, stored)
    }

    /// Reads the announce index from the store (at start; every change
    /// after that updates it in place).
    async fn load_index(&self) -> Result<(), StoreError> {
        let passkeys = self
            .store
            .passkeys()
            .await?
            .into_iter()
            .map(|(stored, id, name)| Ok((self.open_passkey(id, &stored)?, id, name)))
            .collect::<Result<Vec<_>, PasskeyKeyError>>()?;
        let index = Index::build(
            passkeys,
            self.store.memberships().await?,
            self.store.owners().await?,
        );
        self.access.replace(index);
        Ok(())
    }

    /// Reads the announce index again (another instance changed what it
    /// is built from, issue 16). Under the write lock, so that a change
    /// made here meanwhile is not replaced by an older reading.
    pub async fn reload_index(&self) -> Result<(), StoreError> {
        let _writes = self.writes.lock().await;
        self.load_index().await
    }

    /// Records an event about no group, logging (not failing) when the
    /// store refuses.
    async fn log(&self, e: EventRecord) {
        self.log_event(LoggedEvent {
            record: e,
            group_id: None,
        })
        .await;
    }

    /// Records an event about the group with id `group_id`.
    async fn log_group(&self, e: EventRecord, group_id: i64) {
        self.log_event(LoggedEvent {
            record: e,
            group_id: Some(group_id),
        })
        .await;
    }

    async fn log_event(&self, e: LoggedEvent) {
        if let Err(err) = self.events.record(e).await {
            tracing::warn!("recording an event: {err}");
        }
    }

    /// Writes pending traffic counters; on failure they wait for the next try.
    async fn flush_traffic(&self) {
        let _flushing = self.traffic_flush.lock().await;
        let batch = self.traffic.lock().drain();
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.store.add_traffic(&batch).await {
            tracing::warn!("writing traffic counters: {e}");
            self.traffic.lock().restore(&batch);
        }
    }
}

/// The passkey key's file in the data folder when the database is
/// PostgreSQL (there is no database file to put it beside).
pub const POSTGRES_PASSKEY_KEY_FILE: &str = "trackerd.passkey-key";

/// The key that seals passkeys: `passkey_key_file`, else beside the
/// database file (in the data folder for PostgreSQL); a key of the moment
/// for an in-memory database.
fn passkey_key(config: &Config) -> Result<PasskeyKey, StoreError> {
    let url = config.database_url();
    let path = if !config.passkey_key_file.as_os_str().is_empty() {
        Some(config.passkey_key_file.clone())
    } else if crate::store::postgres::is_postgres_url(&url) {
        Some(config.data_dir().join(POSTGRES_PASSKEY_KEY_FILE))
    } else {
        crate::store::sqlite::database_file(&url).map(|db| {
            let mut name = db.into_os_string();
            name.push(".passkey-key");
            PathBuf::from(name)
        })
    };
    Ok(match path {
        Some(p) => PasskeyKey::load_or_create(&p)?,
        None => PasskeyKey::ephemeral(),
    })
}

/// Writes download events and traffic counters, and expires sessions,
/// until shutdown.
async fn background(c: Arc<Community>, mut rx: mpsc::Receiver<LoggedEvent>) {
    let mut tick = tokio::time::interval(TRAFFIC_FLUSH_INTERVAL);
    let mut prune_shared = tokio::time::interval(SHARED_LIMITS_PRUNE_INTERVAL);
    loop {
        tokio::select! {
            _ = c.shutdown.cancelled() => break,
            Some(e) = rx.recv() => c.log_event(e).await,
            _ = tick.tick() => {
                c.flush_traffic().await;
                if let Err(e) = c.expire_sessions().await {
                    tracing::warn!("expiring sessions: {e}");
                }
                let now = c.now();
                c.logins.lock().prune(now, &c.settings.login_policy());
                c.registrations.lock().prune(now, c.settings.registration_window_secs);
            }
            _ = prune_shared.tick() => c.prune_shared().await,
        }
    }
    while let Ok(e) = rx.try_recv() {
        c.log_event(e).await;
    }
    c.flush_traffic().await;
}
