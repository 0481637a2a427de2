"""The shared shape of a check result that names its offenders."""

import dagster as dg

MAX_NAMED = 10


def _result(
    passed: bool, offenders, what: str, severity=dg.AssetCheckSeverity.ERROR, extra_metadata: dict | None = None
) -> dg.AssetCheckResult:
    named = [str(o) for o in offenders[:MAX_NAMED]]
    return dg.AssetCheckResult(
        passed=passed,
        severity=severity,
        description=None
        if passed
        else f"{len(offenders)} {what}: {', '.join(named)}" + (" ..." if len(offenders) > MAX_NAMED else ""),
        metadata={
            "offending_count": len(offenders),
            "first_offenders": dg.MetadataValue.json(named),
            **(extra_metadata or {}),
        },
    )
