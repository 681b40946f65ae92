-- One scoring queue (issue 17): Hangfire's jobs are the queue, so uploads no longer carry a job's claim and lease.
-- An upload records the id of the scoring job enqueued for it instead: an upload left `queued` with none was stored
-- but never enqueued (the host stopped in between, or the job store was down) and is enqueued at the next start-up.
-- Uploads queued before this migration have none, so they are enqueued again by the first host that starts: their
-- old jobs named methods that no longer exist. Only columns change (nothing reads them in the same batch).
ALTER TABLE dbo.uploads DROP COLUMN claim_token, claimed_until_ms;
ALTER TABLE dbo.uploads ADD scoring_job_id varchar(64) NULL;   -- the Hangfire job that scores it
