-- API keys made through the API or the admin page: who made one and when it stops working by itself.
ALTER TABLE dbo.api_keys ADD expires_at_ms bigint NULL;          -- null: never expires (revoke it instead)
ALTER TABLE dbo.api_keys ADD created_by nvarchar(256) NULL;      -- audit actor; null for keys made before 0012
ALTER TABLE dbo.api_keys ADD revoked_by nvarchar(256) NULL;

-- Workbench sessions: every cookie carries the account's security stamp; a new stamp (sign-out, password,
-- roles, disabling) ends every session issued under the old one.
ALTER TABLE dbo.users ADD security_stamp varchar(64) NOT NULL CONSTRAINT df_users_security_stamp DEFAULT '';

-- Password sign-in throttling, shared by every host: one row per throttled key
-- (address:<ip>, account:<lower-case user name>, device:<id>).
CREATE TABLE dbo.sign_in_throttle (
    throttle_key        nvarchar(400) NOT NULL PRIMARY KEY,
    failures            int           NOT NULL,
    next_allowed_at_ms  bigint        NOT NULL,
    updated_at_ms       bigint        NOT NULL
);
CREATE INDEX ix_sign_in_throttle_updated ON dbo.sign_in_throttle (updated_at_ms);
