"""HTML responses out of WARC / WARC.gz files, read with warcio (the ``scale`` extra).

Only what the crawler would have fetched becomes a page: ``response`` records of
http(s) URLs for HTTP 2xx with an HTML content type (or none, as the crawler takes it).
A record that cannot be read is reported by its number and byte offset, and the rest
of the file is still read.
"""

from __future__ import annotations

import io
import mmap
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from framewatch.config import CrawlSettings
from framewatch.crawler.charsets import html_as_utf8

HTML_TYPES = ("text/html", "application/xhtml+xml", "")
MISSING = "WARC input needs warcio: pip install 'framewatch[scale]'"
GZ_MAGIC = b"\x1f\x8b\x08"
CUT = "the file ends inside it"
# A page's body beyond this is cut off, as the crawler cuts it (crawl.max_bytes' default).
MAX_BODY = CrawlSettings().max_bytes
ARC_HEADER = re.compile(rb"(filedesc|https?)://\S+ \S+ \d{14} ")  # warcio reads ARC too


@dataclass
class WarcPage:
    position: str  # "file.warc.gz record 7 (offset 1234)"
    url: str
    captured_at: datetime | None
    html: bytes
    truncated: str | None = None  # WARC-Truncated: the crawler kept the first bytes only


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
    corrupt record costs that record only. An empty file has no records.
    """
    try:
        from warcio.archiveiterator import ArchiveIterator
    except ImportError as exc:
        raise ImportError(MISSING) from exc
    if path.stat().st_size == 0:  # wget killed before its first record; mmap refuses it
        return
    number, base = 0, 0
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as raw:
        if not _starts_as_warc(raw):
            yield WarcProblem(path.name, f"not a WARC file (it begins {_begins(raw)})")
            return
        gz = raw[:3] == GZ_MAGIC
        if gz and _gzipped_whole(raw):  # `gzip crawl.warc`: not a member per record
            yield from _read_whole_gzip(path)
            return
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


def _gzipped_whole(raw: mmap.mmap) -> bool:
    """Whether the first gzip member holds more than its first record, as a WARC
    gzipped whole does: decompressed only as far as that shows, keeping only the first
    record's header (its block may be a video of many megabytes)."""
    z, at, pos, head, end = zlib.decompressobj(31), 0, 0, b"", None
    try:
        while not z.eof and at < len(raw):
            data = z.decompress(raw[at : at + 4096])
            at += 4096
            if end is None:  # still reading the first record's header
                head += data
                header, sep, _ = head.partition(b"\r\n\r\n")
                if not sep:
                    continue
                length = re.search(rb"(?im)^content-length:[ \t]*(\d+)", header)
                if length is None:
                    return False  # warcio will say what is wrong with it
                end = len(header) + 8 + int(length.group(1))  # and the CRLFs around it
                data, pos = head, 0
            if data[max(0, end - pos) :].strip():  # a next record in the same member
                return True
            pos += len(data)
    except zlib.error:
        return False
    return False


def _read_whole_gzip(path: Path) -> Iterator[WarcPage | WarcProblem]:
    """A .warc.gz compressed whole (or several such joined), read as one stream; offsets
    are in the uncompressed data. Without a gzip member per record a bad record ends
    the reading, named as such."""
    from warcio.archiveiterator import ArchiveIterator

    number, cut = 0, False
    with path.open("rb") as fh:
        stream = _Gunzipped(fh)
        records = ArchiveIterator(stream)
        try:
            for rec in records:
                number += 1
                item = _page(rec)
                if item is not None:
                    at = records.get_record_offset()
                    item.position = f"{path.name} record {number} (offset {at} uncompressed)"
                    cut = isinstance(item, WarcProblem) and item.message == CUT
                    yield item
        except Exception as exc:  # a corrupt stream: nothing after it can be reached
            yield WarcProblem(f"{path.name} record {number + 1}", "unreadable record; no record "
                              f"after it can be read ({_printable(str(exc))})")  # fmt: skip
            return
        if not stream.whole and not cut:  # warcio stops quietly at a record cut in its header
            yield WarcProblem(f"{path.name} record {number + 1}", CUT)


class _Gunzipped(io.RawIOBase):
    """A gzip file's data as a stream, member after member. Where the file stops early
    the stream just ends (``gzip`` raises, losing what it had read): ``whole`` says
    whether it ended at the end of a member."""

    def __init__(self, fh):
        self.fh, self.z, self.buf, self.at = fh, zlib.decompressobj(31), b"", 0

    def readable(self) -> bool:
        return True

    @property
    def whole(self) -> bool:
        return self.z.eof

    def readinto(self, out) -> int:
        while self.at == len(self.buf):
            if self.z.eof:  # the next member, if any
                data = self.z.unused_data or self.fh.read(4096)
                if not data:
                    return 0
                self.z = zlib.decompressobj(31)
            else:
                data = self.z.unconsumed_tail or self.fh.read(4096)  # an error loses this
                if not data:
                    return 0
            self.buf, self.at = self.z.decompress(data, 1 << 20), 0
        n = min(len(out), len(self.buf) - self.at)
        out[:n] = self.buf[self.at : self.at + n]
        self.at += n
        return n


def _starts_as_warc(raw: mmap.mmap) -> bool:
    """The file (or its first gzip member) begins with a WARC or ARC record's header."""
    head = raw[:4096]
    if head[:3] == GZ_MAGIC:
        try:
            head = zlib.decompressobj(31).decompress(head, 64)
        except zlib.error:  # a corrupt first member: the records after it may be good
            return True
    head = head.lstrip(b"\r\n")
    return head.startswith(b"WARC/") or bool(ARC_HEADER.match(head))


