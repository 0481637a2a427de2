"""social_pipeline: a Dagster code location for social post analytics on DuckDB."""
