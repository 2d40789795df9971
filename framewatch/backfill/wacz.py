"""WARC records out of WACZ files, the format Browsertrix and Webrecorder write by default.

A WACZ is a ZIP whose ``archive/`` folder holds the crawl's WARC files (with indexes and
page lists beside them, which a backfill does not need). Each WARC is copied out to a
temporary file and read as a WARC on its own: warcio, and the resumption after a corrupt
record, need a file they can seek in, and a WARC stored compressed inside the ZIP has none.
One is copied at a time, so the disk holds one WARC more, never the whole crawl.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from framewatch.backfill.warc import WarcPage, WarcProblem, is_warc, read_pages


def is_wacz(path: Path) -> bool:
    return path.name.lower().endswith(".wacz")


def read_wacz(path: Path) -> Iterator[WarcPage | WarcProblem]:
    """Pages and problems of every WARC in the WACZ's archive/ folder, in name order (the
    order its crawler wrote them), each named 'crawl.wacz archive/x.warc.gz record 7 …'."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        yield WarcProblem(path.name, f"not a WACZ file: not a readable ZIP archive ({exc})")
        return
    with zf:
        members = sorted(n for n in zf.namelist() if n.startswith("archive/") and is_warc(Path(n)))
        if not members:
            yield WarcProblem(path.name, "a WACZ with no WARC file in its archive/ folder")
            return
        for name in members:
            with tempfile.TemporaryDirectory(prefix="framewatch-wacz-") as tmp:
                local = Path(tmp) / Path(name).name
                try:
                    with zf.open(name) as src, local.open("wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                    yield WarcProblem(f"{path.name} {name}", f"cannot be read out ({exc})")
                    continue
                for item in read_pages(local):
                    item.position = f"{path.name} {name}{item.position[len(local.name) :]}"
                    yield item