def _begins(raw: mmap.mmap) -> str:
    head = raw[:4096]
    if head[:3] == GZ_MAGIC:
        head = zlib.decompressobj(31).decompress(head, 60)  # it did in _starts_as_warc
    return repr(_printable(head[:40].decode("utf-8", "replace"), 40))


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
        at = raw.find(GZ_MAGIC, start)
        return None if at < 0 else at
    at = raw.find(b"\nWARC/1.", max(0, start - 1))
    return None if at < 0 else at + 1


def _page(rec) -> WarcPage | WarcProblem | None:
    if rec.rec_type != "response":
        return None
    url = rec.rec_headers.get_header("WARC-Target-URI") or ""
    scheme = urlsplit(url).scheme.lower() if ":" in url else ""
    if scheme not in ("http", "https"):
        if scheme:  # dns:, whois:, a crawler's own metadata: never a page
            return None
        return WarcProblem("", f"no http(s) target URI ({url!r})")
    http = rec.http_headers  # none for an empty response: no page in it
    try:
        status = int(http.get_statuscode()) if http else 0
        ctype = (http.get_header("Content-Type") or "") if http else ""
        coding = ((http.get_header("Content-Encoding") or "") if http else "").strip().lower()
        # redirects, errors, images, videos: the crawler stores none of them
        page = 200 <= status < 300 and ctype.split(";")[0].strip().lower() in HTML_TYPES
        if page:
            if coding == "x-gzip":  # gzip's old name, which warcio does not know
                http.replace_header("Content-Encoding", "gzip")
            elif coding == "br":  # decoded here, never by warcio: see _unbrotli
                http.replace_header("Content-Encoding", "identity")
            body = rec.content_stream().read(MAX_BODY)
            if coding == "br" and _brotli() is not None:
                body = _unbrotli(body)
        while rec.raw_stream.read(1 << 20):  # the rest, not kept: the record must be whole
            pass
    except Exception as exc:  # a truncated payload or broken chunked encoding
        return WarcProblem("", f"unreadable response ({exc})")
    if getattr(rec.raw_stream, "limit", 0) > 0:  # the file ended before its Content-Length
        return WarcProblem("", CUT)
    if not page:
        return None
    if coding not in ("", "identity", "x-gzip", *_decoders()) or (
        coding == "br" and _brotli() is None
    ):
        hint = "; pip install 'framewatch[scale]' brings brotli" if coding == "br" else ""
        return WarcProblem("", f"the page is compressed as {coding!r}, which cannot be "
                               f"decompressed here{hint}")  # fmt: skip
    if status == 206 and not _whole_range(http.get_header("Content-Range") or ""):
        got = (http.get_header("Content-Range") or "").removeprefix("bytes ").replace("/", " of ")
        return WarcProblem("", f"only bytes {got or 'of it'} were captured (HTTP 206)")
    # The crawler kept the first bytes only (Common Crawl cuts at 1 MiB, Heritrix on
    # time): the article's text usually sits in the part kept, so it is extracted like
    # any page, its note saying it may lack its end.
    truncated = rec.rec_headers.get_header("WARC-Truncated")
    if truncated is not None:  # length, time, disconnect, unspecified: a word, kept as one
        truncated = "".join(c for c in truncated if c.isalnum() or c in "-_.")[:40] or "unspecified"
    if truncated is not None or len(body) >= MAX_BODY:  # or cut here, as the crawler cuts one
        body = _without_cut_character(body)
    when = _when(rec.rec_headers.get_header("WARC-Date"))
    return WarcPage("", url, when, html_as_utf8(body, ctype), truncated)


def _without_cut_character(body: bytes) -> bytes:
    """A body cut inside a UTF-8 character, without that character's first bytes: they
    made the whole page fail as UTF-8, and be read in another charset (mojibake)."""
    if body[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16, decided by its byte order mark
        return body
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.end == len(body):
            return body[: exc.start]
    return body


def _whole_range(content_range: str) -> bool:
    """A 206's Content-Range ('bytes 0-699/3126') that covers the whole body."""
    m = re.fullmatch(r"\s*bytes\s+0-(\d+)/(\d+)\s*", content_range)
    return bool(m) and int(m.group(1)) + 1 == int(m.group(2))


def _brotli():
    """The brotli module, or None: browsers ask for br, so browser-driven crawls
    (Browsertrix, Webrecorder) store many pages compressed so."""
    try:
        import brotli
    except ImportError:
        return None
    return brotli


def _unbrotli(raw: bytes) -> bytes:
    """A br body decoded here, not by warcio: warcio 1.8 sets an attribute on brotli's
    Decompressor, which the brotli package (a C type) refuses. At most MAX_BODY bytes,
    cut there as the crawler cuts a body; a small bomb cannot fill the memory."""
    d = _brotli().Decompressor()
    out = bytearray(d.process(raw, output_buffer_limit=MAX_BODY))
    while len(out) < MAX_BODY and not d.is_finished() and not d.can_accept_more_data():
        out += d.process(b"", output_buffer_limit=MAX_BODY - len(out))
    return bytes(out[:MAX_BODY])


def _decoders() -> tuple[str, ...]:
    from warcio.bufferedreaders import BufferedReader

    return tuple(BufferedReader.get_supported_decompressors())
