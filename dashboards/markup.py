"""Untrusted text (feed titles, outlet names, attribute values) made inert for Streamlit."""

from __future__ import annotations

import html
import re

_MD = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$])")
# GitHub-flavoured Markdown turns "www.x.y", "https://..." and "a@b.c" into links even
# when their punctuation is escaped; a word joiner (U+2060, invisible) after "www", the
# scheme's colon or the "@" keeps them text, so a feed cannot put a link on the page.
_AUTOLINK = re.compile(r"(?i)(\bwww(?=\\\.)|\b(?:https?|ftp|mailto|xmpp):(?=\S)|@(?=\w))")
_JOINER = "\u2060"
# Streamlit draws ":tada:" and ":fire:" as emoji, in any Markdown: a headline's own
# ":word:" gets the same joiner after its first colon and stays text (checked in Chromium).
_SHORTCODE = re.compile(r":(?=(?:\w|\\[+\-_])+:)")


# Hebrew, Arabic, Syriac, Thaana, N'Ko... and the Arabic presentation forms.
_RTL = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")


def isolate(text: str) -> str:
    """Right-to-left text between Unicode isolates (FSI ... PDI): it reads right to left
    inside a left-to-right line, and the line's own words and numbers keep their order
    ("<Arabic headline> · 2 articles" instead of the count jumping to the far left)."""
    return f"\u2068{text}\u2069" if _RTL.search(text) else text


def safe(text: object) -> str:
    """Untrusted text as inert Markdown: every Markdown and HTML character escaped, web
    and mail addresses kept from becoming links, emoji shortcodes from becoming emoji,
    right-to-left text isolated."""
    escaped = _MD.sub(r"\\\1", " ".join(str(text or "").split()))
    escaped = _SHORTCODE.sub(":" + _JOINER, escaped)
    return isolate(_AUTOLINK.sub(lambda m: m.group(0) + _JOINER, escaped))


def html_text(text: object) -> str:
    """Untrusted text for HTML element content (the digest): escaped, and isolated as
    ``safe`` isolates it. Not for attribute values such as an href."""
    return isolate(html.escape(str(text)))


def http_only(url: object) -> str | None:
    u = str(url or "")
    return u if u.startswith(("http://", "https://")) else None
