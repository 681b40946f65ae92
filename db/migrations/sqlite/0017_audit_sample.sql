-- The audit sample (issue 14): uploads the policy allowed or actioned that were drawn, by stratum, for a blind human
-- review. The inclusion probability is kept so that estimates weigh each audited label by its inverse; uploads the
-- policy itself sent to review are in every sample (probability 1) and have no row.
CREATE TABLE audit_samples (
    upload_id              TEXT NOT NULL PRIMARY KEY,
    policy_version         TEXT NOT NULL,
    outcome                TEXT        NOT NULL,
    stratum                TEXT        NOT NULL,
    highest_score          REAL NOT NULL,
    inclusion_probability  REAL NOT NULL,
    sampled_at_ms          INTEGER NOT NULL
);
