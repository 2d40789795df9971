"""The weekly digest e-mail: HTML and plain text, built, previewed and sent.

Email-safe HTML: tables and inline styles, no JavaScript, no remote images.
Every piece of text from a feed is untrusted: escaped in HTML, and never put
into a header.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from framewatch.analysis.framing.codebook import codebook_id, first_codebook
from framewatch.config import ConfigError, Settings, SmtpSettings
from framewatch.dashboards.digest_compare import comparison_html, comparison_text
from framewatch.dashboards.digest_data import Digest, build_digest
from framewatch.dashboards.markup import html_text, isolate
from framewatch.journal import append_record, held, journal_records, recipient_key, sent_already
from framewatch.store import utcnow

# One colour per frame position, readable on white, the same in every e-mail.
PALETTE = ["#c0392b", "#2c7fb8", "#27ae60", "#8e44ad", "#d68910", "#7f8c8d", "#16a085", "#b03a2e",
           "#5d6d7e", "#a04000", "#1f618d", "#196f3d", "#6c3483", "#9a7d0a", "#515a5a"]  # fmt: skip
_e = html_text  # every value from a feed or a user, escaped (and RTL isolated)
_i = isolate  # ... and in the plain-text part, RTL isolated


def frame_colours(d: Digest) -> dict[str, str]:
    return {fid: PALETTE[i % len(PALETTE)] for i, fid in enumerate(d.frame_labels)}


def _bar(frames: list[tuple[str, str, float]], colours: dict[str, str]) -> str:
    total = sum(s for _, _, s in frames) or 1.0
    cells = "".join(
        f'<td style="background:{colours.get(fid, "#999")};height:12px;width:{max(1, round(100 * s / total))}%"'
        f' title="{_e(label)} {s:.0%}"></td>'
        for fid, label, s in frames
    )
    legend = " · ".join(
        f'<span style="color:{colours.get(fid, "#999")}">&#9632;</span> {_e(label)} {s:.0%}'
        for fid, label, s in frames[:4]
    )
    return (
        f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse">'
        f'<tr>{cells}</tr></table><div style="font-size:12px;color:#555;margin-top:3px">{legend}</div>'
    )


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _change(before: float, after: float) -> str:
    """ "+5%", "−3%", or "±0%" for a move that rounds to nothing (not "−0%")."""
    step = round(after * 100) - round(before * 100)
    return "±0%" if step == 0 else f"{'+' if step > 0 else '−'}{abs(step)}%"


def render_html(d: Digest) -> str:
    colours = frame_colours(d)
    parts = [
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>framewatch digest</title></head>',
        '<body style="margin:0;padding:0;background:#f4f4f4">',
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center">',
        '<table role="presentation" width="640" cellpadding="16" cellspacing="0" '
        'style="background:#ffffff;font-family:Arial,Helvetica,sans-serif;color:#222">',
        f'<tr><td><h1 style="font-size:22px;margin:0">framewatch weekly digest — {_e(d.week)}</h1>'
        f'<p style="color:#555;margin:4px 0 0">{d.total_articles} articles framed with {_e(d.codebook_name)}, '
        f"week of {d.week_start:%d %B %Y}</p></td></tr>",
    ]
    if d.languages:
        parts.append(f'<tr><td style="color:#555">{_e(_languages_line(d))}</td></tr>')
    if d.unknown_outlets:
        parts.append(f'<tr><td style="color:#a33">{_e(_unknown_line(d))}</td></tr>')
    parts.append('<tr><td><h2 style="font-size:18px;margin:0 0 8px">Top stories</h2>')
    if not d.stories:
        parts.append("<p>No stories this week.</p>")
    for s in d.stories:
        dom = d.frame_labels.get(s.dominant or "", s.dominant or "no frame")
        parts.append(
            f'<div style="border-top:1px solid #ddd;padding:10px 0">'
            f'<div style="font-size:16px;font-weight:bold">{_e(s.headline)}</div>'
            f'<div style="font-size:13px;color:#555">{_e(s.label)} · {_n(s.articles, "article")} from {_n(s.outlets, "outlet")}'
            f"{' · new this week' if s.is_new else ''}</div>"
            f'<div style="margin:6px 0">{_bar(s.frames, colours)}</div>'
        )
        if s.evidence:
            parts.append(
                f'<blockquote style="margin:6px 0;padding-left:10px;border-left:3px solid {colours.get(s.dominant or "", "#999")};'
                f'color:#333;font-style:italic">{_e(s.evidence)}</blockquote>'
                f'<div style="font-size:12px;color:#555">{_e(dom)} framing, {_e(s.evidence_outlet or "")}</div>'
            )
        links = "".join(
            f'<li><a href="{html.escape(url, quote=True)}" style="color:#2c7fb8">{_e(title or url)}</a> — {_e(outlet or "")}</li>'
            for outlet, title, url in s.links
            if url and url.startswith(("http://", "https://"))
        )
        if links:
            parts.append(f'<ul style="font-size:13px;margin:6px 0;padding-left:18px">{links}</ul>')
        parts.append("</div>")
    parts.append("</td></tr>")
    parts.append(_section_html("Framing shifts against last week",
        [f"<b>{_e(story)}</b>: {_e(frame)} {b:.0%} → {a:.0%}" for story, frame, b, a in d.shifts]))  # fmt: skip
    parts.append(_section_html("Frames rising and falling",
        [f"{_e(f)}: {b:.0%} → {a:.0%} ({_change(b, a)})" for f, b, a in d.frame_moves]))  # fmt: skip
    parts.append(_section_html("New stories",
        [f"<b>{_e(s.label)}</b> — {_e(s.headline)} ({_n(s.articles, 'article')})" for s in d.new_stories]))  # fmt: skip
    parts.append(_section_html("Outlets framing differently",
        [f"<b>{_e(u.outlet)}</b>{_e(u.describe().removeprefix(u.outlet))}" for u in d.unusual_outlets]))  # fmt: skip
    parts.append(stopped_feeds_html(d))
    if d.comparison is not None:
        parts.append(comparison_html(d.comparison, d.frame_labels))
    parts.append(
        '<tr><td style="font-size:12px;color:#777">Shares are the fraction of each article\'s sentences '
        "that carry a frame. Sent by framewatch.</td></tr></table></td></tr></table></body></html>"
    )
    return "\n".join(parts)


def _section_html(title: str, items: list[str]) -> str:
    body = "".join(f"<li>{i}</li>" for i in items) if items else "<li>Nothing this week.</li>"
    return f'<tr><td><h2 style="font-size:18px;margin:0 0 8px">{_e(title)}</h2><ul style="padding-left:18px;margin:0">{body}</ul></td></tr>'


def _stopped_line(f) -> tuple[str, str, str]:
    since = f"last read {f.last_success_at:%d %b %Y}" if f.last_success_at else "never read"
    return f.name, f"{f.failures} failed polls in a row, {since}", f.last_error or ""


def stopped_feeds_html(d: Digest) -> str:
    """The "Feeds that stopped" block; empty when every feed answers."""
    if not d.stopped_feeds:
        return ""
    items = []
    for f in d.stopped_feeds:
        name, streak, error = _stopped_line(f)
        items.append(
            f"<b>{_e(name)}</b> — {_e(streak)}"
            + (f'<br><span style="font-size:12px;color:#777">{_e(error)}</span>' if error else "")
        )
    return _section_html("Feeds that stopped", items)


def stopped_feeds_text(d: Digest) -> list[str]:
    if not d.stopped_feeds:
        return []
    lines = ["FEEDS THAT STOPPED"]
    for f in d.stopped_feeds:
        name, streak, error = _stopped_line(f)
        lines.append(f"- {name}: {streak}" + (f" ({error})" if error else ""))
    return lines + [""]


def _languages_line(d: Digest) -> str:
    return f"Articles in {', '.join(d.languages)} only (this digest's languages)."


def _unknown_line(d: Digest) -> str:
    names = ", ".join(repr(o) for o in d.unknown_outlets)
    return (
        f"This digest follows {names}, but no outlet has that name in the store "
        "(renamed, or spelt otherwise): ask for your subscription to be corrected."
    )


def render_text(d: Digest) -> str:
    lines = [f"framewatch weekly digest — {d.week}",
             f"{d.total_articles} articles framed with {d.codebook_name}, week of {d.week_start:%d %B %Y}", "",
             *([_languages_line(d), ""] if d.languages else []),
             *([_unknown_line(d), ""] if d.unknown_outlets else []), "TOP STORIES",
             *([] if d.stories else ["No stories this week.", ""])]  # fmt: skip
    for i, s in enumerate(d.stories, 1):
        mix = ", ".join(f"{label} {share:.0%}" for _, label, share in s.frames[:4])
        lines += [f"{i}. {_i(s.headline)}", f"   {_i(s.label)} · {_n(s.articles, 'article')} from {_n(s.outlets, 'outlet')}"
                  + (" · new this week" if s.is_new else ""), f"   frames: {mix or 'none'}"]  # fmt: skip
        if s.evidence:
            lines.append(f'   "{_i(s.evidence)}" ({_i(s.evidence_outlet or "")})')
        lines += [
            f"   - {_i(title or url)} ({_i(outlet or '?')}): {url}"
            for outlet, title, url in s.links
            if url and url.startswith(("http://", "https://"))
        ]  # as in the HTML part
        lines.append("")
    sections = [
        ("FRAMING SHIFTS AGAINST LAST WEEK", [f"{_i(st)}: {f} {b:.0%} -> {a:.0%}" for st, f, b, a in d.shifts]),
        ("FRAMES RISING AND FALLING", [f"{f}: {b:.0%} -> {a:.0%}" for f, b, a in d.frame_moves]),
        ("NEW STORIES", [f"{_i(s.label)} — {_i(s.headline)} ({_n(s.articles, 'article')})" for s in d.new_stories]),
        ("OUTLETS FRAMING DIFFERENTLY", [u.describe() for u in d.unusual_outlets]),
    ]  # fmt: skip
    for title, items in sections:
        lines += [title] + [f"- {i}" for i in (items or ["Nothing this week."])] + [""]
    lines += stopped_feeds_text(d)
    if d.comparison is not None:
        lines += comparison_text(d.comparison, d.frame_labels)
    return "\n".join(_CTRL.sub(" ", x).rstrip() for x in lines)


_CTRL = re.compile(r"[\r\n\t\x00-\x1f\x7f]+")


def _one_line(text: str) -> str:
    """No newline or control character from untrusted text survives (headers, list items)."""
    return _CTRL.sub(" ", text).strip()


def build_message(d: Digest, sender: str, recipient: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = _one_line(
        f"framewatch digest {d.week}: {len(d.stories)} top stories, {d.total_articles} articles"
    )
    msg["From"] = _one_line(sender)
    msg["To"] = _one_line(recipient)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="framewatch.local")
    msg.set_content(render_text(d))
    msg.add_alternative(render_html(d), subtype="html")
    return msg


# -- sending ----------------------------------------------------------------------------
@dataclass
class SendResult:
    recipient: str
    status: str  # sent | failed | skipped
    error: str | None = None


def _smtp(cfg: SmtpSettings) -> smtplib.SMTP:
    if cfg.security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            cfg.host, cfg.port, timeout=cfg.timeout_s, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s)
    try:
        if cfg.security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if cfg.user:
            password = os.environ.get(cfg.password_env)
            if password is None:
                raise ConfigError(
                    f"smtp.user is set but the environment variable {cfg.password_env} is not"
                )
            client.login(cfg.user, password)
    except BaseException:
        client.close()  # a refused login or STARTTLS leaves no socket open
        raise
    return client


class _Connection:
    """One SMTP connection for the whole run, reopened if the server drops it.

    A server that cannot be reached or refuses the login is tried once per run, not
    once per recipient: each try could wait ``timeout_s``, and a server counting
    failed logins would lock the account.
    """

    def __init__(self, cfg: SmtpSettings):
        self.cfg = cfg
        self.client: smtplib.SMTP | None = None
        self.unusable: Exception | None = None  # why the server could not be opened

    def _open(self) -> smtplib.SMTP:
        if self.unusable is not None:
            raise self.unusable
        try:
            self.client = _smtp(self.cfg)
        except (smtplib.SMTPException, OSError) as exc:
            self.unusable = exc
            raise
        return self.client

    def send(self, msg: EmailMessage) -> None:
        for attempt in (1, 2):
            client = self.client or self._open()
            try:
                client.send_message(msg)
                return
            except smtplib.SMTPServerDisconnected:
                self.client = None
                if attempt == 2:
                    raise

    def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.client.quit()
            self.client = None


def setup_problems(settings: Settings, codebook: str | None = None) -> list[str]:
    """What would make every send fail, found before the first one is due: serve checks at
    its start and on reload, not at Monday 07:00. ``codebook``: `digest --codebook`'s."""
    problems = []
    smtp = settings.smtp
    if settings.subscribers and smtp.user and os.environ.get(smtp.password_env) is None:
        problems.append(f"smtp.user is set but the environment variable {smtp.password_env} "
                        "is not: no digest could be sent")  # fmt: skip
    framed = [codebook_id(entry) for entry in settings.analysis.codebooks]
    if codebook and codebook not in framed and any(not s.codebook for s in settings.subscribers):
        problems.append(f"--codebook {codebook}: analyze does not frame with it (analysis."
                        f"codebooks: {', '.join(framed) or 'none'})")  # fmt: skip
    for i, sub in enumerate(settings.subscribers):
        if sub.codebook and sub.codebook not in framed:
            problems.append(
                f"subscribers[{i}] ({sub.email}) asks for codebook {sub.codebook!r}, which "
                f"analyze does not frame with: add it to [analysis] codebooks "
                f"(now {', '.join(framed) or 'none'})"
            )
    return problems


