-- Hash banks (known violating media as perceptual hashes, each bank with a category and an action) and the
-- per-frame evidence the hash-match scorer records for every image and video frame it reads. Times are Unix
-- epoch milliseconds (UTC), like 0001.

CREATE TABLE hash_banks (
    name           TEXT    NOT NULL PRIMARY KEY,   -- lower-case letters, digits, '-', '_' (used in URLs and model versions)
    category       TEXT    NOT NULL,               -- the category a match scores, e.g. harm.sexual
    action         TEXT    NOT NULL CHECK (action IN ('none', 'label', 'demote', 'interstitial', 'ineligible')),
    description    TEXT    NULL,
    created_by     TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL
);

CREATE TABLE hash_bank_entries (
    id             TEXT    NOT NULL PRIMARY KEY,   -- UUID v7
    bank           TEXT    NOT NULL REFERENCES hash_banks (name),
    hash           TEXT    NOT NULL,               -- 64 lower-case hex digits (256 bits)
    quality        INTEGER NULL,                   -- 0-100 when known
    source         TEXT    NULL,                   -- provenance: where the hash came from (a case, a file, a partner list)
    added_by       TEXT    NOT NULL,
    added_at_ms    INTEGER NOT NULL,
    retired_by     TEXT    NULL,
    retired_at_ms  INTEGER NULL,                   -- NULL while the entry is matched
    retire_reason  TEXT    NULL
);
-- One active entry per hash and bank: importing the same list twice adds nothing.
CREATE UNIQUE INDEX ux_hash_bank_entries_active ON hash_bank_entries (bank, hash) WHERE retired_at_ms IS NULL;

CREATE TABLE media_frames (
    upload_id      TEXT    NOT NULL REFERENCES uploads (id),
    ordinal        INTEGER NOT NULL,               -- the media item (media.ordinal)
    frame          INTEGER NOT NULL,               -- frame number within the item; -1 when nothing could be read
    position_ms    INTEGER NULL,                   -- where in a video the frame was taken
    hash           TEXT    NULL,
    quality        INTEGER NULL,
    matches        TEXT    NOT NULL,               -- JSON: [{bank, entryId, distance, category, action}]
    problem        TEXT    NULL,                   -- why the item or frame could not be (fully) read
    created_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (upload_id, ordinal, frame)
);
