-- Policy versions in the database (issue 14): the routing thresholds, the automatic action above them and what the
-- recommender is told in each band, per category (optionally per locale), as a versioned document with a lifecycle
-- draft -> shadow -> live -> retired and exactly one live version. The configuration file only seeds the first one.
-- Every change is an audit event (policy.*). routing_decisions.policy_version names the version that decided a row.
CREATE TABLE policy_versions (
    version              TEXT    NOT NULL PRIMARY KEY,    -- e.g. 2026-12-06-harm-tighter (at most 128 characters)
    state                TEXT    NOT NULL CHECK (state IN ('draft', 'shadow', 'live', 'retired')),
    document             TEXT    NOT NULL,                -- JSON: mode, default, categories, locales, unscored, ...
    based_on             TEXT    NULL,                    -- the version it was copied from
    note                 TEXT    NULL,
    created_by           TEXT    NOT NULL,
    created_at_ms        INTEGER NOT NULL,
    updated_at_ms        INTEGER NOT NULL,                -- the document's last edit (drafts only)
    state_changed_by     TEXT    NOT NULL,
    state_changed_at_ms  INTEGER NOT NULL,
    live_requested_by    TEXT    NULL,                    -- two-person rule: who asked for it to go live
    live_requested_at_ms INTEGER NULL,
    went_live_at_ms      INTEGER NULL                     -- the last time it became live (rollback picks by it)
);
CREATE UNIQUE INDEX ux_policy_versions_live ON policy_versions (state) WHERE state = 'live';

-- What routing needs besides the score, so that a backtest routes stored scores exactly as scoring did: a match
-- against known content (its signal source and action decide, whatever the thresholds) and a model shipped review-only.
ALTER TABLE scores ADD COLUMN match_source TEXT NULL;
ALTER TABLE scores ADD COLUMN match_action TEXT NULL;
ALTER TABLE scores ADD COLUMN review_only INTEGER NOT NULL DEFAULT 0;
-- A backtest reads the uploads received in a window.
CREATE INDEX ix_uploads_received ON uploads (received_at_ms);
