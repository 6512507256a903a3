"""The deployment files agree with the code: compose stack, Dockerfile, example configuration, systemd
unit, Prometheus rules, Grafana dashboard, and the commands and keys the README and operator guide name.

No Docker engine runs where the tests run, so the files are checked structurally: what they reference
(configuration keys, metric names, subcommands) must exist in orderd as it is now.
"""

from __future__ import annotations

import configparser
import dataclasses
import json
import os
import re
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT

from orderd import config as config_mod
from orderd.metrics import REGISTRY

COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
EXAMPLE = ROOT / "deploy" / "orderd.toml.example"
UNIT = ROOT / "deploy" / "systemd" / "orderd.service"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "orderd-dashboard.json"
README = ROOT / "README.md"
OPERATOR = ROOT / "docs" / "operator.md"

ODOO_MODULES = {"sale_management", "stock", "sale_stock"}


# --- what orderd really has ---------------------------------------------------------------------


def config_sections() -> dict[str, set[str]]:
    """Section → key names as the TOML file spells them, derived from config.py's dataclasses."""
    sections: dict[str, set[str]] = {}
    for section in dataclasses.fields(config_mod.Config):
        factory = section.default_factory
        if factory is dataclasses.MISSING or not dataclasses.is_dataclass(factory):
            continue  # e.g. `profiles`, an array of tables rather than a section
        sections[section.name] = {f.name.rstrip("_") for f in dataclasses.fields(factory)}  # from_ → from
    return sections


def config_env_names() -> set[str]:
    return {f"ORDERD_{section}_{key}".upper() for section, keys in config_sections().items() for key in keys}


def exported_metric_names() -> set[str]:
    """Sample names /metrics can show, from the collectors in orderd.metrics.REGISTRY (nothing started).

    prometheus-client names a counter `x` but exports `x_total` (and `x_created`); a histogram exports
    `x_bucket`, `x_sum`, `x_count` (and `x_created`)."""
    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"),
                "gauge": ("",), "summary": ("", "_sum", "_count", "_created"), "info": ("_info",)}
    names: set[str] = set()
    for metric in REGISTRY.collect():
        names.update(metric.name + suffix for suffix in suffixes.get(metric.type, ("",)))
    return names


