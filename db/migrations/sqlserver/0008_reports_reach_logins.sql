-- Queue priority from reach and reports, and sign-in by OpenID Connect.
-- Times are Unix epoch milliseconds (UTC), like 0001.

-- A platform user's report (flag) of an upload, pushed by the platform (POST /v1/uploads/{id}/reports).
-- One per reporter per upload: a repeated report by the same reporter is the stored one, never a second row.
CREATE TABLE dbo.upload_reports (
    id            varchar(64)    NOT NULL PRIMARY KEY,
    upload_id     varchar(64)    NOT NULL REFERENCES dbo.uploads (id),
    reporter_id   nvarchar(256)  NOT NULL,       -- the platform's opaque id of the person reporting
    reason        nvarchar(64)   NOT NULL,       -- one of Moderation:Review:Priority:ReportReasons
    detail        nvarchar(max)  NULL,
    submitted_by  varchar(64)    NOT NULL,       -- the API key that sent it
    created_at_ms bigint         NOT NULL,
    CONSTRAINT uq_upload_reports_reporter UNIQUE (upload_id, reporter_id)
);
CREATE INDEX ix_upload_reports_upload ON dbo.upload_reports (upload_id, created_at_ms);

-- Counters the queue priority reads: reports received, and the latest cumulative view count the platform pushed.
-- (Only added here, not read in this batch: SQL Server binds columns per batch.)
ALTER TABLE dbo.uploads ADD report_count int NOT NULL CONSTRAINT df_uploads_report_count DEFAULT 0;
ALTER TABLE dbo.uploads ADD views bigint NOT NULL CONSTRAINT df_uploads_views DEFAULT 0;
ALTER TABLE dbo.uploads ADD views_at_ms bigint NULL;

-- The routed score a review task's priority starts from (priority = f(score, reach, reports)); null on older
-- rows and on appeal and quality tasks, whose priority is fixed.
ALTER TABLE dbo.review_tasks ADD base_score float NULL;

-- Workbench users who sign in through an OpenID Connect provider: the provider's subject, tied to a local user.
CREATE TABLE dbo.user_logins (
    provider             nvarchar(64)   NOT NULL,  -- the configured provider's name
    subject              nvarchar(256)  NOT NULL,  -- the provider's 'sub' claim
    user_id              varchar(64)    NOT NULL REFERENCES dbo.users (id),
    created_at_ms        bigint         NOT NULL,
    last_sign_in_at_ms   bigint         NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX ix_user_logins_user ON dbo.user_logins (user_id);
