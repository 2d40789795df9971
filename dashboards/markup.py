"""Untrusted text (feed titles, outlet names, attribute values) made inert for Streamlit."""

from __future__ import annotations

import re

_MD = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$])")
# GitHub-flavoured Markdown turns "www.x.y", "https://..." and "a@b.c" into links even
# when their punctuation is escaped; a word joiner (U+2060, invisible) after "www", the
# scheme's colon or the "@" keeps them text, so a feed cannot put a link on the page.
_AUTOLINK = re.compile(r"(?i)(\bwww(?=\\\.)|\b(?:https?|ftp|mailto|xmpp):(?=\S)|@(?=\w))")
_JOINER = "\u2060"


def safe(text: object) -> str:
    """Untrusted text as inert Markdown: every Markdown and HTML character escaped, and
    web and mail addresses kept from becoming links."""
    escaped = _MD.sub(r"\\\1", " ".join(str(text or "").split()))
    return _AUTOLINK.sub(lambda m: m.group(0) + _JOINER, escaped)


def http_only(url: object) -> str | None:
    u = str(url or "")
    return u if u.startswith(("http://", "https://")) else None
