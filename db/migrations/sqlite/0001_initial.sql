-- Uploads, their media and scores; routing decisions; the risk-signal feed; the audit chain; access.
-- Times are Unix epoch milliseconds (UTC) in every dialect, so that ordering and arithmetic are portable.

CREATE TABLE uploads (
    id               TEXT    NOT NULL PRIMARY KEY,
    external_id      TEXT    NOT NULL UNIQUE,
    creator_id       TEXT    NULL,
    caption          TEXT    NULL,
    hashtags         TEXT    NOT NULL,           -- JSON array of strings
    transcript       TEXT    NULL,
    comments         TEXT    NOT NULL,           -- JSON array of strings
    locale           TEXT    NULL,
    status           TEXT    NOT NULL,           -- queued | scored | in_review | actioned | allowed | failed
    status_detail    TEXT    NULL,
    policy_version   TEXT    NULL,
    scoring_attempts INTEGER NOT NULL DEFAULT 0,
    claim_token      TEXT    NULL,           -- the scoring job holding the upload
    claimed_until_ms INTEGER NULL,           -- until when (a lease: a dead worker's claim expires)
    last_error       TEXT    NULL,
    received_at_ms   INTEGER NOT NULL,
    enqueued_at_ms   INTEGER NOT NULL,
    routed_at_ms     INTEGER NULL,
    updated_at_ms    INTEGER NOT NULL
);
CREATE INDEX ix_uploads_status_enqueued ON uploads (status, enqueued_at_ms);

CREATE TABLE media (
    upload_id    TEXT    NOT NULL REFERENCES uploads (id),
    ordinal      INTEGER NOT NULL,
    kind         TEXT    NOT NULL,               -- image | video
    file_name    TEXT    NOT NULL,               -- as the client sent it; never used as a path
    content_type TEXT    NOT NULL,               -- from the bytes, not from the client
    size_bytes   INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,               -- content address in the media store
    PRIMARY KEY (upload_id, ordinal)
);

CREATE TABLE scores (
    upload_id     TEXT    NOT NULL REFERENCES uploads (id),
    category      TEXT    NOT NULL,
    model_version TEXT    NOT NULL,
    score         REAL    NOT NULL,
    scorer        TEXT    NOT NULL,
    explanation   TEXT    NOT NULL,              -- JSON array of reasons
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (upload_id, category, model_version)
);

CREATE TABLE routing_decisions (
    upload_id      TEXT    NOT NULL REFERENCES uploads (id),
    category       TEXT    NOT NULL,
    policy_version TEXT    NOT NULL,
    outcome        TEXT    NOT NULL,             -- allow | review | action
    score          REAL    NOT NULL,
    model_version  TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    review_threshold REAL  NOT NULL,
    action_threshold REAL  NOT NULL,
    decided_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (upload_id, category, policy_version)
);

CREATE TABLE risk_signals (
    seq                 INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    idempotency_key     TEXT    NOT NULL UNIQUE,
    upload_id           TEXT    NOT NULL REFERENCES uploads (id),
    external_id         TEXT    NOT NULL,
    category            TEXT    NOT NULL,
    score               REAL    NOT NULL,
    action              TEXT    NOT NULL,        -- none | label | demote | interstitial | ineligible
    demotion_multiplier REAL    NOT NULL,
    source              TEXT    NOT NULL,        -- model | hash_match | human
    model_version       TEXT    NULL,
    policy_version      TEXT    NULL,
    created_at_ms       INTEGER NOT NULL,
    expires_at_ms       INTEGER NULL,
    retracts_seq        INTEGER NULL REFERENCES risk_signals (seq)
);
CREATE INDEX ix_risk_signals_upload ON risk_signals (upload_id);

CREATE TABLE audit_events (
    seq            INTEGER NOT NULL PRIMARY KEY,  -- assigned under the append lock, covered by the hash
    occurred_at_ms INTEGER NOT NULL,
    actor          TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    subject_type   TEXT    NOT NULL,
    subject_id     TEXT    NOT NULL,
    reason         TEXT    NULL,
    before_state   TEXT    NULL,                  -- JSON
    after_state    TEXT    NULL,                  -- JSON
    prev_hash      TEXT    NOT NULL,
    hash           TEXT    NOT NULL
);
CREATE INDEX ix_audit_events_subject ON audit_events (subject_type, subject_id);

CREATE TABLE api_keys (
    id            TEXT    NOT NULL PRIMARY KEY,
    name          TEXT    NOT NULL,
    key_prefix    TEXT    NOT NULL UNIQUE,
    key_hash      TEXT    NOT NULL,               -- SHA-256 of the whole key (keys are 256-bit random)
    scopes        TEXT    NOT NULL,               -- space separated
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER NULL
);

CREATE TABLE users (
    id             TEXT    NOT NULL PRIMARY KEY,
    user_name      TEXT    NOT NULL UNIQUE,
    password_hash  TEXT    NOT NULL,              -- ASP.NET Core Identity PasswordHasher (PBKDF2)
    roles          TEXT    NOT NULL,              -- space separated
    created_at_ms  INTEGER NOT NULL,
    disabled_at_ms INTEGER NULL
);
