"""How the dashboard is started, with or without sign-in: the one launcher for
``framewatch dashboard`` and ``framewatch serve``.

``dashboard_command`` returns the command line and environment of the Streamlit
process. Logins are on (``password``) whenever the address is not a loopback one,
unless ``[dashboard] auth`` says ``header`` (a trusted reverse proxy signs people in);
``none`` is refused anywhere but on loopback.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import sys
from importlib import resources
from pathlib import Path

from framewatch.config import Settings
from framewatch.errors import InputError
from framewatch.store import snapshot_path
from framewatch.users import load_credentials

MODES = ("password", "header", "none")


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def auth_mode(settings: Settings, host: str, override: str | None = None) -> str:
    """The sign-in mode for this address; a mode that would expose the store is refused."""
    mode = override or settings.dashboard.auth or ("none" if is_loopback(host) else "password")
    if mode not in MODES:
        raise InputError(f"--auth must be password, header or none, got {mode!r}")
    if mode == "none" and not is_loopback(host):
        raise InputError(
            f'auth = "none" is allowed only on a loopback address, not {host}: anyone who can '
            'reach it would read the whole store. Use auth = "password" (framewatch users add '
            'NAME --password-stdin --admin) or "header" behind a reverse proxy'
        )
    if mode == "header" and not settings.dashboard.trusted_proxies:
        raise InputError(
            'auth = "header" needs [dashboard] trusted_proxies: the addresses of the reverse '
            "proxy whose user header is trusted"
        )
    if mode == "header":
        for value in settings.dashboard.trusted_proxies:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise InputError(
                    f"dashboard.trusted_proxies: {value!r} is not an IP address or network"
                ) from None
    return mode


def session_key(db: Path) -> str:
    """The secret that signs session cookies, kept beside the store (mode 0600)."""
    path = Path(str(db) + ".session-key")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return str(path)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return str(path)


def dashboard_command(
    db: Path,
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8501,
    config: Path | None = None,
    auth: str | None = None,
) -> tuple[list[str], dict[str, str], str]:
    """(argv, environment, auth mode) of the dashboard process for this store."""
    db = Path(db).resolve()
    mode = auth_mode(settings, host, auth)
    env = {**os.environ, "FRAMEWATCH_DB": str(db), "FRAMEWATCH_AUTH": mode,
           "FRAMEWATCH_SQL_TIMEOUT": str(settings.sql_timeout_s),
           # uvicorn would otherwise believe X-Forwarded-For from any loopback peer; the
           # gate itself trusts it only from [dashboard] trusted_proxies.
           "FORWARDED_ALLOW_IPS": ""}  # fmt: skip
    if config is not None:  # the dashboard's thresholds come from the same file
        env["FRAMEWATCH_CONFIG"] = str(Path(config).resolve())
    script = "app.py"
    if mode != "none":
        if mode == "password" and not load_credentials(snapshot_path(db)):
            raise InputError(
                f"the dashboard on {host} asks for a password, but the store has no users yet: "
                "add one with `framewatch users add NAME --password-stdin --admin`"
            )
        script = "served.py"
        env.update(
            FRAMEWATCH_SNAPSHOT=str(snapshot_path(db)),
            FRAMEWATCH_SESSION_KEY_FILE=session_key(db),
            FRAMEWATCH_SESSION_HOURS=str(settings.dashboard.session_hours),
            FRAMEWATCH_TRUSTED_PROXIES=",".join(settings.dashboard.trusted_proxies),
            FRAMEWATCH_USER_HEADER=settings.dashboard.user_header,
        )
    path = resources.files("framewatch.dashboards") / script
    cmd = [sys.executable, "-m", "streamlit", "run", str(path), "--server.address", host,
           "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--global.developmentMode", "false", "--client.toolbarMode", "viewer"]  # fmt: skip
    return cmd, env, mode
