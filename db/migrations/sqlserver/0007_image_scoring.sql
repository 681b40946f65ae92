-- Image classification (issue 4): image heads and custom ONNX models live in the model registry beside the text
-- heads, so "one live version" now holds per category and scorer (a text head and an image head of harm.hate are
-- both live); and what the image scorer saw is kept per upload × media item × frame.

DROP INDEX ux_model_versions_live ON dbo.model_versions;
CREATE UNIQUE INDEX ux_model_versions_live ON dbo.model_versions (category, scorer) WHERE state = 'live';

CREATE TABLE dbo.media_frame_scores (
    upload_id      varchar(64)   NOT NULL REFERENCES dbo.uploads (id),
    ordinal        int           NOT NULL,
    frame          int           NOT NULL,
    position_ms    bigint        NULL,
    scores         nvarchar(max) NOT NULL,
    problem        nvarchar(max) NULL,
    created_at_ms  bigint        NOT NULL,
    PRIMARY KEY (upload_id, ordinal, frame)
);
