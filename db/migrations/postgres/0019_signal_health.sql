-- Signal health (issue 14, item 6): a policy user quarantines a signal source (a model head and version, a hash bank,
-- a claim) in one step, and releases it. A row is a source in quarantine now; a release deletes it. Who quarantined
-- and released it, and why, is in the audit log (signal_source.quarantined / signal_source.released).
CREATE TABLE signal_quarantines (
    source            varchar(300) NOT NULL PRIMARY KEY,   -- model:{category}:{version} | hash-bank:{bank} | claim:{id}
    kind              varchar(16)  NOT NULL CHECK (kind IN ('model', 'hash_bank', 'claim')),
    reason            text         NOT NULL,
    quarantined_by    varchar(200) NOT NULL,
    quarantined_at_ms bigint       NOT NULL
);
-- A quarantine retracts the source's signals still acting: those of one model version (and category).
CREATE INDEX ix_risk_signals_model_version ON risk_signals (model_version, category);
