"""Configuration: a TOML file, every key overridable by an ORDERD_<SECTION>_<KEY> variable.

Validated into one frozen object. Unknown keys and bad values raise one ConfigError that names every
offending key (not only the first), so a person fixes a file in one pass.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orderd.records import Language


class ConfigError(ValueError):
    """A configuration that cannot be used; each problem names its key."""

    def __init__(self, *problems: str) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


# Where `orderd demo` keeps its journal and outbox (reset on each run); `orderd outbox` and `orderd replay`
# look there when no store is configured and the default one does not exist.
DEMO_STORE_URL = "sqlite:///var/demo.sqlite3"

# ORDERD_* variables that are not configuration: switches of orderd's own test suite and CI. `orderd check`
# names any other ORDERD_* variable it does not know (a typo there would silently change nothing).
NOT_CONFIGURATION = frozenset({"ORDERD_REQUIRE_BROWSER", "ORDERD_CONSOLE_SCREENSHOT", "ORDERD_TEST_PG"})


@dataclass(frozen=True)
class SmtpConfig:
    listen: str = "127.0.0.1:2525"
    hostname: str = "mx.mycompany.test"
    addresses: list[str] = field(default_factory=lambda: ["orders@mycompany.test"])
    max_message_size: int = 26_214_400
    max_recipients: int = 20
    timeout: float = 300.0  # seconds an idle session is kept (RFC 5321 suggests 5 min)
    data_timeout: float = 120.0  # seconds the pipeline may take during DATA before 451
    tls_cert: str = ""
    tls_key: str = ""
    max_sessions: int = 200  # beyond it a new connection gets 421: memory stays bounded under a flood


@dataclass(frozen=True)
class PipelineConfig:
    mode: str = "inline"  # inline: the outcome decides the DATA reply | spool: 250 once journaled
    max_concurrent: int = 16  # pipelines running at once (inline) or spool workers
    queue_wait: float = 30.0  # seconds a DATA may wait for a free pipeline before 451 (inline)
    max_attempts: int = 12  # spool: attempts before a message is left failed for `orderd replay`
    retry_base_delay: float = 5.0  # spool: first retry delay, doubled per attempt
    retry_max_delay: float = 900.0


@dataclass(frozen=True)
class OdooConfig:
    url: str = "http://127.0.0.1:8069"
    db: str = "orders"
    user: str = "admin"
    password: str = "admin"
    timeout: float = 30.0  # seconds per RPC call
    concurrency: int = 4  # connections (threads) to Odoo
    catalog_refresh: float = 300.0  # seconds between catalog refreshes
    warehouse_id: int = 0  # 0: the company's default warehouse


@dataclass(frozen=True)
class RelayConfig:
    host: str = "127.0.0.1"
    port: int = 2526
    tls: str = "none"  # none | starttls | implicit
    user: str = ""
    password: str = ""
    from_: str = "orders@mycompany.test"
    timeout: float = 30.0
    retry_base_delay: float = 5.0  # seconds before the first retry of a reply; doubles each time
    max_attempts: int = 12  # attempts before a reply the relay keeps deferring is marked failed


@dataclass(frozen=True)
class HttpConfig:
    listen: str = "127.0.0.1:8080"
    # Bearer token for the read-only operator console (/console) and its JSON API (/api/...).
    # Empty: both answer 404, so a forgotten setting never exposes customer mail.
    console_token: str = ""


@dataclass(frozen=True)
class StoreConfig:
    url: str = "sqlite:///var/orderd.sqlite3"


@dataclass(frozen=True)
class PolicyConfig:
    confidence_bar: float = 0.85
    on_shortage: str = "review"  # review | confirm
    unauthenticated: str = "review"  # review | accept | reject
    forward_non_orders_to: str = "sales@mycompany.test"
    default_language: str = "en"
    # Replies queued to one address per rolling hour; beyond it orders are still processed but not
    # answered, so a robot that answers every reply cannot keep a loop going. 0: no cap.
    max_replies_per_hour: int = 10
    # Our own mail domains: a sender there is a colleague (an order they forward is the customer's).
    # Empty: the domains of smtp.addresses.
    internal_domains: list[str] = field(default_factory=list)
    price_tolerance: float = 0.01  # a stated unit price further than this (share) from Odoo's → review
    max_delivery_horizon_days: int = 365  # a requested date further ahead → review
    new_customers: str = "confirm"  # confirm | review: a clean order from a sender Odoo does not know


@dataclass(frozen=True)
class LearningConfig:
    # Learning from the salesperson (orderd.learning): remember review drafts, learn from the ones a
    # person confirms, resolve with what was learned. false: none of it (learned aliases stay stored).
    enabled: bool = True
    poll_interval: float = 60.0  # seconds between looks at the drafts awaiting a person in Odoo
    give_up_days: int = 30  # a draft nobody confirmed or cancelled by then teaches nothing


@dataclass(frozen=True)
class TemplatesConfig:
    directory: str = ""  # operator overrides; empty: the packaged templates only


@dataclass(frozen=True)
class LogConfig:
    format: str = "auto"  # auto (console on a terminal, else JSON) | json | console
    level: str = "info"


@dataclass(frozen=True)
class Profile:
    """How replies go to a group of customers (after xTuple's EDI profiles): addresses, subject, templates.

    Chosen by the most specific match: customer address, customer category, email domain, default."""

    name: str = "default"
    customers: tuple[str, ...] = ()  # email addresses
    categories: tuple[str, ...] = ()  # partner category names, e.g. "Gold"
    domains: tuple[str, ...] = ()  # company email domains
    from_addr: str = ""  # empty: the relay's from
    reply_to: str = ""
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    subject: str = ""  # a template, e.g. "[{{ order_name }}] Order confirmation"; empty: "[S…] Re: …"
    template_set: str = ""  # subdirectory tried before the generic templates, e.g. "gold"


@dataclass(frozen=True)
class Config:
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    odoo: OdooConfig = field(default_factory=OdooConfig)
    relay: RelayConfig = field(default_factory=RelayConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    learning: LearningConfig = field(default_factory=LearningConfig)
    templates: TemplatesConfig = field(default_factory=TemplatesConfig)
    log: LogConfig = field(default_factory=LogConfig)
    # `[[profiles]]`: how replies go to groups of customers; a list of tables, so no ORDERD_* override.
    profiles: tuple[Profile, ...] = ()


_CHOICES = {
    ("relay", "tls"): ("none", "starttls", "implicit"),
    ("pipeline", "mode"): ("inline", "spool"),
    ("policy", "on_shortage"): ("review", "confirm"),
    ("policy", "unauthenticated"): ("review", "accept", "reject"),
    ("policy", "new_customers"): ("confirm", "review"),
    ("log", "format"): ("auto", "json", "console"),
    ("log", "level"): ("debug", "info", "warning", "error"),
    ("policy", "default_language"): tuple(Language),
}

# `[[profiles]]` keys as the file spells them → Profile fields.
_PROFILE_KEYS = {"name": "name", "customers": "customers", "categories": "categories", "domains": "domains",
                 "from": "from_addr", "reply_to": "reply_to", "cc": "cc", "bcc": "bcc", "subject": "subject",
                 "template_set": "template_set"}
_PROFILE_LISTS = ("customers", "categories", "domains", "cc", "bcc")


def _key_name(f: dataclasses.Field) -> str:
    # `from` is a Python keyword; the file and the environment spell it without the underscore.
    return f.name.rstrip("_")


def load(path: str | Path | None = None, environ: typing.Mapping[str, str] | None = None) -> Config:
    """Read the TOML file (if any), apply ORDERD_* overrides, validate, return one Config."""
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"{path}: no such configuration file") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from exc

    problems: list[str] = []
    sections = {f.name: f for f in dataclasses.fields(Config) if f.name != "profiles"}
    try:
        profiles = _profiles(data.pop("profiles", []))
    except ConfigError as exc:
        problems += exc.problems
        profiles = ()
    for name, value in data.items():
        if name not in sections:
            problems.append(f"unknown section [{name}] (known: {', '.join(sections)})")
        elif not isinstance(value, dict):
            problems.append(f"[{name}] must be a table")

    built: dict[str, Any] = {}
    for sname, sfield in sections.items():
        cls = sfield.default_factory  # type: ignore[misc]
        hints = typing.get_type_hints(cls)
        keys = {_key_name(f): f for f in dataclasses.fields(cls)}
        table = data.get(sname, {})
        raw = dict(table) if isinstance(table, dict) else {}
        for key in list(raw):
            if key not in keys:
                problems.append(f"unknown key {sname}.{key} (known: {', '.join(keys)})")
                del raw[key]
        for key in keys:
            env_name = f"ORDERD_{sname}_{key}".upper()
            if env_name in environ:
                try:
                    raw[key] = _from_env(env_name, environ[env_name], hints[keys[key].name])
                except ConfigError as exc:
                    problems += exc.problems
                    raw.pop(key, None)
        values = {}
        for key, f in keys.items():
            if key not in raw:
                continue
            try:
                value = _coerce(f"{sname}.{key}", raw[key], hints[f.name])
            except ConfigError as exc:
                problems += exc.problems
                continue
            choices = _CHOICES.get((sname, key))
            if choices and value not in choices:
                problems.append(f"{sname}.{key} = {raw[key]!r}: must be one of {', '.join(choices)}")
                continue
            values[f.name] = value
        built[sname] = cls(**values)
    config = Config(**built, profiles=profiles)
    problems += _problems(config)  # refused values above left their (valid) defaults in place
    if problems:
        raise ConfigError(*problems)
    return config


def sqlite_path(url: str) -> Path | None:
    """The file of a `sqlite:///PATH` store URL (relative to the working directory), None for others."""
    if not url.startswith("sqlite:///"):
        return None
    return Path(url.removeprefix("sqlite:///").split("?", 1)[0])


def unknown_variables(environ: typing.Mapping[str, str] | None = None) -> list[str]:
    """ORDERD_* variables in the environment that configure nothing (sorted)."""
    environ = os.environ if environ is None else environ
    known = set(NOT_CONFIGURATION)
    for sfield in dataclasses.fields(Config):
        if sfield.name == "profiles":
            continue
        cls = sfield.default_factory  # type: ignore[misc]
        known.update(f"ORDERD_{sfield.name}_{_key_name(f)}".upper() for f in dataclasses.fields(cls))
    return sorted(name for name in environ if name.startswith("ORDERD_") and name not in known)


def _from_env(name: str, text: str, hint: Any) -> Any:
    if typing.get_origin(hint) is list:
        return [part.strip() for part in text.split(",") if part.strip()]
    if hint is bool:
        return text.strip().lower() in ("1", "true", "yes", "on")
    if hint in (int, float):
        try:
            return hint(text)
        except ValueError as exc:
            raise ConfigError(f"{name}={text!r}: not a number") from exc
    return text


def _coerce(key: str, value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key} must be a list of strings, got {value!r}")
        return list(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bool) != (hint is bool) or not isinstance(value, hint):
        raise ConfigError(f"{key} must be {hint.__name__}, got {value!r}")
    return value


def _profiles(value: Any) -> tuple[Profile, ...]:
    """`[[profiles]]` → Profiles, each key checked and named as `profiles[N].key` (N from 1, as written)."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError("profiles must be an array of tables ([[profiles]])")
    profiles: list[Profile] = []
    names: set[str] = set()
    for index, table in enumerate(value, start=1):
        where = f"profiles[{index}]"
        values: dict[str, Any] = {}
        for key, item in table.items():
            if key not in _PROFILE_KEYS:
                raise ConfigError(f"unknown key {where}.{key} (known: {', '.join(_PROFILE_KEYS)})")
            if key in _PROFILE_LISTS:
                values[_PROFILE_KEYS[key]] = tuple(_coerce(f"{where}.{key}", item, list[str]))
            else:
                values[_PROFILE_KEYS[key]] = _coerce(f"{where}.{key}", item, str)
        profile = Profile(**values)
        if not profile.name:
            raise ConfigError(f"{where}.name must not be empty")
        if profile.name in names:
            raise ConfigError(f"{where}.name = {profile.name!r}: another profile has that name")
        names.add(profile.name)
        for key in ("customers", "cc", "bcc"):
            for address in getattr(profile, key):
                if not _is_address(address):
                    raise ConfigError(f"{where}.{key}: {address!r} is not an email address")
        for key, attr in (("from", "from_addr"), ("reply_to", "reply_to")):
            address = getattr(profile, attr)
            if address and not _is_address(address):
                raise ConfigError(f"{where}.{key} = {address!r}: not an email address")
        for domain in profile.domains:
            if "." not in domain or "@" in domain.lstrip("@") or " " in domain:
                raise ConfigError(f"{where}.domains: {domain!r} is not a domain")
        if profile.template_set and not all(part and part not in (".", "..") and part.isprintable()
                                            for part in profile.template_set.split("/")):
            # A subdirectory of the template directories, never a way out of them.
            raise ConfigError(f"{where}.template_set = {profile.template_set!r}: must be a subdirectory name")
        profiles.append(profile)
    defaults = [p.name for p in profiles if not (p.customers or p.categories or p.domains)]
    if len(defaults) > 1:
        # The first would always win and the others never apply: a mistake worth naming.
        raise ConfigError(f"profiles {', '.join(map(repr, defaults))} all lack customers, categories and "
                          "domains; only one default profile may")
    return tuple(profiles)


def _is_address(value: str) -> bool:
    local, _, domain = value.rpartition("@")
    return bool(local) and "." in domain and not any(c.isspace() or c in "<>,;" for c in value)


def parse_hostport(key: str, value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:  # 0: any free port
        raise ConfigError(f"{key} = {value!r}: expected HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


def _problems(config: Config) -> list[str]:
    """Every value that cannot work, each named by its key."""
    problems: list[str] = []
    for key, value in (("smtp.listen", config.smtp.listen), ("http.listen", config.http.listen)):
        try:
            parse_hostport(key, value)
        except ConfigError as exc:
            problems += exc.problems
    token = config.http.console_token
    if token and (len(token) < 16 or not token.isprintable() or token != token.strip()):
        # The token guards customer mail; a short one can be guessed, and the page cannot send control
        # characters or surrounding spaces in an Authorization header reliably.
        problems.append("http.console_token must be at least 16 printable characters without surrounding "
                        "spaces (or empty to disable the console)")
    if not config.smtp.addresses:
        problems.append("smtp.addresses must name at least one order address")
    for address in config.smtp.addresses:
        if address.count("@") != 1 or "." not in address.split("@")[1]:
            problems.append(f"smtp.addresses: {address!r} is not an address (or @domain)")
    if config.smtp.max_message_size < 1024:
        problems.append(f"smtp.max_message_size = {config.smtp.max_message_size}: must be at least 1024")
    if config.smtp.max_sessions < 1:
        problems.append("smtp.max_sessions must be at least 1")
    if config.pipeline.max_concurrent < 1:
        problems.append("pipeline.max_concurrent must be at least 1")
    if config.pipeline.max_attempts < 1:
        problems.append("pipeline.max_attempts must be at least 1")
    if config.smtp.max_recipients < 1:
        problems.append("smtp.max_recipients must be at least 1")
    if not 0 <= config.policy.confidence_bar <= 1:
        problems.append(f"policy.confidence_bar = {config.policy.confidence_bar}: must be between 0 and 1")
    if not config.odoo.url.startswith(("http://", "https://")):
        problems.append(f"odoo.url = {config.odoo.url!r}: must start with http:// or https://")
    if config.odoo.concurrency < 1:
        problems.append("odoo.concurrency must be at least 1")
    if not 0 < config.relay.port < 65536:
        problems.append(f"relay.port = {config.relay.port}: not a port")
    if not config.store.url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        problems.append(f"store.url = {config.store.url!r}: expected sqlite:///PATH or postgresql://…")
    if config.relay.retry_base_delay <= 0:
        problems.append(f"relay.retry_base_delay = {config.relay.retry_base_delay}: must be positive")
    if config.relay.max_attempts < 1:
        problems.append("relay.max_attempts must be at least 1")
    if config.policy.max_replies_per_hour < 0:
        problems.append("policy.max_replies_per_hour must be 0 (no cap) or more")
    if not 0 <= config.policy.price_tolerance < 1:
        problems.append(f"policy.price_tolerance = {config.policy.price_tolerance}: must be a share from 0 to 1")
    if config.policy.max_delivery_horizon_days < 1:
        problems.append("policy.max_delivery_horizon_days must be at least 1")
    for domain in config.policy.internal_domains:
        if "." not in domain or "@" in domain.lstrip("@") or " " in domain:
            problems.append(f"policy.internal_domains: {domain!r} is not a domain")
    if is_own_address(config, config.policy.forward_non_orders_to):
        # Forwarding a non-order to an order address would feed it straight back in: a loop.
        problems.append(f"policy.forward_non_orders_to = {config.policy.forward_non_orders_to!r}: "
                        "is one of orderd's own addresses")
    if config.learning.poll_interval <= 0:
        problems.append(f"learning.poll_interval = {config.learning.poll_interval}: must be positive (seconds)")
    if config.learning.give_up_days < 1:
        problems.append("learning.give_up_days must be at least 1")
    if bool(config.smtp.tls_cert) != bool(config.smtp.tls_key):
        problems.append("smtp.tls_cert and smtp.tls_key must be set together")
    return problems


def own_addresses(config: Config) -> tuple[str, ...]:
    """Addresses (and `@domain`s) orderd sends from or receives at, lower case: mail from them is a loop."""
    found = [config.relay.from_, *config.smtp.addresses, *(p.from_addr for p in config.profiles)]
    return tuple(dict.fromkeys(a.strip().lower() for a in found if a.strip()))


def is_own_address(config: Config, address: str) -> bool:
    address = address.strip().lower()
    if not address:
        return False
    domain = "@" + address.rpartition("@")[2]
    return any(address == own or domain == own for own in own_addresses(config))


def internal_domains(config: Config) -> tuple[str, ...]:
    """The company's own mail domains, lower case: `policy.internal_domains`, else those of smtp.addresses."""
    named = config.policy.internal_domains or [a.rpartition("@")[2] for a in config.smtp.addresses]
    return tuple(dict.fromkeys(d.strip().lstrip("@").lower() for d in named if d.strip()))


def replace(config: Config, **sections: dict[str, Any]) -> Config:
    """A copy with some keys changed, e.g. replace(cfg, smtp={"listen": "127.0.0.1:0"})."""
    changed = {name: dataclasses.replace(getattr(config, name), **values) for name, values in sections.items()}
    return dataclasses.replace(config, **changed)
