"""The scheduler: APScheduler on the real clock, with the store's memory of past runs.

The clock is made fast by writing the past into the store (a previous process "ran" a job at
a chosen fire time) and by triggers that fire every second; jobs are plain functions here
except in the end-to-end tests, which run ``listingguard schedule`` itself against the demo
marketplace and stop it with SIGTERM.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger

import scheduler
from listingguard import config as config_mod
from listingguard import findings as findings_mod
from listingguard import jobs, runs, store
from listingguard import sweep as sweep_mod
from listingguard.demo.tour import set_marketplace_key
from tests.conftest import run
from tests.test_sweep import demo_workspace

UTC = dt.UTC


def hourly() -> CronTrigger:
    """Every hour at :00 (for first_run, whose clock is NOW)."""
    return CronTrigger(minute=0, timezone=UTC)


def far_hourly() -> CronTrigger:
    """Every hour, at the minute farthest from now: no run of it falls due during a test."""
    return CronTrigger(minute=(dt.datetime.now(UTC).minute + 30) % 60, timezone=UTC)


def spec(trigger: CronTrigger, calls: list, job: str = "tick", **kw) -> scheduler.JobSpec:
    return scheduler.JobSpec(
        job, job, "test", trigger, lambda stop: calls.append(time.time()), **kw
    )


def record(config: Path, job: str, fire_time: dt.datetime, status: str) -> None:
    """As if an earlier scheduler process had run ``job`` for ``fire_time``."""
    db = store.open_store(config.parent / "listingguard.db")
    runs.started(db, job, fire_time)
    if status != "running":
        runs.finished(db, job, fire_time, status)
    db.close()


def last(config: Path, job: str) -> runs.Run:
    db = store.open_store(config.parent / "listingguard.db")
    try:
        return runs.last_runs(db)[job]
    finally:
        db.close()


def wait_for(check, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return False


def running(config: Path, specs: list[scheduler.JobSpec]) -> scheduler.Scheduler:
    sched = scheduler.Scheduler(config_mod.load(config), specs)
    sched.start()
    return sched


def last_fire(trigger: CronTrigger, now: dt.datetime) -> dt.datetime:
    """The trigger's latest fire time at or before ``now``."""
    t = trigger.get_next_fire_time(None, now - dt.timedelta(days=2))
    prev = t
    while t is not None and t <= now:
        prev, t = t, trigger.get_next_fire_time(t, t)
    return prev


# -- first_run: which run comes first after a start ----------------------------------------------

NOW = dt.datetime(2026, 12, 1, 12, 20, tzinfo=UTC)


def test_a_job_never_run_waits_for_its_next_time() -> None:
    assert scheduler.first_run(spec(hourly(), []), None, NOW) == NOW.replace(hour=13, minute=0)


def test_the_run_already_made_is_not_repeated_after_a_restart() -> None:
    done = runs.Run("tick", NOW.replace(minute=0), "finished")
    assert scheduler.first_run(spec(hourly(), []), done, NOW) == NOW.replace(hour=13, minute=0)


def test_a_run_missed_while_down_is_due_at_once() -> None:
    done = runs.Run("tick", NOW.replace(hour=9, minute=0), "finished")
    assert scheduler.first_run(spec(hourly(), []), done, NOW) == NOW.replace(hour=10, minute=0)


def test_an_interrupted_run_is_run_again_unless_it_must_not_be() -> None:
    died = runs.Run("tick", NOW.replace(minute=0), "running")
    assert scheduler.first_run(spec(hourly(), []), died, NOW) == NOW
    assert scheduler.first_run(spec(hourly(), []), died, NOW, resume=False) == NOW.replace(
        hour=13, minute=0
    )


# -- the scheduler on the real clock --------------------------------------------------------------


def test_a_due_job_runs_every_time_and_each_run_is_kept(workspace: Path) -> None:
    calls: list[float] = []
    sched = running(workspace, [spec(CronTrigger(second="*", timezone=UTC), calls)])
    try:
        assert wait_for(lambda: len(calls) >= 3), calls
    finally:
        sched.stop()
    assert wait_for(lambda: last(workspace, "tick").status == "finished")
    row = last(workspace, "tick")
    assert row.runs == len(calls) and row.succeeded_at
    assert row.fire_time.microsecond == 0 and row.next_run_at > row.fire_time.isoformat()[:19]


def test_a_restart_right_after_a_run_does_not_run_it_again(workspace: Path) -> None:
    trigger, calls = far_hourly(), []
    done = last_fire(trigger, dt.datetime.now(UTC))
    record(workspace, "tick", done, "finished")
    sched = running(workspace, [spec(trigger, calls)])
    try:
        time.sleep(2)
        assert calls == []
        assert sched.next_runs()["tick"] == done + dt.timedelta(hours=1)
    finally:
        sched.stop()
    assert last(workspace, "tick").runs == 1


