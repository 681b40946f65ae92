-- Vectors the scorers compute per upload (the text as a whole, an image or a video frame), kept for near-duplicate
-- search in the review workbench. Times are Unix epoch milliseconds (UTC),
-- like 0001.

CREATE TABLE dbo.upload_embeddings (
    seq            bigint IDENTITY(1, 1) NOT NULL PRIMARY KEY, -- written under the append lock, so it grows in commit order
    upload_id      varchar(64)    NOT NULL REFERENCES dbo.uploads (id),
    kind           varchar(16)    NOT NULL,
    model          varchar(128)   NOT NULL,
    media_ordinal  int            NOT NULL,        -- -1 for text
    frame          int            NOT NULL,        -- -1 when not a frame of a video or animation
    dimensions     int            NOT NULL,
    vector         varbinary(max) NOT NULL,        -- float32 little-endian, L2-normalised
    created_at_ms  bigint         NOT NULL
);
CREATE UNIQUE INDEX ux_upload_embeddings ON dbo.upload_embeddings (upload_id, kind, model, media_ordinal, frame);
CREATE INDEX ix_upload_embeddings_model ON dbo.upload_embeddings (kind, model, seq);
