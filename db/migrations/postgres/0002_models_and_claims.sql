-- The model registry (trained model artifacts and which version is live per category) and the claim bank
-- (known false claims curated by policy teams). Times are Unix epoch milliseconds (UTC), like 0001.

CREATE TABLE model_versions (
    category            varchar(64)  NOT NULL,
    version             varchar(128) NOT NULL,
    scorer              varchar(64)  NOT NULL,
    state               varchar(16)  NOT NULL CHECK (state IN ('live', 'shadow', 'retired')),
    card                text         NOT NULL,
    metrics             text         NOT NULL,
    artifact            bytea        NOT NULL,
    artifact_sha256     char(64)     NOT NULL,
    registered_by       varchar(256) NOT NULL,
    registered_at_ms    bigint       NOT NULL,
    state_changed_at_ms bigint       NOT NULL,
    PRIMARY KEY (category, version)
);
CREATE UNIQUE INDEX ux_model_versions_live ON model_versions (category) WHERE state = 'live';

CREATE TABLE claims (
    id             varchar(64)   NOT NULL PRIMARY KEY,
    text           varchar(1000) NOT NULL,
    text_key       char(64)      NOT NULL,
    source_url     varchar(2000) NOT NULL,
    category       varchar(64)   NOT NULL DEFAULT 'misinformation',
    note           text          NULL,
    state          varchar(16)   NOT NULL CHECK (state IN ('active', 'retired')),
    created_by     varchar(256)  NOT NULL,
    created_at_ms  bigint        NOT NULL,
    retired_by     varchar(256)  NULL,
    retired_at_ms  bigint        NULL,
    retire_reason  text          NULL
);
CREATE UNIQUE INDEX ux_claims_active_text ON claims (text_key) WHERE state = 'active';
