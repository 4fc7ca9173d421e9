-- Jobs and the webhook outbox. Times are milliseconds since the Unix epoch, from the database's
-- clock, so that leases mean the same on every node.
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    status           TEXT NOT NULL
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    -- Who submitted it (a hash of the API key; '' without keys): only they see the job.
    owner            TEXT NOT NULL,
    idempotency_key  TEXT,
    content_sha256   TEXT NOT NULL,
    filename         TEXT,
    -- The uploaded document; set to NULL as soon as the job ends.
    document         BYTEA,
    options          TEXT NOT NULL,
    callback_url     TEXT,
    attempts         BIGINT NOT NULL DEFAULT 0,
    max_attempts     BIGINT NOT NULL,
    lease_token      TEXT,
    lease_expires_at BIGINT,
    available_at     BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    started_at       BIGINT,
    finished_at      BIGINT,
    -- When an ended job (and its result) is deleted.
    expires_at       BIGINT,
    result           TEXT,
    error            TEXT
);
CREATE UNIQUE INDEX jobs_idempotency ON jobs (owner, idempotency_key);
CREATE INDEX jobs_queued ON jobs (available_at) WHERE status = 'queued';
CREATE INDEX jobs_running ON jobs (lease_expires_at) WHERE status = 'running';
CREATE INDEX jobs_expiry ON jobs (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX jobs_listing ON jobs (owner, status, created_at);

-- One row per ended job with a callback: its event id is the one every delivery carries.
CREATE TABLE webhook_outbox (
    event_id        TEXT PRIMARY KEY,
    job_id          TEXT NOT NULL UNIQUE REFERENCES jobs (id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    body            TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at    BIGINT,
    dead_at         BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND dead_at IS NULL;
