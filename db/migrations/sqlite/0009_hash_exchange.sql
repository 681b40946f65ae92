-- Media the industry exchanges (issue 15): every bank declares the hash algorithm of its entries, and only hashes of
-- that algorithm are matched against it. Banks from before this migration hold this service's own crop-robust hashes
-- (the only algorithm there was), so they say so; new banks default to PDQ. Times are Unix epoch milliseconds (UTC).

ALTER TABLE hash_banks ADD COLUMN algorithm TEXT NOT NULL DEFAULT 'crop-robust'
    CHECK (algorithm IN ('pdq', 'vpdq', 'md5', 'sha256', 'crop-robust'));

-- A vPDQ entry is one video: its frames' PDQ hashes (ThreatExchange's "frame,quality,hash,seconds" lines joined by
-- ';'); its `hash` is the SHA-256 of that text, which keeps one active entry per video and bank. Metadata columns an
-- exchanged list carried (tags, a partner's reference, ...) are kept per entry as a JSON object.
ALTER TABLE hash_bank_entries ADD COLUMN frames TEXT NULL;
ALTER TABLE hash_bank_entries ADD COLUMN metadata TEXT NULL;
-- Quarantine: an entry that suddenly matches a flood of uploads stops matching until a policy user releases or retires it.
ALTER TABLE hash_bank_entries ADD COLUMN quarantined_at_ms INTEGER NULL;
ALTER TABLE hash_bank_entries ADD COLUMN quarantine_reason TEXT NULL;

-- Which uploads each entry matched, once per entry and upload: what the flood check counts.
CREATE TABLE hash_entry_matches (
    entry_id       TEXT    NOT NULL,
    upload_id      TEXT    NOT NULL,
    matched_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (entry_id, upload_id)
);
CREATE INDEX ix_hash_entry_matches_time ON hash_entry_matches (entry_id, matched_at_ms);

-- Each frame's PDQ hash beside the crop-robust one (`hash`, which near-duplicate search keeps reading).
ALTER TABLE media_frames ADD COLUMN pdq TEXT NULL;
ALTER TABLE media_frames ADD COLUMN pdq_quality INTEGER NULL;

-- Text read from a frame by OCR (Tesseract), kept per upload × media item × frame; frame -1: why nothing was read.
CREATE TABLE media_frame_text (
    upload_id      TEXT    NOT NULL REFERENCES uploads (id),
    ordinal        INTEGER NOT NULL,
    frame          INTEGER NOT NULL,
    position_ms    INTEGER NULL,
    text           TEXT    NULL,               -- what was read (NULL or empty: nothing)
    confidence     REAL    NULL,               -- Tesseract's mean word confidence, 0-100
    problem        TEXT    NULL,
    created_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (upload_id, ordinal, frame)
);
