import pandas as pd
import pytest

from social_pipeline.resources.sources import SourceResource
from social_pipeline.resources.warehouse import WarehouseResource

# A fixed simulated clock keeps every test deterministic.
CLOCK = pd.Timestamp("2026-11-18 12:00")


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "warehouse.duckdb")


@pytest.fixture
def resources(db_path):
    return {
        "warehouse": WarehouseResource(database=db_path),
        "source": SourceResource(clock=str(CLOCK), history_days=3),
    }