@cache
def subcommand_ok(sub: str) -> bool:
    done = subprocess.run([sys.executable, "-m", "orderd.cli", sub, "--help"], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return done.returncode == 0


# --- docker-compose.yml -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the KEY=value list form
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else [str(part) for part in command]


def _service_by_image(compose: dict[str, Any], prefix: str) -> list[str]:
    return [name for name, svc in compose["services"].items() if str(svc.get("image", "")).startswith(prefix)]


def _odoo_init(compose: dict[str, Any]) -> tuple[str, list[str]]:
    for name in _service_by_image(compose, "odoo:"):
        command = _command(compose["services"][name])
        if "--stop-after-init" in command:
            return name, command
    raise AssertionError("no one-shot Odoo service running with --stop-after-init")


def _seed(compose: dict[str, Any]) -> tuple[str, list[str]]:
    for name, svc in compose["services"].items():
        command = _command(svc)
        if command[:2] == ["orderd", "seed"]:
            return name, command
    raise AssertionError("no service runs `orderd seed`")


def _orderd(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]["orderd"]


def test_compose_has_the_whole_stack(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "orderd" in services and "build" in services["orderd"]
    assert _service_by_image(compose, "postgres:"), "PostgreSQL for Odoo"
    odoo_images = {str(services[name]["image"]) for name in _service_by_image(compose, "odoo:")}
    assert odoo_images == {"odoo:18"}, odoo_images  # the official image, the Odoo version orderd targets
    assert _service_by_image(compose, "axllent/mailpit"), "Mailpit as the relay"
    _odoo_init(compose)
    _seed(compose)


def test_odoo_init_installs_the_apps_the_documented_way(compose: dict[str, Any]) -> None:
    name, command = _odoo_init(compose)
    assert command[0] == "odoo"  # the official entrypoint runs odoo with the flags that follow
    assert "-d" in command and command[command.index("-d") + 1] == "orders"
    assert "-i" in command and set(command[command.index("-i") + 1].split(",")) == ODOO_MODULES
    assert command[command.index("-i") + 1] == "sale_management,stock,sale_stock"
    assert "--stop-after-init" in command
    assert "--without-demo=all" in command
    flags = {part.split("=", 1)[0] for part in command if part.startswith("--")}
    assert {"--db_host", "--db_user", "--db_password"} <= flags
    db_host = next(part.split("=", 1)[1] for part in command if part.startswith("--db_host="))
    assert db_host in compose["services"], "the database host is a compose service"
    service = compose["services"][name]
    assert service.get("restart") == "no"
    db = _service_by_image(compose, "postgres:")[0]
    assert service["depends_on"][db]["condition"] == "service_healthy"
    # The long-running Odoo takes the same database settings through the image's environment variables.
    odoo = next(n for n in _service_by_image(compose, "odoo:") if n != name)
    env = _environment(compose["services"][odoo])
    assert env.get("HOST") == db_host and env.get("USER") and env.get("PASSWORD")
    assert compose["services"][odoo]["depends_on"][name]["condition"] == "service_completed_successfully"


def test_seed_runs_against_a_healthy_odoo_and_orderd_waits_for_it(compose: dict[str, Any]) -> None:
    name, command = _seed(compose)
    assert command == ["orderd", "seed", "--catalog", "/app/fixtures/catalog.json"]
    assert (ROOT / "fixtures" / "catalog.json").is_file()
    assert "COPY fixtures /app/fixtures" in DOCKERFILE.read_text(encoding="utf-8")
    services = compose["services"]
    odoo = next(n for n in _service_by_image(compose, "odoo:") if "--stop-after-init" not in _command(services[n]))
    assert services[name]["depends_on"][odoo]["condition"] == "service_healthy"
    assert services[name].get("restart") == "no"
    depends = _orderd(compose)["depends_on"]
    assert depends[name]["condition"] == "service_completed_successfully"
    mailpit = _service_by_image(compose, "axllent/mailpit")[0]
    assert depends[mailpit]["condition"] == "service_healthy"


def test_orderd_is_configured_only_by_real_orderd_variables(compose: dict[str, Any]) -> None:
    valid = config_env_names()
    for name in ("orderd", _seed(compose)[0]):
        env = _environment(compose["services"][name])
        unknown = sorted(k for k in env if k not in valid)
        assert not unknown, f"{name}: not orderd configuration keys: {unknown}"
        # And the values are ones orderd accepts: load() validates types, choices and cross-checks.
        config_mod.load(None, environ=env)
    env = _environment(_orderd(compose))
    cfg = config_mod.load(None, environ=env)
    assert cfg.smtp.listen.startswith("0.0.0.0:") and cfg.http.listen.startswith("0.0.0.0:")
    mailpit = _service_by_image(compose, "axllent/mailpit")[0]
    assert cfg.relay.host == mailpit and cfg.relay.port == 1025  # Mailpit's SMTP port
    assert cfg.odoo.url == "http://odoo:8069" and cfg.odoo.db == "orders"
    assert cfg.store.url.startswith("sqlite:////var/lib/orderd/")
    assert any(str(v).split(":")[-1] == "/var/lib/orderd" for v in _orderd(compose)["volumes"])
    # Stopping must outlast DATA in flight (smtp.data_timeout + the 5 s grace of App.stop).
    grace = _orderd(compose)["stop_grace_period"]
    assert int(str(grace).rstrip("s")) > cfg.smtp.data_timeout + 5


def test_ports_healthchecks_volumes_restart(compose: dict[str, Any]) -> None:
    services = compose["services"]
    published = {name: {str(p).rsplit(":", 1)[-1]: str(p) for p in svc.get("ports", [])}
                 for name, svc in services.items()}
    assert set(published["orderd"]) == {"2525", "8080"}
    assert "8069" in published[next(n for n in _service_by_image(compose, "odoo:") if published[n])]
    assert "8025" in published[_service_by_image(compose, "axllent/mailpit")[0]]
    for name, ports in published.items():
        for mapping in ports.values():
            assert mapping.startswith("127.0.0.1:"), f"{name} publishes {mapping} beyond loopback"
    one_shots = {_odoo_init(compose)[0], _seed(compose)[0]}
    named_volumes = set(compose.get("volumes") or {})
    for name, svc in services.items():
        if name in one_shots:
            continue
        assert svc.get("restart") in ("unless-stopped", "always"), name
        test = svc.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no healthcheck"
        for volume in svc.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            assert source in named_volumes, f"{name}: {source} is not a named volume"
    assert "/healthz" in " ".join(services["orderd"]["healthcheck"]["test"])
    assert "/web/health" in " ".join(services[_service_by_image(compose, "odoo:")[-1]]["healthcheck"]["test"])


# --- Dockerfile -------------------------------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    # Comment lines go first (Docker drops them even inside a continuation), then continuations join.
    lines = [line for line in DOCKERFILE.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#")]
    result = []
    for line in "\n".join(lines).replace("\\\n", " ").splitlines():
        line = line.strip()
        if line:
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def test_dockerfile_is_slim_non_root_and_checks_healthz() -> None:
    instructions = _dockerfile_instructions()
    froms = [rest for kw, rest in instructions if kw == "FROM"]
    assert froms and all(rest.startswith("python:3.11-slim") for rest in froms)
    final_stage = instructions[max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM"):]
    users = [rest for kw, rest in final_stage if kw == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")
    health = [rest for kw, rest in final_stage if kw == "HEALTHCHECK"]
    assert len(health) == 1 and "/healthz" in health[0] and "urllib" in health[0]  # no curl in slim
    exposed = {port for kw, rest in final_stage if kw == "EXPOSE" for port in rest.split()}
    assert {"2525", "8080"} <= exposed
    cmd = json.loads(next(rest for kw, rest in final_stage if kw == "CMD"))
    assert cmd[:2] == ["orderd", "serve"]
    assert subcommand_ok("serve")
    env_names = {m for kw, rest in final_stage if kw == "ENV" for m in re.findall(r"\b(ORDERD_\w+)=", rest)}
    assert env_names and env_names <= config_env_names()
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert ".venv" in ignored and ".git" in ignored and "var" in ignored


# --- deploy/orderd.toml.example ---------------------------------------------------------------------


def test_example_configuration_loads_and_names_every_key() -> None:
    config_mod.load(EXAMPLE, environ={})
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    for section, keys in config_sections().items():
        assert section in data, f"[{section}] missing from the example"
        missing = keys - set(data[section])
        assert not missing, f"[{section}] keys missing from the example: {sorted(missing)}"
    if any(f.name == "profiles" for f in dataclasses.fields(config_mod.Config)):
        assert "[[profiles]]" in EXAMPLE.read_text(encoding="utf-8")


def test_example_profiles_block_loads_once_uncommented(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    if "# [[profiles]]" not in text:
        pytest.skip("no profiles example")
    head, _, tail = text.partition("# [[profiles]]")
    block = "[[profiles]]\n" + "\n".join(line.removeprefix("# ") for line in tail.splitlines())
    path = tmp_path / "orderd.toml"
    path.write_text(head + block + "\n", encoding="utf-8")
    assert config_mod.load(path, environ={}).profiles


# --- systemd ------------------------------------------------------------------------------------------


def test_systemd_unit_is_sandboxed_and_stops_gracefully() -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    service = parser["Service"]
    assert service.get("DynamicUser") == "yes" or service.get("User") not in (None, "root")
    expected = {
        "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "NoNewPrivileges": "yes",
        "StateDirectory": "orderd", "CapabilityBoundingSet": "CAP_NET_BIND_SERVICE",
        "AmbientCapabilities": "CAP_NET_BIND_SERVICE", "SystemCallFilter": "@system-service",
        "KillSignal": "SIGTERM",
    }
    for key, value in expected.items():
        assert service.get(key) == value, f"{key}={service.get(key)}"
    assert set(service["RestrictAddressFamilies"].split()) <= {"AF_INET", "AF_INET6", "AF_UNIX"}
    data_timeout = config_mod.load(EXAMPLE, environ={}).smtp.data_timeout
    assert int(service["TimeoutStopSec"]) > data_timeout + 5
    exec_start = service["ExecStart"].split()
    assert exec_start[0].endswith("/orderd") and exec_start[1] == "serve" and "--config" in exec_start
    assert parser["Install"]["WantedBy"] == "multi-user.target"


# --- Prometheus and Grafana -------------------------------------------------------------------------


def _metric_names_in(text: str) -> set[str]:
    return set(re.findall(r"\b(orderd_[a-z0-9_]+)", text))


def test_prometheus_scrapes_orderd_and_loads_the_rules() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8"))
    assert "alerts.yml" in config["rule_files"]
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "orderd")
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert job["static_configs"][0]["targets"]


def test_alert_rules_cover_the_failures_and_use_exported_metrics() -> None:
    rules = [rule for group in yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
             for rule in group["rules"]]
    exported = exported_metric_names()
    for rule in rules:
        assert rule["alert"] and rule["expr"] and rule["labels"]["severity"] and rule["annotations"]["summary"]
        used = _metric_names_in(rule["expr"])
        assert used <= exported, f"{rule['alert']}: not exported by orderd: {sorted(used - exported)}"
        assert re.fullmatch(r"\d+[smh]", str(rule.get("for", "0s"))), rule["alert"]
    exprs = "\n".join(rule["expr"] for rule in rules)
    assert 'orderd_smtp_replies_total{code="451"}' in exprs
    assert "orderd_outbox_depth" in exprs
    assert 'outcome="needs_review"' in exprs
    assert "orderd_odoo_rpc_errors_total" in exprs
    # Whatever names the annotations quote must exist too (they tell the operator where to look).
    annotations = json.dumps([rule["annotations"] for rule in rules])
    assert _metric_names_in(annotations) <= exported


def test_dashboard_panels_use_exported_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    exported = exported_metric_names()
    used = set().union(*(_metric_names_in(expr) for expr in exprs))
    assert used and used <= exported, f"not exported by orderd: {sorted(used - exported)}"
    joined = "\n".join(exprs)
    assert "sum by (outcome)" in joined and "orderd_messages_total" in joined
    assert "histogram_quantile(0.5," in joined and "histogram_quantile(0.95," in joined
    assert "orderd_stage_seconds_bucket" in joined
    assert "sum by (code)" in joined and "orderd_smtp_replies_total" in joined
    assert "orderd_odoo_rpc_calls_total" in joined and "orderd_odoo_rpc_errors_total" in joined
    assert "orderd_outbox_depth" in joined
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_exported_names_match_what_prometheus_client_renders() -> None:
    # Guards the suffix rules above: a counter with a sample renders as <name>_total.
    from prometheus_client import generate_latest

    rendered = generate_latest(REGISTRY).decode()
    samples = {line.split("{")[0].split(" ")[0] for line in rendered.splitlines() if line and line[0] != "#"}
    assert samples <= exported_metric_names()


# --- README.md and docs/operator.md -----------------------------------------------------------------


def _code_text(markdown: str) -> list[str]:
    """Inline code spans and the lines of fenced code blocks: where commands and keys are written."""
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", markdown, flags=re.S | re.M)
    # Shell comments in code blocks are prose ("# wait until orderd is healthy"), not commands.
    fenced = [re.sub(r"(^|\s)#\s.*$", "", block, flags=re.M) for block in fenced]
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", markdown, flags=re.S | re.M)
    return fenced + re.findall(r"`([^`\n]+)`", prose)


def _docs() -> dict[str, str]:
    docs = {"README.md": README.read_text(encoding="utf-8")}
    if OPERATOR.exists():
        docs["docs/operator.md"] = OPERATOR.read_text(encoding="utf-8")
    return docs


def _subcommands_named(markdown: str) -> set[str]:
    found: set[str] = set()
    for code in _code_text(markdown):
        # `orderd` as a program name (not orderd/ paths, not an `orderd` compose service before one).
        for match in re.finditer(r"(?<![\w./-])orderd(?= +([a-z][a-z-]*)\b(?![./]))", code):
            if match.group(1) != "orderd":
                found.add(match.group(1))
    return found


def test_documented_subcommands_exist() -> None:
    named = {doc: _subcommands_named(text) for doc, text in _docs().items()}
    assert {"serve", "demo", "check", "seed"} <= named["README.md"]
    for doc, subs in named.items():
        missing = sorted(sub for sub in subs if not subcommand_ok(sub))
        assert not missing, f"{doc} names orderd subcommands that do not exist: {missing}"


def test_documented_configuration_keys_exist() -> None:
    sections = config_sections()
    valid_env = config_env_names()
    for doc, text in _docs().items():
        env = set(re.findall(r"\bORDERD_[A-Z0-9_]*[A-Z0-9]\b", text))
        assert not env - valid_env, f"{doc}: not configuration variables: {sorted(env - valid_env)}"
        for code in _code_text(text):
            code = code.strip()
            if m := re.fullmatch(r"\[([a-z_]+)\]", code):
                assert m.group(1) in sections, f"{doc}: no section [{m.group(1)}]"
            elif (m := re.fullmatch(r"([a-z_]+)\.([a-z_]+)", code)) and m.group(1) in sections:
                assert m.group(2) in sections[m.group(1)], f"{doc}: no key {code}"
            elif m := re.fullmatch(r"\[([a-z_]+)\]\s+([a-z_]+)(?:\s*=.*)?", code):
                assert m.group(2) in sections.get(m.group(1), ()), f"{doc}: no key {code}"


def test_documented_toml_blocks_load(tmp_path: Path) -> None:
    for doc, text in _docs().items():
        for index, block in enumerate(re.findall(r"^```toml\n(.*?)^```", text, flags=re.S | re.M)):
            path = tmp_path / f"{Path(doc).stem}-{index}.toml"
            path.write_text(block, encoding="utf-8")
            try:
                config_mod.load(path, environ={})
            except config_mod.ConfigError as exc:
                raise AssertionError(f"{doc}, TOML block {index + 1}: {exc}") from exc


def test_documented_environment_in_compose_matches_the_readme_walkthrough(compose: dict[str, Any]) -> None:
    readme = README.read_text(encoding="utf-8")
    if "## Running it for real" not in readme:
        pytest.skip("no compose walkthrough in the README yet")
    section = readme.split("## Running it for real", 1)[1].split("\n## ", 1)[0]
    cfg = config_mod.load(None, environ=_environment(_orderd(compose)))
    assert "docker compose up" in section
    swaks = re.search(r"swaks[^\n]*", section.replace("\\\n", " "))  # continuation lines joined
    assert swaks, "the walkthrough sends an order with swaks"
    command = swaks.group(0)
    published = {str(p).rsplit(":", 1)[0]: str(p) for p in _orderd(compose)["ports"]}
    server = re.search(r"--server\s+(\S+)", command).group(1)  # type: ignore[union-attr]
    assert server in published, f"swaks --server {server}: compose publishes {sorted(published)}"
    to = re.search(r"--to\s+(\S+)", command).group(1)  # type: ignore[union-attr]
    assert to in cfg.smtp.addresses
    assert "DC-1001" in command and "DC-1001" in (ROOT / "fixtures" / "catalog.json").read_text(encoding="utf-8")
    assert "127.0.0.1:8069" in section and "127.0.0.1:8025" in section
    assert "docs/operator.md" in readme

