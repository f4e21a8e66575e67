//! Which store the tests run trackerd on (issue 16): SQLite in the data
//! folder (the default), or PostgreSQL when `P2P_TEST_STORE=postgres`, with
//! one fresh schema per data folder in the database `P2P_TEST_PG_URL`
//! names (scripts/with-postgres starts a throwaway cluster and sets both).
//! A schema, not a database: it costs a few catalog rows where a database
//! copies 7 MB of template, so a suite leaves megabytes, not a gigabyte,
//! to delete. trackerd reaches it through `search_path` in the URL's
//! `options`, as an operator may.
//! The same folder gets the same database again, so a test that restarts
//! trackerd on its folder finds its data, as it does with SQLite.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// The store under test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestStore {
    /// A SQLite file in the data folder.
    Sqlite,
    /// Databases in the cluster of this (admin) URL.
    Postgres(String),
}

/// The store `P2P_TEST_STORE` names; a wrong setting fails the test rather
/// than silently testing the other store.
pub fn test_store() -> TestStore {
    match std::env::var("P2P_TEST_STORE").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => TestStore::Sqlite,
        Ok("postgres") => match std::env::var("P2P_TEST_PG_URL") {
            Ok(url) if !url.is_empty() => TestStore::Postgres(url),
            _ => panic!(
                "P2P_TEST_STORE=postgres needs P2P_TEST_PG_URL: run the tests through \
                 scripts/with-postgres, which starts a throwaway PostgreSQL"
            ),
        },
        Ok(other) => panic!("P2P_TEST_STORE={other:?}: expected sqlite or postgres"),
    }
}

/// Whether the tests run on PostgreSQL.
pub fn is_postgres() -> bool {
    matches!(test_store(), TestStore::Postgres(_))
}

/// For a test that only means something on SQLite (it reads the database
/// file, or upgrades a SQLite file an older version left): `true` when the
/// store under test is PostgreSQL, after saying so on stderr, so the test
/// returns there. Each caller says why in a comment.
pub fn sqlite_only(test: &str) -> bool {
    let pg = is_postgres();
    if pg {
        eprintln!("{test}: SQLite-only, not run on PostgreSQL");
    }
    pg
}

static DATABASES: Mutex<Option<HashMap<PathBuf, String>>> = Mutex::new(None);
static NEXT: AtomicU32 = AtomicU32::new(0);

/// The database URL for a data folder: `None` on SQLite (trackerd's
/// default file in the folder), else the URL of the folder's own
/// PostgreSQL database, created the first time. Blocking (it runs its own
/// runtime on a thread), so it serves sync and async tests alike.
pub fn database_url(dir: &Path) -> Option<String> {
    let TestStore::Postgres(admin) = test_store() else {
        return None;
    };
    let mut map = DATABASES.lock().unwrap();
    let map = map.get_or_insert_with(HashMap::new);
    if let Some(url) = map.get(dir) {
        return Some(url.clone());
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!(
        "t_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let url = create_schema(&admin, &name);
    map.insert(dir.to_owned(), url.clone());
    Some(url)
}

/// Runs `f` on a thread of its own with its own runtime: callable from
/// sync tests and from inside a test's runtime alike.
fn on_own_runtime<T, F>(f: impl FnOnce() -> F + Send + 'static) -> T
where
    T: Send + 'static,
    F: std::future::Future<Output = T>,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f())
    })
    .join()
    .unwrap()
}

async fn connect(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test PostgreSQL: {e}"))
}

/// Creates a schema and returns the URL that makes it trackerd's.
fn create_schema(admin: &str, name: &str) -> String {
    let admin_url = admin.to_owned();
    let sql = format!("CREATE SCHEMA \"{name}\"");
    on_own_runtime(move || async move {
        let mut conn = connect(&admin_url).await;
        sqlx::raw_sql(&sql).execute(&mut conn).await.unwrap();
    });
    let sep = if admin.contains('?') { '&' } else { '?' };
    format!("{admin}{sep}options=-c%20search_path%3D{name}")
}

/// Everything the database of a data folder holds, as bytes to search:
/// the SQLite file with its WAL and shared memory, or every row of every
/// table as PostgreSQL prints it (BYTEA as hex).
pub fn database_contents(dir: &Path) -> Vec<u8> {
    let Some(url) = database_url(dir) else {
        let mut all = Vec::new();
        for suffix in ["", "-wal", "-shm"] {
            if let Ok(b) = std::fs::read(dir.join(format!("trackerd.sqlite{suffix}"))) {
                all.extend(b);
            }
        }
        return all;
    };
    on_own_runtime(move || async move {
        let mut conn = connect(&url).await;
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let mut all = Vec::new();
        for t in tables {
            let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT t::text FROM \"{t}\" t"))
                .fetch_all(&mut conn)
                .await
                .unwrap();
            for r in rows {
                all.extend_from_slice(r.as_bytes());
                all.push(b'\n');
            }
        }
        all
    })
}

/// Bytes the database of a data folder takes: the SQLite file and its
/// WAL, or its PostgreSQL tables with their indexes and TOAST.
pub fn database_size(dir: &Path) -> u64 {
    let Some(url) = database_url(dir) else {
        return ["trackerd.sqlite", "trackerd.sqlite-wal"]
            .iter()
            .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
            .map(|m| m.len())
            .sum();
    };
    on_own_runtime(move || async move {
        let mut conn = connect(&url).await;
        let n: i64 = sqlx::query_scalar(
            "SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind = 'r'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        u64::try_from(n).unwrap()
    })
}

/// Where trackerd keeps the passkey key of a data folder by default.
pub fn passkey_key_file(dir: &Path) -> PathBuf {
    if is_postgres() {
        dir.join(trackerd::community::POSTGRES_PASSKEY_KEY_FILE)
    } else {
        dir.join("trackerd.sqlite.passkey-key")
    }
}
