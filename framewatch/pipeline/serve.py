"""`framewatch serve`: polling, analysis, the weekly digest and the dashboard in one service.

APScheduler keeps the calendar (a jittered poll interval, the digest's weekday and time
in its zone); its jobs only queue work, and the main thread does the work one job at a
time, so a signal (SIGTERM from systemd, Ctrl+C) reaches the work itself: a run stops
the way an interrupted `framewatch run` does, and the next start resumes it.

Nothing is held between runs: the store is opened for each run and closed after, so
`framewatch backup`, `digest --send` or a manual `run` can use it in between. The digest
send journal (framewatch/journal.py) makes a week's digest go out once, across restarts.

SIGHUP (`systemctl reload`) reads the config file again between jobs: new or removed
[[sources]], subscribers, schedules and analysis settings apply without a restart; a
config that does not load is logged and the running one kept.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from framewatch.analysis.framing.codebook import first_codebook
from framewatch.config import ConfigError, Settings, load_settings
from framewatch.errors import FramewatchError
from framewatch.journal import journal_records, merge_journal, recipient_key, sent_already
from framewatch.pipeline.children import die_with_parent
from framewatch.schedule import digest_trigger, last_digest, week_reported
from framewatch.service_marker import mark, unmark
from framewatch.store import Store, open_store

log = logging.getLogger("framewatch.serve")


class ServeError(FramewatchError):
    """The service cannot start as configured."""


class Service:
    """One serve process; :meth:`run` blocks until SIGTERM or SIGINT."""

    def __init__(self, db: Path, config: Path | None, settings: Settings):
        self.db, self.config, self.settings = Path(db), config, settings
        self.jobs: queue.Queue[str] = queue.Queue()
        self.started_at = datetime.now(timezone.utc)
        self.running_since: datetime | None = None
        self.interrupted_found = 0
        self.dashboard: subprocess.Popen | None = None
        self._dashboard_started = 0.0
        self._stopping = False
        self._reload = False  # set by SIGHUP, acted on by the main loop between jobs
        self.models = None
        self.scheduler: BackgroundScheduler | None = None
        self.health = None

    # -- the store, one run at a time ------------------------------------------------
    def _store(self) -> Store:
        from framewatch.sources import sync_config_sources

        store = open_store(self.db, lock_timeout_s=600)
        store.snapshot_interval_s = self.settings.snapshot_interval_s
        try:
            sync_config_sources(store, self.settings)
        except BaseException:
            store.close()
            raise
        return store

    def _prepare(self) -> None:
        """Create or migrate the store and publish a snapshot for the dashboard and health;
        refuse to start with subscribers no digest could reach."""
        from framewatch.dashboards.digest import setup_problems

        problems = setup_problems(self.settings)
        if problems:
            raise ConfigError("; ".join(problems))
        with self._store() as store:
            self.interrupted_found = store.execute(
                "SELECT count(*) FROM runs WHERE status = 'running'"
            ).fetchone()[0]
            store.publish_snapshot()
        if self.interrupted_found:
            log.info("resuming after %d interrupted run(s)", self.interrupted_found)

    def poll(self) -> None:
        """Fetch due feeds and analyse: one recorded run, like `framewatch run`."""
        from framewatch.pipeline.runner import run_all
        from framewatch.pipeline.runs import recorded_run

        self.running_since = datetime.now(timezone.utc)
        try:
            with self._store() as store, recorded_run(store, "serve") as rec:
                try:
                    run_all(store, self.settings, rec, models=self.models)
                except Exception as exc:
                    if self._stopping or "interrupted" in str(exc).lower():
                        # DuckDB turns a signal during a query into "Query interrupted":
                        # record the run as interrupted, and stop.
                        raise KeyboardInterrupt from None
                    raise
            shown = {k: v for k, v in rec.counts.items() if not k.startswith("_")}
            log.info("run #%d done: %s; %d problem(s)", rec.id, shown, len(rec.errors))
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # recorded as failed in the runs table; keep serving
            if self._stopping:  # DuckDB's "Query interrupted" as the store was opened or closed
                raise KeyboardInterrupt from None
            from framewatch import crashlog

            saved = crashlog.record(exc)
            log.error("run failed: %s (its traceback is in %s)", crashlog.describe(exc), saved)
        finally:
            self.running_since = None
        if self.digest_due():  # a digest that failed earlier (SMTP down) is tried again
            self.send_digest()

    # -- the digest --------------------------------------------------------------------
    def digest_due(self, now: datetime | None = None) -> str | None:
        """The week whose digest should go out now, if some subscriber still lacks it."""
        d = self.settings.digest
        if not self.settings.subscribers:
            return None
        now = now or datetime.now(timezone.utc)
        due = last_digest(d.send_at, d.timezone, now)
        if now - due > timedelta(hours=d.catch_up_hours):
            return None
        week = week_reported(due)
        journal = journal_records(self.db)
        sent: dict[str, set[str]] = {}  # codebook -> who has the week's digest
        default = first_codebook(self.settings.analysis)
        for sub in self.settings.subscribers:
            cb = sub.codebook or default
            if cb not in sent:
                sent[cb] = sent_already(journal, week, cb)
            if recipient_key(sub.email) not in sent[cb]:
                return week
        return None

    def send_digest(self) -> None:
        from framewatch.dashboards.digest import deliver
        from framewatch.store import connect

        week = self.digest_due()
        if week is None:
            return
        try:
            con = connect(self.db)
            try:
                results = deliver(con, self.db, self.settings, week, None)
            finally:
                con.close()
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            log.error("digest %s not sent: %s: %s", week, type(exc).__name__, exc)
            return
        for r in results:
            level = logging.WARNING if r.status == "failed" else logging.INFO
            log.log(level, "digest %s to %s: %s%s", week, r.recipient, r.status,
                    f" ({r.error})" if r.error else "")  # fmt: skip
        with self._store() as store:  # record the sends in the store too
            with store.transaction():
                merge_journal(store)
            store.publish_snapshot()

    # -- the dashboard -----------------------------------------------------------------
    def _start_dashboard(self) -> None:
        """The dashboard through `framewatch dashboard`, so its options and logins apply."""
        s = self.settings.serve
        cmd = [sys.executable, "-m", "framewatch", "--db", str(self.db.resolve())]
        if self.config is not None:
            cmd += ["--config", str(Path(self.config).resolve())]
        cmd += ["dashboard", "--host", s.dashboard_host, "--port", str(s.dashboard_port)]
        self.dashboard = subprocess.Popen(
            cmd, preexec_fn=die_with_parent, start_new_session=True, stdin=subprocess.DEVNULL
        )
        self._dashboard_started = time.monotonic()
        log.info("dashboard on http://%s:%d (pid %d)", s.dashboard_host, s.dashboard_port,
                 self.dashboard.pid)  # fmt: skip

    def _watch_dashboard(self) -> None:
        if self.dashboard is None or self.dashboard.poll() is None:
            return
        if time.monotonic() - self._dashboard_started >= 30:  # a crash loop waits between tries
            log.warning("the dashboard exited with code %d; starting it again",
                        self.dashboard.returncode)  # fmt: skip
            self._start_dashboard()

    def _stop_dashboard(self) -> None:
        if self.dashboard is None or self.dashboard.poll() is not None:
            return
        self.dashboard.terminate()
        try:
            self.dashboard.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.dashboard.kill()
            self.dashboard.wait()

    # -- health ------------------------------------------------------------------------
    def report(self) -> dict:
        from framewatch.pipeline.status import snapshot_status

        r = snapshot_status(self.db, self.settings)
        poll = self.scheduler.get_job("poll") if self.scheduler else None
        dash = None
        if self.dashboard is not None:
            code = self.dashboard.poll()
            dash = "running" if code is None else f"exited ({code})"
            if code is not None:
                r["healthy"] = False
                r["reasons"].append(f"the dashboard process exited with code {code}")
        r["serve"] = {
            "pid": os.getpid(),
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "run_in_progress_since": self.running_since.isoformat(timespec="seconds")
            if self.running_since
            else None,  # fmt: skip
            "next_poll_at": poll.next_run_time.isoformat(timespec="seconds")
            if poll and poll.next_run_time
            else None,  # fmt: skip
            "dashboard": dash,
            "interrupted_runs_found": self.interrupted_found,
        }
        return r

    # -- reload ------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the config file again and apply what changed; a bad file changes nothing."""
        from framewatch.analysis.embedding.static_models import with_home
        from framewatch.dashboards.digest import setup_problems
        from framewatch.pipeline.model_worker import ModelWorker

        if self.config is None and self.settings.config_path is None:
            log.warning("SIGHUP: no config file to reload (serve was started without one)")
            return
        path = self.config or self.settings.config_path
        try:
            new = load_settings(path)
        except ConfigError as exc:
            log.error("SIGHUP: config not reloaded, the running one is kept: %s", exc)
            return
        problems = setup_problems(new)
        if problems:
            log.error("SIGHUP: config not reloaded, the running one is kept: %s",
                      "; ".join(problems))  # fmt: skip
            return
        old, self.settings = self.settings, new
        changed = [f.name for f in dataclasses.fields(Settings)
                   if f.name != "config_path" and getattr(old, f.name) != getattr(new, f.name)]  # fmt: skip
        if not changed:
            log.info("SIGHUP: config reloaded from %s, nothing changed", path)
            return
        gone = {c.url for c in old.sources} - {c.url for c in new.sources}
        if gone:
            from framewatch.sources import forget_config_sources

            try:
                with self._store() as store:  # also adds the new entries, before the next poll
                    names = forget_config_sources(store, gone)
                    store.publish_snapshot()
            except (FramewatchError, OSError, duckdb.Error) as exc:  # a store held too long
                log.error("SIGHUP: feeds taken out of the config are still polled: %s", exc)
                names = []
            if names:
                log.info("SIGHUP: no longer polling %s (taken out of the config)", ", ".join(names))
        if old.analysis != new.analysis and self.models is not None:
            self.models.close()  # the next run loads the model the new settings name
            self.models = ModelWorker(with_home(new.analysis, self.db))
        if self.scheduler is not None:
            if (old.crawl.poll_interval_min, old.serve.poll_jitter) != (
                new.crawl.poll_interval_min,
                new.serve.poll_jitter,
            ):
                self.scheduler.reschedule_job("poll", trigger=self._poll_trigger())
            if (old.digest.send_at, old.digest.timezone) != (
                new.digest.send_at,
                new.digest.timezone,
            ):
                d = new.digest
                self.scheduler.reschedule_job(
                    "digest", trigger=digest_trigger(d.send_at, d.timezone)
                )
        if (old.serve.health_host, old.serve.health_port, old.serve.metrics) != (
            new.serve.health_host,
            new.serve.health_port,
            new.serve.metrics,
        ):
            log.warning("SIGHUP: [serve] health settings apply at the next start of serve")
        if self.dashboard is not None or new.serve.dashboard:
            self._stop_dashboard()  # it reads the config as it starts
            self.dashboard = None
            if new.serve.dashboard:
                self._start_dashboard()
        log.info("SIGHUP: config reloaded from %s: %s changed", path, ", ".join(changed))

    # -- the process -------------------------------------------------------------------
    def _on_sigterm(self, signum, frame) -> None:
        """SIGTERM stops the work as Ctrl+C does: SIGINT's handler of the moment is either
        Python's (KeyboardInterrupt) or, during a fetch, asyncio's, which cancels the fetch's
        tasks cleanly before raising KeyboardInterrupt from it."""
        if self._stopping:
            return  # shutting down already: let it finish
        self._stopping = True
        log.info("SIGTERM: stopping")
        handler = signal.getsignal(signal.SIGINT)
        if not callable(handler):
            raise KeyboardInterrupt
        handler(signal.SIGINT, frame)

    def _poll_trigger(self) -> IntervalTrigger:
        seconds = self.settings.crawl.poll_interval_min * 60
        return IntervalTrigger(seconds=seconds, jitter=seconds * self.settings.serve.poll_jitter)

    def _schedule(self) -> None:
        d = self.settings.digest
        self.scheduler = BackgroundScheduler(timezone=timezone.utc)
        self.scheduler.add_job(
            self.jobs.put, self._poll_trigger(), args=["poll"], id="poll",
            next_run_time=datetime.now(timezone.utc), coalesce=True, max_instances=1,
        )  # fmt: skip
        self.scheduler.add_job(self.jobs.put, digest_trigger(d.send_at, d.timezone),
                               args=["digest"], id="digest", coalesce=True)  # fmt: skip
        self.scheduler.start()
        self.jobs.put("digest")  # one missed while the service was down goes out now

    def _next_job(self) -> str | None:
        try:
            job = self.jobs.get(timeout=1.0)
        except queue.Empty:
            return None
        queued = {job}
        while True:  # the same job queued twice meanwhile runs once
            try:
                queued.add(self.jobs.get_nowait())
            except queue.Empty:
                break
        for other in queued - {job}:
            self.jobs.put(other)
        return job

    def run(self) -> None:
        from framewatch.analysis.embedding.static_models import with_home
        from framewatch.pipeline.health_http import HealthServer
        from framewatch.pipeline.model_worker import ModelWorker

        signal.signal(signal.SIGTERM, self._on_sigterm)  # SIGINT keeps Python's own handler
        # A flag only: the handler may run while the main thread holds the job queue's lock.
        signal.signal(signal.SIGHUP, lambda *_: setattr(self, "_reload", True))
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job is noise
        s = self.settings.serve
        try:
            mark(self.db)  # `restore` refuses while this process lives
            self._prepare()
            self.models = ModelWorker(with_home(self.settings.analysis, self.db))
            try:
                self.health = HealthServer(s.health_host, s.health_port, self.report, s.metrics)
            except OSError as exc:
                raise ServeError(
                    f"cannot serve /health on {s.health_host}:{s.health_port} ({exc.strerror}); "
                    "set [serve] health_port to a free port"
                ) from exc
            log.info("health on http://%s:%d/health", s.health_host, self.health.port)
            if s.dashboard:
                self._start_dashboard()
            self._schedule()
            while True:
                job = self._next_job()
                if job == "poll":
                    self.poll()
                elif job == "digest":
                    self.send_digest()
                if self._stopping:  # a job that finished despite SIGTERM: stop now
                    break
                if self._reload:
                    self._reload = False
                    self.reload()
                self._watch_dashboard()
        except KeyboardInterrupt:
            if not self._stopping:
                log.info("interrupted: stopping")
        except Exception as exc:
            if not self._stopping:
                raise
            # DuckDB reports a signal during a query as its own error: this is the stop.
            log.info("stopped during: %s: %s", type(exc).__name__, exc)
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.health is not None:
            self.health.close()
        self._stop_dashboard()
        if self.models is not None:
            self.models.close()
        unmark(self.db)
        log.info("stopped")
