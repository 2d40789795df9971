"""serve's health endpoint: GET /health (200 healthy, 503 with the reasons), /metrics.

A small threaded HTTP server from the standard library; Prometheus' text format comes
from prometheus-client, fed by the same report as `framewatch status`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

Report = Callable[[], dict]


class _StatusCollector:
    """Gauges read from a fresh report at every scrape."""

    def __init__(self, report: Report):
        self.report = report

    def collect(self):
        r = self.report()
        yield GaugeMetricFamily("framewatch_healthy", "1 when healthy", value=int(r["healthy"]))
        for key, help_ in (("articles", "articles stored"), ("stories", "stories"),
                           ("sources", "active feeds")):  # fmt: skip
            if key in r:
                yield GaugeMetricFamily(f"framewatch_{key}", help_, value=r[key])
        if "waiting_for_analysis" in r:
            g = GaugeMetricFamily(
                "framewatch_waiting_for_analysis", "articles a step has yet to do", labels=["step"]
            )
            for step, n in r["waiting_for_analysis"].items():
                g.add_metric([step], n)
            yield g
        if "failing_feeds" in r:
            yield GaugeMetricFamily(
                "framewatch_failing_feeds", "feeds failing now", value=len(r["failing_feeds"])
            )
            g = GaugeMetricFamily(
                "framewatch_feed_failure_streak", "failures in a row", labels=["feed"]
            )
            for f in r["failing_feeds"]:
                g.add_metric([f["url"]], f["streak"])
            yield g
        if r.get("store", {}).get("bytes") is not None:
            yield GaugeMetricFamily(
                "framewatch_store_bytes", "store size", value=r["store"]["bytes"]
            )
        run = r.get("last_run") or {}
        for k, v in (run.get("counts") or {}).items():
            yield GaugeMetricFamily(f"framewatch_last_run_{k}", f"last run: {k}", value=v)
        if "serve" in r:
            yield GaugeMetricFamily("framewatch_kills_survived", "interrupted runs seen at start",
                                    value=r["serve"].get("interrupted_runs_found", 0))  # fmt: skip


class HealthServer:
    """Runs in a daemon thread beside the scheduler; ``close`` stops it."""

    def __init__(self, host: str, port: int, report: Report, metrics: bool):
        registry = CollectorRegistry(auto_describe=False)
        if metrics:
            registry.register(_StatusCollector(report))
        self.server = ThreadingHTTPServer(
            (host, port), _handler(report, registry if metrics else None)
        )
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="health", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(report: Report, registry: CollectorRegistry | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?")[0]
            if path in ("/health", "/healthz", "/"):
                r = report()
                self._send(200 if r["healthy"] else 503, json.dumps(r, default=str).encode(),
                           "application/json")  # fmt: skip
            elif path == "/metrics" and registry is not None:
                self._send(200, generate_latest(registry), "text/plain; version=0.0.4")
            else:
                self._send(404, b'{"error": "not found"}', "application/json")

        def _send(self, code: int, body: bytes, ctype: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # probes every few seconds: keep logs quiet
            pass

    return Handler
