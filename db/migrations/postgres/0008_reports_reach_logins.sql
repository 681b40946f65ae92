-- Queue priority from reach and reports, and sign-in by OpenID Connect.
-- Times are Unix epoch milliseconds (UTC), like 0001.

-- A platform user's report (flag) of an upload, pushed by the platform (POST /v1/uploads/{id}/reports).
-- One per reporter per upload: a repeated report by the same reporter is the stored one, never a second row.
CREATE TABLE upload_reports (
    id            varchar(64)   NOT NULL PRIMARY KEY,
    upload_id     varchar(64)   NOT NULL REFERENCES uploads (id),
    reporter_id   varchar(256)  NOT NULL,        -- the platform's opaque id of the person reporting
    reason        varchar(64)   NOT NULL,        -- one of Moderation:Review:Priority:ReportReasons
    detail        text          NULL,
    submitted_by  varchar(64)   NOT NULL,        -- the API key that sent it
    created_at_ms bigint        NOT NULL,
    UNIQUE (upload_id, reporter_id)
);
CREATE INDEX ix_upload_reports_upload ON upload_reports (upload_id, created_at_ms);

-- Counters the queue priority reads: reports received, and the latest cumulative view count the platform pushed.
ALTER TABLE uploads ADD COLUMN report_count integer NOT NULL DEFAULT 0;
ALTER TABLE uploads ADD COLUMN views bigint NOT NULL DEFAULT 0;
ALTER TABLE uploads ADD COLUMN views_at_ms bigint NULL;

-- The routed score a review task's priority starts from (priority = f(score, reach, reports)); null on older
-- rows and on appeal and quality tasks, whose priority is fixed.
ALTER TABLE review_tasks ADD COLUMN base_score double precision NULL;

-- Workbench users who sign in through an OpenID Connect provider: the provider's subject, tied to a local user.
CREATE TABLE user_logins (
    provider             varchar(64)   NOT NULL,  -- the configured provider's name
    subject              varchar(256)  NOT NULL,  -- the provider's 'sub' claim
    user_id              varchar(64)   NOT NULL REFERENCES users (id),
    created_at_ms        bigint        NOT NULL,
    last_sign_in_at_ms   bigint        NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX ix_user_logins_user ON user_logins (user_id);
