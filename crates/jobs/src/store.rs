//! What both stores share: reading rows, and the one implementation of [`crate::JobStore`]
//! over their statements, written once as a macro because sqlx's pools are typed by database.

use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::view::JobRow;

/// Reads a [`JobRow`] from a row of either database.
pub(crate) fn job_row<'r, R>(r: &'r R) -> crate::Result<JobRow>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(JobRow {
        id: r.try_get("id")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        max_attempts: r.try_get("max_attempts")?,
        created_at: r.try_get("created_at")?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
        expires_at: r.try_get("expires_at")?,
        filename: r.try_get("filename")?,
        callback_url: r.try_get("callback_url")?,
        result: r.try_get("result")?,
        error: r.try_get("error")?,
    })
}

/// The message a job fails with when its worker was lost on its last attempt.
pub(crate) fn lost_error(max_attempts: i64) -> String {
    serde_json::json!({
        "type": "urn:ocrlty:problem:worker_lost",
        "title": "Worker Lost",
        "status": 500,
        "detail": format!(
            "the worker running this job stopped answering (killed, or out of memory) on each \
             of its {max_attempts} attempts"
        ),
        "code": "worker_lost",
    })
    .to_string()
}

/// `impl JobStore for $store`, where `$store` has `pool`, `settings` and an `async fn wake()`,
/// and `SQL` in scope is its dialect's [`crate::sql::Sql`].
macro_rules! impl_job_store {
    ($store:ty, $name:literal) => {
        impl $store {
            /// Inserts the webhook event of an ended job (when it has a callback).
            async fn queue_event<'c, E>(executor: E, row: &$crate::view::JobRow) -> $crate::Result<()>
            where
                E: sqlx::Executor<'c, Database = <$store as $crate::store::HasDb>::Db>,
            {
                let Some(url) = row.callback_url.clone() else {
                    return Ok(());
                };
                let at = row.finished_at.unwrap_or(row.created_at);
                let (event_id, body) = row.clone().event(at)?;
                sqlx::query(SQL.outbox_insert)
                    .bind(event_id)
                    .bind(&row.id)
                    .bind(url)
                    .bind(body)
                    .execute(executor)
                    .await?;
                Ok(())
            }

            /// Fails the jobs whose lease expired on their last attempt.
            async fn fail_lost(&self) -> $crate::Result<()> {
                let ids: Vec<String> = sqlx::query_scalar(SQL.lost).fetch_all(&self.pool).await?;
                for id in ids {
                    let mut tx = self.pool.begin().await?;
                    let row = sqlx::query(SQL.fail_lost)
                        .bind(&id)
                        .bind($crate::store::lost_error(i64::from(self.settings.max_attempts)))
                        .bind($crate::millis(self.settings.result_ttl))
                        .fetch_optional(&mut *tx)
                        .await?;
                    if let Some(row) = row {
                        let row = $crate::store::job_row(&row)?;
                        Self::queue_event(&mut *tx, &row).await?;
                        tracing::warn!(job_id = %id, "job failed: its worker was lost on the last attempt");
                    }
                    tx.commit().await?;
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::JobStore for $store {
            fn backend(&self) -> &'static str {
                $name
            }

            fn settings(&self) -> &$crate::StoreSettings {
                &self.settings
            }

            async fn submit(&self, job: $crate::NewJob) -> $crate::Result<$crate::Submitted> {
                let sha = $crate::content_hash(&job.document);
                let row = sqlx::query(SQL.submit)
                    .bind($crate::new_id())
                    .bind(&job.idempotency_key)
                    .bind(&sha)
                    .bind(&job.filename)
                    .bind(&job.document)
                    .bind(job.options.to_string())
                    .bind(&job.callback_url)
                    .bind(i64::from(self.settings.max_attempts))
                    .bind(i64::try_from(self.settings.max_queued).unwrap_or(i64::MAX))
                    .bind(&job.owner)
                    .fetch_optional(&self.pool)
                    .await?;
                if let Some(row) = row {
                    self.wake().await;
                    return Ok($crate::Submitted {
                        job: $crate::store::job_row(&row)?.summary()?,
                        created: true,
                    });
                }
                if let Some(key) = &job.idempotency_key {
                    let existing = sqlx::query(SQL.by_key)
                        .bind(key)
                        .bind(&job.owner)
                        .fetch_optional(&self.pool)
                        .await?;
                    if let Some(row) = existing {
                        let stored: String = sqlx::Row::try_get(&row, "content_sha256")?;
                        if stored != sha {
                            return Err($crate::StoreError::IdempotencyConflict);
                        }
                        return Ok($crate::Submitted {
                            job: $crate::store::job_row(&row)?.summary()?,
                            created: false,
                        });
                    }
                }
                Err($crate::StoreError::QueueFull {
                    queued: self.settings.max_queued,
                })
            }

            async fn get(
                &self,
                id: &str,
                owner: &str,
            ) -> $crate::Result<Option<$crate::JobView>> {
                let row = sqlx::query(SQL.get)
                    .bind(id)
                    .bind(owner)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| $crate::store::job_row(&r)?.view()).transpose()
            }

            async fn list(
                &self,
                owner: &str,
                status: Option<$crate::JobStatus>,
                limit: u32,
            ) -> $crate::Result<Vec<$crate::JobSummary>> {
                let rows = match status {
                    Some(s) => {
                        sqlx::query(SQL.list_status)
                            .bind(i64::from(limit))
                            .bind(owner)
                            .bind(s.as_str())
                            .fetch_all(&self.pool)
                            .await?
                    }
                    None => {
                        sqlx::query(SQL.list)
                            .bind(i64::from(limit))
                            .bind(owner)
                            .fetch_all(&self.pool)
                            .await?
                    }
                };
                rows.iter()
                    .map(|r| $crate::store::job_row(r)?.summary())
                    .collect()
            }

            async fn cancel(&self, id: &str, owner: &str) -> $crate::Result<$crate::Cancelled> {
                let done: Option<String> = sqlx::query_scalar(SQL.cancel)
                    .bind(id)
                    .bind($crate::millis(self.settings.result_ttl))
                    .bind(owner)
                    .fetch_optional(&self.pool)
                    .await?;
                if done.is_some() {
                    return Ok($crate::Cancelled::Cancelled);
                }
                let status: Option<String> = sqlx::query_scalar(SQL.status_of)
                    .bind(id)
                    .bind(owner)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match status {
                    None => $crate::Cancelled::NotFound,
                    Some(s) => $crate::Cancelled::NotQueued(
                        s.parse().map_err($crate::StoreError::Corrupt)?,
                    ),
                })
            }

            async fn claim(&self) -> $crate::Result<Option<$crate::Claimed>> {
                self.fail_lost().await?;
                let token = $crate::new_id();
                let row = sqlx::query(SQL.claim)
                    .bind(&token)
                    .bind($crate::millis(self.settings.lease))
                    .fetch_optional(&self.pool)
                    .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                use sqlx::Row as _;
                let options: String = row.try_get("options")?;
                let document: Option<Vec<u8>> = row.try_get("document")?;
                let attempts: i64 = row.try_get("attempts")?;
                let max_attempts: i64 = row.try_get("max_attempts")?;
                Ok(Some($crate::Claimed {
                    id: row.try_get("id")?,
                    token,
                    attempt: u32::try_from(attempts).unwrap_or(u32::MAX),
                    max_attempts: u32::try_from(max_attempts).unwrap_or(u32::MAX),
                    document: document.ok_or_else(|| {
                        $crate::StoreError::Corrupt("a runnable job has no document".into())
                    })?,
                    filename: row.try_get("filename")?,
                    options: serde_json::from_str(&options)
                        .map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?,
                }))
            }

            async fn heartbeat(&self, id: &str, token: &str) -> $crate::Result<bool> {
                let held: Option<String> = sqlx::query_scalar(SQL.heartbeat)
                    .bind(id)
                    .bind(token)
                    .bind($crate::millis(self.settings.lease))
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(held.is_some())
            }

            async fn finish(
                &self,
                claim: &$crate::Claimed,
                outcome: $crate::Outcome,
            ) -> $crate::Result<$crate::Ended> {
                let (status, result, error) = match outcome {
                    $crate::Outcome::Succeeded(r) => {
                        ($crate::JobStatus::Succeeded, Some(r.get().to_string()), None)
                    }
                    $crate::Outcome::Failed(e) => {
                        ($crate::JobStatus::Failed, None, Some(e.get().to_string()))
                    }
                    $crate::Outcome::Retry(e) => {
                        let e = e.get().to_string();
                        if claim.attempt < claim.max_attempts {
                            let delay =
                                $crate::backoff(self.settings.retry_backoff, claim.attempt);
                            let queued: Option<String> = sqlx::query_scalar(SQL.requeue)
                                .bind(&claim.id)
                                .bind(&claim.token)
                                .bind(&e)
                                .bind($crate::millis(delay))
                                .fetch_optional(&self.pool)
                                .await?;
                            return Ok(if queued.is_some() {
                                $crate::Ended::Requeued
                            } else {
                                $crate::Ended::LeaseLost
                            });
                        }
                        ($crate::JobStatus::Failed, None, Some(e))
                    }
                };
                let mut tx = self.pool.begin().await?;
                let row = sqlx::query(SQL.end)
                    .bind(&claim.id)
                    .bind(&claim.token)
                    .bind(status.as_str())
                    .bind(result)
                    .bind(error)
                    .bind($crate::millis(self.settings.result_ttl))
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else {
                    tx.rollback().await?;
                    return Ok($crate::Ended::LeaseLost);
                };
                let row = $crate::store::job_row(&row)?;
                Self::queue_event(&mut *tx, &row).await?;
                tx.commit().await?;
                Ok($crate::Ended::Final(status))
            }

            async fn wait_for_work(&self, max: std::time::Duration) {
                self.wait(max).await
            }

            async fn delete_expired(&self) -> $crate::Result<u64> {
                Ok(sqlx::query(SQL.delete_expired)
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }

            async fn stats(&self) -> $crate::Result<$crate::QueueStats> {
                let rows: Vec<(String, i64)> =
                    sqlx::query_as(SQL.counts).fetch_all(&self.pool).await?;
                let mut by_status: Vec<($crate::JobStatus, u64)> = $crate::JobStatus::ALL
                    .into_iter()
                    .map(|s| (s, 0))
                    .collect();
                for (s, n) in rows {
                    let s: $crate::JobStatus = s.parse().map_err($crate::StoreError::Corrupt)?;
                    if let Some(slot) = by_status.iter_mut().find(|(k, _)| *k == s) {
                        slot.1 = u64::try_from(n).unwrap_or(0);
                    }
                }
                let oldest: Option<i64> = sqlx::query_scalar(SQL.oldest_queued)
                    .fetch_one(&self.pool)
                    .await?;
                Ok($crate::QueueStats {
                    by_status,
                    oldest_queued_age: oldest
                        .map(|ms| std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
                })
            }

            async fn claim_delivery(
                &self,
                hold: std::time::Duration,
            ) -> $crate::Result<Option<$crate::Delivery>> {
                let row: Option<(String, String, String, String, i64)> =
                    sqlx::query_as(SQL.claim_delivery)
                        .bind($crate::millis(hold))
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(row.map(|(event_id, job_id, url, body, attempts)| $crate::Delivery {
                    event_id,
                    job_id,
                    url,
                    body,
                    attempt: u32::try_from(attempts).unwrap_or(u32::MAX),
                }))
            }

            async fn delivery_done(
                &self,
                event_id: &str,
                result: std::result::Result<(), String>,
                retry_in: std::time::Duration,
            ) -> $crate::Result<()> {
                match result {
                    Ok(()) => {
                        sqlx::query(SQL.delivered)
                            .bind(event_id)
                            .execute(&self.pool)
                            .await?;
                    }
                    Err(e) => {
                        sqlx::query(SQL.delivery_failed)
                            .bind(event_id)
                            .bind(e)
                            .bind($crate::millis(retry_in))
                            .bind(i64::from(self.settings.webhook_max_attempts))
                            .execute(&self.pool)
                            .await?;
                    }
                }
                Ok(())
            }

            async fn delivery_state(
                &self,
                job_id: &str,
            ) -> $crate::Result<Option<(String, bool, u32)>> {
                let row: Option<(String, bool, i64)> = sqlx::query_as(SQL.delivery_state)
                    .bind(job_id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|(e, d, n)| (e, d, u32::try_from(n).unwrap_or(0))))
            }

            async fn ping(&self) -> $crate::Result<()> {
                let _: i64 = sqlx::query_scalar(SQL.now).fetch_one(&self.pool).await?;
                Ok(())
            }
        }
    };
}

/// The database type of a store's pool (for the macro's executor bound).
pub(crate) trait HasDb {
    type Db: sqlx::Database;
}

pub(crate) use impl_job_store;
