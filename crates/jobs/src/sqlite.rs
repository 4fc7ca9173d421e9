//! The embedded store: one SQLite file in the data directory, for one node (the API with
//! in-process workers, or workers beside it on the same machine).

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::Notify;

use crate::StoreSettings;
use crate::sql::{Sql, statements};

static SQL: Sql = statements!(
    "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
    ""
);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How often a worker looks for jobs submitted by another process on the same file.
const POLL: Duration = Duration::from_millis(250);

/// Jobs in an SQLite file (WAL mode: readers never wait for the writer).
#[derive(Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    settings: StoreSettings,
    /// Woken by submissions in this process.
    work: Notify,
}

impl crate::store::HasDb for SqliteStore {
    type Db = sqlx::Sqlite;
}

impl SqliteStore {
    /// Opens (creating when missing) the file and its directory, and migrates the schema.
    pub async fn open(path: &Path, settings: StoreSettings) -> crate::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| crate::StoreError::DataDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore {
            pool,
            settings,
            work: Notify::new(),
        })
    }

    async fn wake(&self) {
        self.work.notify_waiters();
    }

    async fn wait(&self, max: Duration) {
        let _ = tokio::time::timeout(max.min(POLL), self.work.notified()).await;
    }
}

crate::store::impl_job_store!(SqliteStore, "sqlite");
