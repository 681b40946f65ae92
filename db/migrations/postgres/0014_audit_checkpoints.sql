-- Signed checkpoints of the audit chain's head (issue 16, item 18): (seq, hash) of the head at at_ms, signed with the
-- operator's ECDSA P-256 key (key_id names it; signature is base64 IEEE P1363 over AuditCheckpoints.SignedBytes).
-- Verification checks the chain against every checkpoint, so deleting the last events or rewriting events and every
-- later hash is detected. The same checkpoints are appended to a file the operator keeps away from the database.
CREATE TABLE audit_checkpoints (
    seq       bigint       NOT NULL,
    hash      char(64)     NOT NULL,
    at_ms     bigint       NOT NULL,
    key_id    varchar(64)  NOT NULL,
    signature varchar(256) NOT NULL,
    PRIMARY KEY (seq, key_id)
);
