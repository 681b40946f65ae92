-- The model registry (trained model artifacts and which version is live per category) and the claim bank
-- (known false claims curated by policy teams). Times are Unix epoch milliseconds (UTC), like 0001.

CREATE TABLE model_versions (
    category            TEXT    NOT NULL,
    version             TEXT    NOT NULL,
    scorer              TEXT    NOT NULL,        -- the scorer that loads it, e.g. 'text'
    state               TEXT    NOT NULL CHECK (state IN ('live', 'shadow', 'retired')),
    card                TEXT    NOT NULL,        -- JSON: the model card
    metrics             TEXT    NOT NULL,        -- JSON: validation metrics
    artifact            BLOB    NOT NULL,        -- the model file bytes
    artifact_sha256     TEXT    NOT NULL,
    registered_by       TEXT    NOT NULL,
    registered_at_ms    INTEGER NOT NULL,
    state_changed_at_ms INTEGER NOT NULL,
    PRIMARY KEY (category, version)
);
-- At most one live version per category.
CREATE UNIQUE INDEX ux_model_versions_live ON model_versions (category) WHERE state = 'live';

CREATE TABLE claims (
    id             TEXT    NOT NULL PRIMARY KEY,
    text           TEXT    NOT NULL,              -- the known false claim, as entered (trimmed)
    text_key       TEXT    NOT NULL,              -- SHA-256 of the normalised text: one active claim per text
    source_url     TEXT    NOT NULL,              -- the fact-check
    category       TEXT    NOT NULL DEFAULT 'misinformation',
    note           TEXT    NULL,
    state          TEXT    NOT NULL CHECK (state IN ('active', 'retired')),
    created_by     TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    retired_by     TEXT    NULL,
    retired_at_ms  INTEGER NULL,
    retire_reason  TEXT    NULL
);
CREATE UNIQUE INDEX ux_claims_active_text ON claims (text_key) WHERE state = 'active';
