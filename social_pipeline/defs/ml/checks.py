"""Checks on the models and their live predictions."""

import dagster as dg

from social_pipeline.core import model_registry
from social_pipeline.defs.checks_common import _result
from social_pipeline.defs.ml.assets import LIVE_FIGURES_SQL, MODEL_TARGETS, prediction_outcomes
from social_pipeline.resources.warehouse import WarehouseResource

# The training asset promotes a model by the same two criteria (core/model_registry.promotion).
# p10-p90 should hold about 80% of held-out outcomes: within 15 points, or within 2.5 binomial
# standard errors when the held-out set is small enough for chance alone to move it further.
NOMINAL_INTERVAL_COVERAGE = 0.80


def coverage_band(n_test: int) -> tuple[float, float]:
    half_width = max(0.15, 2.5 * (NOMINAL_INTERVAL_COVERAGE * (1 - NOMINAL_INTERVAL_COVERAGE) / max(n_test, 1)) ** 0.5)
    return NOMINAL_INTERVAL_COVERAGE - half_width, min(1.0, NOMINAL_INTERVAL_COVERAGE + half_width)


def _model_checks(name: str) -> list[dg.AssetChecksDefinition]:
    def figures(warehouse: WarehouseResource) -> dict:
        with warehouse.get_connection() as con:
            row = model_registry.latest(con, name)
        if row is None:
            raise dg.Failure(f"{name} has no row in ml.model_registry")
        return {"version": row["version"], "previous_version": row["previous_version"], "n_test": int(row["n_test"]),
                **row["metrics"]}

    @dg.asset_check(asset=name, name="beats_baseline",
                    description="Held-out RMSE is below the baseline's (each user's trailing mean) on the same posts.")
    def beats_baseline(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        return beats_baseline_result(name, figures(warehouse))

    @dg.asset_check(asset=name, name="not_worse_than_previous",
                    description="Held-out RMSE is at most "
                    f"{model_registry.PREVIOUS_MODEL_RMSE_TOLERANCE:.0%} above the replaced model's on the same held-out posts.")
    def not_worse_than_previous(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        return not_worse_than_previous_result(name, figures(warehouse))

    @dg.asset_check(asset=name, name="interval_coverage_about_80pct",
                    description="The p10-p90 interval holds about 80% of held-out outcomes (65-95%, wider "
                    "for a small held-out set: 2.5 binomial standard errors).")
    def interval_coverage_about_80pct(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        f = figures(warehouse)
        low, high = coverage_band(f["n_test"])
        return dg.AssetCheckResult(
            passed=bool(low <= f["interval_coverage"] <= high),
            description=f"{name} {f['version']}: {f['interval_coverage']:.1%} of held-out outcomes inside p10-p90",
            metadata={"interval_coverage": float(f["interval_coverage"]), "band_low": low, "band_high": high},
        )

    return [beats_baseline, not_worse_than_previous, interval_coverage_about_80pct]


MODEL_CHECKS = [check for name in MODEL_TARGETS for check in _model_checks(name)]


def beats_baseline_result(name: str, f: dict) -> dg.AssetCheckResult:
    """The beats_baseline check on a model's held-out figures (a registry row's metrics)."""
    return dg.AssetCheckResult(
        passed=model_registry.beats_baseline(f),
        description=f"{name} {f['version']}: RMSE {f['rmse']:.1f} vs baseline {f['baseline_rmse']:.1f}; "
                    f"R² {f['r2']:.3f} vs {f['baseline_r2']:.3f}",
        metadata={k: float(f[k]) for k in ("rmse", "baseline_rmse", "r2", "baseline_r2")},
    )


def not_worse_than_previous_result(name: str, f: dict) -> dg.AssetCheckResult:
    """The not_worse_than_previous check on a model's held-out figures (a registry row's metrics)."""
    if "previous_rmse" not in f:
        return dg.AssetCheckResult(passed=True, description="first version: nothing to compare with")
    if f["previous_rmse"] is None:
        return dg.AssetCheckResult(passed=True, description=f"previous version {f.get('previous_version')} "
                                   "could not be loaded: nothing to compare with")
    return dg.AssetCheckResult(
        passed=model_registry.not_worse_than_previous(f),
        description=f"{name} {f['version']}: RMSE {f['rmse']:.1f} vs previous {f['previous_rmse']:.1f}",
        metadata={"rmse": float(f["rmse"]), "previous_rmse": float(f["previous_rmse"])},
    )


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
        [f"{r.target} {r.version}: live MAE {r.live_mae:.1f} vs held-out {r.held_out_mae:.1f} over {r.outcomes}"
         for r in drifted.itertuples()],
        "model versions whose live error drifted", dg.AssetCheckSeverity.WARN,
    )