def test_an_interrupted_job_with_nothing_to_resume_waits_for_its_time(workspace: Path) -> None:
    trigger, calls = far_hourly(), []
    done = last_fire(trigger, dt.datetime.now(UTC))
    record(workspace, "tick", done, "running")  # killed after its sweep, while reporting
    sched = running(workspace, [spec(trigger, calls, resumable=lambda db: False)])
    try:
        time.sleep(2)
        assert calls == [] and sched.next_runs()["tick"] == done + dt.timedelta(hours=1)
    finally:
        sched.stop()


def test_runs_missed_while_down_run_once_at_start(workspace: Path) -> None:
    trigger, calls = far_hourly(), []
    record(
        workspace,
        "tick",
        last_fire(trigger, dt.datetime.now(UTC)) - dt.timedelta(hours=5),
        "finished",
    )
    sched = running(workspace, [spec(trigger, calls)])
    try:
        assert wait_for(lambda: len(calls) == 1)
        time.sleep(1.5)
        assert len(calls) == 1  # five missed runs coalesce into one
    finally:
        sched.stop()
    row = last(workspace, "tick")
    assert row.status == "finished" and row.fire_time == last_fire(trigger, dt.datetime.now(UTC))


def test_a_run_later_than_the_grace_time_is_recorded_missed_not_run(workspace: Path) -> None:
    text = re.sub(r"(?m)^misfire_grace = 3600", "misfire_grace = 60", workspace.read_text("utf-8"))
    workspace.write_text(text, "utf-8")
    assert config_mod.load(workspace).schedule.misfire_grace == 60
    now = dt.datetime.now(UTC)
    trigger = CronTrigger(hour=(now - dt.timedelta(hours=2)).hour, minute=0, timezone=UTC)
    due = last_fire(trigger, now)
    record(workspace, "tick", due - dt.timedelta(days=2), "finished")
    calls: list[float] = []
    sched = running(workspace, [spec(trigger, calls)])
    try:
        assert wait_for(lambda: last(workspace, "tick").status == "missed")
    finally:
        sched.stop()
    assert calls == [] and last(workspace, "tick").fire_time == due


def test_an_interrupted_run_is_resumed_at_start(workspace: Path) -> None:
    calls: list[float] = []
    record(workspace, "tick", last_fire(far_hourly(), dt.datetime.now(UTC)), "running")
    sched = running(workspace, [spec(far_hourly(), calls)])
    try:
        assert wait_for(lambda: len(calls) == 1)
    finally:
        sched.stop()
    assert last(workspace, "tick").status == "finished"


def test_jobs_run_one_at_a_time_and_a_failure_is_kept_not_fatal(workspace: Path) -> None:
    inside, overlaps, calls = [], [], []

    def slow(stop: threading.Event) -> None:
        overlaps.append(len(inside))
        inside.append(1)
        time.sleep(0.3)
        inside.pop()

    def broken(stop: threading.Event) -> None:
        calls.append(1)
        raise RuntimeError("the mail server is on fire")

    every = CronTrigger(second="*", timezone=UTC)
    specs = [scheduler.JobSpec(f"slow{i}", "slow", "*", every, slow) for i in range(3)]
    specs.append(scheduler.JobSpec("broken", "broken", "*", every, broken))
    sched = running(workspace, specs)
    try:
        assert wait_for(lambda: len(overlaps) >= 6 and len(calls) >= 2)
    finally:
        sched.stop()
    assert set(overlaps) == {0}
    row = last(workspace, "broken")
    assert row.status == "failed" and "the mail server is on fire" in row.error


def test_stop_waits_for_the_running_job_and_starts_no_other(workspace: Path) -> None:
    started, stopped_seen = threading.Event(), []

    def long(stop: threading.Event) -> dict:
        started.set()
        stop.wait(10)
        stopped_seen.append(stop.is_set())
        return {"stopped": True}

    every = CronTrigger(second="*", timezone=UTC)
    sched = running(workspace, [scheduler.JobSpec("long", "long", "*", every, long)])
    assert started.wait(5)
    t = time.monotonic()
    sched.stop()
    assert stopped_seen == [True] and time.monotonic() - t < 5
    assert wait_for(lambda: last(workspace, "long").status == "stopped")


# -- the command, end to end ----------------------------------------------------------------------


def test_schedule_list_prints_every_job_with_its_next_run(runner, workspace: Path) -> None:
    code, stdout, _ = run(runner, workspace, "schedule", "--list", "--json")
    assert code == 0, stdout
    jobs = {j["job"]: j for j in json.loads(stdout)}
    assert {"recheck", "digest"} <= set(jobs)
    assert all(j["next_run"] and j["runs"] == 0 for j in jobs.values())
    code, stdout, _ = run(runner, workspace, "schedule", "--list")
    assert code == 0 and "daily digest" in stdout and "next run" in stdout


