-- Shadow policy versions (issue 14, item 5): when the live version routes a batch, every version in state 'shadow' is
-- evaluated on the same scores in the same transaction and its outcome stored here, never in routing_decisions (whose
-- readers must only ever see what was acted on). A shadow row changes no status, opens no task, sends no signal.
-- One row per upload x category x shadow version, insert-if-absent: routing runs once per upload, and a retried job
-- writes nothing twice. A category only one of the two versions routes counts as 'allow' for the other.
CREATE TABLE dbo.shadow_routing_decisions (
    upload_id           varchar(64)   NOT NULL REFERENCES dbo.uploads (id),
    category            varchar(64)   NOT NULL,
    policy_version      nvarchar(128) NOT NULL,
    outcome             varchar(16)   NOT NULL,
    signal_action       varchar(16)   NOT NULL,
    demotion_multiplier float         NOT NULL,
    live_policy_version nvarchar(128) NOT NULL,
    live_outcome        varchar(16)   NOT NULL,
    score               float         NOT NULL,
    model_version       nvarchar(128) NOT NULL,
    reason              nvarchar(max) NOT NULL,
    review_threshold    float         NOT NULL,
    action_threshold    float         NOT NULL,
    decided_at_ms       bigint        NOT NULL,
    PRIMARY KEY (upload_id, category, policy_version)
);
CREATE INDEX ix_shadow_routing_version_time ON dbo.shadow_routing_decisions (policy_version, decided_at_ms);
