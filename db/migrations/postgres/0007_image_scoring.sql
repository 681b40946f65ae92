-- Image classification (issue 4): image heads and custom ONNX models live in the model registry beside the text
-- heads, so "one live version" now holds per category and scorer (a text head and an image head of harm.hate are
-- both live); and what the image scorer saw is kept per upload × media item × frame.

DROP INDEX ux_model_versions_live;
CREATE UNIQUE INDEX ux_model_versions_live ON model_versions (category, scorer) WHERE state = 'live';

CREATE TABLE media_frame_scores (
    upload_id      varchar(64)  NOT NULL REFERENCES uploads (id),
    ordinal        integer      NOT NULL,
    frame          integer      NOT NULL,
    position_ms    bigint       NULL,
    scores         text         NOT NULL,
    problem        text         NULL,
    created_at_ms  bigint       NOT NULL,
    PRIMARY KEY (upload_id, ordinal, frame)
);
