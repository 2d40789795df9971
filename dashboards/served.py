"""The dashboard with sign-in: Streamlit's ASGI app (st.App) behind the auth gate.

``framewatch dashboard`` (and ``framewatch serve``) run this file with ``streamlit
run`` when logins are on; the launcher (dashboards/launch.py) passes the settings in
the environment. The gate is the first middleware, so it sees every route.
"""

import os
from pathlib import Path

from starlette.middleware import Middleware
from streamlit.starlette import App

from framewatch.dashboards.auth import AuthGate

_proxies = tuple(p for p in os.environ.get("FRAMEWATCH_TRUSTED_PROXIES", "").split(",") if p)
app = App(
    str(Path(__file__).with_name("app.py")),
    middleware=[
        Middleware(
            AuthGate,
            mode=os.environ["FRAMEWATCH_AUTH"],
            snapshot=os.environ["FRAMEWATCH_SNAPSHOT"],
            key=Path(os.environ["FRAMEWATCH_SESSION_KEY_FILE"]).read_text().strip(),
            session_hours=float(os.environ.get("FRAMEWATCH_SESSION_HOURS", "12")),
            trusted_proxies=_proxies,
            user_header=os.environ.get("FRAMEWATCH_USER_HEADER", "X-Forwarded-User"),
        )
    ],
)
