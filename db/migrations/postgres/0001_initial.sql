-- Uploads, their media and scores; routing decisions; the risk-signal feed; the audit chain; access.
-- Times are Unix epoch milliseconds (UTC) in every dialect, so that ordering and arithmetic are portable.

CREATE TABLE uploads (
    id               varchar(64)   NOT NULL PRIMARY KEY,
    external_id      varchar(256)  NOT NULL UNIQUE,
    creator_id       varchar(256)  NULL,
    caption          text          NULL,
    hashtags         text          NOT NULL,
    transcript       text          NULL,
    comments         text          NOT NULL,
    locale           varchar(35)   NULL,
    status           varchar(16)   NOT NULL,
    status_detail    text          NULL,
    policy_version   varchar(128)  NULL,
    scoring_attempts integer       NOT NULL DEFAULT 0,
    claim_token      varchar(64)   NULL,
    claimed_until_ms bigint        NULL,
    last_error       text          NULL,
    received_at_ms   bigint        NOT NULL,
    enqueued_at_ms   bigint        NOT NULL,
    routed_at_ms     bigint        NULL,
    updated_at_ms    bigint        NOT NULL
);
CREATE INDEX ix_uploads_status_enqueued ON uploads (status, enqueued_at_ms);

CREATE TABLE media (
    upload_id    varchar(64)  NOT NULL REFERENCES uploads (id),
    ordinal      integer      NOT NULL,
    kind         varchar(16)  NOT NULL,
    file_name    varchar(255) NOT NULL,
    content_type varchar(100) NOT NULL,
    size_bytes   bigint       NOT NULL,
    sha256       char(64)     NOT NULL,
    PRIMARY KEY (upload_id, ordinal)
);

CREATE TABLE scores (
    upload_id     varchar(64)      NOT NULL REFERENCES uploads (id),
    category      varchar(64)      NOT NULL,
    model_version varchar(128)     NOT NULL,
    score         double precision NOT NULL,
    scorer        varchar(128)     NOT NULL,
    explanation   text             NOT NULL,
    created_at_ms bigint           NOT NULL,
    PRIMARY KEY (upload_id, category, model_version)
);

CREATE TABLE routing_decisions (
    upload_id        varchar(64)      NOT NULL REFERENCES uploads (id),
    category         varchar(64)      NOT NULL,
    policy_version   varchar(128)     NOT NULL,
    outcome          varchar(16)      NOT NULL,
    score            double precision NOT NULL,
    model_version    varchar(128)     NOT NULL,
    reason           text             NOT NULL,
    review_threshold double precision NOT NULL,
    action_threshold double precision NOT NULL,
    decided_at_ms    bigint           NOT NULL,
    PRIMARY KEY (upload_id, category, policy_version)
);

CREATE TABLE risk_signals (
    seq                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key     varchar(400)     NOT NULL UNIQUE,
    upload_id           varchar(64)      NOT NULL REFERENCES uploads (id),
    external_id         varchar(256)     NOT NULL,
    category            varchar(64)      NOT NULL,
    score               double precision NOT NULL,
    action              varchar(16)      NOT NULL,
    demotion_multiplier double precision NOT NULL,
    source              varchar(16)      NOT NULL,
    model_version       varchar(128)     NULL,
    policy_version      varchar(128)     NULL,
    created_at_ms       bigint           NOT NULL,
    expires_at_ms       bigint           NULL,
    retracts_seq        bigint           NULL REFERENCES risk_signals (seq)
);
CREATE INDEX ix_risk_signals_upload ON risk_signals (upload_id);

CREATE TABLE audit_events (
    seq            bigint       NOT NULL PRIMARY KEY,
    occurred_at_ms bigint       NOT NULL,
    actor          varchar(256) NOT NULL,
    action         varchar(64)  NOT NULL,
    subject_type   varchar(64)  NOT NULL,
    subject_id     varchar(256) NOT NULL,
    reason         text         NULL,
    before_state   text         NULL,
    after_state    text         NULL,
    prev_hash      char(64)     NOT NULL,
    hash           char(64)     NOT NULL
);
CREATE INDEX ix_audit_events_subject ON audit_events (subject_type, subject_id);

CREATE TABLE api_keys (
    id            varchar(64)  NOT NULL PRIMARY KEY,
    name          varchar(200) NOT NULL,
    key_prefix    varchar(32)  NOT NULL UNIQUE,
    key_hash      char(64)     NOT NULL,
    scopes        varchar(400) NOT NULL,
    created_at_ms bigint       NOT NULL,
    revoked_at_ms bigint       NULL
);

CREATE TABLE users (
    id             varchar(64)  NOT NULL PRIMARY KEY,
    user_name      varchar(256) NOT NULL UNIQUE,
    password_hash  varchar(400) NOT NULL,
    roles          varchar(400) NOT NULL,
    created_at_ms  bigint       NOT NULL,
    disabled_at_ms bigint       NULL
);
