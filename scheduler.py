"""When jobs run: APScheduler wiring for sweeps, takedown rechecks and the daily digest.

One cron job per enabled marketplace (``marketplaces.NAME.schedule``, else ``schedule.sweep``),
a recheck of open takedown cases (``schedule.recheck``) and the digest (``schedule.digest``), in
``schedule.timezone``. What each job does is ``listingguard.jobs``; this module only says when.

Each job coalesces the runs it missed into one, never runs twice at once, and is recorded as
missed when it could not start within ``schedule.misfire_grace`` seconds of its time. Jobs run
one at a time (the store has one writer), queued behind a lock rather than in the executor's
queue, so a job waiting for a long sweep is not counted as a misfire. Each job's last fire time
is kept in the store (``listingguard.runs``): a restart neither repeats the last run nor forgets
one that fell due while the scheduler was down, and a run that was interrupted (the process
died, or SIGTERM stopped it at a safe point) is run again at start, which resumes it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from sqlite_utils import Database

from listingguard import jobs, runs, store, sweep
from listingguard.config import Config

log = logging.getLogger("listingguard.schedule")

STOPPED = "stopped"
"""What a job's wrapper returns when the stop came before or during its run."""


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job: its id (kept in the store), what it does, when, and the call."""

    id: str
    what: str
    cron: str
    trigger: BaseTrigger
    run: Callable[[threading.Event], Any]
    # Whether an interrupted run is run again at start, asked of the store: a sweep only when
    # it left a sweep to resume (killed while reporting, it is done), a recheck always (it
    # repeats nothing), a digest never (it may have been sent already).
    resumable: Callable[[Database], bool] | None = lambda db: True


def job_specs(config: Config) -> list[JobSpec]:
    """The jobs of ``config`` (read once, at start: a changed schedule or marketplace list
    takes a restart): a sweep per enabled marketplace, the recheck, the digest."""
    tz = zoneinfo.ZoneInfo(config.schedule.timezone)

    def cron(expr: str) -> CronTrigger:
        return CronTrigger.from_crontab(expr, timezone=tz)

    specs = [
        JobSpec(
            f"sweep:{name}", f"sweep {name}", m.schedule or config.schedule.sweep,
            cron(m.schedule or config.schedule.sweep),
            partial(jobs.sweep_job, config, name), partial(sweep.resumable, name=name),
        )
        for name, m in config.marketplaces.items()
        if m.enabled
    ]  # fmt: skip
    specs.append(
        JobSpec(
            "recheck", "recheck open takedown cases", config.schedule.recheck,
            cron(config.schedule.recheck), partial(jobs.recheck_job, config),
        )
    )  # fmt: skip
    specs.append(
        JobSpec(
            "digest", "daily digest", config.schedule.digest, cron(config.schedule.digest),
            partial(jobs.digest_job, config, "digest"), resumable=None,
        )
    )  # fmt: skip
    return specs


def first_run(
    spec: JobSpec, last: runs.Run | None, now: dt.datetime, resume: bool = True
) -> dt.datetime | None:
    """When a job is first due after a start.

    Never run: its next time from now. Interrupted and ``resume`` (the spec's answer): now.
    Otherwise the first fire time after the last one recorded, which may be in the past: a run
    that fell due while the scheduler was down is then run at once (several coalesce into one),
    or recorded as missed past the grace time; the run that already happened is never repeated.
    """
    if last is None:
        return spec.trigger.get_next_fire_time(None, now)
    if last.interrupted and resume:
        return now
    return spec.trigger.get_next_fire_time(last.fire_time, now)


class Scheduler:
    """The jobs of one workspace on an APScheduler ``BackgroundScheduler``.

    ``start()`` returns at once; ``stop()`` sets the stop event the running job honours at its
    next safe point (a sweep asks its crawl to stop and starts no more matching) and waits
    for it.
    """

    def __init__(self, config: Config, specs: list[JobSpec] | None = None) -> None:
        self.config = config
        self.specs = {s.id: s for s in (job_specs(config) if specs is None else specs)}
        self.stopping = threading.Event()
        self._one_at_a_time = threading.Lock()
        self._aps = BackgroundScheduler(
            timezone=zoneinfo.ZoneInfo(config.schedule.timezone),
            executors={"default": ThreadPoolExecutor(max(1, len(self.specs)))},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": config.schedule.misfire_grace,
            },
        )
        self._aps.add_listener(
            self._on_event,
            EVENT_JOB_SUBMITTED
            | EVENT_JOB_EXECUTED
            | EVENT_JOB_ERROR
            | EVENT_JOB_MISSED
            | EVENT_JOB_MAX_INSTANCES,
        )

    def _store(self) -> Database:
        return store.open_store(self.config.workspace.database)

    def _first_runs(self, db: Database, now: dt.datetime) -> dict[str, dt.datetime | None]:
        last = runs.last_runs(db)
        out = {}
        for spec in self.specs.values():
            run = last.get(spec.id)
            resume = bool(run and run.interrupted and spec.resumable and spec.resumable(db))
            out[spec.id] = first_run(spec, run, now, resume)
        return out

    def plan(self, now: dt.datetime | None = None) -> list[dict[str, Any]]:
        """Each job with its schedule, its last run and when it is next due."""
        now = now or dt.datetime.now(dt.UTC)
        db = self._store()
        try:
            last, first = runs.last_runs(db), self._first_runs(db, now)
        finally:
            db.close()
        out = []
        for spec in self.specs.values():
            run, due = last.get(spec.id), first[spec.id]
            out.append({
                "job": spec.id, "what": spec.what, "cron": spec.cron,
                "timezone": self.config.schedule.timezone,
                "last_fire_time": run.fire_time.isoformat() if run else None,
                "last_status": run.status if run else None,
                "last_error": run.error if run else None,
                "runs": run.runs if run else 0,
                "next_run": due.isoformat() if due else None,
                "late": bool(due and due < now),
            })  # fmt: skip
        return out

    def start(self) -> None:
        """Add every job at its first run (``first_run``) and start; returns at once."""
        now = dt.datetime.now(zoneinfo.ZoneInfo(self.config.schedule.timezone))
        db = self._store()
        try:
            last, first = runs.last_runs(db), self._first_runs(db, now)
            for spec in self.specs.values():
                due = first[spec.id]
                self._aps.add_job(
                    self._call, spec.trigger, args=[spec.id], id=spec.id, name=spec.what,
                    next_run_time=due,
                )  # fmt: skip
                if spec.id in last:
                    runs.due(db, spec.id, due)
                log.info("%s (%s): next run %s", spec.what, spec.cron, _shown(due))
        finally:
            db.close()
        self._aps.start()

    def stop(self) -> None:
        """Stop at a safe point: the running job finishes or stops, none starts, then return."""
        self.stopping.set()
        self._aps.shutdown(wait=True)

    def next_runs(self) -> dict[str, dt.datetime | None]:
        """Each job's next run as APScheduler has it now."""
        return {j.id: j.next_run_time for j in self._aps.get_jobs()}

    def _call(self, job_id: str) -> Any:
        """Run one job, one at a time; ``STOPPED`` when the stop came first or interrupted it."""
        with self._one_at_a_time:
            if self.stopping.is_set():
                return STOPPED
            spec = self.specs[job_id]
            log.info("%s: started", spec.what)
            result = spec.run(self.stopping)
        if isinstance(result, dict) and result.get("stopped"):
            return STOPPED
        return result

    def _on_event(self, event: JobEvent) -> None:
        """Keep each run in the store as APScheduler reports it.

        The next run is worked out as APScheduler does (the first fire time after this one,
        from now): asking the scheduler would wait for the lock its shutdown holds while it
        waits for this very job.
        """
        spec = self.specs.get(event.job_id)
        now = dt.datetime.now(dt.UTC)
        fired = getattr(event, "scheduled_run_time", None)
        nxt = spec.trigger.get_next_fire_time(fired, now) if spec and fired else None
        db = self._store()
        try:
            if event.code == EVENT_JOB_SUBMITTED:
                runs.started(db, event.job_id, max(event.scheduled_run_times))
            elif event.code == EVENT_JOB_EXECUTED:
                status = "stopped" if event.retval == STOPPED else "finished"
                ret = event.retval if isinstance(event.retval, dict) else {}
                runs.finished(
                    db, event.job_id, event.scheduled_run_time, status, next_run=nxt,
                    watermark=ret.get("until"),
                )  # fmt: skip
                log.info("%s: %s; next run %s", event.job_id, status, _shown(nxt))
            elif event.code == EVENT_JOB_ERROR:
                error = f"{type(event.exception).__name__}: {event.exception}"
                runs.finished(db, event.job_id, event.scheduled_run_time, "failed", error, nxt)
                log.error("%s failed: %s; next run %s", event.job_id, error, _shown(nxt))
            elif event.code == EVENT_JOB_MISSED:
                runs.finished(db, event.job_id, event.scheduled_run_time, "missed", next_run=nxt)
                log.warning(
                    "%s: the run due at %s was missed (more than %d s late); next run %s",
                    event.job_id, event.scheduled_run_time, self.config.schedule.misfire_grace,
                    _shown(nxt),
                )  # fmt: skip
            elif event.code == EVENT_JOB_MAX_INSTANCES:
                log.warning("%s: still running, so this run is skipped", event.job_id)
        finally:
            db.close()


def _shown(t: dt.datetime | None) -> str:
    return t.isoformat(timespec="seconds") if t else "never"