def start_schedule(config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "listingguard", "schedule", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def test_sigterm_stops_a_sweep_at_a_safe_point_and_a_restart_resumes_it(market, tmp_path) -> None:
    config = demo_workspace(tmp_path / "ws", market.base_url, only=("demo-jsonld",))
    slow = set_marketplace_key(config.read_text("utf-8"), "demo-jsonld", "delay", "0.7")
    config.write_text(slow, "utf-8")
    # The previous scheduler process died as its sweep began: this one resumes it at once.
    record(config, "sweep:demo-jsonld", dt.datetime.now(UTC).replace(minute=0, second=0), "running")
    db = store.open_store(config.parent / "listingguard.db")
    with store.transaction(db):
        store.start_sweep(db, "demo-jsonld")
    db.close()
    log = tmp_path / "schedule.log"
    proc = start_schedule(config, log)
    db = store.open_store(config.parent / "listingguard.db")
    try:
        listed = lambda: db.execute("SELECT COUNT(*) FROM listings").fetchone()[0]  # noqa: E731
        assert wait_for(lambda: listed() >= 2, 60), log.read_text()
        crawl = children(proc.pid)
        assert crawl, "the sweep's crawl runs in a subprocess"
        second = subprocess.run(
            [sys.executable, "-m", "listingguard", "schedule", "--config", str(config)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert second.returncode != 0 and "another scheduler runs this workspace" in second.stderr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert "SIGTERM: stopping at the next safe point" in text and "scheduler stopped" in text
    assert not any(Path(f"/proc/{p}").exists() for p in crawl), "the crawl outlived the scheduler"
    assert last(config, "sweep:demo-jsonld").status == "stopped"
    sweep_row = db.execute("SELECT id, status FROM sweeps").fetchall()
    assert [s for _, s in sweep_row] == ["running"]  # resumable, not failed
    stored = listed()

    proc = start_schedule(config, log)  # the restart resumes the stopped sweep
    try:
        assert wait_for(lambda: last(config, "sweep:demo-jsonld").status == "finished", 120), (
            log.read_text()
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert db.execute("SELECT id, status FROM sweeps").fetchall() == [(sweep_row[0][0], "finished")]
    total, distinct = db.execute(
        "SELECT COUNT(*), COUNT(DISTINCT listing_id) FROM listings"
    ).fetchone()
    assert total == distinct > stored  # resumed: nothing stored twice, the rest added
    row = last(config, "sweep:demo-jsonld")
    assert row.runs == 3 and row.next_run_at  # the run that died, the stopped one, the resumed one
    reports = list((config.parent / "reports").glob("sweep-*/report.html"))
    assert len(reports) == 1
    db.close()


class StopAfterFirstListing(sweep_mod.Display):
    """A stop (the scheduler's SIGTERM) arriving as the matching stage writes its first listing."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop

    def listing_done(self, n: int) -> None:
        self.stop.set()


def test_a_stop_during_matching_leaves_the_rest_to_the_next_sweep(
    market, tmp_path, monkeypatch
) -> None:
    config = demo_workspace(tmp_path / "ws", market.base_url, only=("demo-woo",))
    monkeypatch.setattr(findings_mod, "BATCH", 1)  # a batch per listing, so the stop falls inside
    loaded = config_mod.load(config)
    db = store.open_store(loaded.workspace.database)
    stop = threading.Event()
    result = sweep_mod.run(loaded, db, None, StopAfterFirstListing(stop), workers=1, stop=stop)
    assert result.stopped and result.stage.listings == 1
    left = db.execute("SELECT COUNT(*) FROM listings WHERE matched_at IS NULL").fetchone()[0]
    assert left > 0 and [r[0] for r in db.execute("SELECT status FROM sweeps")] == ["matching"]

    again = sweep_mod.run(loaded, db, None, workers=1)  # the next run: straight to matching
    assert not again.stopped and again.crawls[0].resumed and again.stage.listings == left
    assert db.execute("SELECT COUNT(*) FROM listings WHERE matched_at IS NULL").fetchone()[0] == 0
    assert [r[0] for r in db.execute("SELECT status FROM sweeps")] == ["finished"]
    db.close()


def test_a_recheck_stopped_early_says_so(workspace: Path) -> None:
    config = config_mod.load(workspace)
    assert jobs.recheck_job(config) == {"cases": [], "stopped": False}
    stop = threading.Event()
    stop.set()
    assert jobs.recheck_job(config, stop)["stopped"]  # run again at the next start
