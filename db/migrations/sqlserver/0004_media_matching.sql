-- Hash banks (known violating media as perceptual hashes, each bank with a category and an action) and the
-- per-frame evidence the hash-match scorer records for every image and video frame it reads. Times are Unix
-- epoch milliseconds (UTC), like 0001.

CREATE TABLE dbo.hash_banks (
    name           varchar(64)   NOT NULL PRIMARY KEY,
    category       varchar(64)   NOT NULL,
    action         varchar(16)   NOT NULL CHECK (action IN ('none', 'label', 'demote', 'interstitial', 'ineligible')),
    description    nvarchar(max) NULL,
    created_by     nvarchar(256) NOT NULL,
    created_at_ms  bigint        NOT NULL,
    updated_at_ms  bigint        NOT NULL
);

CREATE TABLE dbo.hash_bank_entries (
    id             varchar(64)    NOT NULL PRIMARY KEY,
    bank           varchar(64)    NOT NULL REFERENCES dbo.hash_banks (name),
    hash           char(64)       NOT NULL,
    quality        int            NULL,
    source         nvarchar(1000) NULL,
    added_by       nvarchar(256)  NOT NULL,
    added_at_ms    bigint         NOT NULL,
    retired_by     nvarchar(256)  NULL,
    retired_at_ms  bigint         NULL,
    retire_reason  nvarchar(max)  NULL
);
CREATE UNIQUE INDEX ux_hash_bank_entries_active ON dbo.hash_bank_entries (bank, hash) WHERE retired_at_ms IS NULL;

CREATE TABLE dbo.media_frames (
    upload_id      varchar(64)   NOT NULL REFERENCES dbo.uploads (id),
    ordinal        int           NOT NULL,
    frame          int           NOT NULL,
    position_ms    bigint        NULL,
    hash           char(64)      NULL,
    quality        int           NULL,
    matches        nvarchar(max) NOT NULL,
    problem        nvarchar(max) NULL,
    created_at_ms  bigint        NOT NULL,
    PRIMARY KEY (upload_id, ordinal, frame)
);
