"""Runs whose own process died: `social-pipeline run` executes jobs in its own process on the
DAGSTER_HOME instance (`execute_in_process`), so no run launcher or code server watches them and a
kill -9 leaves them STARTED for good, holding the writers' pool and blocking every queued writer.

Each such run is tagged with the process that executes it (host, pid and the pid's start time, so a
reused pid is not mistaken for it). The next `social-pipeline run` and `make dev` (`init-instance`)
report the runs of dead processes on this host as failed, through Dagster, so the failure sensor
sees them and the queue moves on. Runs launched by the daemon are Dagster's own to watch (the code
server fails a run whose worker died; `run_monitoring` in dagster.yaml fails what outlives
`max_runtime_seconds`).
"""

from __future__ import annotations

import os
import socket

RUNNER_TAG = "social_pipeline/runner"


def _start_ticks(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), '' where /proc is missing."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            # The command name (field 2) may hold spaces; start time is the 20th field after it.
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def runner_tags() -> dict[str, str]:
    """Tags naming this process as the one executing a run in process."""
    pid = os.getpid()
    return {RUNNER_TAG: f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"}


def _runner_alive(runner: str) -> bool | None:
    """Whether the process a RUNNER_TAG names still runs; None when it is another host's."""
    host, _, rest = runner.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process under that pid: not ours, so ours is gone
        return False
    return not start or _start_ticks(pid) == start


def fail_runs_of_dead_runners(instance) -> list[str]:
    """Report every unfinished run whose in-process runner on this host is gone as failed. Returns
    their run ids. With the pools' run granularity (dagster.yaml) a run holds the writers' pool while
    it is in progress, so a failed run holds none (the run-monitoring daemon frees any slots left)."""
    from dagster import DagsterRunStatus, RunsFilter

    unfinished = [
        DagsterRunStatus.STARTED,
        DagsterRunStatus.STARTING,
        DagsterRunStatus.NOT_STARTED,
        DagsterRunStatus.CANCELING,
    ]
    failed = []
    for run in instance.get_runs(filters=RunsFilter(statuses=unfinished)):
        runner = run.tags.get(RUNNER_TAG)
        if not runner or _runner_alive(runner) is not False:
            continue
        _, _, rest = runner.partition(":")
        message = (
            f"The process that executed this run in process (`social-pipeline run`, pid {rest.split(':')[0]}) "
            "is gone (killed or crashed), so the run can never finish: marked failed so the writers' "
            "queue moves on. Re-run it; every write is idempotent."
        )
        instance.report_run_failed(run, message)
        failed.append(run.run_id)
    return failed
