"""social_pipeline: a Dagster code location for social post analytics on DuckDB.

`from social_pipeline import AnalyticsCollector` gives the analytics seed's Python API and
`from social_pipeline import predict` the prediction notebook's `predict(payload) -> dict`; both
are imported on first use, so `import social_pipeline` stays cheap.
"""

__all__ = ["AnalyticsCollector", "predict"]


def __getattr__(name: str):
    if name == "AnalyticsCollector":
        from social_pipeline.compat.analytics_collector import AnalyticsCollector

        return AnalyticsCollector
    if name == "predict":
        from social_pipeline.app.serving import predict

        return predict
    raise AttributeError(f"module 'social_pipeline' has no attribute {name!r}")
