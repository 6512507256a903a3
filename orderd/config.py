"""Configuration: a TOML file, every key overridable by an ORDERD_<SECTION>_<KEY> variable.

Validated into one frozen object. Unknown keys and bad values raise ConfigError naming the key.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the offending key."""


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


@dataclass(frozen=True)
class HttpConfig:
    listen: str = "127.0.0.1:8080"


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


@dataclass(frozen=True)
class TemplatesConfig:
    directory: str = ""  # operator overrides; empty: the packaged templates only


@dataclass(frozen=True)
class LogConfig:
    format: str = "auto"  # auto (console on a terminal, else JSON) | json | console
    level: str = "info"


@dataclass(frozen=True)
class Config:
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    odoo: OdooConfig = field(default_factory=OdooConfig)
    relay: RelayConfig = field(default_factory=RelayConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    templates: TemplatesConfig = field(default_factory=TemplatesConfig)
    log: LogConfig = field(default_factory=LogConfig)


_CHOICES = {
    ("relay", "tls"): ("none", "starttls", "implicit"),
    ("policy", "on_shortage"): ("review", "confirm"),
    ("policy", "unauthenticated"): ("review", "accept", "reject"),
    ("log", "format"): ("auto", "json", "console"),
    ("log", "level"): ("debug", "info", "warning", "error"),
}


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

    sections = {f.name: f for f in dataclasses.fields(Config)}
    for name, value in data.items():
        if name not in sections:
            raise ConfigError(f"unknown section [{name}] (known: {', '.join(sections)})")
        if not isinstance(value, dict):
            raise ConfigError(f"[{name}] must be a table")

    built: dict[str, Any] = {}
    for sname, sfield in sections.items():
        cls = sfield.default_factory  # type: ignore[misc]
        hints = typing.get_type_hints(cls)
        keys = {_key_name(f): f for f in dataclasses.fields(cls)}
        raw = dict(data.get(sname, {}))
        for key in raw:
            if key not in keys:
                raise ConfigError(f"unknown key {sname}.{key} (known: {', '.join(keys)})")
        for key in keys:
            env_name = f"ORDERD_{sname}_{key}".upper()
            if env_name in environ:
                raw[key] = _from_env(env_name, environ[env_name], hints[keys[key].name])
        values = {}
        for key, f in keys.items():
            if key in raw:
                values[f.name] = _coerce(f"{sname}.{key}", raw[key], hints[f.name])
                choices = _CHOICES.get((sname, key))
                if choices and values[f.name] not in choices:
                    raise ConfigError(f"{sname}.{key} = {raw[key]!r}: must be one of {', '.join(choices)}")
        built[sname] = cls(**values)
    config = Config(**built)
    _check(config)
    return config


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


def parse_hostport(key: str, value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:  # 0: any free port
        raise ConfigError(f"{key} = {value!r}: expected HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


def _check(config: Config) -> None:
    parse_hostport("smtp.listen", config.smtp.listen)
    parse_hostport("http.listen", config.http.listen)
    if not config.smtp.addresses:
        raise ConfigError("smtp.addresses must name at least one order address")
    for address in config.smtp.addresses:
        if address.count("@") != 1 or "." not in address.split("@")[1]:
            raise ConfigError(f"smtp.addresses: {address!r} is not an address (or @domain)")
    if config.smtp.max_message_size < 1024:
        raise ConfigError(f"smtp.max_message_size = {config.smtp.max_message_size}: must be at least 1024")
    if config.smtp.max_recipients < 1:
        raise ConfigError("smtp.max_recipients must be at least 1")
    if not 0 <= config.policy.confidence_bar <= 1:
        raise ConfigError(f"policy.confidence_bar = {config.policy.confidence_bar}: must be between 0 and 1")
    if not config.odoo.url.startswith(("http://", "https://")):
        raise ConfigError(f"odoo.url = {config.odoo.url!r}: must start with http:// or https://")
    if config.odoo.concurrency < 1:
        raise ConfigError("odoo.concurrency must be at least 1")
    if not 0 < config.relay.port < 65536:
        raise ConfigError(f"relay.port = {config.relay.port}: not a port")
    if not config.store.url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ConfigError(f"store.url = {config.store.url!r}: expected sqlite:///PATH or postgresql://…")
    if bool(config.smtp.tls_cert) != bool(config.smtp.tls_key):
        raise ConfigError("smtp.tls_cert and smtp.tls_key must be set together")


def replace(config: Config, **sections: dict[str, Any]) -> Config:
    """A copy with some keys changed, e.g. replace(cfg, smtp={"listen": "127.0.0.1:0"})."""
    changed = {name: dataclasses.replace(getattr(config, name), **values) for name, values in sections.items()}
    return dataclasses.replace(config, **changed)
