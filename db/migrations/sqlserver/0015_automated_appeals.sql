-- Appeals of automated actions (issue 16): an upload the policy actioned on a model's or hash match's signals has no
-- reviewer decision to name, so an appeal names the policy version whose routing actioned it instead.
-- decision_id becomes optional, one of the two is required, and an automated action is appealed once per upload and
-- policy version (as a decision is once). The table is rebuilt: its UNIQUE constraint on decision_id has a
-- generated name, and a UNIQUE constraint would allow one NULL only, so uniqueness becomes two filtered indexes.
CREATE TABLE dbo.appeals_v14 (
    id              varchar(64)    NOT NULL CONSTRAINT pk_appeals PRIMARY KEY,
    upload_id       varchar(64)    NOT NULL REFERENCES dbo.uploads (id),
    decision_id     varchar(64)    NULL REFERENCES dbo.review_decisions (id),   -- the reviewer decision appealed, or
    policy_version  nvarchar(128)  NULL,                                        -- the policy whose routing actioned it
    statement       nvarchar(max)  NOT NULL,
    submitted_by    nvarchar(256)  NOT NULL,
    state           nvarchar(256)  NOT NULL,            -- open | upheld | overturned
    created_at_ms   bigint  NOT NULL,
    resolved_by     varchar(64)    NULL,
    resolved_at_ms  bigint  NULL,
    CONSTRAINT ck_appeals_subject CHECK (decision_id IS NOT NULL OR policy_version IS NOT NULL)
);
INSERT INTO dbo.appeals_v14 (id, upload_id, decision_id, policy_version, statement, submitted_by, state, created_at_ms, resolved_by, resolved_at_ms)
    SELECT id, upload_id, decision_id, NULL, statement, submitted_by, state, created_at_ms, resolved_by, resolved_at_ms FROM dbo.appeals;
CREATE UNIQUE INDEX ux_appeals_decision ON dbo.appeals_v14 (decision_id) WHERE decision_id IS NOT NULL;
CREATE UNIQUE INDEX ux_appeals_automated ON dbo.appeals_v14 (upload_id, policy_version) WHERE decision_id IS NULL;
DROP TABLE dbo.appeals;
EXEC sp_rename 'dbo.appeals_v14', 'appeals';
