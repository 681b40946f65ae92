-- The review workbench after the moderators' trial (issue 16).
-- Exposure care counts media only: a text-only upload in a graphic category was marked graphic and counted toward
-- the reviewer's daily cap. Open and finished tasks of uploads without media are not graphic.
UPDATE review_tasks SET graphic = 0
WHERE graphic = 1 AND NOT EXISTS (SELECT 1 FROM media m WHERE m.upload_id = review_tasks.upload_id);
