"""What the scheduled jobs do, end to end: a sweep with its report and alerts, a takedown
recheck, the daily digest.

``scheduler.py`` says when; these say what, and ``listingguard sweep`` and the demo use the same
``after_sweep``, so a sweep started by hand writes the same report and sends the same alerts as
a scheduled one. Each job opens its own workspace (an SQLite connection belongs to its thread)
and takes a ``stop`` event it honours at a safe point.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from listingguard import alerts, casework, deliver, report, runs, store, sweep
from listingguard.config import Config
from listingguard.errors import ListingGuardError
from listingguard.workspace import Workspace, workspace_of

log = logging.getLogger(__name__)


def after_sweep(
    ws: Workspace, summary: dict[str, Any], stop: threading.Event | None = None
) -> dict[str, Any]:
    """Write the sweep's report.html and send its alert; the summary with both added.

    An alert that cannot be delivered is logged and retried by ``deliver.send`` and never
    fails the sweep: the findings are in the store whatever the mail server does.
    """
    path = report.write_report(ws, summary)
    summary = {**summary, "report": str(path)}
    alert = alerts.sweep_alert(ws.db, ws.config, summary, str(path))
    sent = deliver.send(ws.config, alert, stop=stop) if alert else []
    return {**summary, "alerts": [asdict(d) for d in sent]}


def sweep_job(
    config: Config, marketplace: str | None, stop: threading.Event | None = None
) -> dict[str, Any]:
    """Sweep one marketplace (``None``: all enabled), then report and alert."""
    ws = workspace_of(config)
    try:
        result = sweep.run(ws.config, ws.db, marketplace, stop=stop)
        summary = result.summary()
        if result.stopped:  # resumed by the next run; its report comes then
            log.info("sweep of %s stopped at a safe point", marketplace or "all marketplaces")
            return summary
        summary = after_sweep(ws, summary, stop)
        log.info(
            "sweep of %s: %d new findings; report %s",
            marketplace or "all marketplaces",
            summary["new_findings"],
            summary["report"],
        )
        return summary
    finally:
        ws.close()


def recheck_job(config: Config, stop: threading.Event | None = None) -> dict[str, Any]:
    """Look at every open case's listing again and record removals; ``stopped`` when the stop
    came first (the scheduler runs it again at its next start)."""
    ws = workspace_of(config)
    try:
        result = casework.recheck(ws, stop)
        removed = sum(1 for r in result if r["now"] == "removed")
        log.info("recheck: %d open cases looked at, %d now removed", len(result), removed)
        return {"cases": result, "stopped": stop is not None and stop.is_set()}
    finally:
        ws.close()


def latest_report(ws: Workspace) -> Path | None:
    """The newest sweep report, for the digest to point at."""
    found = sorted(
        ws.config.workspace.reports.glob("sweep-*/report.html"), key=lambda p: p.stat().st_mtime
    )
    return found[-1] if found else None


def digest_job(
    config: Config, job: str = "digest", stop: threading.Event | None = None
) -> dict[str, Any]:
    """Send the digest of everything since the last digest that was sent (the first one covers
    all); nothing is sent when there is nothing to say. Returns what was sent and ``until``,
    the time the digest was taken at: the next digest starts there (``runs.finished`` keeps
    it), so nothing that happens while this one is delivered falls between two digests."""
    ws = workspace_of(config)
    try:
        last = runs.last_runs(ws.db).get(job)
        since = last.succeeded_at if last else None
        until = store.now()
        latest = latest_report(ws)
        alert = alerts.digest_alert(
            ws.db, ws.config, since, str(latest) if latest else None, until=until
        )
        if alert is None:
            log.info("digest: nothing new since %s", since or "the start")
            return {"sent": [], "until": until}
        sent = [asdict(d) for d in deliver.send(ws.config, alert, stop=stop)]
        log.info("digest: %s", ", ".join(f"{d['channel']} ok={d['ok']}" for d in sent))
        if sent and not any(d["ok"] for d in sent):  # the next digest covers this one's news
            raise ListingGuardError(
                "the digest reached no channel: "
                + "; ".join(f"{d['channel']}: {d['error']}" for d in sent)
            )
        return {"sent": sent, "until": until}
    finally:
        ws.close()
