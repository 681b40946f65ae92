-- Shadow policy versions (issue 14, item 5): when the live version routes a batch, every version in state 'shadow' is
-- evaluated on the same scores in the same transaction and its outcome stored here, never in routing_decisions (whose
-- readers must only ever see what was acted on). A shadow row changes no status, opens no task, sends no signal.
-- One row per upload x category x shadow version, insert-if-absent: routing runs once per upload, and a retried job
-- writes nothing twice. A category only one of the two versions routes counts as 'allow' for the other.
CREATE TABLE shadow_routing_decisions (
    upload_id           TEXT    NOT NULL REFERENCES uploads (id),
    category            TEXT    NOT NULL,
    policy_version      TEXT    NOT NULL,             -- the shadow version
    outcome             TEXT    NOT NULL,             -- allow | review | action, under the shadow version
    signal_action       TEXT    NOT NULL,             -- what it would have told the recommender (never sent)
    demotion_multiplier REAL    NOT NULL,
    live_policy_version TEXT    NOT NULL,             -- the version that routed the upload
    live_outcome        TEXT    NOT NULL,             -- its outcome for the category
    score               REAL    NOT NULL,
    model_version       TEXT    NOT NULL,
    reason              TEXT    NOT NULL,
    review_threshold    REAL    NOT NULL,
    action_threshold    REAL    NOT NULL,
    decided_at_ms       INTEGER NOT NULL,
    PRIMARY KEY (upload_id, category, policy_version)
);
-- The daily diff reads one shadow version's rows in a window of routing time.
CREATE INDEX ix_shadow_routing_version_time ON shadow_routing_decisions (policy_version, decided_at_ms);
