"""OPML import and export of sources, the format every feed reader speaks."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from framewatch.errors import InputError


class OpmlError(InputError):
    pass


@dataclass
class OpmlSource:
    url: str
    name: str | None
    site_url: str | None


def read_opml(path: Path) -> list[OpmlSource]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise OpmlError(f"{path}: not valid OPML/XML ({exc})") from exc
    except OSError as exc:
        raise OpmlError(f"{path}: {exc.strerror}") from exc
    out = []
    for node in root.iter("outline"):
        url = node.get("xmlUrl")
        if url:
            out.append(OpmlSource(url, node.get("title") or node.get("text"), node.get("htmlUrl")))
    if not out:
        raise OpmlError(f"{path}: no <outline xmlUrl=...> entries found")
    return out


def write_opml(path: Path, sources: list[OpmlSource], title: str = "framewatch sources") -> None:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for s in sources:
        attrs = {"type": "rss", "text": s.name or s.url, "title": s.name or s.url, "xmlUrl": s.url}
        if s.site_url:
            attrs["htmlUrl"] = s.site_url
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
