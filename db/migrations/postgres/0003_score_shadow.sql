-- A score from a model in the registry's shadow state: stored for comparison with the live model, never routed on.
ALTER TABLE scores ADD COLUMN shadow BOOLEAN NOT NULL DEFAULT FALSE;
