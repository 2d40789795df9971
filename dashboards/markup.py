"""Untrusted text (feed titles, outlet names, attribute values) made inert for Streamlit."""

from __future__ import annotations

import re

_MD = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$])")


def safe(text: object) -> str:
    """Untrusted text as inert Markdown: every Markdown and HTML character escaped."""
    return _MD.sub(r"\\\1", " ".join(str(text or "").split()))


def http_only(url: object) -> str | None:
    u = str(url or "")
    return u if u.startswith(("http://", "https://")) else None
