"""Static models distilled once from the configured sentence-transformers model.

model2vec's ``distill`` turns the model's vocabulary into one vector per token (no
network, about 15-20 s on 2 cores); a static model then embeds a sentence by averaging
token vectors, one to two orders of magnitude faster than the transformer. The fast
framing path scores every sentence with it and sends only the deciding ones through
the transformer.

The model is kept beside the store (``STORE.models/static-<model>/``) with a
``framewatch.json`` naming its source model and a hash of the source's files; it is
reused while both match and rebuilt when the ``[analysis] model`` setting (or the
model's files) change. A copy by source hash in the user's cache lets a second store
(a test's, a backfill's) copy the model instead of distilling it again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

from framewatch.analysis.embedding._sentence_transformers import resolve_model
from framewatch.config import AnalysisSettings
from framewatch.errors import InputError

log = logging.getLogger("framewatch")

META = "framewatch.json"
PCA_DIMS = 256  # model2vec's default; 256 of MiniLM's 384 dims kept the sample's frames
_BUILD_LOCK = threading.Lock()


class StaticUnavailable(InputError):
    """The configured model cannot be distilled (not a sentence-transformers folder)."""


def home_for(store_path: str | os.PathLike) -> Path:
    """Models live beside the store file, as fine-tuned ones do: STORE.models/."""
    return Path(str(store_path) + ".models")


def with_home(settings: AnalysisSettings, store_path: str | os.PathLike) -> AnalysisSettings:
    """The settings, with the static model's home beside this store unless one is set."""
    if settings.static_home:
        return settings
    return dataclasses.replace(settings, static_home=str(home_for(store_path)))


def default_home() -> Path:
    """Without a store (``eval framing`` on a file): the user's cache folder."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "framewatch" / "models"


def static_dir(settings: AnalysisSettings) -> Path:
    home = Path(settings.static_home) if settings.static_home else default_home()
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", settings.model).strip("_")[-80:] or "model"
    return home / f"static-{slug}"


def source_folder(model: str) -> Path:
    """The sentence-transformers folder distill reads, or StaticUnavailable saying why."""
    try:
        path = Path(resolve_model(model))
    except Exception as exc:  # the packaged model's package missing, say
        raise StaticUnavailable(f"cannot find model {model!r}: {exc}") from exc
    if not path.is_dir() or not (path / "config.json").is_file():
        raise StaticUnavailable(
            f"{model!r} is not a local sentence-transformers/Hugging Face model folder"
        )
    if not (path / "tokenizer.json").is_file():
        raise StaticUnavailable(f"{model!r} has no fast tokenizer (tokenizer.json)")
    return path


_hash_cache: dict[tuple, str] = {}


def source_hash(folder: Path) -> str:
    """sha256 over the folder's files (names and bytes): a changed model is a new model."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts)
    key = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    if key not in _hash_cache:
        h = hashlib.sha256()
        for p in files:
            h.update(str(p.relative_to(folder)).encode() + b"\0")
            with p.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        _hash_cache[key] = h.hexdigest()
    return _hash_cache[key]


def stored_meta(settings: AnalysisSettings) -> dict | None:
    try:
        return json.loads((static_dir(settings) / META).read_text("utf-8"))
    except (OSError, ValueError):
        return None


def is_current(settings: AnalysisSettings) -> bool:
    """A stored static model from this very source model (name and files)."""
    meta = stored_meta(settings)
    if meta is None or meta.get("source_model") != settings.model:
        return False
    return meta.get("source_hash") == source_hash(source_folder(settings.model))


def describe(settings: AnalysisSettings) -> dict:
    """What is stored for the configured model, and whether it is current."""
    meta = stored_meta(settings) or {}
    return {
        "path": str(static_dir(settings)),
        "current": bool(meta) and is_current(settings),
        **meta,
    }


def build_for(settings: AnalysisSettings, store_path: str | os.PathLike, force: bool) -> dict:
    """`framewatch models build`: the static model for this store, built if needed."""
    settings = with_home(settings, store_path)
    ensure_static(settings, force)
    return describe(settings)


def ensure_static(settings: AnalysisSettings, force: bool = False) -> Path:
    """The static model's folder for the configured model, built first if needed."""
    with _BUILD_LOCK:
        folder = source_folder(settings.model)
        target = static_dir(settings)
        if not force and is_current(settings):
            return target
        cached = _shared(source_hash(folder))
        if not force and _meta_hash(cached) == source_hash(folder):
            _copy(cached, target, settings.model)  # built before for another store
        else:
            build(settings.model, folder, target)
            if target.parent != cached.parent:
                _copy(target, cached, settings.model)
        return target


def _shared(digest: str) -> Path:
    """A copy in the user's cache, by source hash: a second store copies it (15 MB)
    instead of distilling again."""
    return default_home() / f"static-{digest[:16]}"


def _meta_hash(folder: Path) -> str | None:
    try:
        return json.loads((folder / META).read_text("utf-8")).get("source_hash")
    except (OSError, ValueError):
        return None


def _copy(src: Path, target: Path, model: str) -> None:
    """Copy a built static model into place (aside, then renamed), naming ``model``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".static-", dir=target.parent))
    try:
        shutil.copytree(src, tmp, dirs_exist_ok=True)
        meta = json.loads((tmp / META).read_text("utf-8"))
        (tmp / META).write_text(json.dumps({**meta, "source_model": model}, indent=2), "utf-8")
        _replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _replace(tmp: Path, target: Path) -> None:
    old = target.with_name(target.name + ".old")
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def build(model: str, folder: Path, target: Path) -> None:
    """Distil ``folder`` into ``target`` (written aside, then moved into place)."""
    from framewatch.progress import progress_for

    digest = source_hash(folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    with progress_for(f"building the static framing model from {model}") as bar:
        bar.start(2)
        model2vec = _distill(folder)
        bar.advance()
        tmp = Path(tempfile.mkdtemp(prefix=".static-", dir=target.parent))
        try:
            model2vec.save_pretrained(str(tmp))
            meta = {"source_model": model, "source_hash": digest, "source_path": str(folder),
                    "pca_dims": PCA_DIMS, "dimension": int(model2vec.dim)}  # fmt: skip
            (tmp / META).write_text(json.dumps(meta, indent=2), "utf-8")
            _replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        bar.advance()
    log.info("static model for %s stored in %s", model, target)


def _distill(folder: Path):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from model2vec.distill import distill

    try:
        return distill(model_name=str(folder), pca_dims=PCA_DIMS, device="cpu")
    except Exception as exc:  # a model distill cannot read: say so, the caller falls back
        raise StaticUnavailable(f"model2vec could not distil {folder}: {exc}") from exc
