-- Media the industry exchanges (issue 15): every bank declares the hash algorithm of its entries, and only hashes of
-- that algorithm are matched against it. Banks from before this migration hold this service's own crop-robust hashes
-- (the only algorithm there was), so they say so; new banks default to PDQ. Times are Unix epoch milliseconds (UTC).

ALTER TABLE hash_banks ADD COLUMN algorithm varchar(16) NOT NULL DEFAULT 'crop-robust'
    CHECK (algorithm IN ('pdq', 'vpdq', 'md5', 'sha256', 'crop-robust'));

-- A vPDQ entry is one video: its frames' PDQ hashes; its `hash` is the SHA-256 of that text. Metadata of exchanged lists
-- is kept per entry as a JSON object.
ALTER TABLE hash_bank_entries ADD COLUMN frames text NULL;
ALTER TABLE hash_bank_entries ADD COLUMN metadata text NULL;
ALTER TABLE hash_bank_entries ADD COLUMN quarantined_at_ms bigint NULL;
ALTER TABLE hash_bank_entries ADD COLUMN quarantine_reason text NULL;

CREATE TABLE hash_entry_matches (
    entry_id       varchar(64) NOT NULL,
    upload_id      varchar(64) NOT NULL,
    matched_at_ms  bigint      NOT NULL,
    PRIMARY KEY (entry_id, upload_id)
);
CREATE INDEX ix_hash_entry_matches_time ON hash_entry_matches (entry_id, matched_at_ms);

ALTER TABLE media_frames ADD COLUMN pdq char(64) NULL;
ALTER TABLE media_frames ADD COLUMN pdq_quality integer NULL;

CREATE TABLE media_frame_text (
    upload_id      varchar(64) NOT NULL REFERENCES uploads (id),
    ordinal        integer     NOT NULL,
    frame          integer     NOT NULL,
    position_ms    bigint      NULL,
    text           text        NULL,
    confidence     real        NULL,
    problem        text        NULL,
    created_at_ms  bigint      NOT NULL,
    PRIMARY KEY (upload_id, ordinal, frame)
);
