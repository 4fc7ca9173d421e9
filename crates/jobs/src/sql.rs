//! The statements both stores run: the same SQL but for the clock and the row locks.
//!
//! Parameters are `$1`, `$2`, …, which SQLite reads by number too. Every time is taken from the
//! database's clock (`now`), in milliseconds since the epoch.

/// One store's statements.
#[derive(Debug)]
pub(crate) struct Sql {
    pub submit: &'static str,
    pub by_key: &'static str,
    pub get: &'static str,
    pub list: &'static str,
    pub list_status: &'static str,
    pub cancel: &'static str,
    pub status_of: &'static str,
    pub lost: &'static str,
    pub fail_lost: &'static str,
    pub claim: &'static str,
    pub heartbeat: &'static str,
    pub end: &'static str,
    pub requeue: &'static str,
    pub outbox_insert: &'static str,
    pub delete_expired: &'static str,
    pub counts: &'static str,
    pub oldest_queued: &'static str,
    pub claim_delivery: &'static str,
    pub delivered: &'static str,
    pub delivery_failed: &'static str,
    pub delivery_state: &'static str,
    pub now: &'static str,
}

/// The columns [`crate::view::JobRow`] reads.
macro_rules! row_columns {
    () => {
        "id, status, attempts, max_attempts, created_at, started_at, finished_at, expires_at, \
         filename, callback_url, result, error"
    };
}

