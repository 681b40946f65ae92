-- The review workbench: review tasks (queues and leases), human decisions, appeals and exposure counts.
-- Times are Unix epoch milliseconds (UTC), like 0001.

-- One task per upload and kind: 'review' (routed to review by policy), 'appeal' (a creator's appeal of a
-- decision) or 'quality' (a blind second review of a sampled decision). A task is held by at most one
-- person: claims are single conditional UPDATEs on lease_until_ms, so the database decides who wins.
CREATE TABLE dbo.review_tasks (
    upload_id       varchar(64)    NOT NULL REFERENCES dbo.uploads (id),
    kind            nvarchar(256)    NOT NULL,            -- review | appeal | quality
    queue           nvarchar(256)    NOT NULL,            -- the category that sent it to review
    priority        float      NOT NULL,            -- higher first (the routed score)
    required_role   nvarchar(256)    NOT NULL,            -- moderator | senior
    state           nvarchar(256)    NOT NULL,            -- open | done
    cluster_key     nvarchar(256)    NULL,                -- same media hash or same normalised caption: decided together
    graphic         int     NOT NULL DEFAULT 0,  -- counts toward the exposure cap
    excluded_user   varchar(64)    NULL,                -- who may not take it (the original decider of an appeal or sample)
    entered_at_ms   bigint  NOT NULL,
    due_at_ms       bigint  NOT NULL,            -- the SLA clock
    lease_holder    varchar(64)    NULL,
    lease_until_ms  bigint  NULL,
    claimed_at_ms   bigint  NULL,
    completed_by    varchar(64)    NULL,
    completed_at_ms bigint  NULL,
    PRIMARY KEY (upload_id, kind)
);
CREATE INDEX ix_review_tasks_queue ON dbo.review_tasks (state, queue, due_at_ms);
CREATE INDEX ix_review_tasks_cluster ON dbo.review_tasks (cluster_key, state);
CREATE INDEX ix_review_tasks_holder ON dbo.review_tasks (lease_holder, state);
-- The two claim orders: nearest deadline among urgent items, else highest priority.
CREATE INDEX ix_review_tasks_due ON dbo.review_tasks (state, due_at_ms);
CREATE INDEX ix_review_tasks_priority ON dbo.review_tasks (state, priority DESC, due_at_ms);
-- Intake looks for uploads routed to review since its previous pass.
CREATE INDEX ix_uploads_status_routed ON dbo.uploads (status, routed_at_ms);

CREATE TABLE dbo.review_decisions (
    id                  varchar(64)    NOT NULL PRIMARY KEY,
    upload_id           varchar(64)    NOT NULL REFERENCES dbo.uploads (id),
    kind                nvarchar(256)    NOT NULL,        -- review | appeal | quality
    queue               nvarchar(256)    NOT NULL,
    decided_by          varchar(64)    NOT NULL,        -- user id
    decided_by_name     nvarchar(256)    NOT NULL,
    action              nvarchar(256)    NOT NULL,        -- allow | remove | age_restrict | demote | label | escalate | uphold | overturn
    reason_code         nvarchar(256)    NOT NULL,
    note                nvarchar(max)    NULL,
    claimed_at_ms       bigint  NULL,
    decided_at_ms       bigint  NOT NULL,
    bulk_anchor         varchar(64)    NULL,            -- the item a bulk decision was taken on
    retracted_at_ms     bigint  NULL             -- an overturned appeal retracted this decision's signals
);
CREATE INDEX ix_review_decisions_upload ON dbo.review_decisions (upload_id, decided_at_ms);
CREATE INDEX ix_review_decisions_decider ON dbo.review_decisions (decided_by, decided_at_ms);

CREATE TABLE dbo.appeals (
    id              varchar(64)    NOT NULL PRIMARY KEY,
    upload_id       varchar(64)    NOT NULL REFERENCES dbo.uploads (id),
    decision_id     varchar(64)    NOT NULL UNIQUE REFERENCES dbo.review_decisions (id),
    statement       nvarchar(max)    NOT NULL,
    submitted_by    nvarchar(256)    NOT NULL,
    state           nvarchar(256)    NOT NULL,            -- open | upheld | overturned
    created_at_ms   bigint  NOT NULL,
    resolved_by     varchar(64)    NULL,
    resolved_at_ms  bigint  NULL
);

-- Graphic items a moderator opened per UTC day (exposure care).
CREATE TABLE dbo.exposure_views (
    user_id       varchar(64)    NOT NULL,
    day           int     NOT NULL,              -- days since the Unix epoch (UTC)
    upload_id     varchar(64)    NOT NULL,
    viewed_at_ms  bigint  NOT NULL,
    PRIMARY KEY (user_id, day, upload_id)
);

-- A reviewer's own choice to see media unblurred by default (1), overriding the category default.
ALTER TABLE dbo.users ADD reveal_media int NOT NULL CONSTRAINT df_users_reveal_media DEFAULT 0;
