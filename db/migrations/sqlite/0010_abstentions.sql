-- What a scorer declined to score, and why: a text with no words to judge, or a language the text models were
-- not trained on. Times are Unix epoch milliseconds (UTC), like 0001.
-- One row per upload x scorer x code, insert-if-absent like scores, so a retried job stores nothing twice.
CREATE TABLE abstentions (
    upload_id     TEXT    NOT NULL REFERENCES uploads (id),
    scorer        TEXT    NOT NULL,
    code          TEXT    NOT NULL,              -- no_text | language_unsupported | another scorer's code
    reason        TEXT    NOT NULL,              -- what a person reads, e.g. "written in Spanish (es, confidence 0.97)"
    model_version TEXT    NOT NULL,              -- what decided it, e.g. the language detector and its mode
    confidence    REAL    NOT NULL,              -- how sure, 0 to 1
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (upload_id, scorer, code)
);
