"""social_pipeline: a Dagster code location for social post analytics on DuckDB.

`from social_pipeline import AnalyticsCollector` gives the analytics seed's Python API,
`from social_pipeline import predict` the prediction notebook's `predict(payload) -> dict`, and
`from social_pipeline import connect; con = connect(read_only=True)` a DuckDB connection to the warehouse
(`SOCIAL_PIPELINE_DB`: a DuckDB file, or a DuckLake attached and selected) in which `raw.*`, `analytics.*`
and `ml.*` resolve, for notebooks and BI scripts. All are imported on first use, so `import
social_pipeline` stays cheap.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for type checkers only: at run time __getattr__ imports each on first use
    from social_pipeline.app.serving import predict
    from social_pipeline.compat.analytics_collector import AnalyticsCollector
    from social_pipeline.warehouse.connection import connect

__all__ = ["AnalyticsCollector", "connect", "predict"]


def __getattr__(name: str):
    if name == "AnalyticsCollector":
        from social_pipeline.compat.analytics_collector import AnalyticsCollector

        return AnalyticsCollector
    if name == "connect":
        from social_pipeline.warehouse.connection import connect

        return connect
    if name == "predict":
        from social_pipeline.app.serving import predict

        return predict
    raise AttributeError(f"module 'social_pipeline' has no attribute {name!r}")
