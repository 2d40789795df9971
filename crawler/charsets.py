"""A page's bytes as UTF-8, in the charset its HTTP header (else its ``<meta>``) names.

trafilatura reads UTF-8 and guesses any other encoding, which fails on a page with a few
accents ('Z³rich cafķ' for 'Zürich café'). The crawler and backfill's
archived pages read a page the same way, as a browser would.
"""

from __future__ import annotations

import re

_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
# As browsers read them (the WHATWG Encoding standard): Latin-1 is windows-1252.
_LABELS = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
           "ascii": "cp1252", "gb2312": "gb18030", "gbk": "gb18030"}  # fmt: skip


def html_as_utf8(body: bytes, content_type: str) -> bytes:
    """Bytes that are UTF-8 stay as they are, whatever is declared; a byte order mark
    decides; undeclared other bytes are left to trafilatura's guess."""
    if body[:2] in (b"\xff\xfe", b"\xfe\xff"):  # a byte order mark decides, as in a browser
        try:
            return body.decode("utf-16").encode("utf-8")
        except UnicodeError:
            return body
    try:
        body.decode("utf-8")
        return body
    except UnicodeDecodeError:
        pass
    header = _CHARSET.search(content_type)
    meta = _META_CHARSET.search(body[:4096])
    for name in (header.group(1) if header else None, meta.group(1).decode() if meta else None):
        if not name:
            continue
        name = _LABELS.get(name.lower(), name)
        try:
            if "<".encode(name) != b"<":  # UTF-16 named in ASCII bytes cannot be right
                continue
            return body.decode(name).encode("utf-8")
        except (LookupError, UnicodeError):
            continue
    return body