def deliver(
    con, db: str | os.PathLike, settings: Settings, week: str | None, codebook: str | None
) -> list[SendResult]:
    """Send this week's digest to every subscriber not yet sent to; record each outcome."""
    if not settings.subscribers:
        raise ConfigError("no [[subscribers]] in the config file")
    problems = setup_problems(settings, codebook)
    if problems:
        raise ConfigError("; ".join(problems))
    from framewatch.dashboards.digest_data import latest_week, parse_week

    # "2026-w46" as the store spells it, so the week's articles and the journal are found
    week = parse_week(week).strftime("%G-W%V") if week else latest_week(con)
    in_week = con.execute(
        "SELECT count(*) FROM article_facts WHERE iso_week = ?", [week]
    ).fetchone()[0]
    if not in_week:  # e.g. serve's first start, catching up on a week before any fetch
        where = f"in {week}" if week else "in the store yet"
        why = f"no articles {where}: nothing sent, and nothing recorded (a later send can)"
        return [SendResult(sub.email, "skipped", why) for sub in settings.subscribers]
    conn = _Connection(settings.smtp)
    results = []
    with held(db), contextlib.closing(conn):
        journal = journal_records(db)  # read once, held: no other send adds to it meanwhile
        sent: dict[str, set[str]] = {}  # codebook -> who has the week's digest, this run's too
        default = first_codebook(settings.analysis)
        for sub in settings.subscribers:
            cb = sub.codebook or codebook or default
            if cb not in sent:
                sent[cb] = sent_already(journal, week, cb)
            if recipient_key(sub.email) in sent[cb]:
                results.append(SendResult(sub.email, "skipped", "already sent this week"))
                continue
            try:
                d = build_digest(con, week, cb, sub.outlets or None, sub.min_story_size,
                                 compare=settings.compare, languages=sub.languages or None)  # fmt: skip
                msg = build_message(d, settings.smtp.sender, sub.email)
                conn.send(msg)
                status, error = "sent", None
            except (smtplib.SMTPException, OSError, ValueError) as exc:
                status, error = "failed", _one_line(f"{type(exc).__name__}: {exc}")
                dropped = isinstance(exc, smtplib.SMTPServerDisconnected) or not isinstance(
                    exc, smtplib.SMTPException | ValueError
                )
                if dropped:  # the connection is gone; a refused recipient leaves it usable
                    conn.close()
            record = {"week": week, "codebook": cb, "recipient": sub.email, "status": status,
                      "error": error, "subject": msg["Subject"] if status == "sent" else None,
                      "at": utcnow().isoformat()}  # fmt: skip
            append_record(db, record)
            if status == "sent":  # the same address listed twice gets one digest
                sent[cb].add(recipient_key(sub.email))
            results.append(SendResult(sub.email, status, error))
    return results
