"""HTML responses out of WARC / WARC.gz files, read with warcio (the ``scale`` extra).

Only what the crawler would have fetched becomes a page: ``response`` records for
HTTP 2xx with an HTML content type. A record that cannot be read is reported by its
number and byte offset, and the rest of the file is still read.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

HTML_TYPES = ("text/html", "application/xhtml+xml")
MISSING = "WARC input needs warcio: pip install 'framewatch[scale]'"


@dataclass
class WarcPage:
    position: str  # "file.warc.gz record 7 (offset 1234)"
    url: str
    captured_at: datetime | None
    html: bytes


@dataclass
class WarcProblem:
    position: str
    message: str

    def __str__(self) -> str:
        return f"{self.position}: {self.message}"


def is_warc(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".warc", ".warc.gz"))


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.astimezone(timezone.utc).replace(tzinfo=None) if dt.tzinfo else dt


def read_pages(path: Path) -> Iterator[WarcPage | WarcProblem]:
    """Each HTML response as a page, each unreadable record as a problem, in file order.

    After a record warcio cannot parse, reading starts again at the next record boundary
    (the next gzip member of a .warc.gz, the next ``WARC/1.`` line of a .warc), so one
    corrupt record costs that record only.
    """
    try:
        from warcio.archiveiterator import ArchiveIterator
    except ImportError as exc:
        raise ImportError(MISSING) from exc
    gz = path.name.lower().endswith(".gz")
    number, base = 0, 0
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as raw:
        while True:
            fh.seek(base)
            records = ArchiveIterator(fh)
            last = None  # offset of the last record read in this pass
            try:
                for rec in records:
                    number += 1
                    item = _page(rec)  # reads the payload first: warcio needs that order
                    last = records.get_record_offset()  # from the file's start, after a seek too
                    if item is not None:
                        item.position = f"{path.name} record {number} (offset {last})"
                        yield item
                end = base if last is None else last + records.get_record_length()
                if raw[end:].strip():  # warcio stops quietly at a record cut inside its header
                    yield WarcProblem(f"{path.name} record {number + 1} (offset {end})",
                                      "the file ends inside it")  # fmt: skip
                return
            except Exception as exc:  # warcio raises several types for a corrupt record
                number += 1
                bad = base if last is None else _boundary(raw, last + 1, gz)
                if bad is None:
                    return
                nxt = _boundary(raw, bad + 1, gz)
                why = "unreadable record" if nxt is not None else "the file ends inside it"
                yield WarcProblem(f"{path.name} record {number} (offset {bad})",
                                  f"{why} ({_printable(str(exc))})")  # fmt: skip
                if nxt is None:
                    return
                base = nxt


def _printable(message: str, limit: int = 160) -> str:
    """warcio quotes the record's first line, which in a corrupt .gz is binary: dropped."""
    head, sep, line = message.partition("first line:")
    if sep and not line.strip().isascii():
        message = head + "first line not text"
    text = "".join(c if c.isprintable() else " " for c in message)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _boundary(raw: mmap.mmap, start: int, gz: bool) -> int | None:
    """Where the next record may begin at or after ``start``."""
    if gz:
        at = raw.find(b"\x1f\x8b\x08", start)
        return None if at < 0 else at
    at = raw.find(b"\nWARC/1.", max(0, start - 1))
    return None if at < 0 else at + 1


def _page(rec) -> WarcPage | WarcProblem | None:
    if rec.rec_type != "response":
        return None
    url = rec.rec_headers.get_header("WARC-Target-URI") or ""
    try:
        status = int(rec.http_headers.get_statuscode()) if rec.http_headers else 0
        ctype = (rec.http_headers.get_header("Content-Type") or "").split(";")[0].strip()
        body = rec.content_stream().read()
        rec.raw_stream.read()  # whatever the decoders left: the record must be whole
    except Exception as exc:  # a truncated payload or broken chunked encoding
        return WarcProblem("", f"unreadable response ({exc})")
    if getattr(rec.raw_stream, "limit", 0) > 0:  # the file ended before its Content-Length
        return WarcProblem("", "the file ends inside it")
    if not url.startswith(("http://", "https://")):
        return WarcProblem("", f"no http(s) target URI ({url!r})")
    if not 200 <= status < 300 or ctype.lower() not in HTML_TYPES:
        return None  # redirects, errors, images: the crawler stores none of them
    return WarcPage("", url, _when(rec.rec_headers.get_header("WARC-Date")), body)
