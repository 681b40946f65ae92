-- Policy versions in the database (issue 14): the routing thresholds, the automatic action above them and what the
-- recommender is told in each band, per category (optionally per locale), as a versioned document with a lifecycle
-- draft -> shadow -> live -> retired and exactly one live version. The configuration file only seeds the first one.
-- Every change is an audit event (policy.*). routing_decisions.policy_version names the version that decided a row.
CREATE TABLE policy_versions (
    version              varchar(128) NOT NULL PRIMARY KEY,
    state                varchar(16)  NOT NULL CHECK (state IN ('draft', 'shadow', 'live', 'retired')),
    document             text         NOT NULL,
    based_on             varchar(128) NULL,
    note                 text         NULL,
    created_by           varchar(256) NOT NULL,
    created_at_ms        bigint       NOT NULL,
    updated_at_ms        bigint       NOT NULL,
    state_changed_by     varchar(256) NOT NULL,
    state_changed_at_ms  bigint       NOT NULL,
    live_requested_by    varchar(256) NULL,
    live_requested_at_ms bigint       NULL,
    went_live_at_ms      bigint       NULL
);
CREATE UNIQUE INDEX ux_policy_versions_live ON policy_versions (state) WHERE state = 'live';

-- What routing needs besides the score, so that a backtest routes stored scores exactly as scoring did: a match
-- against known content (its signal source and action decide, whatever the thresholds) and a model shipped review-only.
ALTER TABLE scores ADD COLUMN match_source varchar(64) NULL;
ALTER TABLE scores ADD COLUMN match_action varchar(32) NULL;
ALTER TABLE scores ADD COLUMN review_only boolean NOT NULL DEFAULT FALSE;
-- A backtest reads the uploads received in a window.
CREATE INDEX ix_uploads_received ON uploads (received_at_ms);
