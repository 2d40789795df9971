"""Outlet attributes (lean, country, owner, ...): the groups coverage is compared by.

An attribute belongs to an outlet *name* (``sources.name``), so it applies to a feed and
to imported articles whose ``source`` is that name alike. Four ways set them: the config
file's ``[[sources]]`` entries, OPML outline attributes, ``framewatch outlets set`` and
``framewatch outlets import FILE.csv``; all end in :func:`set_outlet_attributes`.
"""

from __future__ import annotations

import csv
import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from framewatch.errors import InputError
from framewatch.import_read import csv_delimiter
from framewatch.store import Store, utcnow

ORIGINS = ("config", "opml", "cli", "csv", "import", "demo")
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
# OPML's own outline attributes describe the feed, not the outlet: never stored.
OPML_STRUCTURAL = frozenset(
    {"text", "title", "type", "xmlurl", "htmlurl", "url", "description", "version",
     "created", "iscomment", "isbreakpoint"}
)  # fmt: skip


class OutletAttributeError(InputError):
    """An attribute that cannot be stored as written."""


@dataclass
class OutletAttributes:
    outlet: str
    attributes: dict[str, str]
    articles: int
    known: bool  # a source or imported articles carry this name


def check_key(key: str) -> str:
    key = key.strip()
    if not _KEY.fullmatch(key):
        raise OutletAttributeError(
            f"attribute name {key!r} must start with a letter and use letters, digits, _ . -"
        )
    return key


def set_outlet_attributes(
    store: Store, outlet: str, attrs: dict[str, str], origin: str
) -> dict[str, str]:
    """Store attributes of one outlet; an empty value removes that attribute.

    OPML's structural attributes (xmlUrl, title, ...) are ignored, so the OPML importer
    can pass an outline's whole attribute dict. Returns what was set or removed.
    """
    outlet = (outlet or "").strip()
    if not outlet:
        raise OutletAttributeError("an outlet name is required")
    if origin not in ORIGINS:
        raise ValueError(f"unknown origin {origin!r}")
    changed: dict[str, str] = {}
    for raw_key, raw_value in attrs.items():
        if str(raw_key).lower() in OPML_STRUCTURAL:
            continue
        key = check_key(str(raw_key))
        value = " ".join(str(raw_value if raw_value is not None else "").split())
        if not value:
            store.execute(
                "DELETE FROM outlet_attributes WHERE outlet = ? AND attribute = ?", [outlet, key]
            )
            changed[key] = ""
            continue
        # One value, one spelling: "us" for one outlet and "US" for another would be two
        # groups in every comparison, while search (case-folded) reads them as one.
        same = store.execute(
            "SELECT value FROM outlet_attributes WHERE attribute = ? AND outlet <> ?"
            " AND lower(value) = lower(?) ORDER BY value LIMIT 1",
            [key, outlet, value],
        ).fetchone()
        value = same[0] if same else value
        store.execute(
            """INSERT INTO outlet_attributes (outlet, attribute, value, origin, updated_at)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (outlet, attribute) DO UPDATE
               SET value = excluded.value, origin = excluded.origin, updated_at = excluded.updated_at""",
            [outlet, key, value, origin, utcnow()],
        )
        changed[key] = value
    return changed


