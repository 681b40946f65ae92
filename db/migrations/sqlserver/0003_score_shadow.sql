-- A score from a model in the registry's shadow state: stored for comparison with the live model, never routed on.
ALTER TABLE dbo.scores ADD shadow BIT NOT NULL CONSTRAINT df_scores_shadow DEFAULT 0;
