"""The scheduler's memory: when each job last ran, kept in the store (table ``schedule_runs``).

APScheduler 3 keeps its jobs in memory; what must survive a restart is only each job's last
fire time (the time it was scheduled for, not when it happened to start), whether that run
finished, and when the job is next due. From those a restarted scheduler knows which run is
next without repeating the last one or forgetting one missed while it was down
(``scheduler.first_run``). Times are UTC ISO strings like every other time in the store.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from listingguard import store

STATUSES = ("running", "finished", "failed", "stopped", "missed")
"""``stopped``: asked to stop at a safe point (SIGTERM); ``missed``: due while the scheduler was
down or busy for longer than the misfire grace time, so not run."""


@dataclass(frozen=True)
class Run:
    job: str
    fire_time: dt.datetime
    status: str
    started_at: str | None = None
    finished_at: str | None = None
    succeeded_at: str | None = None
    error: str | None = None
    next_run_at: str | None = None
    runs: int = 0

    @property
    def interrupted(self) -> bool:
        """The run never finished: the process died in it, or it was stopped at a safe point."""
        return self.status in ("running", "stopped")


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def last_runs(db: Database) -> dict[str, Run]:
    """Every job's last run, by job id."""
    if "schedule_runs" not in db.table_names():
        return {}
    return {
        r["job"]: Run(**{**r, "fire_time": _time(r["fire_time"])})
        for r in db.query("SELECT * FROM schedule_runs")
    }


def started(db: Database, job: str, fire_time: dt.datetime) -> None:
    """A run for ``fire_time`` began. Written from the scheduler's submission event, which can
    arrive after the run has already finished: a finished run of the same fire time is kept."""
    fired, now = _iso(fire_time), store.now()
    with store.transaction(db):
        db.execute(
            "INSERT INTO schedule_runs (job, fire_time, status, started_at, runs) "
            "VALUES (?, ?, 'running', ?, 1) "
            "ON CONFLICT (job) DO UPDATE SET fire_time = excluded.fire_time, status = 'running', "
            "started_at = excluded.started_at, finished_at = NULL, error = NULL, runs = runs + 1 "
            "WHERE schedule_runs.fire_time != excluded.fire_time",
            [job, fired, now],
        )


def finished(
    db: Database,
    job: str,
    fire_time: dt.datetime,
    status: str,
    error: str | None = None,
    next_run: dt.datetime | None = None,
    watermark: str | None = None,
) -> None:
    """How the run for ``fire_time`` ended (``finished``, ``failed``, ``stopped`` or ``missed``),
    and when the job is next due. ``succeeded_at`` becomes ``watermark`` when the job says up to
    when it looked (the digest), else the time it finished.

    An outcome older than the run recorded is dropped: APScheduler can report a run's end after
    the next run of the job has started, and that run's record must stand."""
    if status not in STATUSES:
        raise ValueError(f"{status!r} is not one of {', '.join(STATUSES)}")
    now = store.now()
    row: dict[str, Any] = {
        "job": job,
        "fire_time": _iso(fire_time),
        "status": status,
        "finished_at": now,
        "error": error,
        "next_run_at": _iso(next_run) if next_run else None,
    }
    with store.transaction(db):
        old = db.execute(
            "SELECT fire_time, runs, succeeded_at, started_at FROM schedule_runs WHERE job = ?",
            [job],
        ).fetchone()
        if old is not None and _time(old[0]) > fire_time:
            return
        same = old is not None and old[0] == row["fire_time"]
        row["runs"] = (old[1] if old else 0) + (0 if same or status == "missed" else 1)
        row["succeeded_at"] = (
            (watermark or now) if status == "finished" else (old[2] if old else None)
        )
        row["started_at"] = (old[3] if same else None) if status != "missed" else None
        db["schedule_runs"].upsert(row, pk="job")


def due(db: Database, job: str, next_run: dt.datetime | None) -> None:
    """When the job is next due, as the scheduler has it now (for ``schedule --list``)."""
    with store.transaction(db):
        db.execute(
            "UPDATE schedule_runs SET next_run_at = ? WHERE job = ?",
            [_iso(next_run) if next_run else None, job],
        )