/// The statements, given the clock expression and the row-lock clause of a dialect.
macro_rules! statements {
    ($now:literal, $lock:literal) => {
        $crate::sql::Sql {
            // $1 id, $2 key, $3 sha256, $4 filename, $5 document, $6 options, $7 callback,
            // $8 max_attempts, $9 max queued, $10 owner. Refused (no row) when the owner's key
            // exists or the queue is full; the caller tells which.
            submit: concat!(
                "INSERT INTO jobs (id, status, idempotency_key, content_sha256, filename, document, \
                 options, callback_url, max_attempts, owner, available_at, created_at) \
                 SELECT $1, 'queued', $2, $3, $4, $5, $6, $7, $8, $10, ", $now, ", ", $now, " \
                 WHERE (SELECT count(*) FROM jobs WHERE status = 'queued') < $9 \
                 ON CONFLICT (owner, idempotency_key) DO NOTHING RETURNING ",
                $crate::sql::row_columns!()
            ),
            by_key: concat!(
                "SELECT content_sha256, ", $crate::sql::row_columns!(),
                " FROM jobs WHERE idempotency_key = $1 AND owner = $2"
            ),
            get: concat!(
                "SELECT ", $crate::sql::row_columns!(), " FROM jobs WHERE id = $1 AND owner = $2"
            ),
            list: concat!(
                "SELECT ", $crate::sql::row_columns!(),
                " FROM jobs WHERE owner = $2 ORDER BY created_at DESC, id LIMIT $1"
            ),
            list_status: concat!(
                "SELECT ", $crate::sql::row_columns!(),
                " FROM jobs WHERE owner = $2 AND status = $3 ORDER BY created_at DESC, id LIMIT $1"
            ),
            // $1 id, $2 ttl ms, $3 owner.
            cancel: concat!(
                "UPDATE jobs SET status = 'cancelled', document = NULL, finished_at = ", $now,
                ", expires_at = ", $now, " + $2 WHERE id = $1 AND owner = $3 AND status = 'queued' \
                 RETURNING id"
            ),
            status_of: "SELECT status FROM jobs WHERE id = $1 AND owner = $2",
            // Running jobs whose lease expired on their last attempt.
            lost: concat!(
                "SELECT id FROM jobs WHERE status = 'running' AND lease_expires_at < ", $now,
                " AND attempts >= max_attempts LIMIT 16"
            ),
            // $1 id, $2 error, $3 ttl ms.
            fail_lost: concat!(
                "UPDATE jobs SET status = 'failed', error = $2, document = NULL, \
                 lease_token = NULL, lease_expires_at = NULL, finished_at = ", $now,
                ", expires_at = ", $now, " + $3 WHERE id = $1 AND status = 'running' \
                 AND lease_expires_at < ", $now, " AND attempts >= max_attempts RETURNING ",
                $crate::sql::row_columns!()
            ),
            // $1 token, $2 lease ms.
            claim: concat!(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_token = $1, \
                 lease_expires_at = ", $now, " + $2, started_at = ", $now, " \
                 WHERE id = (SELECT id FROM jobs WHERE (status = 'queued' AND available_at <= ",
                $now, ") OR (status = 'running' AND lease_expires_at < ", $now,
                " AND attempts < max_attempts) ORDER BY available_at, created_at LIMIT 1 ", $lock,
                ") RETURNING id, attempts, max_attempts, document, filename, options"
            ),
            // $1 id, $2 token, $3 lease ms.
            heartbeat: concat!(
                "UPDATE jobs SET lease_expires_at = ", $now, " + $3 \
                 WHERE id = $1 AND lease_token = $2 AND status = 'running' RETURNING id"
            ),
            // $1 id, $2 token, $3 status, $4 result, $5 error, $6 ttl ms.
            end: concat!(
                "UPDATE jobs SET status = $3, result = $4, error = $5, document = NULL, \
                 lease_token = NULL, lease_expires_at = NULL, finished_at = ", $now,
                ", expires_at = ", $now, " + $6 \
                 WHERE id = $1 AND lease_token = $2 AND status = 'running' RETURNING ",
                $crate::sql::row_columns!()
            ),
            // $1 id, $2 token, $3 error, $4 delay ms.
            requeue: concat!(
                "UPDATE jobs SET status = 'queued', error = $3, lease_token = NULL, \
                 lease_expires_at = NULL, available_at = ", $now, " + $4 \
                 WHERE id = $1 AND lease_token = $2 AND status = 'running' RETURNING id"
            ),
            // $1 event id, $2 job id, $3 url, $4 body.
            outbox_insert: concat!(
                "INSERT INTO webhook_outbox (event_id, job_id, url, body, next_attempt_at, \
                 created_at) VALUES ($1, $2, $3, $4, ", $now, ", ", $now, ")"
            ),
            delete_expired: concat!(
                "DELETE FROM jobs WHERE expires_at < ", $now, " AND NOT EXISTS (SELECT 1 FROM \
                 webhook_outbox o WHERE o.job_id = jobs.id AND o.delivered_at IS NULL \
                 AND o.dead_at IS NULL)"
            ),
            counts: "SELECT status, count(*) FROM jobs GROUP BY status",
            oldest_queued: concat!(
                "SELECT ", $now, " - min(created_at) FROM jobs WHERE status = 'queued'"
            ),
            // $1 hold ms.
            claim_delivery: concat!(
                "UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = ", $now,
                " + $1 WHERE event_id = (SELECT event_id FROM webhook_outbox \
                 WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= ", $now,
                " ORDER BY next_attempt_at LIMIT 1 ", $lock,
                ") RETURNING event_id, job_id, url, body, attempts"
            ),
            delivered: concat!(
                "UPDATE webhook_outbox SET delivered_at = ", $now, ", last_error = NULL \
                 WHERE event_id = $1"
            ),
            // $1 event id, $2 error, $3 retry in ms, $4 max attempts.
            delivery_failed: concat!(
                "UPDATE webhook_outbox SET last_error = $2, next_attempt_at = ", $now, " + $3, \
                 dead_at = CASE WHEN attempts >= $4 THEN ", $now, " ELSE NULL END \
                 WHERE event_id = $1"
            ),
            delivery_state: "SELECT event_id, delivered_at IS NOT NULL, attempts \
                             FROM webhook_outbox WHERE job_id = $1",
            now: concat!("SELECT ", $now),
        }
    };
}

pub(crate) use {row_columns, statements};
