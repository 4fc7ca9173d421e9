//! The store on PostgreSQL: for many API replicas and workers on many machines.

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::sync::Notify;

use crate::StoreSettings;
use crate::sql::{Sql, statements};

static SQL: Sql = statements!(
    "(extract(epoch from clock_timestamp()) * 1000)::bigint",
    "FOR UPDATE SKIP LOCKED"
);

/// The channel a submission notifies, so that idle workers claim at once.
const CHANNEL: &str = "ocrlty_jobs";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Jobs in PostgreSQL (`DATABASE_URL=postgres://…`).
#[derive(Debug)]
pub struct PostgresStore {
    pool: PgPool,
    settings: StoreSettings,
    /// Woken by every notification on [`CHANNEL`] (a task listens).
    work: std::sync::Arc<Notify>,
}

impl crate::store::HasDb for PostgresStore {
    type Db = sqlx::Postgres;
}

impl PostgresStore {
    /// Connects, migrates the schema (under the migrator's lock, so replicas starting together
    /// are safe) and starts listening for submissions.
    pub async fn connect(url: &str, settings: StoreSettings) -> crate::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        let work = std::sync::Arc::new(Notify::new());
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANNEL).await?;
        let notify = work.clone();
        tokio::spawn(async move {
            // PgListener reconnects by itself after a lost connection; a failure here only
            // means waiting workers fall back to polling.
            loop {
                match listener.recv().await {
                    Ok(_) => notify.notify_waiters(),
                    Err(e) => {
                        tracing::warn!(error = %e, "job notifications interrupted");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(PostgresStore {
            pool,
            settings,
            work,
        })
    }

    async fn wake(&self) {
        if let Err(e) = sqlx::query("SELECT pg_notify($1, '')")
            .bind(CHANNEL)
            .execute(&self.pool)
            .await
        {
            tracing::debug!(error = %e, "cannot notify the workers; they will poll");
        }
    }

    async fn wait(&self, max: Duration) {
        let _ = tokio::time::timeout(max, self.work.notified()).await;
    }
}

crate::store::impl_job_store!(PostgresStore, "postgres");
