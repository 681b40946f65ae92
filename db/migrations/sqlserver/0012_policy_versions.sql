-- Policy versions in the database (issue 14): the routing thresholds, the automatic action above them and what the
-- recommender is told in each band, per category (optionally per locale), as a versioned document with a lifecycle
-- draft -> shadow -> live -> retired and exactly one live version. The configuration file only seeds the first one.
-- Every change is an audit event (policy.*). routing_decisions.policy_version names the version that decided a row.
CREATE TABLE dbo.policy_versions (
    version              nvarchar(128) NOT NULL PRIMARY KEY,
    state                varchar(16)   NOT NULL CHECK (state IN ('draft', 'shadow', 'live', 'retired')),
    document             nvarchar(max) NOT NULL,
    based_on             nvarchar(128) NULL,
    note                 nvarchar(max) NULL,
    created_by           nvarchar(256) NOT NULL,
    created_at_ms        bigint        NOT NULL,
    updated_at_ms        bigint        NOT NULL,
    state_changed_by     nvarchar(256) NOT NULL,
    state_changed_at_ms  bigint        NOT NULL,
    live_requested_by    nvarchar(256) NULL,
    live_requested_at_ms bigint        NULL,
    went_live_at_ms      bigint        NULL
);
CREATE UNIQUE INDEX ux_policy_versions_live ON dbo.policy_versions (state) WHERE state = 'live';

-- What routing needs besides the score, so that a backtest routes stored scores exactly as scoring did: a match
-- against known content (its signal source and action decide, whatever the thresholds) and a model shipped review-only.
ALTER TABLE dbo.scores ADD match_source varchar(64) NULL;
ALTER TABLE dbo.scores ADD match_action varchar(32) NULL;
ALTER TABLE dbo.scores ADD review_only bit NOT NULL CONSTRAINT df_scores_review_only DEFAULT 0;
-- A backtest reads the uploads received in a window.
CREATE INDEX ix_uploads_received ON dbo.uploads (received_at_ms);
