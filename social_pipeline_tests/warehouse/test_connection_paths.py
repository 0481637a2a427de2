"""Warehouse paths: MotherDuck paths pass through the resource untouched."""

from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.connection import is_local_file


def test_motherduck_paths_pass_through_untouched(monkeypatch):
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", "md:social_warehouse?motherduck_token_env=MD_TOKEN")
    from social_pipeline.warehouse.connection import database_path

    assert database_path() == "md:social_warehouse?motherduck_token_env=MD_TOKEN"
    assert not is_local_file(database_path())
    assert WarehouseResource(database=database_path()).database == database_path()
