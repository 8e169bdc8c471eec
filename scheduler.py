"""When jobs run: APScheduler wiring for sweeps, takedown re-checks and digests.

The jobs and the `listingguard schedule` command arrive with the scheduling issue; the cron
expressions they will use are already validated by `listingguard.config` (section `[schedule]`).
"""
