-- Image classification (issue 4): image heads and custom ONNX models live in the model registry beside the text
-- heads, so "one live version" now holds per category and scorer (a text head and an image head of harm.hate are
-- both live); and what the image scorer saw is kept per upload × media item × frame.

DROP INDEX ux_model_versions_live;
CREATE UNIQUE INDEX ux_model_versions_live ON model_versions (category, scorer) WHERE state = 'live';

CREATE TABLE media_frame_scores (
    upload_id      TEXT    NOT NULL REFERENCES uploads (id),
    ordinal        INTEGER NOT NULL,               -- the media item (media.ordinal)
    frame          INTEGER NOT NULL,               -- frame number within the item; -1: about the whole item
    position_ms    INTEGER NULL,                   -- where in a video the frame was taken
    scores         TEXT    NOT NULL,               -- JSON: [{category, modelVersion, score, shadow}]
    problem        TEXT    NULL,                   -- why the item or frame was not (fully) scored; categories without an image model
    created_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (upload_id, ordinal, frame)
);
