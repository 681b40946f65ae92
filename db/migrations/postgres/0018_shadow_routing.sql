-- Shadow policy versions (issue 14, item 5): when the live version routes a batch, every version in state 'shadow' is
-- evaluated on the same scores in the same transaction and its outcome stored here, never in routing_decisions (whose
-- readers must only ever see what was acted on). A shadow row changes no status, opens no task, sends no signal.
-- One row per upload x category x shadow version, insert-if-absent: routing runs once per upload, and a retried job
-- writes nothing twice. A category only one of the two versions routes counts as 'allow' for the other.
CREATE TABLE shadow_routing_decisions (
    upload_id           varchar(64)      NOT NULL REFERENCES uploads (id),
    category            varchar(64)      NOT NULL,
    policy_version      varchar(128)     NOT NULL,
    outcome             varchar(16)      NOT NULL,
    signal_action       varchar(16)      NOT NULL,
    demotion_multiplier double precision NOT NULL,
    live_policy_version varchar(128)     NOT NULL,
    live_outcome        varchar(16)      NOT NULL,
    score               double precision NOT NULL,
    model_version       varchar(128)     NOT NULL,
    reason              text             NOT NULL,
    review_threshold    double precision NOT NULL,
    action_threshold    double precision NOT NULL,
    decided_at_ms       bigint           NOT NULL,
    PRIMARY KEY (upload_id, category, policy_version)
);
-- The daily diff reads one shadow version's rows in a window of routing time.
CREATE INDEX ix_shadow_routing_version_time ON shadow_routing_decisions (policy_version, decided_at_ms);
