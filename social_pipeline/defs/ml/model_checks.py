"""The checks the models' multi-asset yields itself, from the held-out figures it has just computed."""

import dagster as dg

from social_pipeline.core import model_registry

# The training asset promotes a model by the first two criteria (core/model_registry.promotion).
# p10-p90 should hold about 80% of held-out outcomes: within 15 points, or within 2.5 binomial
# standard errors when the held-out set is small enough for chance alone to move it further.
NOMINAL_INTERVAL_COVERAGE = 0.80

CHECK_DESCRIPTIONS = {
    "beats_baseline": "Held-out RMSE is below the baseline's (each user's trailing mean) on the same posts.",
    "not_worse_than_previous": "Held-out RMSE is at most "
    f"{model_registry.PREVIOUS_MODEL_RMSE_TOLERANCE:.0%} above the replaced model's on the same held-out posts.",
    "interval_coverage_about_80pct": "The p10-p90 interval holds about 80% of held-out outcomes (65-95%, wider "
    "for a small held-out set: 2.5 binomial standard errors).",
}


def model_check_specs(names) -> list[dg.AssetCheckSpec]:
    """The three checks of each model, not blocking (no asset reads a model's output)."""
    return [
        dg.AssetCheckSpec(check, asset=name, description=description)
        for name in names
        for check, description in CHECK_DESCRIPTIONS.items()
    ]


def model_check_results(name: str, f: dict) -> list[dg.AssetCheckResult]:
    """The three checks of model `name` on its held-out figures (`version` and `n_test` among them)."""
    return [beats_baseline_result(name, f), not_worse_than_previous_result(name, f), interval_coverage_result(name, f)]


def coverage_band(n_test: int) -> tuple[float, float]:
    half_width = max(0.15, 2.5 * (NOMINAL_INTERVAL_COVERAGE * (1 - NOMINAL_INTERVAL_COVERAGE) / max(n_test, 1)) ** 0.5)
    return NOMINAL_INTERVAL_COVERAGE - half_width, min(1.0, NOMINAL_INTERVAL_COVERAGE + half_width)


def beats_baseline_result(name: str, f: dict) -> dg.AssetCheckResult:
    """The beats_baseline check on a model's held-out figures."""
    return dg.AssetCheckResult(
        asset_key=name,
        check_name="beats_baseline",
        passed=model_registry.beats_baseline(f),
        description=f"{name} {f['version']}: RMSE {f['rmse']:.1f} vs baseline {f['baseline_rmse']:.1f}; "
        f"R² {f['r2']:.3f} vs {f['baseline_r2']:.3f}",
        metadata={k: float(f[k]) for k in ("rmse", "baseline_rmse", "r2", "baseline_r2")},
    )


def not_worse_than_previous_result(name: str, f: dict) -> dg.AssetCheckResult:
    """The not_worse_than_previous check on a model's held-out figures."""
    check = "not_worse_than_previous"
    if "previous_rmse" not in f:
        return dg.AssetCheckResult(
            asset_key=name, check_name=check, passed=True, description="first version: nothing to compare with"
        )
    if f["previous_rmse"] is None:
        return dg.AssetCheckResult(
            asset_key=name,
            check_name=check,
            passed=True,
            description=f"previous version {f.get('previous_version')} could not be loaded: nothing to compare with",
        )
    return dg.AssetCheckResult(
        asset_key=name,
        check_name=check,
        passed=model_registry.not_worse_than_previous(f),
        description=f"{name} {f['version']}: RMSE {f['rmse']:.1f} vs previous {f['previous_rmse']:.1f}",
        metadata={"rmse": float(f["rmse"]), "previous_rmse": float(f["previous_rmse"])},
    )


def interval_coverage_result(name: str, f: dict) -> dg.AssetCheckResult:
    """The interval_coverage_about_80pct check on a model's held-out figures."""
    low, high = coverage_band(f["n_test"])
    return dg.AssetCheckResult(
        asset_key=name,
        check_name="interval_coverage_about_80pct",
        passed=bool(low <= f["interval_coverage"] <= high),
        description=f"{name} {f['version']}: {f['interval_coverage']:.1%} of held-out outcomes inside p10-p90",
        metadata={"interval_coverage": float(f["interval_coverage"]), "band_low": low, "band_high": high},
    )
