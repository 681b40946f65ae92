-- Appeals of automated actions (issue 16): an upload the policy actioned on a model's or hash match's signals has no
-- reviewer decision to name, so an appeal names the policy version whose routing actioned it instead.
-- decision_id becomes optional (SQLite cannot drop NOT NULL: the table is rebuilt, nothing references it), one of the
-- two is required, and an automated action is appealed once per upload and policy version (as a decision is once).
CREATE TABLE appeals_v14 (
    id              TEXT    NOT NULL PRIMARY KEY,
    upload_id       TEXT    NOT NULL REFERENCES uploads (id),
    decision_id     TEXT    NULL UNIQUE REFERENCES review_decisions (id),   -- the reviewer decision appealed, or
    policy_version  TEXT    NULL,                                           -- the policy whose routing actioned it
    statement       TEXT    NOT NULL,
    submitted_by    TEXT    NOT NULL,
    state           TEXT    NOT NULL,            -- open | upheld | overturned
    created_at_ms   INTEGER NOT NULL,
    resolved_by     TEXT    NULL,
    resolved_at_ms  INTEGER NULL,
    CHECK (decision_id IS NOT NULL OR policy_version IS NOT NULL)
);
INSERT INTO appeals_v14 (id, upload_id, decision_id, policy_version, statement, submitted_by, state, created_at_ms, resolved_by, resolved_at_ms)
    SELECT id, upload_id, decision_id, NULL, statement, submitted_by, state, created_at_ms, resolved_by, resolved_at_ms FROM appeals;
DROP TABLE appeals;
ALTER TABLE appeals_v14 RENAME TO appeals;
CREATE UNIQUE INDEX ux_appeals_automated ON appeals (upload_id, policy_version) WHERE decision_id IS NULL;
