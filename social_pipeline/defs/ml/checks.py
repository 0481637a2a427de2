"""Checks on the live predictions (the models' own checks are yielded by their asset: model_checks.py)."""

import dagster as dg

from social_pipeline.defs.checks_common import _result
from social_pipeline.defs.ml.assets import LIVE_FIGURES_SQL, prediction_outcomes
from social_pipeline.resources.warehouse import WarehouseResource

# Live error may exceed the held-out error by chance; this much more, over enough outcomes, is drift.
LIVE_ERROR_DRIFT_RATIO = 1.5


MIN_LIVE_OUTCOMES = 10


@dg.asset_check(
    asset=prediction_outcomes,
    description=f"Warns when a model version's live MAE, over at least {MIN_LIVE_OUTCOMES} settled predictions, "
    f"is more than {LIVE_ERROR_DRIFT_RATIO}x its held-out MAE.",
)
def live_error_within_held_out(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        live = con.execute(LIVE_FIGURES_SQL).df()
    judged = live[(live.outcomes >= MIN_LIVE_OUTCOMES) & live.held_out_mae.notna()]
    drifted = judged[judged.live_mae > LIVE_ERROR_DRIFT_RATIO * judged.held_out_mae]
    return _result(
        drifted.empty,
        [
            f"{r.target} {r.version}: live MAE {r.live_mae:.1f} vs held-out {r.held_out_mae:.1f} over {r.outcomes}"
            for r in drifted.itertuples()
        ],
        "model versions whose live error drifted",
        dg.AssetCheckSeverity.WARN,
    )
