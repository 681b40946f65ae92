-- The review workbench: review tasks (queues and leases), human decisions, appeals and exposure counts.
-- Times are Unix epoch milliseconds (UTC), like 0001.

-- One task per upload and kind: 'review' (routed to review by policy), 'appeal' (a creator's appeal of a
-- decision) or 'quality' (a blind second review of a sampled decision). A task is held by at most one
-- person: claims are single conditional UPDATEs on lease_until_ms, so the database decides who wins.
CREATE TABLE review_tasks (
    upload_id       TEXT    NOT NULL REFERENCES uploads (id),
    kind            TEXT    NOT NULL,            -- review | appeal | quality
    queue           TEXT    NOT NULL,            -- the category that sent it to review
    priority        REAL    NOT NULL,            -- higher first (the routed score)
    required_role   TEXT    NOT NULL,            -- moderator | senior
    state           TEXT    NOT NULL,            -- open | done
    cluster_key     TEXT    NULL,                -- same media hash or same normalised caption: decided together
    graphic         INTEGER NOT NULL DEFAULT 0,  -- counts toward the exposure cap
    excluded_user   TEXT    NULL,                -- who may not take it (the original decider of an appeal or sample)
    entered_at_ms   INTEGER NOT NULL,
    due_at_ms       INTEGER NOT NULL,            -- the SLA clock
    lease_holder    TEXT    NULL,
    lease_until_ms  INTEGER NULL,
    claimed_at_ms   INTEGER NULL,
    completed_by    TEXT    NULL,
    completed_at_ms INTEGER NULL,
    PRIMARY KEY (upload_id, kind)
);
CREATE INDEX ix_review_tasks_queue ON review_tasks (state, queue, due_at_ms);
CREATE INDEX ix_review_tasks_cluster ON review_tasks (cluster_key, state);
CREATE INDEX ix_review_tasks_holder ON review_tasks (lease_holder, state);
-- The two claim orders: nearest deadline among urgent items, else highest priority.
CREATE INDEX ix_review_tasks_due ON review_tasks (state, due_at_ms);
CREATE INDEX ix_review_tasks_priority ON review_tasks (state, priority DESC, due_at_ms);
-- Intake looks for uploads routed to review since its previous pass.
CREATE INDEX ix_uploads_status_routed ON uploads (status, routed_at_ms);

CREATE TABLE review_decisions (
    id                  TEXT    NOT NULL PRIMARY KEY,
    upload_id           TEXT    NOT NULL REFERENCES uploads (id),
    kind                TEXT    NOT NULL,        -- review | appeal | quality
    queue               TEXT    NOT NULL,
    decided_by          TEXT    NOT NULL,        -- user id
    decided_by_name     TEXT    NOT NULL,
    action              TEXT    NOT NULL,        -- allow | remove | age_restrict | demote | label | escalate | uphold | overturn
    reason_code         TEXT    NOT NULL,
    note                TEXT    NULL,
    claimed_at_ms       INTEGER NULL,
    decided_at_ms       INTEGER NOT NULL,
    bulk_anchor         TEXT    NULL,            -- the item a bulk decision was taken on
    retracted_at_ms     INTEGER NULL             -- an overturned appeal retracted this decision's signals
);
CREATE INDEX ix_review_decisions_upload ON review_decisions (upload_id, decided_at_ms);
CREATE INDEX ix_review_decisions_decider ON review_decisions (decided_by, decided_at_ms);

CREATE TABLE appeals (
    id              TEXT    NOT NULL PRIMARY KEY,
    upload_id       TEXT    NOT NULL REFERENCES uploads (id),
    decision_id     TEXT    NOT NULL UNIQUE REFERENCES review_decisions (id),
    statement       TEXT    NOT NULL,
    submitted_by    TEXT    NOT NULL,
    state           TEXT    NOT NULL,            -- open | upheld | overturned
    created_at_ms   INTEGER NOT NULL,
    resolved_by     TEXT    NULL,
    resolved_at_ms  INTEGER NULL
);

-- Graphic items a moderator opened per UTC day (exposure care).
CREATE TABLE exposure_views (
    user_id       TEXT    NOT NULL,
    day           INTEGER NOT NULL,              -- days since the Unix epoch (UTC)
    upload_id     TEXT    NOT NULL,
    viewed_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (user_id, day, upload_id)
);

-- A reviewer's own choice to see media unblurred by default (1), overriding the category default.
ALTER TABLE users ADD COLUMN reveal_media INTEGER NOT NULL DEFAULT 0;
