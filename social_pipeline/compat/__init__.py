"""The seeds' Python APIs (AnalyticsCollector, collect_post_metrics, the notebook's train/predict),
backed by the warehouse."""
