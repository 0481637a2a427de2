"""Data-quality checks on the collection and snapshot assets.

Blocking checks stop bad data from flowing downstream in the same run (to the report
and the models). Freshness of the collection is a FreshnessPolicy on raw_tweet_metrics.
"""

import dagster as dg

from .assets.analytics import post_performance, post_snapshots
from .assets.ingestion import raw_tweet_metrics
from .assets.ml import LIVE_FIGURES_SQL, MODEL_TARGETS, prediction_outcomes
from .core import model_registry
from .core.metrics import COUNT_COLUMNS
from .resources.warehouse import WarehouseResource, scalar

MAX_NAMED = 10


def _result(passed: bool, offenders, what: str, severity=dg.AssetCheckSeverity.ERROR,
            extra_metadata: dict | None = None) -> dg.AssetCheckResult:
    named = [str(o) for o in offenders[:MAX_NAMED]]
    return dg.AssetCheckResult(
        passed=passed,
        severity=severity,
        description=None if passed else f"{len(offenders)} {what}: {', '.join(named)}"
        + (" ..." if len(offenders) > MAX_NAMED else ""),
        metadata={"offending_count": len(offenders), "first_offenders": dg.MetadataValue.json(named),
                  **(extra_metadata or {})},
    )


@dg.asset_check(asset=raw_tweet_metrics, blocking=True, description="Every stored count is >= 0.")
def counts_are_non_negative(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    negative = " OR ".join(f"{c} < 0" for c in COUNT_COLUMNS)
    with warehouse.get_connection() as con:
        rows = con.execute(
            f"SELECT DISTINCT post_id FROM raw.tweet_metrics WHERE {negative} ORDER BY 1"
        ).fetchall()
    return _result(not rows, [r[0] for r in rows], "posts with negative counts")


# A drop older than this (in collection time) no longer fails the check: it was reported already.
DECREASE_LOOKBACK_DAYS = 7


@dg.asset_check(
    asset=post_snapshots,
    description="Warns when a cumulative metric (likes, retweets, replies, quotes) drops from one "
    "snapshot of a post to the next, naming the posts; fails with ERROR when impressions drop. Not "
    "blocking: on X an unlike or a deleted reply lowers a count for real, and a blocking check over "
    "the whole history would then stop every later run. Looks at drops seen in the last 7 days of "
    "collections, so one real unlike warns for a week rather than forever.",
)
def cumulative_metrics_never_decrease(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    columns = ["impressions", "likes", "retweets", "replies", "quotes"]
    lagged = ", ".join(f"{c}, lag({c}) OVER w AS prev_{c}" for c in columns)
    dropped = ", ".join(f"CASE WHEN {c} < prev_{c} THEN '{c}' END" for c in columns)
    with warehouse.get_connection() as con:
        rows = con.execute(
            f"""
            SELECT post_id, min(snapshot_time) AS first_drop,
                   list_sort(list_distinct(flatten(list(list_value({dropped}))))) AS metrics
            FROM (SELECT post_id, snapshot_time, {lagged} FROM analytics.post_snapshots
                  WINDOW w AS (PARTITION BY post_id ORDER BY snapshot_time))
            WHERE ({" OR ".join(f"{c} < prev_{c}" for c in columns)})
              AND snapshot_time >= (SELECT max(snapshot_time) FROM analytics.post_snapshots) - INTERVAL {DECREASE_LOOKBACK_DAYS} DAY
            GROUP BY post_id ORDER BY post_id
            """
        ).fetchall()
    # Impressions are views: they cannot be taken back, so a drop there is a data error.
    impressions_dropped = any("impressions" in metrics for _, _, metrics in rows)
    return _result(
        not rows, [f"{post} ({', '.join(metrics)} at {when})" for post, when, metrics in rows],
        "posts whose metrics decreased",
        dg.AssetCheckSeverity.ERROR if impressions_dropped else dg.AssetCheckSeverity.WARN,
    )


@dg.asset_check(asset=post_snapshots, blocking=True, description="engagement_rate_pct is never negative or "
                "non-finite: figures that cannot be real (NULL is unknown, where a source did not report impressions "
                "or an engagement count). A rate above 100% can be real and only warns (engagement_rates_plausible).")
def engagement_rate_within_bounds(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        rows = con.execute(
            "SELECT DISTINCT post_id FROM analytics.post_snapshots "
            "WHERE engagement_rate_pct < 0 OR isnan(engagement_rate_pct) OR isinf(engagement_rate_pct) ORDER BY 1"
        ).fetchall()
        unknown = scalar(con, "SELECT count(*) FROM analytics.post_snapshots WHERE engagement_rate_pct IS NULL")
    return _result(not rows, [r[0] for r in rows], "posts with a negative or non-finite engagement rate",
                   extra_metadata={"snapshots_with_unknown_rate": int(unknown)})


@dg.asset_check(asset=post_snapshots, description="Warns, naming the posts, when a post's latest figures are real "
                "but implausible (engagement_rate_flag): more engagements than impressions (X counts a repost's "
                "retweets from the original), or engagements on 0 impressions (old posts). Not blocking: the figures "
                "are what X reported, kept with the formula's rate.")
def engagement_rates_plausible(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        rows = con.execute(
            """
            SELECT post_id, engagement_rate_flag, engagements, impressions FROM analytics.post_snapshots
            QUALIFY row_number() OVER (PARTITION BY post_id ORDER BY snapshot_time DESC) = 1
                AND engagement_rate_flag IS NOT NULL
            ORDER BY post_id
            """
        ).fetchall()
    return _result(not rows, [f"{post} ({engagements} engagements on {impressions} impressions)"
                              for post, _, engagements, impressions in rows],
                   "posts with implausible figures", dg.AssetCheckSeverity.WARN)


@dg.asset_check(
    asset=post_performance,
    description="Every post published before the latest collection has at least one snapshot "
    "(unless the source reported it deleted, protected or not found).",
)
def every_post_has_a_snapshot(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        rows = con.execute(
            """
            SELECT p.post_id FROM raw.posts AS p
            WHERE p.published_at < (SELECT max(snapshot_time) FROM analytics.post_snapshots)
              AND p.post_id NOT IN (SELECT post_id FROM analytics.post_performance)
              AND p.post_id NOT IN (SELECT post_id FROM raw.tweet_metrics WHERE status <> 'ok')
            ORDER BY 1
            """
        ).fetchall()
    return _result(not rows, [r[0] for r in rows], "posts without any snapshot", dg.AssetCheckSeverity.WARN)


# ----- models ---------------------------------------------------------------------------
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


defs = dg.Definitions(
    asset_checks=[
        counts_are_non_negative,
        cumulative_metrics_never_decrease,
        engagement_rate_within_bounds,
        engagement_rates_plausible,
        every_post_has_a_snapshot,
        *(check for name in MODEL_TARGETS for check in _model_checks(name)),
        live_error_within_held_out,
    ],
)
