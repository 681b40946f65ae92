-- Appeals of automated actions (issue 16): an upload the policy actioned on a model's or hash match's signals has no
-- reviewer decision to name, so an appeal names the policy version whose routing actioned it instead.
-- decision_id becomes optional, one of the two is required, and an automated action is appealed once per upload and
-- policy version (as a decision is once).
ALTER TABLE appeals ALTER COLUMN decision_id DROP NOT NULL;
ALTER TABLE appeals ADD COLUMN policy_version varchar(128) NULL;
ALTER TABLE appeals ADD CONSTRAINT ck_appeals_subject CHECK (decision_id IS NOT NULL OR policy_version IS NOT NULL);
CREATE UNIQUE INDEX ux_appeals_automated ON appeals (upload_id, policy_version) WHERE decision_id IS NULL;
