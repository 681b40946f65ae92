-- What a scorer declined to score, and why: a text with no words to judge, or a language the text models were
-- not trained on. Times are Unix epoch milliseconds (UTC), like 0001.
-- One row per upload x scorer x code, insert-if-absent like scores, so a retried job stores nothing twice.
CREATE TABLE dbo.abstentions (
    upload_id     varchar(64)    NOT NULL REFERENCES dbo.uploads (id),
    scorer        nvarchar(128)  NOT NULL,
    code          varchar(64)    NOT NULL,       -- no_text | language_unsupported | another scorer's code
    reason        nvarchar(max)  NOT NULL,       -- what a person reads, e.g. "written in Spanish (es, confidence 0.97)"
    model_version nvarchar(128)  NOT NULL,       -- what decided it, e.g. the language detector and its mode
    confidence    float          NOT NULL,       -- how sure, 0 to 1
    created_at_ms bigint         NOT NULL,
    PRIMARY KEY (upload_id, scorer, code)
);
