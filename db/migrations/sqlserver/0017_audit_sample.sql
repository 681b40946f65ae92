-- The audit sample (issue 14): uploads the policy allowed or actioned that were drawn, by stratum, for a blind human
-- review. The inclusion probability is kept so that estimates weigh each audited label by its inverse; uploads the
-- policy itself sent to review are in every sample (probability 1) and have no row.
CREATE TABLE dbo.audit_samples (
    upload_id              varchar(64)   NOT NULL PRIMARY KEY,
    policy_version         nvarchar(128) NOT NULL,
    outcome                varchar(16) NOT NULL,
    stratum                varchar(64) NOT NULL,
    highest_score          float NOT NULL,
    inclusion_probability  float NOT NULL,
    sampled_at_ms          bigint NOT NULL
);
