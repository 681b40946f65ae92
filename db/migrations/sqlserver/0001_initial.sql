-- Uploads, their media and scores; routing decisions; the risk-signal feed; the audit chain; access.
-- Times are Unix epoch milliseconds (UTC) in every dialect, so that ordering and arithmetic are portable.

CREATE TABLE dbo.uploads (
    id               varchar(64)    NOT NULL PRIMARY KEY,
    external_id      nvarchar(256)  NOT NULL UNIQUE,
    creator_id       nvarchar(256)  NULL,
    caption          nvarchar(max)  NULL,
    hashtags         nvarchar(max)  NOT NULL,
    transcript       nvarchar(max)  NULL,
    comments         nvarchar(max)  NOT NULL,
    locale           nvarchar(35)   NULL,
    status           varchar(16)    NOT NULL,
    status_detail    nvarchar(max)  NULL,
    policy_version   nvarchar(128)  NULL,
    scoring_attempts int            NOT NULL DEFAULT 0,
    claim_token      varchar(64)    NULL,
    claimed_until_ms bigint         NULL,
    last_error       nvarchar(max)  NULL,
    received_at_ms   bigint         NOT NULL,
    enqueued_at_ms   bigint         NOT NULL,
    routed_at_ms     bigint         NULL,
    updated_at_ms    bigint         NOT NULL
);
CREATE INDEX ix_uploads_status_enqueued ON dbo.uploads (status, enqueued_at_ms);

CREATE TABLE dbo.media (
    upload_id    varchar(64)   NOT NULL REFERENCES dbo.uploads (id),
    ordinal      int           NOT NULL,
    kind         varchar(16)   NOT NULL,
    file_name    nvarchar(255) NOT NULL,
    content_type varchar(100)  NOT NULL,
    size_bytes   bigint        NOT NULL,
    sha256       char(64)      NOT NULL,
    PRIMARY KEY (upload_id, ordinal)
);

CREATE TABLE dbo.scores (
    upload_id     varchar(64)   NOT NULL REFERENCES dbo.uploads (id),
    category      varchar(64)   NOT NULL,
    model_version nvarchar(128) NOT NULL,
    score         float         NOT NULL,
    scorer        nvarchar(128) NOT NULL,
    explanation   nvarchar(max) NOT NULL,
    created_at_ms bigint        NOT NULL,
    PRIMARY KEY (upload_id, category, model_version)
);

CREATE TABLE dbo.routing_decisions (
    upload_id        varchar(64)   NOT NULL REFERENCES dbo.uploads (id),
    category         varchar(64)   NOT NULL,
    policy_version   nvarchar(128) NOT NULL,
    outcome          varchar(16)   NOT NULL,
    score            float         NOT NULL,
    model_version    nvarchar(128) NOT NULL,
    reason           nvarchar(max) NOT NULL,
    review_threshold float         NOT NULL,
    action_threshold float         NOT NULL,
    decided_at_ms    bigint        NOT NULL,
    PRIMARY KEY (upload_id, category, policy_version)
);

CREATE TABLE dbo.risk_signals (
    seq                 bigint IDENTITY(1, 1) NOT NULL PRIMARY KEY,
    idempotency_key     nvarchar(400) NOT NULL UNIQUE,
    upload_id           varchar(64)   NOT NULL REFERENCES dbo.uploads (id),
    external_id         nvarchar(256) NOT NULL,
    category            varchar(64)   NOT NULL,
    score               float         NOT NULL,
    action              varchar(16)   NOT NULL,
    demotion_multiplier float         NOT NULL,
    source              varchar(16)   NOT NULL,
    model_version       nvarchar(128) NULL,
    policy_version      nvarchar(128) NULL,
    created_at_ms       bigint        NOT NULL,
    expires_at_ms       bigint        NULL,
    retracts_seq        bigint        NULL REFERENCES dbo.risk_signals (seq)
);
CREATE INDEX ix_risk_signals_upload ON dbo.risk_signals (upload_id);

CREATE TABLE dbo.audit_events (
    seq            bigint        NOT NULL PRIMARY KEY,
    occurred_at_ms bigint        NOT NULL,
    actor          nvarchar(256) NOT NULL,
    action         varchar(64)   NOT NULL,
    subject_type   varchar(64)   NOT NULL,
    subject_id     nvarchar(256) NOT NULL,
    reason         nvarchar(max) NULL,
    before_state   nvarchar(max) NULL,
    after_state    nvarchar(max) NULL,
    prev_hash      char(64)      NOT NULL,
    hash           char(64)      NOT NULL
);
CREATE INDEX ix_audit_events_subject ON dbo.audit_events (subject_type, subject_id);

CREATE TABLE dbo.api_keys (
    id            varchar(64)   NOT NULL PRIMARY KEY,
    name          nvarchar(200) NOT NULL,
    key_prefix    varchar(32)   NOT NULL UNIQUE,
    key_hash      char(64)      NOT NULL,
    scopes        varchar(400)  NOT NULL,
    created_at_ms bigint        NOT NULL,
    revoked_at_ms bigint        NULL
);

CREATE TABLE dbo.users (
    id             varchar(64)   NOT NULL PRIMARY KEY,
    user_name      nvarchar(256) NOT NULL UNIQUE,
    password_hash  varchar(400)  NOT NULL,
    roles          varchar(400)  NOT NULL,
    created_at_ms  bigint        NOT NULL,
    disabled_at_ms bigint        NULL
);
