-- Vectors the scorers compute per upload (the text as a whole, an image or a video frame), kept for near-duplicate
-- search in the review workbench. Times are Unix epoch milliseconds (UTC),
-- like 0001.

CREATE TABLE upload_embeddings (
    seq            INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, -- written under the append lock, so it grows in commit order
    upload_id      TEXT    NOT NULL REFERENCES uploads (id),
    kind           TEXT    NOT NULL,               -- text | image; vectors are compared only within one kind and model
    model          TEXT    NOT NULL,               -- e.g. all-MiniLM-L6-v2, resnet18
    media_ordinal  INTEGER NOT NULL,               -- the media item (media.ordinal); -1 for text
    frame          INTEGER NOT NULL,               -- the sampled frame of a video or animation; -1 otherwise
    dimensions     INTEGER NOT NULL,
    vector         BLOB    NOT NULL,               -- float32 little-endian, L2-normalised
    created_at_ms  INTEGER NOT NULL
);
-- One vector per upload, kind, model, media item and frame: a retried scoring job stores nothing twice.
CREATE UNIQUE INDEX ux_upload_embeddings ON upload_embeddings (upload_id, kind, model, media_ordinal, frame);
CREATE INDEX ix_upload_embeddings_model ON upload_embeddings (kind, model, seq);
