"""The digest's outlet-group sections: blind spots, biggest framing splits, watches.

Only blind spots and splits that hold up against chance are listed (see
analysis/compare/splits.py and blindspots.py); the section says how many were looked at.

Self-contained: built from the read-only snapshot for one ISO week, rendered as
escaped HTML rows and plain-text lines that the digest appends to its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from framewatch.analysis.compare.blindspots import BlindSpot, find_blind_spots
from framewatch.analysis.compare.splits import Split, add_evidence, find_splits
from framewatch.analysis.compare.watches import Report, WatchAttention, week_attention, week_reports
from framewatch.config import CompareSettings
from framewatch.dashboards.markup import html_text, isolate
from framewatch.outlets import attribute_names

_e = html_text  # every value from a feed or a user, escaped (and RTL isolated)
MAX_ATTRIBUTES = 3  # when compare.by is empty, the digest compares by the first three


@dataclass
class Comparison:
    by: list[str] = field(default_factory=list)
    blind_spots: list[tuple[str, BlindSpot]] = field(default_factory=list)  # (attribute, spot)
    splits: list[tuple[str, Split]] = field(default_factory=list)
    watches: list[Report] = field(default_factory=list)
    spots_seen: int = 0  # blind spots by the descriptive rules, before the test
    splits_seen: int = 0  # stories covered by two or more groups
    watch_attention: list[WatchAttention] = field(default_factory=list)
    note: str = ""  # said above the sections, e.g. that they cover more than the digest's outlets


def build_comparison(
    con, week_start: date, codebook: str, cfg: CompareSettings | None = None, top: int = 5,
    languages: list[str] | None = None,
) -> Comparison:  # fmt: skip
    cfg = cfg or CompareSettings()
    end = week_start + timedelta(days=6)
    have = attribute_names(con)
    by = [a for a in cfg.by if a in have] if cfg.by else have[:MAX_ATTRIBUTES]
    c = Comparison(by=by)
    for attr in by:
        spots = find_blind_spots(con, attr, cfg, week_start, end, languages=languages)
        c.spots_seen += len(spots)
        c.blind_spots += [(attr, s) for s in spots if s.holds_up]
        every = find_splits(con, attr, codebook, cfg, week_start, end, limit=None,
                            evidence_per_group=0, languages=languages)  # fmt: skip
        c.splits_seen += len(every)
        held = [s for s in every if s.holds_up][:top]
        add_evidence(con, held, attr, codebook, week_start, end, per_group=1, languages=languages)
        c.splits += [(attr, s) for s in held]
    c.blind_spots = sorted(c.blind_spots, key=lambda x: (-x[1].articles, x[1].story_id, x[0]))[:top]
    c.splits = sorted(c.splits, key=lambda x: (-x[1].divergence_shrunk, x[1].story_id, x[0]))[:top]
    c.watches = week_reports(con, week_start, cfg, languages)
    c.watch_attention = week_attention(con, week_start, languages=languages)
    return c


def _covered(s: BlindSpot) -> str:
    return ", ".join(f"{v} {n}" for v, n in s.covered_by.items())


def _missed(s: BlindSpot) -> str:
    """Each missing value with its usual share and the odds of the gap by chance."""
    return ", ".join(f"{v} (usually {s.gaps[v].usual_share:.0%}; q={s.gaps[v].q_value:.2g})"
                     for v in s.missing)  # fmt: skip


def _split_stats(s: Split) -> str:
    lo, hi = s.divergence_interval
    counts = ", ".join(f"{v} {n}" for v, n in s.articles.items())
    return (
        f"divergence {s.divergence_shrunk:.2f}, 90% interval {lo:.2f}–{hi:.2f}; articles: {counts}"
    )


def _mix(groups: dict[str, float], labels: dict[str, str]) -> str:
    top = sorted(groups.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    return ", ".join(f"{labels.get(f, f)} {v:.0%}" for f, v in top)


def _section(title: str, items: list[str], empty: str) -> str:
    body = "".join(f"<li>{i}</li>" for i in items) if items else f"<li>{_e(empty)}</li>"
    return (f'<tr><td><h2 style="font-size:18px;margin:0 0 8px">{_e(title)}</h2>'
            f'<ul style="padding-left:18px;margin:0">{body}</ul></td></tr>')  # fmt: skip


def _empty(c: Comparison, seen: int = 0, what: str = "") -> str:
    if not c.by:
        return "No outlet attributes yet (framewatch outlets set OUTLET lean=...)."
    if seen:
        return f"None this week holds up against chance ({seen} {what} looked at)."
    return "Nothing this week."


def comparison_html(c: Comparison, labels: dict[str, str]) -> str:
    """Escaped HTML table rows; every value from a feed or a user goes through html.escape."""
    spots = [
        f"<b>{_e(s.headline or s.label)}</b> ({_e(attr)}): covered by {_e(_covered(s))}; "
        f"missed by <b>{_e(', '.join(s.missing))}</b> {_e(_missed(s).join('()'))}"
        for attr, s in c.blind_spots
    ]
    splits = []
    for attr, s in c.splits:
        groups = "; ".join(f"{_e(v)}: {_e(_mix(g, labels))}" for v, g in s.groups.items())
        quotes = "".join(
            f'<div style="font-size:12px;color:#555;font-style:italic">{_e(v)} · {_e(e.outlet)}: '
            f"“{_e(e.sentence)}”</div>"
            for v, evs in s.evidence.items()
            for e in evs[:1]
        )
        splits.append(
            f"<b>{_e(s.headline or s.label)}</b> ({_e(attr)}, {_e(_split_stats(s))}): "
            f"{groups}{quotes}"
        )
    watches = [
        f"<b>{_e(r.watch)}</b>: new {_e(r.kind)} — {_e(r.headline)} ({_e(r.detail)})"
        for r in c.watches
    ]
    watches += [f"<b>{_e(a.watch)}</b>: attention {_e(a.describe())}" for a in c.watch_attention]
    note = (f'<tr><td style="font-size:12px;color:#777">{_e(c.note)}</td></tr>',) if c.note else ()
    return "\n".join([
        *note,
        _section("Blind spots", spots, _empty(c, c.spots_seen, "candidates")),
        _section("Biggest framing splits", splits, _empty(c, c.splits_seen, "stories")),
        _section("Watches", watches, "No new match this week."),
    ])  # fmt: skip


def comparison_text(c: Comparison, labels: dict[str, str]) -> list[str]:
    lines = [c.note, ""] if c.note else []
    lines += ["BLIND SPOTS"]
    lines += [f"- {isolate(s.headline or s.label)} ({attr}): covered by {_covered(s)}; missed by {', '.join(s.missing)}"
              + f" {_missed(s).join('()')}" for attr, s in c.blind_spots] or [f"- {_empty(c, c.spots_seen, 'candidates')}"]  # fmt: skip
    lines += ["", "BIGGEST FRAMING SPLITS"]
    for attr, s in c.splits:
        lines.append(f"- {isolate(s.headline or s.label)} ({attr}, {_split_stats(s)})")
        lines += [f"    {v}: {_mix(g, labels)}" for v, g in s.groups.items()]
    if not c.splits:
        lines.append(f"- {_empty(c, c.splits_seen, 'stories')}")
    lines += ["", "WATCHES"]
    lines += [
        f"- {r.watch}: new {r.kind} — {isolate(r.headline)} ({r.detail})" for r in c.watches
    ] or ["- No new match this week."]
    lines += [f"- {a.watch}: attention {a.describe()}" for a in c.watch_attention]
    return lines + [""]
