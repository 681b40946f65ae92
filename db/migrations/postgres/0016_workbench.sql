-- The review workbench after the moderators' trial (issue 16).
-- Exposure care counts media only: a text-only upload in a graphic category was marked graphic and counted toward
-- the reviewer's daily cap. Open and finished tasks of uploads without media are not graphic.
UPDATE review_tasks SET graphic = 0
WHERE graphic = 1 AND NOT EXISTS (SELECT 1 FROM media m WHERE m.upload_id = review_tasks.upload_id);

-- The escalation ladder: a review task opens for everyone who decides ('triage' and up), triage's escalation passes it
-- to moderators ('moderator'), a moderator's to seniors ('senior'). Review tasks opened before this said 'moderator'
-- for "anyone who decides" (triage could take them); they keep that meaning. Appeals and quality samples stay
-- 'moderator' (triage decides neither). Tasks triage escalated before this already say 'senior' and stay so.
UPDATE review_tasks SET required_role = 'triage' WHERE kind = 'review' AND required_role = 'moderator';

-- The audit page opens at the newest events and filters by actor, action, subject and time: each filter walks one of
-- these newest first (seq within the filter's value), instead of the whole table.
CREATE INDEX ix_audit_events_actor ON audit_events (actor, seq);
CREATE INDEX ix_audit_events_action ON audit_events (action, seq);
CREATE INDEX ix_audit_events_subject_id ON audit_events (subject_id, seq);
CREATE INDEX ix_audit_events_time ON audit_events (occurred_at_ms);
