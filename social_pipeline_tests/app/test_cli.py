"""The CLI inside the test suite: its in-process runs go to no instance of the developer's."""

from social_pipeline.app.cli import _persistent_instance


def test_cli_runs_in_a_test_are_recorded_in_no_persistent_instance():
    """`make` exports DAGSTER_HOME=data/dagster_home for `make dev`, and so for `make test` too: there, a
    test's `social-pipeline ingest` recorded its refresh runs (on the test's empty warehouse) as the
    assets' latest materializations that `make dev` shows. Tests that need an instance make their own."""
    assert _persistent_instance() is None
