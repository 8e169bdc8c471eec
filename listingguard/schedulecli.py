"""``listingguard schedule``: run scheduler.py in the foreground, or list its jobs."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import signal
import threading
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import click
from rich.markup import escape
from rich.table import Table

import scheduler as scheduler_mod
from listingguard import config as config_mod
from listingguard import store
from listingguard.cli import cli, config_option, json_option, out, print_json
from listingguard.errors import ListingGuardError

log = logging.getLogger("listingguard.schedule")


@contextlib.contextmanager
def only_scheduler(path: Path) -> Iterator[None]:
    """Hold the workspace's scheduler lock: two schedulers would run every job twice."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            raise ListingGuardError(
                f"another scheduler runs this workspace (pid {fh.read().strip() or '?'}; "
                f"lock {path})"
            ) from None
        fh.truncate(0)
        fh.write(str(os.getpid()))
        fh.flush()
        yield


def _local(iso: str | None, tz: zoneinfo.ZoneInfo) -> str:
    """An ISO time as the table shows it: minutes, in the schedule's time zone."""
    if iso is None:
        return "never"
    return dt.datetime.fromisoformat(iso).astimezone(tz).strftime("%Y-%m-%d %H:%M")


@cli.command()
@click.option("--list", "list_jobs", is_flag=True, help="Print the jobs and their next runs; exit.")
@click.option("-v", "--verbose", is_flag=True, help="Log the crawls' and APScheduler's own steps.")
@config_option
@json_option
def schedule(list_jobs: bool, verbose: bool, config_path: Path, as_json: bool) -> None:
    """Run the sweeps, takedown rechecks and the daily digest on their cron schedules.

    Runs in the foreground and logs each run (start it from systemd: see docs/scheduling.md).
    SIGTERM or Ctrl-C lets the running job reach a safe point (a sweep asks its crawl to stop;
    the next run resumes it) and exits. The last and next run of every job are kept in the
    database, so a restart neither repeats a run nor forgets one missed while it was down
    (within schedule.misfire_grace).

    \b
    Example:
      listingguard schedule --list
      listingguard schedule --config /srv/brand/config.toml
    """
    config = config_mod.load(config_path)
    store.open_store(config.workspace.database).close()  # a missing database is said now
    sched = scheduler_mod.Scheduler(config)
    if list_jobs:
        plan = sched.plan()
        if as_json:
            print_json(plan)
            return
        table = Table("job", "cron", "last run", "next run")
        tz = zoneinfo.ZoneInfo(config.schedule.timezone)
        for job in plan:
            last = (
                f"{_local(job['last_fire_time'], tz)} ({job['last_status']})"
                if job["runs"]
                else "never"
            )
            nxt = _local(job["next_run"], tz) + (" (due now)" if job["late"] else "")
            table.add_row(escape(job["what"]), escape(job["cron"]), escape(last), escape(nxt))
        out.print(table)
        out.print(f"Times in {escape(config.schedule.timezone)}; start with: listingguard schedule")
        return
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: stopping at the next safe point", signal.Signals(signum).name)
        stop.set()

    with only_scheduler(Path(config.path).parent / ".schedule.lock"):
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        sched.start()
        log.info("scheduler started for %s (%d jobs)", config.path, len(sched.specs))
        while not stop.wait(1.0):
            pass
        sched.stop()
        log.info("scheduler stopped")