def parse_assignments(items: list[str]) -> dict[str, str]:
    """``key=value`` words from the command line (``key=`` removes the attribute)."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise OutletAttributeError(f"expected key=value, got {item!r}")
        key, value = item.split("=", 1)
        out[check_key(key)] = value
    if not out:
        raise OutletAttributeError("give at least one key=value")
    return out


def known_outlets(store: Store) -> list[str]:
    rows = store.execute("SELECT DISTINCT name FROM sources ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def similar_outlets(store: Store, outlet: str) -> list[str]:
    """Close names, for a hint when an outlet is not known (yet)."""
    names = known_outlets(store)
    lower = {n.lower(): n for n in names}
    hits = [lower[outlet.lower()]] if outlet.lower() in lower else []
    return hits + [
        n for n in difflib.get_close_matches(outlet, names, n=3, cutoff=0.6) if n not in hits
    ]


# What lists of outlets call the outlet's column (AllSides' "news_source"), in any case:
# the first of them the header has. A bare "name" is not one: of what?
OUTLET_COLUMNS = ("outlet", "source", "news_source", "outlet_name", "source_name", "media",
                  "publication")  # fmt: skip


def _outlet_column(header: list[str]) -> str | None:
    folded = {h.lower(): h for h in reversed(header)}
    return next((folded[c] for c in OUTLET_COLUMNS if c in folded), None)


def import_attributes_csv(store: Store, path: Path) -> tuple[int, list[str]]:
    """Attributes from a CSV with an ``outlet`` column and one column per attribute,
    separated by commas, semicolons (a German Excel export) or tabs.

    Empty cells are left alone (not removed). An outlet on two rows that disagree about
    an attribute is refused (which one was meant?), nothing stored. Returns (outlets
    updated, unknown outlets).
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            first = fh.readline()
            sep = csv_delimiter(first)
            skipped = first.lower().startswith("sep=")  # Excel's line naming the delimiter
            if not skipped:
                fh.seek(0)
            reader = csv.DictReader(fh, delimiter=sep)
            header = [h.strip() for h in (reader.fieldnames or [])]
            key = _outlet_column(header)
            if key is None:
                raise OutletAttributeError(
                    f"{path}: needs an 'outlet' column (found: {', '.join(header) or 'none'}; "
                    f"read as the outlet: {', '.join(OUTLET_COLUMNS)})"
                )
            columns = [h for h in header if h != key]
            if not columns:
                raise OutletAttributeError(f"{path}: no attribute columns besides {key!r}")
            for c in columns:
                check_key(c)
            rows = []
            for rec in reader:
                rec = {(k or "").strip(): v for k, v in rec.items()}
                outlet = (rec.get(key) or "").strip()
                if not outlet:
                    raise OutletAttributeError(
                        f"{path} line {reader.line_num + skipped}: empty outlet"
                    )
                rows.append((outlet, {c: (rec.get(c) or "").strip() for c in columns},
                             reader.line_num + skipped))  # fmt: skip
    except OSError as exc:
        raise OutletAttributeError(f"{path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise OutletAttributeError(f"{path}: not UTF-8 text ({exc})") from exc
    except csv.Error as exc:
        raise OutletAttributeError(f"{path}: not valid CSV ({exc})") from exc
    first: dict[tuple[str, str], tuple[str, int]] = {}
    for outlet, attrs, line in rows:
        for k, v in attrs.items():
            seen = first.setdefault((outlet, k), (v, line)) if v else None
            if seen and seen[0] != v:
                raise OutletAttributeError(
                    f"{path} lines {seen[1]} and {line}: {outlet!r} has {k} = {seen[0]!r} and"
                    f" {v!r}; keep one row per outlet"
                )
    known = set(known_outlets(store))
    with store.transaction():
        for outlet, attrs, _ in rows:
            set_outlet_attributes(store, outlet, {k: v for k, v in attrs.items() if v}, "csv")
    outlets = {o for o, _, _ in rows}
    return len(outlets), sorted(outlets - known)


def opml_outlet_attributes(attrs: dict[str, str]) -> dict[str, str]:
    """The attributes of an OPML outline that describe its outlet (``lean="right"``).

    Structural attributes and empty values are dropped; a namespaced name
    (``custom:rank``) is stored as ``custom.rank``; a name that still cannot be stored
    is skipped, since one odd attribute must not refuse the whole list.
    """
    out: dict[str, str] = {}
    for raw_key, raw_value in attrs.items():
        key = str(raw_key).strip().replace(":", ".")
        value = " ".join(str(raw_value or "").split())
        if key.lower() in OPML_STRUCTURAL or not value or not _KEY.fullmatch(key):
            continue
        if key.lower() == "language":  # the source's, normalised ("Russian" is ru) or none
            continue
        out[key] = value
    return out


def sync_attributes(
    store: Store, outlet: str, attrs: dict[str, str], origin: str = "config"
) -> None:
    """Apply attributes, writing only what differs (config entries apply on every open)."""
    current = dict(
        store.execute(
            "SELECT attribute, value FROM outlet_attributes WHERE outlet = ?", [outlet]
        ).fetchall()
    )
    wanted = {k: v for k, v in attrs.items() if v and (current.get(k) or "").lower() != v.lower()}
    if wanted:
        set_outlet_attributes(store, outlet, wanted, origin)


def list_outlet_attributes(con) -> list[OutletAttributes]:
    """Every outlet with articles or attributes, with its attributes and article count."""
    rows = con.execute(
        """WITH names AS (SELECT name AS outlet FROM sources UNION SELECT outlet FROM outlet_attributes),
                counts AS (SELECT outlet, count(*) AS n FROM article_coverage  -- its copies of others' texts too
                           WHERE NOT outlet_repeat GROUP BY outlet)
           SELECT n.outlet, coalesce(c.n, 0),
                  (SELECT list(struct_pack(k := a.attribute, v := a.value) ORDER BY a.attribute)
                   FROM outlet_attributes a WHERE a.outlet = n.outlet),
                  n.outlet IN (SELECT name FROM sources)
           FROM names n LEFT JOIN counts c ON c.outlet = n.outlet
           ORDER BY n.outlet"""
    ).fetchall()
    return [
        OutletAttributes(o, {kv["k"]: kv["v"] for kv in (attrs or [])}, n, known)
        for o, n, attrs, known in rows
    ]


def attribute_names(con) -> list[str]:
    """Outlet attributes, and ``language`` (each article's own) once articles are in two."""
    return [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT attribute FROM outlet_attributes UNION SELECT 'language' "
            "WHERE (SELECT count(DISTINCT language) FROM articles) >= 2 ORDER BY 1"
        ).fetchall()
    ]


def attribute_values(con, attribute: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT value FROM outlet_attributes WHERE attribute = ? UNION "
            "SELECT DISTINCT language FROM articles WHERE ? = 'language' AND language IS NOT NULL "
            "ORDER BY 1",
            [attribute, attribute],
        ).fetchall()
    ]


ATTRIBUTE_ALIASES = {"lang": "language"}  # as the search language spells it


def require_attribute(con, attribute: str) -> str:
    """The attribute (``lang`` means ``language``), or a clear error listing the store's."""
    attribute = ATTRIBUTE_ALIASES.get(attribute, attribute)
    names = attribute_names(con)
    if attribute not in names:
        have = ", ".join(names) if names else "none yet (see `framewatch outlets set`)"
        raise OutletAttributeError(f"no outlet has the attribute {attribute!r}; attributes: {have}")
    return attribute
