"""Entry points outside Dagster: the CLI, the HTTP API and the serving code behind both."""
