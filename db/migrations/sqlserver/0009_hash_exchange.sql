-- Media the industry exchanges (issue 15): every bank declares the hash algorithm of its entries, and only hashes of
-- that algorithm are matched against it. Banks from before this migration hold this service's own crop-robust hashes
-- (the only algorithm there was), so they say so; new banks default to PDQ. Times are Unix epoch milliseconds (UTC).
-- (Columns are only added here, not read in this batch: SQL Server binds columns per batch.)

ALTER TABLE dbo.hash_banks ADD algorithm varchar(16) NOT NULL CONSTRAINT df_hash_banks_algorithm DEFAULT 'crop-robust'
    CONSTRAINT ck_hash_banks_algorithm CHECK (algorithm IN ('pdq', 'vpdq', 'md5', 'sha256', 'crop-robust'));

ALTER TABLE dbo.hash_bank_entries ADD frames nvarchar(max) NULL;
ALTER TABLE dbo.hash_bank_entries ADD metadata nvarchar(max) NULL;
ALTER TABLE dbo.hash_bank_entries ADD quarantined_at_ms bigint NULL;
ALTER TABLE dbo.hash_bank_entries ADD quarantine_reason nvarchar(max) NULL;

CREATE TABLE dbo.hash_entry_matches (
    entry_id       varchar(64) NOT NULL,
    upload_id      varchar(64) NOT NULL,
    matched_at_ms  bigint      NOT NULL,
    PRIMARY KEY (entry_id, upload_id)
);
CREATE INDEX ix_hash_entry_matches_time ON dbo.hash_entry_matches (entry_id, matched_at_ms);

ALTER TABLE dbo.media_frames ADD pdq char(64) NULL;
ALTER TABLE dbo.media_frames ADD pdq_quality int NULL;

CREATE TABLE dbo.media_frame_text (
    upload_id      varchar(64)   NOT NULL REFERENCES dbo.uploads (id),
    ordinal        int           NOT NULL,
    frame          int           NOT NULL,
    position_ms    bigint        NULL,
    text           nvarchar(max) NULL,
    confidence     real          NULL,
    problem        nvarchar(max) NULL,
    created_at_ms  bigint        NOT NULL,
    PRIMARY KEY (upload_id, ordinal, frame)
);
