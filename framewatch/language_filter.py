"""Keeping to some languages: the codes a user picks, the store's languages, and the one
SQL condition every comparison, page, digest and search uses for "these languages only"."""

from __future__ import annotations

from collections.abc import Iterable

from framewatch.language import UNKNOWN, normalise


def picked_code(value: str) -> str | None:
    """A picked language as stored: ``de``, ``de-AT``, ``German`` -> ``de``; ``?`` (too short
    to tell) stays ``?``; None when it is no language code."""
    return UNKNOWN if value.strip() == UNKNOWN else normalise(value)


def known_languages(con) -> list[str]:
    """The store's article languages, most articles first (``?`` for unknown)."""
    return [r[0] for r in con.execute(
        "SELECT coalesce(language, ?) FROM articles GROUP BY 1 ORDER BY count(*) DESC, 1",
        [UNKNOWN],
    ).fetchall()]  # fmt: skip


def sql_condition(column: str, languages: Iterable[str] | None) -> tuple[str, list]:
    """An SQL condition on ``column`` (a language code, NULL for unknown) and its parameters:
    rows in ``languages``; none picked (None or empty) keeps every row."""
    picked = list(languages) if languages else None
    return (
        f"(?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], coalesce({column}, ?)))",
        [picked, picked, UNKNOWN],
    )
