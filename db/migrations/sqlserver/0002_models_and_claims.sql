-- The model registry (trained model artifacts and which version is live per category) and the claim bank
-- (known false claims curated by policy teams). Times are Unix epoch milliseconds (UTC), like 0001.

CREATE TABLE dbo.model_versions (
    category            varchar(64)    NOT NULL,
    version             nvarchar(128)  NOT NULL,
    scorer              nvarchar(64)   NOT NULL,
    state               varchar(16)    NOT NULL CHECK (state IN ('live', 'shadow', 'retired')),
    card                nvarchar(max)  NOT NULL,
    metrics             nvarchar(max)  NOT NULL,
    artifact            varbinary(max) NOT NULL,
    artifact_sha256     char(64)       NOT NULL,
    registered_by       nvarchar(256)  NOT NULL,
    registered_at_ms    bigint         NOT NULL,
    state_changed_at_ms bigint         NOT NULL,
    PRIMARY KEY (category, version)
);
CREATE UNIQUE INDEX ux_model_versions_live ON dbo.model_versions (category) WHERE state = 'live';

CREATE TABLE dbo.claims (
    id             varchar(64)    NOT NULL PRIMARY KEY,
    text           nvarchar(1000) NOT NULL,
    text_key       char(64)       NOT NULL,
    source_url     nvarchar(2000) NOT NULL,
    category       varchar(64)    NOT NULL DEFAULT 'misinformation',
    note           nvarchar(max)  NULL,
    state          varchar(16)    NOT NULL CHECK (state IN ('active', 'retired')),
    created_by     nvarchar(256)  NOT NULL,
    created_at_ms  bigint         NOT NULL,
    retired_by     nvarchar(256)  NULL,
    retired_at_ms  bigint         NULL,
    retire_reason  nvarchar(max)  NULL
);
CREATE UNIQUE INDEX ux_claims_active_text ON dbo.claims (text_key) WHERE state = 'active';
