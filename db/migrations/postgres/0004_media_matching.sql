-- Hash banks (known violating media as perceptual hashes, each bank with a category and an action) and the
-- per-frame evidence the hash-match scorer records for every image and video frame it reads. Times are Unix
-- epoch milliseconds (UTC), like 0001.

CREATE TABLE hash_banks (
    name           varchar(64)  NOT NULL PRIMARY KEY,
    category       varchar(64)  NOT NULL,
    action         varchar(16)  NOT NULL CHECK (action IN ('none', 'label', 'demote', 'interstitial', 'ineligible')),
    description    text         NULL,
    created_by     varchar(256) NOT NULL,
    created_at_ms  bigint       NOT NULL,
    updated_at_ms  bigint       NOT NULL
);

CREATE TABLE hash_bank_entries (
    id             varchar(64)   NOT NULL PRIMARY KEY,
    bank           varchar(64)   NOT NULL REFERENCES hash_banks (name),
    hash           char(64)      NOT NULL,
    quality        integer       NULL,
    source         varchar(1000) NULL,
    added_by       varchar(256)  NOT NULL,
    added_at_ms    bigint        NOT NULL,
    retired_by     varchar(256)  NULL,
    retired_at_ms  bigint        NULL,
    retire_reason  text          NULL
);
CREATE UNIQUE INDEX ux_hash_bank_entries_active ON hash_bank_entries (bank, hash) WHERE retired_at_ms IS NULL;

CREATE TABLE media_frames (
    upload_id      varchar(64)  NOT NULL REFERENCES uploads (id),
    ordinal        integer      NOT NULL,
    frame          integer      NOT NULL,
    position_ms    bigint       NULL,
    hash           char(64)     NULL,
    quality        integer      NULL,
    matches        text         NOT NULL,
    problem        text         NULL,
    created_at_ms  bigint       NOT NULL,
    PRIMARY KEY (upload_id, ordinal, frame)
);
